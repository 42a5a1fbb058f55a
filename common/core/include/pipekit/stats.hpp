#pragma once
// Per-run counters, the progress line (stderr, TTY or --progress), the
// one-line summary at exit and the --stats JSON file, which is also rewritten
// while the tool runs (every --stats-interval, atomically): pipekit's metrics
// read it live. A sink's freshness (the newest record it made durable, and
// how long records took from Kafka to durable) is kept here too.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pipekit {

class Stats {
 public:
  std::atomic<uint64_t> records_in{0};
  std::atomic<uint64_t> records_out{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> bytes{0};

  Stats();
  ~Stats();
  Stats(const Stats&) = delete;
  Stats& operator=(const Stats&) = delete;

  // Extra named counters shown in the summary and --stats (e.g. "failed").
  void set(const std::string& name, uint64_t value);
  void add(const std::string& name, uint64_t delta = 1);
  uint64_t get(const std::string& name) const;

  // A record with this Kafka timestamp (ms since the epoch) became durable
  // in the destination at now_ms (Intake::acknowledge calls it): the newest
  // such timestamp, and the time between the two into the latency histogram.
  void record_committed(int64_t timestamp_ms, int64_t now_ms);
  static int64_t now_ms();  // the wall clock, ms since the epoch
  // Upper bounds (seconds) of the latency histogram's buckets; +Inf is implied.
  static const std::vector<double>& latency_bounds();

  double seconds() const;
  std::string summary_line() const;                 // "in N, out N, rejected N, ..."
  std::string to_json(int exit_code) const;         // for --stats
  std::string to_json_running() const;              // the same, "exit_code": null
  // to_json(exit_code) into PATH, replaced in one step (rename); false on failure.
  bool write_file(const std::string& path, int exit_code) const;
  // While running: "exit_code" is null. Every interval_ms, to_json() goes to
  // PATH through a temporary file and rename(2), so a reader never sees half
  // of one; a thread of its own, no system call per record.
  void start_live_file(const std::string& path, int64_t interval_ms);
  void stop_live_file();
  // Starts a thread that redraws the progress line every 500 ms.
  void start_progress();
  void stop_progress();

 private:
  std::string json_text(std::optional<int> exit_code) const;  // null while running

  std::chrono::steady_clock::time_point start_;
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t> extra_;
  std::atomic<bool> progress_running_{false};
  std::thread progress_thread_;
  // freshness (under mutex_)
  int64_t newest_committed_ms_ = -1;
  std::vector<uint64_t> latency_counts_;  // per bound, not cumulative; last: +Inf
  double latency_sum_ = 0;
  uint64_t latency_count_ = 0;
  // the live --stats file
  std::mutex live_mutex_;
  std::condition_variable live_wake_;
  bool live_running_ = false;
  std::thread live_thread_;
};

}  // namespace pipekit
