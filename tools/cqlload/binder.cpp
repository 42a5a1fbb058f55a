#include "binder.hpp"

#include <fmt/format.h>

#include <map>

#include "pipekit/cql/types.hpp"
#include "pipekit/errors.hpp"

namespace pipekit::cqlload {
namespace {

Source parse_source(const std::string& spec, bool envelope) {
  Source s;
  if (!spec.empty() && spec[0] == '@') {
    s.coordinate = parse_envelope_field(spec);
    if (!envelope) throw UsageError("--map: " + spec + " needs --envelope");
    return s;
  }
  s.path = json::Path(spec);
  return s;
}

// A default path is the plain field name, never a dotted path.
Source field_source(const std::string& name) {
  std::string esc;
  for (char ch : name) esc += ch == '~' ? "~0" : ch == '/' ? "~1" : std::string(1, ch);
  return Source{EnvelopeField::none, json::Path("/" + esc)};
}

}  // namespace

std::vector<BindColumn> bind_columns(const std::vector<std::string>& columns, const std::vector<std::string>& maps,
                                     bool envelope, const std::string& table_name) {
  std::map<std::string, std::string> mapped;
  for (const auto& m : maps) {
    auto eq = m.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == m.size())
      throw UsageError("--map: expected column=path, got '" + m + "'");
    std::string col = m.substr(0, eq);
    bool found = false;
    for (const auto& c : columns) found = found || c == col;
    if (!found) throw UsageError("--map: table " + table_name + " has no column '" + col + "'");
    mapped[col] = m.substr(eq + 1);
  }
  std::vector<BindColumn> out;
  out.reserve(columns.size());
  for (const auto& c : columns) {
    auto it = mapped.find(c);
    out.push_back(BindColumn{c, it != mapped.end() ? parse_source(it->second, envelope) : field_source(c), {}});
  }
  return out;
}

void Binder::encode(const BindColumn& c, simdjson::dom::element value, const Envelope* env, std::string& out) const {
  const cql::Type& type = c.type;
  switch (c.source.coordinate) {
    case EnvelopeField::none: {
      auto e = c.source.path.find(value);
      if (!e || e->is_null()) cql::wire::unset_value(out);  // no tombstone
      else cql::encode_value(out, type, *e);
      break;
    }
    case EnvelopeField::topic: cql::encode_text(out, type, env->topic); break;
    case EnvelopeField::key:
      if (env->key) cql::encode_text(out, type, *env->key);
      else cql::wire::unset_value(out);
      break;
    case EnvelopeField::partition: cql::encode_int64(out, type, env->partition); break;
    case EnvelopeField::offset: cql::encode_int64(out, type, env->offset); break;
    case EnvelopeField::timestamp:
      if (env->timestamp >= 0) cql::encode_int64(out, type, env->timestamp);
      else cql::wire::unset_value(out);
      break;
  }
}

std::optional<BindRefusal> Binder::bind(simdjson::dom::element value, const Envelope* env, int64_t timestamp,
                                        Row& row) const {
  std::vector<std::pair<size_t, size_t>> spans(columns_.size());  // value bytes of each bind
  row.values.reserve(row.original.size() + 8 * columns_.size() + 12);
  for (size_t i = 0; i < columns_.size(); ++i) {
    size_t start = row.values.size();
    try {
      encode(columns_[i], value, env, row.values);
    } catch (const cql::ValueError& e) {
      return BindRefusal{RejectCode::bad_value, fmt::format("column {}: {}", columns_[i].name, e.what()),
                         "\"column\":" + json::quote(columns_[i].name)};
    }
    spans[i] = {start + 4, row.values.size()};
    if (row.values.size() == start + 4 && static_cast<int8_t>(row.values[start]) < 0) spans[i] = {1, 0};  // null/unset
  }
  // One record must fit one frame: sent anyway it only fails, retry after retry.
  if (row.values.size() > max_values_)
    return BindRefusal{RejectCode::too_large,
                       fmt::format("the record's values take {} bytes: over what one CQL frame carries ({} bytes)",
                                   row.values.size(), max_values_),
                       {}};
  std::vector<std::string_view> parts;
  parts.reserve(pk_binds_.size());
  for (int i : pk_binds_) {
    auto [b, e] = spans[static_cast<size_t>(i)];
    const std::string& name = columns_[static_cast<size_t>(i)].name;
    if (e < b)  // unset
      return BindRefusal{RejectCode::missing_field, fmt::format("missing partition key column {}", name),
                         "\"column\":" + json::quote(name)};
    parts.push_back(std::string_view(row.values).substr(b, e - b));
  }
  row.routing = cql::routing_key(parts);
  row.timestamp = timestamp;
  cql::wire::i32(row.values, 8);
  cql::wire::i64(row.values, timestamp);
  return std::nullopt;
}

}  // namespace pipekit::cqlload
