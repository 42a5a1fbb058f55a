// What a group member may commit: written positions (without
// --commit-acks), acknowledged ones (with), and around rebalances.
#include <gtest/gtest.h>

#include "commit_policy.hpp"

using namespace pipekit::ksub;

TEST(KsubCommitPolicy, WrittenPositionsAreTheNextOffsetPerPartition) {
  CommitPolicy policy(false);
  auto store = policy.written({{"users", 0, 4}, {"users", 1, 9}, {"users", 0, 5}, {"orders", 0, 1}});
  EXPECT_EQ(store, (std::vector<Position>{{"users", 0, 6}, {"users", 1, 10}, {"orders", 0, 2}}));
  // A position past transaction markers (no line) moves it too.
  EXPECT_EQ(policy.written({{"users", 0, 8, false}}), (std::vector<Position>{{"users", 0, 9}}));
  EXPECT_EQ(policy.revoke_commits({{"users", 0}, {"users", 7}}), (std::vector<Position>{{"users", 0, 9}}));
}

TEST(KsubCommitPolicy, AFailedRevokeCommitIsCarriedToTheNextAssignment) {
  CommitPolicy policy(false);
  policy.written({{"users", 0, 41}, {"users", 1, 9}});
  auto due = policy.revoke_commits({{"users", 0}, {"users", 1}});
  ASSERT_EQ(due.size(), 2u);
  policy.carry({due[0]});  // partition 0's commit failed
  policy.revoked({{"users", 0}, {"users", 1}});
  EXPECT_TRUE(policy.revoke_commits({{"users", 0}}).empty());  // forgotten
  // Given back: partition 0 goes on from the written position; 1 from the group's.
  std::vector<Position> assigned = {{"users", 0}, {"users", 1}};
  auto store = policy.resume(assigned);
  EXPECT_EQ(assigned[0].offset, 42);
  EXPECT_EQ(assigned[1].offset, RD_KAFKA_OFFSET_INVALID);
  EXPECT_EQ(store, (std::vector<Position>{{"users", 0, 42}}));
  EXPECT_EQ(policy.revoke_commits({{"users", 0}}), store);
  // Carried only once: a later assignment elsewhere does not reuse it.
  std::vector<Position> again = {{"users", 0}};
  EXPECT_TRUE(policy.resume(again).empty());
}

TEST(KsubCommitPolicy, AcksCommitUpToTheLowestUnacknowledged) {
  CommitPolicy policy(true);
  policy.handed_over({{"users", 0, 10}, {"users", 0, 11}, {"users", 0, 12}});
  EXPECT_TRUE(policy.written({{"users", 0, 10}}).empty());  // nothing stored with acks
  EXPECT_EQ(policy.pending(), 3u);
  // Acks in chunks that split lines, out of order, one not an ack at all.
  EXPECT_EQ(policy.feed_acks("{\"topic\":\"users\",\"partition\":0,\"offset\":11}\n{\"topic\":\"us"), 1u);
  EXPECT_EQ(policy.feed_acks("ers\",\"partition\":0,\"offset\":10}\r\nnonsense\n\n"), 1u);
  EXPECT_EQ(policy.pending(), 1u);
  auto due = policy.acked_commits(false);
  EXPECT_EQ(due, (std::vector<Position>{{"users", 0, 12}}));
  policy.committed(due);
  EXPECT_TRUE(policy.acked_commits(false).empty());          // nothing moved since
  EXPECT_EQ(policy.acked_commits(true), due);                 // a sync commit says it again
}

TEST(KsubCommitPolicy, UnwrittenRecordsAreNotAwaitedAndRevokedOnesAreDropped) {
  CommitPolicy policy(true);
  policy.handed_over({{"users", 0, 1}, {"users", 0, 2}, {"users", 1, 7}});
  policy.dropped({{"users", 0, 2}});  // stdout went away before it
  EXPECT_EQ(policy.pending(), 2u);
  const std::vector<PartitionKey> only = {{"users", 1}};
  EXPECT_EQ(policy.acked_commits(true, &only), (std::vector<Position>{{"users", 1, 7}}));
  EXPECT_EQ(policy.revoke_commits(only), (std::vector<Position>{{"users", 1, 7}}));
  policy.revoked(only);
  EXPECT_EQ(policy.pending(), 1u);  // partition 1's pending record: the next owner's
}
