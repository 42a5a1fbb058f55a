#include "pipekit/cql/types.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "pipekit/calendar.hpp"
#include "pipekit/json.hpp"

namespace pipekit::cql {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

[[noreturn]] void bad(const Type& t, std::string_view why) {
  throw ValueError(fmt::format("not a valid {}: {}", type_name(t), why));
}

std::string clip(std::string_view s) {
  if (s.size() <= 40) return std::string(s);
  return std::string(s.substr(0, 37)) + "...";
}

void put_be(std::string& out, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void value_header(std::string& out, size_t n) { wire::i32(out, static_cast<int32_t>(n)); }

// ---- integers -------------------------------------------------------------
template <typename I>
std::optional<I> parse_int(std::string_view s) {
  I v{};
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view s) {
  double v{};
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "Infinity") return std::numeric_limits<double>::infinity();
  if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

int width_of(TypeId id) {
  switch (id) {
    case TypeId::tinyint: return 1;
    case TypeId::smallint: return 2;
    case TypeId::int_: return 4;
    default: return 8;
  }
}

void encode_fixed_int(std::string& out, const Type& t, int64_t v) {
  int w = width_of(t.id);
  if (w < 8) {
    int64_t lo = -(int64_t(1) << (8 * w - 1)), hi = (int64_t(1) << (8 * w - 1)) - 1;
    if (v < lo || v > hi) bad(t, fmt::format("{} is out of range {}..{}", v, lo, hi));
  }
  value_header(out, static_cast<size_t>(w));
  put_be(out, static_cast<uint64_t>(v), w);
}

// Arbitrary-precision decimal digits -> minimal two's complement, big-endian.
std::string varint_from_digits(std::string_view digits, bool negative) {
  std::vector<uint8_t> mag;  // little-endian base 256
  for (char c : digits) {
    unsigned carry = static_cast<unsigned>(c - '0');
    for (auto& b : mag) {
      unsigned x = b * 10u + carry;
      b = static_cast<uint8_t>(x);
      carry = x >> 8;
    }
    while (carry) {
      mag.push_back(static_cast<uint8_t>(carry));
      carry >>= 8;
    }
  }
  if (mag.empty()) mag.push_back(0);
  if (negative) {  // two's complement: invert and add one
    bool zero = true;
    for (auto b : mag) zero = zero && b == 0;
    if (!zero) {
      unsigned carry = 1;
      for (auto& b : mag) {
        unsigned x = static_cast<uint8_t>(~b) + carry;
        b = static_cast<uint8_t>(x);
        carry = x >> 8;
      }
      // The sign bit must be 1.
      if (!(mag.back() & 0x80)) mag.push_back(0xFF);
    }
  } else if (mag.back() & 0x80) {
    mag.push_back(0);
  }
  // Minimal: drop redundant sign bytes.
  while (mag.size() > 1) {
    uint8_t top = mag.back(), next = mag[mag.size() - 2];
    if ((top == 0 && !(next & 0x80)) || (top == 0xFF && (next & 0x80))) mag.pop_back();
    else break;
  }
  return std::string(mag.rbegin(), mag.rend());
}

// "-12.50e3" -> unscaled digits, negative, scale.
bool split_decimal(std::string_view s, std::string& digits, bool& negative, int32_t& scale) {
  size_t i = 0;
  negative = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
  int32_t frac = 0;
  bool dot = false, any = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
      any = true;
      if (dot) ++frac;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (!any) return false;
  int32_t exp = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    auto e = parse_int<int32_t>(s.substr(i + 1));
    if (!e || *e > 100000 || *e < -100000) return false;
    exp = *e;
    i = s.size();
  }
  if (i != s.size()) return false;
  size_t nz = digits.find_first_not_of('0');
  digits = nz == std::string::npos ? "0" : digits.substr(nz);
  scale = frac - exp;
  return true;
}

// ---- dates ------------------------------------------------------------------
bool digits_at(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

// "YYYY-MM-DD" (year may be signed or longer than 4 digits); returns chars used.
size_t parse_ymd(std::string_view s, int64_t& days) {
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  size_t ystart = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i - ystart < 4 || i - ystart > 6) return 0;
  int64_t y = 0;
  for (size_t k = ystart; k < i; ++k) y = y * 10 + (s[k] - '0');
  if (neg) y = -y;
  int mo, d;
  if (i >= s.size() || s[i] != '-' || !digits_at(s, i + 1, 2, mo) || i + 3 >= s.size() || s[i + 3] != '-' ||
      !digits_at(s, i + 4, 2, d))
    return 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return 0;
  if (static_cast<unsigned>(d) > calendar::days_in_month(y, static_cast<unsigned>(mo))) return 0;
  days = calendar::days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return i + 6;
}

// "HH:MM[:SS[.fffffffff]]": nanoseconds of the day; returns chars used.
size_t parse_hms(std::string_view s, size_t i, int64_t& nanos) {
  int h, m, sec = 0;
  if (!digits_at(s, i, 2, h) || i + 2 >= s.size() || s[i + 2] != ':' || !digits_at(s, i + 3, 2, m)) return 0;
  size_t j = i + 5;
  int64_t frac = 0;
  if (j < s.size() && s[j] == ':') {
    if (!digits_at(s, j + 1, 2, sec)) return 0;
    j += 3;
    if (j < s.size() && (s[j] == '.' || s[j] == ',')) {
      ++j;
      int n = 0;
      while (j < s.size() && s[j] >= '0' && s[j] <= '9') {
        if (n < 9) {
          frac = frac * 10 + (s[j] - '0');
          ++n;
        }
        ++j;
      }
      if (n == 0) return 0;
      for (; n < 9; ++n) frac *= 10;
    }
  }
  if (h > 23 || m > 59 || sec > 60) return 0;
  nanos = ((int64_t(h) * 60 + m) * 60 + sec) * 1000000000LL + frac;
  return j - i;
}

// ---- uuid ---------------------------------------------------------------------
bool parse_uuid(std::string_view s, std::string& out16) {
  if (s.size() == 38 && s.front() == '{' && s.back() == '}') s = s.substr(1, 36);
  std::string hex;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '-') {
      if (s.size() != 36 || (i != 8 && i != 13 && i != 18 && i != 23)) return false;
      continue;
    }
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    hex.push_back(c);
  }
  if (hex.size() != 32 || (s.size() != 36 && s.size() != 32)) return false;
  out16.clear();
  for (size_t i = 0; i < 32; i += 2) out16.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return true;
}

