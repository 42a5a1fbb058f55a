// What a group member may commit, per partition.
#include "commit_policy.hpp"

#include <algorithm>

#include "pipekit/acks.hpp"
#include "pipekit/log.hpp"

namespace pipekit::ksub {

void CommitPolicy::handed_over(const std::vector<Written>& records) {
  if (acks_)
    for (const auto& w : records) tracker_.written(w.topic, w.partition, w.offset);
}

std::vector<Position> CommitPolicy::written(const std::vector<Written>& records) {
  std::vector<Position> out;
  if (acks_) return out;
  Position* last = nullptr;
  for (const auto& w : records) {
    if (!last || last->partition != w.partition || w.topic != last->topic) {
      auto it = std::find_if(out.begin(), out.end(),
                             [&](const Position& p) { return p.partition == w.partition && p.topic == w.topic; });
      last = it != out.end() ? &*it : &out.emplace_back(Position{w.topic, w.partition, RD_KAFKA_OFFSET_INVALID});
    }
    last->offset = std::max(last->offset, w.offset + 1);
  }
  for (const auto& p : out) written_pos_[{p.topic, p.partition}] = p.offset;
  return out;
}

void CommitPolicy::dropped(const std::vector<Written>& records) {
  if (acks_)
    for (const auto& w : records) tracker_.unwritten(w.topic, w.partition, w.offset);
}

uint64_t CommitPolicy::feed_acks(std::string_view bytes) {
  ack_buf_ += bytes;
  uint64_t settled = 0;
  size_t start = 0;
  for (size_t nl; (nl = ack_buf_.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(ack_buf_.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    auto ack = parse_ack(line);
    if (!ack) {
      if (bad_acks_++ < 5) log::warn("ignoring a line on --commit-acks that is not an ack: {:.80}", line);
      continue;
    }
    if (tracker_.acked(ack->topic, ack->partition, ack->offset)) ++settled;
  }
  ack_buf_.erase(0, start);
  return settled;
}

std::vector<Position> CommitPolicy::acked_commits(bool sync, const std::vector<PartitionKey>* only) const {
  std::vector<Position> out;
  for (auto& c : sync ? tracker_.commit_points() : tracker_.commits_due()) {
    if (only && std::find(only->begin(), only->end(), PartitionKey{c.topic, c.partition}) == only->end()) continue;
    out.push_back({std::move(c.topic), c.partition, c.offset});
  }
  return out;
}

void CommitPolicy::committed(const std::vector<Position>& positions) {
  for (const auto& p : positions) tracker_.mark_committed(p.topic, p.partition, p.offset);
}

std::vector<Position> CommitPolicy::resume(std::vector<Position>& assigned) {
  std::vector<Position> out;
  for (auto& p : assigned) {
    auto it = carried_.find({p.topic, p.partition});
    if (it != carried_.end()) p.offset = it->second;
    if (p.offset >= 0) {
      out.push_back(p);
      written_pos_[{p.topic, p.partition}] = p.offset;
    }
  }
  carried_.clear();  // partitions not given back are someone else's now
  return out;
}

std::vector<Position> CommitPolicy::revoke_commits(const std::vector<PartitionKey>& parts) const {
  if (acks_) return acked_commits(true, &parts);
  std::vector<Position> out;
  for (const auto& k : parts)
    if (auto it = written_pos_.find(k); it != written_pos_.end()) out.push_back({k.first, k.second, it->second});
  return out;
}

void CommitPolicy::carry(const std::vector<Position>& failed) {
  for (const auto& p : failed) carried_[{p.topic, p.partition}] = p.offset;
}

void CommitPolicy::revoked(const std::vector<PartitionKey>& parts) {
  for (const auto& k : parts) {
    if (acks_) tracker_.drop(k.first, k.second);
    written_pos_.erase(k);
  }
}

}  // namespace pipekit::ksub
