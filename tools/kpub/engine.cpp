#include "engine.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "pipekit/errors.hpp"
#include "message.hpp"
#include "pipekit/log.hpp"
#include "pipekit/ndjson.hpp"
#include "pipekit/signals.hpp"

namespace pipekit::kpub {

const kafka::Properties& default_properties() {
  // Lose nothing: the idempotent producer (acks=all, retries without
  // duplicates or reordering). Throughput: batches of up to 10,000 messages
  // or 1 MB per partition, collected for up to 10 ms. Memory: at most 64 MiB
  // or 100,000 messages waiting; beyond that kpub waits for the broker
  // (queue full is waited out, never dropped). Start-up: librdkafka drops the
  // bootstrap connection once it knows the brokers and connects to the leader
  // only after a pause of reconnect.backoff.ms / 2 (50 ms at its default of
  // 100); 20 makes it 11 ms, which took ~45 ms off every run on a real broker
  // (one record: 0.07-0.12 s -> 0.02-0.05 s). Reconnects still back off
  // exponentially up to reconnect.backoff.max.ms (10 s).
  static const kafka::Properties props = {
      {"client.id", "kpub"},
      // A typo in -t must not create a topic: kpub publishes to existing ones.
      {"allow.auto.create.topics", "false"},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", "10"},
      {"batch.num.messages", "10000"},
      {"batch.size", "1000000"},
      {"queue.buffering.max.messages", "100000"},
      {"queue.buffering.max.kbytes", "65536"},
      {"reconnect.backoff.ms", "20"},
  };
  return props;
}

namespace {

constexpr int kReadTimeoutMs = 100;  // an idle input still gets its delivery reports served
constexpr uint64_t kPollEvery = 64;  // serve delivery reports every N messages
constexpr uint64_t kMaxLoggedFailures = 100;
// After a stop signal, what is in flight gets this long to be delivered; the
// rest goes to --failed (a broker that refuses must not hold kpub for
// message.timeout.ms).
constexpr int kStopGraceMs = 5000;
// At start, how long kpub waits for the cluster to say whether the topic
// exists before it publishes anyway (an unreachable cluster is retried until
// message.timeout.ms, record by record).
constexpr int kStartCheckMs = 10000;

class Publisher {
 public:
  Publisher(const Options& opts, RunContext& ctx, kafka::Properties props)
      : opts_(opts), ctx_(ctx), flag_headers_(parse_header_flags(opts.headers)) {
    if (!opts.failed_path.empty())
      failed_out_ = std::make_unique<OutputWriter>(OutputWriter::open(opts.failed_path));
    // Logs go through the main queue so they are printed from this thread.
    props.emplace_back("log.queue", "true");
    rd_kafka_conf_t* conf = kafka::make_conf(props);
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, &Publisher::on_delivery);
    rd_kafka_conf_set_error_cb(conf, &Publisher::on_error);
    rd_kafka_conf_set_log_cb(conf, &Publisher::on_log);
    // librdkafka's threads inherit this mask: SIGINT/SIGTERM reach this
    // thread, whose handler wakes the input poll.
    sigset_t stop_set, old;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_set, &old);
    try {
      rk_ = kafka::make_handle(RD_KAFKA_PRODUCER, conf);
    } catch (...) {
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
      throw;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    rd_kafka_set_log_queue(rk_.get(), nullptr);
    rkt_ = rd_kafka_topic_new(rk_.get(), opts.topic.c_str(), nullptr);
    if (!rkt_) throw UsageError("bad topic '" + opts.topic + "': " + rd_kafka_err2str(rd_kafka_last_error()));
  }

  ~Publisher() {
    if (rkt_) rd_kafka_topic_destroy(rkt_);
  }

