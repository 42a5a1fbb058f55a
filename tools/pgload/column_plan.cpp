#include "column_plan.hpp"

#include <algorithm>

#include "pipekit/errors.hpp"
#include "pipekit/log.hpp"

namespace pipekit::pgload {

namespace {

void check_maps(const TableInfo& info, const std::vector<MapSpec>& maps, const std::string& jsonb_column) {
  for (const auto& m : maps) {
    const Column* c = info.find(m.column);
    if (!c) throw UsageError("--map: table " + info.name.display() + " has no column '" + m.column + "'");
    if (c->generated) throw UsageError("--map: column '" + m.column + "' is generated; it cannot be loaded");
  }
  if (!jsonb_column.empty()) {
    const Column* c = info.find(jsonb_column);
    if (!c) throw UsageError("--jsonb: table " + info.name.display() + " has no column '" + jsonb_column + "'");
    if (c->kind != Kind::json) throw UsageError("--jsonb: column '" + jsonb_column + "' is " + c->type + ", not jsonb");
  }
}

}  // namespace

ColumnPlan plan_columns(const TableInfo& info, const std::vector<MapSpec>& maps, const std::string& jsonb_column) {
  check_maps(info, maps, jsonb_column);
  ColumnPlan plan;
  for (const auto& m : maps)
    if (!m.path.empty()) plan.known.push_back(json::Path(m.path).parts().front());
  for (const auto& c : info.columns) {
    Source s;
    s.column = c.name;
    s.kind = c.kind;
    auto m = std::find_if(maps.rbegin(), maps.rend(), [&](const MapSpec& mm) { return mm.column == c.name; });
    if (m != maps.rend()) {
      if (m->env != EnvField::none) {
        s.from = Source::From::env;
        s.env = m->env;
      } else {
        s.from = Source::From::path;
        s.path = json::Path(m->path);
      }
    } else if (c.name == jsonb_column) {
      s.from = Source::From::record;
    } else if (!c.has_default && !c.generated) {
      s.from = Source::From::field;
      s.field = c.name;
      plan.known.push_back(c.name);
    } else {
      log::debug("column {} has a default: left to the database (--map {}={} loads it)", c.name, c.name, c.name);
      plan.known.push_back(c.name);
      continue;
    }
    plan.loaded.push_back(c.name);
    plan.types.push_back(c.type);
    plan.sources.push_back(std::move(s));
  }
  if (plan.sources.empty()) throw UsageError("table " + info.name.display() + ": no column to load");
  return plan;
}

std::vector<std::string> conflict_key(Mode mode, const std::vector<std::string>& key_option, const TableInfo& info,
                                      const std::vector<std::string>& loaded) {
  if (mode == Mode::insert) return {};
  std::vector<std::string> key = key_option.empty() ? info.primary_key : key_option;
  if (key.empty() && mode == Mode::upsert)
    throw UsageError("--mode upsert needs a key: --key col[,col] or a primary key on " + info.name.display());
  for (const auto& k : key)
    if (std::find(loaded.begin(), loaded.end(), k) == loaded.end())
      throw UsageError("key column '" + k + "' is not loaded into " + info.name.display());
  return key;
}

std::string env_type(EnvField f) {
  switch (f) {
    case EnvField::partition:
    case EnvField::offset: return "bigint";
    case EnvField::timestamp: return "timestamptz";
    case EnvField::topic:
    case EnvField::key: return "text";
    case EnvField::none: break;
  }
  return "";
}

std::vector<ColumnDef> columns_to_create(std::vector<ColumnDef> cols, const std::vector<MapSpec>& maps,
                                         const std::string& jsonb_column, const std::vector<std::string>& primary_key) {
  auto add = [&](const std::string& name, const std::string& type) {
    for (auto& c : cols)
      if (c.name == name) {
        if (!type.empty()) c.type = type;
        return;
      }
    cols.push_back({name, type.empty() ? "text" : type, false});
  };
  for (const auto& m : maps) add(m.column, m.type.empty() ? env_type(m.env) : m.type);
  if (!jsonb_column.empty()) add(jsonb_column, "jsonb");
  for (const auto& k : primary_key) {
    bool found = false;
    for (auto& c : cols)
      if (c.name == k) c.not_null = found = true;
    if (!found) throw UsageError("primary key column '" + k + "' is not among the columns to create");
  }
  if (cols.empty()) throw UsageError("--create: no columns to create (no fields in the first batch)");
  return cols;
}

FirstBatchTypes::FirstBatchTypes(const std::vector<MapSpec>& maps, const std::string& jsonb_column) {
  for (const auto& m : maps) {
    if (!m.type.empty()) inference_.declare(m.column, m.type);
    else if (m.env != EnvField::none) inference_.declare(m.column, env_type(m.env));
    else paths_.emplace_back(m.column, json::Path(m.path));
    mapped_.push_back(m.column);
  }
  if (!jsonb_column.empty()) {
    inference_.declare(jsonb_column, "jsonb");
    mapped_.push_back(jsonb_column);
  }
}

void FirstBatchTypes::observe(simdjson::dom::element record) {
  simdjson::dom::object obj;
  if (record.get(obj)) return;
  for (auto [key, value] : obj) {
    if (key.empty() || std::find(mapped_.begin(), mapped_.end(), key) != mapped_.end()) continue;
    inference_.observe(std::string(key), value);
  }
  for (const auto& [col, path] : paths_)
    if (auto v = path.find(record)) inference_.observe(col, *v);
}

}  // namespace pipekit::pgload
