#pragma once
// Internal: the compiled form of a schema. A Node is one schema object (or a
// boolean schema); its keywords are checked in order over a simdjson element.
// Shared by compile.cpp (building) and keywords.cpp (checking).
#include <simdjson.h>

#include <re2/re2.h>

#include <cmath>
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

enum TypeBits : unsigned {
  T_NULL = 1, T_BOOL = 2, T_OBJECT = 4, T_ARRAY = 8, T_NUMBER = 16, T_STRING = 32, T_INTEGER = 64
};

inline unsigned type_bits(dom::element e) {
  switch (e.type()) {
    case dom::element_type::NULL_VALUE: return T_NULL;
    case dom::element_type::BOOL: return T_BOOL;
    case dom::element_type::OBJECT: return T_OBJECT;
    case dom::element_type::ARRAY: return T_ARRAY;
    case dom::element_type::STRING: return T_STRING;
    case dom::element_type::INT64:
    case dom::element_type::UINT64: return T_NUMBER | T_INTEGER;
    case dom::element_type::DOUBLE: {
      double d = double(e);
      return T_NUMBER | (std::isfinite(d) && std::floor(d) == d ? T_INTEGER : 0u);
    }
    default: return T_NUMBER;
  }
}

// Static cycles are refused at compile time; this catches the rest (a
// $dynamicRef loop) before the stack runs out: the record is invalid.
inline constexpr int kMaxDepth = 2000;

struct Node {
  int bool_value = -1;  // 0 or 1 for a boolean schema
  std::vector<std::unique_ptr<Kw>> kws;
  std::string location;
  const Resource* res = nullptr;
  bool has_uneval = false;  // collects annotations for unevaluated*

  // The fast path (valid(): no errors collected), prepared once by
  // prepare_fast_path() after compilation. It gives the same verdict as
  // `kws` with less work per record: "type" is a mask tested inline, a
  // `required` whose names are all in `properties` is checked by the
  // properties pass (one walk over the object), and a schema that is only a
  // $ref goes straight to its target.
  unsigned type_mask = ~0u;
  std::vector<const Kw*> fast_kws;
  const Node* ref_only = nullptr;
  bool fast_eligible = false;  // no unevaluated*, not a boolean schema
  bool type_only = false;      // fast_eligible, and nothing but the type mask to check

  bool check(dom::element e, Ctx& c, Ann* a) const {
    if (fast_eligible && !c.errors && !c.dynamic) return check_fast(e, c, a);
    return check_full(e, c, a);
  }
  // The fast path's whole check of a `type_only` node, for callers that
  // hold one (the properties pass): no call.
  bool check_type_only(dom::element e, const Ctx& c) const {
    return c.depth < kMaxDepth && (type_mask == ~0u || (type_bits(e) & type_mask));
  }
  bool check_fast(dom::element e, Ctx& c, Ann* a) const;
  bool check_full(dom::element e, Ctx& c, Ann* a) const;  // any mode
};

// Fills the fast-path fields of `node` from its keywords (compile.cpp calls
// it for every node once all of them are compiled).
void prepare_fast_path(Node& node);

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
