// ksub's consume loop: Kafka -> stdout, offsets stored only once written,
// and with --commit-acks, committed only once downstream acknowledged. The
// parts: kafka_consumer (librdkafka), assignment (partitions, rebalances,
// commits), start_position (-o, --since), partition_ends (-e),
// commit_policy (what may be committed), output_stage and record_format
// (stdout). This file runs them.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "assignment.hpp"
#include "commit_policy.hpp"
#include "inspect.hpp"
#include "kafka_consumer.hpp"
#include "output_stage.hpp"
#include "partition_ends.hpp"
#include "pipekit/acks.hpp"
#include "pipekit/errors.hpp"
#include "pipekit/log.hpp"
#include "pipekit/ndjson.hpp"
#include "pipekit/signals.hpp"
#include "record_format.hpp"

namespace pipekit::ksub {
namespace {

using Clock = std::chrono::steady_clock;

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using Message = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

class Consumer final : OutputStage::Hooks {
 public:
  Consumer(const Settings& s, RunContext& ctx);
  ~Consumer() { kc_.set_listener(nullptr); }
  int run();

 private:
  enum class Stop { none, count, end, idle, signal, pipe };

  void start();
  Stop step();
  Stop on_idle();
  Stop on_event(const rd_kafka_message_t& m);
  Stop on_record(Message m);
  void service_acks(bool idle);
  void drain_acks();
  int finish(Stop stop);
  int settle_acks(Stop stop);
  void wait_for_acks();

  // OutputStage::Hooks
  void handed_over(const std::vector<Written>& records) override { policy_.handed_over(records); }
  void written(const OutputPump::Batch& batch) override;
  void dropped(const OutputPump::Batch& batch) override { policy_.dropped(batch.records); }
  bool pause_reading(bool pause) override { return kc_.set_paused(pause); }
  void poll_paused() override {
    if (rd_kafka_message_t* m = kc_.next(100)) rd_kafka_message_destroy(m);
  }

