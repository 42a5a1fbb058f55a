#include "engine.hpp"

#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <sstream>

#include "pipekit/errors.hpp"
#include "pipekit/kafka.hpp"
#include "pipekit/log.hpp"
#include "pipekit/ndjson.hpp"
#include "pipekit/signals.hpp"

namespace pipekit::kmock {
namespace {

int to_int(const std::string& s, const std::string& what) {
  try {
    size_t used = 0;
    int v = std::stoi(s, &used);
    if (used != s.size()) throw std::invalid_argument(s);
    return v;
  } catch (const std::exception&) {
    throw UsageError(what + ": not a number: '" + s + "'");
  }
}

const std::map<std::string, int16_t>& api_keys() {
  static const std::map<std::string, int16_t> keys = {
      {"Produce", 0},        {"Fetch", 1},           {"ListOffsets", 2},      {"Metadata", 3},
      {"OffsetCommit", 8},   {"OffsetFetch", 9},     {"FindCoordinator", 10}, {"JoinGroup", 11},
      {"Heartbeat", 12},     {"LeaveGroup", 13},     {"SyncGroup", 14},       {"DescribeGroups", 15},
      {"ListGroups", 16},    {"ApiVersions", 18},    {"InitProducerId", 22},  {"AddPartitionsToTxn", 24},
      {"AddOffsetsToTxn", 25}, {"EndTxn", 26},       {"TxnOffsetCommit", 28},
  };
  return keys;
}

rd_kafka_resp_err_t error_by_name(const std::string& name) {
  const rd_kafka_err_desc* descs;
  size_t n;
  rd_kafka_get_err_descs(&descs, &n);
  for (size_t i = 0; i < n; ++i)
    if (descs[i].name && name == descs[i].name) return descs[i].code;
  // Numeric codes are accepted too.
  return static_cast<rd_kafka_resp_err_t>(to_int(name, "error code"));
}

const char* kHelp =
    "commands: broker down|up ID; broker rtt ID MS; "
    "topic create NAME PARTITIONS [REPLICATION]; leader TOPIC PARTITION ID; "
    "error API ERROR [COUNT]; broker-error ID API ERROR [COUNT] [RTT_MS]; "
    "topic-error TOPIC ERROR; clear API; coordinator group|transaction ID BROKER; "
    "bootstrap; help; quit";

class Cluster {
 public:
  explicit Cluster(int brokers) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[256];
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rk_ = kafka::make_handle(RD_KAFKA_PRODUCER, conf);
    mc_ = rd_kafka_mock_cluster_new(rk_.get(), brokers);
    if (!mc_) throw ServiceError("cannot start the mock cluster (no free loopback ports?)");
    brokers_ = brokers;
  }
  ~Cluster() {
    if (mc_) rd_kafka_mock_cluster_destroy(mc_);
  }
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(mc_); }

  void create_topic(const TopicSpec& t) {
    auto err = rd_kafka_mock_topic_create(mc_, t.name.c_str(), t.partitions, t.replication);
    if (err) throw UsageError("cannot create topic " + t.name + ": " + rd_kafka_err2str(err));
  }

  // One command line; returns the reply ("ok ..." or "error: ...").
  std::string command(const std::string& line, bool& quit) {
    std::istringstream in(line);
    std::vector<std::string> w;
    for (std::string s; in >> s;) w.push_back(s);
    if (w.empty()) return "";
    try {
      return dispatch(w, quit);
    } catch (const Error& e) {
      return std::string("error: ") + e.what();
    }
  }

 private:
  int32_t broker_id(const std::string& s) {
    int id = to_int(s, "broker id");
    if (id < 1 || id > brokers_) throw UsageError("no broker " + s + " (brokers are 1.." + std::to_string(brokers_) + ")");
    return id;
  }
  int16_t api_key(const std::string& s) {
    auto it = api_keys().find(s);
    if (it != api_keys().end()) return it->second;
    return static_cast<int16_t>(to_int(s, "API name"));
  }
  static std::string check(rd_kafka_resp_err_t err) {
    if (err) return std::string("error: ") + rd_kafka_err2str(err);
    return "ok";
  }

