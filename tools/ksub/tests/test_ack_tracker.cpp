// The --commit-acks bookkeeping: the commit point of a partition is its
// lowest written-but-unacknowledged offset, or last written + 1.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "ack_tracker.hpp"

using pipekit::AckTracker;

TEST(AckTracker, NothingWrittenNothingToCommit) {
  AckTracker t;
  EXPECT_FALSE(t.commit_point("users", 0));
  EXPECT_TRUE(t.commits_due().empty());
  EXPECT_FALSE(t.acked("users", 0, 5));  // an ack for an unknown record is ignored
  EXPECT_EQ(t.pending(), 0u);
}

TEST(AckTracker, CommitPointIsLowestUnacked) {
  AckTracker t;
  for (int64_t o = 10; o < 15; ++o) t.written("users", 3, o);
  EXPECT_EQ(t.commit_point("users", 3), 10);
  EXPECT_EQ(t.pending(), 5u);
  EXPECT_TRUE(t.acked("users", 3, 12));   // out of order: no progress yet
  EXPECT_EQ(t.commit_point("users", 3), 10);
  EXPECT_TRUE(t.acked("users", 3, 10));
  EXPECT_EQ(t.commit_point("users", 3), 11);
  EXPECT_TRUE(t.acked("users", 3, 11));   // 10, 11, 12 done: 13 is next
  EXPECT_EQ(t.commit_point("users", 3), 13);
  EXPECT_TRUE(t.acked("users", 3, 14));
  EXPECT_EQ(t.commit_point("users", 3), 13);
  EXPECT_TRUE(t.acked("users", 3, 13));
  EXPECT_EQ(t.commit_point("users", 3), 15);  // all acked: last written + 1
  EXPECT_EQ(t.pending(), 0u);
}

TEST(AckTracker, DuplicateAndUnknownAcksAreIgnored) {
  AckTracker t;
  t.written("users", 0, 0);
  t.written("users", 0, 1);
  EXPECT_TRUE(t.acked("users", 0, 1));
  EXPECT_FALSE(t.acked("users", 0, 1));   // twice
  EXPECT_FALSE(t.acked("users", 0, 7));   // never written
  EXPECT_FALSE(t.acked("users", 1, 0));   // other partition
  EXPECT_FALSE(t.acked("orders", 0, 0));  // other topic
  EXPECT_EQ(t.pending(), 1u);
  EXPECT_EQ(t.commit_point("users", 0), 0);
  EXPECT_TRUE(t.acked("users", 0, 0));
  EXPECT_FALSE(t.acked("users", 0, 0));   // after it was popped
  EXPECT_EQ(t.commit_point("users", 0), 2);
  EXPECT_EQ(t.pending(), 0u);
}

TEST(AckTracker, PartitionsAndTopicsAreIndependent) {
  AckTracker t;
  t.written("a", 0, 5);
  t.written("a", 1, 7);
  t.written("b", 0, 100);
  t.acked("a", 1, 7);
  EXPECT_EQ(t.commit_point("a", 0), 5);
  EXPECT_EQ(t.commit_point("a", 1), 8);
  EXPECT_EQ(t.commit_point("b", 0), 100);
  EXPECT_EQ(t.pending("a", 0), 1u);
  EXPECT_EQ(t.pending("a", 1), 0u);
}

TEST(AckTracker, CommitsDueOnlyWhenThePointMoves) {
  AckTracker t;
  t.written("a", 0, 0);
  t.written("a", 0, 1);
  auto due = t.commits_due();
  // Nothing acked yet, but committing offset 0 is allowed (and harmless).
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].offset, 0);
  t.mark_committed("a", 0, 0);
  EXPECT_TRUE(t.commits_due().empty());
  t.acked("a", 0, 1);
  EXPECT_TRUE(t.commits_due().empty());  // 0 still pending
  t.acked("a", 0, 0);
  due = t.commits_due();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].topic, "a");
  EXPECT_EQ(due[0].partition, 0);
  EXPECT_EQ(due[0].offset, 2);
  t.mark_committed("a", 0, 2);
  EXPECT_TRUE(t.commits_due().empty());
  // commit_points() lists every partition written to, due or not.
  auto all = t.commit_points();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].offset, 2);
}

TEST(AckTracker, DropForgetsARevokedPartition) {
  AckTracker t;
  t.written("a", 0, 0);
  t.written("a", 0, 1);
  t.written("a", 1, 0);
  EXPECT_EQ(t.pending(), 3u);
  t.drop("a", 0);
  EXPECT_EQ(t.pending(), 1u);
  EXPECT_FALSE(t.commit_point("a", 0));
  EXPECT_FALSE(t.acked("a", 0, 1));
  t.drop("a", 9);  // unknown: no-op
  EXPECT_EQ(t.pending(), 1u);
}

TEST(AckTracker, WrittenOutOfOrderStaysSorted) {
  AckTracker t;
  t.written("a", 0, 5);
  t.written("a", 0, 3);  // a seek back: rare, kept sorted
  t.written("a", 0, 3);  // repeated: ignored
  EXPECT_EQ(t.pending(), 2u);
  EXPECT_EQ(t.commit_point("a", 0), 3);
  t.acked("a", 0, 3);
  EXPECT_EQ(t.commit_point("a", 0), 5);
  t.acked("a", 0, 5);
  EXPECT_EQ(t.commit_point("a", 0), 6);
}

TEST(AckTracker, ShuffledAcksFromManyWritersEndAtLastPlusOne) {
  AckTracker t;
  std::vector<int64_t> offsets;
  for (int64_t o = 1000; o < 6000; ++o) {
    t.written("big", 2, o);
    offsets.push_back(o);
  }
  std::mt19937 rng(42);
  std::shuffle(offsets.begin(), offsets.end(), rng);
  int64_t last_point = 1000;
  for (size_t i = 0; i < offsets.size(); ++i) {
    EXPECT_TRUE(t.acked("big", 2, offsets[i]));
    int64_t p = *t.commit_point("big", 2);
    EXPECT_GE(p, last_point);  // never goes back
    last_point = p;
    // The point never passes an offset that is still unacknowledged.
    if (i + 1 < offsets.size()) {
      int64_t lowest = *std::min_element(offsets.begin() + static_cast<long>(i) + 1, offsets.end());
      EXPECT_EQ(p, lowest);
    }
    if (i == 300) break;  // the O(n) check above is enough on a prefix
  }
  for (int64_t o = 1000; o < 6000; ++o) t.acked("big", 2, o);
  EXPECT_EQ(t.commit_point("big", 2), 6000);
  EXPECT_EQ(t.pending(), 0u);
}

TEST(AckTracker, UnwrittenRecordsAreNotAwaitedAndTheCommitPointStaysBeforeThem) {
  AckTracker t;
  for (int64_t o = 0; o < 6; ++o) t.written("users", 1, o);
  for (int64_t o = 0; o < 3; ++o) EXPECT_TRUE(t.acked("users", 1, o));
  // 3, 4, 5 were handed to stdout but never written (the reader went away)
  for (int64_t o = 5; o >= 3; --o) t.unwritten("users", 1, o);
  EXPECT_EQ(t.pending(), 0u);
  EXPECT_EQ(t.commit_point("users", 1), 3);  // not 6: they were never read downstream
  EXPECT_FALSE(t.acked("users", 1, 4));
}