  const Settings& s_;
  RunContext& ctx_;
  CommitPolicy policy_;
  PartitionEnds ends_;
  OutputStage out_;
  KafkaConsumer kc_;
  Assignment assignment_;
  std::unique_ptr<AckInbox> ack_inbox_;  // reads the FIFO on its own thread
  Record record_;
  const bool wants_headers_;
  Clock::time_point last_record_{};
  Clock::time_point next_commit_{};
  uint64_t since_ack_check_ = 0;
};

Consumer::Consumer(const Settings& s, RunContext& ctx)
    : s_(s),
      ctx_(ctx),
      policy_(s.acks()),
      out_(STDOUT_FILENO, RecordFormatter(s.output, s.format), *this),
      kc_(consumer_properties(s, s.grouped()), s.grouped()),
      assignment_(s, kc_, ends_, policy_, out_, [this] { drain_acks(); }),
      wants_headers_(RecordFormatter(s.output, s.format).wants_headers()) {
  kc_.set_listener(&assignment_);
}

void Consumer::start() {
  Metadata md = kc_.check_topics(s_.topics);
  if (s_.acks()) ack_inbox_ = std::make_unique<AckInbox>(s_.commit_acks);
  assignment_.start(*md);
}

int Consumer::run() {
  start();
  log::debug("started: {} partition(s) assigned", ends_.size());
  last_record_ = Clock::now();
  next_commit_ = last_record_ + std::chrono::seconds(1);
  Stop stop = Stop::none;
  while (stop == Stop::none) stop = step();
  return finish(stop);
}

// One turn of the loop: a record written, an event handled, or (idle) the
// output flushed and the end conditions checked.
Consumer::Stop Consumer::step() {
  out_.throw_if_failed();
  if (out_.pipe_closed()) return Stop::pipe;
  if (stop_requested()) return Stop::signal;
  Message m(kc_.next(out_.batch_empty() ? 100 : 0));
  service_acks(!m);
  if (!m) return on_idle();
  if (m->err) return on_event(*m);
  return on_record(std::move(m));
}

Consumer::Stop Consumer::on_idle() {
  out_.flush();  // idle: a pipe never holds records back
  out_.pace();
  if (out_.paused()) last_record_ = Clock::now();  // waiting for stdout is not idleness
  if (s_.exit_at_end && ends_.all_at_end()) return Stop::end;
  const auto quiet_since = std::max(last_record_, assignment_.assigned_at());
  if (s_.idle_ms > 0 && Clock::now() - quiet_since >= std::chrono::milliseconds(s_.idle_ms)) return Stop::idle;
  return Stop::none;
}

Consumer::Stop Consumer::on_event(const rd_kafka_message_t& m) {
  if (m.err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    throw_if_fatal(m);
    return Stop::none;
  }
  if (m.rkt) ends_.reached_eof(rd_kafka_topic_name(m.rkt), m.partition);
  // The end may lie past transaction markers (control records, never
  // delivered): the group's position moves there too, once what came
  // before is written, so that its lag is 0 when all was read.
  if (s_.grouped() && !s_.acks() && m.rkt && m.offset > 0)
    out_.append_position({rd_kafka_topic_name(m.rkt), m.partition, m.offset - 1, false});
  return s_.exit_at_end && ends_.all_at_end() ? Stop::end : Stop::none;
}

Consumer::Stop Consumer::on_record(Message m) {
  ++ctx_.stats.records_in;
  read_record(m.get(), wants_headers_, record_);
  out_.append(record_);
  const bool reached_end = s_.exit_at_end && ends_.record(record_.topic, record_.partition, record_.offset);
  m.reset();
  if (out_.batch_full()) {
    out_.flush();
    out_.pace();
  }
  if (s_.idle_ms > 0) last_record_ = Clock::now();
  if (s_.count > 0 && ctx_.stats.records_in >= s_.count) return Stop::count;
  return reached_end && ends_.all_at_end() ? Stop::end : Stop::none;
}

// Acks and the commit clock: when idle, and every 256 records meanwhile
// (per record, the clock alone was a visible share of ksub's CPU).
void Consumer::service_acks(bool idle) {
  if (!s_.acks() || (!idle && ++since_ack_check_ % 256 != 0)) return;
  drain_acks();
  if (Clock::now() >= next_commit_) {
    assignment_.commit_acked(false);
    next_commit_ = Clock::now() + std::chrono::seconds(1);
  }
}

void Consumer::drain_acks() {
  if (!ack_inbox_) return;
  if (uint64_t settled = policy_.feed_acks(ack_inbox_->take())) ctx_.stats.add("acked", settled);
}

void Consumer::written(const OutputPump::Batch& batch) {
  ctx_.stats.records_out +=
      std::count_if(batch.records.begin(), batch.records.end(), [](const Written& w) { return w.record; });
  ctx_.stats.bytes += batch.bytes.size();
  if (s_.grouped() && !s_.acks()) kc_.store(policy_.written(batch.records));
}

// Finish what is in flight: write it, then commit only what was written
// (or, with --commit-acks, what downstream acknowledged).
int Consumer::finish(Stop stop) {
  log::debug("stopping after {} record(s)", ctx_.stats.records_in.load());
  out_.drain(true, stop == Stop::signal);
  if (out_.pipe_closed()) stop = Stop::pipe;
  if (stop == Stop::pipe) log::debug("stdout closed by the reader; stopping");
  if (stop == Stop::signal) log::info("stopping on signal {}", stop_signal());
  int code = 0;
  if (s_.acks()) code = settle_acks(stop);
  else if (s_.grouped()) assignment_.commit_written();
  kc_.close();
  out_.throw_if_failed();
  if (code == 0 && s_.empty_exit >= 0 && ctx_.stats.records_out == 0 && stop != Stop::pipe) code = s_.empty_exit;
  return code;
}

// --commit-acks at the end: downstream sees EOF and finishes, its acks keep
// coming on the FIFO; what is acknowledged within --ack-timeout is committed.
int Consumer::settle_acks(Stop stop) {
  int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull >= 0) {
    ::dup2(devnull, STDOUT_FILENO);
    ::close(devnull);
  }
  wait_for_acks();
  assignment_.commit_acked(true);
  const uint64_t left = policy_.pending();
  if (left == 0) return 0;
  log::warn("{} record(s) written but not acknowledged within --ack-timeout {}: not committed, "
            "the group will read them again",
            left, s_.ack_timeout);
  ctx_.stats.set("unacknowledged", left);
  return stop != Stop::pipe ? static_cast<int>(ExitCode::rejects) : 0;
}

void Consumer::wait_for_acks() {
  auto deadline = Clock::now() + std::chrono::milliseconds(s_.ack_timeout_ms);
  // A signal that arrives while we wait (the run ended by -e or -c) stops the
  // wait: what is acknowledged so far gets committed.
  const bool signalled_before = stop_requested();
  drain_acks();
  while (policy_.pending() > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || (!signalled_before && stop_requested())) break;
    pollfd fds[2] = {{ack_inbox_->notify_fd(), POLLIN, 0}, {stop_fd(), POLLIN, 0}};
    ::poll(fds, signalled_before || stop_fd() < 0 ? 1 : 2, static_cast<int>(std::min<int64_t>(left, 200)));
    drain_acks();
  }
}

}  // namespace

int run(const Options& o, RunContext& ctx) {
  const Settings s = validate(o);
  if (s.kafka.dump_config) {
    auto props = consumer_properties(s, s.grouped());
    OutputWriter w(STDOUT_FILENO);
    w.write(kafka::dump(props));
    w.flush();
    return 0;
  }
  if (s.action == Settings::Action::list) return list(s, consumer_properties(s, false));
  if (s.action == Settings::Action::offsets) return offsets(s, consumer_properties(s, s.grouped()));
  Consumer consumer(s, ctx);
  return consumer.run();
}

}  // namespace pipekit::ksub
