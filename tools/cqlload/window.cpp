#include "window.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "pipekit/log.hpp"
#include "retry.hpp"

namespace pipekit::cqlload {

void Window::sent() {
  ++in_flight_;
  max_in_flight_ = std::max(max_in_flight_, in_flight_);
}

void Window::answered() {
  if (in_flight_ > 0) --in_flight_;
}

bool Window::retry_later(std::unique_ptr<Request> req, const std::string& why, int64_t now_ms) {
  if (++req->attempts > retries_) {
    fail(fmt::format("giving up after {} retries: {}", retries_, why), false, req->rows.size());
    return false;
  }
  int64_t delay = backoff_ms(req->attempts, static_cast<uint32_t>(rng_()));
  log::debug("retry {} of {} in {} ms: {}", req->attempts, retries_, delay, why);
  delayed_.emplace(now_ms + delay, std::move(req));
  return true;
}

void Window::promote(int64_t now_ms) {
  while (!delayed_.empty() && delayed_.begin()->first <= now_ms) {
    ready_.push_front(std::move(delayed_.begin()->second));
    delayed_.erase(delayed_.begin());
  }
}

void Window::fail(const std::string& why, bool usage, size_t rows) {
  undelivered_ += rows;
  if (fatal_.empty()) {
    fatal_ = why;
    fatal_usage_ = usage;
  }
}

void Window::drop_pending() {
  for (auto& req : ready_) undelivered_ += req->rows.size();
  for (auto& [t, req] : delayed_) undelivered_ += req->rows.size();
  ready_.clear();
  delayed_.clear();
}

int Window::wait_ms(int64_t now_ms, int cap) const {
  if (delayed_.empty()) return cap;
  return static_cast<int>(std::clamp<int64_t>(delayed_.begin()->first - now_ms, 0, cap));
}

}  // namespace pipekit::cqlload
