#pragma once
// Table columns from a JSON Schema's top-level "properties" (order kept) and
// "required": the one mapping the sinks share (pgload --create, fileload).
//   string -> string (format date-time -> date_time, date -> date, uuid -> uuid)
//   integer -> integer (int32 when minimum and maximum both fit in 32 bits)
//   number -> number, boolean -> boolean
//   object/array, a union of types, or properties/items without a type -> json
//   anything else (enum, const, no type) -> string
// With Nested::flatten an object property with "properties" becomes one column
// per leaf, named by its path joined with '_' (login.uuid -> login_uuid).
#include <string>
#include <vector>

namespace pipekit::jsonschema {

enum class ColumnKind { string, integer, number, boolean, date_time, date, uuid, json };
const char* to_string(ColumnKind kind);

struct SchemaColumn {
  std::string name;               // the property, or the flattened path joined with '_'
  std::vector<std::string> path;  // property names from the record's root
  ColumnKind kind = ColumnKind::string;
  bool required = false;          // required at every level of its path
  bool int32 = false;             // an integer whose minimum and maximum fit in int32
};

enum class Nested { json, flatten };

// Throws UsageError (naming the file) when the file cannot be read, is not
// JSON, has no object "properties", or flattening makes two columns one name.
std::vector<SchemaColumn> columns_from_schema(const std::string& path, Nested nested = Nested::json);

}  // namespace pipekit::jsonschema
