#pragma once
// Small JSON helpers for the hot path (no DOM building): string escaping that
// always yields valid JSON, and field lookup by dotted path or JSON pointer.
#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pipekit::json {

// Appends `s` as a JSON string literal (with quotes). Invalid UTF-8 bytes are
// replaced by U+FFFD so the output is always valid JSON.
void append_string(std::string& out, std::string_view s);
std::string quote(std::string_view s);
bool is_valid_utf8(std::string_view s);

// Why simdjson refused `text`, as a reject's reason. Broken JSON: where and
// what. Valid JSON whose number is beyond what the tools represent (an integer
// past 64 bits, a decimal past a double's range, e.g. 18446744073709551616 or
// 1e400): that number, named as such, never "invalid JSON". Never throws.
std::string parse_error_reason(std::string_view text, simdjson::error_code err);

// The first number in `text` (outside strings) that is valid JSON but does
// not fit a 64-bit integer or a finite double, or "" if none.
std::string unrepresentable_number(std::string_view text);

// A field path: "login.uuid" (dotted) or "/login/uuid" (JSON pointer, with
// ~0 and ~1 escapes). Array indexes work in both ("a.0.b", "/a/0/b").
class Path {
 public:
  Path() = default;
  explicit Path(std::string_view spec);  // throws UsageError on an empty spec
  const std::vector<std::string>& parts() const { return parts_; }
  const std::string& spec() const { return spec_; }
  bool empty() const { return parts_.empty(); }
  // The element at this path, or nullopt when absent.
  std::optional<simdjson::dom::element> find(simdjson::dom::element root) const;

 private:
  std::string spec_;
  std::vector<std::string> parts_;
};

// The text a scalar becomes when used as a key or a plain value: strings
// unquoted, numbers/bools as written, null as nullopt, objects/arrays minified.
std::optional<std::string> scalar_text(simdjson::dom::element e);

}  // namespace pipekit::json