  // Hands one message to librdkafka. Queue full is waited out (serving
  // delivery reports meanwhile); any other error fails the record at once.
  void produce(const Message& msg, uint64_t line_no) {
    rd_kafka_headers_t* hdrs = make_headers(msg);
    std::string topic(msg.topic);
    rd_kafka_vu_t vu[8];
    size_t n = 0;
    if (topic.empty()) {
      vu[n].vtype = RD_KAFKA_VTYPE_RKT;
      vu[n++].u.rkt = rkt_;
    } else {
      vu[n].vtype = RD_KAFKA_VTYPE_TOPIC;
      vu[n++].u.cstr = topic.c_str();
    }
    int32_t partition = msg.partition >= 0 ? msg.partition : opts_.partition;
    vu[n].vtype = RD_KAFKA_VTYPE_PARTITION;
    vu[n++].u.i32 = partition >= 0 ? partition : RD_KAFKA_PARTITION_UA;
    vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[n].u.mem.ptr = msg.null_value ? nullptr : const_cast<char*>(msg.value.data());
    vu[n++].u.mem.size = msg.null_value ? 0 : msg.value.size();
    if (msg.has_key) {
      vu[n].vtype = RD_KAFKA_VTYPE_KEY;
      vu[n].u.mem.ptr = const_cast<char*>(msg.key.data());
      vu[n++].u.mem.size = msg.key.size();
    }
    vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[n++].u.i = RD_KAFKA_MSG_F_COPY;  // the input buffer is reused for the next lines
    // The opaque carries what the delivery report needs: the line number and
    // whether the value is JSON (for the --failed line).
    vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu[n++].u.ptr = reinterpret_cast<void*>(static_cast<uintptr_t>((line_no << 1) | (msg.value_is_json ? 1 : 0)));
    if (msg.timestamp > 0) {
      vu[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
      vu[n++].u.i64 = msg.timestamp;
    }
    if (hdrs) {
      vu[n].vtype = RD_KAFKA_VTYPE_HEADERS;
      vu[n++].u.headers = hdrs;
    }

    for (;;) {
      rd_kafka_error_t* error = rd_kafka_produceva(rk_.get(), vu, n);
      if (!error) break;
      rd_kafka_resp_err_t err = rd_kafka_error_code(error);
      rd_kafka_error_destroy(error);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        ++queue_full_waits_;
        poll(50);
        continue;
      }
      // Not taken by librdkafka: the headers are still ours.
      std::string_view key = msg.key;
      std::string_view value = msg.value;
      record_failure(err, line_no, topic.empty() ? std::string_view(opts_.topic) : std::string_view(topic),
                     partition, msg.has_key ? &key : nullptr, header_views(hdrs),
                     msg.null_value ? nullptr : &value, msg.value_is_json);
      if (hdrs) rd_kafka_headers_destroy(hdrs);
      return;
    }
    ++accepted_;
    if (accepted_ % kPollEvery == 0) poll(0);
  }

  void serve() { poll(0); }

  // Fails fast on what no retry can fix: the topic does not exist, or the
  // cluster refused our credentials. Waits at most `wait_ms` for an answer;
  // an unreachable cluster is not an error yet (records wait for it).
  // Returns whether the cluster answered.
  bool check_topic(int wait_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    while (!aborted() && !stop_requested()) {
      const rd_kafka_metadata_t* md = nullptr;
      rd_kafka_resp_err_t err = rd_kafka_metadata(rk_.get(), 0, rkt_, &md, 200);
      poll(0);  // error callbacks: authentication failures arrive there
      // Unreachable (refused, closed): not an answer; the records wait for the cluster.
      if (err == RD_KAFKA_RESP_ERR__TRANSPORT || (said_all_down_ && err != RD_KAFKA_RESP_ERR_NO_ERROR)) return false;
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_resp_err_t topic_err = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_NO_ERROR;
        answering_broker_ = md->orig_broker_id;
        rd_kafka_metadata_destroy(md);
        if (topic_err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
          throw UsageError("topic " + opts_.topic + " does not exist (kpub does not create topics: create it first)");
        if (topic_err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
          throw UsageError("not authorized to publish to topic " + opts_.topic);
        return true;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        log::warn("no broker answered within {} ms ({}); publishing anyway: records wait for the cluster until "
                  "message.timeout.ms",
                  wait_ms, rd_kafka_err2str(err));
        return false;
      }
    }
    if (aborted()) throw_abort();
    return false;
  }

  // librdkafka 2.14 drops its bootstrap connection once the first metadata
  // answer names the brokers, and connects to them anew. The idempotent
  // producer asks for its producer id when that answer arrives; when no
  // connection is up at that moment it asks again only 500 ms later, and
  // every record waits (one-record runs of kpub -k on Kafka 4.1.1: 7 of 150
  // on a warm broker, 38 of 100 on a freshly started one). Any later
  // metadata answer makes it ask at once, so one more request, which
  // librdkafka sends on a live connection, closes the gap (0 of 150, 0 of 100).
  // Only after check_topic() got an answer: otherwise records wait for the
  // cluster anyway.
  void nudge_producer_id() {
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk_.get(), 0, rkt_, &md, 200) == RD_KAFKA_RESP_ERR_NO_ERROR) rd_kafka_metadata_destroy(md);
  }

