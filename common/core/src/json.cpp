#include "pipekit/json.hpp"

#include "pipekit/errors.hpp"

namespace pipekit::json {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n = s.size() - i;
  auto cont = [&](size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return n >= 2 && cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (n < 3 || !cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && byte(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && byte(i + 1) >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (n < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && byte(i + 1) < 0x90) return 0;
    if (c == 0xF4 && byte(i + 1) >= 0x90) return 0;
    return 4;
  }
  return 0;
}

}  // namespace

bool is_valid_utf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

void append_string(std::string& out, std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  const bool valid = is_valid_utf8(s);
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  size_t run = 0;  // start of the current run of bytes that need no escaping
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && (c < 0x80 || valid)) {
      ++i;
      continue;
    }
    out.append(s.data() + run, i - run);
    if (c >= 0x80) {  // only reached for invalid input
      size_t len = utf8_sequence_length(s, i);
      if (len == 0) {
        out.append("\xEF\xBF\xBD");  // U+FFFD
        len = 1;
      } else {
        out.append(s.data() + i, len);
      }
      i += len;
      run = i;
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default:
        out.append("\\u00");
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 0xF]);
    }
    ++i;
    run = i;
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

std::string quote(std::string_view s) {
  std::string out;
  append_string(out, s);
  return out;
}

Path::Path(std::string_view spec) : spec_(spec) {
  if (spec.empty()) throw UsageError("empty field path");
  if (spec[0] == '/') {  // JSON pointer (RFC 6901)
    size_t pos = 1;
    while (pos <= spec.size()) {
      size_t end = spec.find('/', pos);
      if (end == std::string_view::npos) end = spec.size();
      std::string part;
      for (size_t i = pos; i < end; ++i) {
        if (spec[i] == '~' && i + 1 < end && (spec[i + 1] == '0' || spec[i + 1] == '1')) {
          part.push_back(spec[i + 1] == '0' ? '~' : '/');
          ++i;
        } else {
          part.push_back(spec[i]);
        }
      }
      parts_.push_back(std::move(part));
      pos = end + 1;
    }
  } else {
    size_t pos = 0;
    while (pos <= spec.size()) {
      size_t end = spec.find('.', pos);
      if (end == std::string_view::npos) end = spec.size();
      if (end == pos) throw UsageError("bad field path '" + std::string(spec) + "': empty part");
      parts_.emplace_back(spec.substr(pos, end - pos));
      pos = end + 1;
    }
  }
}

std::optional<simdjson::dom::element> Path::find(simdjson::dom::element root) const {
  simdjson::dom::element cur = root;
  for (const auto& part : parts_) {
    if (cur.is_object()) {
      simdjson::dom::element next;
      if (cur.get_object().value_unsafe()[part].get(next) != simdjson::SUCCESS) return std::nullopt;
      cur = next;
    } else if (cur.is_array()) {
      if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
      simdjson::dom::element next;
      if (cur.get_array().value_unsafe().at(std::stoul(part)).get(next) != simdjson::SUCCESS)
        return std::nullopt;
      cur = next;
    } else {
      return std::nullopt;
    }
  }
  return cur;
}

std::optional<std::string> scalar_text(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::NULL_VALUE: return std::nullopt;
    case simdjson::dom::element_type::STRING: return std::string(e.get_string().value_unsafe());
    case simdjson::dom::element_type::BOOL: return e.get_bool().value_unsafe() ? "true" : "false";
    default: return simdjson::minify(e);
  }
}

}  // namespace pipekit::json
