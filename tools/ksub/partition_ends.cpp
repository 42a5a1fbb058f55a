// -e bookkeeping: which assigned partitions reached their end.
#include "partition_ends.hpp"

namespace pipekit::ksub {

void PartitionEnds::assigned(const std::vector<Range>& parts) {
  cache_state_ = nullptr;
  cache_partition_ = -1;
  for (const auto& r : parts) {
    State st;
    st.end = r.high;
    // Nothing to read at all: at its end already (no EOF needed).
    if (r.high >= 0 && r.high == r.low) st.at_end = true;
    parts_[{r.topic, r.partition}] = st;
  }
  assignment_seen_ = true;
}

void PartitionEnds::revoked(std::string_view topic, int32_t partition) {
  parts_.erase(std::pair<std::string, int32_t>(topic, partition));
  cache_state_ = nullptr;
  cache_partition_ = -1;
}

PartitionEnds::State* PartitionEnds::find(std::string_view topic, int32_t partition) {
  if (partition == cache_partition_ && topic == cache_topic_) return cache_state_;
  auto it = parts_.find(std::pair<std::string, int32_t>(topic, partition));
  cache_topic_ = topic;
  cache_partition_ = partition;
  cache_state_ = it == parts_.end() ? nullptr : &it->second;
  return cache_state_;
}

void PartitionEnds::reached_eof(std::string_view topic, int32_t partition) {
  if (State* s = find(topic, partition)) s->at_end = true;
}

bool PartitionEnds::record(std::string_view topic, int32_t partition, int64_t offset) {
  State* s = find(topic, partition);
  if (!s || s->at_end || s->end < 0 || offset + 1 < s->end) return false;
  s->at_end = true;
  return true;
}

bool PartitionEnds::all_at_end() const {
  if (!assignment_seen_) return false;
  for (const auto& [k, s] : parts_)
    if (!s.at_end) return false;
  return true;
}

std::vector<PartitionEnds::Range> measure_ends(rd_kafka_t* rk, const rd_kafka_topic_partition_list_t* parts,
                                               bool measure) {
  std::vector<PartitionEnds::Range> out;
  for (int i = 0; i < parts->cnt; ++i) out.push_back({parts->elems[i].topic, parts->elems[i].partition});
  if (!measure || parts->cnt == 0) return out;
  // One ListOffsets request per leader for all partitions (-1: latest,
  // -2: earliest), instead of one round trip per partition.
  for (int64_t marker : {RD_KAFKA_OFFSET_END, RD_KAFKA_OFFSET_BEGINNING}) {
    rd_kafka_topic_partition_list_t* q = rd_kafka_topic_partition_list_copy(parts);
    for (int i = 0; i < q->cnt; ++i) q->elems[i].offset = marker;
    if (rd_kafka_offsets_for_times(rk, q, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR)
      for (int i = 0; i < q->cnt; ++i)
        if (!q->elems[i].err) (marker == RD_KAFKA_OFFSET_END ? out[i].high : out[i].low) = q->elems[i].offset;
    rd_kafka_topic_partition_list_destroy(q);
  }
  return out;
}

}  // namespace pipekit::ksub
