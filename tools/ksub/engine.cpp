// ksub's consume loop: Kafka -> stdout, offsets stored only once written,
// and with --commit-acks, committed only once downstream acknowledged.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <regex>

#include "internal.hpp"
#include "ack_tracker.hpp"
#include "output_pump.hpp"
#include "pipekit/acks.hpp"
#include "pipekit/envelope.hpp"
#include "pipekit/errors.hpp"
#include "pipekit/json.hpp"
#include "pipekit/log.hpp"
#include "pipekit/ndjson.hpp"
#include "pipekit/signals.hpp"

namespace pipekit::ksub {
namespace detail {

namespace {
void set_prop(kafka::Properties& props, const std::string& key, const std::string& value) {
  for (auto& [k, v] : props)
    if (k == key) {
      v = value;
      return;
    }
  props.emplace_back(key, value);
}
}  // namespace

kafka::Properties consumer_properties(const Options& o, bool with_group) {
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
  auto props = kafka::resolve(o.kafka, defaults);
  // What ksub's guarantees rest on: never overridable.
  set_prop(props, "enable.auto.offset.store", "false");
  set_prop(props, "enable.partition.eof", "true");
  if (with_group) {
    set_prop(props, "group.id", o.group);
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
    set_prop(props, "enable.auto.commit", o.commit_acks.empty() ? "true" : "false");
    if (o.offset == "beginning") set_prop(props, "auto.offset.reset", "earliest");
    if (o.offset == "end") set_prop(props, "auto.offset.reset", "latest");
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

namespace {
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

}  // namespace detail

namespace {

using Clock = std::chrono::steady_clock;

// "users[0,1,2] orders[3]" (or "nothing") for rebalance log lines.
std::string describe(const rd_kafka_topic_partition_list_t* parts) {
  if (parts->cnt == 0) return "nothing";
  std::string out;
  const char* topic = nullptr;
  for (int i = 0; i < parts->cnt; ++i) {
    if (!topic || std::strcmp(topic, parts->elems[i].topic) != 0) {
      if (topic) out += "] ";
      topic = parts->elems[i].topic;
      out += fmt::format("{}[{}", topic, parts->elems[i].partition);
    } else {
      out += fmt::format(",{}", parts->elems[i].partition);
    }
  }
  return out + "]";
}
constexpr size_t kBatchBytes = 256 * 1024;  // write(2) size of the output
// Output handed over but not yet written above which reading waits for
// stdout (and goes on below half of it): a slow downstream costs at most this.
constexpr size_t kMaxPendingBytes = 4u << 20;
// A slow stdout makes reading wait as long as stdout takes a batch at least
// every kWaitForProgress, up to kWaitBeforePause in all; then (a stalled or
// very slow downstream) the partitions pause and polling goes on, so the
// group keeps us. Not at once: a pause drops librdkafka's prefetched records,
// and after a resume the first fetch came ~0.6 s later on a real broker, once
// per pause, so a downstream only a little slower than Kafka made a whole run
// several times slower.
constexpr auto kWaitForProgress = std::chrono::milliseconds(500);
constexpr auto kWaitBeforePause = std::chrono::seconds(2);

class Consumer {
 public:
  Consumer(const Options& o, RunContext& ctx)
      : o_(o), ctx_(ctx), group_(!o.group.empty()), acks_(!o.commit_acks.empty()), out_(STDOUT_FILENO) {
    if (!o.format.empty()) format_ = parse_format(o.format);
    if (!o.idle_timeout.empty()) idle_ms_ = parse_duration_ms(o.idle_timeout, "--idle-timeout");
    ack_timeout_ms_ = parse_duration_ms(o.ack_timeout, "--ack-timeout");
  }

  ~Consumer() { stop_partitions(); }
  int run();

 private:
  enum class Stop { none, count, end, idle, signal, pipe };

  void start();
  void assign_without_group(const rd_kafka_metadata_t* md);
  void clamp_to_kept_offsets(rd_kafka_topic_partition_list_t* list);
  void look_up_times(rd_kafka_topic_partition_list_t* list, int64_t ts_ms);
  // The next message or event: from the group consumer, or without -G from
  // the queue the partitions were started on.
  rd_kafka_message_t* next(int timeout_ms);
  void stop_partitions();
  static void rebalance_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                           void* opaque) {
    static_cast<Consumer*>(opaque)->on_rebalance(err, parts);
  }
  void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  void on_assigned(const rd_kafka_topic_partition_list_t* parts);
  void on_revoked(const rd_kafka_topic_partition_list_t* parts);

  void emit(const rd_kafka_message_t* m);
  void append_formatted(const rd_kafka_message_t* m);
  void flush_out();
  void settle_written();
  void drain_out(bool keep_polling, bool discard_queued = false);
  void pace_output();
  void note_bottleneck();
  void set_paused(bool pause);
  void store_offsets(const std::vector<Written>& written);

  void open_acks();
  void drain_acks();
  void commit_acks(bool sync, const rd_kafka_topic_partition_list_t* only = nullptr);
  void wait_for_acks();

  // -e bookkeeping: a partition is at its end once it reached the high
  // watermark seen when it was assigned, or librdkafka reported its EOF.
  struct PartState {
    int64_t end = -1;
    bool at_end = false;
  };
  PartState* part(rd_kafka_topic_t* rkt, int32_t partition);
  bool all_at_end() const {
    if (!assignment_seen_) return false;
    for (const auto& [k, s] : assigned_)
      if (!s.at_end) return false;
    return true;
  }
  void handle_error(const rd_kafka_message_t* m);

  const Options& o_;
  RunContext& ctx_;
  const bool group_;
  const bool acks_;
  kafka::Handle rk_;
  // Without -G: the partitions read with librdkafka's group-less
  // (simple) consumer, all forwarded to one queue.
  rd_kafka_queue_t* queue_ = nullptr;
  std::vector<std::pair<rd_kafka_topic_t*, int32_t>> started_;
  uint32_t polls_ = 0;
  std::vector<FormatPiece> format_;
  int64_t idle_ms_ = 0;
  int64_t ack_timeout_ms_ = 30000;

  OutputPump out_;
  std::string batch_;
  std::vector<Written> unflushed_;
  bool pipe_closed_ = false;
  bool paused_ = false;  // reading paused: the output has kMaxPendingBytes waiting
  Clock::time_point paused_at_{};
  bool said_bottleneck_ = false;
  std::string deferred_error_;  // an I/O error met inside a callback
  ExitCode deferred_code_ = ExitCode::ok;

  std::map<std::pair<std::string, int32_t>, PartState> assigned_;
  // Without --commit-acks: the next offset to read of each partition, as
  // written to stdout (what the group should commit). A revoke whose commit
  // failed (kmock refuses commits while a group rebalances) leaves the
  // position in carried_, so that a member given the partition back goes on
  // from there instead of replaying from the stale committed offset.
  std::map<std::pair<std::string, int32_t>, int64_t> written_pos_;
  std::map<std::pair<std::string, int32_t>, int64_t> carried_;
  void resume_carried(rd_kafka_topic_partition_list_t* parts);
  rd_kafka_resp_err_t commit_through_rebalance();
  bool reassigned_ = false;
  bool assignment_seen_ = false;
  Clock::time_point assigned_at_{};
  rd_kafka_topic_t* cache_rkt_ = nullptr;
  int32_t cache_partition_ = -1;
  PartState* cache_state_ = nullptr;

  AckTracker tracker_;
  std::unique_ptr<AckInbox> ack_inbox_;  // reads the FIFO on its own thread
  std::string ack_buf_;                   // received bytes not yet parsed
  uint64_t bad_acks_ = 0;
  uint64_t since_ack_check_ = 0;

  simdjson::dom::parser parser_;
  std::string minified_;
  EnvelopeView ev_;
  std::string_view key_view_;
};

// ---- setup -----------------------------------------------------------------

void Consumer::start() {
  auto props = detail::consumer_properties(o_, group_);
  rd_kafka_conf_t* conf = kafka::make_conf(props);
  rd_kafka_conf_set_log_cb(conf, detail::log_cb);
  rd_kafka_conf_set_opaque(conf, this);
  if (group_) rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
  rk_ = kafka::make_handle(RD_KAFKA_CONSUMER, conf);
  rd_kafka_poll_set_consumer(rk_.get());

  // Fail early and plainly: brokers unreachable (3), a named topic missing (2).
  std::vector<std::string> named;
  for (const auto& t : o_.topics)
    if (t.empty() || t[0] != '^') named.push_back(t);
  const rd_kafka_metadata_t* md = detail::fetch_metadata(rk_.get(), named, detail::request_timeout_ms(props));
  std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> guard(md, rd_kafka_metadata_destroy);
  for (const auto& name : named) {
    bool found = false;
    for (int i = 0; i < md->topic_cnt; ++i)
      if (name == md->topics[i].topic) {
        if (md->topics[i].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) break;
        if (md->topics[i].err)
          throw ServiceError(fmt::format("topic {}: {}", name, rd_kafka_err2str(md->topics[i].err)));
        found = true;
      }
    if (!found) throw UsageError("topic " + name + " not found");
  }

  if (acks_) open_acks();
  if (group_) {
    rd_kafka_topic_partition_list_t* subs = rd_kafka_topic_partition_list_new(static_cast<int>(o_.topics.size()));
    for (const auto& t : o_.topics) rd_kafka_topic_partition_list_add(subs, t.c_str(), RD_KAFKA_PARTITION_UA);
    auto err = rd_kafka_subscribe(rk_.get(), subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (err) throw UsageError(fmt::format("cannot subscribe: {}", rd_kafka_err2str(err)));
  } else {
    assign_without_group(md);
  }
}

void Consumer::assign_without_group(const rd_kafka_metadata_t* md) {
  StartOffset start;
  if (!o_.since.empty()) {
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    start = {StartOffset::timestamp, now_ms - parse_duration_ms(o_.since, "--since")};
  } else if (!o_.offset.empty()) {
    start = parse_offset(o_.offset);
  }
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(16);
  std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)> guard(
      list, rd_kafka_topic_partition_list_destroy);
  for (const auto& name : o_.topics) {
    const rd_kafka_metadata_topic_t* t = nullptr;
    for (int i = 0; i < md->topic_cnt; ++i)
      if (name == md->topics[i].topic) t = &md->topics[i];
    std::vector<int32_t> parts = o_.partitions;
    if (parts.empty())
      for (int j = 0; j < t->partition_cnt; ++j) parts.push_back(t->partitions[j].id);
    for (int32_t p : parts) {
      bool exists = false;
      for (int j = 0; j < t->partition_cnt; ++j) exists |= t->partitions[j].id == p;
      if (!exists) throw UsageError(fmt::format("topic {} has no partition {} ({} partitions)", name, p, t->partition_cnt));
      auto* tp = rd_kafka_topic_partition_list_add(list, name.c_str(), p);
      switch (start.kind) {
        case StartOffset::beginning: tp->offset = RD_KAFKA_OFFSET_BEGINNING; break;
        case StartOffset::end: tp->offset = RD_KAFKA_OFFSET_END; break;
        case StartOffset::absolute: tp->offset = start.value; break;
        case StartOffset::tail: tp->offset = RD_KAFKA_OFFSET_TAIL(start.value); break;
        case StartOffset::timestamp: tp->offset = start.value; break;
        case StartOffset::stored: throw UsageError("-o stored needs a consumer group (-G)");
      }
    }
  }
  if (start.kind == StartOffset::timestamp) look_up_times(list, start.value);
  if (start.kind == StartOffset::absolute) clamp_to_kept_offsets(list);
  on_assigned(list);
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

void Consumer::stop_partitions() {
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

rd_kafka_message_t* Consumer::next(int timeout_ms) {
  if (group_) return rd_kafka_consumer_poll(rk_.get(), timeout_ms);
  if (timeout_ms > 0 || ++polls_ % 1024 == 0) rd_kafka_poll(rk_.get(), 0);  // the handle's own events
  return rd_kafka_consume_queue(queue_, timeout_ms);
}

// -o N outside what a partition keeps is said, never a silent replay from the
// beginning (librdkafka's auto.offset.reset would do that past the end).
void Consumer::clamp_to_kept_offsets(rd_kafka_topic_partition_list_t* list) {
  for (int i = 0; i < list->cnt; ++i) {
    auto& e = list->elems[i];
    int64_t low = -1, high = -1;
    auto err = rd_kafka_query_watermark_offsets(rk_.get(), e.topic, e.partition, &low, &high, 10000);
    if (err) throw ServiceError(fmt::format("cannot read the offsets of {} partition {}: {}", e.topic, e.partition,
                                            rd_kafka_err2str(err)));
    if (e.offset > high) {
      log::warn("{} partition {}: offset {} is past its end ({}): starting at the end", e.topic, e.partition, e.offset,
                high);
      e.offset = high;
    } else if (e.offset < low) {
      log::warn("{} partition {}: offset {} is no longer kept (the first is {}): starting there", e.topic, e.partition,
                e.offset, low);
      e.offset = low;
    }
  }
}

// The first offset at or after the time; a partition without one starts at
// its end, and says so (librdkafka's mock cluster, behind kmock, never finds
// one: it does not look up offsets by time).
void Consumer::look_up_times(rd_kafka_topic_partition_list_t* list, int64_t ts_ms) {
  auto err = rd_kafka_offsets_for_times(rk_.get(), list, 10000);
  if (err) throw ServiceError(fmt::format("cannot look up offsets by time: {}", rd_kafka_err2str(err)));
  bool none = false;
  for (int i = 0; i < list->cnt; ++i) {
    if (list->elems[i].offset >= 0) continue;
    list->elems[i].offset = RD_KAFKA_OFFSET_END;
    none = true;
    log::info("{} partition {}: no record at or after {} ms: starting at the end", list->elems[i].topic,
              list->elems[i].partition, ts_ms);
  }
  if (!none) return;
  std::string id;
  if (char* c = rd_kafka_clusterid(rk_.get(), 5000)) {
    id = c;
    rd_kafka_mem_free(rk_.get(), c);
  }
  if (id.rfind("mockCluster", 0) == 0)
    log::warn("the broker is a mock cluster (kmock), which does not look up offsets by time: "
              "--since and -o @TIMESTAMP start at the end there");
}

void Consumer::on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  const bool coop = std::strcmp(rd_kafka_rebalance_protocol(rk_.get()), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    log::info("group {}: assigned {}", o_.group, describe(parts));
    resume_carried(parts);
    on_assigned(parts);
    if (coop) rd_kafka_error_destroy(rd_kafka_incremental_assign(rk_.get(), parts));
    else rd_kafka_assign(rk_.get(), parts);
    if (paused_) rd_kafka_pause_partitions(rk_.get(), parts);  // the output is still behind
    // Positions carried over become stored offsets: the group commits them.
    rd_kafka_topic_partition_list_t* carried = rd_kafka_topic_partition_list_new(parts->cnt + 1);
    for (int i = 0; i < parts->cnt; ++i)
      if (parts->elems[i].offset >= 0) {
        rd_kafka_topic_partition_list_add(carried, parts->elems[i].topic, parts->elems[i].partition)->offset =
            parts->elems[i].offset;
        written_pos_[{parts->elems[i].topic, parts->elems[i].partition}] = parts->elems[i].offset;
      }
    if (carried->cnt > 0) rd_kafka_offsets_store(rk_.get(), carried);
    rd_kafka_topic_partition_list_destroy(carried);
    carried_.clear();  // partitions not given back are someone else's now
    reassigned_ = true;
  } else {
    if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
      log::warn("group {}: rebalance error: {}", o_.group, rd_kafka_err2str(err));
    log::info("group {}: revoked {}", o_.group, describe(parts));
    on_revoked(parts);
    if (coop) rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk_.get(), parts));
    else rd_kafka_assign(rk_.get(), nullptr);
    if (!coop) assignment_seen_ = false;  // eager: wait for the next assignment
  }
}

// A partition given back after a revoke whose commit failed starts at the
// position written before, not at the (stale) committed offset.
void Consumer::resume_carried(rd_kafka_topic_partition_list_t* parts) {
  for (int i = 0; i < parts->cnt; ++i) {
    auto it = carried_.find({parts->elems[i].topic, parts->elems[i].partition});
    if (it != carried_.end()) parts->elems[i].offset = it->second;
  }
}

// Called before the partitions are assigned: the watermark queries must not
// queue behind fetch requests that the broker holds for fetch.wait.max.ms.
void Consumer::on_assigned(const rd_kafka_topic_partition_list_t* parts) {
  cache_rkt_ = nullptr;
  std::vector<int64_t> low(parts->cnt, -1), high(parts->cnt, -1);
  if (o_.exit_at_end && parts->cnt > 0) {
    // One ListOffsets request per leader for all partitions (-1: latest,
    // -2: earliest), instead of one round trip per partition.
    for (auto [marker, out] : {std::pair{RD_KAFKA_OFFSET_END, &high}, std::pair{RD_KAFKA_OFFSET_BEGINNING, &low}}) {
      rd_kafka_topic_partition_list_t* q = rd_kafka_topic_partition_list_copy(parts);
      for (int i = 0; i < q->cnt; ++i) q->elems[i].offset = marker;
      if (rd_kafka_offsets_for_times(rk_.get(), q, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR)
        for (int i = 0; i < q->cnt; ++i)
          if (!q->elems[i].err) (*out)[i] = q->elems[i].offset;
      rd_kafka_topic_partition_list_destroy(q);
    }
  }
  for (int i = 0; i < parts->cnt; ++i) {
    PartState st;
    st.end = high[i];
    // Nothing to read at all: at its end already (no EOF needed).
    if (high[i] >= 0 && high[i] == low[i]) st.at_end = true;
    assigned_[{parts->elems[i].topic, parts->elems[i].partition}] = st;
  }
  assignment_seen_ = true;
  assigned_at_ = Clock::now();  // a rebalance is not idleness: count from here
}

void Consumer::on_revoked(const rd_kafka_topic_partition_list_t* parts) {
  // Lines of revoked partitions go out (and count) before the commit. (A
  // downstream stalled now stalls the rebalance: what was handed over is
  // written first, or the new owner would read it again.)
  drain_out(false);
  if (acks_) {
    drain_acks();
    commit_acks(true, parts);
    for (int i = 0; i < parts->cnt; ++i) tracker_.drop(parts->elems[i].topic, parts->elems[i].partition);
  } else {
    // Commit what was written of the revoked partitions, explicitly.
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(parts->cnt + 1);
    for (int i = 0; i < parts->cnt; ++i) {
      auto it = written_pos_.find({parts->elems[i].topic, parts->elems[i].partition});
      if (it != written_pos_.end())
        rd_kafka_topic_partition_list_add(list, parts->elems[i].topic, parts->elems[i].partition)->offset = it->second;
    }
    if (list->cnt > 0) {
      auto err = rd_kafka_commit(rk_.get(), list, 0);
      for (int i = 0; i < list->cnt; ++i) {
        const auto& e = list->elems[i];
        if (err || e.err) carried_[{e.topic, e.partition}] = e.offset;
      }
      if (err) log::warn("commit on rebalance failed: {}; going on from the written position if the partitions come back",
                         rd_kafka_err2str(err));
    }
    rd_kafka_topic_partition_list_destroy(list);
  }
  for (int i = 0; i < parts->cnt; ++i) written_pos_.erase({parts->elems[i].topic, parts->elems[i].partition});
  for (int i = 0; i < parts->cnt; ++i) assigned_.erase({parts->elems[i].topic, parts->elems[i].partition});
  cache_rkt_ = nullptr;
}

Consumer::PartState* Consumer::part(rd_kafka_topic_t* rkt, int32_t partition) {
  if (rkt == cache_rkt_ && partition == cache_partition_) return cache_state_;
  auto it = assigned_.find({rd_kafka_topic_name(rkt), partition});
  cache_rkt_ = rkt;
  cache_partition_ = partition;
  cache_state_ = it == assigned_.end() ? nullptr : &it->second;
  return cache_state_;
}

// ---- output ----------------------------------------------------------------

namespace {
// simdjson reads up to SIMDJSON_PADDING bytes past the end (never using
// them): safe in place when they lie in the same page as the last byte, and
// then the payload is not copied into a padded buffer first.
bool padding_readable(const char* p, size_t len) {
#if defined(__SANITIZE_ADDRESS__)
  return false;  // the read past the end is by design, but a sanitizer would flag it
#endif
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  return (reinterpret_cast<uintptr_t>(p + len - 1) % page) + simdjson::SIMDJSON_PADDING < page;
}
}  // namespace

void Consumer::emit(const rd_kafka_message_t* m) {
  if (!format_.empty()) {
    append_formatted(m);
  } else {
    const char* payload = static_cast<const char*>(m->payload);
    std::string_view value;
    bool is_json = true;
    simdjson::dom::element root;
    if (!payload) {
      value = "null";  // a tombstone
    } else if (parser_.parse(payload, m->len, !padding_readable(payload, m->len)).get(root) == simdjson::SUCCESS) {
      value = {payload, m->len};
      // One record, one line: pretty-printed JSON is minified.
      if (std::memchr(payload, '\n', m->len) || std::memchr(payload, '\r', m->len)) {
        minified_ = simdjson::minify(root);
        value = minified_;
      }
    } else {
      value = {payload, m->len};
      is_json = false;
    }
    if (o_.envelope) {
      ev_.topic = rd_kafka_topic_name(m->rkt);
      ev_.partition = m->partition;
      ev_.offset = m->offset;
      rd_kafka_timestamp_type_t tstype;
      ev_.timestamp = rd_kafka_message_timestamp(m, &tstype);
      if (m->key) {
        key_view_ = {static_cast<const char*>(m->key), m->key_len};
        ev_.key = &key_view_;
      } else {
        ev_.key = nullptr;
      }
      ev_.headers.clear();
      rd_kafka_headers_t* hdrs;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* val;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
          ev_.headers.emplace_back(name, val ? std::string_view(static_cast<const char*>(val), size) : "");
      }
      ev_.value = value;
      ev_.value_is_json = is_json;
      append_envelope(batch_, ev_);
    } else if (is_json) {
      batch_.append(value);
    } else {
      json::append_string(batch_, value);
    }
    batch_.push_back('\n');
  }
  unflushed_.push_back({rd_kafka_topic_name(m->rkt), m->partition, m->offset});
}

void Consumer::append_formatted(const rd_kafka_message_t* m) {
  for (const auto& piece : format_) {
    switch (piece.token) {
      case 0: batch_ += piece.literal; break;
      case 't': batch_ += rd_kafka_topic_name(m->rkt); break;
      case 'p': batch_ += std::to_string(m->partition); break;
      case 'o': batch_ += std::to_string(m->offset); break;
      case 'k': if (m->key) batch_.append(static_cast<const char*>(m->key), m->key_len); break;
      case 'K': batch_ += m->key ? std::to_string(m->key_len) : "-1"; break;
      case 's': if (m->payload) batch_.append(static_cast<const char*>(m->payload), m->len); break;
      case 'S': batch_ += m->payload ? std::to_string(m->len) : "-1"; break;
      case 'T': {
        rd_kafka_timestamp_type_t tstype;
        batch_ += std::to_string(rd_kafka_message_timestamp(m, &tstype));
        break;
      }
      case 'h': {
        rd_kafka_headers_t* hdrs;
        if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) break;
        const char* name;
        const void* val;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
          if (i) batch_.push_back(',');
          batch_ += name;
          batch_.push_back('=');
          if (val) batch_.append(static_cast<const char*>(val), size);
        }
        break;
      }
    }
  }
}

// Hands the batch to the output thread, and settles what it has written.
void Consumer::flush_out() {
  if (!unflushed_.empty() && !pipe_closed_) {
    // Tracked for acks from now on: downstream may read (and ack) a line
    // before write(2) returns. One never written is untracked again below.
    if (acks_)
      for (const auto& w : unflushed_) tracker_.written(w.topic, w.partition, w.offset);
    out_.push({std::move(batch_), std::move(unflushed_)});
  }
  batch_.clear();
  // Sized once: grown by doubling, a batch just past kBatchBytes would hold
  // up to twice that while it waits for stdout.
  batch_.reserve(kBatchBytes + kBatchBytes / 8);
  unflushed_.clear();
  settle_written();
}

// Written lines count, and only now are their offsets stored. What was
// never written (EPIPE, a stop signal) is not stored, nor awaited as an ack.
void Consumer::settle_written() {
  for (const auto& b : out_.take_written()) {
    ctx_.stats.records_out += std::count_if(b.records.begin(), b.records.end(), [](const Written& w) { return w.record; });
    ctx_.stats.bytes += b.bytes.size();
    if (group_ && !acks_) store_offsets(b.records);
  }
  for (const auto& b : out_.take_dropped())
    if (acks_)
      for (const auto& w : b.records) tracker_.unwritten(w.topic, w.partition, w.offset);
  if (out_.pipe_closed()) pipe_closed_ = true;
  if (auto e = out_.take_error(); e && deferred_error_.empty()) {
    deferred_error_ = e->what();
    deferred_code_ = e->code();
  }
}

// Waits until everything handed over is written. With keep_polling (not
// inside a rebalance callback), reading is paused and the consumer polled
// meanwhile, so that the group keeps us while a slow downstream catches up.
// A stop signal during the wait ends it (what is unwritten is not stored);
// discard_queued (stopping on a signal) writes only the batch in progress.
void Consumer::drain_out(bool keep_polling, bool discard_queued) {
  flush_out();
  if (discard_queued) out_.discard_queued();
  if (keep_polling && !paused_) set_paused(true);
  const bool signalled_before = stop_requested();
  const auto started = Clock::now();
  while (!out_.wait_idle(std::chrono::milliseconds(keep_polling ? 0 : 100))) {
    if (!signalled_before && stop_requested()) break;
    if (signalled_before && Clock::now() - started >= std::chrono::seconds(10)) {
      log::warn("stdout took nothing for 10 s after the stop signal: {} byte(s) not written, their offsets "
                "not stored", out_.pending_bytes());
      break;
    }
    if (keep_polling) {
      // Paused: nothing new comes; a record fetched before the pause is
      // dropped unwritten, so its offset is never stored.
      if (rd_kafka_message_t* m = next(100)) rd_kafka_message_destroy(m);
      note_bottleneck();
    }
  }
  settle_written();
}

// Backpressure: above kMaxPendingBytes waiting for stdout, reading waits
// until half of it is written (librdkafka's bounded prefetch queue holds what
// comes meanwhile), as long as stdout makes progress (kWaitForProgress,
// kWaitBeforePause); else reading pauses and polling goes on, so the consumer
// is not evicted (max.poll.interval.ms).
void Consumer::pace_output() {
  const size_t pending = out_.pending_bytes();
  if (!paused_ && pending > kMaxPendingBytes) {
    const auto give_up = Clock::now() + kWaitBeforePause;
    for (size_t left = pending; left > kMaxPendingBytes / 2;) {
      out_.wait_pending_at_most(left - 1, kWaitForProgress);  // a batch written
      const size_t now = out_.pending_bytes();
      if (now >= left || Clock::now() >= give_up || stop_requested()) break;
      left = now;
    }
    if (out_.pending_bytes() > kMaxPendingBytes / 2 && !stop_requested()) set_paused(true);
    settle_written();
  } else if (paused_ && pending <= kMaxPendingBytes / 2) {
    set_paused(false);
  }
  note_bottleneck();
}

// Said once per run, when reading has been paused for a second.
void Consumer::note_bottleneck() {
  if (!paused_ || said_bottleneck_ || Clock::now() - paused_at_ < std::chrono::seconds(1)) return;
  said_bottleneck_ = true;
  log::info("downstream is the bottleneck: stdout is not taking the output ({:.1f} MiB waiting); reading "
            "is paused until it catches up, the consumer keeps polling (it stays in its group)",
            static_cast<double>(out_.pending_bytes()) / (1 << 20));
}

void Consumer::set_paused(bool pause) {
  rd_kafka_topic_partition_list_t* parts = nullptr;
  if (group_) {
    if (rd_kafka_assignment(rk_.get(), &parts) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  } else {
    parts = rd_kafka_topic_partition_list_new(static_cast<int>(started_.size()) + 1);
    for (auto [rkt, partition] : started_) rd_kafka_topic_partition_list_add(parts, rd_kafka_topic_name(rkt), partition);
  }
  // Resumed, librdkafka fetches again from the position after the last
  // record it returned: nothing is skipped or read twice.
  if (pause) rd_kafka_pause_partitions(rk_.get(), parts);
  else rd_kafka_resume_partitions(rk_.get(), parts);
  rd_kafka_topic_partition_list_destroy(parts);
  paused_ = pause;
  if (pause) paused_at_ = Clock::now();
  log::debug("reading {}", pause ? "paused: stdout is behind" : "resumed");
}

void Consumer::store_offsets(const std::vector<Written>& written) {
  if (written.empty()) return;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(8);
  rd_kafka_topic_partition_t* last = nullptr;
  for (const auto& w : written) {
    if (!last || last->partition != w.partition || w.topic != last->topic) {
      last = rd_kafka_topic_partition_list_find(list, w.topic.c_str(), w.partition);
      if (!last) last = rd_kafka_topic_partition_list_add(list, w.topic.c_str(), w.partition);
    }
    last->offset = std::max(last->offset, w.offset + 1);
  }
  auto err = rd_kafka_offsets_store(rk_.get(), list);
  if (err) log::debug("storing offsets: {}", rd_kafka_err2str(err));  // e.g. a partition just revoked
  for (int i = 0; i < list->cnt; ++i) written_pos_[{list->elems[i].topic, list->elems[i].partition}] = list->elems[i].offset;
  rd_kafka_topic_partition_list_destroy(list);
}

// ---- acknowledgements --------------------------------------------------------

void Consumer::open_acks() { ack_inbox_ = std::make_unique<AckInbox>(o_.commit_acks); }

void Consumer::drain_acks() {
  if (!ack_inbox_) return;
  ack_buf_ += ack_inbox_->take();
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
    if (tracker_.acked(ack->topic, ack->partition, ack->offset)) ctx_.stats.add("acked");
  }
  ack_buf_.erase(0, start);
}

// Periodic commits are asynchronous and only for partitions that moved; a
// synchronous commit (revoke, exit) sends every partition's point again, in
// case an asynchronous one failed.
void Consumer::commit_acks(bool sync, const rd_kafka_topic_partition_list_t* only) {
  auto due = sync ? tracker_.commit_points() : tracker_.commits_due();
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(due.size()) + 1);
  for (const auto& c : due) {
    if (only && !rd_kafka_topic_partition_list_find(only, c.topic.c_str(), c.partition)) continue;
    rd_kafka_topic_partition_list_add(list, c.topic.c_str(), c.partition)->offset = c.offset;
  }
  if (list->cnt > 0) {
    auto err = rd_kafka_commit(rk_.get(), list, sync ? 0 : 1);
    if (err) {
      log::warn("commit failed: {}", rd_kafka_err2str(err));
    } else {
      for (int i = 0; i < list->cnt; ++i)
        tracker_.mark_committed(list->elems[i].topic, list->elems[i].partition, list->elems[i].offset);
      log::debug("committed {} partition(s)", list->cnt);
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
}

void Consumer::wait_for_acks() {
  auto deadline = Clock::now() + std::chrono::milliseconds(ack_timeout_ms_);
  // A signal that arrives while we wait (the run ended by -e or -c) stops the
  // wait: what is acknowledged so far gets committed.
  const bool signalled_before = stop_requested();
  drain_acks();
  while (tracker_.pending() > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || (!signalled_before && stop_requested())) break;
    pollfd fds[2] = {{ack_inbox_->notify_fd(), POLLIN, 0}, {stop_fd(), POLLIN, 0}};
    ::poll(fds, signalled_before || stop_fd() < 0 ? 1 : 2, static_cast<int>(std::min<int64_t>(left, 200)));
    drain_acks();
  }
}

// ---- the loop --------------------------------------------------------------

void Consumer::handle_error(const rd_kafka_message_t* m) {
  switch (m->err) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      throw UsageError(fmt::format("{}{}", m->rkt ? std::string(rd_kafka_topic_name(m->rkt)) + ": " : "",
                                   rd_kafka_message_errstr(m)));
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
      throw UsageError(rd_kafka_err2str(m->err));
    case RD_KAFKA_RESP_ERR__FATAL:
      throw ServiceError(rd_kafka_message_errstr(m));
    default:
      log::warn("kafka: {}", rd_kafka_message_errstr(m));
  }
}

