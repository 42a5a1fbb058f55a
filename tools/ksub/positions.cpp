// Partition positions <-> librdkafka partition lists.
#include "positions.hpp"

#include <fmt/format.h>

#include <cstring>

namespace pipekit::ksub {

void PartitionListDeleter::operator()(rd_kafka_topic_partition_list_t* list) const {
  if (list) rd_kafka_topic_partition_list_destroy(list);
}

PartitionList to_list(const std::vector<Position>& positions) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(positions.size()) + 1));
  for (const auto& p : positions)
    rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition)->offset = p.offset;
  return list;
}

std::vector<Position> positions_of(const rd_kafka_topic_partition_list_t* list) {
  std::vector<Position> out;
  out.reserve(list->cnt);
  for (int i = 0; i < list->cnt; ++i)
    out.push_back({list->elems[i].topic, list->elems[i].partition, list->elems[i].offset});
  return out;
}

std::vector<PartitionKey> keys_of(const rd_kafka_topic_partition_list_t* list) {
  std::vector<PartitionKey> out;
  out.reserve(list->cnt);
  for (int i = 0; i < list->cnt; ++i) out.emplace_back(list->elems[i].topic, list->elems[i].partition);
  return out;
}

std::string describe(const rd_kafka_topic_partition_list_t* parts) {
  if (parts->cnt == 0) return "nothing";
  std::string out;
  const char* topic = nullptr;
  for (int i = 0; i < parts->cnt; ++i) {
    if (!topic || std::strcmp(topic, parts->elems[i].topic) != 0) {
      if (topic) out += "] ";
      topic = parts->elems[i].topic;
      out += fmt::format("{}[{}", topic, parts->elems[i].partition);
    } else {
      out += fmt::format(",{}", parts->elems[i].partition);
    }
  }
  return out + "]";
}

}  // namespace pipekit::ksub
