// cqlload on the intake: the records kept for --create's inference come back
// in order with their envelopes; written rows are acknowledged together,
// refused rows rejected with their code (cql: cql_code and error) and
// acknowledged only when there is a rejects file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "acknowledger.hpp"
#include "retry.hpp"
#include "samples.hpp"

using namespace pipekit;
using namespace pipekit::cqlload;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string write_file(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::trunc) << text;
  return path;
}

std::string envelope(int offset, const std::string& value) {
  return "{\"topic\":\"users\",\"partition\":1,\"offset\":" + std::to_string(offset) + ",\"key\":\"k" +
         std::to_string(offset) + "\",\"value\":" + value + "}\n";
}

}  // namespace

TEST(CqlloadSamples, KeptRecordsComeBackParsedInOrderThenTheRestFollows) {
  Stats stats;
  RejectOptions ro;
  ro.path = ::testing::TempDir() + "/samples-rejects.ndjson";
  RejectSink rejects(ro, stats);
  IntakeOptions opts;
  opts.envelope = true;
  std::string in = write_file("samples.ndjson", envelope(1, R"({"id":"a","n":1})") + "not json\n" +
                                                    envelope(2, R"({"id":"b","n":2.5})") +
                                                    envelope(3, R"({"id":"c"})"));
  Intake intake({in}, opts, IntakeRules{.require_object = true}, rejects, stats);
  Samples samples(opts, IntakeRules{.require_object = true});
  EXPECT_EQ(samples.collect(intake, 2), ReadStatus::line);
  EXPECT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples.values(), (std::vector<std::string>{R"({"id":"a","n":1})", R"({"id":"b","n":2.5})"}));
  Record r;
  ASSERT_TRUE(samples.next(r));
  EXPECT_EQ(r.line.number, 1u);
  ASSERT_NE(r.envelope, nullptr);
  EXPECT_EQ(r.envelope->key, "k1");
  EXPECT_EQ(simdjson::minify(r.value), R"({"id":"a","n":1})");
  ASSERT_TRUE(samples.next(r));
  EXPECT_EQ(r.line.number, 3u);  // line 2 was the intake's reject
  EXPECT_EQ(r.coordinates()->offset, 2);
  EXPECT_FALSE(samples.next(r));
  ASSERT_EQ(intake.next(r), ReadStatus::line);
  EXPECT_EQ(r.line.number, 4u);
  EXPECT_EQ(intake.next(r), ReadStatus::eof);
  rejects.flush();
  EXPECT_NE(slurp(ro.path).find("\"code\":\"not_json\""), std::string::npos);
}

TEST(CqlloadSamples, AnEndOfInputBeforeTheLimitIsSaid) {
  Stats stats;
  RejectOptions ro;
  RejectSink rejects(ro, stats);
  IntakeOptions opts;
  std::string in = write_file("samples-short.ndjson", "{\"id\":1}\n");
  Intake intake({in}, opts, IntakeRules{.require_object = true}, rejects, stats);
  Samples samples(opts, IntakeRules{.require_object = true});
  EXPECT_EQ(samples.collect(intake, 100), ReadStatus::eof);
  EXPECT_EQ(samples.values(), std::vector<std::string>{"{\"id\":1}"});
}

namespace {

// Written rows acked together after the rejects; a refused row rejected
// with code cql. Returns the acks file's text.
std::string run_acks(bool rejects_file, std::string& rejects_text) {
  Stats stats;
  RejectOptions ro;
  if (rejects_file) ro.path = ::testing::TempDir() + "/ack-rejects.ndjson";
  RejectSink rejects(ro, stats);
  IntakeOptions opts;
  opts.envelope = true;
  opts.ack_path = ::testing::TempDir() + "/acks.ndjson";
  ::unlink(opts.ack_path.c_str());
  std::string in = write_file("ack-input.ndjson", envelope(5, R"({"id":"a"})"));
  Intake intake({in}, opts, IntakeRules{.require_object = true}, rejects, stats);
  Acknowledger acks(intake, stats);
  Request req;
  for (int64_t off : {7, 8}) {
    auto row = std::make_unique<Row>();
    row->coordinates = Ack{"users", 0, off};
    req.rows.push_back(std::move(row));
  }
  acks.written(req);
  EXPECT_EQ(stats.records_out.load(), 2u);
  EXPECT_EQ(acks.pending(), 2u);
  EXPECT_EQ(slurp(opts.ack_path), "");  // not before flush()
  Row refused;
  refused.line = 9;
  refused.original = R"({"topic":"users","partition":0,"offset":9,"value":{"id":"x"}})";
  refused.coordinates = Ack{"users", 0, 9};
  cql::ServerError e;
  e.code = cql::errc::invalid;
  e.message = "Invalid request";
  acks.reject(refused, RejectCode::cql, e.message, cql_reject_fields(e));
  acks.flush();
  EXPECT_EQ(acks.pending(), 0u);
  rejects.flush();
  if (rejects_file) rejects_text = slurp(ro.path);
  return slurp(opts.ack_path);
}

}  // namespace

TEST(CqlloadAcknowledger, WrittenRowsAckedTogetherRefusedOnesRejectedWithCodeCql) {
  std::string rejects_text;
  std::string acks = run_acks(true, rejects_text);
  EXPECT_EQ(acks,
            "{\"topic\":\"users\",\"partition\":0,\"offset\":9}\n"
            "{\"topic\":\"users\",\"partition\":0,\"offset\":7}\n"
            "{\"topic\":\"users\",\"partition\":0,\"offset\":8}\n");
  EXPECT_EQ(rejects_text,
            "{\"line\":9,\"code\":\"cql\",\"reason\":\"Invalid request\",\"cql_code\":8704,\"error\":\"INVALID\","
            "\"record\":{\"topic\":\"users\",\"partition\":0,\"offset\":9,\"value\":{\"id\":\"x\"}}}\n");
}

TEST(CqlloadAcknowledger, WithoutARejectsFileARefusedRowIsNotAcknowledged) {
  std::string unused;
  EXPECT_EQ(run_acks(false, unused),
            "{\"topic\":\"users\",\"partition\":0,\"offset\":7}\n"
            "{\"topic\":\"users\",\"partition\":0,\"offset\":8}\n");
}
