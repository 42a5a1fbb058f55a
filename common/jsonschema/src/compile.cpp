// Schema loading and compilation: documents are indexed by URI ($id, $anchor,
// $dynamicAnchor), then the root is compiled into Nodes; $ref targets are
// compiled on demand and memoized by JSON node, so recursion terminates.
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <functional>

#include "applicators.hpp"
#include "metaschemas.hpp"
#include "pipekit/errors.hpp"

namespace pipekit::jsonschema {

using nlohmann::json;
using namespace detail;

namespace {

struct Info {
  std::string base;    // base URI for resolving $ref here
  Draft draft;
  std::string doc;     // retrieval URI of the document
  std::string pointer; // JSON pointer within the document
  Resource* res;
};

std::string strip_empty_fragment(std::string uri) {
  if (!uri.empty() && uri.back() == '#') uri.pop_back();
  return uri;
}

std::optional<Draft> draft_of_uri(std::string uri) {
  uri = strip_empty_fragment(uri);
  if (uri.rfind("http://", 0) == 0) uri = "https://" + uri.substr(7);
  if (uri == "https://json-schema.org/draft/2020-12/schema") return Draft::draft2020_12;
  if (uri == "https://json-schema.org/draft/2019-09/schema") return Draft::draft2019_09;
  if (uri == "https://json-schema.org/draft-07/schema") return Draft::draft7;
  if (uri == "https://json-schema.org/draft-06/schema") return Draft::draft7;  // a subset of draft-07
  return std::nullopt;
}

std::string percent_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

const char* const kSingle[] = {"additionalProperties", "additionalItems", "contains", "propertyNames", "not",
                               "if", "then", "else", "unevaluatedProperties", "unevaluatedItems",
                               "contentSchema"};
const char* const kArrays[] = {"allOf", "anyOf", "oneOf", "prefixItems"};
const char* const kMaps[] = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas",
                             "dependencies"};

}  // namespace

struct Validator::Impl {
  CompileOptions opts;
  std::deque<std::unique_ptr<json>> docs;
  std::deque<Resource> resources;
  std::unordered_map<std::string, const json*> index;  // URI (no fragment, or #anchor) -> schema
  std::unordered_map<std::string, Draft> doc_drafts;
  std::unordered_map<const json*, Info> infos;
  std::unordered_map<const json*, Node*> compiled;
  std::deque<std::unique_ptr<Node>> nodes;
  const Node* root = nullptr;
  std::string root_doc;
  Draft root_draft = Draft::draft2020_12;
  bool dynamic = false;
  mutable dom::parser key_parser;

  std::string where(const Info& i, const std::string& suffix = {}) const {
    std::string ptr = i.pointer + suffix;
    return (i.doc == root_doc ? std::string() : i.doc) + "#" + ptr;
  }

  Draft draft_for(const json& node, Draft inherited, const std::string& doc, const std::string& ptr) {
    auto it = node.find("$schema");
    if (it == node.end()) return inherited;
    if (!it->is_string()) throw UsageError(fmt::format("{}#{}/$schema: must be a string", doc, ptr));
    const std::string& s = it->get_ref<const std::string&>();
    if (auto d = draft_of_uri(s)) return *d;
    // A custom meta-schema: use the draft that meta-schema is written in.
    std::string uri = strip_empty_fragment(s);
    if (!index.count(uri) && opts.loader) {
      if (auto loaded = opts.loader(uri)) add(std::move(*loaded), uri, inherited);
    }
    auto d = doc_drafts.find(uri);
    if (d != doc_drafts.end()) return d->second;
    throw UsageError(fmt::format(
        "{}#{}/$schema: unknown draft \"{}\" (jvalidate supports 2020-12, 2019-09 and draft-07)", doc, ptr, s));
  }

  // A custom meta-schema may leave out the validation vocabulary (then
  // type, minimum, ... are not checked) or add format-assertion.
  void apply_vocabulary(const json& n, Resource* r) {
    auto it = n.find("$schema");
    if (it == n.end() || !it->is_string() || draft_of_uri(*it)) return;
    auto meta = index.find(strip_empty_fragment(*it));
    if (meta == index.end() || !meta->second->is_object()) return;
    auto vocab = meta->second->find("$vocabulary");
    if (vocab == meta->second->end() || !vocab->is_object()) return;
    r->validation_vocab = vocab->contains("https://json-schema.org/draft/2020-12/vocab/validation") ||
                          vocab->contains("https://json-schema.org/draft/2019-09/vocab/validation");
    r->format_assertion = vocab->contains("https://json-schema.org/draft/2020-12/vocab/format-assertion");
  }

