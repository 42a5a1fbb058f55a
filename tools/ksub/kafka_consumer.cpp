// ksub's librdkafka consumer: properties, handle, subscription or partitions
// picked by hand, polling, pausing, commits.
#include "kafka_consumer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

#include "pipekit/errors.hpp"
#include "pipekit/log.hpp"

namespace pipekit::ksub {
namespace {

void set_prop(kafka::Properties& props, const std::string& key, const std::string& value) {
  for (auto& [k, v] : props)
    if (k == key) {
      v = value;
      return;
    }
  props.emplace_back(key, value);
}

kafka::Properties tool_defaults() {
  // Fetch tuning, measured on a real broker (docs/performance.md, "ksub's
  // memory"): librdkafka's default prefetch queue (64 MiB) was most of the
  // RSS of a whole `pipekit load` and bought no speed. 4 MiB reads as fast,
  // provided a full queue is re-checked after 10 ms, not librdkafka's 1 s
  // (fetch.queue.backoff.ms), which stalled smaller queues before. A queued
  // record keeps its whole fetch response in memory, so responses are kept
  // to 256 KiB per partition: behind a slow stdout that held 16 MiB less at
  // the same speed. All stay overridable (-X, -F).
  kafka::Properties defaults = {
      {"client.id", "ksub"},
      {"auto.offset.reset", "earliest"},
      {"max.partition.fetch.bytes", "262144"},
  };
  // fetch.queue.backoff.ms exists from librdkafka 2.4 on (the build's own is
  // newer); a system librdkafka 2.0 keeps its 64 MiB queue instead.
  if (rd_kafka_version() >= 0x020400ff) {
    defaults.emplace_back("queued.max.messages.kbytes", "4096");
    defaults.emplace_back("fetch.queue.backoff.ms", "10");
  }
  return defaults;
}

void set_group_props(kafka::Properties& props, const Settings& s) {
  set_prop(props, "group.id", s.group);
  // The consumer group protocol (KIP-848, -X group.protocol=consumer) keeps
  // session and heartbeat timing on the broker and refuses these client
  // settings; pipekit passes them for the classic protocol.
  const bool broker_side = std::any_of(props.begin(), props.end(), [](const auto& kv) {
    return kv.first == "group.protocol" && kv.second == "consumer";
  });
  if (broker_side)
    std::erase_if(props, [](const auto& kv) {
      if (kv.first != "session.timeout.ms" && kv.first != "heartbeat.interval.ms" &&
          kv.first != "partition.assignment.strategy")
        return false;
      log::debug("group.protocol=consumer: {} is the broker's, {} ignored", kv.first, kv.second);
      return true;
    });
  set_prop(props, "enable.auto.commit", s.acks() ? "false" : "true");
  if (!s.auto_offset_reset.empty()) set_prop(props, "auto.offset.reset", s.auto_offset_reset);
}

// The first "the cluster refused our credentials" librdkafka reported (its
// threads call log_cb; the consumer's metadata wait reads it).
std::mutex auth_mutex;
std::string auth_failure;

void log_cb(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  // librdkafka's own diagnostics: connection trouble is a warning, the rest debug.
  if (level <= 3 && std::strstr(buf, "SASL authentication error")) {
    std::lock_guard lock(auth_mutex);
    if (auth_failure.empty()) auth_failure = buf;
    return;  // said once, as the error ksub exits with
  }
  if (level <= 3) log::warn("kafka: {}: {}", fac, buf);
  else log::debug("kafka: {}: {}", fac, buf);
}

}  // namespace

kafka::Properties consumer_properties(const Settings& s, bool with_group) {
  auto props = kafka::resolve(s.kafka, tool_defaults());
  // What ksub's guarantees rest on: never overridable.
  set_prop(props, "enable.auto.offset.store", "false");
  set_prop(props, "enable.partition.eof", "true");
  if (with_group) {
    set_group_props(props, s);
  } else {
    // No group at all: a group.id would make librdkafka look up a group
    // coordinator (FindCoordinator), which a cluster that grants this user
    // no group rights refuses. Without -G ksub reads partitions it picks
    // itself and commits nothing.
    std::erase_if(props, [](const auto& kv) { return kv.first == "group.id"; });
    set_prop(props, "enable.auto.commit", "false");
  }
  return props;
}

int request_timeout_ms(const kafka::Properties& props) {
  for (const auto& [k, v] : props)
    if (k == "socket.timeout.ms") {
      try {
        return std::clamp(std::stoi(v), 100, 10000);
      } catch (const std::exception&) {
      }
    }
  return 10000;
}

void throw_if_refused() {
  std::lock_guard lock(auth_mutex);
  // No retry fixes credentials: exit 2 with the broker's reason at once.
  if (!auth_failure.empty()) throw UsageError("the cluster refused us: " + auth_failure);
}

kafka::Handle make_consumer(const kafka::Properties& props) {
  rd_kafka_conf_t* conf = kafka::make_conf(props);
  rd_kafka_conf_set_log_cb(conf, log_cb);
  return kafka::make_handle(RD_KAFKA_CONSUMER, conf);
}

Metadata fetch_metadata(rd_kafka_t* rk, const std::vector<std::string>& topics, int timeout_ms) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
  rd_kafka_topic_t* rkt = topics.size() == 1 ? rd_kafka_topic_new(rk, topics[0].c_str(), nullptr) : nullptr;
  // In short slices: an authentication failure ends the wait at once.
  for (int waited = 0; waited < timeout_ms; waited += 250) {
    err = rd_kafka_metadata(rk, rkt ? 0 : 1, rkt, &md, std::min(250, timeout_ms - waited));
    if (err != RD_KAFKA_RESP_ERR__TIMED_OUT && err != RD_KAFKA_RESP_ERR__TRANSPORT) break;
    try {
      throw_if_refused();
    } catch (...) {
      if (rkt) rd_kafka_topic_destroy(rkt);
      throw;
    }
  }
  if (rkt) rd_kafka_topic_destroy(rkt);
  if (err) throw ServiceError(fmt::format("cannot get metadata from the brokers: {}", rd_kafka_err2str(err)));
  return Metadata(md);
}