  // Why the broker would refuse a record without a key on `topic` (empty:
  // it would not). A compacted topic answers INVALID_RECORD for the whole
  // batch the keyless record is in, failing its neighbours too, so such a
  // record is rejected before it is sent. Asked once per topic
  // (DescribeConfigs); when the answer does not come, records are sent.
  const std::string& keyless_refusal(std::string_view topic) {
    auto it = keyless_refusal_.find(topic);
    if (it == keyless_refusal_.end()) it = keyless_refusal_.emplace(std::string(topic), describe_keyless_refusal(std::string(topic))).first;
    return it->second;
  }

  // Set by the error callback on what ends the run: bad credentials, a
  // fatal producer error. Reading stops; what was not delivered goes to --failed.
  bool aborted() const { return !abort_reason_.empty(); }
  [[noreturn]] void throw_abort() const { throw Error(abort_code_, abort_reason_); }

  // Waits until every accepted message is delivered or has failed: at most
  // message.timeout.ms after it was accepted, or kStopGraceMs after a stop
  // signal; at once when the run was aborted. Whatever is left then is
  // purged: its delivery reports (to --failed) say it was not delivered.
  void drain() {
    uint64_t waiting = in_flight();
    if (waiting > 0) log::debug("flushing {} message(s) in flight", waiting);
    std::optional<std::chrono::steady_clock::time_point> deadline;
    while (in_flight() > 0) {
      if (!deadline && stop_requested())
        deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStopGraceMs);
      if (aborted() || (deadline && std::chrono::steady_clock::now() >= *deadline)) {
        if (!aborted())
          log::warn("{} message(s) still not delivered {} ms after the stop signal: giving up on them",
                    in_flight(), kStopGraceMs);
        rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        for (int i = 0; i < 50 && in_flight() > 0; ++i) poll(100);
        break;
      }
      rd_kafka_flush(rk_.get(), 200);
      rethrow_from_callbacks();
    }
    if (!aborted()) rd_kafka_flush(rk_.get(), 1000);
    rethrow_from_callbacks();
  }

  void finish_files() {
    if (failed_out_) failed_out_->sync();
  }

  uint64_t in_flight() const { return accepted_ - delivered_ - failed_after_accept_; }
  uint64_t accepted() const { return accepted_; }
  uint64_t delivered() const { return delivered_; }
  uint64_t failed() const { return failed_; }
  uint64_t service_failures() const { return by_class_[0]; }
  uint64_t config_failures() const { return by_class_[1]; }
  const std::string& first_error() const { return first_error_; }
  uint64_t queue_full_waits() const { return queue_full_waits_; }

 private:
  // Serves delivery reports, errors and logs (the callbacks run here, on
  // this thread).
  void poll(int timeout_ms) {
    rd_kafka_poll(rk_.get(), timeout_ms);
    rethrow_from_callbacks();
  }

  // An exception must not unwind through librdkafka's C frames: the
  // callbacks park it here and it is rethrown once poll returns.
  void rethrow_from_callbacks() {
    if (pending_) std::rethrow_exception(std::exchange(pending_, nullptr));
  }
  void park_exception() {
    if (!pending_) pending_ = std::current_exception();
  }

  rd_kafka_headers_t* make_headers(const Message& msg) const {
    size_t count = flag_headers_.size() + (msg.headers ? msg.headers->size() : 0);
    if (count == 0) return nullptr;
    rd_kafka_headers_t* h = rd_kafka_headers_new(count);
    // Envelope headers first, then -H: both are kept, in that order.
    if (msg.headers)
      for (const auto& [k, v] : *msg.headers) rd_kafka_header_add(h, k.data(), k.size(), v.data(), v.size());
    for (const auto& [k, v] : flag_headers_) rd_kafka_header_add(h, k.data(), k.size(), v.data(), v.size());
    return h;
  }

  static std::vector<std::pair<std::string_view, std::string_view>> header_views(rd_kafka_headers_t* h) {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    if (!h) return out;
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
      out.emplace_back(name, value ? std::string_view(static_cast<const char*>(value), size) : std::string_view());
    return out;
  }

  void record_failure(rd_kafka_resp_err_t err, uint64_t line_no, std::string_view topic, int32_t partition,
                      const std::string_view* key,
                      std::vector<std::pair<std::string_view, std::string_view>> headers,
                      const std::string_view* value, bool value_is_json) {
    ++failed_;
    ctx_.stats.add("failed");
    ++by_class_[static_cast<int>(classify(err))];
    if (first_error_.empty()) first_error_ = rd_kafka_err2str(err);
    if (failed_out_) {
      line_buf_.clear();
      append_failed(line_buf_, FailedRecord{line_no, err, topic, partition, key, std::move(headers), value,
                                            value_is_json, std::exchange(maybe_persisted_, false)});
      failed_out_->write_line(line_buf_);
    } else if (++logged_failures_ <= kMaxLoggedFailures) {
      log::warn("line {}: not delivered: {}", line_no, rd_kafka_err2str(err));
      if (logged_failures_ == kMaxLoggedFailures)
        log::warn("more delivery failures follow; no longer shown (use --failed FILE)");
    }
  }

  void delivered(const rd_kafka_message_t* m) {
    auto tag = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(m->_private));
    if (!m->err) {
      ++delivered_;
      ctx_.stats.records_out++;
      return;
    }
    ++failed_after_accept_;
    std::string_view key(static_cast<const char*>(m->key), m->key_len);
    std::string_view value(static_cast<const char*>(m->payload), m->len);
    maybe_persisted_ = rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED;
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) hdrs = nullptr;
    record_failure(m->err, tag >> 1, rd_kafka_topic_name(m->rkt), opts_.partition >= 0 || opts_.keep_partition ? m->partition : -1,
                   m->key ? &key : nullptr, header_views(hdrs), m->payload ? &value : nullptr, tag & 1);
  }

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Publisher*>(opaque);
    try {
      self->delivered(m);
    } catch (...) {
      self->park_exception();  // e.g. --failed cannot be written: disk full
    }
  }

  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* self = static_cast<Publisher*>(opaque);
    try {
      self->report_error(rk, err, reason);
    } catch (...) {
      self->park_exception();
    }
  }

  void report_error(rd_kafka_t* rk, int err, const char* reason) {
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char buf[512];
      rd_kafka_fatal_error(rk, buf, sizeof buf);
      if (!aborted()) {
        abort_reason_ = std::string("the producer hit a fatal error: ") + buf;
        abort_code_ = ExitCode::unavailable;
      }
    } else if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED ||
               err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED ||
               err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
      // No retry fixes credentials: the broker's reason, at once (the
      // reason names the user and mechanism, never the password).
      if (!aborted()) {
        abort_reason_ = std::string("the cluster refused us: ") + reason;
        abort_code_ = ExitCode::usage;
      }
    } else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
      if (std::exchange(said_all_down_, true)) return;  // once: librdkafka repeats it
      log::warn("all brokers are down; messages wait until message.timeout.ms");
    } else {
      log::debug("kafka: {}", reason);
    }
  }

  std::string describe_keyless_refusal(const std::string& topic) {
    constexpr int kTimeoutMs = 5000;
    // The start-up check may have returned on a transport error before any
    // broker answered (a fresh connection on a busy machine): ask again now.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
    while (answering_broker_ < 0 && !said_all_down_ && std::chrono::steady_clock::now() < deadline && !stop_requested()) {
      const rd_kafka_metadata_t* md = nullptr;
      if (rd_kafka_metadata(rk_.get(), 0, rkt_, &md, 200) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        answering_broker_ = md->orig_broker_id;
        rd_kafka_metadata_destroy(md);
      } else {
        poll(50);
      }
    }
    if (answering_broker_ < 0) {
      log::debug("cleanup.policy of topic {} unknown (no broker answered): records without a key are sent", topic);
      return {};
    }
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk_.get());
    rd_kafka_ConfigResource_t* res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
    // To the broker that answered the start-up metadata request: any broker
    // can describe a topic, and a cluster that names no controller
    // (librdkafka's mock) would otherwise keep the request waiting for one.
    rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk_.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    char errstr[256];
    rd_kafka_AdminOptions_set_broker(options, answering_broker_, errstr, sizeof errstr);
    rd_kafka_AdminOptions_set_request_timeout(options, kTimeoutMs, errstr, sizeof errstr);
    rd_kafka_DescribeConfigs(rk_.get(), &res, 1, options, queue);
    rd_kafka_AdminOptions_destroy(options);
    rd_kafka_event_t* ev = nullptr;
    for (int waited = 0; !ev && waited < kTimeoutMs && !stop_requested(); waited += 100)
      ev = rd_kafka_queue_poll(queue, 100);
    std::string policy, why;
    if (!ev) {
      why = "no answer";
    } else if (rd_kafka_event_error(ev)) {
      why = rd_kafka_event_error_string(ev);
    } else if (const auto* result = rd_kafka_event_DescribeConfigs_result(ev)) {
      size_t n = 0;
      const rd_kafka_ConfigResource_t** resources = rd_kafka_DescribeConfigs_result_resources(result, &n);
      if (n == 1 && rd_kafka_ConfigResource_error(resources[0])) why = rd_kafka_ConfigResource_error_string(resources[0]);
      size_t entries = 0;
      const rd_kafka_ConfigEntry_t** configs = n == 1 ? rd_kafka_ConfigResource_configs(resources[0], &entries) : nullptr;
      for (size_t i = 0; i < entries; ++i)
        if (std::string_view(rd_kafka_ConfigEntry_name(configs[i])) == "cleanup.policy" && rd_kafka_ConfigEntry_value(configs[i]))
          policy = rd_kafka_ConfigEntry_value(configs[i]);
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(queue);
    if (!why.empty()) log::debug("cleanup.policy of topic {} unknown ({}): records without a key are sent", topic, why);
    if (policy.find("compact") == std::string::npos) return {};
    return fmt::format("no key, and topic {} is compacted (cleanup.policy={}): the broker refuses a record without a "
                       "key (INVALID_RECORD: compacted topic cannot accept message without key)",
                       topic, policy);
  }

  static void on_log(const rd_kafka_t*, int level, const char* fac, const char* buf) noexcept {
    try {
      log::debug("librdkafka[{}] {}: {}", level, fac, buf);
    } catch (...) {
    }
  }

  const Options& opts_;
  RunContext& ctx_;
  HeaderList flag_headers_;
  std::unique_ptr<OutputWriter> failed_out_;  // outlives the handle (declared first)
  std::map<std::string, std::string, std::less<>> keyless_refusal_;  // by topic
  int32_t answering_broker_ = -1;  // of the start-up metadata request
  kafka::Handle rk_;
  rd_kafka_topic_t* rkt_ = nullptr;
  uint64_t accepted_ = 0, delivered_ = 0, failed_ = 0, failed_after_accept_ = 0;
  uint64_t by_class_[3] = {0, 0, 0};
  uint64_t logged_failures_ = 0, queue_full_waits_ = 0;
  std::string first_error_;
  std::string line_buf_;
  std::exception_ptr pending_;
  std::string abort_reason_;
  ExitCode abort_code_ = ExitCode::ok;
  bool maybe_persisted_ = false;
  bool said_all_down_ = false;  // of the delivery report being handled
};

