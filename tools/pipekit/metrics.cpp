#include "metrics.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
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

constexpr auto kOffsetsEvery = std::chrono::seconds(5);
constexpr int64_t kOffsetsTimeoutMs = 5000;
// A client has this long for its whole exchange (request and response), not
// per byte: a slow or silent client cannot hold the endpoint.
constexpr auto kConnectionDeadline = std::chrono::seconds(5);
constexpr size_t kMaxConnections = 64;  // beyond: the oldest is dropped
constexpr size_t kMaxRequestBytes = 8192;

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
  fcntl(listen_fd_, F_SETFL, fcntl(listen_fd_, F_GETFL) | O_NONBLOCK);
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  say(fmt::format("metrics on http://{}:{}/metrics", host.empty() ? "0.0.0.0" : host, port_));
  thread_ = std::thread([this] { serve(); });
  if (with_lag_) lag_thread_ = std::thread([this] { lag_loop(); });
}

MetricsServer::~MetricsServer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  uint64_t one = 1;
  [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  if (lag_thread_.joinable()) lag_thread_.join();
  close(wake_fd_);
  close(listen_fd_);
}

void StageCounts::add(const StageCounts& other) {
  for (const auto& [name, value] : other.counters) counters[name] += value;
  newest_committed_ms = std::max(newest_committed_ms, other.newest_committed_ms);
  if (latency_buckets.empty()) {
    latency_buckets = other.latency_buckets;
  } else if (latency_buckets.size() == other.latency_buckets.size()) {
    for (size_t i = 0; i < latency_buckets.size(); ++i) latency_buckets[i].second += other.latency_buckets[i].second;
  }
  latency_sum += other.latency_sum;
  latency_count += other.latency_count;
}

std::optional<StageCounts> parse_stage_counts(const std::string& json_text) {
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  StageCounts c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "newest_committed_timestamp_ms" && v.is_number_integer()) {
      c.newest_committed_ms = v.get<int64_t>();
    } else if (name == "commit_latency_seconds" && v.is_object()) {
      for (const auto& b : v.value("buckets", nlohmann::json::array()))
        if (b.is_array() && b.size() == 2 && b[0].is_number() && b[1].is_number())
          c.latency_buckets.emplace_back(b[0].get<double>(), b[1].get<double>());
      c.latency_sum = v.value("sum", 0.0);
      c.latency_count = v.value("count", 0.0);
    } else if (v.is_number() && name != "seconds" && name != "records_per_second" && name != "exit_code") {
      c.counters[name] = v.get<double>();
    }
  }
  return c;
}

void MetricsServer::begin_attempt(const std::string& run_dir, const std::vector<std::string>& stages) {
  std::lock_guard lock(mutex_);
  run_dir_ = run_dir;
  stages_ = stages;
  live_.clear();
  attempt_running_ = true;
}

void MetricsServer::end_attempt() {
  std::lock_guard lock(mutex_);
  if (!attempt_running_) return;
  read_live();  // the final files, where the stages wrote them
  for (const auto& [stage, counts] : live_) ended_[stage].add(counts);
  live_.clear();
  attempt_running_ = false;
}

void MetricsServer::read_live() {
  for (const auto& stage : stages_) {
    std::string text;
    if (!read_file(run_dir_ + "/" + stage + ".stats.json", text)) continue;
    // A file that does not parse keeps the last reading: counters never go back.
    if (auto counts = parse_stage_counts(text)) live_[stage] = std::move(*counts);
  }
}

void MetricsServer::set_up(const std::string& stage, bool up) {
  std::lock_guard lock(mutex_);
  up_[stage] = up;
}

void MetricsServer::set_restarts(int restarts) {
  std::lock_guard lock(mutex_);
  restarts_ = restarts;
}

void MetricsServer::lag_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    refresh_lag();
    lock.lock();
    stop_cv_.wait_for(lock, kOffsetsEvery, [this] { return stopping_; });
  }
}

