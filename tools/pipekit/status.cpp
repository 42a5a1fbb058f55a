#include "status.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <sstream>

#include "metrics.hpp"
#include "output.hpp"
#include "pipekit/cli.hpp"
#include "process.hpp"
#include "stages.hpp"
#include "supervisor.hpp"

namespace pipekit::orchestrator {

using Json = nlohmann::ordered_json;

namespace {

constexpr int64_t kToolTimeoutMs = 120000;

void prefixed(const std::string& name, const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) say_always("[" + name + "] " + line);
}

// The live counts of the stages of every pipeline running from this state
// dir: each run directory whose pipekit is alive, its STAGE.stats.json files
// (rewritten every second by the stages), by stage name.
std::map<std::string, StageCounts> running_stages(const std::string& state_dir) {
  namespace fs = std::filesystem;
  std::map<std::string, StageCounts> out;
  std::error_code ec;
  for (const auto& run : fs::directory_iterator(state_dir, ec)) {
    if (run.path().filename().string().rfind("run.", 0) != 0) continue;
    std::string pid_text;
    if (!read_file((run.path() / "pipekit.pid").string(), pid_text)) continue;
    int pid = std::atoi(pid_text.c_str());
    if (pid <= 0 || kill(pid, 0) != 0) continue;
    for (const auto& f : fs::directory_iterator(run.path(), ec)) {
      std::string name = f.path().filename().string();
      const std::string suffix = ".stats.json";
      if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
        continue;
      std::string text;
      if (!read_file(f.path().string(), text)) continue;
      if (auto counts = parse_stage_counts(text)) out[name.substr(0, name.size() - suffix.size())].add(*counts);
    }
  }
  return out;
}

std::string stage_lines(const std::map<std::string, StageCounts>& stages, bool tty, const std::string& when) {
  std::string out;
  if (stages.empty()) return out;
  if (tty) out += fmt::format("\n{:<24} {:>12} {:>12} {:>12}\n", "stage", "in", "out", "rejected");
  for (const auto& [stage, c] : stages) {
    auto get = [&c](const char* k) {
      auto it = c.counters.find(k);
      return it == c.counters.end() ? int64_t{0} : static_cast<int64_t>(it->second);
    };
    if (tty)
      out += fmt::format("{:<24} {:>12} {:>12} {:>12}\n", stage, get("records_in"), get("records_out"), get("rejected"));
    else
      out += fmt::format("{} stage={} in={} out={} rejected={}\n", when, stage, get("records_in"), get("records_out"),
                         get("rejected"));
  }
  return out;
}

}  // namespace

StatusReading read_status(const Settings& s) {
  StatusReading r;
  Finished k = run_program(status_offsets_command(s), -1, -1, -1, true, true, kToolTimeoutMs);
  // One JSON object per partition and line: one stays an object, several
  // make an array.
  Json all = Json::array();
  std::istringstream lines(k.out);
  std::string line;
  bool parsed = true;
  while (std::getline(lines, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      parsed = false;
      break;
    }
    all.push_back(j);
  }
  if (k.status != 0 || !parsed) {
    prefixed("ksub", k.err);
    return r;
  }
  r.offsets_ok = true;
  r.offsets = all.size() == 1 ? all[0] : all;
  if (s["PIPEKIT_SINK"] == "postgres" && on_path("psql")) {
    Argv psql{"psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"};
    if (!s["PIPEKIT_PG_DSN"].empty()) psql.insert(psql.end(), {"-d", s["PIPEKIT_PG_DSN"]});
    psql.insert(psql.end(), {"-c", "SELECT count(*) FROM " + s["PIPEKIT_TABLE"]});
    Finished p = run_program(psql, -1, -1, -1, true, true, kToolTimeoutMs);
    prefixed("psql", p.err);
    try {
      if (p.status != 0) throw std::invalid_argument("psql failed");
      r.rows = std::stoll(p.out);
    } catch (const std::exception&) {
      r.rows_ok = false;
      r.rows.reset();
    }
  }
  return r;
}

int watch_status(const Settings& s, const CommandLine& cl) {
  int64_t interval_ms = 2000;
  if (cl.has("interval")) interval_ms = std::max<int64_t>(100, parse_duration_ms(cl.opt("interval"), "--interval", 86'400'000));
  bool tty = isatty(1);
  int sigfd = stop_signal_fd();
  using Clock = std::chrono::steady_clock;
  std::map<std::string, std::pair<int64_t, Clock::time_point>> last_committed;  // "topic/partition"
  std::optional<std::pair<int64_t, Clock::time_point>> last_rows;
  for (;;) {
    StatusReading r;
    try {
      r = read_status(s);
    } catch (const StopRequested&) {
      return 0;
    }
    auto now = Clock::now();
    std::string out;
    if (tty) out += "\033[H\033[J";
    std::string when = fmt::format("{:%H:%M:%S}", fmt::localtime(std::time(nullptr)));
    if (!r.offsets_ok) {
      out += fmt::format("{} cannot read offsets of {} for group {}\n", when, s["PIPEKIT_TOPIC"], s["PIPEKIT_GROUP"]);
    } else {
      Json parts = r.offsets.is_array() ? r.offsets : Json::array({r.offsets});
      if (tty)
        out += fmt::format("pipekit status  topic {}  group {}  table {}  {}\n\n{:<24} {:>9} {:>12} {:>12} {:>10} {:>10}\n",
                           s["PIPEKIT_TOPIC"], s["PIPEKIT_GROUP"], s["PIPEKIT_TABLE"], when, "partition", "", "high",
                           "committed", "lag", "msg/s");
      int64_t total_lag = 0;
      for (const auto& p : parts) {
        std::string key = fmt::format("{}/{}", p.value("topic", ""), p.value("partition", -1));
        int64_t high = p.value("high", int64_t{0});
        int64_t committed = p.contains("committed") && p["committed"].is_number() ? p["committed"].get<int64_t>() : 0;
        int64_t lag = p.contains("lag") && p["lag"].is_number() ? p["lag"].get<int64_t>() : high - committed;
        total_lag += lag;
        std::string rate = "-";
        if (auto it = last_committed.find(key); it != last_committed.end()) {
          double dt = std::chrono::duration<double>(now - it->second.second).count();
          if (dt > 0) rate = fmt::format("{:.1f}", (committed - it->second.first) / dt);
        }
        last_committed[key] = {committed, now};
        if (tty)
          out += fmt::format("{:<24} {:>9} {:>12} {:>12} {:>10} {:>10}\n", key, "", high, committed, lag, rate);
        else
          out += fmt::format("{} {} high={} committed={} lag={} rate={}\n", when, key, high, committed, lag, rate);
      }
      std::string rows = r.rows ? std::to_string(*r.rows) : "null";
      std::string row_rate = "-";
      if (r.rows && last_rows) {
        double dt = std::chrono::duration<double>(now - last_rows->second).count();
        if (dt > 0) row_rate = fmt::format("{:.1f}", (*r.rows - last_rows->first) / dt);
      }
      if (r.rows) last_rows = {{*r.rows, now}};
      out += fmt::format("{}{} lag={} rows={} rows/s={}\n", tty ? "\n" : "", tty ? "total" : when + " total", total_lag,
                         rows, row_rate);
    }
    out += stage_lines(running_stages(s["PIPEKIT_STATE_DIR"]), tty, when);
    write_all(1, out);
    pollfd p{sigfd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(interval_ms)) > 0) {
      signalfd_siginfo info;
      [[maybe_unused]] auto n = read(sigfd, &info, sizeof info);
      return 0;
    }
  }
}

}  // namespace pipekit::orchestrator