// ---- base64 / hex -------------------------------------------------------------
int b64_index(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

bool decode_blob(std::string_view s, std::string& out) {
  out.clear();
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    if (s.size() % 2) return false;
    for (size_t i = 0; i < s.size(); i += 2) {
      if (!std::isxdigit(static_cast<unsigned char>(s[i])) || !std::isxdigit(static_cast<unsigned char>(s[i + 1])))
        return false;
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i, 2)), nullptr, 16)));
    }
    return true;
  }
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : s) {
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad) return false;  // data after padding
    int v = b64_index(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return pad <= 2 && bits < 6;
}

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
std::string base64(std::string_view in) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool is_collection(TypeId id) { return id == TypeId::list || id == TypeId::set || id == TypeId::map; }

void encode_double(std::string& out, const Type& t, double d) {
  if (t.id == TypeId::float_) {
    float f = static_cast<float>(d);
    if (std::isfinite(d) && !std::isfinite(f)) bad(t, fmt::format("{} is out of range", d));
    uint32_t u;
    std::memcpy(&u, &f, 4);
    value_header(out, 4);
    put_be(out, u, 4);
  } else {
    uint64_t u;
    std::memcpy(&u, &d, 8);
    value_header(out, 8);
    put_be(out, u, 8);
  }
}

void encode_decimal_text(std::string& out, const Type& t, std::string_view s) {
  std::string digits;
  bool neg;
  int32_t scale;
  if (!split_decimal(s, digits, neg, scale)) bad(t, "'" + clip(s) + "' is not a number");
  std::string v = varint_from_digits(digits, neg);
  if (t.id == TypeId::varint) {
    if (scale != 0) bad(t, "'" + clip(s) + "' is not an integer");
    value_header(out, v.size());
    out += v;
    return;
  }
  value_header(out, 4 + v.size());
  wire::i32(out, scale);
  out += v;
}

}  // namespace

std::optional<int64_t> parse_timestamp_ms(std::string_view s) {
  int64_t days;
  size_t i = parse_ymd(s, days);
  if (!i) return std::nullopt;
  int64_t nanos = 0;
  int64_t offset_min = 0;
  if (i < s.size() && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
    size_t n = parse_hms(s, i + 1, nanos);
    if (!n) return std::nullopt;
    i += 1 + n;
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
      ++i;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      int sign = s[i] == '-' ? -1 : 1;
      int hh, mm = 0;
      if (!digits_at(s, i + 1, 2, hh)) return std::nullopt;
      i += 3;
      if (i < s.size() && s[i] == ':') ++i;
      if (i < s.size()) {
        if (!digits_at(s, i, 2, mm)) return std::nullopt;
        i += 2;
      }
      offset_min = sign * (hh * 60 + mm);
    }
  }
  if (i != s.size()) return std::nullopt;
  return days * 86400000LL + nanos / 1000000 - offset_min * 60000;
}

std::optional<int32_t> parse_date_days(std::string_view s) {
  int64_t days;
  size_t i = parse_ymd(s, days);
  if (!i) return std::nullopt;
  if (i != s.size()) {
    // A full timestamp: keep its (UTC) date.
    auto ms = parse_timestamp_ms(s);
    if (!ms) return std::nullopt;
    days = (*ms >= 0 ? *ms : *ms - 86399999) / 86400000;
  }
  return static_cast<int32_t>(days);
}