  void add(json doc, const std::string& uri, Draft dflt) {
    std::string u = strip_empty_fragment(uri);
    if (index.count(u)) return;
    docs.push_back(std::make_unique<json>(std::move(doc)));
    const json& root_json = *docs.back();
    Draft d = root_json.is_object() ? draft_for(root_json, dflt, u, "") : dflt;
    doc_drafts[u] = d;
    resources.push_back(Resource{u, &root_json});
    index[u] = &root_json;
    if (root_json.is_object()) apply_vocabulary(root_json, &resources.back());
    // Error locations name a document by its $id when it has one.
    std::string name = u;
    if (root_json.is_object()) {
      auto id = root_json.find("$id");
      if (id != root_json.end() && id->is_string() && (d != Draft::draft7 || !root_json.contains("$ref")))
        name = strip_empty_fragment(resolve_uri(u, *id));
    }
    walk(root_json, u, d, name, "", &resources.back());
    // The document's own $id, if any, now names it too.
    if (root_json.is_object()) {
      auto it = root_json.find("$id");
      if (it != root_json.end() && it->is_string()) doc_drafts[strip_empty_fragment(resolve_uri(u, *it))] = d;
    }
  }

  void walk(const json& n, std::string base, Draft draft, const std::string& doc, const std::string& ptr,
            Resource* res) {
    if (!n.is_object()) {
      // booleans are schemas; anything else is recorded so that compiling it
      // can say where the non-schema is
      infos.emplace(&n, Info{base, draft, doc, ptr, res});
      return;
    }
    bool ref_only = draft == Draft::draft7 && n.contains("$ref");  // draft-07: $ref hides its siblings
    auto id = n.find("$id");
    if (id != n.end() && id->is_string() && !ref_only) {
      std::string abs = resolve_uri(base, *id);
      size_t hash = abs.find('#');
      std::string frag = hash == std::string::npos ? "" : abs.substr(hash + 1);
      std::string resource_uri = hash == std::string::npos ? abs : abs.substr(0, hash);
      bool anchor_only = draft == Draft::draft7 && !id->get_ref<const std::string&>().empty() &&
                         id->get_ref<const std::string&>()[0] == '#';
      if (!anchor_only && !resource_uri.empty()) {
        draft = draft_for(n, draft, doc, ptr);
        base = resource_uri;
        if (res->node != &n) {  // an embedded resource (a document root is registered already)
          resources.push_back(Resource{base, &n});
          res = &resources.back();
          apply_vocabulary(n, res);
        }
        if (!index.count(base)) index[base] = &n;
        doc_drafts[base] = draft;
      }
      if (!frag.empty() && draft == Draft::draft7) index[base + "#" + frag] = &n;
    }
    if (!ref_only && draft != Draft::draft7) {
      auto anchor = n.find("$anchor");
      if (anchor != n.end() && anchor->is_string()) index[base + "#" + anchor->get<std::string>()] = &n;
      auto dyn = n.find("$dynamicAnchor");
      if (dyn != n.end() && dyn->is_string() && draft == Draft::draft2020_12) {
        index[base + "#" + dyn->get<std::string>()] = &n;
        res->dynamic_anchors[dyn->get<std::string>()] = &n;
      }
      auto rec = n.find("$recursiveAnchor");
      if (rec != n.end() && rec->is_boolean() && rec->get<bool>() && draft == Draft::draft2019_09 && res->node == &n)
        res->recursive_anchor = true;
    }
    infos.emplace(&n, Info{base, draft, doc, ptr, res});
    for (const char* k : kSingle) {
      auto it = n.find(k);
      if (it != n.end()) walk(*it, base, draft, doc, ptr + "/" + k, res);
    }
    auto items = n.find("items");
    if (items != n.end()) {
      if (items->is_array()) {
        for (size_t i = 0; i < items->size(); ++i)
          walk((*items)[i], base, draft, doc, fmt::format("{}/items/{}", ptr, i), res);
      } else {
        walk(*items, base, draft, doc, ptr + "/items", res);
      }
    }
    for (const char* k : kArrays) {
      auto it = n.find(k);
      if (it != n.end() && it->is_array())
        for (size_t i = 0; i < it->size(); ++i) walk((*it)[i], base, draft, doc, fmt::format("{}/{}/{}", ptr, k, i), res);
    }
    for (const char* k : kMaps) {
      auto it = n.find(k);
      if (it != n.end() && it->is_object())
        for (auto& [name, sub] : it->items())
          walk(sub, base, draft, doc, ptr + "/" + k + "/" + escape_token(name), res);
    }
  }

