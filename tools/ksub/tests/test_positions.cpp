// Partition positions <-> librdkafka partition lists, and their log form.
#include <gtest/gtest.h>

#include "positions.hpp"

using namespace pipekit::ksub;

TEST(KsubPositions, ListsRoundTrip) {
  std::vector<Position> positions = {{"users", 0, 5}, {"users", 2, RD_KAFKA_OFFSET_END}, {"orders", 1, 0}};
  auto list = to_list(positions);
  ASSERT_EQ(list->cnt, 3);
  EXPECT_EQ(positions_of(list.get()), positions);
  EXPECT_EQ(keys_of(list.get()), (std::vector<PartitionKey>{{"users", 0}, {"users", 2}, {"orders", 1}}));
  EXPECT_EQ(to_list({})->cnt, 0);
}

TEST(KsubPositions, DescribeGroupsPartitionsByTopic) {
  EXPECT_EQ(describe(to_list({}).get()), "nothing");
  EXPECT_EQ(describe(to_list({{"users", 0}, {"users", 1}, {"users", 2}, {"orders", 3}}).get()),
            "users[0,1,2] orders[3]");
}
