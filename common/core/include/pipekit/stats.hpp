#pragma once
// Per-run counters, the progress line (stderr, TTY or --progress), the
// one-line summary at exit and the --stats JSON file.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

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

  double seconds() const;
  std::string summary_line() const;                 // "in N, out N, rejected N, ..."
  std::string to_json(int exit_code) const;         // for --stats
  // Starts a thread that redraws the progress line every 500 ms.
  void start_progress();
  void stop_progress();

 private:
  std::chrono::steady_clock::time_point start_;
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t> extra_;
  std::atomic<bool> progress_running_{false};
  std::thread progress_thread_;
};

}  // namespace pipekit