  // The info of a node reached by a JSON pointer that the walk did not visit
  // (e.g. inside an unknown keyword): inherit from the nearest visited parent.
  const json* follow_pointer(const json* start, const std::string& pointer, const std::string& where_text) {
    const json* cur = start;
    const Info* last = &infos.at(start);
    std::string ptr = last->pointer;
    size_t i = 0;
    while (i < pointer.size()) {
      size_t next = pointer.find('/', i + 1);
      if (next == std::string::npos) next = pointer.size();
      std::string raw = pointer.substr(i + 1, next - i - 1);
      std::string tok;
      for (size_t k = 0; k < raw.size(); ++k) {
        if (raw[k] == '~' && k + 1 < raw.size()) {
          tok += raw[k + 1] == '1' ? '/' : '~';
          ++k;
        } else {
          tok += raw[k];
        }
      }
      i = next;
      if (cur->is_object()) {
        auto it = cur->find(tok);
        if (it == cur->end()) return nullptr;
        cur = &*it;
      } else if (cur->is_array()) {
        char* end = nullptr;
        unsigned long idx = std::strtoul(tok.c_str(), &end, 10);
        if (tok.empty() || *end || idx >= cur->size()) return nullptr;
        cur = &(*cur)[idx];
      } else {
        return nullptr;
      }
      ptr += "/" + escape_token(tok);
      auto known = infos.find(cur);
      if (known != infos.end()) last = &known->second;
      else infos.emplace(cur, Info{last->base, last->draft, last->doc, ptr, last->res});
    }
    (void)where_text;
    return cur;
  }

  const json* lookup(const std::string& abs, Draft from_draft, const std::string& where_text) {
    size_t hash = abs.find('#');
    std::string doc = hash == std::string::npos ? abs : abs.substr(0, hash);
    std::string frag = hash == std::string::npos ? "" : percent_decode(abs.substr(hash + 1));
    auto find = [&]() -> const json* {
      if (frag.empty() || frag[0] == '/') {
        auto it = index.find(doc);
        if (it == index.end()) return nullptr;
        return frag.empty() ? it->second : follow_pointer(it->second, frag, where_text);
      }
      auto it = index.find(doc + "#" + frag);
      return it == index.end() ? nullptr : it->second;
    };
    if (const json* j = find()) return j;
    if (index.count(doc)) return nullptr;
    // A supported draft's meta-schema (or vocabulary) is bundled: offline.
    if (const std::string_view* meta = bundled_metaschema(doc)) {
      add(json::parse(*meta), doc, from_draft);
      return find();
    }
    if (opts.loader) {
      if (auto loaded = opts.loader(doc)) {
        add(std::move(*loaded), doc, from_draft);
        return find();
      }
    }
    return nullptr;
  }

  const Node* resolve_ref(const json& n, const char* key, const Info& info) {
    const json& v = n[key];
    if (!v.is_string()) throw UsageError(fmt::format("{}: must be a string", where(info, std::string("/") + key)));
    std::string abs = resolve_uri(info.base, v.get<std::string>());
    const json* target = lookup(abs, info.draft, where(info));
    if (!target)
      throw UsageError(fmt::format(
          "{}: cannot resolve {} \"{}\" ({}): no such schema, anchor or pointer; jvalidate never fetches URLs: "
          "give the document with --schema or --ref-dir",
          where(info, std::string("/") + key), key, v.get<std::string>(), abs));
    return compile(target);
  }

  [[noreturn]] void bad(const Info& info, const std::string& kw, const std::string& what) {
    throw UsageError(fmt::format("{}: {}", where(info, "/" + kw), what));
  }

  uint64_t non_negative(const json& n, const Info& info, const std::string& kw) {
    const json& v = n[kw];
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
    if (v.is_number_float() && v.get<double>() >= 0 && std::floor(v.get<double>()) == v.get<double>())
      return static_cast<uint64_t>(v.get<double>());
    bad(info, kw, "must be a non-negative integer");
  }

  template <typename K>
  K* add_kw(Node* node, const Info& info, const std::string& kw) {
    auto k = std::make_unique<K>();
    k->keyword = kw;
    k->location = where(info, "/" + kw);
    K* raw = k.get();
    node->kws.push_back(std::move(k));
    return raw;
  }

  const Node* sub(const json& n, const std::string& kw, const Info& info) {
    const json& v = n.at(kw);
    if (!v.is_object() && !v.is_boolean()) bad(info, kw, "must be a schema (an object or a boolean)");
    return compile(&v);
  }

  std::unique_ptr<Regex> regex(const std::string& pattern, const Info& info, const std::string& kw) {
    try {
      return std::make_unique<Regex>(pattern);
    } catch (const std::regex_error& e) {
      bad(info, kw, fmt::format("invalid regular expression {}: {}", json(pattern).dump(), e.what()));
    }
  }

