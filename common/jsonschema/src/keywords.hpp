#pragma once
// Internal: the compiled form of a schema. A Node is one schema object (or a
// boolean schema); its keywords are checked in order over a simdjson element.
// Shared by compile.cpp (building) and keywords.cpp (checking).
#include <simdjson.h>

#include <memory>
#include <re2/re2.h>

#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pipekit/jsonschema.hpp"

namespace pipekit::jsonschema::detail {

namespace dom = simdjson::dom;
struct Node;

// A schema resource (a document or an embedded $id): the unit of the dynamic
// scope that $dynamicRef / $recursiveRef search.
struct Resource {
  std::string uri;
  const nlohmann::json* node = nullptr;
  std::unordered_map<std::string, const nlohmann::json*> dynamic_anchors;
  bool recursive_anchor = false;
  // From a custom meta-schema's $vocabulary: which vocabularies apply.
  bool validation_vocab = true;
  bool format_assertion = false;
  std::unordered_map<std::string, const Node*> dyn_nodes;  // compiled dynamic anchors
  const Node* recursive_node = nullptr;
};

// What in-place applicators tell unevaluatedProperties/unevaluatedItems:
// which properties and items of the current instance were evaluated.
// Only collected when some schema up the chain needs it.
struct Ann {
  bool all_props = false;
  std::vector<std::string_view> props;
  bool all_items = false;
  size_t prefix = 0;
  std::vector<size_t> items;  // indexes matched by contains
  void merge(const Ann& o) {
    all_props |= o.all_props;
    props.insert(props.end(), o.props.begin(), o.props.end());
    all_items |= o.all_items;
    if (o.prefix > prefix) prefix = o.prefix;
    items.insert(items.end(), o.items.begin(), o.items.end());
  }
  bool has_prop(std::string_view k) const {
    if (all_props) return true;
    for (auto p : props)
      if (p == k) return true;
    return false;
  }
  bool has_item(size_t i) const {
    if (all_items || i < prefix) return true;
    for (auto x : items)
      if (x == i) return true;
    return false;
  }
};

struct Kw;

// Per-validation state. `errors` null means fast mode: stop at the first
// failure, build no messages and no instance paths.
struct Ctx {
  std::vector<Error>* errors = nullptr;
  std::vector<const Resource*> scope;
  std::vector<std::string> path;  // escaped JSON pointer tokens (error mode only)
  bool dynamic = false;           // some $dynamicRef/$recursiveRef needs `scope`
  bool assert_formats = false;
  int depth = 0;                      // nested schema checks (a guard for $dynamicRef loops)
  dom::parser* key_parser = nullptr;  // to validate property names as strings
  std::wstring wbuf;                  // regex scratch
  std::string instance_location() const;
  void fail(const Kw& kw, std::string message);
  void fail_at(std::string location, std::string keyword, std::string message);
};

struct Kw {
  std::string keyword;
  std::string location;  // "#/properties/email/format"
  virtual ~Kw() = default;
  virtual bool check(dom::element e, Ctx& c, Ann* a) const = 0;
};

struct Node {
  int bool_value = -1;  // 0 or 1 for a boolean schema
  std::vector<std::unique_ptr<Kw>> kws;
  std::string location;
  const Resource* res = nullptr;
  bool has_uneval = false;  // collects annotations for unevaluated*
  bool check(dom::element e, Ctx& c, Ann* a) const;
};

// Regular expressions: ECMAScript grammar over code points. search() is
// unanchored, as JSON Schema wants. A pattern runs on RE2 (linear time in the
// input, whatever the pattern: no record can stall validation) once rewritten
// into RE2's syntax. Only what needs backtracking by definition (backreferences,
// lookahead, lookbehind), which RE2 refuses, runs on std::regex over UTF-32;
// the man page says to avoid those in patterns that meet untrusted data.
// There a match is bounded by kBacktrackingSteps (MatchAborted past it).
inline constexpr uint64_t kBacktrackingSteps = 1ull << 26;

struct Regex {
  std::string source;
  std::shared_ptr<const re2::RE2> linear;  // RE2, when it takes the pattern
  std::wregex backtracking;                // otherwise
  explicit Regex(const std::string& pattern);  // throws std::regex_error
  bool search(std::string_view s, std::wstring& buf) const;
  bool linear_time() const { return linear != nullptr; }
};

// Equality as JSON Schema defines it (1 == 1.0; objects unordered).
bool equal(dom::element a, const nlohmann::json& b);
bool equal(dom::element a, dom::element b);
size_t utf8_length(std::string_view s);
std::string escape_token(std::string_view s);

}  // namespace pipekit::jsonschema::detail
