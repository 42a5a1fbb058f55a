#include "encode.hpp"

#include <fmt/format.h>

#include <iterator>

namespace pipekit::pgload {

void Encoder::set_plan(std::vector<Source> sources, std::vector<std::string> known) {
  sources_ = std::move(sources);
  fields_.clear();
  for (const auto& k : known) fields_.emplace(k, -1);
  needs_record_text_ = false;
  for (size_t i = 0; i < sources_.size(); ++i) {
    if (sources_[i].from == Source::From::field) fields_[sources_[i].field] = static_cast<int>(i);
    if (sources_[i].from == Source::From::record) needs_record_text_ = true;
  }
  slots_.assign(sources_.size(), std::nullopt);
  order_.clear();
  planned_ = true;
}

void Encoder::put_text(std::string& out, std::string_view t, Kind kind) {
  if (kind == Kind::json) {  // a JSON string stays a JSON string in jsonb
    scratch_.clear();
    json::append_string(scratch_, t);
    append_copy_escaped(out, scratch_);
  } else {
    append_copy_escaped(out, t);
  }
}

void Encoder::put(std::string& out, simdjson::dom::element v, Kind kind) {
  using T = simdjson::dom::element_type;
  switch (v.type()) {
    case T::NULL_VALUE: out += "\\N"; return;
    case T::STRING: put_text(out, v.get_string().value_unsafe(), kind); return;
    case T::BOOL: out += v.get_bool().value_unsafe() ? "true" : "false"; return;
    case T::INT64: fmt::format_to(std::back_inserter(out), "{}", v.get_int64().value_unsafe()); return;
    case T::UINT64: fmt::format_to(std::back_inserter(out), "{}", v.get_uint64().value_unsafe()); return;
    case T::DOUBLE: fmt::format_to(std::back_inserter(out), "{}", v.get_double().value_unsafe()); return;
    case T::ARRAY:
    case T::OBJECT: append_copy_escaped(out, simdjson::minify(v)); return;
  }
}

void Encoder::put_env(std::string& out, const Source& s, const Envelope* env) {
  if (env == nullptr) {
    out += "\\N";
    return;
  }
  switch (s.env) {
    case EnvField::topic:
      if (env->topic.empty()) out += "\\N";
      else put_text(out, env->topic, s.kind);
      return;
    case EnvField::key:
      if (!env->key) out += "\\N";
      else put_text(out, *env->key, s.kind);
      return;
    case EnvField::partition:
      if (env->partition < 0) out += "\\N";
      else fmt::format_to(std::back_inserter(out), "{}", env->partition);
      return;
    case EnvField::offset:
      if (env->offset < 0) out += "\\N";
      else fmt::format_to(std::back_inserter(out), "{}", env->offset);
      return;
    case EnvField::timestamp:
      if (env->timestamp < 0) out += "\\N";
      else if (s.kind == Kind::timestamp) out += iso_utc_from_ms(env->timestamp);
      else fmt::format_to(std::back_inserter(out), "{}", env->timestamp);
      return;
    case EnvField::none: out += "\\N"; return;
  }
}

// The record's JSON text: the line, or the envelope's value (copied out by
// the intake when a column takes the whole record; minified here otherwise).
std::string_view Encoder::record_text(const Record& record) {
  if (record.envelope == nullptr) return record.line.text;
  if (!record.envelope->value.empty()) return record.envelope->value;
  record_text_ = simdjson::minify(record.value);
  return record_text_;
}

// One pass over the record's fields fills the top-level slots.
bool Encoder::fill_slots(simdjson::dom::object obj, std::string& reason) {
  for (auto& s : slots_) s.reset();
  size_t pos = 0;
  for (auto [key, value] : obj) {
    // Records of a topic list their fields in one order: the field at this
    // position last time is tried first, the hash table only on a miss.
    if (pos >= order_.size()) order_.emplace_back(std::string(), kNotSeen);
    auto& [seen_key, seen_slot] = order_[pos++];
    int slot;
    if (seen_slot != kNotSeen && key == seen_key) {
      slot = seen_slot;
    } else {
      auto it = fields_.find(key);
      slot = it == fields_.end() ? kUnknown : it->second;
      seen_key = key;
      seen_slot = slot;
    }
    if (slot == kUnknown) {
      if (strict_) {
        reason = fmt::format("unknown field '{}' (no column of that name; --strict-fields)", key);
        return false;
      }
      continue;
    }
    if (slot >= 0) slots_[static_cast<size_t>(slot)] = value;
  }
  return true;
}

std::string Encoder::encode(const Record& record, std::string& out) {
  std::string reason;
  simdjson::dom::object obj;
  if (record.value.get(obj)) return "the record is not a JSON object";
  if (!fill_slots(obj, reason)) return reason;
  for (size_t i = 0; i < sources_.size(); ++i) {
    const Source& s = sources_[i];
    if (i) out += '\t';
    switch (s.from) {
      case Source::From::field:
        if (slots_[i]) put(out, *slots_[i], s.kind);
        else out += "\\N";
        break;
      case Source::From::path:
        if (auto v = s.path.find(record.value)) put(out, *v, s.kind);
        else out += "\\N";
        break;
      case Source::From::env: put_env(out, s, record.envelope); break;
      case Source::From::record: append_copy_escaped(out, record_text(record)); break;
    }
  }
  out += '\n';
  return reason;
}

}  // namespace pipekit::pgload