  // Compiles one schema node (memoized, so recursive $refs terminate). The
  // keywords are added in a fixed order, the order they are evaluated in:
  // references, validation keywords, dependencies, object and array
  // applicators, combinators, and unevaluated* last.
  Node* compile(const json* n) {
    auto done = compiled.find(n);
    if (done != compiled.end()) return done->second;
    nodes.push_back(std::make_unique<Node>());
    Node* node = nodes.back().get();
    compiled[n] = node;
    auto info_it = infos.find(n);
    if (info_it == infos.end()) throw UsageError("internal: schema node without location");
    const Info info = info_it->second;
    node->location = where(info);
    node->res = info.res;
    if (n->is_boolean()) {
      node->bool_value = n->get<bool>() ? 1 : 0;
      return node;
    }
    if (!n->is_object()) throw UsageError(fmt::format("{}: a schema must be an object or a boolean", where(info)));
    const json& s = *n;

    if (info.draft == Draft::draft7 && s.contains("$ref")) {
      add_kw<RefKw>(node, info, "$ref")->target = resolve_ref(s, "$ref", info);
      return node;
    }
    compile_refs(node, s, info);
    // Validation-vocabulary keywords, unless a custom meta-schema left it out.
    const bool validation = info.res->validation_vocab;
    compile_type_enum_const(node, s, info, validation);
    compile_numeric(node, s, info, validation);
    compile_string(node, s, info, validation);
    compile_counts(node, s, info, validation);
    compile_dependencies(node, s, info, validation);
    compile_object(node, s, info);
    compile_array(node, s, info);
    compile_combinators(node, s, info);
    compile_unevaluated(node, s, info);
    return node;
  }

  // $ref, $dynamicRef (2020-12) and $recursiveRef (2019-09), beside other keywords.
  void compile_refs(Node* node, const json& s, const Info& info) {
    const Draft d = info.draft;
    auto has = [&](const char* k) { return s.contains(k); };
    if (has("$ref")) add_kw<RefKw>(node, info, "$ref")->target = resolve_ref(s, "$ref", info);
    if (d == Draft::draft2020_12 && has("$dynamicRef")) {
      auto* k = add_kw<DynamicRefKw>(node, info, "$dynamicRef");
      k->target = resolve_ref(s, "$dynamicRef", info);
      std::string ref = s["$dynamicRef"].get<std::string>();
      size_t hash = ref.find('#');
      if (hash != std::string::npos) {
        k->name = ref.substr(hash + 1);
        std::string abs = resolve_uri(info.base, ref);
        const json* t = lookup(abs, d, where(info));
        if (t && t->is_object() && !k->name.empty() && k->name[0] != '/') {
          auto da = t->find("$dynamicAnchor");
          if (da != t->end() && da->is_string() && da->get<std::string>() == k->name) k->dynamic = dynamic = true;
        }
      }
    }
    if (d == Draft::draft2019_09 && has("$recursiveRef")) {
      auto* k = add_kw<DynamicRefKw>(node, info, "$recursiveRef");
      k->target = resolve_ref(s, "$recursiveRef", info);
      k->recursive = true;
      std::string abs = resolve_uri(info.base, s["$recursiveRef"].get<std::string>());
      const json* t = lookup(abs, d, where(info));
      auto ra = t->find("$recursiveAnchor");
      if (t->is_object() && ra != t->end() && ra->is_boolean() && ra->get<bool>()) k->dynamic = dynamic = true;
    }
  }

  void compile_type_enum_const(Node* node, const json& s, const Info& info, bool validation) {
    auto has_v = [&](const char* k) { return validation && s.contains(k); };
    if (has_v("type")) {
      auto* k = add_kw<TypeKw>(node, info, "type");
      if (s["type"].is_array())
        for (const auto& t : s["type"]) add_type(k, t, info);
      else
        add_type(k, s["type"], info);
    }
    if (has_v("enum")) {
      if (!s["enum"].is_array()) bad(info, "enum", "must be an array");
      auto* k = add_kw<EnumKw>(node, info, "enum");
      k->all_strings = true;
      for (const auto& v : s["enum"]) {
        k->values.push_back(v);
        if (v.is_string()) k->strings.insert(v.get<std::string>());
        else k->all_strings = false;
      }
    }
    if (has_v("const")) add_kw<ConstKw>(node, info, "const")->value = s["const"];
  }