// Compression when neither -z nor the configuration names one: lz4. It cut
// the bytes the broker receives, writes and replicates by 2.5x
// (randomuser-shaped JSON) and the broker's CPU time by a quarter to a half
// (the more, the fuller its page cache), for 0.15-0.19 s more of kpub's CPU
// per 100 MB (docs/kpub.md, measured with bench/kafka-real).
constexpr const char* kDefaultCompression = "lz4";

kafka::Properties effective_properties(const Options& opts) {
  kafka::Properties props = kafka::resolve(opts.kafka, default_properties());
  auto is_codec = [](const auto& p) { return p.first == "compression.codec" || p.first == "compression.type"; };
  if (!opts.compression.empty()) {
    // -z is a flag: it beats -X compression.codec / compression.type.
    std::erase_if(props, is_codec);
    props.emplace_back("compression.codec", opts.compression);
  } else if (std::none_of(props.begin(), props.end(), is_codec)) {
    props.emplace_back("compression.codec", kDefaultCompression);
  }
  return props;
}

}  // namespace

namespace {

// --dump-config: validated by librdkafka, then what kpub sets (not
// librdkafka's hundred defaults): the settings that decide its behaviour.
int dump_config(const kafka::Properties& props) {
  rd_kafka_conf_destroy(kafka::make_conf(props));
  OutputWriter out(STDOUT_FILENO);
  out.write(kafka::dump(props));
  out.flush();
  return 0;
}

// Publishes every record the intake hands over; returns true when a stop
// signal ended the input. On an exception (an input error), what was accepted
// before it is still delivered, and the input error is the one reported.
bool publish_all(const Options& opts, Intake& intake, MessageBuilder& builder, Publisher& pub) {
  Record record;
  Message msg;
  std::string reason;
  RejectCode code;
  try {
    for (;;) {
      ReadStatus st = intake.next(record, kReadTimeoutMs);
      if (st == ReadStatus::timeout) {
        pub.serve();
        if (pub.aborted()) return false;
        continue;
      }
      if (st != ReadStatus::line) return st == ReadStatus::stopped;
      if (!builder.build(record, msg, reason, code)) {
        intake.reject(record, code, reason);
        continue;
      }
      if (!msg.has_key) {
        if (const auto& refusal = pub.keyless_refusal(msg.topic.empty() ? opts.topic : msg.topic); !refusal.empty()) {
          intake.reject(record, RejectCode::missing_field, refusal);
          continue;
        }
      }
      pub.produce(msg, record.line.number);
      if (pub.aborted()) return false;
    }
  } catch (...) {
    try {
      pub.drain();
      pub.finish_files();
    } catch (...) {
    }
    throw;
  }
}

// The run's verdict once everything is delivered or has failed.
int verdict(const Options& opts, Publisher& pub, RejectSink& rejects, RunContext& ctx) {
  if (pub.aborted()) {
    log::error("{} record(s) not delivered{}", pub.failed(),
               opts.failed_path.empty() ? "" : "; they are in " + opts.failed_path);
    pub.throw_abort();
  }
  log::info("published {}, rejected {}, failed {}{}", pub.delivered(), rejects.count(), pub.failed(),
            opts.keep_topic ? " (to the envelopes' topics)" : " to topic " + opts.topic);
  if (pub.queue_full_waits() > 0) log::debug("waited on a full queue {} time(s)", pub.queue_full_waits());
  if (pub.failed() > 0) {
    std::string what = fmt::format("{} record(s) not delivered (first error: {}){}", pub.failed(),
                                   pub.first_error(),
                                   opts.failed_path.empty() ? "" : "; they are in " + opts.failed_path);
    if (pub.service_failures() > 0) throw ServiceError(what);
    if (pub.config_failures() > 0) throw UsageError(what);
    log::error("{}", what);
    return static_cast<int>(ExitCode::rejects);
  }
  // A stop by signal, once everything accepted was delivered, is a clean
  // exit (0), as in every pipekit tool; a second signal exits 128+N at once.
  return rejects.exit_status(ctx.stats.records_in.load());
}

}  // namespace

