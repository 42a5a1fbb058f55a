#include "ack_tracker.hpp"

#include <algorithm>

namespace pipekit {

AckTracker::Partition* AckTracker::find(std::string_view topic, int32_t partition) {
  auto t = topics_.find(topic);
  if (t == topics_.end()) return nullptr;
  auto p = t->second.find(partition);
  return p == t->second.end() ? nullptr : &p->second;
}

const AckTracker::Partition* AckTracker::find(std::string_view topic, int32_t partition) const {
  return const_cast<AckTracker*>(this)->find(topic, partition);
}

void AckTracker::written(std::string_view topic, int32_t partition, int64_t offset) {
  auto t = topics_.find(topic);
  if (t == topics_.end()) t = topics_.emplace(std::string(topic), std::map<int32_t, Partition>{}).first;
  Partition& p = t->second[partition];
  auto& w = p.window;
  if (w.empty() || w.back().first < offset) {
    w.emplace_back(offset, false);  // the usual case: offsets grow
  } else {
    // Rare (a seek back): keep the window sorted, ignore a repeat.
    auto it = std::lower_bound(w.begin(), w.end(), offset,
                               [](const auto& e, int64_t o) { return e.first < o; });
    if (it != w.end() && it->first == offset) return;
    w.insert(it, {offset, false});
  }
  p.next = std::max(p.next, offset + 1);
  ++p.unacked;
  ++pending_;
}

bool AckTracker::acked(std::string_view topic, int32_t partition, int64_t offset) {
  Partition* p = find(topic, partition);
  if (!p) return false;
  auto& w = p->window;
  auto it = std::lower_bound(w.begin(), w.end(), offset,
                             [](const auto& e, int64_t o) { return e.first < o; });
  if (it == w.end() || it->first != offset || it->second) return false;
  it->second = true;
  --p->unacked;
  --pending_;
  while (!w.empty() && w.front().second) w.pop_front();
  return true;
}

std::optional<int64_t> AckTracker::commit_point(std::string_view topic, int32_t partition) const {
  const Partition* p = find(topic, partition);
  if (!p || p->next < 0) return std::nullopt;
  return point(*p);
}

std::vector<AckTracker::Commit> AckTracker::commits_due() const {
  std::vector<Commit> out;
  for (const auto& [topic, parts] : topics_)
    for (const auto& [partition, p] : parts)
      if (p.next >= 0 && point(p) > p.committed) out.push_back({topic, partition, point(p)});
  return out;
}

std::vector<AckTracker::Commit> AckTracker::commit_points() const {
  std::vector<Commit> out;
  for (const auto& [topic, parts] : topics_)
    for (const auto& [partition, p] : parts)
      if (p.next >= 0) out.push_back({topic, partition, point(p)});
  return out;
}

void AckTracker::mark_committed(std::string_view topic, int32_t partition, int64_t offset) {
  if (Partition* p = find(topic, partition)) p->committed = std::max(p->committed, offset);
}

void AckTracker::unwritten(std::string_view topic, int32_t partition, int64_t offset) {
  Partition* p = find(topic, partition);
  if (!p) return;
  auto& w = p->window;
  auto it = std::lower_bound(w.begin(), w.end(), offset, [](const auto& e, int64_t o) { return e.first < o; });
  if (it != w.end() && it->first == offset) {
    if (!it->second) {
      --p->unacked;
      --pending_;
    }
    w.erase(it);
  }
  p->next = std::min(p->next, offset);
}

void AckTracker::drop(std::string_view topic, int32_t partition) {
  auto t = topics_.find(topic);
  if (t == topics_.end()) return;
  auto p = t->second.find(partition);
  if (p == t->second.end()) return;
  pending_ -= p->second.unacked;
  t->second.erase(p);
}

uint64_t AckTracker::pending(std::string_view topic, int32_t partition) const {
  const Partition* p = find(topic, partition);
  return p ? p->unacked : 0;
}

}  // namespace pipekit
