#include "output_pump.hpp"

#include <utility>

#include "pipekit/ndjson.hpp"

namespace pipekit::ksub {

OutputPump::OutputPump(int fd) : state_(std::make_shared<State>()) {
  thread_ = std::thread(write_loop, state_, fd);
}

OutputPump::~OutputPump() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stop = true;
  }
  state_->wake.notify_all();
  // Blocked in write(2) on a reader that never reads: joining would hang.
  if (wait_idle(std::chrono::milliseconds(0))) thread_.join();
  else thread_.detach();
}

void OutputPump::write_loop(std::shared_ptr<State> s, int fd) {
  OutputWriter out(fd, 0);
  std::unique_lock lock(s->mutex);
  for (;;) {
    s->wake.wait(lock, [&] { return s->stop || !s->queue.empty(); });
    if (s->queue.empty()) return;  // stopped, nothing left
    std::string& bytes = s->queue.front().bytes;
    lock.unlock();
    bool closed = false;
    std::unique_ptr<Error> error;
    try {
      out.write(bytes);
      out.flush();
    } catch (const PipeClosed&) {
      closed = true;
    } catch (const Error& e) {
      error = std::make_unique<Error>(e.code(), e.what());
    }
    lock.lock();
    if (closed || error) {
      // Nothing more is written: what is queued was never written.
      s->pipe_closed = closed;
      s->error = std::move(error);
      for (auto& b : s->queue) s->dropped.push_back(std::move(b));
      s->queue.clear();
      s->pending_bytes = 0;
      s->idle.notify_all();
      s->wake.wait(lock, [&] { return s->stop; });
      return;
    }
    s->pending_bytes -= bytes.size();
    s->written.push_back(std::move(s->queue.front()));
    s->queue.pop_front();
    s->idle.notify_all();
  }
}

void OutputPump::push(Batch&& batch) {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->pipe_closed || state_->error) return;
    state_->pending_bytes += batch.bytes.size();
    state_->queue.push_back(std::move(batch));
  }
  state_->wake.notify_one();
}

std::vector<OutputPump::Batch> OutputPump::take_written() {
  std::lock_guard lock(state_->mutex);
  return std::exchange(state_->written, {});
}

std::vector<OutputPump::Batch> OutputPump::take_dropped() {
  std::lock_guard lock(state_->mutex);
  return std::exchange(state_->dropped, {});
}

void OutputPump::discard_queued() {
  std::lock_guard lock(state_->mutex);
  auto& q = state_->queue;
  while (q.size() > 1) {  // the front is being written
    state_->pending_bytes -= q.back().bytes.size();
    state_->dropped.push_back(std::move(q.back()));
    q.pop_back();
  }
}

size_t OutputPump::pending_bytes() const {
  std::lock_guard lock(state_->mutex);
  return state_->pending_bytes;
}

bool OutputPump::wait_idle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mutex);
  return state_->idle.wait_for(lock, timeout, [&] { return state_->queue.empty(); });
}

bool OutputPump::wait_pending_at_most(size_t bytes, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mutex);
  return state_->idle.wait_for(lock, timeout, [&] { return state_->pending_bytes <= bytes; });
}

bool OutputPump::pipe_closed() const {
  std::lock_guard lock(state_->mutex);
  return state_->pipe_closed;
}

std::unique_ptr<Error> OutputPump::take_error() {
  std::lock_guard lock(state_->mutex);
  return std::move(state_->error);
}

}  // namespace pipekit::ksub
