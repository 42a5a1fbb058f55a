// bare-producer: the least a producer built on librdkafka can do, for
// bench/kafka-real: each stdin line becomes one message, as it is, with
// librdkafka's own defaults (no idempotence, no compression, the sticky
// partitioner). No JSON check, no key, no --failed, no start-up check of the
// topic: what is left is librdkafka's own cost, the floor under any tool
// built on it (kpub included) on the machine and broker measured.
//
//   bare-producer -b BROKERS -t TOPIC [-X key=value ...] < lines
//
// Exits 0 when every line was delivered, 1 otherwise (the count on stderr).
#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

long delivered = 0, failed = 0;

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) { ++(m->err ? failed : delivered); }

int usage() {
  std::fputs("usage: bare-producer -b BROKERS -t TOPIC [-X key=value ...] < lines\n", stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::string topic;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return usage();
    std::string value = argv[++i];
    rd_kafka_conf_res_t res = RD_KAFKA_CONF_OK;
    if (flag == "-b") {
      res = rd_kafka_conf_set(conf, "bootstrap.servers", value.c_str(), err, sizeof err);
    } else if (flag == "-t") {
      topic = value;
    } else if (flag == "-X" && value.find('=') != std::string::npos) {
      auto eq = value.find('=');
      res = rd_kafka_conf_set(conf, value.substr(0, eq).c_str(), value.substr(eq + 1).c_str(), err, sizeof err);
    } else {
      return usage();
    }
    if (res != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "bare-producer: %s\n", err);
      return 2;
    }
  }
  if (topic.empty()) return usage();
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "bare-producer: %s\n", err);
    return 2;
  }
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);

  char* line = nullptr;
  size_t cap = 0;
  long lines = 0;
  for (ssize_t n; (n = getline(&line, &cap, stdin)) > 0;) {
    if (line[n - 1] == '\n') --n;
    // A full queue is waited out, serving delivery reports, as kcat -P does.
    while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, line, n, nullptr, 0, nullptr) == -1) {
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        ++failed;
        break;
      }
      rd_kafka_poll(rk, 10);
    }
    if (++lines % 64 == 0) rd_kafka_poll(rk, 0);
  }
  std::free(line);
  rd_kafka_flush(rk, 60000);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  std::fprintf(stderr, "bare-producer: %ld line(s), %ld delivered, %ld failed\n", lines, delivered, failed);
  return delivered == lines ? 0 : 1;
}
