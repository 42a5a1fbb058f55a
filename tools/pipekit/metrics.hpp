#pragma once
// --metrics-addr HOST:PORT: the Prometheus text format on GET /metrics,
// served by a thread of its own while a pipeline runs (docs/monitoring.md).
// The stages' counts are live: each stage rewrites its --stats file every
// second (--stats-interval), and a scrape reads them. An ended attempt's
// final counts are kept and added to the next attempt's, so every counter
// only grows within a run.
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "settings.hpp"

namespace pipekit::orchestrator {

// What one stage's --stats file says, as numbers.
struct StageCounts {
  std::map<std::string, double> counters;  // records_in, records_out, rejected, bytes, the tool's own
  int64_t newest_committed_ms = -1;        // the freshness gauge
  std::vector<std::pair<double, double>> latency_buckets;  // (upper bound s, cumulative count)
  double latency_sum = 0, latency_count = 0;

  void add(const StageCounts& other);  // counters and histogram summed, newest kept
};
// Parses a --stats file's JSON; nullopt when it is not one (absent, half-read).
std::optional<StageCounts> parse_stage_counts(const std::string& json_text);

class MetricsServer {
 public:
  // Binds at once (a bad or busy address is a usage error, exit 2).
  // with_lag: also read the group's offsets (load, run).
  MetricsServer(const std::string& addr, const Settings& s, bool with_lag);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // An attempt's stages write RUN_DIR/STAGE.stats.json from now on.
  void begin_attempt(const std::string& run_dir, const std::vector<std::string>& stages);
  // The attempt ended: its final counts (or the last live ones, when a
  // killed stage left none) join the totals; its files are no longer read.
  void end_attempt();
  void set_up(const std::string& stage, bool up);
  void set_restarts(int restarts);
  int port() const { return port_; }

  // The exposition text (also what the unit tests check).
  std::string render();

 private:
  struct Connection;
  void serve();
  void lag_loop();
  void refresh_lag();
  void read_live();  // under mutex_
  std::string stage_text();  // under mutex_

  Settings settings_;
  bool with_lag_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: ends the threads
  int port_ = 0;
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  // the stages' counts: ended attempts', and the running attempt's last reading
  std::map<std::string, StageCounts> ended_, live_;
  std::string run_dir_;
  std::vector<std::string> stages_;
  bool attempt_running_ = false;
  std::map<std::string, bool> up_;
  int restarts_ = 0;
  // offsets: "topic\tpartition" -> (committed, lag)
  std::map<std::string, std::pair<int64_t, int64_t>> offsets_;
  int64_t committed_sum_ = -1;
  std::optional<std::chrono::steady_clock::time_point> last_commit_;
  std::thread thread_, lag_thread_;
};

}  // namespace pipekit::orchestrator
