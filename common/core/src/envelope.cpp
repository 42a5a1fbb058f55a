#include "pipekit/envelope.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "pipekit/errors.hpp"
#include "pipekit/json.hpp"

namespace pipekit {
namespace {

int64_t as_int(simdjson::dom::element e, const char* field) {
  int64_t v;
  if (e.get_int64().get(v) == simdjson::SUCCESS) return v;
  uint64_t u;
  if (e.get_uint64().get(u) == simdjson::SUCCESS && u <= INT64_MAX) return static_cast<int64_t>(u);
  throw std::invalid_argument(fmt::format("envelope field '{}' is not an integer", field));
}

}  // namespace

Envelope parse_envelope(simdjson::dom::element root, bool copy_value) {
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS)
    throw std::invalid_argument("envelope is not a JSON object");
  Envelope env;
  bool have_value = false;
  for (auto field : obj) {
    std::string_view name = field.key;
    simdjson::dom::element v = field.value;
    if (name == "topic") {
      std::string_view s;
      if (v.get_string().get(s) != simdjson::SUCCESS)
        throw std::invalid_argument("envelope field 'topic' is not a string");
      env.topic = s;
    } else if (name == "partition") {
      int64_t p = as_int(v, "partition");
      if (p < -1 || p > INT32_MAX) throw std::invalid_argument("envelope field 'partition' is out of range");
      env.partition = static_cast<int32_t>(p);
    } else if (name == "offset") {
      env.offset = as_int(v, "offset");
    } else if (name == "timestamp" || name == "ts") {
      if (!v.is_null()) env.timestamp = as_int(v, "timestamp");
    } else if (name == "key") {
      if (!v.is_null()) env.key = json::scalar_text(v);
    } else if (name == "headers") {
      if (v.is_object()) {
        simdjson::dom::object header_obj = v.get_object().value_unsafe();
        for (auto h : header_obj) {
          auto text = json::scalar_text(h.value);
          env.headers.emplace_back(std::string(h.key), text.value_or(""));
        }
      } else if (v.is_array()) {  // kcat -J: ["k1","v1","k2","v2"]
        auto arr = v.get_array().value_unsafe();
        std::string pending;
        bool have_key = false;
        for (auto item : arr) {
          auto text = json::scalar_text(item).value_or("");
          if (!have_key) {
            pending = std::move(text);
            have_key = true;
          } else {
            env.headers.emplace_back(std::move(pending), std::move(text));
            have_key = false;
          }
        }
        if (have_key) throw std::invalid_argument("envelope 'headers' array has an odd length");
      } else if (!v.is_null()) {
        throw std::invalid_argument("envelope field 'headers' is not an object");
      }
    } else if (name == "value") {
      have_value = true;
      env.value_element = v;
      env.value = copy_value ? simdjson::minify(v) : std::string();
      env.value_is_json = true;
      env.payload_was_string = false;
    } else if (name == "payload" && !have_value) {  // kcat -J
      have_value = true;
      if (v.is_null()) {
        env.value = "null";
      } else if (std::string_view s; v.get_string().get(s) == simdjson::SUCCESS) {
        // kcat gives the payload as a string; keep it as JSON when it is JSON.
        simdjson::dom::parser inner;
        simdjson::dom::element parsed;
        if (inner.parse(std::string(s)).get(parsed) == simdjson::SUCCESS) {
          env.value = simdjson::minify(parsed);
          env.value_is_json = true;
          env.payload_was_string = true;
        } else {
          env.value = json::quote(s);
          env.value_is_json = false;
        }
      } else {
        env.value = simdjson::minify(v);
      }
    }
  }
  if (!have_value) throw std::invalid_argument("envelope has no 'value' (or kcat 'payload') field");
  return env;
}

void append_envelope(std::string& out, const EnvelopeView& e) {
  out += "{\"topic\":";
  json::append_string(out, e.topic);
  out += fmt::format(",\"partition\":{},\"offset\":{},\"timestamp\":", e.partition, e.offset);
  if (e.timestamp >= 0) out += fmt::format("{}", e.timestamp);
  else out += "null";
  out += ",\"key\":";
  if (e.key) json::append_string(out, *e.key);
  else out += "null";
  out += ",\"headers\":{";
  bool first = true;
  for (const auto& [k, v] : e.headers) {
    if (!first) out.push_back(',');
    first = false;
    json::append_string(out, k);
    out.push_back(':');
    json::append_string(out, v);
  }
  out += "},\"value\":";
  if (e.value_is_json) out.append(e.value);
  else json::append_string(out, e.value);
  out.push_back('}');
}

EnvelopeField parse_envelope_field(const std::string& name) {
  if (name == "@topic") return EnvelopeField::topic;
  if (name == "@partition") return EnvelopeField::partition;
  if (name == "@offset") return EnvelopeField::offset;
  if (name == "@key") return EnvelopeField::key;
  if (name == "@timestamp") return EnvelopeField::timestamp;
  throw UsageError("--map: unknown envelope field '" + name + "' (use @topic, @partition, @offset, @key, @timestamp)");
}

}  // namespace pipekit