void MetricsServer::refresh_lag() {
  auto now = std::chrono::steady_clock::now();
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

namespace {

// Prometheus renders numbers as Go does: integers without a fraction.
std::string number(double v) { return fmt::format("{}", v); }

bool is_records_counter(const std::string& name) {
  return name == "records_in" || name == "records_out" || name == "rejected" || name == "bytes";
}

// A tool's own counter that is a peak, not a count (cqlload's max_in_flight).
bool is_peak(const std::string& name) { return name.rfind("max_", 0) == 0; }

}  // namespace

std::string MetricsServer::stage_text() {
  std::map<std::string, StageCounts> total = ended_;
  for (const auto& [stage, counts] : live_) total[stage].add(counts);
  std::string o;
  o += "# HELP pipekit_records_total Records per stage and outcome (in, out, rejected), live while the stage runs.\n"
       "# TYPE pipekit_records_total counter\n";
  static const std::pair<const char*, const char*> outcomes[] = {
      {"in", "records_in"}, {"out", "records_out"}, {"rejected", "rejected"}};
  for (const auto& [stage, c] : total)
    for (const auto& [outcome, field] : outcomes) {
      auto it = c.counters.find(field);
      o += fmt::format("pipekit_records_total{{stage=\"{}\",outcome=\"{}\"}} {}\n", label(stage), outcome,
                       number(it == c.counters.end() ? 0 : it->second));
    }
  o += "# HELP pipekit_stage_input_bytes_total Bytes each stage read.\n# TYPE pipekit_stage_input_bytes_total counter\n";
  for (const auto& [stage, c] : total) {
    auto it = c.counters.find("bytes");
    o += fmt::format("pipekit_stage_input_bytes_total{{stage=\"{}\"}} {}\n", label(stage),
                     number(it == c.counters.end() ? 0 : it->second));
  }
  o += "# HELP pipekit_stage_events_total Each stage's own counters (requests, batches, retries, reconnects, "
       "failed, ...), from its --stats.\n# TYPE pipekit_stage_events_total counter\n";
  for (const auto& [stage, c] : total)
    for (const auto& [name, value] : c.counters)
      if (!is_records_counter(name) && !is_peak(name))
        o += fmt::format("pipekit_stage_events_total{{stage=\"{}\",event=\"{}\"}} {}\n", label(stage), label(name),
                         number(value));
  o += "# HELP pipekit_sink_last_committed_record_timestamp_seconds Kafka timestamp of the newest record the sink "
       "made durable.\n# TYPE pipekit_sink_last_committed_record_timestamp_seconds gauge\n";
  for (const auto& [stage, c] : total)
    if (c.newest_committed_ms >= 0)
      o += fmt::format("pipekit_sink_last_committed_record_timestamp_seconds{{stage=\"{}\"}} {:.3f}\n", label(stage),
                       static_cast<double>(c.newest_committed_ms) / 1000.0);
  o += "# HELP pipekit_sink_commit_latency_seconds Time from a record's Kafka timestamp until the sink made it "
       "durable.\n# TYPE pipekit_sink_commit_latency_seconds histogram\n";
  for (const auto& [stage, c] : total) {
    if (c.latency_buckets.empty()) continue;
    for (const auto& [le, count] : c.latency_buckets)
      o += fmt::format("pipekit_sink_commit_latency_seconds_bucket{{stage=\"{}\",le=\"{}\"}} {}\n", label(stage),
                       number(le), number(count));
    o += fmt::format("pipekit_sink_commit_latency_seconds_bucket{{stage=\"{}\",le=\"+Inf\"}} {}\n", label(stage),
                     number(c.latency_count));
    o += fmt::format("pipekit_sink_commit_latency_seconds_sum{{stage=\"{}\"}} {}\n", label(stage),
                     number(c.latency_sum));
    o += fmt::format("pipekit_sink_commit_latency_seconds_count{{stage=\"{}\"}} {}\n", label(stage),
                     number(c.latency_count));
  }
  return o;
}

std::string MetricsServer::render() {
  ProcessSample p = sample_process();
  std::lock_guard lock(mutex_);
  if (attempt_running_) read_live();
  std::string o = stage_text();
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
    o += "# HELP pipekit_last_commit_age_seconds Seconds since the group's committed offsets last advanced.\n"
         "# TYPE pipekit_last_commit_age_seconds gauge\n";
    if (last_commit_) {
      double age = std::chrono::duration<double>(std::chrono::steady_clock::now() - *last_commit_).count();
      o += fmt::format("pipekit_last_commit_age_seconds {:.3f}\n", age);
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

// ---- the endpoint: one thread, many clients, a deadline per connection ----

struct MetricsServer::Connection {
  int fd = -1;
  std::string request, response;
  size_t sent = 0;
  std::chrono::steady_clock::time_point deadline;
};

namespace {

std::string http_response(const std::string& status, const std::string& type, const std::string& body) {
  return fmt::format("HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", status,
                     type, body.size(), body);
}

bool request_complete(const std::string& r) {
  return r.find("\r\n\r\n") != std::string::npos || r.find("\n\n") != std::string::npos;
}

}  // namespace

void MetricsServer::serve() {
  std::vector<Connection> conns;
  auto drop = [&conns](size_t i) {
    close(conns[i].fd);
    conns.erase(conns.begin() + static_cast<long>(i));
  };
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    for (size_t i = conns.size(); i-- > 0;)
      if (conns[i].deadline <= now) drop(i);
    std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int timeout_ms = -1;
    for (const auto& c : conns) {
      fds.push_back({c.fd, static_cast<short>(c.response.empty() ? POLLIN : POLLOUT), 0});
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now).count() + 1;
      timeout_ms = timeout_ms < 0 ? static_cast<int>(left) : std::min(timeout_ms, static_cast<int>(left));
    }
    if (poll(fds.data(), fds.size(), timeout_ms) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) break;
    // Clients in the order they came; a new one may drop the oldest.
    for (size_t i = conns.size(); i-- > 0;) {
      short ev = fds[i + 2].revents;
      if (!ev) continue;
      Connection& c = conns[i];
      if (c.response.empty()) {
        char buf[2048];
        ssize_t n = read(c.fd, buf, sizeof buf);
        if (n <= 0) {
          if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
          drop(i);
          continue;
        }
        c.request.append(buf, static_cast<size_t>(n));
        if (c.request.size() > kMaxRequestBytes) {
          c.response = http_response("431 Request Header Fields Too Large", "text/plain; charset=utf-8",
                                     "request too large\n");
        } else if (request_complete(c.request)) {
          const std::string& r = c.request;
          if (r.rfind("GET /metrics", 0) == 0 && r.size() > 12 && (r[12] == ' ' || r[12] == '?'))
            c.response = http_response("200 OK", "text/plain; version=0.0.4; charset=utf-8", render());
          else if (r.rfind("GET ", 0) == 0)
            c.response = http_response("404 Not Found", "text/plain; charset=utf-8", "pipekit serves /metrics only\n");
          else
            c.response = http_response("405 Method Not Allowed", "text/plain; charset=utf-8", "GET /metrics\n");
        }
      } else {
        ssize_t n = send(c.fd, c.response.data() + c.sent, c.response.size() - c.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0 || (c.sent += static_cast<size_t>(n)) == c.response.size()) drop(i);
      }
    }
    if (fds[0].revents & POLLIN) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        if (conns.size() >= kMaxConnections) drop(0);  // the oldest: new clients always get in
        conns.push_back(Connection{fd, {}, {}, 0, std::chrono::steady_clock::now() + kConnectionDeadline});
      }
    }
  }
  for (auto& c : conns) close(c.fd);
}

}  // namespace pipekit::orchestrator