void encode_int64(std::string& out, const Type& t, int64_t v) {
  switch (t.id) {
    case TypeId::bigint:
    case TypeId::counter:
    case TypeId::int_:
    case TypeId::smallint:
    case TypeId::tinyint: encode_fixed_int(out, t, v); return;
    case TypeId::timestamp:
    case TypeId::time:
      if (t.id == TypeId::time && (v < 0 || v >= 86400000000000LL)) bad(t, "nanoseconds out of a day's range");
      value_header(out, 8);
      put_be(out, static_cast<uint64_t>(v), 8);
      return;
    case TypeId::date:
      if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
        bad(t, "days out of range");
      value_header(out, 4);
      put_be(out, static_cast<uint32_t>(v + (int64_t(1) << 31)), 4);
      return;
    case TypeId::float_:
    case TypeId::double_: encode_double(out, t, static_cast<double>(v)); return;
    case TypeId::varint:
    case TypeId::decimal: encode_decimal_text(out, t, std::to_string(v)); return;
    case TypeId::varchar:
    case TypeId::ascii: {
      std::string s = std::to_string(v);
      value_header(out, s.size());
      out += s;
      return;
    }
    default: bad(t, "a number does not fit");
  }
}

namespace {
// encode_text's cases that take more than a few lines, one per column type.

void encode_boolean_text(std::string& out, const Type& t, std::string_view s) {
  bool b;
  if (s == "true" || s == "TRUE" || s == "True") b = true;
  else if (s == "false" || s == "FALSE" || s == "False") b = false;
  else bad(t, "'" + clip(s) + "' is not true or false");
  value_header(out, 1);
  out.push_back(b ? 1 : 0);
}

// ISO-8601, else epoch milliseconds.
void encode_timestamp_text(std::string& out, const Type& t, std::string_view s) {
  auto ms = parse_timestamp_ms(s);
  if (!ms) {
    auto n = parse_int<int64_t>(s);
    if (!n) bad(t, "'" + clip(s) + "' is neither ISO-8601 nor epoch milliseconds");
    ms = n;
  }
  encode_int64(out, t, *ms);
}

// HH:MM:SS[.fffffffff], else nanoseconds since midnight.
void encode_time_text(std::string& out, const Type& t, std::string_view s) {
  int64_t nanos;
  size_t n = parse_hms(s, 0, nanos);
  if (!n || n != s.size()) {
    auto v = parse_int<int64_t>(s);
    if (!v) bad(t, "'" + clip(s) + "' is not HH:MM:SS[.fffffffff]");
    nanos = *v;
  }
  encode_int64(out, t, nanos);
}

void encode_uuid_text(std::string& out, const Type& t, std::string_view s) {
  std::string b;
  if (!parse_uuid(s, b)) bad(t, "'" + clip(s) + "' is not a UUID");
  if (t.id == TypeId::timeuuid && (static_cast<uint8_t>(b[6]) >> 4) != 1)
    bad(t, "'" + clip(s) + "' is not a version 1 (time-based) UUID");
  value_header(out, 16);
  out += b;
}

void encode_inet_text(std::string& out, const Type& t, std::string_view s) {
  unsigned char a[16];
  std::string str(s);
  if (inet_pton(AF_INET, str.c_str(), a) == 1) {
    value_header(out, 4);
    out.append(reinterpret_cast<char*>(a), 4);
  } else if (inet_pton(AF_INET6, str.c_str(), a) == 1) {
    value_header(out, 16);
    out.append(reinterpret_cast<char*>(a), 16);
  } else {
    bad(t, "'" + clip(s) + "' is not an IPv4 or IPv6 address");
  }
}

// A JSON document inside a string (kcat payloads, text-encoded fields).
void encode_collection_text(std::string& out, const Type& t, std::string_view s) {
  simdjson::dom::parser p;
  element e;
  if (p.parse(s.data(), s.size()).get(e) || e.is_string()) bad(t, "a string is not a collection");
  encode_value(out, t, e);
}
}  // namespace

