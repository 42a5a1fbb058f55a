#pragma once
// The envelope: a record with its Kafka coordinates (docs/conventions.md).
//   {"topic":"users","partition":3,"offset":1042,"timestamp":1732147200123,
//    "key":"...","headers":{"source":"ru-fetch"},"value":{...}}
// Also reads kcat -J output: "payload" (a string) for value, "ts" for
// timestamp, and headers as a flat ["k","v",...] array.
#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pipekit {

struct Envelope {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t timestamp = -1;                 // ms since epoch, -1 if unknown
  std::optional<std::string> key;         // nullopt: no key (null)
  std::vector<std::pair<std::string, std::string>> headers;
  // The value as JSON text: the embedded JSON (minified) or, when the payload
  // was not JSON, a JSON string literal. value_is_json says which.
  std::string value;
  bool value_is_json = true;
  // kcat -J gives the payload as a string; when that string is itself JSON,
  // `value` holds the parsed JSON text and payload_was_string is set.
  bool payload_was_string = false;
  // The "value" field as parsed, valid while the parsed line lives; set when
  // the envelope has a "value" field (not for kcat's string "payload").
  std::optional<simdjson::dom::element> value_element;

  bool has_coordinates() const { return !topic.empty() && partition >= 0 && offset >= 0; }
};

// Parses an envelope line. Throws std::invalid_argument with a reason when
// the line is not an envelope (not an object, no value/payload, bad types).
// With copy_value false, a "value" field is not copied into `value` (left
// empty): the caller reads value_element instead, and saves a re-serialisation.
Envelope parse_envelope(simdjson::dom::element root, bool copy_value = true);

// Writes an envelope as one JSON line (no trailing newline). `value` is the
// raw payload: embedded as JSON when it is valid JSON, else as a string.
struct EnvelopeView {
  std::string_view topic;
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t timestamp = -1;
  const std::string_view* key = nullptr;  // nullptr: null
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view value;
  bool value_is_json = false;  // caller checked that value parses as JSON
};
void append_envelope(std::string& out, const EnvelopeView& e);

// The coordinates a sink's --map can name: @topic, @partition, @offset, @key,
// @timestamp (none: a field of the record, not a coordinate).
enum class EnvelopeField { none, topic, partition, offset, key, timestamp };
// "@offset" -> EnvelopeField::offset; throws UsageError naming the valid ones.
EnvelopeField parse_envelope_field(const std::string& name);

}  // namespace pipekit
