// The partitions ksub reads, and what happens when they change.
#include "assignment.hpp"

#include "pipekit/log.hpp"
#include "start_position.hpp"

namespace pipekit::ksub {

using Clock = std::chrono::steady_clock;

Assignment::Assignment(const Settings& s, KafkaConsumer& kc, PartitionEnds& ends, CommitPolicy& policy,
                       OutputStage& output, std::function<void()> drain_acks)
    : s_(s), kc_(kc), ends_(ends), policy_(policy), output_(output), drain_acks_(std::move(drain_acks)) {}

void Assignment::start(const rd_kafka_metadata_t& md) {
  if (kc_.grouped()) kc_.subscribe(s_.topics);
  else start_without_group(md);
}

void Assignment::start_without_group(const rd_kafka_metadata_t& md) {
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  auto list = to_list(start_positions(kc_.rk(), md, s_, now_ms));
  measure(list.get());
  kc_.start(list.get());
}

// Called before the partitions are assigned: the watermark queries must not
// queue behind fetch requests that the broker holds for fetch.wait.max.ms.
void Assignment::measure(const rd_kafka_topic_partition_list_t* parts) {
  ends_.assigned(measure_ends(kc_.rk(), parts, s_.exit_at_end));
  assigned_at_ = Clock::now();  // a rebalance is not idleness: count from here
}

void Assignment::on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  const bool cooperative = kc_.cooperative();
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) on_assigned(parts, cooperative);
  else on_revoked(err, parts, cooperative);
}

void Assignment::on_assigned(rd_kafka_topic_partition_list_t* parts, bool cooperative) {
  log::info("group {}: assigned {}", s_.group, describe(parts));
  // A partition given back after a revoke whose commit failed starts at the
  // position written before, not at the (stale) committed offset.
  auto assigned = positions_of(parts);
  const auto carried = policy_.resume(assigned);
  for (int i = 0; i < parts->cnt; ++i) parts->elems[i].offset = assigned[i].offset;
  measure(parts);
  kc_.assign(parts, cooperative);
  if (output_.paused()) kc_.pause(parts);  // the output is still behind
  // Positions carried over become stored offsets: the group commits them.
  kc_.store(carried);
  reassigned_ = true;
}

void Assignment::on_revoked(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, bool cooperative) {
  if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
    log::warn("group {}: rebalance error: {}", s_.group, rd_kafka_err2str(err));
  log::info("group {}: revoked {}", s_.group, describe(parts));
  // Lines of revoked partitions go out (and count) before the commit. (A
  // downstream stalled now stalls the rebalance: what was handed over is
  // written first, or the new owner would read it again.)
  output_.drain(false);
  const auto keys = keys_of(parts);
  commit_revoked(keys);
  for (const auto& [topic, partition] : keys) ends_.revoked(topic, partition);
  kc_.unassign(parts, cooperative);
  if (!cooperative) ends_.await_assignment();  // eager: wait for the next assignment
}

void Assignment::commit_revoked(const std::vector<PartitionKey>& parts) {
  if (policy_.acks()) {
    drain_acks_();
    commit_acked(true, &parts);
  } else if (auto written = policy_.revoke_commits(parts); !written.empty()) {
    // Commit what was written of the revoked partitions, explicitly.
    std::vector<Position> failed;
    auto err = kc_.commit(written, false, &failed);
    policy_.carry(failed);
    if (err)
      log::warn("commit on rebalance failed: {}; going on from the written position if the partitions come back",
                rd_kafka_err2str(err));
  }
  policy_.revoked(parts);
}

// Periodic commits are asynchronous and only for partitions that moved; a
// synchronous commit (revoke, exit) sends every partition's point again, in
// case an asynchronous one failed.
void Assignment::commit_acked(bool sync, const std::vector<PartitionKey>* only) {
  auto due = policy_.acked_commits(sync, only);
  if (due.empty()) return;
  if (auto err = kc_.commit(due, !sync)) {
    log::warn("commit failed: {}", rd_kafka_err2str(err));
    return;
  }
  policy_.committed(due);
  log::debug("committed {} partition(s)", due.size());
}

void Assignment::commit_written() {
  auto err = kc_.commit_stored();
  if (err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS) err = commit_through_rebalance();
  if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) log::warn("final commit failed: {}", rd_kafka_err2str(err));
}

// The final commit met a rebalance (kmock refuses commits until the group has
// settled; a real broker accepts them). Take part in the rebalance without
// writing anything more, then commit the written positions once the group
// has given our partitions back.
rd_kafka_resp_err_t Assignment::commit_through_rebalance() {
  log::info("group {} is rebalancing: committing once it has settled", s_.group);
  auto deadline = Clock::now() + std::chrono::seconds(20);
  reassigned_ = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS;
  while (Clock::now() < deadline && !output_.pipe_closed()) {
    if (rd_kafka_message_t* m = kc_.next(100)) rd_kafka_message_destroy(m);  // not written, so never stored
    if (!reassigned_) continue;
    reassigned_ = false;
    err = kc_.commit_stored();
    if (err != RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS) break;
  }
  return err;
}

}  // namespace pipekit::ksub
