#include "metrics.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "output.hpp"
#include "pipekit/errors.hpp"
#include "process.hpp"
#include "stages.hpp"

namespace pipekit::orchestrator {

namespace {

constexpr auto kOffsetsMaxAge = std::chrono::seconds(5);
constexpr int64_t kOffsetsTimeoutMs = 5000;

std::string label(const std::string& v) {  // a label value, escaped
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// CPU seconds, resident bytes and start time of this process, from /proc.
struct ProcessSample {
  double cpu = 0, start = 0;
  int64_t rss = 0;
};

ProcessSample sample_process() {
  ProcessSample p;
  long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  size_t close_paren = text.rfind(')');
  if (close_paren != std::string::npos) {
    std::istringstream in(text.substr(close_paren + 2));
    std::vector<std::string> f((std::istream_iterator<std::string>(in)), {});
    // fields from 3 (state) on: utime 14, stime 15, starttime 22
    if (f.size() > 19) {
      p.cpu = (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(tick);
      double boot = 0;
      std::ifstream st("/proc/stat");
      std::string key;
      while (st >> key)
        if (key == "btime") {
          st >> boot;
          break;
        }
      p.start = boot + std::stod(f[19]) / static_cast<double>(tick);
    }
  }
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  p.rss = resident * page;
  return p;
}

}  // namespace

MetricsServer::MetricsServer(const std::string& addr, const Settings& s, bool with_lag)
    : settings_(s), with_lag_(with_lag) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos) throw UsageError("--metrics-addr: HOST:PORT, not '" + addr + "'");
  std::string host = addr.substr(0, colon), port = addr.substr(colon + 1);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res) != 0 || !res)
    throw UsageError("--metrics-addr: cannot resolve '" + addr + "'");
  listen_fd_ = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (listen_fd_ < 0 || bind(listen_fd_, res->ai_addr, res->ai_addrlen) != 0 || listen(listen_fd_, 16) != 0) {
    int err = errno;
    freeaddrinfo(res);
    throw UsageError(errno_message("--metrics-addr " + addr, err));
  }
  freeaddrinfo(res);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  say(fmt::format("metrics on http://{}:{}/metrics", host.empty() ? "0.0.0.0" : host, port_));
  thread_ = std::thread([this] { serve(); });
}

MetricsServer::~MetricsServer() {
  uint64_t one = 1;
  [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  close(wake_fd_);
  close(listen_fd_);
}

void MetricsServer::add_records(const std::string& stage, int64_t in, int64_t out, int64_t rejected) {
  std::lock_guard lock(mutex_);
  auto& r = records_[stage];
  r[0] += in;
  r[1] += out;
  r[2] += rejected;
}

void MetricsServer::set_up(const std::string& stage, bool up) {
  std::lock_guard lock(mutex_);
  up_[stage] = up;
}

void MetricsServer::set_restarts(int restarts) {
  std::lock_guard lock(mutex_);
  restarts_ = restarts;
}

void MetricsServer::refresh_lag() {
  auto now = std::chrono::steady_clock::now();
  if (offsets_read_ && now - *offsets_read_ < kOffsetsMaxAge) return;
  offsets_read_ = now;
  Finished f = run_program(status_offsets_command(settings_), -1, -1, -1, true, true, kOffsetsTimeoutMs, false);
  if (f.status != 0) return;
  std::map<std::string, std::pair<int64_t, int64_t>> offsets;
  int64_t sum = 0;
  std::istringstream lines(f.out);
  std::string line;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("partition")) continue;
    int64_t committed = j.contains("committed") && j["committed"].is_number() ? j["committed"].get<int64_t>() : 0;
    int64_t lag = j.contains("lag") && j["lag"].is_number() ? j["lag"].get<int64_t>() : 0;
    offsets[fmt::format("{}\t{}", j.value("topic", ""), j.value("partition", -1))] = {committed, lag};
    sum += committed;
  }
  std::lock_guard lock(mutex_);
  offsets_ = std::move(offsets);
  if (sum != committed_sum_) {
    if (committed_sum_ >= 0 || sum > 0) last_commit_ = now;
    committed_sum_ = sum;
  }
}

