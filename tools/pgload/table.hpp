#pragma once
// The target table: introspection (columns, types, defaults, primary key),
// CREATE TABLE from a JSON Schema or from types inferred from records.
#include <simdjson.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pipekit/pg.hpp"
#include "engine.hpp"

namespace pipekit::pgload {

// How a value is written into a column's COPY field.
enum class Kind { plain, json, timestamp };

struct Column {
  std::string name;
  std::string type;   // format_type(), e.g. "timestamp with time zone"
  Kind kind = Kind::plain;
  bool has_default = false;  // DEFAULT, identity or generated: left to the database
  bool generated = false;    // GENERATED ALWAYS: can never be loaded
};

struct TableInfo {
  TableName name;  // schema always filled in
  std::vector<Column> columns;
  std::vector<std::string> primary_key;
  const Column* find(const std::string& col) const;
};

// nullopt when the table does not exist.
std::optional<TableInfo> introspect(Conn& conn, const TableName& name);

// Column definitions for CREATE TABLE, in order.
struct ColumnDef {
  std::string name;
  std::string type;  // canonical_type() output
  bool not_null = false;
};
// From a JSON Schema's top-level "properties" (order kept) and "required".
std::vector<ColumnDef> columns_from_schema(const std::string& path);  // throws UsageError

// Collects JSON types per field over records, then picks a column type.
class TypeInference {
 public:
  void observe(const std::string& field, simdjson::dom::element value);
  void declare(const std::string& field, const std::string& type);  // fixed type
  std::vector<ColumnDef> columns() const;

 private:
  std::vector<std::string> order_;
  std::map<std::string, unsigned> seen_;
  std::map<std::string, std::string> fixed_;
  void note(const std::string& field);
};

// CREATE TABLE IF NOT EXISTS with every identifier quoted.
std::string create_table_sql(const TableName& name, const std::vector<ColumnDef>& cols,
                             const std::vector<std::string>& primary_key);

}  // namespace pipekit::pgload
