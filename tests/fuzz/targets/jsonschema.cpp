// JSON Schema: the first line is a schema (compiled: a bad one is a
// UsageError), the rest an instance validated against it.
#include <nlohmann/json.hpp>

#include "fuzz.hpp"
#include "pipekit/errors.hpp"
#include "pipekit/jsonschema.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pipekit;
  auto [schema_text, instance_text] = fuzz::split(fuzz::text(data, size));
  nlohmann::json schema;
  try {
    schema = nlohmann::json::parse(schema_text);
  } catch (const nlohmann::json::exception&) {
    return 0;  // jvalidate reports an unreadable schema before compiling it
  }
  jsonschema::CompileOptions opts;
  opts.assert_formats = !instance_text.empty() && instance_text[0] == ' ';
  jsonschema::Validator v(opts);
  try {
    v.add_document(schema, "file:///fuzz/schema.json");
    v.compile("file:///fuzz/schema.json");
  } catch (const UsageError&) {
    return 0;  // a bad schema: exit 2
  }
  simdjson::dom::parser parser;
  simdjson::dom::element instance;
  // jvalidate never parses an empty line (blank lines are skipped); an empty
  // view may have no data at all, which simdjson would hand to memcpy
  // (found by this target: UBSan "null pointer passed as argument 2").
  if (instance_text.empty()) return 0;
  if (parser.parse(instance_text.data(), instance_text.size()).get(instance)) return 0;
  std::vector<jsonschema::Error> errors;
  try {
    bool valid = v.validate(instance, errors);
    if (valid != v.valid(instance) || valid != errors.empty()) __builtin_trap();  // the two paths disagree
  } catch (const jsonschema::MatchAborted&) {
    // a backtracking pattern over its step budget: jvalidate rejects the record
  }
  return 0;
}
