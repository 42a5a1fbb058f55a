#include "message.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "pipekit/errors.hpp"

namespace pipekit::kpub {

HeaderList parse_header_flags(const std::vector<std::string>& flags) {
  HeaderList out;
  for (const auto& f : flags) {
    auto eq = f.find('=');
    if (eq == std::string::npos) throw UsageError("-H expects name=value, got '" + f + "'");
    if (eq == 0) throw UsageError("-H: empty header name in '" + f + "'");
    out.emplace_back(f.substr(0, eq), f.substr(eq + 1));
  }
  return out;
}

MessageBuilder::MessageBuilder(const BuilderConfig& config) : config_(config) {
  if (config_.key_path) key_path_ = json::Path(*config_.key_path);  // throws on ""
}

bool MessageBuilder::build(const Record& record, Message& msg, std::string& reason, RejectCode& code) {
  msg = Message{};
  code = RejectCode::missing_field;
  return record.envelope ? build_envelope(record, msg, reason, code) : build_plain(record, msg, reason, code);
}

// The key from -k PATH in `root`. A missing or null field is a reject: a
// record published without the key it is supposed to be partitioned by would
// silently break ordering downstream.
bool MessageBuilder::key_from(simdjson::dom::element root, Message& msg, std::string& reason) {
  auto found = key_path_.find(root);
  if (!found) {
    reason = fmt::format("key field '{}' is missing", key_path_.spec());
    return false;
  }
  simdjson::dom::element e = *found;
  switch (e.type()) {
    case simdjson::dom::element_type::NULL_VALUE:
      reason = fmt::format("key field '{}' is null", key_path_.spec());
      return false;
    case simdjson::dom::element_type::STRING:
      msg.key = e.get_string().value_unsafe();  // points into the parser: no copy
      break;
    default:
      key_buf_ = json::scalar_text(e).value_or("");
      msg.key = key_buf_;
  }
  msg.has_key = true;
  return true;
}

bool MessageBuilder::build_plain(const Record& record, Message& msg, std::string& reason, RejectCode&) {
  msg.value = record.line.text;
  msg.value_is_json = !record.root.is_string();
  if (config_.key_fixed) {
    msg.key = *config_.key_fixed;
    msg.has_key = true;
  } else if (!key_path_.empty()) {
    if (!key_from(record.root, msg, reason)) return false;
  }
  return true;
}

bool MessageBuilder::build_envelope(const Record& record, Message& msg, std::string& reason, RejectCode& code) {
  const Envelope& env = *record.envelope;  // the intake copied the value's text (IntakeRules)
  simdjson::dom::element root = record.root;
  // The payload: "value" (pipekit) wins over "payload" (kcat -J). A string is
  // published as its text (ksub writes non-JSON payloads as strings, kcat -J
  // writes every payload as one), null as a tombstone, anything else as JSON.
  simdjson::dom::object obj = root.get_object().value_unsafe();
  simdjson::dom::element v;
  if (obj["value"].get(v) != simdjson::SUCCESS) v = obj["payload"].value_unsafe();
  if (v.is_null()) {
    msg.null_value = true;
    msg.value_is_json = false;
  } else if (v.is_string()) {
    msg.value = v.get_string().value_unsafe();
    msg.value_is_json = false;
  } else {
    msg.value = env.value;
    msg.value_is_json = true;
  }

  if (config_.key_fixed) {
    msg.key = *config_.key_fixed;
    msg.has_key = true;
  } else if (!key_path_.empty()) {
    // -k looks inside the record: the value, or a kcat payload that is JSON.
    simdjson::dom::element keyed = v;
    if (v.is_string()) {
      if (inner_.parse(msg.value.data(), msg.value.size(), true).get(keyed) != simdjson::SUCCESS) {
        reason = fmt::format("key field '{}': the envelope's value is not JSON", key_path_.spec());
        code = RejectCode::bad_value;
        return false;
      }
    }
    if (!key_from(keyed, msg, reason)) return false;
  } else if (env.key) {
    msg.key = *env.key;
    msg.has_key = true;
  }
  msg.headers = &env.headers;
  if (config_.keep_topic) {
    if (env.topic.empty()) {
      reason = "--keep-topic: the envelope has no topic";
      return false;
    }
    msg.topic = env.topic;
  }
  if (config_.keep_partition) {
    if (env.partition < 0) {
      reason = "--keep-partition: the envelope has no partition";
      return false;
    }
    msg.partition = env.partition;
  }
  if (config_.keep_timestamp && env.timestamp > 0) msg.timestamp = env.timestamp;
  return true;
}

FailureClass classify(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
      return FailureClass::record;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return FailureClass::config;
    default:
      return FailureClass::service;
  }
}

void append_failed(std::string& out, const FailedRecord& f) {
  out += "{\"error\":";
  json::append_string(out, rd_kafka_err2str(f.err));
  out += ",\"error_code\":";
  json::append_string(out, rd_kafka_err2name(f.err));
  if (f.maybe_persisted) out += ",\"maybe_delivered\":true";
  out += fmt::format(",\"line\":{},\"topic\":", f.line);
  json::append_string(out, f.topic);
  if (f.partition >= 0) out += fmt::format(",\"partition\":{}", f.partition);
  out += ",\"key\":";
  if (f.key) json::append_string(out, *f.key);
  else out += "null";
  out += ",\"headers\":{";
  bool first = true;
  for (const auto& [k, v] : f.headers) {
    if (!first) out.push_back(',');
    first = false;
    json::append_string(out, k);
    out.push_back(':');
    json::append_string(out, v);
  }
  out.push_back('}');
  if (!f.value) {
    out += ",\"value\":null";
  } else if (f.value_is_json) {
    out += ",\"value\":";
    out.append(*f.value);
  } else {
    out += ",\"payload\":";
    json::append_string(out, *f.value);
  }
  out.push_back('}');
}

}  // namespace pipekit::kpub
