#pragma once
// ksub's options: as the command line gives them (Options, filled by
// main.cpp), and once validated (Settings). validate() is the one place that
// checks them; the engine runs with the typed Settings and checks nothing again.
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
  std::string format;                   // --template (formerly --format)
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

// A compiled --template: literal text and %-tokens (%t %p %o %k %K %s %S %T %h %%)
// with \n \t \r \\ escapes. Throws UsageError on an unknown token.
struct FormatPiece {
  char token = 0;       // 0: literal
  std::string literal;
};
std::vector<FormatPiece> parse_format(const std::string& spec);

// The options, validated and typed.
struct Settings {
  enum class Action { consume, list, offsets };
  enum class Output { value, envelope, format };

  Action action = Action::consume;
  kafka::Options kafka;
  std::vector<std::string> topics;  // with a group, ^REGEX subscribes by pattern
  std::vector<int32_t> partitions;  // without a group: only these (empty: all)
  std::string group;                // empty: no consumer group
  // With a group, where to start when the group has no committed offset
  // (-o beginning|end as librdkafka's auto.offset.reset); empty: as configured.
  std::string auto_offset_reset;
  StartOffset start;                // without a group: -o (beginning if not given)
  std::optional<int64_t> since_ms;  // --since: start at now minus this, instead of `start`
  bool exit_at_end = false;
  uint64_t count = 0;               // 0: no limit
  int64_t idle_ms = 0;              // 0: no idle timeout
  Output output = Output::value;
  std::vector<FormatPiece> format;  // Output::format
  std::string commit_acks;          // the FIFO; empty: commit what was written
  int64_t ack_timeout_ms = 30000;
  std::string ack_timeout = "30s";  // as given, for messages
  int empty_exit = -1;              // -1: none
  bool json = false;                // --list/--offsets

  bool grouped() const { return !group.empty(); }
  bool acks() const { return !commit_acks.empty(); }
};

// Checks the options together and types them. Throws UsageError. For --list
// and --offsets only what those read is taken (and nothing else is checked).
Settings validate(const Options& o);

}  // namespace pipekit::ksub
