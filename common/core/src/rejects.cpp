#include "pipekit/rejects.hpp"

#include <fmt/format.h>

#include "pipekit/cli.hpp"
#include "pipekit/errors.hpp"
#include "pipekit/json.hpp"
#include "pipekit/log.hpp"

namespace pipekit {

const std::vector<RejectCodeInfo>& reject_code_table() {
  using C = RejectCode;
  static const std::vector<RejectCodeInfo> table = {
      {C::line_too_long, "line_too_long", "the line is longer than `--max-line-bytes` (`record` is \"\")"},
      {C::not_json, "not_json", "the line, or an envelope's string payload, is not valid JSON"},
      {C::number_out_of_range, "number_out_of_range",
       "a number beyond what the tool represents (64-bit integers, finite doubles) or its column holds"},
      {C::not_envelope, "not_envelope", "with `--envelope`: valid JSON, but not an envelope"},
      {C::not_object, "not_object", "the record is not a JSON object where the tool needs one (a row, a key)"},
      {C::schema, "schema", "the record is invalid under the JSON Schema (jvalidate; `errors` has each one)"},
      {C::missing_field, "missing_field", "a field the destination needs (a key, a partition key column) is missing or null"},
      {C::bad_value, "bad_value", "a field's value does not fit its column or its use (type, format, length, key)"},
      {C::too_large, "too_large", "the record is larger than the destination takes in one message or frame"},
      {C::sql, "sql", "PostgreSQL refused the row (`sqlstate`)"},
      {C::cql, "cql", "Cassandra refused the row (`cql_code`, `error`)"},
  };
  return table;
}

std::string_view reject_code_name(RejectCode code) {
  return reject_code_table().at(static_cast<size_t>(code)).name;
}

void add_reject_options(CLI::App& app, RejectOptions& opts) {
  app.add_option("--rejects", opts.path,
                 "Write rejected records, with the reason, to FILE as NDJSON (default: reasons on stderr)")
      ->type_name("FILE");
  app.add_flag("--rejects-append", opts.append, "Append to the --rejects file instead of truncating it");
  app.add_option_function<uint64_t>("--max-rejects", [&opts](const uint64_t& n) { opts.max_rejects = n; },
                                    "Exit 1 when more than N records are rejected")
      ->type_name("N");
  app.add_option_function<std::string>(
         "--max-reject-rate",
         [&opts](const std::string& s) {
           opts.max_reject_rate = parse_percent(s, "--max-reject-rate");
         },
         "Exit 1 when more than P% of the records are rejected")
      ->type_name("P%");
  app.add_flag("--quiet-rejects", opts.quiet, "Only count rejects: no reasons on stderr");
}

RejectSink::RejectSink(const RejectOptions& opts, Stats& stats) : opts_(opts), stats_(stats) {
  if (!opts.path.empty()) out_ = std::make_unique<OutputWriter>(OutputWriter::open(opts.path, opts.append));
}

RejectSink::~RejectSink() {
  try {
    flush();
  } catch (...) {
  }
}

void RejectSink::reject(RejectCode code, uint64_t line_no, std::string_view original, bool original_is_json,
                        std::string_view reason, std::string_view extra_fields) {
  ++count_;
  stats_.rejected++;
  log::trace("line {}: rejected ({}): {}", line_no, reject_code_name(code), reason);
  if (out_) {
    std::string line = fmt::format("{{\"line\":{},\"code\":\"{}\",\"reason\":", line_no, reject_code_name(code));
    json::append_string(line, reason);
    if (!extra_fields.empty()) {
      line.push_back(',');
      line.append(extra_fields);
    }
    line += ",\"record\":";
    if (original_is_json) line.append(original);
    else json::append_string(line, original);
    line += "}\n";
    out_->write(line);
  } else if (!opts_.quiet) {
    // No rejects file: say why on stderr (capped, so a bad feed cannot flood it).
    if (++logged_ <= 100) log::warn("line {}: rejected: {}", line_no, reason);
    else if (logged_ == 101) log::warn("more rejects follow; reasons no longer shown (use --rejects FILE)");
  }
}

void RejectSink::flush() {
  if (out_) out_->flush();
}

void RejectSink::sync() {
  if (out_) out_->sync();
}

bool RejectSink::over_limit(uint64_t records) const {
  if (count_ == 0) return false;
  bool limited = false;
  if (opts_.max_rejects) {
    limited = true;
    if (count_ > *opts_.max_rejects) return true;
  }
  if (opts_.max_reject_rate) {
    limited = true;
    double rate = records ? 100.0 * static_cast<double>(count_) / static_cast<double>(records) : 100.0;
    if (rate > *opts_.max_reject_rate) return true;
  }
  if (limited) return false;
  return opts_.path.empty();
}

std::string RejectSink::limit_description() const {
  if (opts_.max_rejects && opts_.max_reject_rate)
    return fmt::format("--max-rejects {} / --max-reject-rate {}%", *opts_.max_rejects, *opts_.max_reject_rate);
  if (opts_.max_rejects) return fmt::format("--max-rejects {}", *opts_.max_rejects);
  if (opts_.max_reject_rate) return fmt::format("--max-reject-rate {}%", *opts_.max_reject_rate);
  return "no --rejects file (any reject fails the run)";
}

int RejectSink::exit_status(uint64_t records) const {
  if (!over_limit(records)) return 0;
  log::error("{} of {} records rejected: over the limit ({})", count_, records, limit_description());
  return static_cast<int>(ExitCode::rejects);
}

}  // namespace pipekit
