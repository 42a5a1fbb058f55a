#pragma once
// Internal: the keyword classes. Each checks one keyword (or a tight group,
// like properties/patternProperties/additionalProperties) over an element.
#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "keywords.hpp"

namespace pipekit::jsonschema::detail {

inline const char* type_name(dom::element e) {
  switch (e.type()) {
    case dom::element_type::NULL_VALUE: return "null";
    case dom::element_type::BOOL: return "boolean";
    case dom::element_type::OBJECT: return "object";
    case dom::element_type::ARRAY: return "array";
    case dom::element_type::STRING: return "string";
    case dom::element_type::INT64:
    case dom::element_type::UINT64: return "integer";
    default: return "number";
  }
}

inline bool as_number(dom::element e, long double& out) {
  switch (e.type()) {
    case dom::element_type::INT64: out = static_cast<long double>(int64_t(e)); return true;
    case dom::element_type::UINT64: out = static_cast<long double>(uint64_t(e)); return true;
    case dom::element_type::DOUBLE: out = static_cast<long double>(double(e)); return true;
    default: return false;
  }
}

// RAII push of an instance path token, only in error mode.
struct PathGuard {
  Ctx& c;
  bool on;
  PathGuard(Ctx& ctx, std::string_view token) : c(ctx), on(ctx.errors != nullptr) {
    if (on) c.path.push_back(escape_token(token));
  }
  PathGuard(Ctx& ctx, size_t index) : c(ctx), on(ctx.errors != nullptr) {
    if (on) c.path.push_back(std::to_string(index));
  }
  ~PathGuard() {
    if (on) c.path.pop_back();
  }
};

// Runs `f` with error collection diverted into `tmp` (or off in fast mode).
struct ErrorDivert {
  Ctx& c;
  std::vector<Error>* saved;
  ErrorDivert(Ctx& ctx, std::vector<Error>* tmp) : c(ctx), saved(ctx.errors) { c.errors = saved ? tmp : nullptr; }
  ~ErrorDivert() { c.errors = saved; }
};

// A `false` subschema's error reads better as the keyword that applied it
// ("additionalProperties", not "false").
inline void rename(Error& e, const std::string& keyword, const std::string& location, const char* message) {
  e.keyword = keyword;
  e.keyword_location = location;
  e.message = message;
}

struct TypeKw : Kw {
  unsigned mask = 0;
  std::string names;
  bool check(dom::element e, Ctx& c, Ann*) const override {
    if (type_bits(e) & mask) return true;
    if (c.errors) c.fail(*this, fmt::format("expected {}, got {}", names, type_name(e)));
    return false;
  }
};

struct EnumKw : Kw {
  std::vector<nlohmann::json> values;
  std::unordered_set<std::string> strings;  // fast path when every value is a string
  bool all_strings = false;
  bool check(dom::element e, Ctx& c, Ann*) const override {
    if (all_strings) {
      if (e.type() == dom::element_type::STRING) {
        std::string_view s = e;
        if (values.size() <= 16) {  // a few comparisons beat hashing
          for (const auto& v : values)
            if (v.get_ref<const std::string&>() == s) return true;
        } else if (strings.count(std::string(s))) {
          return true;
        }
      }
    } else {
      for (const auto& v : values)
        if (equal(e, v)) return true;
    }
    if (c.errors) {
      std::string list;
      for (size_t i = 0; i < values.size() && i < 10; ++i) list += (i ? ", " : "") + values[i].dump();
      if (values.size() > 10) list += ", ...";
      c.fail(*this, fmt::format("must be one of: {}", list));
    }
    return false;
  }
};

struct ConstKw : Kw {
  nlohmann::json value;
  bool check(dom::element e, Ctx& c, Ann*) const override {
    if (equal(e, value)) return true;
    if (c.errors) c.fail(*this, fmt::format("must be equal to {}", value.dump()));
    return false;
  }
};

struct LimitKw : Kw {
  enum Op { ge, gt, le, lt } op;
  long double limit = 0;
  std::string text;
  bool check(dom::element e, Ctx& c, Ann*) const override {
    long double x;
    if (!as_number(e, x)) return true;
    bool ok = op == ge ? x >= limit : op == gt ? x > limit : op == le ? x <= limit : x < limit;
    if (ok) return true;
    static const char* words[] = {">=", ">", "<=", "<"};
    if (c.errors) c.fail(*this, fmt::format("must be {} {}", words[op], text));
    return false;
  }
};

struct MultipleOfKw : Kw {
  long double divisor = 1;
  bool int_divisor = false;
  int64_t idiv = 1;
  std::string text;
  bool check(dom::element e, Ctx& c, Ann*) const override {
    bool ok;
    if (int_divisor && e.type() == dom::element_type::INT64) {
      ok = int64_t(e) % idiv == 0;
    } else {
      long double x;
      if (!as_number(e, x)) return true;
      long double q = x / divisor;
      if (!std::isfinite(q)) ok = false;
      else if (std::fabs(q) > 9.2e18L) {
        // Beyond exact integers: x is a multiple only when x is an integer
        // and 1/divisor is one too (1e308 is a multiple of 0.5, not of 0.123).
        long double inv = 1.0L / divisor;
        ok = std::floor(x) == x && std::floor(inv) == inv;
      } else ok = std::fabs(q - std::round(q)) <= 1e-9L * std::max<long double>(1.0L, std::fabs(q));
    }
    if (ok) return true;
    if (c.errors) c.fail(*this, fmt::format("must be a multiple of {}", text));
    return false;
  }
};

struct LengthKw : Kw {
  bool is_max = false;
  uint64_t limit = 0;
  bool check(dom::element e, Ctx& c, Ann*) const override {
    if (e.type() != dom::element_type::STRING) return true;
    std::string_view s = e;
    // Bytes bound code points from above, so most maxLength checks need no counting.
    if (is_max && s.size() <= limit) return true;
    if (!is_max && s.size() / 4 >= limit) return true;  // a code point is at most 4 bytes
    size_t n = utf8_length(s);
    bool ok = is_max ? n <= limit : n >= limit;
    if (ok) return true;
    if (c.errors)
      c.fail(*this, fmt::format("must have {} {} characters, has {}", is_max ? "at most" : "at least", limit, n));
    return false;
  }
};

struct PatternKw : Kw {
  std::unique_ptr<Regex> re;
  bool check(dom::element e, Ctx& c, Ann*) const override {
    if (e.type() != dom::element_type::STRING) return true;
    if (re->search(std::string_view(e), c.wbuf)) return true;
    if (c.errors) c.fail(*this, fmt::format("must match the pattern {}", nlohmann::json(re->source).dump()));
    return false;
  }
};

struct FormatKw : Kw {
  std::string format;
  FormatCheck fn = nullptr;  // resolved once, at compile time
  bool check(dom::element e, Ctx& c, Ann*) const override {
    if (e.type() != dom::element_type::STRING) return true;
    if (fn(std::string_view(e))) return true;
    if (c.errors) c.fail(*this, fmt::format("not a valid {}", format));
    return false;
  }
};

struct CountKw : Kw {  // minItems/maxItems/minProperties/maxProperties
  bool is_max = false, objects = false;
  uint64_t limit = 0;
  bool check(dom::element e, Ctx& c, Ann*) const override {
    size_t n;
    if (objects) {
      if (e.type() != dom::element_type::OBJECT) return true;
      n = 0;
      for ([[maybe_unused]] auto kv : dom::object(e)) ++n;
    } else {
      if (e.type() != dom::element_type::ARRAY) return true;
      n = 0;
      for ([[maybe_unused]] auto v : dom::array(e)) ++n;
    }
    bool ok = is_max ? n <= limit : n >= limit;
    if (ok) return true;
    if (c.errors)
      c.fail(*this, fmt::format("must have {} {} {}, has {}", is_max ? "at most" : "at least", limit,
                                objects ? "properties" : "items", n));
    return false;
  }
};

struct UniqueItemsKw : Kw {
  bool check(dom::element e, Ctx& c, Ann*) const override {
    if (e.type() != dom::element_type::ARRAY) return true;
    std::vector<dom::element> items;
    for (auto v : dom::array(e)) items.push_back(v);
    for (size_t i = 0; i < items.size(); ++i)
      for (size_t j = i + 1; j < items.size(); ++j)
        if (equal(items[i], items[j])) {
          if (c.errors) c.fail(*this, fmt::format("items {} and {} are equal; items must be unique", i, j));
          return false;
        }
    return true;
  }
};

struct RequiredKw : Kw {
  std::vector<std::string> names;
  bool check(dom::element e, Ctx& c, Ann*) const override {
    if (e.type() != dom::element_type::OBJECT) return true;
    dom::object obj = e;
    if (all_present(obj)) return true;
    bool ok = true;
    for (const auto& n : names) {
      if (obj.at_key(n).error()) {
        ok = false;
        if (!c.errors) return false;
        c.fail(*this, fmt::format("missing required property {}", nlohmann::json(n).dump()));
      }
    }
    return ok;
  }

