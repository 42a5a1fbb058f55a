#pragma once
// A Kafka record as ksub writes it: its value (JSON as is, minified when it
// spans lines, else a JSON string; a tombstone is null), an envelope
// (--envelope), or a kcat-like --template. Works on a plain Record,
// which read_record() fills from a librdkafka message without copying.
#include <librdkafka/rdkafka.h>
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "options.hpp"
#include "pipekit/envelope.hpp"

namespace pipekit::ksub {

struct Record {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp = -1;       // ms since epoch, -1: none
  const char* key = nullptr;    // nullptr: no key
  size_t key_len = 0;
  const char* payload = nullptr;  // nullptr: a tombstone
  size_t len = 0;
  // Only filled when the formatter wants them (wants_headers()).
  std::vector<std::pair<std::string_view, std::string_view>> headers;
};

// The record's fields from `m` (valid while `m` lives).
void read_record(const rd_kafka_message_t* m, bool with_headers, Record& r);

class RecordFormatter {
 public:
  RecordFormatter(Settings::Output output, std::vector<FormatPiece> format);
  bool wants_headers() const;
  // Appends the record: a line (value, envelope), or the template as is
  // (--template adds no newline).
  void append(std::string& out, const Record& r);

 private:
  void append_value(std::string& out, const Record& r);
  void append_formatted(std::string& out, const Record& r) const;

  const Settings::Output output_;
  const std::vector<FormatPiece> format_;
  simdjson::dom::parser parser_;
  std::string minified_;
  EnvelopeView ev_;
  std::string_view key_view_;
};

}  // namespace pipekit::ksub