void encode_text(std::string& out, const Type& t, std::string_view s) {
  switch (t.id) {
    case TypeId::varchar:
      if (!json::is_valid_utf8(s)) bad(t, "invalid UTF-8");
      value_header(out, s.size());
      out.append(s);
      return;
    case TypeId::ascii:
      for (unsigned char c : s)
        if (c >= 0x80) bad(t, "non-ASCII character");
      value_header(out, s.size());
      out.append(s);
      return;
    case TypeId::bigint:
    case TypeId::counter:
    case TypeId::int_:
    case TypeId::smallint:
    case TypeId::tinyint: {
      auto v = parse_int<int64_t>(s);
      if (!v) bad(t, "'" + clip(s) + "' is not an integer");
      encode_fixed_int(out, t, *v);
      return;
    }
    case TypeId::boolean: encode_boolean_text(out, t, s); return;
    case TypeId::float_:
    case TypeId::double_: {
      auto d = parse_double(s);
      if (!d) bad(t, "'" + clip(s) + "' is not a number");
      encode_double(out, t, *d);
      return;
    }
    case TypeId::decimal:
    case TypeId::varint: encode_decimal_text(out, t, s); return;
    case TypeId::timestamp: encode_timestamp_text(out, t, s); return;
    case TypeId::date: {
      auto d = parse_date_days(s);
      if (!d) bad(t, "'" + clip(s) + "' is not a YYYY-MM-DD date");
      encode_int64(out, t, *d);
      return;
    }
    case TypeId::time: encode_time_text(out, t, s); return;
    case TypeId::uuid:
    case TypeId::timeuuid: encode_uuid_text(out, t, s); return;
    case TypeId::inet: encode_inet_text(out, t, s); return;
    case TypeId::blob: {
      std::string b;
      if (!decode_blob(s, b)) bad(t, "'" + clip(s) + "' is neither base64 nor 0x-prefixed hex");
      value_header(out, b.size());
      out += b;
      return;
    }
    case TypeId::list:
    case TypeId::set:
    case TypeId::map:
    case TypeId::tuple:
    case TypeId::udt: encode_collection_text(out, t, s); return;
    default: bad(t, "this column type is not supported by cqlload");
  }
}

// ---- Cassandra 5.0 types that protocol v4 carries as custom classes --------
namespace {
constexpr std::string_view kMarshal = "org.apache.cassandra.db.marshal.";

bool is_duration(const Type& t) {
  return t.id == TypeId::duration || (t.id == TypeId::custom && t.custom == std::string(kMarshal) + "DurationType");
}

// VectorType(ElementType, N) -> element class (without the package) and N.
std::optional<std::pair<std::string, size_t>> vector_of(const Type& t) {
  std::string prefix = std::string(kMarshal) + "VectorType(";
  if (t.id != TypeId::custom || t.custom.rfind(prefix, 0) != 0 || t.custom.back() != ')') return std::nullopt;
  std::string inner = t.custom.substr(prefix.size(), t.custom.size() - prefix.size() - 1);
  auto comma = inner.rfind(',');
  if (comma == std::string::npos) return std::nullopt;
  std::string elem = inner.substr(0, comma);
  while (!elem.empty() && elem.back() == ' ') elem.pop_back();
  if (elem.rfind(kMarshal, 0) == 0) elem = elem.substr(kMarshal.size());
  auto n = parse_int<int64_t>(std::string_view(inner).substr(inner.find_first_not_of(' ', comma + 1)));
  if (!n || *n < 1) return std::nullopt;
  return std::make_pair(elem, static_cast<size_t>(*n));
}

// Cassandra's unsigned vint: the count of leading 1 bits of the first byte
// is the count of bytes that follow.
void put_uvint(std::string& out, uint64_t v) {
  int magnitude = __builtin_clzll(v | 1);
  int size = (639 - magnitude * 9) >> 6;
  if (size == 1) {
    out.push_back(static_cast<char>(v));
    return;
  }
  char buf[9];
  for (int i = size - 1; i >= 0; --i, v >>= 8) buf[i] = static_cast<char>(v & 0xFF);
  buf[0] = static_cast<char>(static_cast<uint8_t>(buf[0]) | static_cast<uint8_t>(~(0xFF >> (size - 1))));
  out.append(buf, static_cast<size_t>(size));
}
void put_vint(std::string& out, int64_t v) {  // zigzag
  put_uvint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

// "1h30m", "2y3mo1w", "-45s", "1d2h3m4s5ms6us7ns" (Cassandra's units) or
// ISO 8601 "P1Y2M3DT4H5M6.5S" / "P2W" -> months, days, nanoseconds.
bool parse_duration(std::string_view s, int64_t& months, int64_t& days, int64_t& nanos) {
  months = days = nanos = 0;
  bool neg = !s.empty() && s[0] == '-';
  if (neg) s.remove_prefix(1);
  if (s.empty()) return false;
  auto add = [&](std::string_view unit, double n, bool time_part) {
    if (unit == "Y" || unit == "y") months += static_cast<int64_t>(n * 12);
    else if ((unit == "M" && !time_part) || unit == "mo") months += static_cast<int64_t>(n);
    else if (unit == "W" || unit == "w") days += static_cast<int64_t>(n * 7);
    else if (unit == "D" || unit == "d") days += static_cast<int64_t>(n);
    else if (unit == "H" || unit == "h") nanos += static_cast<int64_t>(n * 3600e9);
    else if ((unit == "M" && time_part) || unit == "m") nanos += static_cast<int64_t>(n * 60e9);
    else if (unit == "S" || unit == "s") nanos += static_cast<int64_t>(n * 1e9);
    else if (unit == "ms") nanos += static_cast<int64_t>(n * 1e6);
    else if (unit == "us" || unit == "\u00b5s") nanos += static_cast<int64_t>(n * 1e3);
    else if (unit == "ns") nanos += static_cast<int64_t>(n);
    else return false;
    return true;
  };
  bool iso = s[0] == 'P';
  bool time_part = false;
  size_t i = iso ? 1 : 0;
  if (i >= s.size()) return false;
  while (i < s.size()) {
    if (iso && s[i] == 'T') {
      time_part = true;
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || (iso && s[j] == '.'))) ++j;
    if (j == i || j - i > 18) return false;
    double n = std::stod(std::string(s.substr(i, j - i)));
    size_t k = j;
    while (k < s.size() && !std::isdigit(static_cast<unsigned char>(s[k])) && !(iso && s[k] == 'T')) {
      ++k;
      if (iso) break;  // one-letter units
    }
    if (k == j || !add(s.substr(j, k - j), n, time_part)) return false;
    i = k;
  }
  if (neg) months = -months, days = -days, nanos = -nanos;
  return true;
}
}  // namespace

