// ksub's output: batches to the OutputPump, and the backpressure of a slow stdout.
#include "output_stage.hpp"

#include "pipekit/log.hpp"
#include "pipekit/signals.hpp"

namespace pipekit::ksub {

using Clock = std::chrono::steady_clock;

OutputStage::OutputStage(int fd, RecordFormatter formatter, Hooks& hooks, OutputLimits limits)
    : formatter_(std::move(formatter)), hooks_(hooks), limits_(limits), pump_(fd) {}

void OutputStage::append(const Record& r) {
  formatter_.append(batch_, r);
  unflushed_.push_back({std::string(r.topic), r.partition, r.offset});
}

void OutputStage::flush() {
  if (!unflushed_.empty() && !pipe_closed_) {
    // Tracked from now on: downstream may read (and ack) a line before
    // write(2) returns. One never written is dropped again in settle().
    hooks_.handed_over(unflushed_);
    pump_.push({std::move(batch_), std::move(unflushed_)});
  }
  batch_.clear();
  // Sized once: grown by doubling, a batch just past batch_bytes would hold
  // up to twice that while it waits for stdout.
  batch_.reserve(limits_.batch_bytes + limits_.batch_bytes / 8);
  unflushed_.clear();
  settle();
}

// Written lines count, and only now are their offsets stored. What was
// never written (EPIPE, a stop signal) is not stored, nor awaited as an ack.
void OutputStage::settle() {
  for (const auto& b : pump_.take_written()) hooks_.written(b);
  for (const auto& b : pump_.take_dropped()) hooks_.dropped(b);
  if (pump_.pipe_closed()) pipe_closed_ = true;
  if (auto e = pump_.take_error(); e && !error_) error_ = std::move(e);
}

void OutputStage::throw_if_failed() const {
  if (error_) throw Error(error_->code(), error_->what());
}

void OutputStage::drain(bool keep_polling, bool discard_queued) {
  flush();
  if (discard_queued) pump_.discard_queued();
  if (keep_polling && !paused_) set_paused(true);
  const bool signalled_before = stop_requested();
  const auto started = Clock::now();
  while (!pump_.wait_idle(std::chrono::milliseconds(keep_polling ? 0 : 100))) {
    if (!signalled_before && stop_requested()) break;
    if (signalled_before && Clock::now() - started >= std::chrono::seconds(10)) {
      log::warn("stdout took nothing for 10 s after the stop signal: {} byte(s) not written, their offsets "
                "not stored", pump_.pending_bytes());
      break;
    }
    if (keep_polling) {
      // Paused: nothing new comes; a record fetched before the pause is
      // dropped unwritten, so its offset is never stored.
      hooks_.poll_paused();
      note_bottleneck();
    }
  }
  settle();
}

// Backpressure: above max_pending waiting for stdout, reading waits until
// half of it is written (librdkafka's bounded prefetch queue holds what
// comes meanwhile), as long as stdout makes progress; else reading pauses
// and polling goes on, so the consumer is not evicted (max.poll.interval.ms).
void OutputStage::pace() {
  const size_t pending = pump_.pending_bytes();
  if (!paused_ && pending > limits_.max_pending) {
    const auto give_up = Clock::now() + limits_.wait_before_pause;
    for (size_t left = pending; left > limits_.max_pending / 2;) {
      pump_.wait_pending_at_most(left - 1, limits_.wait_for_progress);  // a batch written
      const size_t now = pump_.pending_bytes();
      if (now >= left || Clock::now() >= give_up || stop_requested()) break;
      left = now;
    }
    if (pump_.pending_bytes() > limits_.max_pending / 2 && !stop_requested()) set_paused(true);
    settle();
  } else if (paused_ && pending <= limits_.max_pending / 2) {
    set_paused(false);
  }
  note_bottleneck();
}

// Said once per run, when reading has been paused for a while.
void OutputStage::note_bottleneck() {
  if (!paused_ || said_bottleneck_ || Clock::now() - paused_at_ < limits_.bottleneck_after) return;
  said_bottleneck_ = true;
  log::info("downstream is the bottleneck: stdout is not taking the output ({:.1f} MiB waiting); reading "
            "is paused until it catches up, the consumer keeps polling (it stays in its group)",
            static_cast<double>(pump_.pending_bytes()) / (1 << 20));
}

void OutputStage::set_paused(bool pause) {
  if (!hooks_.pause_reading(pause)) return;
  paused_ = pause;
  if (pause) paused_at_ = Clock::now();
  log::debug("reading {}", pause ? "paused: stdout is behind" : "resumed");
}

}  // namespace pipekit::ksub