std::string MetricsServer::render() {
  if (with_lag_) refresh_lag();
  ProcessSample p = sample_process();
  std::lock_guard lock(mutex_);
  std::string o;
  o += "# HELP pipekit_records_total Records per stage and outcome, from the stages' stats (ended attempts).\n"
       "# TYPE pipekit_records_total counter\n";
  static const char* outcomes[] = {"in", "out", "rejected"};
  for (const auto& [stage, r] : records_)
    for (int i = 0; i < 3; ++i)
      o += fmt::format("pipekit_records_total{{stage=\"{}\",outcome=\"{}\"}} {}\n", label(stage), outcomes[i], r[i]);
  o += "# HELP pipekit_stage_up Whether the stage is running.\n# TYPE pipekit_stage_up gauge\n";
  for (const auto& [stage, up] : up_) o += fmt::format("pipekit_stage_up{{stage=\"{}\"}} {}\n", label(stage), up ? 1 : 0);
  o += fmt::format("# HELP pipekit_restarts_total Restarts of the load after a crash.\n"
                   "# TYPE pipekit_restarts_total counter\npipekit_restarts_total {}\n",
                   restarts_);
  if (with_lag_) {
    o += "# HELP pipekit_consumer_lag Messages the group has not committed yet, per partition.\n"
         "# TYPE pipekit_consumer_lag gauge\n";
    for (const auto& [key, v] : offsets_) {
      auto tab = key.find('\t');
      o += fmt::format("pipekit_consumer_lag{{topic=\"{}\",partition=\"{}\"}} {}\n", label(key.substr(0, tab)),
                       key.substr(tab + 1), v.second);
    }
    o += "# HELP pipekit_committed_offset The group's committed offset, per partition.\n"
         "# TYPE pipekit_committed_offset gauge\n";
    for (const auto& [key, v] : offsets_) {
      auto tab = key.find('\t');
      o += fmt::format("pipekit_committed_offset{{topic=\"{}\",partition=\"{}\"}} {}\n", label(key.substr(0, tab)),
                       key.substr(tab + 1), v.first);
    }
    if (last_commit_) {
      double age = std::chrono::duration<double>(std::chrono::steady_clock::now() - *last_commit_).count();
      o += fmt::format("# HELP pipekit_last_commit_age_seconds Seconds since the group's committed offsets last "
                       "advanced.\n# TYPE pipekit_last_commit_age_seconds gauge\npipekit_last_commit_age_seconds {:.3f}\n",
                       age);
    }
  }
  o += fmt::format("# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
                   "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total {:.2f}\n"
                   "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                   "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {}\n"
                   "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
                   "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds {:.2f}\n",
                   p.cpu, p.rss, p.start);
  return o;
}

void MetricsServer::serve() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    // One request per connection, read for at most 2 s, at most 8 KiB.
    std::string req;
    char buf[2048];
    pollfd rp{c, POLLIN, 0};
    while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos && req.size() < 8192 &&
           poll(&rp, 1, 2000) > 0) {
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
    }
    std::string status = "200 OK", type = "text/plain; version=0.0.4; charset=utf-8", body;
    if (req.rfind("GET /metrics", 0) == 0 && req.size() > 12 && (req[12] == ' ' || req[12] == '?')) {
      body = render();
    } else if (req.rfind("GET ", 0) == 0) {
      status = "404 Not Found";
      body = "pipekit serves /metrics only\n";
      type = "text/plain; charset=utf-8";
    } else {
      status = "405 Method Not Allowed";
      body = "GET /metrics\n";
      type = "text/plain; charset=utf-8";
    }
    std::string resp = fmt::format("HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                                   status, type, body.size(), body);
    size_t done = 0;
    while (done < resp.size()) {
      ssize_t n = send(c, resp.data() + done, resp.size() - done, MSG_NOSIGNAL);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    close(c);
  }
}

}  // namespace pipekit::orchestrator
