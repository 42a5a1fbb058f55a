#pragma once
// -e: which of the assigned partitions reached their end. A partition is at
// its end once it reached the high watermark it had when it was assigned, or
// librdkafka reported its EOF; one with nothing to read (high == low) is at
// its end at once. A group re-measures after each rebalance, and waits for
// the next assignment after an eager revoke. Plain data: the watermarks are
// measured by measure_ends().
#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pipekit::ksub {

class PartitionEnds {
 public:
  struct Range {
    std::string topic;
    int32_t partition = 0;
    int64_t low = -1;   // -1: not measured
    int64_t high = -1;
  };

  // Partitions assigned (and an assignment seen).
  void assigned(const std::vector<Range>& parts);
  void revoked(std::string_view topic, int32_t partition);
  // An eager revoke took everything: no end until the next assignment.
  void await_assignment() { assignment_seen_ = false; }
  // librdkafka said the partition is at its end.
  void reached_eof(std::string_view topic, int32_t partition);
  // A record was read: true when it is the last one before its partition's end.
  bool record(std::string_view topic, int32_t partition, int64_t offset);
  bool all_at_end() const;
  size_t size() const { return parts_.size(); }

 private:
  struct State {
    int64_t end = -1;
    bool at_end = false;
  };
  State* find(std::string_view topic, int32_t partition);

  std::map<std::pair<std::string, int32_t>, State, std::less<>> parts_;
  bool assignment_seen_ = false;
  // The last partition looked up: records come in runs of one partition.
  std::string cache_topic_;
  int32_t cache_partition_ = -1;
  State* cache_state_ = nullptr;
};

// The partitions with their low and high watermarks when `measure` (-e), in
// one ListOffsets request per leader for all of them; else unmeasured.
std::vector<PartitionEnds::Range> measure_ends(rd_kafka_t* rk, const rd_kafka_topic_partition_list_t* parts,
                                               bool measure);

}  // namespace pipekit::ksub
