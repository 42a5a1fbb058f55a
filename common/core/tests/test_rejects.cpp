// RejectSink: the reject line format and the --max-rejects rules.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <sstream>

#include "pipekit/cli.hpp"
#include "pipekit/rejects.hpp"

using namespace pipekit;

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST(RejectSink, WritesOneFeedableLinePerReject) {
  Stats stats;
  RejectOptions opts;
  opts.path = ::testing::TempDir() + "/rejects.ndjson";
  {
    RejectSink sink(opts, stats);
    sink.reject(RejectCode::sql, 3, R"({"a":1})", true, "missing field \"id\"", R"("sqlstate":"23502")");
    sink.reject(RejectCode::not_json, 4, "{not json", false, "invalid JSON at byte 1");
    EXPECT_EQ(sink.count(), 2u);
  }
  EXPECT_EQ(stats.rejected.load(), 2u);
  std::string text = slurp(opts.path);
  EXPECT_EQ(text,
            "{\"line\":3,\"code\":\"sql\",\"reason\":\"missing field \\\"id\\\"\",\"sqlstate\":\"23502\",\"record\":{\"a\":1}}\n"
            "{\"line\":4,\"code\":\"not_json\",\"reason\":\"invalid JSON at byte 1\",\"record\":\"{not json\"}\n");
  simdjson::dom::parser p;
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);) EXPECT_EQ(p.parse(l).error(), simdjson::SUCCESS) << l;
}

TEST(RejectSink, LimitsFollowTheDocumentedRules) {
  Stats stats;
  RejectOptions routed;
  routed.path = ::testing::TempDir() + "/r2.ndjson";
  RejectSink a(routed, stats);
  a.reject(RejectCode::bad_value, 1, "x", false, "bad");
  EXPECT_FALSE(a.over_limit(10)) << "routed to a file with no limit: as asked";

  RejectOptions unrouted;
  unrouted.quiet = true;
  RejectSink b(unrouted, stats);
  EXPECT_FALSE(b.over_limit(10));
  b.reject(RejectCode::bad_value, 1, "x", false, "bad");
  EXPECT_TRUE(b.over_limit(10)) << "no rejects file: any reject fails the run";

  RejectOptions counted = routed;
  counted.max_rejects = 1;
  RejectSink c(counted, stats);
  c.reject(RejectCode::bad_value, 1, "x", false, "bad");
  EXPECT_FALSE(c.over_limit(10));
  c.reject(RejectCode::bad_value, 2, "x", false, "bad");
  EXPECT_TRUE(c.over_limit(10));

  RejectOptions rate = routed;
  rate.max_reject_rate = 5.0;
  RejectSink d(rate, stats);
  d.reject(RejectCode::bad_value, 1, "x", false, "bad");
  EXPECT_FALSE(d.over_limit(100));
  EXPECT_TRUE(d.over_limit(10));
}

// Issue #14: `--max-reject-rate nan` was accepted; then a refusal thrown from
// an option callback escaped run_tool and aborted the process (exit 134).
TEST(RejectOptions, BadRateIsExit2ThroughRunTool) {
  for (const char* rate : {"nan", "inf", "-1", "101", "5%%", "1e2"}) {
    CLI::App app("test", "test");
    pipekit::CommonOptions common;
    pipekit::RejectOptions rejects;
    pipekit::add_common_options(app, common);
    pipekit::add_reject_options(app, rejects);
    std::string a0 = "test", a1 = "--max-reject-rate", a2 = rate;
    char* argv[] = {a0.data(), a1.data(), a2.data()};
    bool ran = false;
    int code = pipekit::run_tool(app, 3, argv, common, [&](pipekit::RunContext&) {
      ran = true;
      return 0;
    });
    EXPECT_EQ(code, 2) << rate;
    EXPECT_FALSE(ran) << rate;
  }
}
