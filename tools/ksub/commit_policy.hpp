#pragma once
// What a group member may commit, per partition, from what reached stdout
// and (with --commit-acks) what downstream acknowledged. Plain data: the
// Kafka calls (store, commit) are made with the positions returned here.
//
// Without --commit-acks: the position after the last record written (stored
// as librdkafka offsets, which the group commits). A revoke whose commit
// failed (kmock refuses commits while a group rebalances) carries the
// position, so that a member given the partition back goes on from there
// instead of replaying from the stale committed offset.
// With --commit-acks: up to the lowest offset written but not yet
// acknowledged (AckTracker), from the ack lines read on the FIFO.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ack_tracker.hpp"
#include "output_pump.hpp"
#include "positions.hpp"

namespace pipekit::ksub {

class CommitPolicy {
 public:
  explicit CommitPolicy(bool acks) : acks_(acks) {}
  bool acks() const { return acks_; }

  // Lines handed to the output: with acks tracked from now on (downstream
  // may read and ack a line before write(2) returns).
  void handed_over(const std::vector<Written>& records);
  // Lines written: without acks, the positions to store, one per partition.
  std::vector<Position> written(const std::vector<Written>& records);
  // Lines that will never be written: not awaited as acks.
  void dropped(const std::vector<Written>& records);

  // Bytes read on the FIFO, in any chunks: the complete lines are taken as
  // acks. Returns how many settled a pending record.
  uint64_t feed_acks(std::string_view bytes);
  // With acks: the partitions whose commit point moved (periodic,
  // asynchronous), or every partition's point (sync: a revoke or the end,
  // in case an asynchronous commit failed); only those of `only` if given.
  std::vector<Position> acked_commits(bool sync, const std::vector<PartitionKey>* only = nullptr) const;
  void committed(const std::vector<Position>& positions);
  uint64_t pending() const { return tracker_.pending(); }

  // Partitions assigned: those given back after a failed revoke commit get
  // their carried position (set in `assigned`, and returned: to store).
  std::vector<Position> resume(std::vector<Position>& assigned);
  // Partitions being revoked: what to commit for them.
  std::vector<Position> revoke_commits(const std::vector<PartitionKey>& parts) const;
  // Positions a revoke could not commit (without acks): carried.
  void carry(const std::vector<Position>& failed);
  // Partitions gone: forgotten (with acks, their pending records are
  // replayed by whoever gets them next).
  void revoked(const std::vector<PartitionKey>& parts);

 private:
  const bool acks_;
  AckTracker tracker_;
  std::string ack_buf_;  // received bytes not yet parsed
  uint64_t bad_acks_ = 0;
  std::map<PartitionKey, int64_t> written_pos_;  // without acks: next offset, as written
  std::map<PartitionKey, int64_t> carried_;
};

}  // namespace pipekit::ksub
