#pragma once
// ksub's output: records formatted into batches, handed to the OutputPump
// (stdout's own thread), settled once written, and the backpressure of a
// slow stdout: above a bound of output waiting, reading waits for stdout a
// little, then pauses (polling goes on, so the group keeps us) until half of
// it is written. What happens to written, dropped and paused records is the
// consumer's (Hooks).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "output_pump.hpp"
#include "pipekit/errors.hpp"
#include "record_format.hpp"

namespace pipekit::ksub {

struct OutputLimits {
  size_t batch_bytes = 256 * 1024;  // write(2) size of the output
  // Output handed over but not yet written above which reading waits for
  // stdout (and goes on below half of it): a slow downstream costs at most this.
  size_t max_pending = 4u << 20;
  // A slow stdout makes reading wait as long as stdout takes a batch at
  // least every wait_for_progress, up to wait_before_pause in all; then (a
  // stalled or very slow downstream) the partitions pause and polling goes
  // on, so the group keeps us. Not at once: a pause drops librdkafka's
  // prefetched records, and after a resume the first fetch came ~0.6 s
  // later on a real broker, once per pause, so a downstream only a little
  // slower than Kafka made a whole run several times slower.
  std::chrono::milliseconds wait_for_progress{500};
  std::chrono::milliseconds wait_before_pause{2000};
  std::chrono::milliseconds bottleneck_after{1000};  // said once, paused this long
};

class OutputStage {
 public:
  class Hooks {
   public:
    // Records about to be handed to the pump.
    virtual void handed_over(const std::vector<Written>& records) = 0;
    virtual void written(const OutputPump::Batch& batch) = 0;
    virtual void dropped(const OutputPump::Batch& batch) = 0;
    // Pauses or resumes reading; false when it could not.
    virtual bool pause_reading(bool pause) = 0;
    // Polls the paused consumer once (while waiting for stdout).
    virtual void poll_paused() = 0;

   protected:
    ~Hooks() = default;
  };
  OutputStage(int fd, RecordFormatter formatter, Hooks& hooks, OutputLimits limits = OutputLimits());

  // A record's line, into the batch in progress.
  void append(const Record& r);
  // A position without a line (past transaction markers at a partition's end).
  void append_position(Written position) { unflushed_.push_back(std::move(position)); }
  bool batch_empty() const { return batch_.empty(); }
  bool batch_full() const { return batch_.size() >= limits_.batch_bytes; }

  // Hands the batch to the pump, and settles what it has written.
  void flush();
  // After a flush: waits for stdout, pauses or resumes reading (backpressure).
  void pace();
  // Waits until everything handed over is written. With keep_polling (not
  // inside a rebalance callback), reading is paused and the consumer polled
  // meanwhile. A stop signal during the wait ends it; discard_queued
  // (stopping on a signal) writes only the batch in progress.
  void drain(bool keep_polling, bool discard_queued = false);

  bool paused() const { return paused_; }
  bool pipe_closed() const { return pipe_closed_; }
  // A write error met (perhaps inside a callback): thrown from here.
  void throw_if_failed() const;

 private:
  void settle();
  void set_paused(bool pause);
  void note_bottleneck();

  RecordFormatter formatter_;
  Hooks& hooks_;
  const OutputLimits limits_;
  OutputPump pump_;
  std::string batch_;
  std::vector<Written> unflushed_;
  bool pipe_closed_ = false;
  bool paused_ = false;
  std::chrono::steady_clock::time_point paused_at_{};
  bool said_bottleneck_ = false;
  std::unique_ptr<Error> error_;
};

}  // namespace pipekit::ksub
