#pragma once
// Rejected records, one place for every tool (kpub, jvalidate, pgload,
// cqlload, fileload): --rejects FILE, --max-rejects N, --max-reject-rate P%,
// --quiet-rejects. A reject line is NDJSON that can be fixed and fed back:
//   {"line":12,"code":"not_json","reason":"invalid JSON: ...",<extra fields>,"record":<original>}
// `code` is stable and machine-readable (RejectCode); `reason` is for people.
// `record` is the original line embedded as JSON when it parses, else a string.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipekit/ndjson.hpp"
#include "pipekit/stats.hpp"

namespace pipekit {

// Why a record was rejected, the same word in every tool. The table of codes
// and their meanings (reject_code_table) is docs/conventions.md's; a unit
// test holds the two together.
enum class RejectCode : uint8_t {
  line_too_long,        // the line is longer than --max-line-bytes
  not_json,             // the line (or an envelope's string payload) is not JSON
  number_out_of_range,  // a number beyond what the tool or the column holds
  not_envelope,         // with --envelope: JSON, but not an envelope
  not_object,           // the record is not a JSON object where one is needed
  schema,               // invalid under the JSON Schema
  missing_field,        // a field the destination needs is missing or null
  bad_value,            // a field's value does not fit its column or its use
  too_large,            // the record is larger than the destination takes
  sql,                  // PostgreSQL refused the row
  cql,                  // Cassandra refused the row
};

struct RejectCodeInfo {
  RejectCode code;
  std::string_view name;     // "line_too_long"
  std::string_view meaning;  // one sentence, as in docs/conventions.md
};
// Every code, in the order of the enum.
const std::vector<RejectCodeInfo>& reject_code_table();
std::string_view reject_code_name(RejectCode code);

struct RejectOptions {
  std::string path;                 // --rejects FILE; empty: reasons go to stderr
  std::optional<uint64_t> max_rejects;   // --max-rejects N
  std::optional<double> max_reject_rate; // --max-reject-rate P% (0..100)
  bool quiet = false;               // --quiet-rejects: count only
  bool append = false;              // --rejects-append
};

// man fragment: man/fragments/reject-options.roff
void add_reject_options(CLI::App& app, RejectOptions& opts);

class RejectSink {
 public:
  RejectSink(const RejectOptions& opts, Stats& stats);
  ~RejectSink();

  // Writes one reject and counts it (stats.rejected). `extra_fields` is
  // either empty or JSON object members without braces, e.g.
  // "\"sqlstate\":\"23505\"". `original_is_json` says whether `original` is
  // known to be valid JSON (embedded as is) or not (embedded as a string).
  void reject(RejectCode code, uint64_t line_no, std::string_view original, bool original_is_json,
              std::string_view reason, std::string_view extra_fields = {});
  // Pushes written rejects to the file (write(2)); call before acknowledging.
  void flush();
  // Also fdatasync()s the file.
  void sync();

  uint64_t count() const { return count_; }
  // True with --rejects FILE: a reject is kept, so its record may be acknowledged.
  bool to_file() const { return out_ != nullptr; }
  // True when the rejects so far exceed --max-rejects / --max-reject-rate,
  // given `records` records seen in all. Without either limit: any reject is
  // too many when there is no --rejects file (nothing was routed), none is
  // when there is.
  bool over_limit(uint64_t records) const;
  std::string limit_description() const;
  // The run's verdict on its rejects, given `records` records seen: over the
  // limit logs one line saying so and returns ExitCode::rejects' status,
  // else 0. Every tool that routes rejects ends its run with it.
  int exit_status(uint64_t records) const;

 private:
  const RejectOptions& opts_;
  Stats& stats_;
  std::unique_ptr<OutputWriter> out_;
  uint64_t count_ = 0;
  uint64_t logged_ = 0;
};

}  // namespace pipekit
