// The schema compiler and validator beyond the official suite: error
// locations and messages, compile errors, URI resolution, format checks.
#include <gtest/gtest.h>

#include <chrono>
#include <simdjson.h>

#include <nlohmann/json.hpp>

#include "pipekit/errors.hpp"
#include "pipekit/jsonschema.hpp"

using namespace pipekit::jsonschema;
using nlohmann::json;

namespace {

struct Checked {
  bool valid;
  std::vector<Error> errors;
};

std::unique_ptr<Validator> compile(const std::string& schema, CompileOptions opts = {}) {
  auto v = std::make_unique<Validator>(opts);
  v->add_document(json::parse(schema), "file:///schemas/root.json");
  v->compile("file:///schemas/root.json");
  return v;
}

Checked check(const Validator& v, const std::string& instance) {
  simdjson::dom::parser p;
  simdjson::padded_string text(instance);
  auto doc = p.parse(text).value();
  Checked c;
  c.valid = v.validate(doc, c.errors);
  EXPECT_EQ(c.valid, v.valid(doc)) << "fast and full modes disagree on " << instance;
  return c;
}

std::string compile_error(const std::string& schema) {
  try {
    compile(schema);
  } catch (const pipekit::UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(JsonSchema, ErrorsCarryInstanceAndKeywordLocations) {
  auto v = compile(R"({"type":"object","properties":{"a/b":{"type":"array","items":{"minimum":3}},
                        "c~d":{"$ref":"#/$defs/s"}},"$defs":{"s":{"type":"string"}}})");
  auto r = check(*v, R"({"a/b":[5,1,2],"c~d":7})");
  ASSERT_FALSE(r.valid);
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].instance_location, "/a~1b/1");
  EXPECT_EQ(r.errors[0].keyword_location, "#/properties/a~1b/items/minimum");
  EXPECT_EQ(r.errors[0].keyword, "minimum");
  EXPECT_EQ(r.errors[0].message, "must be >= 3");
  EXPECT_EQ(r.errors[1].instance_location, "/a~1b/2");
  EXPECT_EQ(r.errors[2].instance_location, "/c~0d");
  EXPECT_EQ(r.errors[2].keyword_location, "#/$defs/s/type");
  EXPECT_EQ(r.errors[2].message, "expected string, got integer");
  EXPECT_TRUE(check(*v, R"({"a/b":[3,4],"c~d":"x"})").valid);
}

TEST(JsonSchema, AnyOfReportsItselfAndItsBranches) {
  auto v = compile(R"({"anyOf":[{"type":"string"},{"type":"integer","minimum":10}]})");
  auto r = check(*v, "5");
  ASSERT_FALSE(r.valid);
  EXPECT_EQ(r.errors[0].keyword, "anyOf");
  EXPECT_EQ(r.errors.size(), 3u);
  EXPECT_TRUE(check(*v, "12").valid);
  EXPECT_TRUE(check(*v, R"("s")").valid);
}

TEST(JsonSchema, UnevaluatedPropertiesSeesThroughAllOfAndRef) {
  auto v = compile(R"({"allOf":[{"$ref":"#/$defs/base"}],"properties":{"b":true},
                        "unevaluatedProperties":false,"$defs":{"base":{"properties":{"a":true}}}})");
  EXPECT_TRUE(check(*v, R"({"a":1,"b":2})").valid);
  auto r = check(*v, R"({"a":1,"c":2})");
  ASSERT_FALSE(r.valid);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].instance_location, "/c");
  EXPECT_EQ(r.errors[0].message, "unevaluated property is not allowed");
}

TEST(JsonSchema, DynamicRefExtendsARecursiveSchema) {
  auto v = std::make_unique<Validator>();
  v->add_document(json::parse(R"({"$id":"https://x.test/tree","$dynamicAnchor":"node","type":"object",
      "properties":{"kids":{"type":"array","items":{"$dynamicRef":"#node"}}}})"), "https://x.test/tree");
  v->add_document(json::parse(R"({"$id":"https://x.test/strict","$dynamicAnchor":"node","$ref":"tree",
      "unevaluatedProperties":false})"), "https://x.test/strict");
  v->compile("https://x.test/strict");
  EXPECT_TRUE(check(*v, R"({"kids":[{"kids":[]}]})").valid);
  // the nested node is checked by the strict (extended) schema too
  auto r = check(*v, R"({"kids":[{"kids":[],"extra":1}]})");
  ASSERT_FALSE(r.valid);
  EXPECT_EQ(r.errors.back().instance_location, "/kids/0/extra");
}