  // One pass over the object instead of a search of it per name. Records
  // usually list their fields in the order of the schema, so the name after
  // the last one found is tried first. False when unsure (more than 64 names,
  // a name listed twice): the caller then checks name by name.
  bool all_present(dom::object obj) const {
    const size_t n = names.size();
    if (n == 0) return true;
    if (n > 64) return false;
    uint64_t seen = 0;
    size_t found = 0, next = 0;
    for (auto field : obj) {
      std::string_view key = field.key;
      size_t i = next < n && names[next] == key ? next : n;
      for (size_t j = 0; i == n && j < n; ++j)
        if (names[j] == key) i = j;
      if (i == n) continue;
      next = i + 1;
      if (!(seen & (uint64_t{1} << i))) {
        seen |= uint64_t{1} << i;
        if (++found == n) return true;
      }
    }
    return false;
  }
};

struct DependentRequiredKw : Kw {
  std::vector<std::pair<std::string, std::vector<std::string>>> deps;
  bool check(dom::element e, Ctx& c, Ann*) const override {
    if (e.type() != dom::element_type::OBJECT) return true;
    dom::object obj = e;
    bool ok = true;
    for (const auto& [name, required] : deps) {
      if (obj.at_key(name).error()) continue;
      for (const auto& r : required)
        if (obj.at_key(r).error()) {
          ok = false;
          if (!c.errors) return false;
          c.fail(*this, fmt::format("property {} requires property {}", nlohmann::json(name).dump(),
                                    nlohmann::json(r).dump()));
        }
    }
    return ok;
  }
};

struct DependentSchemasKw : Kw {
  std::vector<std::pair<std::string, const Node*>> deps;
  bool check(dom::element e, Ctx& c, Ann* a) const override {
    if (e.type() != dom::element_type::OBJECT) return true;
    dom::object obj = e;
    bool ok = true;
    for (const auto& [name, node] : deps) {
      if (obj.at_key(name).error()) continue;
      if (!node->check(e, c, a)) {
        ok = false;
        if (!c.errors) return false;
      }
    }
    return ok;
  }
};

// properties + patternProperties + additionalProperties, in one pass over the
// instance's members. Each is its own keyword for error locations.
// Property name -> index in a list of names, for the properties pass: open
// addressing over a hash of the name's length and first, middle and last
// bytes (cheap, and distinct enough for the names of one schema object); a
// slot is confirmed by comparing the names. Built once, at compile time.
class NameTable {
 public:
  static constexpr size_t npos = ~size_t{0};
  void build(const std::vector<std::pair<std::string, const Node*>>& names) {
    size_t cap = 4;
    while (cap < names.size() * 2) cap *= 2;
    slots_.assign(cap, 0);
    mask_ = cap - 1;
    for (size_t i = 0; i < names.size(); ++i) {
      size_t h = hash(names[i].first) & mask_;
      while (slots_[h]) h = (h + 1) & mask_;
      slots_[h] = static_cast<uint32_t>(i + 1);
    }
  }
  size_t find(std::string_view k, const std::vector<std::pair<std::string, const Node*>>& names) const {
    if (slots_.empty()) return npos;
    for (size_t h = hash(k) & mask_;; h = (h + 1) & mask_) {
      uint32_t s = slots_[h];
      if (!s) return npos;
      const std::string& name = names[s - 1].first;
      if (name.size() == k.size() && std::memcmp(name.data(), k.data(), k.size()) == 0) return s - 1;
    }
  }

