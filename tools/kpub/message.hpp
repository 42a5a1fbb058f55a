#pragma once
// kpub's per-line logic, kept apart from the producer so it can be tested
// without a broker: an input line -> the message to publish (or a reject
// reason), -H flags, the exit class of a delivery error, and the --failed
// line for a message that finally failed.
#include <librdkafka/rdkafka.h>
#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipekit/envelope.hpp"
#include "pipekit/intake.hpp"
#include "pipekit/json.hpp"

namespace pipekit::kpub {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// "-H name=value" flags; the value may be empty and may contain '='. Throws
// UsageError for an entry without '=' or with an empty name.
HeaderList parse_header_flags(const std::vector<std::string>& flags);

// What one input line becomes. Views stay valid until the next build().
struct Message {
  std::string_view value;
  bool null_value = false;     // a tombstone (envelope with "value":null)
  bool value_is_json = true;   // value is JSON (not a bare string): --failed embeds it
  bool has_key = false;
  std::string_view key;
  // From an envelope, when asked for (--keep-topic/-partition/-timestamp).
  std::string_view topic;      // empty: the -t topic
  int32_t partition = -1;      // -1: -p or the partitioner
  int64_t timestamp = 0;       // 0: now
  const HeaderList* headers = nullptr;  // the envelope's headers, or null
};

struct BuilderConfig {
  std::optional<std::string> key_path;   // -k
  std::optional<std::string> key_fixed;  // --key-fixed
  bool keep_topic = false;
  bool keep_partition = false;
  bool keep_timestamp = false;
};

class MessageBuilder {
 public:
  explicit MessageBuilder(const BuilderConfig& config);  // throws UsageError on a bad -k
  // A record from the intake (parsed, its envelope unwrapped) into the
  // message. Returns false and sets `reason` (and `code`) when it is to be
  // rejected. msg's views stay valid while the record does.
  bool build(const Record& record, Message& msg, std::string& reason, RejectCode& code);

 private:
  bool build_plain(const Record& record, Message& msg, std::string& reason, RejectCode& code);
  bool build_envelope(const Record& record, Message& msg, std::string& reason, RejectCode& code);
  bool key_from(simdjson::dom::element root, Message& msg, std::string& reason);

  BuilderConfig config_;
  json::Path key_path_;
  simdjson::dom::parser inner_;    // a string value that holds JSON, only with -k
  std::string key_buf_;
};

// Which exit status a delivery error leads to.
enum class FailureClass {
  service,  // 3: broker unreachable, timed out, ... try again later
  config,   // 2: unknown topic or partition, not authorized
  record,   // 1: this record cannot be published (too large, invalid)
};
FailureClass classify(rd_kafka_resp_err_t err);

// One --failed line: an envelope (readable by `kpub --envelope`) with the
// error and the input line number. The value is embedded as JSON when it is
// JSON; otherwise it is kept byte for byte as a kcat-style "payload" string.
struct FailedRecord {
  uint64_t line = 0;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string_view topic;
  int32_t partition = -1;
  const std::string_view* key = nullptr;  // nullptr: no key
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  const std::string_view* value = nullptr;  // nullptr: null (tombstone)
  bool value_is_json = true;
  // Sent, but no answer came back: the broker may have stored it (a replay
  // with kpub --envelope may then duplicate it).
  bool maybe_persisted = false;
};
void append_failed(std::string& out, const FailedRecord& f);

}  // namespace pipekit::kpub
