// Where ksub starts reading without a consumer group.
#include "start_position.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "pipekit/errors.hpp"
#include "pipekit/log.hpp"

namespace pipekit::ksub {
namespace {

int64_t logical_offset(StartOffset start) {
  switch (start.kind) {
    case StartOffset::beginning: return RD_KAFKA_OFFSET_BEGINNING;
    case StartOffset::end: return RD_KAFKA_OFFSET_END;
    case StartOffset::tail: return RD_KAFKA_OFFSET_TAIL(start.value);
    case StartOffset::absolute:
    case StartOffset::timestamp: return start.value;
    case StartOffset::stored: break;  // validate() leaves it to groups
  }
  return RD_KAFKA_OFFSET_STORED;
}

void clamp_to_kept_offsets(rd_kafka_t* rk, std::vector<Position>& starts) {
  for (auto& p : starts) {
    int64_t low = -1, high = -1;
    auto err = rd_kafka_query_watermark_offsets(rk, p.topic.c_str(), p.partition, &low, &high, 10000);
    if (err) throw ServiceError(fmt::format("cannot read the offsets of {} partition {}: {}", p.topic, p.partition,
                                            rd_kafka_err2str(err)));
    p.offset = kept_offset(p, low, high);
  }
}

// The first offset at or after the time; a partition without one starts at
// its end, and says so (librdkafka's mock cluster, behind kmock, never finds
// one: it does not look up offsets by time).
void look_up_times(rd_kafka_t* rk, std::vector<Position>& starts, int64_t ts_ms) {
  auto list = to_list(starts);
  auto err = rd_kafka_offsets_for_times(rk, list.get(), 10000);
  if (err) throw ServiceError(fmt::format("cannot look up offsets by time: {}", rd_kafka_err2str(err)));
  starts = positions_of(list.get());
  bool none = false;
  for (auto& p : starts) {
    if (p.offset >= 0) continue;
    p.offset = RD_KAFKA_OFFSET_END;
    none = true;
    log::info("{} partition {}: no record at or after {} ms: starting at the end", p.topic, p.partition, ts_ms);
  }
  if (!none) return;
  std::string id;
  if (char* c = rd_kafka_clusterid(rk, 5000)) {
    id = c;
    rd_kafka_mem_free(rk, c);
  }
  if (id.rfind("mockCluster", 0) == 0)
    log::warn("the broker is a mock cluster (kmock), which does not look up offsets by time: "
              "--since and -o @TIMESTAMP start at the end there");
}

}  // namespace

std::vector<TopicLayout> layout_of(const rd_kafka_metadata_t& md) {
  std::vector<TopicLayout> out;
  for (int i = 0; i < md.topic_cnt; ++i) {
    TopicLayout t{md.topics[i].topic, {}};
    for (int j = 0; j < md.topics[i].partition_cnt; ++j) t.partitions.push_back(md.topics[i].partitions[j].id);
    out.push_back(std::move(t));
  }
  return out;
}

StartOffset resolve_start(const Settings& s, int64_t now_ms) {
  if (s.since_ms) return {StartOffset::timestamp, now_ms - *s.since_ms};
  return s.start;
}

std::vector<Position> plan_starts(const std::vector<std::string>& topics, const std::vector<TopicLayout>& layout,
                                  const std::vector<int32_t>& wanted, StartOffset start) {
  std::vector<Position> out;
  for (const auto& name : topics) {
    const TopicLayout* t = nullptr;
    for (const auto& l : layout)
      if (l.topic == name) t = &l;
    static const TopicLayout none;
    if (!t) t = &none;  // checked to exist before: not reached
    const std::vector<int32_t>& parts = wanted.empty() ? t->partitions : wanted;
    for (int32_t p : parts) {
      if (std::find(t->partitions.begin(), t->partitions.end(), p) == t->partitions.end())
        throw UsageError(fmt::format("topic {} has no partition {} ({} partitions)", name, p, t->partitions.size()));
      out.push_back({name, p, logical_offset(start)});
    }
  }
  return out;
}

int64_t kept_offset(const Position& p, int64_t low, int64_t high) {
  if (p.offset > high) {
    log::warn("{} partition {}: offset {} is past its end ({}): starting at the end", p.topic, p.partition, p.offset,
              high);
    return high;
  }
  if (p.offset < low) {
    log::warn("{} partition {}: offset {} is no longer kept (the first is {}): starting there", p.topic, p.partition,
              p.offset, low);
    return low;
  }
  return p.offset;
}

std::vector<Position> start_positions(rd_kafka_t* rk, const rd_kafka_metadata_t& md, const Settings& s,
                                      int64_t now_ms) {
  const StartOffset start = resolve_start(s, now_ms);
  auto starts = plan_starts(s.topics, layout_of(md), s.partitions, start);
  if (start.kind == StartOffset::timestamp) look_up_times(rk, starts, start.value);
  if (start.kind == StartOffset::absolute) clamp_to_kept_offsets(rk, starts);
  return starts;
}

}  // namespace pipekit::ksub
