#include "pipekit/stats.hpp"

#include <fmt/format.h>
#include <unistd.h>

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

Stats::Stats() : start_(std::chrono::steady_clock::now()) {}

Stats::~Stats() { stop_progress(); }

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

std::string Stats::to_json(int exit_code) const {
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
  j["exit_code"] = exit_code;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, value] : extra_) j[name] = value;
  }
  return j.dump();
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
