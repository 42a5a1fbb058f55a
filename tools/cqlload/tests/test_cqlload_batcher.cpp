// Request building: one row per EXECUTE, or batches grouped by partition or
// by replica within their size limits; the split of a refused batch; the
// frame for a request.
#include <gtest/gtest.h>

#include "batcher.hpp"

using namespace pipekit;
using namespace pipekit::cqlload;

namespace {

std::unique_ptr<Row> row(const std::string& routing, int64_t token = 0, size_t value_bytes = 10, uint64_t line = 0) {
  auto r = std::make_unique<Row>();
  r->routing = routing;
  r->token = token;
  r->values.assign(value_bytes, 'v');
  r->line = line;
  return r;
}

std::vector<uint64_t> lines(const Request& req) {
  std::vector<uint64_t> out;
  for (const auto& r : req.rows) out.push_back(r->line);
  return out;
}

}  // namespace

TEST(CqlloadBatcher, BatchSizeOneIsARequestPerRowWithItsToken) {
  Batcher b(1, GroupBy::replica, true);
  std::deque<std::unique_ptr<Request>> ready;
  b.add(row("a", 11), 0, ready);
  b.add(row("b", 22), 1, ready);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_TRUE(ready[0]->token_known);
  EXPECT_EQ(ready[0]->token, 11);
  EXPECT_EQ(ready[1]->token, 22);
  EXPECT_EQ(b.grouped(), 0u);
  EXPECT_TRUE(b.empty());
}

TEST(CqlloadBatcher, GroupsByPartitionUntilTheBatchIsFull) {
  Batcher b(3, GroupBy::partition, false);
  std::deque<std::unique_ptr<Request>> ready;
  b.add(row("a", 1, 10, 1), -1, ready);
  b.add(row("b", 2, 10, 2), -1, ready);
  b.add(row("a", 1, 10, 3), -1, ready);
  EXPECT_TRUE(ready.empty());
  EXPECT_EQ(b.grouped(), 3u);
  b.add(row("a", 1, 10, 4), -1, ready);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(lines(*ready[0]), (std::vector<uint64_t>{1, 3, 4}));
  EXPECT_FALSE(ready[0]->token_known);
  EXPECT_EQ(b.grouped(), 1u);
  b.flush(ready);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(lines(*ready[1]), (std::vector<uint64_t>{2}));
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.grouped(), 0u);
}

TEST(CqlloadBatcher, GroupsByReplicaWithinTheBatchSizeLimit) {
  Batcher b(8, GroupBy::replica, true);
  std::deque<std::unique_ptr<Request>> ready;
  // Rows of different partitions owned by node 0 share a batch.
  b.add(row("a", 1, 100, 1), 0, ready);
  b.add(row("b", 2, 100, 2), 0, ready);
  b.add(row("c", 3, 100, 3), 1, ready);
  EXPECT_TRUE(ready.empty());
  // A row that would take node 0's batch over 32 KiB sends the batch as it is.
  b.add(row("d", 4, 32 * 1024 - 200, 4), 0, ready);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(lines(*ready[0]), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(ready[0]->token, 1);  // routed by its first row
  EXPECT_EQ(b.grouped(), 2u);
  b.flush(ready);
  EXPECT_EQ(ready.size(), 3u);
}

TEST(CqlloadBatcher, SplitKeepsTheRoutingOfTheBatch) {
  Request batch;
  batch.token_known = true;
  batch.token = 99;
  batch.attempts = 2;
  for (uint64_t i = 1; i <= 3; ++i) batch.rows.push_back(row("k", 99, 10, i));
  auto ones = split(batch);
  ASSERT_EQ(ones.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(lines(*ones[i]), std::vector<uint64_t>{i + 1});
    EXPECT_TRUE(ones[i]->token_known);
    EXPECT_EQ(ones[i]->token, 99);
    EXPECT_EQ(ones[i]->attempts, 0);  // each starts its own retries
  }
  EXPECT_TRUE(batch.rows.empty());
}

TEST(CqlloadBatcher, OneRowIsAnExecuteSeveralAreABatch) {
  Request one;
  one.rows.push_back(row("a"));
  std::string frame;
  encode_request(frame, 5, "ID", cql::Consistency::quorum, one, 2);
  ASSERT_GT(frame.size(), 9u);
  EXPECT_EQ(static_cast<uint8_t>(frame[4]), static_cast<uint8_t>(cql::Opcode::execute));
  EXPECT_EQ(frame.substr(2, 2), std::string("\0\5", 2));  // the stream
  Request two;
  two.rows.push_back(row("a"));
  two.rows.push_back(row("b"));
  frame.clear();
  encode_request(frame, 5, "ID", cql::Consistency::quorum, two, 2);
  EXPECT_EQ(static_cast<uint8_t>(frame[4]), static_cast<uint8_t>(cql::Opcode::batch));
  EXPECT_EQ(static_cast<uint8_t>(frame[9]), static_cast<uint8_t>(cql::BatchType::unlogged));
}
