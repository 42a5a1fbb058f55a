// ru-fetch: response parsing (raw bytes, flat record, --meta, unusable
// responses) and the flag checks that turn into request URLs.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "engine.hpp"

using namespace pipekit;
using namespace pipekit::rufetch;

namespace {

std::string slurp(const std::string& rel) {
  std::ifstream in(std::string(PIPEKIT_SOURCE_DIR) + "/" + rel, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Parses `body` as a response (with the padding the parser needs).
PageResult parse(Shape shape, std::string body, size_t expected, std::string& out, bool meta = false,
                 size_t limit = SIZE_MAX) {
  body.reserve(body.size() + http::kPadding);
  PageParser p(shape, meta);
  return p.parse(body, body.capacity(), expected, limit, out, "2026-11-21T06:00:00.000Z");
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  for (std::string l; std::getline(ss, l);) v.push_back(l);
  return v;
}

const char* kTwo =
    R"({"results":[{"a":1,"b":{"c":"x"}},{"a":2.50,"b":null}],"info":{"seed":"s","results":2,"page":4,"version":"1.4"}})";

}  // namespace

TEST(RuFetchParse, RawKeepsEachElementsBytes) {
  std::string out;
  auto r = parse(Shape::raw, kTwo, 2, out);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.users, 2u);
  EXPECT_EQ(r.written, 2u);
  // 2.50 stays 2.50: the API's bytes, not a re-serialisation.
  EXPECT_EQ(out, "{\"a\":1,\"b\":{\"c\":\"x\"}}\n{\"a\":2.50,\"b\":null}\n");
}

TEST(RuFetchParse, RawMinifiesPrettyPrintedElements) {
  std::string out;
  auto r = parse(Shape::raw, "{\n  \"results\": [\n    {\n      \"a\": \"x y\",\n      \"b\": [1, 2]\n    }\n  ]\n}", 1, out);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(out, "{\"a\":\"x y\",\"b\":[1,2]}\n");
}

TEST(RuFetchParse, LimitCutsThePage) {
  std::string out;
  auto r = parse(Shape::raw, kTwo, 2, out, false, 1);
  EXPECT_EQ(r.users, 2u);
  EXPECT_EQ(r.written, 1u);
  EXPECT_EQ(lines_of(out).size(), 1u);
}

TEST(RuFetchParse, MetaAddsInfoUnderOneKey) {
  std::string out;
  auto r = parse(Shape::raw, kTwo, 2, out, true);
  ASSERT_EQ(r.error, "");
  auto l = lines_of(out);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0], "{\"a\":1,\"b\":{\"c\":\"x\"},\"_meta\":{\"seed\":\"s\",\"page\":4,\"results\":2,"
                  "\"version\":\"1.4\",\"fetched_at\":\"2026-11-21T06:00:00.000Z\"}}");
  // An empty object gets no stray comma; a response without info gives nulls.
  out.clear();
  r = parse(Shape::raw, R"({"results":[{}]})", 1, out, true);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(out, "{\"_meta\":{\"seed\":null,\"page\":null,\"results\":null,\"version\":null,"
                 "\"fetched_at\":\"2026-11-21T06:00:00.000Z\"}}\n");
}

TEST(RuFetchParse, UnusableResponsesWriteNothing) {
  struct Case {
    const char* body;
    size_t expected;
    const char* error;
  } cases[] = {
      {R"({"error":"Uh oh, something has gone wrong."})", 1, "the API answered with an error: Uh oh"},
      {R"({"results":[{"a":1}]})", 2, "short page: 1 users for 2 asked"},
      {R"({"results":[{"a":1},{"a":2})", 1, "not valid JSON"},
      {"<html><body>502</body></html>", 1, "not valid JSON"},
      {R"({"users":[]})", 1, "no results[] array"},
      {R"({"results":{"a":1}})", 1, "no results[] array"},
      {R"({"results":[{"a":1},7]})", 1, "results[] holds a non-object"},
      {R"([{"a":1}])", 1, "not an object"},
      {"", 1, "not valid JSON"},
      {"{\"results\":[{\"a\":\"\xff\xfe\"}]}", 1, "not valid JSON"},
      // JSON, but beyond a double or 64 bits: named, never "not valid JSON" (issue #14, finding 2)
      {R"({"results":[{"a":1},{"a":1e400}]})", 2, "the page holds the number 1e400, beyond what ru-fetch represents"},
      {R"({"results":[{"n":18446744073709551616}]})", 1, "the number 18446744073709551616, beyond"},
  };
  for (const auto& c : cases) {
    for (Shape s : {Shape::raw, Shape::flat}) {
      std::string out;
      auto r = parse(s, c.body, c.expected, out);
      EXPECT_NE(r.error.find(c.error), std::string::npos) << c.body << " -> " << r.error;
      EXPECT_EQ(out, "") << c.body;
      EXPECT_EQ(r.written, 0u);
    }
  }
}

