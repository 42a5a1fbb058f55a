#pragma once
// The one way in for records (docs/conventions.md, "The intake"). Every tool
// that reads NDJSON records (kpub, jvalidate, pgload, cqlload, fileload) reads
// them through an Intake: it reads lines from the inputs, enforces
// --max-line-bytes, parses each line once, unwraps envelopes (--envelope),
// and rejects what is not a record with a stable code and one wording for
// every tool. It also owns the order of rejects and acknowledgements (--ack):
// an envelope is acknowledged only after its reject reached the rejects file,
// and a batch's acks go out only after the rejects written before them.
#include <simdjson.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipekit/acks.hpp"
#include "pipekit/envelope.hpp"
#include "pipekit/ndjson.hpp"
#include "pipekit/rejects.hpp"
#include "pipekit/stats.hpp"

namespace pipekit {

// The intake's flags, parsed once into typed values before a tool's engine
// sees them. man fragment: man/fragments/intake-options.roff
struct IntakeOptions {
  uint64_t max_line_bytes = kDefaultMaxLineBytes;  // --max-line-bytes SIZE
  bool envelope = false;                           // --envelope
  std::string ack_path;                            // --ack PATH (empty: no acks)
};

// Which of the intake's flags a tool offers (all take --max-line-bytes).
struct IntakeFlags {
  bool envelope = true;
  bool ack = true;
};
void add_intake_options(CLI::App& app, IntakeOptions& opts, IntakeFlags flags = {});

// What a tool needs of each record beyond valid JSON.
struct IntakeRules {
  // The record (the line, or the envelope's value) must be a JSON object:
  // anything else is rejected as not_object.
  bool require_object = false;
  // Fill Envelope::value with the value's JSON text (minified) as well: for
  // tools that write the value on (fileload's NDJSON files).
  bool copy_envelope_value = false;
};

// One record handed to the tool. Everything in it stays valid until the
// next call to Intake::next().
struct Record {
  Line line;                               // number, offset, text of the input line
  simdjson::dom::element root;             // the parsed line
  simdjson::dom::element value;            // the record: root, or the envelope's value
  const Envelope* envelope = nullptr;      // with --envelope
  size_t input = 0;                        // index into the inputs (several files)

  // The record's coordinates, when it came in an envelope that has them.
  std::optional<Ack> coordinates() const;
};

// What a tool keeps of a record to reject it later (a row of a batch the
// database refused): where it came from and its original text.
struct KeptRecord {
  uint64_t line = 0;
  size_t input = 0;
  std::string_view original;
  bool original_is_json = true;
  std::optional<Ack> coordinates;
};

// The intake's second step on its own: one line into a Record, or the reason
// it is not one. Intake uses it; tests use it to make Records from strings.
class RecordParser {
 public:
  struct Refusal {
    RejectCode code;
    std::string reason;
    std::string extra;            // extra JSON members for the reject line
    bool line_is_json = false;    // the reject embeds the line as JSON
    std::optional<Ack> coordinates;
  };
  RecordParser(const IntakeOptions& opts, IntakeRules rules) : opts_(opts), rules_(rules) {}
  // `padded`: line.text is followed by kLinePadding readable bytes (the
  // LineReader's lines are) and is parsed in place; otherwise it is copied.
  std::optional<Refusal> parse(const Line& line, Record& record, bool padded = true);

 private:
  std::optional<Refusal> unwrap_envelope(Record& record);
  const IntakeOptions& opts_;
  IntakeRules rules_;
  simdjson::dom::parser parser_, payload_parser_;
  Envelope envelope_;
};

class Intake {
 public:
  // Opens the first input now ("-" or none: stdin), so that a missing file
  // fails before anything else starts (IoError, exit 4). Warns once about
  // --ack without --envelope or without --rejects.
  Intake(std::vector<std::string> inputs, const IntakeOptions& opts, IntakeRules rules, RejectSink& rejects,
         Stats& stats);
  ~Intake();
  Intake(const Intake&) = delete;
  Intake& operator=(const Intake&) = delete;

  // The next record. Lines that are not records (too long, not JSON, not an
  // envelope, not an object) are rejected, acknowledged when they carry
  // coordinates, and skipped. timeout_ms < 0 waits for input forever;
  // `timeout` when nothing came in time, `stopped` on a stop request (signal),
  // `eof` after the last input.
  ReadStatus next(Record& record, int timeout_ms = -1);

  // Rejects a record the tool could not take, with its code and reason (and
  // extra JSON members, e.g. "\"sqlstate\":\"23505\""), and acknowledges it
  // once the reject is written, when it has coordinates.
  void reject(const Record& record, RejectCode code, std::string_view reason, std::string_view extra = {});
  // The same for a record the tool kept (a batch row) after next() moved on.
  void reject(const KeptRecord& record, RejectCode code, std::string_view reason, std::string_view extra = {});

  // Acknowledges records that are now durable in the destination: writes
  // the rejects so far first, then the acks, packed. No-op without --ack.
  void acknowledge(const std::vector<Ack>& batch);
  bool acks_enabled() const { return acks_.enabled(); }

  uint64_t malformed() const { return malformed_; }    // rejected by the intake itself
  uint64_t bytes_read() const;
  // The descriptor of the input being read, for a tool's own poll(2) loop
  // (cqlload waits on it and on its connections at once). It changes when
  // next() moves on to the next input.
  int input_fd() const { return fd_; }
  const std::vector<std::string>& inputs() const { return inputs_; }

 private:
  bool open_next_input();
  std::string with_input(size_t input, std::string_view extra) const;

  std::vector<std::string> inputs_;
  const IntakeOptions& opts_;
  RejectSink& rejects_;
  Stats& stats_;
  AckWriter acks_;
  bool ack_rejects_ = false;  // acks for rejects only when they are written to a file
  size_t current_ = 0;        // inputs_[current_] is open
  int fd_ = -1;
  std::unique_ptr<LineReader> reader_;
  uint64_t bytes_before_ = 0;  // bytes of the inputs already finished
  RecordParser parser_;
  uint64_t malformed_ = 0;
};

}  // namespace pipekit
