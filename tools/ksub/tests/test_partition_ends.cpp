// -e bookkeeping: a partition is at its end once it reached the high
// watermark it had when assigned, or its EOF came.
#include <gtest/gtest.h>

#include "partition_ends.hpp"

using pipekit::ksub::PartitionEnds;

TEST(KsubEnds, NothingAssignedIsNotTheEnd) {
  PartitionEnds ends;
  EXPECT_FALSE(ends.all_at_end());  // before any assignment
  ends.assigned({});
  EXPECT_TRUE(ends.all_at_end());   // a member assigned nothing exits
}

TEST(KsubEnds, TheLastRecordBeforeTheHighWatermarkEndsAPartition) {
  PartitionEnds ends;
  ends.assigned({{"users", 0, 0, 3}, {"users", 1, 0, 2}});
  EXPECT_FALSE(ends.record("users", 0, 0));
  EXPECT_FALSE(ends.record("users", 0, 1));
  EXPECT_TRUE(ends.record("users", 0, 2));
  EXPECT_FALSE(ends.record("users", 0, 3));  // said once
  EXPECT_FALSE(ends.all_at_end());
  EXPECT_TRUE(ends.record("users", 1, 1));
  EXPECT_TRUE(ends.all_at_end());
}

TEST(KsubEnds, EmptyPartitionsAreAtTheirEndAtOnceUnmeasuredOnlyByEof) {
  PartitionEnds ends;
  ends.assigned({{"users", 0, 7, 7}, {"users", 1}});
  EXPECT_FALSE(ends.all_at_end());
  EXPECT_FALSE(ends.record("users", 1, 100));  // no watermark: only the EOF says
  ends.reached_eof("users", 1);
  EXPECT_TRUE(ends.all_at_end());
  ends.reached_eof("orders", 0);  // not ours: ignored
  EXPECT_EQ(ends.size(), 2u);
}

TEST(KsubEnds, RebalancesRemeasureAndEagerRevokesWaitForTheNextAssignment) {
  PartitionEnds ends;
  ends.assigned({{"users", 0, 0, 5}, {"users", 1, 0, 5}});
  ends.reached_eof("users", 0);
  ends.revoked("users", 1);  // cooperative: the rest stays
  EXPECT_TRUE(ends.all_at_end());
  ends.await_assignment();   // eager: everything went
  ends.revoked("users", 0);
  EXPECT_FALSE(ends.all_at_end());
  ends.assigned({{"users", 1, 0, 9}});
  EXPECT_FALSE(ends.all_at_end());
  EXPECT_FALSE(ends.record("users", 1, 4));  // the new end, not the old one
  EXPECT_TRUE(ends.record("users", 1, 8));
  EXPECT_TRUE(ends.all_at_end());
}

TEST(KsubEnds, UnmeasuredWithoutExitAtEnd) {
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(2);
  rd_kafka_topic_partition_list_add(parts, "users", 0);
  rd_kafka_topic_partition_list_add(parts, "users", 3);
  auto ranges = pipekit::ksub::measure_ends(nullptr, parts, false);  // no query made
  rd_kafka_topic_partition_list_destroy(parts);
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[1].topic, "users");
  EXPECT_EQ(ranges[1].partition, 3);
  EXPECT_EQ(ranges[1].high, -1);
}
