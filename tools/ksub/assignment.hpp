#pragma once
// The partitions ksub reads, and what happens when they change. Without a
// group: the partitions picked (start_position.hpp), started once. As a
// group member: librdkafka's rebalance callbacks. On an assignment, a
// partition given back after a failed revoke commit resumes from the written
// position, and the ends (-e) are measured; on a revoke, what was handed to
// stdout is written first and committed (or, with --commit-acks, what was
// acknowledged) before the partitions go. Also the group's commits: the
// acknowledged offsets, and the final commit, through a rebalance if need be.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <functional>
#include <vector>

#include "commit_policy.hpp"
#include "kafka_consumer.hpp"
#include "options.hpp"
#include "output_stage.hpp"
#include "partition_ends.hpp"

namespace pipekit::ksub {

class Assignment : public RebalanceListener {
 public:
  // drain_acks reads what arrived on the --commit-acks FIFO into `policy`.
  Assignment(const Settings& s, KafkaConsumer& kc, PartitionEnds& ends, CommitPolicy& policy, OutputStage& output,
             std::function<void()> drain_acks);

  // Subscribes (a group), or starts the partitions picked (no group).
  void start(const rd_kafka_metadata_t& md);
  void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) override;
  // When the last assignment came (a rebalance is not idleness).
  std::chrono::steady_clock::time_point assigned_at() const { return assigned_at_; }

  // --commit-acks: commits the acknowledged offsets (periodic: async, the
  // partitions that moved; sync: all of them), of `only` if given.
  void commit_acked(bool sync, const std::vector<PartitionKey>* only = nullptr);
  // Without --commit-acks, at the end: commits the written (stored) offsets.
  void commit_written();

 private:
  void start_without_group(const rd_kafka_metadata_t& md);
  void on_assigned(rd_kafka_topic_partition_list_t* parts, bool cooperative);
  void on_revoked(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, bool cooperative);
  void commit_revoked(const std::vector<PartitionKey>& parts);
  void measure(const rd_kafka_topic_partition_list_t* parts);
  rd_kafka_resp_err_t commit_through_rebalance();

  const Settings& s_;
  KafkaConsumer& kc_;
  PartitionEnds& ends_;
  CommitPolicy& policy_;
  OutputStage& output_;
  std::function<void()> drain_acks_;
  std::chrono::steady_clock::time_point assigned_at_{};
  bool reassigned_ = false;
};

}  // namespace pipekit::ksub
