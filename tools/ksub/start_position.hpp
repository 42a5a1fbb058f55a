#pragma once
// Where ksub starts reading without a consumer group: -o / --since resolved
// to an offset per partition (of -p, or all of each topic's). A group's
// start is the group's committed offset (or auto.offset.reset, see
// consumer_properties). The planning is plain data; only the look-ups by
// time and of the kept offsets ask the broker.
#include <librdkafka/rdkafka.h>

#include <string>
#include <vector>

#include "options.hpp"
#include "positions.hpp"

namespace pipekit::ksub {

// A topic's partitions, as the metadata lists them.
struct TopicLayout {
  std::string topic;
  std::vector<int32_t> partitions;
};
std::vector<TopicLayout> layout_of(const rd_kafka_metadata_t& md);

// -o, or --since as a timestamp (now_ms minus the duration).
StartOffset resolve_start(const Settings& s, int64_t now_ms);

// One position per partition read: `wanted` (-p) or every partition of each
// topic, at `start` in librdkafka's terms (a timestamp is left as the time,
// to be looked up). Throws UsageError for a partition a topic does not have.
std::vector<Position> plan_starts(const std::vector<std::string>& topics, const std::vector<TopicLayout>& layout,
                                  const std::vector<int32_t>& wanted, StartOffset start);

// -o N outside what a partition keeps (low..high) is said, never a silent
// replay from the beginning (auto.offset.reset would do that past the end):
// the nearest kept offset.
int64_t kept_offset(const Position& p, int64_t low, int64_t high);

// The start positions of the partitions to read: planned, then looked up on
// the broker (-o @TS and --since by time, -o N against the kept offsets).
std::vector<Position> start_positions(rd_kafka_t* rk, const rd_kafka_metadata_t& md, const Settings& s,
                                      int64_t now_ms);

}  // namespace pipekit::ksub