TEST(JsonSchema, RecursiveRefIn2019_09) {
  auto v = std::make_unique<Validator>();
  v->add_document(json::parse(R"({"$schema":"https://json-schema.org/draft/2019-09/schema","$id":"https://x.test/t",
      "$recursiveAnchor":true,"type":"object",
      "properties":{"kids":{"type":"array","items":{"$recursiveRef":"#"}}}})"), "https://x.test/t");
  v->add_document(json::parse(R"({"$schema":"https://json-schema.org/draft/2019-09/schema","$id":"https://x.test/s",
      "$recursiveAnchor":true,"$ref":"t","properties":{"name":{"type":"string"}}})"), "https://x.test/s");
  v->compile("https://x.test/s");
  EXPECT_EQ(v->draft(), Draft::draft2019_09);
  EXPECT_TRUE(check(*v, R"({"name":"a","kids":[{"name":"b","kids":[]}]})").valid);
  auto r = check(*v, R"({"name":"a","kids":[{"name":5}]})");
  ASSERT_FALSE(r.valid);
  EXPECT_EQ(r.errors.back().instance_location, "/kids/0/name");
  // items as an array and additionalItems, as in 2019-09
  auto t = compile(R"({"$schema":"https://json-schema.org/draft/2019-09/schema",
                       "items":[{"type":"integer"}],"additionalItems":false})");
  EXPECT_TRUE(check(*t, "[1]").valid);
  EXPECT_FALSE(check(*t, "[1,2]").valid);
}