std::vector<std::string> named_topics(const std::vector<std::string>& topics) {
  std::vector<std::string> named;
  for (const auto& t : topics)
    if (t.empty() || t[0] != '^') named.push_back(t);
  return named;
}

void check_topics(const rd_kafka_metadata_t& md, const std::vector<std::string>& named) {
  for (const auto& name : named) {
    bool found = false;
    for (int i = 0; i < md.topic_cnt; ++i)
      if (name == md.topics[i].topic) {
        if (md.topics[i].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) break;
        if (md.topics[i].err)
          throw ServiceError(fmt::format("topic {}: {}", name, rd_kafka_err2str(md.topics[i].err)));
        found = true;
      }
    if (!found) throw UsageError("topic " + name + " not found");
  }
}

void throw_if_fatal(const rd_kafka_message_t& m) {
  switch (m.err) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      throw UsageError(fmt::format("{}{}", m.rkt ? std::string(rd_kafka_topic_name(m.rkt)) + ": " : "",
                                   rd_kafka_message_errstr(&m)));
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
      throw UsageError(rd_kafka_err2str(m.err));
    case RD_KAFKA_RESP_ERR__FATAL:
      throw ServiceError(rd_kafka_message_errstr(&m));
    default:
      log::warn("kafka: {}", rd_kafka_message_errstr(&m));
  }
}

// ---- the live consumer -------------------------------------------------------

KafkaConsumer::KafkaConsumer(const kafka::Properties& props, bool grouped)
    : grouped_(grouped), request_timeout_ms_(request_timeout_ms(props)) {
  rd_kafka_conf_t* conf = kafka::make_conf(props);
  rd_kafka_conf_set_log_cb(conf, log_cb);
  rd_kafka_conf_set_opaque(conf, this);
  if (grouped) rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
  rk_ = kafka::make_handle(RD_KAFKA_CONSUMER, conf);
  rd_kafka_poll_set_consumer(rk_.get());
}

KafkaConsumer::~KafkaConsumer() { stop_partitions(); }

void KafkaConsumer::rebalance_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                                 void* opaque) {
  auto* self = static_cast<KafkaConsumer*>(opaque);
  if (self->listener_) self->listener_->on_rebalance(err, parts);
  else if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) self->assign(parts, self->cooperative());
  else self->unassign(parts, self->cooperative());
}

Metadata KafkaConsumer::check_topics(const std::vector<std::string>& topics) {
  auto named = named_topics(topics);
  Metadata md = fetch_metadata(rk_.get(), named, request_timeout_ms_);
  ksub::check_topics(*md, named);
  return md;
}

