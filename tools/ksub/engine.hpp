#pragma once
// ksub: Kafka topic(s) -> NDJSON on stdout. Bare values by default,
// envelopes with --envelope, kcat-like --format. Offsets are stored only
// after their line was written; --commit-acks commits only what downstream
// acknowledged (docs/conventions.md).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pipekit/cli.hpp"
#include "pipekit/kafka.hpp"

namespace pipekit::ksub {

struct Options {
  CommonOptions common;
  kafka::Options kafka;
  std::vector<std::string> topics;      // -t; with -G a leading ^ is a regex
  std::vector<int32_t> partitions;      // -p (no group)
  std::string offset;                   // -o; empty: beginning (no group) / stored (-G)
  std::string since;                    // --since DURATION
  std::string group;                    // -G
  bool exit_at_end = false;             // -e
  uint64_t count = 0;                   // -c; 0: no limit
  std::string idle_timeout;             // --idle-timeout
  bool envelope = false;
  std::string format;                   // --format
  std::string commit_acks;              // --commit-acks PATH
  std::string ack_timeout = "30s";
  int empty_exit = -1;                  // --empty-exit CODE; -1: none
  bool list = false;                    // --list
  bool offsets = false;                 // --offsets
  bool json = false;                    // --json (with --list/--offsets)
};

// Where to start reading a partition (-o / --since).
struct StartOffset {
  enum Kind { beginning, end, stored, absolute, tail, timestamp } kind = beginning;
  int64_t value = 0;  // absolute offset, tail count, or timestamp in ms
};
// "beginning", "end", "stored", "1042", "-10", "@1732147200123". Throws UsageError.
StartOffset parse_offset(const std::string& spec);

// A compiled --format: literal text and %-tokens (%t %p %o %k %K %s %S %T %h %%)
// with \n \t \r \\ escapes. Throws UsageError on an unknown token.
struct FormatPiece {
  char token = 0;       // 0: literal
  std::string literal;
};
std::vector<FormatPiece> parse_format(const std::string& spec);

int run(const Options& opts, RunContext& ctx);

}  // namespace pipekit::ksub
