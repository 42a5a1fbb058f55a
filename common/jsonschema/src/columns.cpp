#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "pipekit/errors.hpp"
#include "pipekit/schema_columns.hpp"

namespace pipekit::jsonschema {

const char* to_string(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::string: return "string";
    case ColumnKind::integer: return "integer";
    case ColumnKind::number: return "number";
    case ColumnKind::boolean: return "boolean";
    case ColumnKind::date_time: return "date-time";
    case ColumnKind::date: return "date";
    case ColumnKind::uuid: return "uuid";
    case ColumnKind::json: return "json";
  }
  return "?";
}

namespace {

using Json = nlohmann::ordered_json;

// The one non-null type a property declares; "" when none, "union" for several.
std::string declared_type(const Json& prop) {
  const Json t = prop.contains("type") ? prop["type"] : Json();
  if (t.is_string()) return t.get<std::string>();
  std::string type;
  if (t.is_array())
    for (const auto& alt : t)  // ["string","null"]: the non-null one
      if (alt.is_string() && alt != "null") {
        if (!type.empty() && type != alt.get<std::string>()) return "union";
        type = alt.get<std::string>();
      }
  return type;
}

bool fits_int32(const Json& prop, const char* key) {
  if (!prop.contains(key) || !prop[key].is_number()) return false;
  double v = prop[key].get<double>();
  return v >= INT32_MIN && v <= INT32_MAX;
}

SchemaColumn column_of(const Json& prop) {
  SchemaColumn c;
  std::string type = declared_type(prop);
  if (type == "union" || (type.empty() && (prop.contains("properties") || prop.contains("items"))) ||
      type == "object" || type == "array") {
    c.kind = ColumnKind::json;
    return c;
  }
  std::string format = prop.contains("format") && prop["format"].is_string() ? prop["format"].get<std::string>() : "";
  if (type == "string") {
    if (format == "date-time") c.kind = ColumnKind::date_time;
    else if (format == "date") c.kind = ColumnKind::date;
    else if (format == "uuid") c.kind = ColumnKind::uuid;
  } else if (type == "integer") {
    c.kind = ColumnKind::integer;
    c.int32 = fits_int32(prop, "minimum") && fits_int32(prop, "maximum");
  } else if (type == "number") {
    c.kind = ColumnKind::number;
  } else if (type == "boolean") {
    c.kind = ColumnKind::boolean;
  }
  return c;
}

std::set<std::string> required_of(const Json& object) {
  std::set<std::string> required;
  if (object.contains("required") && object["required"].is_array())
    for (const auto& r : object["required"])
      if (r.is_string()) required.insert(r.get<std::string>());
  return required;
}

void add_columns(const std::string& file, const Json& object, std::vector<std::string>& path, bool required_so_far,
                 Nested nested, std::vector<SchemaColumn>& out) {
  auto required = required_of(object);
  for (const auto& [name, prop] : object["properties"].items()) {
    if (!prop.is_object()) throw UsageError("--schema " + file + ": property '" + name + "' is not an object");
    path.push_back(name);
    bool req = required_so_far && required.count(name) > 0;
    std::string type = declared_type(prop);
    bool flattenable = nested == Nested::flatten && (type == "object" || type.empty()) &&
                       prop.contains("properties") && prop["properties"].is_object() && !prop["properties"].empty();
    if (flattenable) {
      add_columns(file, prop, path, req, nested, out);
    } else {
      SchemaColumn c = column_of(prop);
      c.path = path;
      c.required = req;
      for (size_t i = 0; i < path.size(); ++i) c.name += (i ? "_" : "") + path[i];
      out.push_back(std::move(c));
    }
    path.pop_back();
  }
}

}  // namespace

std::vector<SchemaColumn> columns_from_schema(const std::string& path, Nested nested) {
  std::ifstream in(path);
  if (!in) throw UsageError("--schema: cannot read " + path);
  Json schema;
  try {
    schema = Json::parse(in);
  } catch (const std::exception& e) {
    throw UsageError("--schema " + path + ": not valid JSON: " + e.what());
  }
  if (!schema.is_object() || !schema.contains("properties") || !schema["properties"].is_object() ||
      schema["properties"].empty())
    throw UsageError("--schema " + path + ": expected an object schema with \"properties\"");
  std::vector<SchemaColumn> cols;
  std::vector<std::string> at;
  add_columns(path, schema, at, true, nested, cols);
  std::set<std::string> names;
  for (const auto& c : cols)
    if (!names.insert(c.name).second)
      throw UsageError("--schema " + path + ": two properties become the column '" + c.name + "'");
  return cols;
}

}  // namespace pipekit::jsonschema