  // One name of "type" (a string, or an element of its array) into k's mask.
  void add_type(TypeKw* k, const json& t, const Info& info) {
    if (!t.is_string()) bad(info, "type", "must be a type name or an array of them");
    const std::string& name = t.get_ref<const std::string&>();
    static const std::pair<const char*, unsigned> table[] = {
        {"null", T_NULL},     {"boolean", T_BOOL},  {"object", T_OBJECT},   {"array", T_ARRAY},
        {"number", T_NUMBER}, {"string", T_STRING}, {"integer", T_INTEGER}};
    for (auto& [tn, bit] : table)
      if (name == tn) {
        k->mask |= bit;
        k->names += (k->names.empty() ? "" : " or ") + name;
        return;
      }
    bad(info, "type", fmt::format("unknown type \"{}\"", name));
  }

  long double number(const json& s, const Info& info, const char* kw) {
    const json& v = s[kw];
    if (!v.is_number()) bad(info, kw, "must be a number");
    if (v.is_number_unsigned()) return static_cast<long double>(v.get<uint64_t>());
    if (v.is_number_integer()) return static_cast<long double>(v.get<int64_t>());
    return static_cast<long double>(v.get<double>());
  }

  // minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf.
  void compile_numeric(Node* node, const json& s, const Info& info, bool validation) {
    auto has_v = [&](const char* k) { return validation && s.contains(k); };
    auto limit = [&](const char* kw, LimitKw::Op op) {
      auto* k = add_kw<LimitKw>(node, info, kw);
      k->limit = number(s, info, kw);
      k->op = op;
      k->text = s[kw].dump();
    };
    if (has_v("minimum")) limit("minimum", LimitKw::ge);
    if (has_v("maximum")) limit("maximum", LimitKw::le);
    if (has_v("exclusiveMinimum")) limit("exclusiveMinimum", LimitKw::gt);
    if (has_v("exclusiveMaximum")) limit("exclusiveMaximum", LimitKw::lt);
    if (has_v("multipleOf")) {
      auto* k = add_kw<MultipleOfKw>(node, info, "multipleOf");
      k->divisor = number(s, info, "multipleOf");
      if (k->divisor <= 0) bad(info, "multipleOf", "must be greater than 0");
      k->text = s["multipleOf"].dump();
      if (s["multipleOf"].is_number_integer()) {
        k->int_divisor = true;
        k->idiv = s["multipleOf"].get<int64_t>();
      }
    }
  }

  // minLength, maxLength, pattern; format (asserted only when asked for, or
  // by a meta-schema's format-assertion vocabulary).
  void compile_string(Node* node, const json& s, const Info& info, bool validation) {
    auto has_v = [&](const char* k) { return validation && s.contains(k); };
    for (const char* kw : {"minLength", "maxLength"})
      if (has_v(kw)) {
        auto* k = add_kw<LengthKw>(node, info, kw);
        k->limit = non_negative(s, info, kw);
        k->is_max = kw[1] == 'a';
      }
    if (has_v("pattern")) {
      if (!s["pattern"].is_string()) bad(info, "pattern", "must be a string");
      add_kw<PatternKw>(node, info, "pattern")->re = regex(s["pattern"].get<std::string>(), info, "pattern");
    }
    if (s.contains("format") && (opts.assert_formats || info.res->format_assertion) && s["format"].is_string() &&
        known_format(s["format"].get_ref<const std::string&>()))
    {
      auto* k = add_kw<FormatKw>(node, info, "format");
      k->format = s["format"].get<std::string>();
      k->fn = format_checker(k->format);
    }
  }

  // minItems, maxItems, minProperties, maxProperties, uniqueItems, required.
  void compile_counts(Node* node, const json& s, const Info& info, bool validation) {
    auto has_v = [&](const char* k) { return validation && s.contains(k); };
    for (const char* kw : {"minItems", "maxItems", "minProperties", "maxProperties"})
      if (has_v(kw)) {
        auto* k = add_kw<CountKw>(node, info, kw);
        k->limit = non_negative(s, info, kw);
        k->is_max = kw[1] == 'a';
        k->objects = std::string_view(kw).find("Properties") != std::string_view::npos;
      }
    if (has_v("uniqueItems")) {
      if (!s["uniqueItems"].is_boolean()) bad(info, "uniqueItems", "must be a boolean");
      if (s["uniqueItems"].get<bool>()) add_kw<UniqueItemsKw>(node, info, "uniqueItems");
    }
    if (has_v("required")) {
      if (!s["required"].is_array()) bad(info, "required", "must be an array of strings");
      auto* k = add_kw<RequiredKw>(node, info, "required");
      for (const auto& v : s["required"]) {
        if (!v.is_string()) bad(info, "required", "must be an array of strings");
        k->names.push_back(v.get<std::string>());
      }
    }
  }