int run(const Options& opts, RunContext& ctx) {
  kafka::Properties props = effective_properties(opts);
  if (opts.kafka.dump_config) return dump_config(props);
  if (opts.topic.empty()) throw UsageError("-t/--topic is required");
  if (opts.intake.envelope == false && (opts.keep_topic || opts.keep_partition || opts.keep_timestamp))
    throw UsageError("--keep-topic, --keep-partition and --keep-timestamp need --envelope");
  RejectSink rejects(opts.rejects, ctx.stats);
  // Opened before connecting: a missing file is exit 4 at once.
  Intake intake({opts.input}, opts.intake, IntakeRules{.copy_envelope_value = true}, rejects, ctx.stats);
  MessageBuilder builder(BuilderConfig{opts.key_path, opts.key_fixed, opts.keep_topic, opts.keep_partition,
                                       opts.keep_timestamp});
  Publisher pub(opts, ctx, std::move(props));
  ctx.stats.set("failed", 0);
  if (pub.check_topic(kStartCheckMs)) pub.nudge_producer_id();

  if (publish_all(opts, intake, builder, pub))
    log::info("stopping on signal: delivering the {} message(s) in flight (a second signal exits at once)",
              pub.in_flight());
  pub.drain();
  pub.finish_files();
  rejects.flush();
  return verdict(opts, pub, rejects, ctx);
}

}  // namespace pipekit::kpub