TEST(RuFetchFlat, SavedResponseMatchesTheExpectedRecords) {
  std::string out;
  auto r = parse(Shape::flat, slurp("tests/data/rufetch/mixed.json"), 3, out);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(out, slurp("tests/data/rufetch/mixed.flat.ndjson"));
}

TEST(RuFetchFlat, MissingFieldsAreNullAndTextIsEscaped) {
  std::string out;
  auto r = parse(Shape::flat,
                 R"({"results":[{"name":{"first":"A\"b","last":"C\\d"},"location":{"postcode":1234.5,"city":"X"},)"
                 R"("dob":"2001-02-03 04:05:06","registered":{"date":null}}]})",
                 1, out);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(out,
            "{\"id\":null,\"first_name\":\"A\\\"b\",\"last_name\":\"C\\\\d\",\"gender\":null,\"address\":\"X\","
            "\"post_code\":\"1234.5\",\"email\":null,\"username\":null,\"dob\":\"2001-02-03T04:05:06Z\","
            "\"registered_date\":null,\"phone\":null,\"picture\":null,\"nat\":null}\n");
}

TEST(RuFetchFlat, Iso8601) {
  EXPECT_EQ(iso8601("1983-07-14 07:29:45"), "1983-07-14T07:29:45Z");
  EXPECT_EQ(iso8601("1992-03-08T15:13:16.688Z"), "1992-03-08T15:13:16.688Z");
  EXPECT_EQ(iso8601("yesterday"), "yesterday");
  auto now = utc_now_iso();
  EXPECT_EQ(now.size(), 24u);
  EXPECT_EQ(now.back(), 'Z');
}

TEST(RuFetchPlan, DefaultsAndQuery) {
  Options o;
  auto p = make_plan(o);
  EXPECT_EQ(request_url(p, 1), "https://randomuser.me/api/?results=1");
  EXPECT_TRUE(p.api_budget);
  EXPECT_FALSE(p.paged);

  o.results = 50;
  o.seed = "a b";
  o.nat = {"us, gb", "fr"};
  o.exc = {"login", "ID"};
  o.api_version = "1.4";
  p = make_plan(o);
  EXPECT_EQ(request_url(p, 3), "https://randomuser.me/api/1.4/?results=50&page=3&seed=a%20b&nat=US,GB,FR&exc=login,id");
}

TEST(RuFetchPlan, CountPagesWithAGeneratedSeedUnlessGenderIsSet) {
  Options o;
  o.count = 12000;
  auto p = make_plan(o);
  EXPECT_EQ(p.page_size, 5000);
  EXPECT_TRUE(p.paged);
  EXPECT_TRUE(p.seed_generated);
  EXPECT_EQ(p.seed.size(), 16u);
  o.gender = "male";
  p = make_plan(o);
  EXPECT_FALSE(p.paged);
  EXPECT_EQ(request_url(p, 1), "https://randomuser.me/api/?results=5000&gender=male");
  Options small;
  small.count = 30;
  p = make_plan(small);
  EXPECT_EQ(p.page_size, 30);
  EXPECT_FALSE(p.paged);
  // Polling: one user per poll unless --results says otherwise.
  small.every = "5s";
  p = make_plan(small);
  EXPECT_EQ(p.page_size, 1);
  EXPECT_EQ(p.every_ms, 5000);
}

