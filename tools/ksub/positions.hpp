#pragma once
// Partition positions as plain data, and librdkafka's partition lists made
// from them and back: the parts of ksub that decide offsets work on these,
// so that they are tested without a broker.
#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pipekit::ksub {

// A partition and an offset in it: where to start, or the next offset to
// read (what a commit records). librdkafka's logical offsets (beginning,
// end, tail) keep their RD_KAFKA_OFFSET_* values.
struct Position {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = RD_KAFKA_OFFSET_INVALID;
  bool operator==(const Position&) const = default;
};

using PartitionKey = std::pair<std::string, int32_t>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const;
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

PartitionList to_list(const std::vector<Position>& positions);
std::vector<Position> positions_of(const rd_kafka_topic_partition_list_t* list);
std::vector<PartitionKey> keys_of(const rd_kafka_topic_partition_list_t* list);

// "users[0,1,2] orders[3]" (or "nothing"), for rebalance log lines.
std::string describe(const rd_kafka_topic_partition_list_t* parts);

}  // namespace pipekit::ksub
