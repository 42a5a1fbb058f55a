#pragma once
// ksub's librdkafka consumer: its properties, the handle, and what is done
// with it (subscribe as a group member, or read partitions picked by hand;
// poll; pause; commit; close). What the other parts decide is passed in as
// plain positions (positions.hpp).
#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <vector>

#include "options.hpp"
#include "pipekit/kafka.hpp"
#include "positions.hpp"

namespace pipekit::ksub {

// The consumer's effective properties: tool defaults, -F, env, -X, -b, then
// the settings ksub's guarantees depend on (not overridable).
kafka::Properties consumer_properties(const Settings& s, bool with_group);
// How long to wait for metadata and offset queries: socket.timeout.ms if set
// lower, else 10 s.
int request_timeout_ms(const kafka::Properties& props);
// A handle for --list and --offsets.
kafka::Handle make_consumer(const kafka::Properties& props);
// Throws UsageError (exit 2) with the broker's reason once librdkafka
// reported an authentication failure.
void throw_if_refused();

struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* md) const { rd_kafka_metadata_destroy(md); }
};
using Metadata = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;

// Metadata for `topics` (all topics when empty). Throws ServiceError when no
// broker answers, UsageError at once when the cluster refuses our credentials.
Metadata fetch_metadata(rd_kafka_t* rk, const std::vector<std::string>& topics, int timeout_ms);
// The topics named outright (not ^REGEX): these must exist.
std::vector<std::string> named_topics(const std::vector<std::string>& topics);
// Throws UsageError when a named topic is missing, ServiceError when the
// metadata has another error for it.
void check_topics(const rd_kafka_metadata_t& md, const std::vector<std::string>& named);

// An error message from the consumer: throws for those ksub cannot go on
// from (a topic or partition unknown, access refused, a fatal error), logs
// the others.
void throw_if_fatal(const rd_kafka_message_t& m);

// Receives a group member's rebalance callbacks.
class RebalanceListener {
 public:
  virtual void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) = 0;

 protected:
  ~RebalanceListener() = default;
};

class KafkaConsumer {
 public:
  // A group member (grouped), or a group-less reader.
  KafkaConsumer(const kafka::Properties& props, bool grouped);
  ~KafkaConsumer();
  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  // Who handles the rebalances; without one (none set yet, or the consumer
  // being destroyed) the partitions are only assigned and handed back.
  void set_listener(RebalanceListener* listener) { listener_ = listener; }
  rd_kafka_t* rk() const { return rk_.get(); }
  bool grouped() const { return grouped_; }
  // The group uses the cooperative (incremental) rebalance protocol. Asked
  // once per rebalance, before the assignment changes (closing, librdkafka
  // no longer says).
  bool cooperative() const;

  // Fails early and plainly: brokers unreachable (ServiceError), a named
  // topic missing (UsageError). Returns the topics' metadata.
  Metadata check_topics(const std::vector<std::string>& topics);
  void subscribe(const std::vector<std::string>& topics);
  // Without a group: reads these partitions from their offsets, on one queue.
  void start(const rd_kafka_topic_partition_list_t* list);
  // The next message or event (nullptr: none within timeout_ms).
  rd_kafka_message_t* next(int timeout_ms);
  // Pauses or resumes every partition read; false when the assignment is
  // not known.
  bool set_paused(bool pause);
  void pause(rd_kafka_topic_partition_list_t* parts);
  // A group member's assignment change (incremental with the cooperative protocol).
  void assign(rd_kafka_topic_partition_list_t* parts, bool cooperative);
  void unassign(rd_kafka_topic_partition_list_t* parts, bool cooperative);
  // Stores offsets for the group to commit; errors (a partition just
  // revoked) are only logged.
  void store(const std::vector<Position>& positions);
  // Commits these positions; `failed` (if given) receives those that were
  // not committed.
  rd_kafka_resp_err_t commit(const std::vector<Position>& positions, bool async,
                             std::vector<Position>* failed = nullptr);
  // Commits the stored offsets, synchronously.
  rd_kafka_resp_err_t commit_stored();
  // Leaves the group, or stops the partitions read.
  void close();

 private:
  static void rebalance_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                           void* opaque);
  void stop_partitions();

  const bool grouped_;
  RebalanceListener* listener_ = nullptr;
  const int request_timeout_ms_;
  kafka::Handle rk_;
  // Without a group: the partitions read with librdkafka's group-less
  // (simple) consumer, all forwarded to one queue.
  rd_kafka_queue_t* queue_ = nullptr;
  std::vector<std::pair<rd_kafka_topic_t*, int32_t>> started_;
  uint32_t polls_ = 0;
};

}  // namespace pipekit::ksub
