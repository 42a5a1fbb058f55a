// A Kafka record as ksub writes it: value, envelope or --template.
#include "record_format.hpp"

#include <unistd.h>

#include <cstring>

#include "pipekit/json.hpp"

namespace pipekit::ksub {
namespace {

// simdjson reads up to SIMDJSON_PADDING bytes past the end (never using
// them): safe in place when they lie in the same page as the last byte, and
// then the payload is not copied into a padded buffer first.
bool padding_readable(const char* p, size_t len) {
#if defined(__SANITIZE_ADDRESS__)
  return false;  // the read past the end is by design, but a sanitizer would flag it
#endif
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  return (reinterpret_cast<uintptr_t>(p + len - 1) % page) + simdjson::SIMDJSON_PADDING < page;
}

void append_headers(std::string& out, const Record& r) {
  for (size_t i = 0; i < r.headers.size(); ++i) {
    if (i) out.push_back(',');
    out += r.headers[i].first;
    out.push_back('=');
    out += r.headers[i].second;
  }
}

}  // namespace

void read_record(const rd_kafka_message_t* m, bool with_headers, Record& r) {
  r.topic = rd_kafka_topic_name(m->rkt);
  r.partition = m->partition;
  r.offset = m->offset;
  rd_kafka_timestamp_type_t tstype;
  r.timestamp = rd_kafka_message_timestamp(m, &tstype);
  r.key = static_cast<const char*>(m->key);
  r.key_len = m->key ? m->key_len : 0;
  r.payload = static_cast<const char*>(m->payload);
  r.len = m->payload ? m->len : 0;
  r.headers.clear();
  rd_kafka_headers_t* hdrs;
  if (!with_headers || rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  const char* name;
  const void* val;
  size_t size;
  for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
    r.headers.emplace_back(name, val ? std::string_view(static_cast<const char*>(val), size) : "");
}

RecordFormatter::RecordFormatter(Settings::Output output, std::vector<FormatPiece> format)
    : output_(output), format_(std::move(format)) {}

bool RecordFormatter::wants_headers() const {
  if (output_ == Settings::Output::envelope) return true;
  if (output_ != Settings::Output::format) return false;
  for (const auto& piece : format_)
    if (piece.token == 'h') return true;
  return false;
}

void RecordFormatter::append(std::string& out, const Record& r) {
  if (output_ == Settings::Output::format) append_formatted(out, r);
  else append_value(out, r);
}

void RecordFormatter::append_value(std::string& out, const Record& r) {
  std::string_view value;
  bool is_json = true;
  simdjson::dom::element root;
  if (!r.payload) {
    value = "null";  // a tombstone
  } else if (parser_.parse(r.payload, r.len, !padding_readable(r.payload, r.len)).get(root) == simdjson::SUCCESS) {
    value = {r.payload, r.len};
    // One record, one line: pretty-printed JSON is minified.
    if (std::memchr(r.payload, '\n', r.len) || std::memchr(r.payload, '\r', r.len)) {
      minified_ = simdjson::minify(root);
      value = minified_;
    }
  } else {
    value = {r.payload, r.len};
    is_json = false;
  }
  if (output_ == Settings::Output::envelope) {
    ev_.topic = r.topic;
    ev_.partition = r.partition;
    ev_.offset = r.offset;
    ev_.timestamp = r.timestamp;
    key_view_ = {r.key ? r.key : "", r.key_len};
    ev_.key = r.key ? &key_view_ : nullptr;
    ev_.headers.assign(r.headers.begin(), r.headers.end());
    ev_.value = value;
    ev_.value_is_json = is_json;
    append_envelope(out, ev_);
  } else if (is_json) {
    out.append(value);
  } else {
    json::append_string(out, value);
  }
  out.push_back('\n');
}

void RecordFormatter::append_formatted(std::string& out, const Record& r) const {
  for (const auto& piece : format_) {
    switch (piece.token) {
      case 0: out += piece.literal; break;
      case 't': out += r.topic; break;
      case 'p': out += std::to_string(r.partition); break;
      case 'o': out += std::to_string(r.offset); break;
      case 'k': if (r.key) out.append(r.key, r.key_len); break;
      case 'K': out += r.key ? std::to_string(r.key_len) : "-1"; break;
      case 's': if (r.payload) out.append(r.payload, r.len); break;
      case 'S': out += r.payload ? std::to_string(r.len) : "-1"; break;
      case 'T': out += std::to_string(r.timestamp); break;
      case 'h': append_headers(out, r); break;
    }
  }
}

}  // namespace pipekit::ksub
