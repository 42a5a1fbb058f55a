#include "pipekit/stats.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

#include <nlohmann/json.hpp>

#include "pipekit/log.hpp"
#include "pipekit/signals.hpp"

namespace pipekit {
namespace {
std::atomic<bool> g_progress_shown{false};

void clear_progress_line() {
  if (g_progress_shown.exchange(false)) {
    static const char clear[] = "\r\033[K";
    ssize_t rc = ::write(STDERR_FILENO, clear, sizeof clear - 1);
    (void)rc;
  }
}

std::string human_bytes(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", b) : fmt::format("{:.1f} {}", v, units[u]);
}
}  // namespace

Stats::Stats() : start_(std::chrono::steady_clock::now()), latency_counts_(latency_bounds().size() + 1, 0) {}

Stats::~Stats() {
  stop_progress();
  stop_live_file();
}

const std::vector<double>& Stats::latency_bounds() {
  // From sub-second (a streaming load) to ten minutes (a load catching up).
  static const std::vector<double> bounds = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
  return bounds;
}

int64_t Stats::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Stats::record_committed(int64_t timestamp_ms, int64_t now_ms) {
  if (timestamp_ms < 0) return;
  // A producer's clock ahead of ours gives a negative age: counted as 0.
  double age = static_cast<double>(std::max<int64_t>(0, now_ms - timestamp_ms)) / 1000.0;
  const auto& bounds = latency_bounds();
  size_t bucket = std::lower_bound(bounds.begin(), bounds.end(), age) - bounds.begin();
  std::lock_guard lock(mutex_);
  newest_committed_ms_ = std::max(newest_committed_ms_, timestamp_ms);
  ++latency_counts_[bucket];
  latency_sum_ += age;
  ++latency_count_;
}

void Stats::set(const std::string& name, uint64_t value) {
  std::lock_guard lock(mutex_);
  extra_[name] = value;
}

void Stats::add(const std::string& name, uint64_t delta) {
  std::lock_guard lock(mutex_);
  extra_[name] += delta;
}

uint64_t Stats::get(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = extra_.find(name);
  return it == extra_.end() ? 0 : it->second;
}

double Stats::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Stats::summary_line() const {
  double secs = seconds();
  uint64_t out = records_out.load();
  uint64_t in = records_in.load();
  std::string line = fmt::format("in {}, out {}, rejected {}", in, out, rejected.load());
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, value] : extra_) line += fmt::format(", {} {}", name, value);
  }
  double rate = secs > 0 ? static_cast<double>(std::max(in, out)) / secs : 0.0;
  line += fmt::format(", {}, {:.2f} s, {:.0f} records/s", human_bytes(bytes.load()), secs, rate);
  return line;
}

std::string Stats::to_json(int exit_code) const { return json_text(exit_code); }

std::string Stats::to_json_running() const { return json_text(std::nullopt); }

std::string Stats::json_text(std::optional<int> exit_code) const {
  double secs = seconds();
  uint64_t in = records_in.load(), out = records_out.load();
  nlohmann::json j;
  j["tool"] = std::string(log::tool_name());
  j["records_in"] = in;
  j["records_out"] = out;
  j["rejected"] = rejected.load();
  j["bytes"] = bytes.load();
  j["seconds"] = secs;
  j["records_per_second"] = secs > 0 ? static_cast<double>(std::max(in, out)) / secs : 0.0;
  j["exit_code"] = exit_code ? nlohmann::json(*exit_code) : nlohmann::json(nullptr);
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, value] : extra_) j[name] = value;
    if (latency_count_ > 0) {
      j["newest_committed_timestamp_ms"] = newest_committed_ms_;
      nlohmann::json buckets = nlohmann::json::array();
      uint64_t cumulative = 0;
      const auto& bounds = latency_bounds();
      for (size_t i = 0; i < bounds.size(); ++i) {
        cumulative += latency_counts_[i];
        buckets.push_back({bounds[i], cumulative});
      }
      j["commit_latency_seconds"] = {{"buckets", buckets}, {"sum", latency_sum_}, {"count", latency_count_}};
    }
  }
  return j.dump();
}

namespace {

bool write_all_to(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Whether PATH is (or would be) a regular file: only those are replaced by
// rename(2). A device, FIFO or /dev/stdout is written in place, never
// replaced by a file of the same name.
bool is_regular_or_absent(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno == ENOENT;
  return S_ISREG(st.st_mode);
}

// PATH's content replaced by TEXT: in one step (a temporary file beside it,
// then rename) for a regular file, in place otherwise. False on failure.
bool write_in_place(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = write_all_to(fd, text);
  return ::close(fd) == 0 && ok;
}

bool replace_file(const std::string& path, const std::string& text) {
  if (!is_regular_or_absent(path)) return write_in_place(path, text);
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  // A folder that takes no new file (the file itself is writable): in place.
  if (fd < 0) return (errno == EACCES || errno == EROFS) && write_in_place(path, text);
  bool ok = write_all_to(fd, text);
  ok = ::close(fd) == 0 && ok;
  if (ok && ::rename(tmp.c_str(), path.c_str()) == 0) return true;
  ::unlink(tmp.c_str());
  return false;
}

}  // namespace

bool Stats::write_file(const std::string& path, int exit_code) const {
  return replace_file(path, to_json(exit_code) + "\n");
}

void Stats::start_live_file(const std::string& path, int64_t interval_ms) {
  // Rewritten while running only when it is a file: not a device or FIFO.
  if (path.empty() || interval_ms <= 0 || !is_regular_or_absent(path)) return;
  {
    std::lock_guard lock(live_mutex_);
    if (live_running_) return;
    live_running_ = true;
  }
  live_thread_ = std::thread([this, path, interval_ms] {
    block_stop_signals_in_this_thread();
    bool warned = false;
    std::unique_lock lock(live_mutex_);
    while (live_running_) {
      if (live_wake_.wait_for(lock, std::chrono::milliseconds(interval_ms), [this] { return !live_running_; })) break;
      lock.unlock();
      bool ok = replace_file(path, to_json_running() + "\n");
      if (!ok && !warned) log::warn("cannot write the --stats file {} while running; it is written at exit", path);
      warned |= !ok;
      lock.lock();
    }
  });
}

void Stats::stop_live_file() {
  {
    std::lock_guard lock(live_mutex_);
    if (!live_running_) return;
    live_running_ = false;
  }
  live_wake_.notify_all();
  if (live_thread_.joinable()) live_thread_.join();
}

void Stats::start_progress() {
  if (progress_running_.exchange(true)) return;
  log::set_progress_clearer(&clear_progress_line);
  progress_thread_ = std::thread([this] {
    block_stop_signals_in_this_thread();
    while (progress_running_.load()) {
      for (int i = 0; i < 5 && progress_running_.load(); ++i) usleep(100 * 1000);
      if (!progress_running_.load()) break;
      std::string line = fmt::format("\r\033[K{}: {}", log::tool_name(), summary_line());
      ssize_t rc = ::write(STDERR_FILENO, line.data(), line.size());
      (void)rc;
      g_progress_shown = true;
    }
  });
}

void Stats::stop_progress() {
  if (!progress_running_.exchange(false)) return;
  if (progress_thread_.joinable()) progress_thread_.join();
  clear_progress_line();
  log::set_progress_clearer(nullptr);
}

}  // namespace pipekit
