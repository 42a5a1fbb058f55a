#pragma once
// ksub's stdout, written on a thread of its own: while a slow or stalled
// downstream blocks write(2), the consumer goes on polling, so the group does
// not evict it for exceeding max.poll.interval.ms. Batches queue up to a bound
// the consumer watches (it pauses its partitions above it); each batch comes
// back once written, so that only then its offsets are stored.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pipekit/errors.hpp"

namespace pipekit::ksub {

struct Written {
  std::string topic;
  int32_t partition;
  int64_t offset;
  // false: no line, only a position (the end of a partition, past
  // transaction markers that are never delivered)
  bool record = true;
};

class OutputPump {
 public:
  struct Batch {
    std::string bytes;
    std::vector<Written> records;  // what the bytes hold
  };

  explicit OutputPump(int fd);
  // Stops the thread; one still blocked in write(2) (a downstream that never
  // reads) is left to end with the process.
  ~OutputPump();
  OutputPump(const OutputPump&) = delete;
  OutputPump& operator=(const OutputPump&) = delete;

  // Queues a batch; never blocks.
  void push(Batch&& batch);
  // The batches written since the last call, in order.
  std::vector<Batch> take_written();
  // The batches that will never be written (dropped by discard_queued(), or
  // after the reader went away or a write error), since the last call.
  std::vector<Batch> take_dropped();
  // Drops the queued batches but the one being written (stopping on a signal:
  // only a whole line goes out).
  void discard_queued();
  // Bytes queued or being written.
  size_t pending_bytes() const;
  // Waits until everything pushed is written, the reader went away or an
  // error stopped the writes; false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout) const;
  // Waits until at most `bytes` are queued or being written (or the writes
  // stopped); false on timeout.
  bool wait_pending_at_most(size_t bytes, std::chrono::milliseconds timeout) const;
  // stdout's reader went away (EPIPE): what was not written is dropped.
  bool pipe_closed() const;
  // A write error other than EPIPE, once (then nothing more is written).
  std::unique_ptr<Error> take_error();

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable wake;  // the writer: a batch queued or stop
    mutable std::condition_variable idle;  // a batch written (or the writes stopped)
    std::deque<Batch> queue;       // front: being written
    std::vector<Batch> written;
    std::vector<Batch> dropped;
    size_t pending_bytes = 0;
    bool pipe_closed = false;
    std::unique_ptr<Error> error;
    bool stop = false;
  };
  static void write_loop(std::shared_ptr<State> state, int fd);
  std::shared_ptr<State> state_;  // shared with the thread, which may outlive us
  std::thread thread_;
};

}  // namespace pipekit::ksub