TEST(JsonSchema, CompileErrorsPointToTheProblem) {
  EXPECT_EQ(compile_error("{}"), "");
  EXPECT_NE(compile_error(R"({"properties":{"x":{"pattern":"(a"}}})").find("#/properties/x/pattern: invalid regular"),
            std::string::npos);
  EXPECT_NE(compile_error(R"({"$ref":"other.json"})").find("cannot resolve $ref \"other.json\" (file:///schemas/other.json)"),
            std::string::npos);
  EXPECT_NE(compile_error(R"({"$schema":"http://json-schema.org/draft-04/schema#"})").find("unknown draft"),
            std::string::npos);
  EXPECT_NE(compile_error(R"({"minLength":-1})").find("#/minLength: must be a non-negative integer"), std::string::npos);
  EXPECT_NE(compile_error(R"({"type":"strin"})").find("unknown type \"strin\""), std::string::npos);
  EXPECT_NE(compile_error(R"({"$ref":"#"})").find("infinite $ref cycle"), std::string::npos);
  EXPECT_NE(compile_error(R"({"items":[{}]})").find("use prefixItems"), std::string::npos);
  EXPECT_NE(compile_error(R"({"properties":{"a":5}})").find("#/properties/a: a schema must be an object or a boolean"),
            std::string::npos);
  // recursion through a property is fine: it moves into the record
  EXPECT_EQ(compile_error(R"({"properties":{"next":{"$ref":"#"}}})"), "");
}

TEST(JsonSchema, PatternsAreUnicodeAware) {
  auto v = compile(R"({"pattern":"^.$"})");
  EXPECT_TRUE(check(*v, R"("é")").valid);
  EXPECT_TRUE(check(*v, R"("🐲")").valid);
  EXPECT_FALSE(check(*v, R"("ab")").valid);
  auto l = compile(R"({"pattern":"^\\p{L}+$"})");
  EXPECT_TRUE(check(*l, R"("élève")").valid);
  EXPECT_FALSE(check(*l, R"("abc1")").valid);
  auto g = compile(R"({"pattern":"^(?<q>['\"])\\w+\\k<q>$"})");
  EXPECT_TRUE(check(*g, R"("'abc'")").valid);
  EXPECT_FALSE(check(*g, R"("'abc\"")").valid);
  auto w = compile(R"({"pattern":"^\\w+$"})");
  EXPECT_FALSE(check(*w, R"("é")").valid);  // ECMA-262: \w is ASCII
}

// ^(a+)+$ backtracks exponentially on std::regex: 40 a's and a '!' stalled
// jvalidate for minutes (issue #14). On RE2 it is linear in the input.
TEST(JsonSchema, PatternsMatchInLinearTime) {
  auto v = compile(R"({"pattern":"^(a+)+$", "propertyNames":{"pattern":"^(\\w+\\s?)*$"}})");
  EXPECT_FALSE(check(*v, "\"" + std::string(100000, 'a') + "!\"").valid);
  EXPECT_TRUE(check(*v, R"("aaaa")").valid);
  EXPECT_FALSE(check(*v, "{\"" + std::string(100000, 'w') + "!\": 1}").valid);
  // ECMA-262 semantics kept on RE2: '.' is one code point, not a line
  // terminator; \s is Unicode whitespace; \uXXXX and \cX escapes.
  auto dot = compile(R"({"pattern":"^a.b$"})");
  EXPECT_TRUE(check(*dot, R"("a🐲b")").valid);
  EXPECT_FALSE(check(*dot, R"("a\nb")").valid);
  EXPECT_FALSE(check(*dot, R"("a\u2028b")").valid);
  EXPECT_TRUE(check(*compile(R"({"pattern":"^\\s$"})"), R"("\u3000")").valid);
  EXPECT_TRUE(check(*compile(R"({"pattern":"^\\u00e9\\cJ$"})"), R"("\u00e9\n")").valid);
  EXPECT_TRUE(check(*compile(R"({"pattern":"^(?<y>\\d{4})$"})"), R"("2024")").valid);
}

TEST(JsonSchema, FormatsAreAnnotationsUnlessAsserted) {
  const char* s = R"({"format":"email"})";
  EXPECT_TRUE(check(*compile(s), R"("nope")").valid);
  CompileOptions o;
  o.assert_formats = true;
  EXPECT_FALSE(check(*compile(s, o), R"("nope")").valid);
  EXPECT_TRUE(check(*compile(s, o), R"("a@b.example")").valid);
}

TEST(JsonSchema, Draft7RefHidesSiblings) {
  auto v = compile(R"({"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"i":{"type":"integer"}},
                        "properties":{"x":{"$ref":"#/definitions/i","maximum":0}}})");
  EXPECT_TRUE(check(*v, R"({"x":5})").valid);
  EXPECT_FALSE(check(*v, R"({"x":"5"})").valid);
  EXPECT_EQ(v->draft(), Draft::draft7);
}

// Issue #14: a $ref to a supported draft's meta-schema works offline (no
// loader at all), so a schema can validate schemas.
TEST(JsonSchema, MetaSchemasAreBundled) {
  for (const char* meta : {"http://json-schema.org/draft-07/schema#", "https://json-schema.org/draft/2019-09/schema",
                           "https://json-schema.org/draft/2020-12/schema"}) {
    SCOPED_TRACE(meta);
    auto v = compile(json{{"$ref", meta}}.dump());
    EXPECT_TRUE(check(*v, R"({"type":"object","properties":{"a":{"minLength":1}}})").valid);
    EXPECT_FALSE(check(*v, R"({"type":"nope"})").valid);
    EXPECT_FALSE(check(*v, R"({"minLength":-1})").valid);
    EXPECT_FALSE(check(*v, R"({"properties":{"a":{"required":"a"}}})").valid);
  }
  // A vocabulary on its own, and $dynamicRef reaching back into the 2020-12 meta-schema.
  auto v = compile(R"({"$ref":"https://json-schema.org/draft/2020-12/meta/validation"})");
  EXPECT_FALSE(check(*v, R"({"maxLength":"3"})").valid);
  auto unknown = compile_error(R"({"$ref":"https://json-schema.org/draft/2020-12/meta/nosuch"})");
  EXPECT_NE(unknown.find("cannot resolve"), std::string::npos) << unknown;
}

TEST(Formats, Values) {
  struct Case {
    const char* format;
    const char* value;
    bool ok;
  } cases[] = {
      {"email", "jesus.vidal.0@example.com", true}, {"email", "a..b@example.com", false},
      {"email", "@example.com", false},             {"email", "\"j d\"@example.com", true},
      {"email", "x@[127.0.0.1]", true},             {"idn-email", "실례@실례.테스트", true},
      {"date-time", "1989-10-10T07:15:32.284Z", true}, {"date-time", "1989-10-10 07:15:32Z", false},
      {"date-time", "2021-02-29T00:00:00Z", false}, {"date-time", "2020-02-29T00:00:00+01:00", true},
      {"date-time", "1998-12-31T23:59:60Z", true},  {"date-time", "1998-12-31T22:59:60Z", false},
      {"date", "2024-02-29", true},                 {"date", "2024-2-29", false},
      {"time", "08:30:06Z", true},                  {"time", "08:30:06", false},
      {"duration", "P1Y2M3DT4H5M6S", true},          {"duration", "PT", false},
      {"duration", "P2W", true},                    {"duration", "P1Y2D", false},
      {"uuid", "260b358b-0ea4-40f4-b6a0-5e6b369fa46a", true}, {"uuid", "260b358b0ea440f4b6a05e6b369fa46a", false},
      {"uri", "https://randomuser.me/api/portraits/women/14.jpg", true}, {"uri", "//host/path", false},
      {"uri", "http://exa mple.com", false},        {"uri-reference", "../a?b#c", true},
      {"uri-reference", "\\\\WINDOWS\\share", false}, {"ipv4", "192.168.0.1", true},
      {"ipv4", "192.168.00.1", false},              {"ipv6", "::1", true},
      {"ipv6", "1:2:3:4:5:6:7:8:9", false},         {"ipv6", "::ffff:192.168.0.1", true},
      {"hostname", "randomuser.me", true},          {"hostname", "-bad.example", false},
      {"regex", "^[a-z]+$", true},                  {"regex", "^(abc", false},
      {"unknown-format", "anything", true},
  };
  for (const auto& c : cases) EXPECT_EQ(check_format(c.format, c.value), c.ok) << c.format << " " << c.value;
}

TEST(Uri, ResolvesReferencesAsRfc3986Says) {
  const std::string base = "http://a/b/c/d;p?q";
  std::pair<const char*, const char*> cases[] = {
      {"g", "http://a/b/c/g"},         {"./g", "http://a/b/c/g"},     {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},            {"//g", "http://g"},           {"?y", "http://a/b/c/d;p?y"},
      {"#s", "http://a/b/c/d;p?q#s"},  {"../g", "http://a/b/g"},      {"../../g", "http://a/g"},
      {"../../../g", "http://a/g"},    {"", "http://a/b/c/d;p?q"},    {"g;x?y#s", "http://a/b/c/g;x?y#s"},
  };
  for (const auto& [ref, want] : cases) EXPECT_EQ(resolve_uri(base, ref), want) << ref;
  EXPECT_EQ(resolve_uri("urn:uuid:deadbeef-1234", "#foo"), "urn:uuid:deadbeef-1234#foo");
  EXPECT_EQ(resolve_uri("file:///schemas/a.json", "b/c.json"), "file:///schemas/b/c.json");
}

// Issue #14: a pattern that needs backtracking (a backreference: std::regex,
// not RE2) and explodes on its input is abandoned after a step budget with
// MatchAborted, in both evaluation modes, instead of running for minutes.
TEST(JsonSchema, BacktrackingPatternsHaveAStepBudget) {
  auto v = compile(R"({"type":"string","pattern":"^(a|a)*\\1b$"})");
  std::string instance = "\"" + std::string(40, 'a') + "\"";
  simdjson::dom::parser p;
  simdjson::padded_string text(instance);
  auto doc = p.parse(text).value();
  auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(v->valid(doc), MatchAborted);
  std::vector<Error> errors;
  EXPECT_THROW(v->validate(doc, errors), MatchAborted);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(60));
  // the same pattern on an input it can settle quickly is an ordinary match
  EXPECT_TRUE(check(*v, "\"aab\"").valid);
}

// valid() runs a prepared fast path (type masks, `required` folded into the
// properties pass, a hash table of property names, $ref-only schemas
// skipped, type-only leaves inlined); check() asserts it agrees with the
// error-collecting mode on every instance below.
TEST(FastPath, RequiredFoldedIntoPropertiesGivesTheSameVerdicts) {
  auto v = compile(R"({"type":"object","required":["a","b"],
                        "properties":{"a":{"type":"string"},"b":{"type":"integer"},"c":{}}})");
  EXPECT_TRUE(check(*v, R"({"a":"x","b":1})").valid);
  EXPECT_TRUE(check(*v, R"({"b":1,"c":null,"a":"x"})").valid);  // any order
  auto r = check(*v, R"({"a":"x","c":1})");
  ASSERT_FALSE(r.valid);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].keyword, "required");
  EXPECT_EQ(r.errors[0].message, "missing required property \"b\"");
  EXPECT_FALSE(check(*v, R"({})").valid);
  EXPECT_FALSE(check(*v, R"({"a":"x","a":"y"})").valid);  // a duplicate key is one property
  EXPECT_TRUE(check(*v, R"([1,2])").valid == false);      // type still applies
  // a required name with no schema under properties: not folded, still checked
  auto w = compile(R"({"required":["a","z"],"properties":{"a":{"type":"string"}}})");
  EXPECT_TRUE(check(*w, R"({"a":"x","z":0})").valid);
  EXPECT_FALSE(check(*w, R"({"a":"x"})").valid);
  EXPECT_TRUE(check(*w, R"("not an object")").valid);
}

TEST(FastPath, ManyPropertiesAreFoundByName) {
  // 40 names that share length and first and last bytes in groups, plus the
  // empty name and names with escapes: every one must be found, and only those.
  json props = json::object(), req = json::array();
  for (int i = 0; i < 40; ++i) {
    std::string name = "f" + std::string(1, static_cast<char>('a' + i % 20)) + (i < 20 ? "x" : "yx");
    props[name] = {{"type", "integer"}, {"minimum", i}};
    req.push_back(name);
  }
  props[""] = {{"const", "empty"}};
  props["a/b~c"] = {{"type", "boolean"}};
  json schema = {{"properties", props}, {"required", req}};
  auto v = compile(schema.dump());
  json good = json::object();
  for (int i = 0; i < 40; ++i) good[req[i].get<std::string>()] = i;
  good[""] = "empty";
  good["a/b~c"] = true;
  good["unknown"] = "anything";
  EXPECT_TRUE(check(*v, good.dump()).valid);
  for (int i = 0; i < 40; ++i) {
    json bad = good;
    bad[req[i].get<std::string>()] = i - 1;  // below its own minimum: the right schema was applied
    auto r = check(*v, bad.dump());
    ASSERT_FALSE(r.valid) << req[i];
    EXPECT_EQ(r.errors[0].keyword, "minimum") << req[i];
    json missing = good;
    missing.erase(req[i].get<std::string>());
    EXPECT_FALSE(check(*v, missing.dump()).valid) << req[i];
  }
  json bad = good;
  bad[""] = "full";
  EXPECT_FALSE(check(*v, bad.dump()).valid);
  bad = good;
  bad["a/b~c"] = 1;
  auto r = check(*v, bad.dump());
  ASSERT_FALSE(r.valid);
  EXPECT_EQ(r.errors[0].instance_location, "/a~1b~0c");
}

TEST(FastPath, RefOnlyAndTypeOnlySchemas) {
  auto v = compile(R"({"properties":{"n":{"$ref":"#/$defs/n"},"t":{"type":["string","null"]},
                        "i":{"type":"integer"},"f":false,"any":true},
                        "$defs":{"n":{"$ref":"#/$defs/m"},"m":{"type":"number","maximum":10}}})");
  EXPECT_TRUE(check(*v, R"({"n":3.5,"t":null,"i":2.0,"any":[1]})").valid);  // 2.0 is an integer
  EXPECT_FALSE(check(*v, R"({"n":11})").valid);
  EXPECT_FALSE(check(*v, R"({"n":"3"})").valid);
  EXPECT_FALSE(check(*v, R"({"t":1})").valid);
  EXPECT_FALSE(check(*v, R"({"i":2.5})").valid);
  auto r = check(*v, R"({"f":0})");
  ASSERT_FALSE(r.valid);
  EXPECT_EQ(r.errors[0].keyword, "false");
  // draft-07: $ref hides its siblings, and a $ref-only root works too
  auto d7 = compile(R"({"$schema":"http://json-schema.org/draft-07/schema#","$ref":"#/definitions/o",
                         "definitions":{"o":{"type":"object","required":["x"],"properties":{"x":{"enum":["a","b"]}}}}})");
  EXPECT_TRUE(check(*d7, R"({"x":"b"})").valid);
  EXPECT_FALSE(check(*d7, R"({"x":"c"})").valid);
  EXPECT_FALSE(check(*d7, R"({"y":"a"})").valid);
}

TEST(FastPath, EnumsSmallAndLarge) {
  json many = json::array();
  for (int i = 0; i < 40; ++i) many.push_back("v" + std::to_string(i));
  auto small = compile(R"({"enum":["male","female"]})");
  auto large = compile(json{{"enum", many}}.dump());
  auto mixed = compile(R"({"enum":["1",1,null]})");
  EXPECT_TRUE(check(*small, R"("female")").valid);
  EXPECT_FALSE(check(*small, R"("femal")").valid);
  EXPECT_FALSE(check(*small, R"("females")").valid);
  EXPECT_FALSE(check(*small, "1").valid);
  EXPECT_TRUE(check(*large, R"("v39")").valid);
  EXPECT_FALSE(check(*large, R"("v40")").valid);
  EXPECT_TRUE(check(*mixed, "1.0").valid);
  EXPECT_TRUE(check(*mixed, R"("1")").valid);
  EXPECT_FALSE(check(*mixed, "true").valid);
}

TEST(FastPath, LengthsCountCodePoints) {
  auto v = compile(R"({"properties":{"min":{"minLength":10},"max":{"maxLength":10}}})");
  // 10 code points in 10 to 40 bytes, continuation bytes straddling 8-byte words
  for (const char* s : {"abcdefghij", "éééééééééé", "a€€€€€€€€b", "😀😀😀😀😀😀😀😀😀😀", "abcdefg😀ij"}) {
    EXPECT_TRUE(check(*v, json{{"min", s}, {"max", s}}.dump()).valid) << s;
    std::string shorter(s);  // without its last code point: its continuation bytes, then its first byte
    while ((static_cast<unsigned char>(shorter.back()) & 0xC0) == 0x80) shorter.pop_back();
    shorter.pop_back();
    EXPECT_FALSE(check(*v, json{{"min", shorter}}.dump()).valid) << shorter;
    EXPECT_FALSE(check(*v, json{{"max", std::string(s) + "é"}}.dump()).valid) << s;
  }
}

TEST(Formats, CharacterTables) {
  struct Case {
    const char* format;
    const char* value;
    bool ok;
  } cases[] = {
      {"uri", "http://u:p@host:8080/a:b@c/d;e?x=/?:@&y#f/?:@", true},
      {"uri", "http://host/a%2Fb", true},         {"uri", "http://host/a%2", false},
      {"uri", "http://host/a%zz", false},         {"uri", "http://host/a b", false},
      {"uri", "http://ho:st:80/", false},         {"uri", "http://host/a#b#c", false},
      {"uri", "http://host/é", false},            {"iri", "http://host/é", true},
      {"uri", "urn:isbn:0451450523", true},       {"uri-reference", "a:b/c", true},
      {"uri-reference", "a/b:c", true},           {"uri-reference", "ab:", true},
      {"uuid", "260B358B-0EA4-40F4-B6A0-5E6B369FA46A", true},
      {"uuid", "260b358g-0ea4-40f4-b6a0-5e6b369fa46a", false},
      {"email", "first.last+tag@example.com", true}, {"email", "o'neil_{x}@example.com", true},
      {"email", "a b@example.com", false},        {"email", "é@example.com", false},
      {"idn-email", "é@example.com", true},       {"email", "a(b)@example.com", false},
  };
  for (const auto& c : cases) EXPECT_EQ(check_format(c.format, c.value), c.ok) << c.format << " " << c.value;
}

TEST(FastPath, PatternPropertiesOverListedNamesAreMatchedAtCompileTime) {
  // "sha1" is listed and matches a pattern: both schemas apply to it; "md5"
  // is listed and matches none; "sha256" is not listed (matched at run time);
  // "x" matches nothing and falls to additionalProperties.
  auto v = compile(R"({"properties":{"sha1":{"minLength":40},"md5":{"minLength":32}},
                        "patternProperties":{"^sha(1|256)$":{"pattern":"^[0-9a-f]+$"},"^m":{"maxLength":32}},
                        "additionalProperties":false})");
  const std::string sha1(40, 'a'), sha256(64, 'b'), md5(32, 'c');
  EXPECT_TRUE(check(*v, json{{"sha1", sha1}, {"sha256", sha256}, {"md5", md5}}.dump()).valid);
  EXPECT_FALSE(check(*v, json{{"sha1", std::string(40, 'G')}}.dump()).valid);  // the pattern's schema applied
  EXPECT_FALSE(check(*v, json{{"sha1", "abc"}}.dump()).valid);                 // and the property's
  EXPECT_FALSE(check(*v, json{{"sha256", "XYZ"}}.dump()).valid);
  EXPECT_FALSE(check(*v, json{{"md5", md5 + "d"}}.dump()).valid);              // "^m" applies to md5
  auto r = check(*v, json{{"x", 1}}.dump());
  ASSERT_FALSE(r.valid);
  EXPECT_EQ(r.errors[0].keyword, "additionalProperties");
  // with a pattern that needs backtracking, names are matched at run time
  auto b = compile(R"({"properties":{"aa":{"type":"string"}},"patternProperties":{"^(a)\\1$":{"maxLength":1}}})");
  EXPECT_TRUE(check(*b, R"({"aa":"x"})").valid);
  EXPECT_FALSE(check(*b, R"({"aa":"xy"})").valid);
}