  std::string dispatch(const std::vector<std::string>& w, bool& quit) {
    const std::string& cmd = w[0];
    auto need = [&](size_t n) {
      if (w.size() < n) throw UsageError("'" + cmd + "' needs more arguments; " + kHelp);
    };
    if (cmd == "quit" || cmd == "exit") {
      quit = true;
      return "ok";
    }
    if (cmd == "help") return kHelp;
    if (cmd == "bootstrap") return bootstrap();
    if (cmd == "broker") {
      need(3);
      int32_t id = broker_id(w[2]);
      if (w[1] == "down") return check(rd_kafka_mock_broker_set_down(mc_, id));
      if (w[1] == "up") return check(rd_kafka_mock_broker_set_up(mc_, id));
      if (w[1] == "rtt") {
        need(4);
        return check(rd_kafka_mock_broker_set_rtt(mc_, id, to_int(w[3], "rtt")));
      }
      throw UsageError("broker takes down, up or rtt");
    }
    if (cmd == "topic") {
      need(4);
      if (w[1] != "create") throw UsageError("topic takes create");
      TopicSpec t{w[2], to_int(w[3], "partitions"), w.size() > 4 ? to_int(w[4], "replication") : 1};
      create_topic(t);
      return "ok";
    }
    if (cmd == "leader") {
      need(4);
      return check(rd_kafka_mock_partition_set_leader(mc_, w[1].c_str(), to_int(w[2], "partition"),
                                                      broker_id(w[3])));
    }
    if (cmd == "error") {  // error API ERROR [COUNT]
      need(3);
      int count = w.size() > 3 ? to_int(w[3], "count") : 1;
      std::vector<rd_kafka_resp_err_t> errs(count, error_by_name(w[2]));
      rd_kafka_mock_push_request_errors_array(mc_, api_key(w[1]), errs.size(), errs.data());
      return "ok";
    }
    if (cmd == "broker-error") {  // broker-error ID API ERROR [COUNT] [RTT]
      need(4);
      int32_t id = broker_id(w[1]);
      int16_t key = api_key(w[2]);
      auto err = error_by_name(w[3]);
      int count = w.size() > 4 ? to_int(w[4], "count") : 1;
      int rtt = w.size() > 5 ? to_int(w[5], "rtt") : 0;
      for (int i = 0; i < count; ++i) {
        auto rc = rd_kafka_mock_broker_push_request_error_rtts(mc_, id, key, 1, err, rtt);
        if (rc) return check(rc);
      }
      return "ok";
    }
    if (cmd == "topic-error") {
      need(3);
      rd_kafka_mock_topic_set_error(mc_, w[1].c_str(), error_by_name(w[2]));
      return "ok";
    }
    if (cmd == "clear") {
      need(2);
      rd_kafka_mock_clear_request_errors(mc_, api_key(w[1]));
      return "ok";
    }
    if (cmd == "coordinator") {
      need(4);
      return check(rd_kafka_mock_coordinator_set(mc_, w[1].c_str(), w[2].c_str(), broker_id(w[3])));
    }
    throw UsageError("unknown command '" + cmd + "'; " + kHelp);
  }

  kafka::Handle rk_;
  rd_kafka_mock_cluster_t* mc_ = nullptr;
  int brokers_ = 1;
};

}  // namespace