void KafkaConsumer::subscribe(const std::vector<std::string>& topics) {
  PartitionList subs(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& t : topics) rd_kafka_topic_partition_list_add(subs.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  auto err = rd_kafka_subscribe(rk_.get(), subs.get());
  if (err) throw UsageError(fmt::format("cannot subscribe: {}", rd_kafka_err2str(err)));
}

void KafkaConsumer::start(const rd_kafka_topic_partition_list_t* list) {
  // librdkafka's assign() needs a group.id; its simple consumer does not.
  queue_ = rd_kafka_queue_new(rk_.get());
  std::map<std::string, rd_kafka_topic_t*> topics;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& tp = list->elems[i];
    rd_kafka_topic_t*& rkt = topics[tp.topic];
    if (!rkt) rkt = rd_kafka_topic_new(rk_.get(), tp.topic, nullptr);
    if (rd_kafka_consume_start_queue(rkt, tp.partition, tp.offset, queue_) == -1)
      throw UsageError(fmt::format("cannot read {} [{}]: {}", tp.topic, tp.partition,
                                   rd_kafka_err2str(rd_kafka_last_error())));
    started_.emplace_back(rkt, tp.partition);
  }
}

rd_kafka_message_t* KafkaConsumer::next(int timeout_ms) {
  if (grouped_) return rd_kafka_consumer_poll(rk_.get(), timeout_ms);
  if (timeout_ms > 0 || ++polls_ % 1024 == 0) rd_kafka_poll(rk_.get(), 0);  // the handle's own events
  return rd_kafka_consume_queue(queue_, timeout_ms);
}

bool KafkaConsumer::set_paused(bool pause) {
  rd_kafka_topic_partition_list_t* parts = nullptr;
  if (grouped_) {
    if (rd_kafka_assignment(rk_.get(), &parts) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
  } else {
    parts = rd_kafka_topic_partition_list_new(static_cast<int>(started_.size()) + 1);
    for (auto [rkt, partition] : started_) rd_kafka_topic_partition_list_add(parts, rd_kafka_topic_name(rkt), partition);
  }
  // Resumed, librdkafka fetches again from the position after the last
  // record it returned: nothing is skipped or read twice.
  if (pause) rd_kafka_pause_partitions(rk_.get(), parts);
  else rd_kafka_resume_partitions(rk_.get(), parts);
  rd_kafka_topic_partition_list_destroy(parts);
  return true;
}

void KafkaConsumer::pause(rd_kafka_topic_partition_list_t* parts) { rd_kafka_pause_partitions(rk_.get(), parts); }

bool KafkaConsumer::cooperative() const {
  const char* protocol = rd_kafka_rebalance_protocol(rk_.get());
  return protocol && std::strcmp(protocol, "COOPERATIVE") == 0;
}

void KafkaConsumer::assign(rd_kafka_topic_partition_list_t* parts, bool cooperative) {
  if (cooperative)
    rd_kafka_error_destroy(rd_kafka_incremental_assign(rk_.get(), parts));
  else
    rd_kafka_assign(rk_.get(), parts);
}

void KafkaConsumer::unassign(rd_kafka_topic_partition_list_t* parts, bool cooperative) {
  if (cooperative)
    rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk_.get(), parts));
  else
    rd_kafka_assign(rk_.get(), nullptr);
}

void KafkaConsumer::store(const std::vector<Position>& positions) {
  if (positions.empty()) return;
  auto list = to_list(positions);
  auto err = rd_kafka_offsets_store(rk_.get(), list.get());
  if (err) log::debug("storing offsets: {}", rd_kafka_err2str(err));  // e.g. a partition just revoked
}

rd_kafka_resp_err_t KafkaConsumer::commit(const std::vector<Position>& positions, bool async,
                                          std::vector<Position>* failed) {
  auto list = to_list(positions);
  auto err = rd_kafka_commit(rk_.get(), list.get(), async ? 1 : 0);
  if (failed)
    for (int i = 0; i < list->cnt; ++i)
      if (err || list->elems[i].err) failed->push_back({list->elems[i].topic, list->elems[i].partition, list->elems[i].offset});
  return err;
}

rd_kafka_resp_err_t KafkaConsumer::commit_stored() { return rd_kafka_commit(rk_.get(), nullptr, 0); }

void KafkaConsumer::close() {
  if (grouped_) rd_kafka_consumer_close(rk_.get());
  else stop_partitions();
}

void KafkaConsumer::stop_partitions() {
  std::vector<rd_kafka_topic_t*> topics;
  for (auto [rkt, partition] : started_) {
    rd_kafka_consume_stop(rkt, partition);
    if (std::find(topics.begin(), topics.end(), rkt) == topics.end()) topics.push_back(rkt);
  }
  started_.clear();
  for (auto* rkt : topics) rd_kafka_topic_destroy(rkt);
  if (queue_) rd_kafka_queue_destroy(queue_);
  queue_ = nullptr;
}

}  // namespace pipekit::ksub