namespace {
// encode_value's cases, one per custom type or JSON type.

// A duration column from text: months, days and nanoseconds as vints.
void encode_duration(std::string& out, const Type& t, std::string_view s) {
  int64_t months, days, nanos;
  if (!parse_duration(s, months, days, nanos))
    bad(t, fmt::format("'{}' is not a duration (1h30m, 2d, 1mo, P1DT2H)", clip(s)));
  size_t start = out.size();
  value_header(out, 0);
  put_vint(out, months);
  put_vint(out, days);
  put_vint(out, nanos);
  wire::put_i32_at(out, start, static_cast<int32_t>(out.size() - start - 4));
}

// A vector of n elem (FloatType, DoubleType, Int32Type, LongType) from a JSON
// array of numbers: the items back to back, each of fixed size.
void encode_vector(std::string& out, const Type& t, const std::string& elem, size_t n, element v) {
  simdjson::dom::array a;
  if (v.get_array().get(a)) bad(t, "a vector is a JSON array of numbers");
  if (a.size() != n) bad(t, fmt::format("{} items for a vector of {}", a.size(), n));
  size_t start = out.size();
  value_header(out, 0);
  for (element x : a) {
    double d;
    if (x.get_double().get(d)) {
      int64_t iv;
      if (x.get_int64().get(iv)) bad(t, "a vector's items are numbers");
      d = static_cast<double>(iv);
    }
    if (elem == "FloatType") {
      float f = static_cast<float>(d);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      put_be(out, bits, 4);
    } else if (elem == "DoubleType") {
      uint64_t bits;
      std::memcpy(&bits, &d, 8);
      put_be(out, bits, 8);
    } else if (elem == "Int32Type") {
      put_be(out, static_cast<uint32_t>(static_cast<int32_t>(d)), 4);
    } else if (elem == "LongType") {
      put_be(out, static_cast<uint64_t>(static_cast<int64_t>(d)), 8);
    } else {
      bad(t, "cqlload writes vectors of float, double, int and bigint only");
    }
  }
  wire::put_i32_at(out, start, static_cast<int32_t>(out.size() - start - 4));
}

void encode_json_bool(std::string& out, const Type& t, bool b) {
  if (t.id == TypeId::boolean) {
    value_header(out, 1);
    out.push_back(b ? 1 : 0);
    return;
  }
  if (t.id == TypeId::varchar || t.id == TypeId::ascii) {
    encode_text(out, t, b ? "true" : "false");
    return;
  }
  bad(t, "a boolean does not fit");
}

// A number above INT64_MAX: only a text-like or floating-point column takes it.
void encode_json_uint64(std::string& out, const Type& t, uint64_t u) {
  if (t.id == TypeId::varint || t.id == TypeId::decimal || t.id == TypeId::varchar || t.id == TypeId::ascii) {
    std::string s = std::to_string(u);
    encode_text(out, t, s);
    return;
  }
  if (t.id == TypeId::double_ || t.id == TypeId::float_) {
    encode_double(out, t, static_cast<double>(u));
    return;
  }
  bad(t, fmt::format("{} is out of range", u));
}

void encode_json_double(std::string& out, const Type& t, double d) {
  switch (t.id) {
    case TypeId::float_:
    case TypeId::double_: encode_double(out, t, d); return;
    case TypeId::decimal:
    case TypeId::varchar:
    case TypeId::ascii: encode_text(out, t, fmt::format("{}", d)); return;
    case TypeId::timestamp:
      // Epoch seconds with a fraction are common; milliseconds are the rule.
      if (d == std::floor(d)) {
        encode_int64(out, t, static_cast<int64_t>(d));
        return;
      }
      bad(t, fmt::format("{} is not whole epoch milliseconds", d));
    default:
      if (d == std::floor(d) && std::fabs(d) < 9.2e18) {
        encode_int64(out, t, static_cast<int64_t>(d));
        return;
      }
      bad(t, fmt::format("{} is not an integer", d));
  }
}

// A JSON array into a list, set, tuple or map ([[k,v],...]). Returns false
// (nothing written) for any other column type.
bool encode_json_array(std::string& out, const Type& t, simdjson::dom::array a) {
  if (t.id == TypeId::list || t.id == TypeId::set) {
    size_t start = out.size();
    value_header(out, 0);
    wire::i32(out, static_cast<int32_t>(a.size()));
    for (element x : a) encode_value(out, t.params[0], x);
    wire::put_i32_at(out, start, static_cast<int32_t>(out.size() - start - 4));
    return true;
  }
  if (t.id == TypeId::tuple) {
    if (a.size() > t.params.size()) bad(t, fmt::format("{} items for {} tuple fields", a.size(), t.params.size()));
    size_t start = out.size();
    value_header(out, 0);
    size_t i = 0;
    for (element x : a) {
      if (x.is_null()) wire::null_bytes(out);
      else encode_value(out, t.params[i], x);
      ++i;
    }
    for (; i < t.params.size(); ++i) wire::null_bytes(out);
    wire::put_i32_at(out, start, static_cast<int32_t>(out.size() - start - 4));
    return true;
  }
  if (t.id == TypeId::map) {
    // [[k,v],...] pairs, for keys that are not strings in JSON.
    size_t start = out.size();
    value_header(out, 0);
    wire::i32(out, static_cast<int32_t>(a.size()));
    for (element x : a) {
      simdjson::dom::array pair;
      if (x.get_array().get(pair) || pair.size() != 2) bad(t, "a map from an array needs [key, value] pairs");
      encode_value(out, t.params[0], pair.at(0).value_unsafe());
      encode_value(out, t.params[1], pair.at(1).value_unsafe());
    }
    wire::put_i32_at(out, start, static_cast<int32_t>(out.size() - start - 4));
    return true;
  }
  return false;
}

// A JSON object into a map or a UDT. Returns false (nothing written) for any
// other column type.
bool encode_json_object(std::string& out, const Type& t, simdjson::dom::object o) {
  if (t.id == TypeId::map) {
    size_t start = out.size();
    value_header(out, 0);
    wire::i32(out, static_cast<int32_t>(o.size()));
    for (auto field : o) {
      encode_text(out, t.params[0], field.key);
      encode_value(out, t.params[1], field.value);
    }
    wire::put_i32_at(out, start, static_cast<int32_t>(out.size() - start - 4));
    return true;
  }
  if (t.id == TypeId::udt) {
    size_t start = out.size();
    value_header(out, 0);
    size_t known = 0;
    for (size_t i = 0; i < t.params.size(); ++i) {
      element x;
      if (o.at_key(t.field_names[i]).get(x) || x.is_null()) {
        wire::null_bytes(out);
      } else {
        encode_value(out, t.params[i], x);
        ++known;
      }
    }
    if (known != o.size()) bad(t, "the object has fields the type does not");
    wire::put_i32_at(out, start, static_cast<int32_t>(out.size() - start - 4));
    return true;
  }
  return false;
}
}  // namespace