TopicSpec parse_topic_spec(const std::string& spec) {
  TopicSpec t;
  std::vector<std::string> parts;
  std::stringstream ss(spec);
  for (std::string p; std::getline(ss, p, ':');) parts.push_back(p);
  if (parts.empty() || parts[0].empty() || parts.size() > 3)
    throw UsageError("bad --topic '" + spec + "': expected NAME[:PARTITIONS[:REPLICATION]]");
  t.name = parts[0];
  if (parts.size() > 1) t.partitions = to_int(parts[1], "--topic " + spec + " partitions");
  if (parts.size() > 2) t.replication = to_int(parts[2], "--topic " + spec + " replication");
  if (t.partitions < 1 || t.partitions > 10000) throw UsageError("--topic " + spec + ": partitions must be 1..10000");
  if (t.replication < 1) throw UsageError("--topic " + spec + ": replication must be >= 1");
  return t;
}

int run(const Options& opts, RunContext& ctx) {
  if (opts.broker_count < 1 || opts.broker_count > 64) throw UsageError("--broker-count must be 1..64");
  std::vector<TopicSpec> topics;
  for (const auto& spec : opts.topics) {
    topics.push_back(parse_topic_spec(spec));
    if (topics.back().replication > opts.broker_count)
      throw UsageError("--topic " + spec + ": replication exceeds --broker-count");
  }

  Cluster cluster(opts.broker_count);
  for (const auto& t : topics) cluster.create_topic(t);
  std::string bootstrap = cluster.bootstrap();

  if (!opts.bootstrap_file.empty()) {
    std::string tmp = opts.bootstrap_file + ".tmp";
    std::ofstream(tmp) << bootstrap << '\n';
    if (std::rename(tmp.c_str(), opts.bootstrap_file.c_str()) != 0)
      throw IoError(errno_message("cannot write " + opts.bootstrap_file, errno));
  }
  {
    OutputWriter out(STDOUT_FILENO);
    out.write_line(bootstrap);
    out.flush();
  }
  log::info("mock cluster up: {} broker(s) at {}{}", opts.broker_count, bootstrap,
            topics.empty() ? "" : fmt::format(", {} topic(s) created", topics.size()));

  // Wait for a signal, stdin EOF, or "quit"; run commands as they come.
  int cmd_fd = -1;
  bool cmd_is_stdin = opts.commands == "-";
  if (cmd_is_stdin) cmd_fd = STDIN_FILENO;
  else if (!opts.commands.empty()) {
    // O_RDWR on a FIFO: never sees EOF when a writer closes, and never blocks here.
    cmd_fd = ::open(opts.commands.c_str(), O_RDWR | O_CLOEXEC);
    if (cmd_fd < 0) throw IoError(errno_message("cannot open --commands " + opts.commands, errno));
  }
  int eof_fd = opts.exit_on_eof ? STDIN_FILENO : -1;
  std::unique_ptr<LineReader> reader;
  if (cmd_fd >= 0) reader = std::make_unique<LineReader>(cmd_fd, 64 * 1024);

  bool quit = false;
  while (!quit && !stop_requested()) {
    if (reader) {
      Line line;
      ReadStatus st = reader->next(line, 1000);
      if (st == ReadStatus::line && !line.too_long) {
        std::string reply = cluster.command(std::string(line.text), quit);
        if (reply.rfind("error", 0) == 0) log::error("{}: {}", line.text, reply);
        else if (!reply.empty()) log::info("{}: {}", line.text, reply);
        ctx.stats.records_in++;
      } else if (st == ReadStatus::eof) {
        if (cmd_is_stdin && opts.exit_on_eof) break;
        reader.reset();  // a file of commands ran out: keep serving
      }
      continue;
    }
    if (eof_fd >= 0) {
      pollfd fds[2] = {{eof_fd, POLLIN, 0}, {stop_fd(), POLLIN, 0}};
      if (::poll(fds, 2, 1000) > 0 && (fds[0].revents & (POLLIN | POLLHUP))) {
        char buf[4096];
        ssize_t n = ::read(eof_fd, buf, sizeof buf);
        if (n == 0) break;  // EOF
      }
      continue;
    }
    pollfd pfd{stop_fd(), POLLIN, 0};
    ::poll(&pfd, 1, 1000);
  }
  log::info("mock cluster stopping");
  return 0;
}

}  // namespace pipekit::kmock