 private:
  static size_t hash(std::string_view k) {
    if (k.empty()) return 0;
    auto b = [&](size_t i) { return static_cast<size_t>(static_cast<unsigned char>(k[i])); };
    size_t h = k.size() * 0x9E3779B1u ^ b(0) * 0x85EBCA77u ^ b(k.size() / 2) * 0xC2B2AE3Du ^ b(k.size() - 1) * 0x27D4EB2Fu;
    return h ^ (h >> 15);
  }
  std::vector<uint32_t> slots_;  // index + 1; 0 is an empty slot
  size_t mask_ = 0;
};

struct ObjectKw : Kw {
  std::vector<std::pair<std::string, const Node*>> props;
  NameTable prop_index;  // built by compile once props is complete
  std::string additional_location;
  std::vector<std::pair<std::unique_ptr<Regex>, const Node*>> patterns;
  const Node* additional = nullptr;
  bool has_props = false, has_patterns = false;
  // Set by prepare_fast_path when the node's `required` names only
  // properties listed here: bit i for props[i]. Checked in fast mode only
  // (the RequiredKw itself reports the errors).
  uint64_t required_mask = 0;
  // patternProperties over the names under properties, matched at compile
  // time: bit j of prop_patterns[i] when patterns[j] matches props[i]'s
  // name. Empty when not precomputed (then every key is matched at run time).
  std::vector<uint64_t> prop_patterns;
  static constexpr size_t npos = NameTable::npos;

