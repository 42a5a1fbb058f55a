#include "pipekit/intake.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <stdexcept>

#include "pipekit/cli.hpp"
#include "pipekit/errors.hpp"
#include "pipekit/json.hpp"
#include "pipekit/log.hpp"

namespace pipekit {

void add_intake_options(CLI::App& app, IntakeOptions& opts, IntakeFlags flags) {
  app.add_option_function<std::string>(
         "--max-line-bytes",
         [&opts](const std::string& text) {
           opts.max_line_bytes = parse_size_bytes(text, "--max-line-bytes");
           if (opts.max_line_bytes == 0) throw UsageError("--max-line-bytes: must be at least 1 byte");
         },
         "Reject longer lines (code line_too_long), e.g. 64KiB, 16MiB")
      ->type_name("SIZE")
      ->default_str("16MiB");
  if (flags.envelope)
    app.add_flag("--envelope", opts.envelope,
                 "Read envelopes (ksub --envelope): the record is their value; keep their coordinates");
  if (flags.ack)
    app.add_option("--ack", opts.ack_path,
                   "Acknowledge each envelope on PATH (a FIFO, e.g. ksub --commit-acks) once it is "
                   "durable or its reject is written")
        ->type_name("PATH");
}

std::optional<Ack> Record::coordinates() const {
  if (envelope == nullptr || !envelope->has_coordinates()) return std::nullopt;
  return Ack{envelope->topic, envelope->partition, envelope->offset, envelope->timestamp};
}

namespace {

// An envelope too broken to use may still say where it came from; acking its
// reject keeps the consumer's commits from stalling behind it.
std::optional<Ack> coordinates_of(simdjson::dom::element root) {
  simdjson::dom::object obj;
  if (root.get(obj)) return std::nullopt;
  std::string_view topic;
  int64_t partition = -1, offset = -1;
  if (obj["topic"].get(topic) || obj["partition"].get(partition) || obj["offset"].get(offset)) return std::nullopt;
  if (topic.empty() || partition < 0 || offset < 0 || partition > INT32_MAX) return std::nullopt;
  return Ack{std::string(topic), static_cast<int32_t>(partition), offset};
}

// Valid JSON with a number the parser cannot hold is not "not JSON".
RejectCode parse_error_code(std::string_view text, simdjson::error_code err) {
  if ((err == simdjson::NUMBER_ERROR || err == simdjson::NUMBER_OUT_OF_RANGE) &&
      !json::unrepresentable_number(text).empty())
    return RejectCode::number_out_of_range;
  return RejectCode::not_json;
}

}  // namespace

using Refusal = RecordParser::Refusal;

std::optional<Refusal> RecordParser::parse(const Line& line, Record& record, bool padded) {
  if (line.too_long)
    return Refusal{RejectCode::line_too_long,
                   fmt::format("line too long: {} bytes or more, over --max-line-bytes {}", line.length,
                               opts_.max_line_bytes),
                   fmt::format("\"offset\":{}", line.offset), false, std::nullopt};
  // In place when padded: the reader leaves kLinePadding readable bytes after each line.
  auto parsed = parser_.parse(line.text.data(), line.text.size(), !padded);
  if (parsed.error())
    return Refusal{parse_error_code(line.text, parsed.error()), json::parse_error_reason(line.text, parsed.error()),
                   {}, false, std::nullopt};
  record.line = line;
  record.root = parsed.value_unsafe();
  record.value = record.root;
  record.envelope = nullptr;
  record.input = 0;
  if (opts_.envelope)
    if (auto refusal = unwrap_envelope(record)) return refusal;
  if (rules_.require_object && !record.value.is_object())
    return Refusal{RejectCode::not_object,
                   opts_.envelope ? "the envelope's value is not a JSON object" : "the record is not a JSON object",
                   {}, true, record.coordinates()};
  return std::nullopt;
}

std::optional<Refusal> RecordParser::unwrap_envelope(Record& record) {
  try {
    envelope_ = parse_envelope(record.root, rules_.copy_envelope_value);
  } catch (const std::invalid_argument& e) {
    return Refusal{RejectCode::not_envelope, fmt::format("not an envelope: {}", e.what()), {}, true,
                   coordinates_of(record.root)};
  }
  record.envelope = &envelope_;
  if (envelope_.value_element) {
    record.value = *envelope_.value_element;
    return std::nullopt;
  }
  // kcat -J's "payload" is a string: its text is parsed on its own.
  auto payload = payload_parser_.parse(envelope_.value);
  if (payload.error())
    return Refusal{parse_error_code(envelope_.value, payload.error()),
                   "the envelope's payload: " + json::parse_error_reason(envelope_.value, payload.error()), {}, true,
                   record.coordinates()};
  record.value = payload.value_unsafe();
  return std::nullopt;
}

Intake::Intake(std::vector<std::string> inputs, const IntakeOptions& opts, IntakeRules rules, RejectSink& rejects,
               Stats& stats)
    : inputs_(inputs.empty() ? std::vector<std::string>{"-"} : std::move(inputs)),
      opts_(opts),
      rejects_(rejects),
      stats_(stats),
      parser_(opts, rules) {
  if (opts.max_line_bytes == 0) throw UsageError("--max-line-bytes: must be at least 1 byte");
  fd_ = open_input(inputs_.front());
  reader_ = std::make_unique<LineReader>(fd_, opts.max_line_bytes);
  if (!opts.ack_path.empty()) {
    if (!opts.envelope)
      log::warn("--ack without --envelope: records carry no coordinates, nothing will be acknowledged");
    else if (!rejects.to_file())
      log::warn("--ack without --rejects: rejected envelopes are not written anywhere, so they are not acknowledged");
    acks_ = AckWriter(opts.ack_path);
  }
  ack_rejects_ = acks_.enabled() && rejects.to_file();
}

Intake::~Intake() {
  if (fd_ >= 0 && fd_ != STDIN_FILENO) ::close(fd_);
}

uint64_t Intake::bytes_read() const { return bytes_before_ + (reader_ ? reader_->bytes_read() : 0); }

bool Intake::open_next_input() {
  if (current_ + 1 >= inputs_.size()) return false;
  bytes_before_ += reader_->bytes_read();
  reader_.reset();
  if (fd_ != STDIN_FILENO) ::close(fd_);
  fd_ = -1;
  fd_ = open_input(inputs_[++current_]);
  reader_ = std::make_unique<LineReader>(fd_, opts_.max_line_bytes);
  return true;
}

ReadStatus Intake::next(Record& record, int timeout_ms) {
  Line line;
  for (;;) {
    ReadStatus st = reader_->next(line, timeout_ms);
    if (st == ReadStatus::eof && open_next_input()) continue;
    if (st != ReadStatus::line) {
      stats_.bytes.store(bytes_read(), std::memory_order_relaxed);
      return st;
    }
    stats_.records_in.fetch_add(1, std::memory_order_relaxed);
    stats_.bytes.store(bytes_read(), std::memory_order_relaxed);
    auto refusal = parser_.parse(line, record);
    if (!refusal) {
      record.input = current_;
      return ReadStatus::line;
    }
    ++malformed_;
    reject(KeptRecord{line.number, current_, line.too_long ? std::string_view() : line.text, refusal->line_is_json,
                      refusal->coordinates},
           refusal->code, refusal->reason, refusal->extra);
  }
}

void Intake::reject(const Record& record, RejectCode code, std::string_view reason, std::string_view extra) {
  reject(KeptRecord{record.line.number, record.input, record.line.text, true, record.coordinates()}, code, reason,
         extra);
}

void Intake::reject(const KeptRecord& record, RejectCode code, std::string_view reason, std::string_view extra) {
  rejects_.reject(code, record.line, record.original, record.original_is_json, reason,
                  with_input(record.input, extra));
  if (record.coordinates && ack_rejects_) {
    rejects_.flush();  // the reject is in the file before its ack goes out
    acks_.ack(record.coordinates->topic, record.coordinates->partition, record.coordinates->offset);
    log::trace("acknowledged rejected {}/{}/{}", record.coordinates->topic, record.coordinates->partition,
               record.coordinates->offset);
  }
}

void Intake::acknowledge(const std::vector<Ack>& batch) {
  if (!acks_.enabled() || batch.empty()) return;
  rejects_.flush();
  int64_t now_ms = Stats::now_ms();
  for (const auto& a : batch) {
    acks_.add(a.topic, a.partition, a.offset);
    stats_.record_committed(a.timestamp_ms, now_ms);  // durable now: the sink's freshness
  }
  acks_.flush();
  log::trace("acknowledged {} record(s)", batch.size());
}

// With several inputs line numbers restart per file: each reject says which.
std::string Intake::with_input(size_t input, std::string_view extra) const {
  if (inputs_.size() < 2) return std::string(extra);
  std::string out = "\"input\":" + json::quote(inputs_.at(input));
  if (!extra.empty()) out.append(",").append(extra);
  return out;
}

}  // namespace pipekit
