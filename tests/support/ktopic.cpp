// ktopic: creates and deletes topics on a real Kafka cluster for the tests,
// through librdkafka's admin API (a Kafka CLI JVM costs seconds per call).
//
//   ktopic [-F FILE] -b BROKERS create NAME[:PARTITIONS[:RF]] [key=value ...]
//   ktopic [-F FILE] -b BROKERS recreate NAME[:PARTITIONS[:RF]] [key=value ...]
//   ktopic [-F FILE] -b BROKERS delete NAME
//
// recreate = delete (if present) then create, retried while the broker is
// still deleting: a test gets an empty topic even on a long-lived cluster.
// -F takes librdkafka client properties (key=value lines). Exit 0 or 1.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Spec {
  std::string name;
  int partitions = 1;
  int rf = -1;  // the broker's default.replication.factor
};

Spec parse_spec(const std::string& s) {
  Spec spec;
  auto c1 = s.find(':');
  spec.name = s.substr(0, c1);
  if (c1 != std::string::npos) {
    auto c2 = s.find(':', c1 + 1);
    spec.partitions = std::stoi(s.substr(c1 + 1, c2 - c1 - 1));
    if (c2 != std::string::npos) spec.rf = std::stoi(s.substr(c2 + 1));
  }
  return spec;
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "ktopic: %s\n", msg.c_str());
  std::exit(1);
}

void set(rd_kafka_conf_t* conf, const std::string& k, const std::string& v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) die(k + ": " + err);
}

// Runs one admin request and returns the per-topic error (0 = done).
rd_kafka_resp_err_t run_admin(rd_kafka_t* rk, const Spec& spec, const std::vector<std::string>& configs,
                              bool create, std::string& errstr) {
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY);
  char err[512];
  rd_kafka_AdminOptions_set_request_timeout(opts, 15000, err, sizeof err);
  rd_kafka_AdminOptions_set_operation_timeout(opts, 15000, err, sizeof err);
  if (create) {
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(spec.name.c_str(), spec.partitions, spec.rf, err, sizeof err);
    if (!nt) die(err);
    for (const auto& kv : configs) {
      auto eq = kv.find('=');
      if (eq == std::string::npos) die("expected key=value, got " + kv);
      rd_kafka_NewTopic_set_config(nt, kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str());
    }
    rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
    rd_kafka_NewTopic_destroy(nt);
  } else {
    rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(spec.name.c_str());
    rd_kafka_DeleteTopics(rk, &dt, 1, opts, q);
    rd_kafka_DeleteTopic_destroy(dt);
  }
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  rd_kafka_resp_err_t result = RD_KAFKA_RESP_ERR__TIMED_OUT;
  errstr = "no answer within 30 s";
  if (ev) {
    if (rd_kafka_event_error(ev)) {
      result = rd_kafka_event_error(ev);
      errstr = rd_kafka_event_error_string(ev);
    } else {
      size_t n = 0;
      const rd_kafka_topic_result_t** res =
          create ? rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n)
                 : rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
      result = n ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR_NO_ERROR;
      const char* s = n ? rd_kafka_topic_result_error_string(res[0]) : nullptr;
      errstr = s ? s : rd_kafka_err2str(result);
    }
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_queue_destroy(q);
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  size_t i = 0;
  for (; i + 1 < args.size() && args[i][0] == '-'; i += 2) {
    if (args[i] == "-b") {
      set(conf, "bootstrap.servers", args[i + 1]);
    } else if (args[i] == "-F") {
      std::ifstream in(args[i + 1]);
      if (!in) die("cannot read " + args[i + 1]);
      for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        auto eq = line.find('=');
        if (eq != std::string::npos) set(conf, line.substr(0, eq), line.substr(eq + 1));
      }
    } else {
      die("unknown option " + args[i]);
    }
  }
  if (args.size() < i + 2) die("usage: ktopic [-F FILE] [-b BROKERS] create|recreate|delete NAME[:PARTITIONS[:RF]] [k=v ...]");
  std::string action = args[i];
  Spec spec = parse_spec(args[i + 1]);
  std::vector<std::string> configs(args.begin() + static_cast<long>(i) + 2, args.end());

  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) die(err);
  std::string errstr;
  int code = 0;
  if (action == "delete" || action == "recreate") {
    auto e = run_admin(rk, spec, configs, false, errstr);
    if (e && e != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      std::fprintf(stderr, "ktopic: delete %s: %s\n", spec.name.c_str(), errstr.c_str());
      code = 1;
    }
  }
  if (code == 0 && (action == "create" || action == "recreate")) {
    // A topic being deleted still exists for a moment: retry for up to 20 s.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      auto e = run_admin(rk, spec, configs, true, errstr);
      if (!e) break;
      if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && action == "create") break;
      if (e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS || std::chrono::steady_clock::now() > deadline) {
        std::fprintf(stderr, "ktopic: create %s: %s\n", spec.name.c_str(), errstr.c_str());
        code = 1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  } else if (action != "delete" && action != "recreate") {
    std::fprintf(stderr, "ktopic: unknown action %s\n", action.c_str());
    code = 1;
  }
  rd_kafka_destroy(rk);
  return code;
}