  size_t find(std::string_view k) const { return prop_index.find(k, props); }

  bool check(dom::element e, Ctx& c, Ann* a) const override {
    if (e.type() != dom::element_type::OBJECT) return true;
    bool ok = true;
    const bool fast = !c.errors && !c.dynamic;
    uint64_t seen = 0;  // props found, for required_mask
    for (auto [k, v] : dom::object(e)) {
      bool matched = false;
      PathGuard guard(c, k);
      size_t i = npos;
      if (has_props) {
        i = find(k);
        if (i != npos) {
          matched = true;
          if (i < 64) seen |= uint64_t{1} << i;
          const Node* n = props[i].second;
          if (fast && n->type_only ? !n->check_type_only(v, c) : !n->check(v, c, nullptr)) {
            ok = false;
            if (!c.errors) return false;
          }
        }
      }
      const bool known = i != npos && !prop_patterns.empty();
      for (size_t j = 0; j < patterns.size(); ++j) {
        const auto& [re, node] = patterns[j];
        if (known ? (prop_patterns[i] >> j) & 1 : re->search(k, c.wbuf)) {
          matched = true;
          if (!node->check(v, c, nullptr)) {
            ok = false;
            if (!c.errors) return false;
          }
        }
      }
      if (!matched && additional) {
        matched = true;
        if (!additional->check(v, c, nullptr)) {
          ok = false;
          if (!c.errors) return false;
          if (additional->bool_value == 0) rename(c.errors->back(), "additionalProperties", additional_location,
                                                  "additional property is not allowed");
        }
      }
      if (a && matched) a->props.push_back(k);
    }
    if (!c.errors && (seen & required_mask) != required_mask) return false;
    return ok;
  }
};

struct PropertyNamesKw : Kw {
  const Node* node = nullptr;
  bool check(dom::element e, Ctx& c, Ann*) const override {
    if (e.type() != dom::element_type::OBJECT) return true;
    bool ok = true;
    for (auto [k, v] : dom::object(e)) {
      // A key is not an element: parse it as a JSON string of its own.
      std::string text;
      json_quote(text, k);
      auto doc = c.key_parser->parse(text);
      if (doc.error()) continue;
      PathGuard guard(c, k);
      std::vector<Error> tmp;
      bool valid;
      {
        ErrorDivert d(c, &tmp);
        valid = node->check(doc.value(), c, nullptr);
      }
      if (!valid) {
        ok = false;
        if (!c.errors) return false;
        c.fail(*this, fmt::format("property name {} is not valid", nlohmann::json(std::string(k)).dump()));
      }
    }
    return ok;
  }
  static void json_quote(std::string& out, std::string_view s) { out = nlohmann::json(std::string(s)).dump(); }
};

// items from index `start` (2020-12 items after prefixItems; additionalItems;
// draft-07 items as one schema).
struct ItemsKw : Kw {
  const Node* node = nullptr;
  size_t start = 0;
  bool check(dom::element e, Ctx& c, Ann* a) const override {
    if (e.type() != dom::element_type::ARRAY) return true;
    bool ok = true;
    size_t i = 0;
    for (auto v : dom::array(e)) {
      if (i >= start) {
        PathGuard guard(c, i);
        if (!node->check(v, c, nullptr)) {
          ok = false;
          if (!c.errors) return false;
          if (node->bool_value == 0) rename(c.errors->back(), keyword, location, "no item is allowed here");
        }
      }
      ++i;
    }
    if (a && i > start) a->all_items = true;
    return ok;
  }
};

struct PrefixItemsKw : Kw {
  std::vector<const Node*> nodes;
  bool check(dom::element e, Ctx& c, Ann* a) const override {
    if (e.type() != dom::element_type::ARRAY) return true;
    bool ok = true;
    size_t i = 0;
    for (auto v : dom::array(e)) {
      if (i >= nodes.size()) break;
      PathGuard guard(c, i);
      if (!nodes[i]->check(v, c, nullptr)) {
        ok = false;
        if (!c.errors) return false;
      }
      ++i;
    }
    if (a && i > a->prefix) a->prefix = i;
    return ok;
  }
};

struct ContainsKw : Kw {
  const Node* node = nullptr;
  uint64_t min = 1;
  std::optional<uint64_t> max;
  bool check(dom::element e, Ctx& c, Ann* a) const override {
    if (e.type() != dom::element_type::ARRAY) return true;
    uint64_t count = 0;
    size_t i = 0;
    {
      ErrorDivert d(c, nullptr);
      for (auto v : dom::array(e)) {
        if (node->check(v, c, nullptr)) {
          ++count;
          if (a) a->items.push_back(i);
        }
        ++i;
      }
    }
    if (count < min) {
      if (c.errors)
        c.fail(*this, min == 1 ? std::string("no item matches the contains schema")
                               : fmt::format("{} items match the contains schema, at least {} must", count, min));
      return false;
    }
    if (max && count > *max) {
      if (c.errors) c.fail(*this, fmt::format("{} items match the contains schema, at most {} may", count, *max));
      return false;
    }
    return true;
  }
};

struct AllOfKw : Kw {
  std::vector<const Node*> nodes;
  bool check(dom::element e, Ctx& c, Ann* a) const override {
    bool ok = true;
    for (const Node* n : nodes)
      if (!n->check(e, c, a)) {
        ok = false;
        if (!c.errors) return false;
      }
    return ok;
  }
};

struct AnyOfKw : Kw {
  std::vector<const Node*> nodes;
  bool check(dom::element e, Ctx& c, Ann* a) const override {
    std::vector<Error> tmp;
    bool any = false;
    {
      ErrorDivert d(c, &tmp);
      for (const Node* n : nodes) {
        Ann t;
        if (n->check(e, c, a ? &t : nullptr)) {
          any = true;
          if (!a) break;  // annotations need every branch evaluated
          a->merge(t);
        }
      }
    }
    if (any) return true;
    if (c.errors) {
      c.fail(*this, fmt::format("matches none of the {} anyOf subschemas", nodes.size()));
      c.errors->insert(c.errors->end(), tmp.begin(), tmp.end());
    }
    return false;
  }
};

struct OneOfKw : Kw {
  std::vector<const Node*> nodes;
  bool check(dom::element e, Ctx& c, Ann* a) const override {
    std::vector<Error> tmp;
    std::vector<size_t> matched;
    Ann kept;
    {
      ErrorDivert d(c, &tmp);
      for (size_t i = 0; i < nodes.size(); ++i) {
        Ann t;
        if (nodes[i]->check(e, c, a ? &t : nullptr)) {
          matched.push_back(i);
          if (matched.size() == 1) kept = std::move(t);
          else break;
        }
      }
    }
    if (matched.size() == 1) {
      if (a) a->merge(kept);
      return true;
    }
    if (c.errors) {
      if (matched.empty()) {
        c.fail(*this, fmt::format("matches none of the {} oneOf subschemas", nodes.size()));
        c.errors->insert(c.errors->end(), tmp.begin(), tmp.end());
      } else {
        c.fail(*this, fmt::format("matches more than one oneOf subschema (#{} and #{})", matched[0], matched[1]));
      }
    }
    return false;
  }
};

struct NotKw : Kw {
  const Node* node = nullptr;
  bool check(dom::element e, Ctx& c, Ann*) const override {
    bool valid;
    {
      ErrorDivert d(c, nullptr);
      valid = node->check(e, c, nullptr);
    }
    if (!valid) return true;
    if (c.errors) c.fail(*this, "must not match the schema in not");
    return false;
  }
};

struct IfKw : Kw {
  const Node *if_node = nullptr, *then_node = nullptr, *else_node = nullptr;
  bool check(dom::element e, Ctx& c, Ann* a) const override {
    if (!then_node && !else_node && !a) return true;
    Ann t;
    bool cond;
    {
      ErrorDivert d(c, nullptr);
      cond = if_node->check(e, c, a ? &t : nullptr);
    }
    if (cond) {
      if (a) a->merge(t);
      return then_node ? then_node->check(e, c, a) : true;
    }
    return else_node ? else_node->check(e, c, a) : true;
  }
};

struct RefKw : Kw {
  const Node* target = nullptr;
  bool check(dom::element e, Ctx& c, Ann* a) const override { return target->check(e, c, a); }
};

// $dynamicRef (2020-12) and $recursiveRef (2019-09): when the statically
// resolved target is a dynamic anchor, the outermost resource in the dynamic
// scope with the same anchor wins.
struct DynamicRefKw : Kw {
  const Node* target = nullptr;
  std::string name;
  bool dynamic = false;
  bool recursive = false;  // $recursiveRef
  bool check(dom::element e, Ctx& c, Ann* a) const override {
    const Node* t = target;
    if (dynamic) {
      for (const Resource* r : c.scope) {
        if (recursive) {
          if (r->recursive_node) {
            t = r->recursive_node;
            break;
          }
        } else {
          auto it = r->dyn_nodes.find(name);
          if (it != r->dyn_nodes.end()) {
            t = it->second;
            break;
          }
        }
      }
    }
    return t->check(e, c, a);
  }
};

struct UnevaluatedPropertiesKw : Kw {
  const Node* node = nullptr;
  bool check(dom::element e, Ctx& c, Ann* a) const override {
    if (e.type() != dom::element_type::OBJECT) return true;
    bool ok = true;
    for (auto [k, v] : dom::object(e)) {
      if (a->has_prop(k)) continue;
      PathGuard guard(c, k);
      if (!node->check(v, c, nullptr)) {
        ok = false;
        if (!c.errors) return false;
        if (node->bool_value == 0)
          rename(c.errors->back(), keyword, location, "unevaluated property is not allowed");
      } else {
        a->props.push_back(k);
      }
    }
    return ok;
  }
};

struct UnevaluatedItemsKw : Kw {
  const Node* node = nullptr;
  bool check(dom::element e, Ctx& c, Ann* a) const override {
    if (e.type() != dom::element_type::ARRAY) return true;
    bool ok = true;
    size_t i = 0;
    for (auto v : dom::array(e)) {
      if (!a->has_item(i)) {
        PathGuard guard(c, i);
        if (!node->check(v, c, nullptr)) {
          ok = false;
          if (!c.errors) return false;
          if (node->bool_value == 0) rename(c.errors->back(), keyword, location, "unevaluated item is not allowed");
        }
      }
      ++i;
    }
    if (ok) a->all_items = true;
    return ok;
  }
};

}  // namespace pipekit::jsonschema::detail
