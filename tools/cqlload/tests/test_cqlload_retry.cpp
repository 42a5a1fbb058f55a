// The retry policy and the in-flight window: what each answer leads to,
// backoff bounds, giving up after --retries, backoffs ending in order.
#include <gtest/gtest.h>

#include "retry.hpp"
#include "window.hpp"

using namespace pipekit;
using namespace pipekit::cqlload;

namespace {

cql::Response error(int32_t code, const std::string& message, const std::string& extra = {}) {
  cql::Response r;
  r.opcode = static_cast<uint8_t>(cql::Opcode::error);
  cql::wire::i32(r.body, code);
  cql::wire::string(r.body, message);
  r.body += extra;
  return r;
}

std::unique_ptr<Request> request(size_t rows) {
  auto req = std::make_unique<Request>();
  for (size_t i = 0; i < rows; ++i) req->rows.push_back(std::make_unique<Row>());
  return req;
}

}  // namespace

TEST(CqlloadRetry, WrittenRetriedOrFatal) {
  cql::Response ok;
  ok.opcode = static_cast<uint8_t>(cql::Opcode::result);
  EXPECT_EQ(classify(ok, 3, 0).verdict, Verdict::written);
  cql::Response lost;
  lost.transport_ok = false;
  lost.transport_error = "connection reset";
  auto a = classify(lost, 1, 0);
  EXPECT_EQ(a.verdict, Verdict::retry);
  EXPECT_EQ(a.why, "connection reset");
  EXPECT_FALSE(a.transient);
  a = classify(error(cql::errc::overloaded, "busy"), 1, 0);
  EXPECT_EQ(a.verdict, Verdict::retry);
  EXPECT_TRUE(a.transient);
  EXPECT_EQ(a.error.code, cql::errc::overloaded);
  EXPECT_EQ(classify(error(cql::errc::syntax, "bad"), 1, 0).verdict, Verdict::fatal);
  EXPECT_EQ(classify(error(cql::errc::unauthorized, "no"), 1, 0).verdict, Verdict::fatal);
  EXPECT_EQ(classify(error(cql::errc::invalid, "table ks.t does not exist"), 1, 0).verdict, Verdict::fatal);
  EXPECT_EQ(classify(error(cql::errc::invalid, "unconfigured table t"), 1, 0).verdict, Verdict::fatal);
  cql::Response odd;
  odd.opcode = static_cast<uint8_t>(cql::Opcode::ready);
  EXPECT_EQ(classify(odd, 1, 0).verdict, Verdict::retry);
  cql::Response garbled;
  garbled.opcode = static_cast<uint8_t>(cql::Opcode::error);
  garbled.body = "\1";
  a = classify(garbled, 1, 0);
  EXPECT_EQ(a.verdict, Verdict::retry);
  EXPECT_EQ(a.why.rfind("undecodable ERROR", 0), 0u) << a.why;
}

TEST(CqlloadRetry, ARefusedRowIsRejectedARefusedBatchSplit) {
  auto a = classify(error(cql::errc::invalid, "Invalid request"), 1, 0);
  EXPECT_EQ(a.verdict, Verdict::reject);
  EXPECT_EQ(a.error.message, "Invalid request");
  EXPECT_EQ(cql_reject_fields(a.error), "\"cql_code\":8704,\"error\":\"INVALID\"");
  EXPECT_EQ(classify(error(cql::errc::invalid, "Invalid request"), 2, 0).verdict, Verdict::split);
}

TEST(CqlloadRetry, UnpreparedReprepareThreeTimesThenRetry) {
  std::string id;
  cql::wire::short_bytes(id, "abc");
  auto r = error(cql::errc::unprepared, "unknown id", id);
  EXPECT_EQ(classify(r, 1, 0).verdict, Verdict::reprepare);
  EXPECT_EQ(classify(r, 1, 2).verdict, Verdict::reprepare);
  EXPECT_EQ(classify(r, 1, 3).verdict, Verdict::retry);
  EXPECT_FALSE(classify(r, 1, 3).transient);
}

TEST(CqlloadRetry, BackoffDoublesFromFiftyMsUpToFiveSecondsWithJitter) {
  EXPECT_EQ(backoff_ms(1, 0), 25);
  EXPECT_EQ(backoff_ms(1, 25), 50);
  EXPECT_EQ(backoff_ms(2, 0), 50);
  EXPECT_EQ(backoff_ms(3, 0), 100);
  for (int attempt = 1; attempt < 40; ++attempt)
    for (uint32_t random : {0u, 1u, 1234567u, 0xffffffffu}) {
      int64_t d = backoff_ms(attempt, random);
      EXPECT_GE(d, 25);
      EXPECT_LE(d, 5000);
    }
  EXPECT_EQ(backoff_ms(20, 0), 2500);
}

TEST(CqlloadWindow, RoomAndSending) {
  Window w(2, 3, 1);
  EXPECT_TRUE(w.has_room());
  EXPECT_FALSE(w.can_send());
  w.ready().push_back(request(1));
  w.ready().push_back(request(1));
  EXPECT_FALSE(w.has_room());  // two ready fill a window of two
  EXPECT_TRUE(w.can_send());
  w.ready().pop_front();
  w.sent();
  w.ready().pop_front();
  w.sent();
  EXPECT_FALSE(w.has_room());
  EXPECT_EQ(w.in_flight(), 2u);
  w.answered();
  EXPECT_TRUE(w.has_room());
  EXPECT_EQ(w.max_in_flight(), 2u);
  w.answered();
  EXPECT_TRUE(w.idle());
}

TEST(CqlloadWindow, RetriesWaitTheirBackoffThenGoFirst) {
  Window w(8, 3, 1);
  w.ready().push_back(request(1));
  auto req = request(2);
  Request* p = req.get();
  EXPECT_TRUE(w.retry_later(std::move(req), "timeout", 1000));
  EXPECT_FALSE(w.idle());
  EXPECT_EQ(w.ready().size(), 1u);
  int wait = w.wait_ms(1000, 200);
  EXPECT_GE(wait, 25);
  EXPECT_LE(wait, 50);
  w.promote(1000 + wait - 1);
  EXPECT_EQ(w.ready().size(), 1u);
  w.promote(1000 + wait);
  ASSERT_EQ(w.ready().size(), 2u);
  EXPECT_EQ(w.ready().front().get(), p);  // a retry goes before new requests
  EXPECT_EQ(p->attempts, 1);
}

TEST(CqlloadWindow, PastTheRetriesTheLoadFailsAndCountsWhatIsNotWritten) {
  Window w(8, 2, 1);
  auto req = request(3);
  req->attempts = 2;
  EXPECT_FALSE(w.retry_later(std::move(req), "WRITE_TIMEOUT", 0));
  EXPECT_TRUE(w.failed());
  EXPECT_FALSE(w.failure_is_usage());
  EXPECT_EQ(w.failure(), "giving up after 2 retries: WRITE_TIMEOUT");
  EXPECT_EQ(w.undelivered(), 3u);
  // The first reason stays; what was waiting is dropped and counted.
  w.ready().push_back(request(2));
  EXPECT_TRUE(w.retry_later(request(4), "again", 0));
  w.fail("syntax", true, 1);
  EXPECT_EQ(w.failure(), "giving up after 2 retries: WRITE_TIMEOUT");
  w.drop_pending();
  EXPECT_EQ(w.undelivered(), 3u + 1u + 2u + 4u);
  EXPECT_TRUE(w.idle());
}
