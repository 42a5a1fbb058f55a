#pragma once
// The in-flight window: requests ready to send, requests waiting for a retry
// (backoff), how many are in flight (--concurrency), and the load's end when a
// request runs out of retries or an error concerns every row (what was not
// written is counted undelivered and never acknowledged).
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "row.hpp"

namespace pipekit::cqlload {

class Window {
 public:
  Window(size_t concurrency, int retries, uint32_t seed = std::random_device{}())
      : concurrency_(concurrency), retries_(retries), rng_(seed) {}

  std::deque<std::unique_ptr<Request>>& ready() { return ready_; }
  // Room to take more records: what is in flight and ready stays within --concurrency.
  bool has_room() const { return in_flight_ + ready_.size() < concurrency_; }
  // Room to send one more request now.
  bool can_send() const { return !ready_.empty() && in_flight_ < concurrency_; }
  void sent();      // a request went out
  void answered();  // its answer (or its failure) came back
  size_t in_flight() const { return in_flight_; }
  size_t max_in_flight() const { return max_in_flight_; }

  // Again after a backoff, or, past --retries, the end of the load (false).
  bool retry_later(std::unique_ptr<Request> req, const std::string& why, int64_t now_ms);
  // Moves the requests whose backoff is over to the front of ready().
  void promote(int64_t now_ms);
  // Ends the load: `rows` rows will never be written. The first reason stays.
  void fail(const std::string& why, bool usage, size_t rows);
  // On a failed load: drops what was not sent (counted undelivered).
  void drop_pending();

  // Nothing ready, waiting or in flight.
  bool idle() const { return ready_.empty() && delayed_.empty() && in_flight_ == 0; }
  // How long the event loop may wait before a backoff ends (at most `cap`).
  int wait_ms(int64_t now_ms, int cap) const;
  bool failed() const { return !fatal_.empty(); }
  const std::string& failure() const { return fatal_; }
  bool failure_is_usage() const { return fatal_usage_; }
  uint64_t undelivered() const { return undelivered_; }

 private:
  size_t concurrency_;
  int retries_;
  std::mt19937 rng_;
  std::deque<std::unique_ptr<Request>> ready_;
  std::multimap<int64_t, std::unique_ptr<Request>> delayed_;
  size_t in_flight_ = 0, max_in_flight_ = 0;
  std::string fatal_;
  bool fatal_usage_ = false;
  uint64_t undelivered_ = 0;
};

}  // namespace pipekit::cqlload