int Consumer::run() {
  start();
  log::debug("started: {} partition(s) assigned", assigned_.size());
  Stop stop = Stop::none;
  auto last_record = Clock::now();
  auto next_commit = last_record + std::chrono::seconds(1);
  const bool want_end = o_.exit_at_end;
  while (stop == Stop::none) {
    if (!deferred_error_.empty()) throw Error(deferred_code_, deferred_error_);
    if (pipe_closed_) {
      stop = Stop::pipe;
      break;
    }
    if (stop_requested()) {
      stop = Stop::signal;
      break;
    }
    rd_kafka_message_t* m = next(batch_.empty() ? 100 : 0);
    // Acks and the commit clock: when idle, and every 256 records meanwhile
    // (per record, the clock alone was a visible share of ksub's CPU).
    if (acks_ && (!m || ++since_ack_check_ % 256 == 0)) {
      drain_acks();
      if (Clock::now() >= next_commit) {
        commit_acks(false);
        next_commit = Clock::now() + std::chrono::seconds(1);
      }
    }
    if (!m) {
      flush_out();  // idle: a pipe never holds records back
      pace_output();
      if (paused_) last_record = Clock::now();  // waiting for stdout is not idleness
      if (want_end && all_at_end()) stop = Stop::end;
      else if (idle_ms_ > 0 && Clock::now() - std::max(last_record, assigned_at_) >= std::chrono::milliseconds(idle_ms_))
        stop = Stop::idle;
      continue;
    }
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (PartState* s = m->rkt ? part(m->rkt, m->partition) : nullptr) s->at_end = true;
        // The end may lie past transaction markers (control records, never
        // delivered): the group's position moves there too, once what came
        // before is written, so that its lag is 0 when all was read.
        if (group_ && !acks_ && m->rkt && m->offset > 0)
          unflushed_.push_back({rd_kafka_topic_name(m->rkt), m->partition, m->offset - 1, false});
        rd_kafka_message_destroy(m);
        if (want_end && all_at_end()) stop = Stop::end;
        continue;
      }
      try {
        handle_error(m);
      } catch (...) {
        rd_kafka_message_destroy(m);
        throw;
      }
      rd_kafka_message_destroy(m);
      continue;
    }
    ++ctx_.stats.records_in;
    emit(m);
    bool reached_end = false;
    if (want_end) {
      PartState* s = part(m->rkt, m->partition);
      if (s && !s->at_end && s->end >= 0 && m->offset + 1 >= s->end) reached_end = s->at_end = true;
    }
    rd_kafka_message_destroy(m);
    if (batch_.size() >= kBatchBytes) {
      flush_out();
      pace_output();
    }
    if (o_.count > 0 && ctx_.stats.records_in >= o_.count) stop = Stop::count;
    else if (reached_end && all_at_end()) stop = Stop::end;
    if (idle_ms_ > 0) last_record = Clock::now();
  }

  log::debug("stopping after {} record(s)", ctx_.stats.records_in.load());
  // Finish what is in flight: write it, then commit only what was written
  // (or, with --commit-acks, what downstream acknowledged).
  drain_out(true, stop == Stop::signal);
  if (pipe_closed_) stop = Stop::pipe;
  if (stop == Stop::pipe) log::debug("stdout closed by the reader; stopping");
  if (stop == Stop::signal) log::info("stopping on signal {}", stop_signal());
  int code = 0;
  if (acks_) {
    // Downstream sees EOF and finishes; its acks keep coming on the FIFO.
    int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull >= 0) {
      ::dup2(devnull, STDOUT_FILENO);
      ::close(devnull);
    }
    wait_for_acks();
    commit_acks(true);
    if (uint64_t left = tracker_.pending(); left > 0) {
      log::warn("{} record(s) written but not acknowledged within --ack-timeout {}: not committed, "
                "the group will read them again",
                left, o_.ack_timeout);
      ctx_.stats.set("unacknowledged", left);
      if (stop != Stop::pipe) code = static_cast<int>(ExitCode::rejects);
    }
  } else if (group_) {
    auto err = rd_kafka_commit(rk_.get(), nullptr, 0);
    if (err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS) err = commit_through_rebalance();
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) log::warn("final commit failed: {}", rd_kafka_err2str(err));
  }
  if (group_) rd_kafka_consumer_close(rk_.get());
  else stop_partitions();
  if (!deferred_error_.empty()) throw Error(deferred_code_, deferred_error_);
  if (code == 0 && o_.empty_exit >= 0 && ctx_.stats.records_out == 0 && stop != Stop::pipe) code = o_.empty_exit;
  return code;
}