TEST(RuFetchPlan, UrlsAndPacing) {
  Options o;
  o.url = "http://mirror.local:8080/api/?key=k";
  o.rate = 2;
  auto p = make_plan(o);
  EXPECT_EQ(request_url(p, 1), "http://mirror.local:8080/api/?key=k&results=1");
  EXPECT_FALSE(p.api_budget);
  EXPECT_DOUBLE_EQ(p.min_interval_ms, 500);
  o.url = "file:///tmp/x.json";
  o.rate.reset();
  p = make_plan(o);
  EXPECT_TRUE(p.file);
  EXPECT_EQ(request_url(p, 1), "file:///tmp/x.json");
  o.url = "https://randomuser.me/api";
  o.api_version = "1.3";
  p = make_plan(o);
  EXPECT_TRUE(p.api_budget);
  EXPECT_EQ(request_url(p, 1), "https://randomuser.me/api/1.3/?results=1");
}

TEST(RuFetchPlan, RefusesWhatTheApiWouldIgnore) {
  auto bad = [](auto edit) {
    Options o;
    edit(o);
    EXPECT_THROW(make_plan(o), UsageError);
  };
  bad([](Options& o) { o.results = 0; });
  bad([](Options& o) { o.results = 5001; });
  bad([](Options& o) { o.gender = "male"; o.seed = "x"; });
  bad([](Options& o) { o.gender = "f"; });
  bad([](Options& o) { o.page = 2; });
  bad([](Options& o) { o.nat = {"zz"}; });
  bad([](Options& o) { o.inc = {"name"}; o.exc = {"email"}; });
  bad([](Options& o) { o.shape = "flat"; o.exc = {"picture"}; });
  bad([](Options& o) { o.password = "upper,0"; });
  bad([](Options& o) { o.password = "8,16"; });
  bad([](Options& o) { o.url = "gopher://x/"; });
  bad([](Options& o) { o.api_version = "v2"; });
  bad([](Options& o) { o.url = "file:///x.json"; o.api_version = "1.4"; });
  bad([](Options& o) { o.every = "0"; });
  bad([](Options& o) { o.count = 0; });
  // Older versions have other nationalities: not checked there.
  Options o;
  o.api_version = "1.0";
  o.nat = {"zz"};
  EXPECT_NO_THROW(make_plan(o));
  o.api_version.clear();
  o.nat.clear();
  o.password = "special,upper,lower,number,1-64";
  EXPECT_NO_THROW(make_plan(o));
}

TEST(RuFetchPacing, WindowBudgetKeepsUnderTheLimit) {
  WindowBudget b(18'000, 300'000);
  // Three 5000-user pages fit at once; the fourth waits for the first to leave.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(b.wait_ms(i * 10, 5000), 0);
    b.add(i * 10, 5000);
  }
  EXPECT_EQ(b.in_window(), 15'000u);
  EXPECT_EQ(b.wait_ms(100, 3000), 0);
  EXPECT_EQ(b.wait_ms(100, 5000), 300'000 - 100);
  // Later, the first page has left the window.
  EXPECT_EQ(b.wait_ms(300'000, 5000), 0);
  EXPECT_EQ(b.in_window(), 10'000u);
  b.add(300'000, 5000);
  // Now 15,000 in the window (added at 10, 20, 300000): 8,000 more fit once
  // the page added at 10 leaves; 13,000 more once the one at 20 leaves too.
  EXPECT_EQ(b.wait_ms(300'001, 8000), 300'010 - 300'001);
  EXPECT_EQ(b.wait_ms(300'001, 13'000), 300'020 - 300'001);
  // 100 users every 5 s (--every 5s --results 100) never waits: 6,000 per window.
  WindowBudget live(18'000, 300'000);
  for (int64_t t = 0; t < 3'600'000; t += 5000) {
    ASSERT_EQ(live.wait_ms(t, 100), 0);
    live.add(t, 100);
  }
  EXPECT_EQ(live.in_window(), 6'000u);
}

TEST(RuFetchParse, AnEmptyResultsArrayIsAnAnswerNotAnError) {
  std::string out;
  auto r = parse(Shape::flat, R"({"results":[],"info":{"results":0}})", 5, out);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.users, 0u);
  EXPECT_EQ(r.written, 0u);
  EXPECT_EQ(out, "");
}
