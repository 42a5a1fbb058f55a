#pragma once
// kmock: librdkafka's mock cluster (rdkafka_mock.h) as a process: real Kafka
// protocol over TCP on loopback, in memory, for tests and demos. Not durable,
// not secure, not a production broker.
#include <string>
#include <vector>

#include "pipekit/cli.hpp"
#include "pipekit/kafka.hpp"

namespace pipekit::kmock {

struct TopicSpec {
  std::string name;
  int partitions = 1;
  int replication = 1;
};

struct Options {
  CommonOptions common;
  int broker_count = 1;
  std::vector<std::string> topics;   // NAME[:PARTITIONS[:REPLICATION]]
  std::string commands;              // "-" (stdin) or a FIFO/file path; empty: none
  bool exit_on_eof = false;          // stop when stdin reaches EOF
  std::string bootstrap_file;        // also write the address here
};

TopicSpec parse_topic_spec(const std::string& spec);  // throws UsageError
int run(const Options& opts, RunContext& ctx);

}  // namespace pipekit::kmock
