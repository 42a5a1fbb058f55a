#pragma once
// ksub --commit-acks: which offsets may be committed, per partition, given
// what was written to stdout and what downstream acknowledged (docs/conventions.md).
// The commit offset of a partition is its lowest offset written but not yet
// acknowledged, or the last written offset + 1 when every one is acknowledged.
// Acks arrive out of order and from several writers; an ack for an offset that
// was never written (or was already acknowledged) is ignored.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pipekit {

class AckTracker {
 public:
  struct Commit {
    std::string topic;
    int32_t partition;
    int64_t offset;  // the next offset to read: everything before it is done
  };

  // A record's line reached stdout.
  void written(std::string_view topic, int32_t partition, int64_t offset);
  // A record handed to stdout was never written after all (the reader went
  // away, or ksub stopped first): it is no longer pending, and the commit
  // point does not pass it.
  void unwritten(std::string_view topic, int32_t partition, int64_t offset);
  // An ack line arrived; true when it settled a record that was pending.
  bool acked(std::string_view topic, int32_t partition, int64_t offset);

  // Where a partition may be committed now; nullopt when nothing was written.
  std::optional<int64_t> commit_point(std::string_view topic, int32_t partition) const;
  // Partitions whose commit point moved past what mark_committed last saw.
  std::vector<Commit> commits_due() const;
  // Every partition's commit point (for a final or revoke-time commit, which
  // must not trust that an earlier asynchronous commit succeeded).
  std::vector<Commit> commit_points() const;
  void mark_committed(std::string_view topic, int32_t partition, int64_t offset);

  // Forget a partition (it was revoked): its pending records are replayed by
  // whoever gets it next.
  void drop(std::string_view topic, int32_t partition);

  uint64_t pending() const { return pending_; }
  uint64_t pending(std::string_view topic, int32_t partition) const;

 private:
  struct Partition {
    // Written offsets not yet acked past, ascending; .second = acknowledged.
    // Only the front matters for the commit point, so acked records are
    // popped once everything before them is acked too.
    std::deque<std::pair<int64_t, bool>> window;
    uint64_t unacked = 0;
    int64_t next = -1;       // last written + 1
    int64_t committed = -1;  // last offset handed to mark_committed
  };
  Partition* find(std::string_view topic, int32_t partition);
  const Partition* find(std::string_view topic, int32_t partition) const;
  static int64_t point(const Partition& p) {
    return p.window.empty() ? p.next : p.window.front().first;
  }

  std::map<std::string, std::map<int32_t, Partition>, std::less<>> topics_;
  uint64_t pending_ = 0;
};

}  // namespace pipekit