void encode_value(std::string& out, const Type& t, element v) {
  if (is_duration(t) && v.is_string()) {
    encode_duration(out, t, v.get_string().value_unsafe());
    return;
  }
  if (auto vec = vector_of(t)) {
    encode_vector(out, t, vec->first, vec->second, v);
    return;
  }
  switch (v.type()) {
    case element_type::NULL_VALUE: bad(t, "null inside a collection, tuple or UDT");
    case element_type::STRING: {
      std::string_view s = v.get_string().value_unsafe();
      encode_text(out, t, s);
      return;
    }
    case element_type::BOOL: encode_json_bool(out, t, v.get_bool().value_unsafe()); return;
    case element_type::INT64:
      encode_int64(out, t, v.get_int64().value_unsafe());
      return;
    case element_type::UINT64: encode_json_uint64(out, t, v.get_uint64().value_unsafe()); return;
    case element_type::DOUBLE: encode_json_double(out, t, v.get_double().value_unsafe()); return;
    case element_type::ARRAY:
      if (encode_json_array(out, t, v.get_array().value_unsafe())) return;
      break;
    case element_type::OBJECT:
      if (encode_json_object(out, t, v.get_object().value_unsafe())) return;
      break;
  }
  // Objects and arrays into a text column: their JSON, minified.
  if (t.id == TypeId::varchar && (v.is_object() || v.is_array())) {
    std::string s = simdjson::minify(v);
    value_header(out, s.size());
    out += s;
    return;
  }
  bad(t, v.is_object() ? "an object does not fit" : "an array does not fit");
}