  // A dependentRequired (or dependencies) entry: an array of property names.
  std::vector<std::string> string_list(const json& v, const Info& info, const std::string& kw) {
    std::vector<std::string> out;
    if (!v.is_array()) bad(info, kw, "must hold arrays of property names");
    for (const auto& x : v) {
      if (!x.is_string()) bad(info, kw, "must hold arrays of property names");
      out.push_back(x.get<std::string>());
    }
    return out;
  }

  // dependentRequired, dependentSchemas (2019+) and draft-07's dependencies.
  void compile_dependencies(Node* node, const json& s, const Info& info, bool validation) {
    const Draft d = info.draft;
    auto has = [&](const char* k) { return s.contains(k); };
    auto has_v = [&](const char* k) { return validation && s.contains(k); };
    if (d != Draft::draft7 && has_v("dependentRequired")) {
      if (!s["dependentRequired"].is_object()) bad(info, "dependentRequired", "must be an object");
      auto* k = add_kw<DependentRequiredKw>(node, info, "dependentRequired");
      for (auto& [name, v] : s["dependentRequired"].items())
        k->deps.emplace_back(name, string_list(v, info, "dependentRequired"));
    }
    if (d != Draft::draft7 && has("dependentSchemas")) {
      if (!s["dependentSchemas"].is_object()) bad(info, "dependentSchemas", "must be an object");
      auto* k = add_kw<DependentSchemasKw>(node, info, "dependentSchemas");
      for (auto& [name, v] : s["dependentSchemas"].items()) k->deps.emplace_back(name, compile(&v));
    }
    if (has("dependencies") && (d == Draft::draft7 || !has("dependentRequired"))) {  // 2019+: kept for compatibility
      if (!s["dependencies"].is_object()) bad(info, "dependencies", "must be an object");
      DependentRequiredKw* req = nullptr;
      DependentSchemasKw* schemas = nullptr;
      for (auto& [name, v] : s["dependencies"].items()) {
        if (v.is_array()) {
          if (!req) req = add_kw<DependentRequiredKw>(node, info, "dependencies");
          req->deps.emplace_back(name, string_list(v, info, "dependencies"));
        } else {
          if (!schemas) schemas = add_kw<DependentSchemasKw>(node, info, "dependencies");
          schemas->deps.emplace_back(name, compile(&v));
        }
      }
    }
  }

  // properties, patternProperties, additionalProperties (one ObjectKw), propertyNames.
  void compile_object(Node* node, const json& s, const Info& info) {
    auto has = [&](const char* k) { return s.contains(k); };
    if (has("properties") || has("patternProperties") || has("additionalProperties")) {
      auto* k = add_kw<ObjectKw>(node, info, has("properties") ? "properties" : has("patternProperties") ? "patternProperties" : "additionalProperties");
      if (has("properties")) {
        if (!s["properties"].is_object()) bad(info, "properties", "must be an object");
        k->has_props = true;
        for (auto& [name, v] : s["properties"].items()) k->props.emplace_back(name, compile(&v));
        k->prop_index.build(k->props);
      }
      if (has("patternProperties")) {
        if (!s["patternProperties"].is_object()) bad(info, "patternProperties", "must be an object");
        for (auto& [pattern, v] : s["patternProperties"].items())
          k->patterns.emplace_back(regex(pattern, info, "patternProperties"), compile(&v));
        match_listed_properties(k);
      }
      if (has("additionalProperties")) {
        k->additional = sub(s, "additionalProperties", info);
        k->additional_location = where(info, "/additionalProperties");
      }
    }
    if (has("propertyNames")) add_kw<PropertyNamesKw>(node, info, "propertyNames")->node = sub(s, "propertyNames", info);
  }

  // A listed property's name is known now: match it once, here. (Not for a
  // pattern that needs backtracking: its matches are bounded at run time,
  // where a record can be rejected.)
  static void match_listed_properties(ObjectKw* k) {
    bool linear = k->patterns.size() <= 64;
    for (const auto& p : k->patterns) linear = linear && p.first->linear_time();
    if (linear && !k->props.empty()) {
      std::wstring buf;
      k->prop_patterns.assign(k->props.size(), 0);
      for (size_t i = 0; i < k->props.size(); ++i)
        for (size_t j = 0; j < k->patterns.size(); ++j)
          if (k->patterns[j].first->search(k->props[i].first, buf)) k->prop_patterns[i] |= uint64_t{1} << j;
    }
  }

