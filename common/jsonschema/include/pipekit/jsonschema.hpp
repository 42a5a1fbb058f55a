#pragma once
// JSON Schema (drafts 2020-12, 2019-09, draft-07): schemas are loaded with
// nlohmann/json and compiled once into a tree of keyword validators that run
// over simdjson DOM elements, so records are parsed once and never converted.
//
//   jsonschema::Validator v({.assert_formats = true});
//   v.add_document(schema_json, "file:///path/user.schema.json");
//   v.compile("file:///path/user.schema.json");        // throws UsageError
//   bool ok = v.valid(element);                         // fast, no errors
//   std::vector<jsonschema::Error> errs; v.validate(element, errs);
//
// $ref never fetches a URL: an absolute URI resolves to a document added with
// add_document() or returned by CompileOptions::loader, else compile() fails.
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pipekit::jsonschema {

enum class Draft { draft7, draft2019_09, draft2020_12 };

struct Error {
  std::string instance_location;  // JSON pointer into the record ("" is the root)
  std::string keyword_location;   // where the failing keyword is: "#/properties/email/format",
                                  // prefixed by the document URI when not in the root document
  std::string keyword;            // "format", "required", ...
  std::string message;            // readable
};

struct CompileOptions {
  bool assert_formats = false;      // --assert-formats: "format" is an assertion
  Draft default_draft = Draft::draft2020_12;  // for documents without $schema
  // Called with an absolute URI (no fragment) that no added document claims;
  // returns the document, or nullopt when it is unknown.
  std::function<std::optional<nlohmann::json>(const std::string& uri)> loader;
};

// Thrown by Validator::valid() and validate() when a pattern that needs
// backtracking (backreferences, lookaround: std::regex, not RE2) runs past
// its step budget, or a stop signal arrives while it runs: the caller rejects
// the record (or stops) instead of hanging on it.
struct MatchAborted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Validator {
 public:
  explicit Validator(CompileOptions opts = {});
  ~Validator();
  Validator(const Validator&) = delete;
  Validator& operator=(const Validator&) = delete;

  // Registers a schema document under its retrieval URI (and its $id, and
  // every embedded $id/$anchor). Throws UsageError on an unknown $schema.
  void add_document(nlohmann::json doc, const std::string& uri);
  // Compiles the schema at `uri` (a document URI, optionally with a fragment)
  // as the root, resolving every reference. Throws UsageError pointing to
  // the problem (bad $ref, invalid regex, bad keyword value).
  void compile(const std::string& uri);

  // True when the instance is valid. Stops at the first failure.
  bool valid(simdjson::dom::element instance) const;
  // Collects every error (appended to `errors`); returns validity.
  bool validate(simdjson::dom::element instance, std::vector<Error>& errors) const;

  Draft draft() const;  // the root schema's draft

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Format checks (exposed for tests). Unknown formats return true.
using FormatCheck = bool (*)(std::string_view);
FormatCheck format_checker(std::string_view format);  // nullptr when not asserted
bool check_format(std::string_view format, std::string_view value);
// True when jvalidate asserts this format under --assert-formats.
bool known_format(std::string_view format);

// RFC 3986 reference resolution (exposed for tests).
std::string resolve_uri(const std::string& base, const std::string& ref);
// "file:///abs/path" for a local path (made absolute).
std::string file_uri(const std::string& path);

}  // namespace pipekit::jsonschema
