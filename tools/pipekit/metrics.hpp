#pragma once
// --metrics-addr HOST:PORT: the Prometheus text format on GET /metrics,
// served by a thread of its own while a pipeline runs.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "settings.hpp"

namespace pipekit::orchestrator {

class MetricsServer {
 public:
  // Binds at once (a bad or busy address is a usage error, exit 2).
  // with_lag: also read the group's offsets (load, run).
  MetricsServer(const std::string& addr, const Settings& s, bool with_lag);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  void add_records(const std::string& stage, int64_t in, int64_t out, int64_t rejected);
  void set_up(const std::string& stage, bool up);
  void set_restarts(int restarts);
  int port() const { return port_; }

  // The exposition text (also what the unit tests check).
  std::string render();

 private:
  void serve();
  void refresh_lag();

  Settings settings_;
  bool with_lag_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: ends the thread
  int port_ = 0;
  std::mutex mutex_;
  std::map<std::string, std::array<int64_t, 3>> records_;
  std::map<std::string, bool> up_;
  int restarts_ = 0;
  // offsets: "topic\tpartition" -> (committed, lag)
  std::map<std::string, std::pair<int64_t, int64_t>> offsets_;
  std::optional<std::chrono::steady_clock::time_point> offsets_read_;
  int64_t committed_sum_ = -1;
  std::optional<std::chrono::steady_clock::time_point> last_commit_;
  std::thread thread_;
};

}  // namespace pipekit::orchestrator