// The final commit met a rebalance (kmock refuses commits until the group has
// settled; a real broker accepts them). Take part in the rebalance without
// writing anything more, then commit the written positions once the group
// has given our partitions back.
rd_kafka_resp_err_t Consumer::commit_through_rebalance() {
  log::info("group {} is rebalancing: committing once it has settled", o_.group);
  auto deadline = Clock::now() + std::chrono::seconds(20);
  reassigned_ = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS;
  while (Clock::now() < deadline && !pipe_closed_) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), 100);
    if (m) rd_kafka_message_destroy(m);  // not written, so never stored
    if (!reassigned_) continue;
    reassigned_ = false;
    err = rd_kafka_commit(rk_.get(), nullptr, 0);
    if (err != RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS) break;
  }
  return err;
}

void validate(const Options& o) {
  if (o.list || o.offsets) {
    if (o.list && o.offsets) throw UsageError("--list and --offsets do not go together");
    return;
  }
  if (o.json) throw UsageError("--json goes with --list or --offsets");
  if (o.topics.empty()) throw UsageError("no topic: give one with -t/--topic");
  const bool group = !o.group.empty();
  for (const auto& t : o.topics) {
    if (t.empty()) throw UsageError("-t: empty topic name");
    if (t[0] == '^') {
      if (!group) throw UsageError("-t " + t + ": a topic regex needs a consumer group (-G)");
      try {
        std::regex re(t);
      } catch (const std::regex_error&) {
        throw UsageError("-t " + t + ": not a valid regular expression");
      }
    }
  }
  if (group && !o.partitions.empty()) throw UsageError("-p picks partitions by hand: it does not go with -G");
  for (int32_t p : o.partitions)
    if (p < 0) throw UsageError("-p: a partition is a number >= 0");
  if (!o.offset.empty()) {
    auto start = parse_offset(o.offset);
    if (group && start.kind != StartOffset::beginning && start.kind != StartOffset::end &&
        start.kind != StartOffset::stored)
      throw UsageError("with -G, -o is beginning, end or stored: where to start when the group has no committed offset");
    if (!group && start.kind == StartOffset::stored) throw UsageError("-o stored needs a consumer group (-G)");
  }
  if (!o.since.empty()) {
    if (!o.offset.empty()) throw UsageError("--since and -o do not go together");
    if (group) throw UsageError("--since does not go with -G (the group's committed offsets decide)");
    parse_duration_ms(o.since, "--since");
  }
  if (!o.format.empty()) {
    if (o.envelope) throw UsageError("--format and --envelope do not go together");
    parse_format(o.format);
  }
  if (!o.idle_timeout.empty() && parse_duration_ms(o.idle_timeout, "--idle-timeout") <= 0)
    throw UsageError("--idle-timeout must be more than 0");
  parse_duration_ms(o.ack_timeout, "--ack-timeout");
  if (!o.commit_acks.empty()) {
    if (!group) throw UsageError("--commit-acks needs a consumer group (-G)");
    if (!o.envelope) throw UsageError("--commit-acks needs --envelope (downstream acks by topic, partition, offset)");
  }
}

}  // namespace

int run(const Options& o, RunContext& ctx) {
  validate(o);
  if (o.kafka.dump_config) {
    auto props = detail::consumer_properties(o, !o.group.empty());
    OutputWriter w(STDOUT_FILENO);
    w.write(kafka::dump(props));
    w.flush();
    return 0;
  }
  if (o.list || o.offsets) {
    auto props = detail::consumer_properties(o, !o.group.empty() && o.offsets);
    return o.list ? detail::list(o, props) : detail::offsets(o, props);
  }
  Consumer consumer(o, ctx);
  return consumer.run();
}

}  // namespace pipekit::ksub