  // Arrays: prefixItems/items (2020-12) or items/additionalItems (older); contains.
  void compile_array(Node* node, const json& s, const Info& info) {
    const Draft d = info.draft;
    auto has = [&](const char* k) { return s.contains(k); };
    if (d == Draft::draft2020_12) {
      size_t prefix = 0;
      if (has("prefixItems")) {
        if (!s["prefixItems"].is_array()) bad(info, "prefixItems", "must be an array of schemas");
        auto* k = add_kw<PrefixItemsKw>(node, info, "prefixItems");
        for (const auto& v : s["prefixItems"]) k->nodes.push_back(compile(&v));
        prefix = k->nodes.size();
      }
      if (has("items")) {
        if (s["items"].is_array()) bad(info, "items", "must be a schema in draft 2020-12 (use prefixItems for tuples)");
        auto* k = add_kw<ItemsKw>(node, info, "items");
        k->node = sub(s, "items", info);
        k->start = prefix;
      }
    } else if (has("items")) {
      if (s["items"].is_array()) {
        auto* k = add_kw<PrefixItemsKw>(node, info, "items");
        for (const auto& v : s["items"]) k->nodes.push_back(compile(&v));
        if (has("additionalItems")) {
          auto* a = add_kw<ItemsKw>(node, info, "additionalItems");
          a->node = sub(s, "additionalItems", info);
          a->start = k->nodes.size();
        }
      } else {
        add_kw<ItemsKw>(node, info, "items")->node = sub(s, "items", info);
      }
    }
    if (has("contains")) {
      auto* k = add_kw<ContainsKw>(node, info, "contains");
      k->node = sub(s, "contains", info);
      if (d != Draft::draft7) {
        if (has("minContains")) k->min = non_negative(s, info, "minContains");
        if (has("maxContains")) k->max = non_negative(s, info, "maxContains");
      }
    }
  }

  // allOf, anyOf, oneOf, not, if/then/else.
  void compile_combinators(Node* node, const json& s, const Info& info) {
    auto has = [&](const char* k) { return s.contains(k); };
    auto list = [&](const char* kw) {
      if (!s[kw].is_array() || s[kw].empty()) bad(info, kw, "must be a non-empty array of schemas");
      std::vector<const Node*> out;
      for (const auto& v : s[kw]) out.push_back(compile(&v));
      return out;
    };
    if (has("allOf")) add_kw<AllOfKw>(node, info, "allOf")->nodes = list("allOf");
    if (has("anyOf")) add_kw<AnyOfKw>(node, info, "anyOf")->nodes = list("anyOf");
    if (has("oneOf")) add_kw<OneOfKw>(node, info, "oneOf")->nodes = list("oneOf");
    if (has("not")) add_kw<NotKw>(node, info, "not")->node = sub(s, "not", info);
    if (has("if")) {  // even alone: its annotations count for unevaluated*
      auto* k = add_kw<IfKw>(node, info, "if");
      k->if_node = sub(s, "if", info);
      if (has("then")) k->then_node = sub(s, "then", info);
      if (has("else")) k->else_node = sub(s, "else", info);
    }
  }

  // unevaluated* last: they see what every other keyword evaluated.
  void compile_unevaluated(Node* node, const json& s, const Info& info) {
    if (info.draft == Draft::draft7) return;
    if (s.contains("unevaluatedItems")) {
      add_kw<UnevaluatedItemsKw>(node, info, "unevaluatedItems")->node = sub(s, "unevaluatedItems", info);
      node->has_uneval = true;
    }
    if (s.contains("unevaluatedProperties")) {
      add_kw<UnevaluatedPropertiesKw>(node, info, "unevaluatedProperties")->node =
          sub(s, "unevaluatedProperties", info);
      node->has_uneval = true;
    }
  }

  // Subschemas applied to the same instance location ($ref, allOf, ...).
  static void inplace_children(const Kw* k, std::vector<const Node*>& out) {
    if (auto* r = dynamic_cast<const RefKw*>(k)) out.push_back(r->target);
    else if (auto* a = dynamic_cast<const AllOfKw*>(k)) out.insert(out.end(), a->nodes.begin(), a->nodes.end());
    else if (auto* b = dynamic_cast<const AnyOfKw*>(k)) out.insert(out.end(), b->nodes.begin(), b->nodes.end());
    else if (auto* o = dynamic_cast<const OneOfKw*>(k)) out.insert(out.end(), o->nodes.begin(), o->nodes.end());
    else if (auto* n = dynamic_cast<const NotKw*>(k)) out.push_back(n->node);
    else if (auto* i = dynamic_cast<const IfKw*>(k)) {
      for (const Node* x : {i->if_node, i->then_node, i->else_node})
        if (x) out.push_back(x);
    } else if (auto* d = dynamic_cast<const DependentSchemasKw*>(k)) {
      for (const auto& [name, x] : d->deps) out.push_back(x);
    }
  }