// ---- decoding ---------------------------------------------------------------
namespace {
int64_t be_int(std::string_view b) {
  int64_t v = (!b.empty() && (static_cast<uint8_t>(b[0]) & 0x80)) ? -1 : 0;
  for (unsigned char c : b) v = static_cast<int64_t>((static_cast<uint64_t>(v) << 8) | c);
  return v;
}

// Unsigned big-endian two's complement -> decimal text (small helper for varint).
std::string varint_text(std::string_view b) {
  if (b.size() <= 8) return std::to_string(be_int(b));
  bool neg = static_cast<uint8_t>(b[0]) & 0x80;
  std::vector<uint8_t> mag(b.begin(), b.end());
  if (neg) {  // negate
    unsigned carry = 1;
    for (size_t i = mag.size(); i-- > 0;) {
      unsigned x = static_cast<uint8_t>(~mag[i]) + carry;
      mag[i] = static_cast<uint8_t>(x);
      carry = x >> 8;
    }
  }
  std::string digits;
  while (!mag.empty()) {
    unsigned rem = 0;
    for (auto& byte : mag) {
      unsigned x = (rem << 8) | byte;
      byte = static_cast<uint8_t>(x / 10);
      rem = x % 10;
    }
    digits.push_back(static_cast<char>('0' + rem));
    while (!mag.empty() && mag.front() == 0) mag.erase(mag.begin());
  }
  if (digits.empty()) digits = "0";
  if (neg) digits.push_back('-');
  return std::string(digits.rbegin(), digits.rend());
}
}  // namespace

namespace {
// decode_to_json's cases that take more than a few lines, one per column type.

// A float; infinities and NaN as JSON strings.
std::string float_json(std::string_view b) {
  if (b.size() != 4) throw ProtocolError("bad float size");
  uint32_t u = static_cast<uint32_t>(be_int(b));
  float f;
  std::memcpy(&f, &u, 4);
  return std::isfinite(f) ? fmt::format("{}", f) : json::quote(fmt::format("{}", f));
}

// A double; infinities and NaN as JSON strings.
std::string double_json(std::string_view b) {
  if (b.size() != 8) throw ProtocolError("bad double size");
  uint64_t u = static_cast<uint64_t>(be_int(b));
  double d;
  std::memcpy(&d, &u, 8);
  return std::isfinite(d) ? fmt::format("{}", d) : json::quote(fmt::format("{}", d));
}

// A decimal (scale, then unscaled varint) as a JSON string, exact.
std::string decimal_json(std::string_view b) {
  if (b.size() < 4) throw ProtocolError("bad decimal size");
  int32_t scale = static_cast<int32_t>(be_int(b.substr(0, 4)));
  std::string digits = varint_text(b.substr(4));
  bool neg = !digits.empty() && digits[0] == '-';
  if (neg) digits.erase(0, 1);
  if (scale > 0) {
    if (digits.size() <= static_cast<size_t>(scale)) digits.insert(0, static_cast<size_t>(scale) - digits.size() + 1, '0');
    digits.insert(digits.size() - static_cast<size_t>(scale), ".");
  } else if (scale < 0) {
    digits += "E" + std::to_string(-scale);
  }
  return json::quote((neg ? "-" : "") + digits);
}

// Epoch milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string timestamp_json(std::string_view b) {
  int64_t ms = be_int(b);
  int64_t days = (ms >= 0 ? ms : ms - 86399999) / 86400000;
  int64_t rem = ms - days * 86400000;
  return json::quote(fmt::format("{}T{:02}:{:02}:{:02}.{:03}Z", calendar::format_date(days), rem / 3600000,
                                 rem / 60000 % 60, rem / 1000 % 60, rem % 1000));
}

std::string uuid_json(std::string_view b) {
  if (b.size() != 16) throw ProtocolError("bad uuid size");
  std::string s;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += fmt::format("{:02x}", static_cast<uint8_t>(b[i]));
  }
  return json::quote(s);
}

// A list or set as a JSON array, a map as a JSON object (keys that are not
// JSON strings quoted).
std::string collection_json(const Type& t, std::string_view b) {
  std::string out;
  Reader r(b);
  int32_t n = r.i32();
  bool is_map = t.id == TypeId::map;
  out += is_map ? '{' : '[';
  for (int32_t i = 0; i < n; ++i) {
    if (i) out += ',';
    auto k = r.bytes();
    std::string kj = k ? decode_to_json(t.params[0], *k) : "null";
    if (is_map) {
      if (kj.empty() || kj[0] != '"') kj = json::quote(kj);
      out += kj;
      out += ':';
      auto v = r.bytes();
      out += v ? decode_to_json(t.params[1], *v) : "null";
    } else {
      out += kj;
    }
  }
  out += is_map ? '}' : ']';
  return out;
}

// A tuple as a JSON array, a UDT as a JSON object by field name.
std::string tuple_json(const Type& t, std::string_view b) {
  std::string out;
  Reader r(b);
  bool udt = t.id == TypeId::udt;
  out += udt ? '{' : '[';
  for (size_t i = 0; i < t.params.size() && r.remaining(); ++i) {
    if (i) out += ',';
    if (udt) {
      json::append_string(out, t.field_names[i]);
      out += ':';
    }
    auto v = r.bytes();
    out += v ? decode_to_json(t.params[i], *v) : "null";
  }
  out += udt ? '}' : ']';
  return out;
}
}  // namespace

