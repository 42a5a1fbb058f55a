// Where ksub starts reading without a group: -o and --since per partition.
#include <gtest/gtest.h>

#include "pipekit/errors.hpp"
#include "start_position.hpp"

using namespace pipekit;
using ksub::Position;
using ksub::StartOffset;

namespace {
const std::vector<ksub::TopicLayout> kLayout = {{"users", {0, 1, 2}}, {"orders", {0}}};
}

TEST(KsubStart, SinceIsATimestampBeforeNow) {
  ksub::Settings s;
  s.since_ms = 600000;
  auto start = ksub::resolve_start(s, 1'000'000'000);
  EXPECT_EQ(start.kind, StartOffset::timestamp);
  EXPECT_EQ(start.value, 1'000'000'000 - 600000);
  s.since_ms.reset();
  s.start = {StartOffset::absolute, 42};
  EXPECT_EQ(ksub::resolve_start(s, 1).kind, StartOffset::absolute);
  EXPECT_EQ(ksub::resolve_start(s, 1).value, 42);
}

TEST(KsubStart, EveryPartitionOfEachTopicInLibrdkafkaTerms) {
  auto starts = ksub::plan_starts({"users", "orders"}, kLayout, {}, {StartOffset::beginning, 0});
  EXPECT_EQ(starts, (std::vector<Position>{{"users", 0, RD_KAFKA_OFFSET_BEGINNING},
                                           {"users", 1, RD_KAFKA_OFFSET_BEGINNING},
                                           {"users", 2, RD_KAFKA_OFFSET_BEGINNING},
                                           {"orders", 0, RD_KAFKA_OFFSET_BEGINNING}}));
  EXPECT_EQ(ksub::plan_starts({"orders"}, kLayout, {}, {StartOffset::end, 0}).at(0).offset, RD_KAFKA_OFFSET_END);
  EXPECT_EQ(ksub::plan_starts({"orders"}, kLayout, {}, {StartOffset::tail, 10}).at(0).offset,
            RD_KAFKA_OFFSET_TAIL(10));
  EXPECT_EQ(ksub::plan_starts({"orders"}, kLayout, {}, {StartOffset::absolute, 1042}).at(0).offset, 1042);
  // A time stays the time: looked up on the broker afterwards.
  EXPECT_EQ(ksub::plan_starts({"orders"}, kLayout, {}, {StartOffset::timestamp, 1732147200123}).at(0).offset,
            1732147200123);
}

TEST(KsubStart, PickedPartitionsMustExist) {
  auto starts = ksub::plan_starts({"users"}, kLayout, {2, 0}, {StartOffset::beginning, 0});
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[0].partition, 2);
  EXPECT_EQ(starts[1].partition, 0);
  try {
    ksub::plan_starts({"users"}, kLayout, {3}, {StartOffset::beginning, 0});
    ADD_FAILURE();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "topic users has no partition 3 (3 partitions)");
  }
}

TEST(KsubStart, AnOffsetOutsideWhatIsKeptMovesToTheNearestKept) {
  EXPECT_EQ(ksub::kept_offset({"users", 0, 50}, 10, 100), 50);
  EXPECT_EQ(ksub::kept_offset({"users", 0, 500}, 10, 100), 100);  // past the end: the end
  EXPECT_EQ(ksub::kept_offset({"users", 0, 3}, 10, 100), 10);     // deleted: the first kept
  EXPECT_EQ(ksub::kept_offset({"users", 0, 100}, 10, 100), 100);
}

TEST(KsubStart, LayoutFromMetadata) {
  rd_kafka_metadata_partition_t parts[2] = {};
  parts[0].id = 0;
  parts[1].id = 1;
  rd_kafka_metadata_topic_t topic = {};
  topic.topic = const_cast<char*>("users");
  topic.partition_cnt = 2;
  topic.partitions = parts;
  rd_kafka_metadata_t md = {};
  md.topic_cnt = 1;
  md.topics = &topic;
  auto layout = ksub::layout_of(md);
  ASSERT_EQ(layout.size(), 1u);
  EXPECT_EQ(layout[0].topic, "users");
  EXPECT_EQ(layout[0].partitions, (std::vector<int32_t>{0, 1}));
}