  // A cycle of in-place applicators ({"$ref": "#"}, or a -> b -> a) would
  // recurse forever without moving into the record: refuse it at compile time.
  void check_cycles() {
    std::unordered_map<const Node*, int> state;  // 1: on the path, 2: done
    std::vector<const Node*> path;
    std::function<void(const Node*)> visit = [&](const Node* n) {
      int& st = state[n];
      if (st == 2) return;
      if (st == 1) {
        std::string chain;
        auto from = std::find(path.begin(), path.end(), n);
        for (auto it = from; it != path.end(); ++it) chain += (*it)->location + " -> ";
        chain += n->location;
        throw UsageError(fmt::format("{}: infinite $ref cycle that never moves into the record: {}", n->location, chain));
      }
      st = 1;
      path.push_back(n);
      std::vector<const Node*> kids;
      for (const auto& k : n->kws) inplace_children(k.get(), kids);
      for (const Node* c : kids) visit(c);
      path.pop_back();
      state[n] = 2;
    };
    for (const auto& n : nodes) visit(n.get());
  }

  // Compiles every dynamic anchor of every known resource, so $dynamicRef can
  // jump to any of them at run time.
  void compile_dynamic_anchors() {
    size_t done = 0;
    while (done != resources.size()) {
      done = resources.size();
      for (auto& r : resources) {
        for (auto& [name, j] : r.dynamic_anchors)
          if (!r.dyn_nodes.count(name)) r.dyn_nodes[name] = compile(j);
        if (r.recursive_anchor && !r.recursive_node) r.recursive_node = compile(r.node);
      }
    }
  }
};

void detail::prepare_fast_path(Node& node) {
  node.fast_kws.clear();
  node.type_mask = ~0u;
  node.ref_only = nullptr;
  node.fast_eligible = node.type_only = false;
  if (node.bool_value >= 0) return;
  node.fast_eligible = !node.has_uneval;
  RequiredKw* required = nullptr;
  ObjectKw* object = nullptr;
  for (const auto& k : node.kws) {
    if (auto* r = dynamic_cast<RequiredKw*>(k.get())) required = r;
    if (auto* o = dynamic_cast<ObjectKw*>(k.get())) object = o;
  }
  // `required` folds into the properties pass when every name it lists is a
  // listed property (the common case): one walk over the object for both.
  bool fold = required && object && object->props.size() <= 64;
  uint64_t mask = 0;
  for (size_t n = 0; fold && n < required->names.size(); ++n) {
    size_t i = object->find(required->names[n]);
    if (i == ObjectKw::npos) fold = false;
    else mask |= uint64_t{1} << i;
  }
  if (object) object->required_mask = fold ? mask : 0;
  for (const auto& k : node.kws) {
    if (auto* t = dynamic_cast<const TypeKw*>(k.get())) {
      node.type_mask = t->mask;
      continue;
    }
    if (fold && k.get() == required) continue;
    node.fast_kws.push_back(k.get());
  }
  if (node.kws.size() == 1 && node.fast_kws.size() == 1)
    if (auto* r = dynamic_cast<const RefKw*>(node.fast_kws.front())) node.ref_only = r->target;
  node.type_only = node.fast_eligible && node.fast_kws.empty();
}

Validator::Validator(CompileOptions opts) : impl_(std::make_unique<Impl>()) { impl_->opts = std::move(opts); }
Validator::~Validator() = default;

void Validator::add_document(json doc, const std::string& uri) {
  impl_->add(std::move(doc), uri, impl_->opts.default_draft);
}

void Validator::compile(const std::string& uri) {
  auto& im = *impl_;
  std::string u = strip_empty_fragment(uri);
  const json* target = im.lookup(u, im.opts.default_draft, u);
  if (!target) throw UsageError(fmt::format("no schema at {}", uri));
  im.root_doc = im.infos.at(target).doc;
  im.root_draft = im.infos.at(target).draft;
  im.root = im.compile(target);
  if (im.dynamic) im.compile_dynamic_anchors();
  im.check_cycles();
  for (auto& n : im.nodes) prepare_fast_path(*n);
}

bool Validator::valid(simdjson::dom::element instance) const {
  Ctx c;
  c.dynamic = impl_->dynamic;
  c.key_parser = &impl_->key_parser;
  return impl_->root->check(instance, c, nullptr);
}

bool Validator::validate(simdjson::dom::element instance, std::vector<Error>& errors) const {
  Ctx c;
  c.errors = &errors;
  c.dynamic = impl_->dynamic;
  c.key_parser = &impl_->key_parser;
  return impl_->root->check(instance, c, nullptr);
}

Draft Validator::draft() const { return impl_->root_draft; }

}  // namespace pipekit::jsonschema
