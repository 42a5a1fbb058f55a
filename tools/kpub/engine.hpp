#pragma once
// kpub: NDJSON on stdin -> one Kafka message per line. The run function lives
// here; tools/kpub/main.cpp only parses options. The per-line logic (JSON
// check, key, envelope) is in kpub_message.hpp so it can be unit-tested
// without a broker.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pipekit/cli.hpp"
#include "pipekit/intake.hpp"
#include "pipekit/kafka.hpp"
#include "pipekit/rejects.hpp"

namespace pipekit::kpub {

struct Options {
  CommonOptions common;
  kafka::Options kafka;
  RejectOptions rejects;
  std::string topic;                      // -t (required unless --dump-config)
  std::optional<std::string> key_path;    // -k: dotted path or JSON pointer
  std::optional<std::string> key_fixed;   // --key-fixed
  std::vector<std::string> headers;       // -H name=value, in order
  int32_t partition = -1;                 // -p; -1: the partitioner decides
  std::string compression;                // -z; empty: librdkafka's setting
  IntakeOptions intake;                   // --max-line-bytes, --envelope
  bool keep_topic = false;                // --envelope: publish to the envelope's topic
  bool keep_partition = false;            // --envelope: to the envelope's partition
  bool keep_timestamp = false;            // --envelope: with the envelope's timestamp
  std::string failed_path;                // --failed FILE
  std::string input = "-";                // FILE, "-": stdin
};

// The producer settings kpub starts from (before -F, -X, -b, -z): documented
// in kpub(1) and printed by --dump-config.
const kafka::Properties& default_properties();

int run(const Options& opts, RunContext& ctx);

}  // namespace pipekit::kpub
