// Stats: the live --stats file and a sink's freshness.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "pipekit/stats.hpp"

using namespace pipekit;
using Json = nlohmann::json;

namespace {

std::string temp_dir() {
  char name[] = "/tmp/pipekit-stats-XXXXXX";
  return mkdtemp(name);
}

Json read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return Json::parse(ss.str(), nullptr, false);
}

}  // namespace

TEST(Stats, FreshnessHasTheNewestTimestampAndACumulativeHistogram) {
  Stats s;
  int64_t now = 1'700'000'000'000;
  s.record_committed(now - 20, now);       // 0.02 s: bucket 0.025
  s.record_committed(now - 3'000, now);    // 3 s: bucket 5
  s.record_committed(now + 5'000, now);    // a clock ahead of ours: 0 s
  s.record_committed(-1, now);             // no timestamp: not counted
  Json j = Json::parse(s.to_json(0));
  EXPECT_EQ(j["newest_committed_timestamp_ms"], now + 5'000);
  const Json& h = j["commit_latency_seconds"];
  EXPECT_EQ(h["count"], 3);
  EXPECT_NEAR(h["sum"].get<double>(), 3.02, 1e-9);
  ASSERT_EQ(h["buckets"].size(), Stats::latency_bounds().size());
  EXPECT_EQ(h["buckets"][0][0], 0.01);
  EXPECT_EQ(h["buckets"][0][1], 1);  // the 0 s one
  EXPECT_EQ(h["buckets"][1][1], 2);  // + the 0.02 s one
  EXPECT_EQ(h["buckets"][7][1], 2);  // up to 2.5 s
  EXPECT_EQ(h["buckets"][8][1], 3);  // up to 5 s
  EXPECT_EQ(h["buckets"].back()[1], 3);
}

TEST(Stats, NoFreshnessBeforeAnyCommit) {
  Stats s;
  Json j = Json::parse(s.to_json(0));
  EXPECT_FALSE(j.contains("newest_committed_timestamp_ms"));
  EXPECT_FALSE(j.contains("commit_latency_seconds"));
}

TEST(Stats, TheLiveFileIsRewrittenWhileRunningThenTheFinalOneWins) {
  std::string dir = temp_dir(), path = dir + "/t.stats.json";
  Stats s;
  s.records_in = 5;
  s.start_live_file(path, 20);
  Json j;
  for (int i = 0; i < 200; ++i) {  // at most 2 s
    j = read_json(path);
    if (!j.is_discarded()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_FALSE(j.is_discarded()) << "no live file after 2 s";
  EXPECT_TRUE(j["exit_code"].is_null());
  EXPECT_EQ(j["records_in"], 5);
  s.records_in = 9;
  for (int i = 0; i < 200 && read_json(path)["records_in"] != 9; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(read_json(path)["records_in"], 9);
  s.stop_live_file();
  ASSERT_TRUE(s.write_file(path, 0));
  j = read_json(path);
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_EQ(access((path + ".tmp").c_str(), F_OK), -1);  // renamed, not left beside it
}

TEST(Stats, IntervalZeroWritesNothingWhileRunning) {
  std::string dir = temp_dir(), path = dir + "/t.stats.json";
  Stats s;
  s.start_live_file(path, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(access(path.c_str(), F_OK), -1);
}

TEST(Stats, ADeviceIsWrittenInPlaceNeverReplacedByAFile) {
  Stats s;
  ASSERT_TRUE(s.write_file("/dev/null", 0));
  struct stat st {};
  ASSERT_EQ(stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(access("/dev/null.tmp", F_OK), -1);
  if (access("/dev/full", W_OK) == 0) {
    EXPECT_FALSE(s.write_file("/dev/full", 0));  // no space: a failure, not a rename
    ASSERT_EQ(stat("/dev/full", &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
  }
}
