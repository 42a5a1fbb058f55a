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

bool Encoder::parse(std::string_view line, bool padded, EncodeResult& r, simdjson::dom::element& record) {
  simdjson::dom::element root;
  auto err = parser_.parse(line.data(), line.size(), !padded).get(root);
  if (err) {
    r.reason = json::parse_error_reason(line, err);
    return false;
  }
  r.original_is_json = true;
  if (!envelope_) {
    record = root;
    record_view_ = line;
  } else {
    try {
      // The record's text is only needed for a whole-record column (--jsonb).
      env_ = parse_envelope(root, needs_record_text_);
    } catch (const std::invalid_argument& e) {
      r.reason = std::string("not an envelope: ") + e.what();
      return false;
    }
    if (env_.has_coordinates()) r.coord = Coord{env_.topic, env_.partition, env_.offset};
    if (!env_.value_is_json) {
      r.reason = "the envelope's value is not JSON";
      return false;
    }
    if (env_.value_element && !needs_record_text_) {
      record = *env_.value_element;  // read where it was parsed: no copy, no second parse
    } else if (auto e2 = value_parser_.parse(env_.value).get(record)) {
      r.reason = "the envelope's value: " + json::parse_error_reason(env_.value, e2);
      return false;
    }
    record_view_ = env_.value;
  }
  if (!record.is_object()) {
    r.reason = "the record is not a JSON object";
    return false;
  }
  return true;
}

std::optional<simdjson::dom::element> Encoder::record_of(std::string_view line) {
  EncodeResult r;
  simdjson::dom::element record;
  if (!parse(line, false, r, record)) return std::nullopt;
  return record;
}

void Encoder::put(std::string& out, simdjson::dom::element v, Kind kind) {
  using T = simdjson::dom::element_type;
  switch (v.type()) {
    case T::NULL_VALUE: out += "\\N"; return;
    case T::STRING: {
      std::string_view s = v.get_string().value_unsafe();
      if (kind == Kind::json) {  // a JSON string stays a JSON string in jsonb
        scratch_.clear();
        json::append_string(scratch_, s);
        append_copy_escaped(out, scratch_);
      } else {
        append_copy_escaped(out, s);
      }
      return;
    }
    case T::BOOL: out += v.get_bool().value_unsafe() ? "true" : "false"; return;
    case T::INT64: fmt::format_to(std::back_inserter(out), "{}", v.get_int64().value_unsafe()); return;
    case T::UINT64: fmt::format_to(std::back_inserter(out), "{}", v.get_uint64().value_unsafe()); return;
    case T::DOUBLE: fmt::format_to(std::back_inserter(out), "{}", v.get_double().value_unsafe()); return;
    case T::ARRAY:
    case T::OBJECT: append_copy_escaped(out, simdjson::minify(v)); return;
  }
}

void Encoder::put_env(std::string& out, const Source& s) {
  auto text = [&](std::string_view t) {
    if (s.kind == Kind::json) {
      scratch_.clear();
      json::append_string(scratch_, t);
      append_copy_escaped(out, scratch_);
    } else {
      append_copy_escaped(out, t);
    }
  };
  switch (s.env) {
    case EnvField::topic:
      if (env_.topic.empty()) out += "\\N";
      else text(env_.topic);
      return;
    case EnvField::key:
      if (!env_.key) out += "\\N";
      else text(*env_.key);
      return;
    case EnvField::partition:
      if (env_.partition < 0) out += "\\N";
      else fmt::format_to(std::back_inserter(out), "{}", env_.partition);
      return;
    case EnvField::offset:
      if (env_.offset < 0) out += "\\N";
      else fmt::format_to(std::back_inserter(out), "{}", env_.offset);
      return;
    case EnvField::timestamp:
      if (env_.timestamp < 0) out += "\\N";
      else if (s.kind == Kind::timestamp) out += iso_utc_from_ms(env_.timestamp);
      else fmt::format_to(std::back_inserter(out), "{}", env_.timestamp);
      return;
    case EnvField::none: out += "\\N"; return;
  }
}

EncodeResult Encoder::encode(std::string_view line, bool padded, std::string* out) {
  EncodeResult r;
  simdjson::dom::element record;
  if (!parse(line, padded, r, record)) return r;
  if (!planned_ || !out) return r;

  // One pass over the record's fields fills the top-level slots.
  for (auto& s : slots_) s.reset();
  simdjson::dom::object obj = record.get_object().value_unsafe();
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
        r.reason = fmt::format("unknown field '{}' (no column of that name; --strict-fields)", key);
        return r;
      }
      continue;
    }
    if (slot >= 0) slots_[static_cast<size_t>(slot)] = value;
  }
  for (size_t i = 0; i < sources_.size(); ++i) {
    const Source& s = sources_[i];
    if (i) *out += '\t';
    switch (s.from) {
      case Source::From::field:
        if (slots_[i]) put(*out, *slots_[i], s.kind);
        else *out += "\\N";
        break;
      case Source::From::path:
        if (auto v = s.path.find(record)) put(*out, *v, s.kind);
        else *out += "\\N";
        break;
      case Source::From::env: put_env(*out, s); break;
      case Source::From::record: append_copy_escaped(*out, record_view_); break;
    }
  }
  *out += '\n';
  return r;
}

}  // namespace pipekit::pgload
