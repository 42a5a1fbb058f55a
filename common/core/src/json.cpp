#include "pipekit/json.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <charconv>
#include <cstdlib>
#include <nlohmann/json.hpp>

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
      // An index past any array (even past 2^64) finds nothing, like a missing key.
      size_t index = 0;
      auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), index);
      if (part.empty() || ec != std::errc() || end != part.data() + part.size()) return std::nullopt;
      simdjson::dom::element next;
      if (cur.get_array().value_unsafe().at(index).get(next) != simdjson::SUCCESS)
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

std::string unrepresentable_number(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  auto digit = [&](size_t k) { return k < n && text[k] >= '0' && text[k] <= '9'; };
  while (i < n) {
    char c = text[i];
    if (c == '"') {  // skip the string, escapes included
      for (++i; i < n && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
      ++i;
      continue;
    }
    if (c != '-' && !digit(i)) {
      ++i;
      continue;
    }
    size_t start = i;
    if (text[i] == '-') ++i;
    while (digit(i)) ++i;
    bool integer = true;
    if (i < n && text[i] == '.') {
      integer = false;
      for (++i; digit(i);) ++i;
    }
    if (i < n && (text[i] == 'e' || text[i] == 'E')) {
      integer = false;
      ++i;
      if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
      while (digit(i)) ++i;
    }
    std::string number(text.substr(start, i - start));
    if (number == "-") continue;
    bool fits;
    if (integer) {
      int64_t s64;
      uint64_t u64;
      const char* end = number.data() + number.size();
      fits = std::from_chars(number.data(), end, s64).ec == std::errc() ||
             std::from_chars(number.data(), end, u64).ec == std::errc();
    } else {
      errno = 0;
      double d = std::strtod(number.c_str(), nullptr);
      fits = !(errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL));
    }
    if (!fits) return number.size() > 40 ? number.substr(0, 40) + "..." : number;
  }
  return "";
}

std::string parse_error_reason(std::string_view text, simdjson::error_code err) {
  // Valid JSON whose number the parser cannot hold: say so (a big integer or
  // 1e400 is JSON; calling it invalid would be a lie).
  if (err == simdjson::NUMBER_ERROR || err == simdjson::NUMBER_OUT_OF_RANGE) {
    std::string number = unrepresentable_number(text);
    if (!number.empty())
      return fmt::format("number {} is beyond what this tool represents (integers of 64 bits, finite doubles); "
                         "rejected rather than rounded",
                         number);
  }
  // simdjson says what, not where: on this (rare) path ask nlohmann for the byte.
  try {
    auto ignored = nlohmann::json::parse(text.begin(), text.end());
    (void)ignored;
  } catch (const nlohmann::json::parse_error& e) {
    std::string detail = e.what();
    size_t col = detail.find("column");
    if (col != std::string::npos) {
      size_t colon = detail.find(": ", col);
      if (colon != std::string::npos) detail = detail.substr(colon + 2);
    }
    return fmt::format("invalid JSON at byte {}: {}", e.byte, detail);
  } catch (const std::exception&) {
  }
  return fmt::format("invalid JSON: {}", simdjson::error_message(err));
}

}  // namespace pipekit::json
