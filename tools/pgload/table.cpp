#include "table.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pipekit/errors.hpp"
#include "pipekit/schema_columns.hpp"

namespace pipekit::pgload {

const Column* TableInfo::find(const std::string& col) const {
  for (const auto& c : columns)
    if (c.name == col) return &c;
  return nullptr;
}

std::optional<TableInfo> introspect(Conn& conn, const TableName& name) {
  // Names travel as parameters, never spliced into SQL. Without a schema the
  // first match on search_path wins, as it would for an unqualified name.
  auto found = conn.exec_params(
      "SELECT c.oid, n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relname = $1 AND c.relkind IN ('r','p') "
      "AND (CASE WHEN $2::text IS NULL THEN n.nspname = ANY(current_schemas(false)) ELSE n.nspname = $2 END) "
      "ORDER BY array_position(current_schemas(false), n.nspname) NULLS LAST LIMIT 1",
      {name.name, name.schema.empty() ? std::nullopt : std::optional<std::string>(name.schema)});
  if (PQntuples(found.get()) == 0) return std::nullopt;
  std::string oid = PQgetvalue(found.get(), 0, 0);
  TableInfo info;
  info.name = {PQgetvalue(found.get(), 0, 1), name.name};

  auto cols = conn.exec_params(
      "SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typname, "
      "a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '', "
      "a.attgenerated <> '' OR a.attidentity = 'a' "
      "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
      "WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
      {oid});
  for (int i = 0; i < PQntuples(cols.get()); ++i) {
    Column c;
    c.name = PQgetvalue(cols.get(), i, 0);
    c.type = PQgetvalue(cols.get(), i, 1);
    std::string typname = PQgetvalue(cols.get(), i, 2);
    if (typname == "json" || typname == "jsonb") c.kind = Kind::json;
    else if (typname == "timestamptz" || typname == "timestamp") c.kind = Kind::timestamp;
    c.has_default = PQgetvalue(cols.get(), i, 3)[0] == 't';
    c.generated = PQgetvalue(cols.get(), i, 4)[0] == 't';
    info.columns.push_back(std::move(c));
  }
  auto pk = conn.exec_params(
      "SELECT a.attname FROM pg_index i "
      "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
      "WHERE i.indrelid = $1::oid AND i.indisprimary "
      "ORDER BY array_position(i.indkey::int2[], a.attnum)",
      {oid});
  for (int i = 0; i < PQntuples(pk.get()); ++i) info.primary_key.push_back(PQgetvalue(pk.get(), i, 0));
  return info;
}

namespace {

std::string pg_type(jsonschema::ColumnKind kind) {
  using K = jsonschema::ColumnKind;
  switch (kind) {
    case K::string: return "text";
    case K::integer: return "bigint";
    case K::number: return "double precision";
    case K::boolean: return "boolean";
    case K::date_time: return "timestamptz";
    case K::date: return "date";
    case K::uuid: return "uuid";
    case K::json: return "jsonb";
  }
  return "text";
}

}  // namespace

std::vector<ColumnDef> columns_from_schema(const std::string& path) {
  std::vector<ColumnDef> cols;
  for (const auto& c : jsonschema::columns_from_schema(path)) cols.push_back({c.name, pg_type(c.kind), c.required});
  return cols;
}

namespace {
enum : unsigned { kInt = 1, kFloat = 2, kBool = 4, kString = 8, kNested = 16, kBig = 32 };
}

void TypeInference::note(const std::string& field) {
  if (!seen_.count(field) && !fixed_.count(field)) order_.push_back(field);
}

void TypeInference::observe(const std::string& field, simdjson::dom::element v) {
  note(field);
  unsigned& bits = seen_[field];
  using T = simdjson::dom::element_type;
  switch (v.type()) {
    case T::INT64: bits |= kInt; break;
    case T::UINT64: bits |= kBig; break;  // above int64: numeric
    case T::DOUBLE: bits |= kFloat; break;
    case T::BOOL: bits |= kBool; break;
    case T::STRING: bits |= kString; break;
    case T::ARRAY:
    case T::OBJECT: bits |= kNested; break;
    case T::NULL_VALUE: break;
  }
}

void TypeInference::declare(const std::string& field, const std::string& type) {
  note(field);
  fixed_[field] = type;
}

std::vector<ColumnDef> TypeInference::columns() const {
  std::vector<ColumnDef> out;
  for (const auto& f : order_) {
    if (auto it = fixed_.find(f); it != fixed_.end()) {
      out.push_back({f, it->second, false});
      continue;
    }
    unsigned b = seen_.count(f) ? seen_.at(f) : 0;
    std::string type;
    if (b == 0 || b == kString) type = "text";
    else if (b == kInt) type = "bigint";
    else if ((b & ~(kInt | kFloat | kBig)) == 0) type = (b & kBig) ? "numeric" : "double precision";
    else if (b == kBool) type = "boolean";
    else if (b & kNested) type = "jsonb";
    else type = "text";  // mixed scalars: text holds them all
    out.push_back({f, type, false});
  }
  return out;
}

std::string create_table_sql(const TableName& name, const std::vector<ColumnDef>& cols,
                             const std::vector<std::string>& primary_key) {
  // PostgreSQL cuts longer names to 63 bytes (NAMEDATALEN - 1) without an
  // error: the column would not match its field and every value of it would
  // be dropped. Refuse instead.
  for (const auto& c : cols)
    if (c.name.size() > 63)
      throw UsageError("--create: field '" + c.name.substr(0, 40) + "...' is " + std::to_string(c.name.size()) +
                       " bytes, over PostgreSQL's 63-byte limit for a column name (it would be cut and its values "
                       "lost): create the table yourself or --map the field to a shorter column");
  std::ostringstream sql;
  sql << "CREATE TABLE IF NOT EXISTS " << name.quoted() << " (";
  for (size_t i = 0; i < cols.size(); ++i) {
    if (i) sql << ", ";
    // Types come from canonical_type()/the fixed list above, never from input.
    sql << quote_ident(cols[i].name) << ' ' << cols[i].type;
    if (cols[i].not_null) sql << " NOT NULL";
  }
  if (!primary_key.empty()) {
    sql << ", PRIMARY KEY (";
    for (size_t i = 0; i < primary_key.size(); ++i) sql << (i ? ", " : "") << quote_ident(primary_key[i]);
    sql << ')';
  }
  sql << ')';
  return sql.str();
}

}  // namespace pipekit::pgload
