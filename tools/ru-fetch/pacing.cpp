// The public API's per-address limit as a sliding window of users.
#include "engine.hpp"

namespace pipekit::rufetch {

void WindowBudget::expire(int64_t now) {
  while (!sent_.empty() && sent_.front().first + window_ms_ <= now) {
    total_ -= sent_.front().second;
    sent_.pop_front();
  }
}

int64_t WindowBudget::wait_ms(int64_t now, uint64_t users) {
  expire(now);
  // Wait for the oldest requests to leave the window until `users` fit.
  uint64_t total = total_;
  int64_t at = now;
  for (const auto& [t, n] : sent_) {
    if (total + users <= budget_) break;
    total -= n;
    at = t + window_ms_;
  }
  return at - now;
}

void WindowBudget::add(int64_t now, uint64_t users) {
  expire(now);
  sent_.emplace_back(now, users);
  total_ += users;
}

}  // namespace pipekit::rufetch