std::string decode_to_json(const Type& t, std::string_view b) {
  std::string out;
  switch (t.id) {
    case TypeId::varchar:
    case TypeId::ascii: json::append_string(out, b); return out;
    case TypeId::bigint:
    case TypeId::counter:
    case TypeId::int_:
    case TypeId::smallint:
    case TypeId::tinyint:
    case TypeId::time: return std::to_string(be_int(b));
    case TypeId::varint: return varint_text(b);
    case TypeId::boolean: return !b.empty() && b[0] ? "true" : "false";
    case TypeId::float_: return float_json(b);
    case TypeId::double_: return double_json(b);
    case TypeId::decimal: return decimal_json(b);
    case TypeId::timestamp: return timestamp_json(b);
    case TypeId::date: {
      if (b.size() != 4) throw ProtocolError("bad date size");
      int64_t days = static_cast<int64_t>(static_cast<uint32_t>(be_int(b))) - (int64_t(1) << 31);
      return json::quote(calendar::format_date(days));
    }
    case TypeId::uuid:
    case TypeId::timeuuid: return uuid_json(b);
    case TypeId::inet: {
      char text[INET6_ADDRSTRLEN] = {};
      if (b.size() != 4 && b.size() != 16) throw ProtocolError("bad inet size");
      inet_ntop(b.size() == 4 ? AF_INET : AF_INET6, b.data(), text, sizeof text);
      return json::quote(text);
    }
    case TypeId::blob:
    case TypeId::custom:
    case TypeId::duration: return json::quote(base64(b));
    case TypeId::list:
    case TypeId::set:
    case TypeId::map: return collection_json(t, b);
    case TypeId::tuple:
    case TypeId::udt: return tuple_json(t, b);
  }
  return "null";
}

// ---- Murmur3 (Cassandra's variant: tail bytes are sign-extended) -------------
namespace {
inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint64_t fmix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}
inline uint64_t sx(const uint8_t* p, size_t i, int shift) {
  return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(p[i]))) << shift;
}
}  // namespace

int64_t murmur3_token(std::string_view key) {
  const auto* data = reinterpret_cast<const uint8_t*>(key.data());
  const size_t len = key.size();
  const size_t nblocks = len / 16;
  uint64_t h1 = 0, h2 = 0;
  const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
  for (size_t i = 0; i < nblocks; ++i) {
    uint64_t k1, k2;
    std::memcpy(&k1, data + i * 16, 8);  // little-endian host (x86_64, aarch64)
    std::memcpy(&k2, data + i * 16 + 8, 8);
    k1 *= c1; k1 = rotl(k1, 31); k1 *= c2; h1 ^= k1;
    h1 = rotl(h1, 27); h1 += h2; h1 = h1 * 5 + 0x52dce729;
    k2 *= c2; k2 = rotl(k2, 33); k2 *= c1; h2 ^= k2;
    h2 = rotl(h2, 31); h2 += h1; h2 = h2 * 5 + 0x38495ab5;
  }
  const uint8_t* tail = data + nblocks * 16;
  uint64_t k1 = 0, k2 = 0;
  switch (len & 15) {
    case 15: k2 ^= sx(tail, 14, 48); [[fallthrough]];
    case 14: k2 ^= sx(tail, 13, 40); [[fallthrough]];
    case 13: k2 ^= sx(tail, 12, 32); [[fallthrough]];
    case 12: k2 ^= sx(tail, 11, 24); [[fallthrough]];
    case 11: k2 ^= sx(tail, 10, 16); [[fallthrough]];
    case 10: k2 ^= sx(tail, 9, 8); [[fallthrough]];
    case 9:
      k2 ^= sx(tail, 8, 0);
      k2 *= c2; k2 = rotl(k2, 33); k2 *= c1; h2 ^= k2;
      [[fallthrough]];
    case 8: k1 ^= sx(tail, 7, 56); [[fallthrough]];
    case 7: k1 ^= sx(tail, 6, 48); [[fallthrough]];
    case 6: k1 ^= sx(tail, 5, 40); [[fallthrough]];
    case 5: k1 ^= sx(tail, 4, 32); [[fallthrough]];
    case 4: k1 ^= sx(tail, 3, 24); [[fallthrough]];
    case 3: k1 ^= sx(tail, 2, 16); [[fallthrough]];
    case 2: k1 ^= sx(tail, 1, 8); [[fallthrough]];
    case 1:
      k1 ^= sx(tail, 0, 0);
      k1 *= c1; k1 = rotl(k1, 31); k1 *= c2; h1 ^= k1;
  }
  h1 ^= len; h2 ^= len;
  h1 += h2; h2 += h1;
  h1 = fmix(h1); h2 = fmix(h2);
  h1 += h2;
  auto token = static_cast<int64_t>(h1);
  return token == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : token;
}

std::string routing_key(const std::vector<std::string_view>& components) {
  if (components.size() == 1) return std::string(components[0]);
  std::string k;
  for (auto c : components) {
    wire::u16(k, static_cast<uint16_t>(c.size()));
    k.append(c);
    k.push_back('\0');
  }
  return k;
}

}  // namespace pipekit::cql
