// Format assertions (--assert-formats), written from the RFCs the JSON Schema
// specification names: RFC 3339 (date-time, date, time, duration in its
// appendix A), RFC 4122 (uuid), RFC 3986 (uri, uri-reference), RFC 5321/6531
// (email, idn-email), RFC 1123 (hostname), RFC 2673/4291 (ipv4, ipv6),
// RFC 6901 (json-pointer) and ECMA-262 (regex, within std::regex's limits).
#include <cctype>
#include <regex>
#include <string>
#include <string_view>

#include "keywords.hpp"
#include "pipekit/jsonschema.hpp"

namespace pipekit::jsonschema {
namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }
struct HexTable {
  bool ok[256] = {};
  HexTable() {
    for (int c = 0; c < 256; ++c) ok[c] = digit(static_cast<char>(c)) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }
};
const HexTable kHex;
bool hex(char c) { return kHex.ok[static_cast<unsigned char>(c)]; }
bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Reads exactly n digits at s[i], advancing i.
bool num(std::string_view s, size_t& i, size_t n, int& out) {
  if (i + n > s.size()) return false;
  out = 0;
  for (size_t k = 0; k < n; ++k) {
    if (!digit(s[i + k])) return false;
    out = out * 10 + (s[i + k] - '0');
  }
  i += n;
  return true;
}

bool full_date(std::string_view s, size_t& i) {
  int y, m, d;
  if (!num(s, i, 4, y) || i >= s.size() || s[i++] != '-' || !num(s, i, 2, m) || i >= s.size() || s[i++] != '-' ||
      !num(s, i, 2, d))
    return false;
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int max = days[m - 1] + (m == 2 && leap ? 1 : 0);
  return d <= max;
}

// partial-time time-offset; a leap second (60) only where it is 23:59 UTC.
bool full_time(std::string_view s, size_t& i) {
  int h, m, sec;
  if (!num(s, i, 2, h) || i >= s.size() || s[i++] != ':' || !num(s, i, 2, m) || i >= s.size() || s[i++] != ':' ||
      !num(s, i, 2, sec))
    return false;
  if (h > 23 || m > 59 || sec > 60) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    while (i < s.size() && digit(s[i])) ++i;
    if (i == start) return false;
  }
  if (i >= s.size()) return false;
  int oh = 0, om = 0, sign = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    sign = s[i] == '+' ? 1 : -1;
    ++i;
    if (!num(s, i, 2, oh) || i >= s.size() || s[i++] != ':' || !num(s, i, 2, om)) return false;
    if (oh > 23 || om > 59) return false;
  } else {
    return false;
  }
  if (sec == 60) {
    int minutes = h * 60 + m - sign * (oh * 60 + om);
    minutes = ((minutes % 1440) + 1440) % 1440;
    if (minutes != 23 * 60 + 59) return false;
  }
  return true;
}

bool date_time(std::string_view s) {
  size_t i = 0;
  if (!full_date(s, i) || i >= s.size() || (s[i] != 'T' && s[i] != 't')) return false;
  ++i;
  return full_time(s, i) && i == s.size();
}

bool date(std::string_view s) {
  size_t i = 0;
  return full_date(s, i) && i == s.size();
}

bool time(std::string_view s) {
  size_t i = 0;
  return full_time(s, i) && i == s.size();
}

// RFC 3339 appendix A: P(nY)(nM)(nD)(T(nH)(nM)(nS)) in order, or PnW.
bool duration(std::string_view s) {
  if (s.size() < 2 || s[0] != 'P') return false;
  size_t i = 1;
  auto read = [&](std::string_view order, size_t& pos_in_order, bool& any) {
    while (i < s.size() && digit(s[i])) {
      size_t start = i;
      while (i < s.size() && digit(s[i])) ++i;
      if (i == start || i >= s.size()) return false;
      // components are contiguous: Y [M [D]] and H [M [S]]
      size_t at = order.find(s[i], pos_in_order);
      if (at == std::string_view::npos || (any && at != pos_in_order)) return false;
      pos_in_order = at + 1;
      ++i;
      any = true;
    }
    return true;
  };
  bool any_date = false, any_time = false;
  // a week stands alone
  size_t k = 1;
  while (k < s.size() && digit(s[k])) ++k;
  if (k > 1 && k + 1 == s.size() && s[k] == 'W') return true;
  size_t pos = 0;
  if (!read("YMD", pos, any_date)) return false;
  if (i < s.size() && s[i] == 'T') {
    ++i;
    pos = 0;
    if (!read("HMS", pos, any_time) || !any_time) return false;
  }
  return i == s.size() && (any_date || any_time);
}

bool uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!hex(s[i])) {
      return false;
    }
  }
  return true;
}

bool ipv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    int v = 0;
    while (i < s.size() && digit(s[i]) && i - start < 4) v = v * 10 + (s[i++] - '0');
    size_t len = i - start;
    if (len == 0 || len > 3 || v > 255 || (len > 1 && s[start] == '0')) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

bool ipv6(std::string_view s) {
  if (s.empty()) return false;
  int groups = 0;
  bool compressed = false;
  size_t i = 0;
  if (s.rfind("::", 0) == 0) {
    compressed = true;
    i = 2;
    if (i == s.size()) return true;
  } else if (s[0] == ':') {
    return false;
  }
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && hex(s[i]) && i - start < 5) ++i;
    size_t len = i - start;
    if (i < s.size() && s[i] == '.') {
      // trailing dotted IPv4 takes two groups
      if (!ipv4(s.substr(start))) return false;
      groups += 2;
      i = s.size();
      break;
    }
    if (len == 0 || len > 4) return false;
    ++groups;
    if (i == s.size()) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (compressed) return false;
      compressed = true;
      ++i;
      if (i == s.size()) break;
    } else if (i == s.size()) {
      return false;  // a single trailing colon
    }
  }
  return compressed ? groups < 8 : groups == 8;
}

bool hostname_label(std::string_view l) {
  if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') return false;
  for (char c : l)
    if (!(alpha(c) || digit(c) || c == '-')) return false;
  // "--" in the 3rd and 4th positions is reserved for A-labels (xn--).
  if (l.size() >= 4 && l[2] == '-' && l[3] == '-' && !((l[0] == 'x' || l[0] == 'X') && (l[1] == 'n' || l[1] == 'N')))
    return false;
  return true;
}

bool hostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!hostname_label(label)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// RFC 5322 atext (ASCII), as a table: this runs for every e-mail character.
struct AtextTable {
  bool ok[256] = {};
  AtextTable() {
    for (int c = 0; c < 128; ++c)
      ok[c] = alpha(static_cast<char>(c)) || digit(static_cast<char>(c)) ||
              std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) != std::string_view::npos;
  }
};
const AtextTable kAtext;

bool atext(unsigned char c, bool intl) { return kAtext.ok[c] || (intl && c >= 0x80); }

bool email(std::string_view s, bool intl) {
  size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size()) return false;
  std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.size() > 64) return false;
  if (local.front() == '"') {
    if (local.size() < 2 || local.back() != '"') return false;
    for (size_t i = 1; i + 1 < local.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(local[i]);
      if (c == '\\') {
        if (i + 2 >= local.size()) return false;
        ++i;
      } else if (c == '"' || c < 0x20 || c == 0x7F) {
        return false;
      }
    }
  } else {
    if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) return false;
    for (char c : local)
      if (c != '.' && !atext(static_cast<unsigned char>(c), intl)) return false;
  }
  if (domain.front() == '[') {
    if (domain.back() != ']') return false;
    std::string_view lit = domain.substr(1, domain.size() - 2);
    if (lit.rfind("IPv6:", 0) == 0) return ipv6(lit.substr(5));
    return ipv4(lit);
  }
  if (intl) {
    // International domains: labels of letters, digits, hyphens or non-ASCII.
    if (domain.front() == '.' || domain.back() == '.' || domain.find("..") != std::string_view::npos) return false;
    for (char c : domain)
      if (!(static_cast<unsigned char>(c) >= 0x80 || alpha(c) || digit(c) || c == '-' || c == '.')) return false;
    return true;
  }
  return hostname(domain);
}

// RFC 3986 character classes.
bool unreserved(char c) { return alpha(c) || digit(c) || c == '-' || c == '.' || c == '_' || c == '~'; }
bool sub_delim(char c) { return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos; }

// unreserved / sub-delims, and the four delimiters some parts also allow,
// as a table of bits: this runs for every URI character.
enum UriChar : unsigned char { kPlain = 1, kColon = 2, kAt = 4, kSlash = 8, kQuestion = 16 };
constexpr unsigned char kUserinfo = kColon, kPath = kColon | kAt | kSlash, kQuery = kPath | kQuestion;
struct UriTable {
  unsigned char bits[256] = {};
  UriTable() {
    for (int c = 0; c < 256; ++c)
      if (unreserved(static_cast<char>(c)) || sub_delim(static_cast<char>(c))) bits[c] = kPlain;
    bits[':'] = kColon;
    bits['@'] = kAt;
    bits['/'] = kSlash;
    bits['?'] = kQuestion;
  }
};
const UriTable kUriChars;

// Checks that s holds only unreserved, sub-delims, %XX, plus the delimiters
// in `extra` (UriChar bits).
bool chars_ok(std::string_view s, unsigned char extra, bool intl) {
  const unsigned char allowed = kPlain | extra;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (kUriChars.bits[c] & allowed) continue;
    if (c == '%') {
      if (i + 2 >= s.size()) return false;
      if (!hex(s[i + 1]) || !hex(s[i + 2])) return false;
      i += 2;
    } else if (!(intl && c >= 0x80)) {
      return false;
    }
  }
  return true;
}

bool authority_ok(std::string_view a, bool intl) {
  size_t at = a.rfind('@');
  if (at != std::string_view::npos) {
    if (!chars_ok(a.substr(0, at), kUserinfo, intl)) return false;
    a = a.substr(at + 1);
  }
  std::string_view host = a, port;
  if (!a.empty() && a[0] == '[') {
    size_t close = a.find(']');
    if (close == std::string_view::npos) return false;
    std::string_view lit = a.substr(1, close - 1);
    if (!(ipv6(lit) || (!lit.empty() && (lit[0] == 'v' || lit[0] == 'V')))) return false;
    std::string_view rest = a.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return false;
      port = rest.substr(1);
    }
    host = {};
  } else {
    size_t colon = a.rfind(':');
    if (colon != std::string_view::npos) {
      host = a.substr(0, colon);
      port = a.substr(colon + 1);
    }
  }
  for (char c : port)
    if (!digit(c)) return false;
  return chars_ok(host, 0, intl);
}

// URI-reference (or, with require_scheme, URI).
bool uri_ref(std::string_view s, bool require_scheme, bool intl) {
  size_t i = 0;
  bool has_scheme = false;
  size_t colon = s.find(':');
  size_t delim = 0;  // the first of "/?#" (find_first_of would run memchr per character)
  while (delim < s.size() && s[delim] != '/' && s[delim] != '?' && s[delim] != '#') ++delim;
  if (delim == s.size()) delim = std::string_view::npos;
  if (colon != std::string_view::npos && (delim == std::string_view::npos || colon < delim) && colon > 0 &&
      alpha(s[0])) {
    for (size_t k = 0; k < colon; ++k)
      if (!(alpha(s[k]) || digit(s[k]) || s[k] == '+' || s[k] == '-' || s[k] == '.')) return false;
    has_scheme = true;
    i = colon + 1;
  }
  if (require_scheme && !has_scheme) return false;
  std::string_view rest = s.substr(i);
  size_t hash = rest.find('#');
  std::string_view fragment;
  if (hash != std::string_view::npos) {
    fragment = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
    if (!chars_ok(fragment, kQuery, intl)) return false;
  }
  size_t q = rest.find('?');
  if (q != std::string_view::npos) {
    if (!chars_ok(rest.substr(q + 1), kQuery, intl)) return false;
    rest = rest.substr(0, q);
  }
  if (rest.rfind("//", 0) == 0) {
    size_t slash = rest.find('/', 2);
    std::string_view auth = rest.substr(2, slash == std::string_view::npos ? std::string_view::npos : slash - 2);
    if (!authority_ok(auth, intl)) return false;
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  } else if (!has_scheme) {
    // a relative path's first segment may not contain ':'
    size_t slash = rest.find('/');
    if (rest.substr(0, slash).find(':') != std::string_view::npos) return false;
  }
  return chars_ok(rest, kPath, intl);
}

bool json_pointer(std::string_view s) {
  if (s.empty()) return true;
  if (s[0] != '/') return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == '~' && (i + 1 >= s.size() || (s[i + 1] != '0' && s[i + 1] != '1'))) return false;
  return true;
}

bool relative_json_pointer(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && digit(s[i])) ++i;
  if (i == 0 || (i > 1 && s[0] == '0')) return false;
  std::string_view rest = s.substr(i);
  if (rest == "#") return true;
  if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) return false;
  return json_pointer(rest);
}

bool regex(std::string_view s) {
  // ECMA-262 (unicode mode) has no identity escapes of letters, e.g. \a:
  // only the letters that name an escape may follow a backslash.
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] != '\\') continue;
    char n = s[++i];
    if (alpha(n) && std::string_view("bBdDfknprsStuvwWxc").find(n) == std::string_view::npos) return false;
  }
  try {
    detail::Regex re{std::string(s)};  // the same engine and rewrites as "pattern"
    return true;
  } catch (const std::regex_error&) {
    return false;
  }
}

// RFC 6570 level 4: literals, and expressions {op varspec,varspec...} where a
// varspec is a varname with an optional :N (1..9999) prefix or * explode.
bool uri_template(std::string_view s) {
  size_t i = 0;
  auto varchar = [&](size_t& k) {
    if (k < s.size() && (alpha(s[k]) || digit(s[k]) || s[k] == '_')) {
      ++k;
      return true;
    }
    if (k + 2 < s.size() && s[k] == '%' && hex(s[k + 1]) && hex(s[k + 2])) {
      k += 3;
      return true;
    }
    return false;
  };
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '{') {
      ++i;
      if (i < s.size() && std::string_view("+#./;?&=,!@|").find(s[i]) != std::string_view::npos) ++i;
      while (true) {
        if (!varchar(i)) return false;
        while (i < s.size()) {
          if (s[i] == '.') {
            ++i;
            if (!varchar(i)) return false;
          } else if (!varchar(i)) {
            break;
          }
        }
        if (i < s.size() && s[i] == ':') {
          ++i;
          size_t start = i;
          while (i < s.size() && digit(s[i])) ++i;
          if (i == start || i - start > 4 || s[start] == '0') return false;
        } else if (i < s.size() && s[i] == '*') {
          ++i;
        }
        if (i < s.size() && s[i] == ',') {
          ++i;
          continue;
        }
        if (i < s.size() && s[i] == '}') {
          ++i;
          break;
        }
        return false;
      }
    } else if (c == '%') {
      if (i + 2 >= s.size() || !hex(s[i + 1]) || !hex(s[i + 2])) return false;
      i += 3;
    } else if (c <= 0x20 || c == 0x7F || std::string_view("\"<>\\^`|}").find(static_cast<char>(c)) != std::string_view::npos) {
      return false;
    } else {
      ++i;
    }
  }
  return true;
}

}  // namespace

namespace {
bool f_email(std::string_view v) { return email(v, false); }
bool f_idn_email(std::string_view v) { return email(v, true); }
bool f_uri(std::string_view v) { return uri_ref(v, true, false); }
bool f_uri_reference(std::string_view v) { return uri_ref(v, false, false); }
bool f_iri(std::string_view v) { return uri_ref(v, true, true); }
bool f_iri_reference(std::string_view v) { return uri_ref(v, false, true); }

const std::pair<std::string_view, FormatCheck> kFormats[] = {
    {"email", f_email}, {"idn-email", f_idn_email}, {"date-time", date_time}, {"date", date},
    {"time", time}, {"duration", duration}, {"uuid", uuid}, {"uri", f_uri},
    {"uri-reference", f_uri_reference}, {"iri", f_iri}, {"iri-reference", f_iri_reference}, {"ipv4", ipv4},
    {"ipv6", ipv6}, {"hostname", hostname}, {"regex", regex}, {"json-pointer", json_pointer},
    {"relative-json-pointer", relative_json_pointer}, {"uri-template", uri_template},
};
}  // namespace

FormatCheck format_checker(std::string_view f) {
  for (const auto& [name, fn] : kFormats)
    if (name == f) return fn;
  return nullptr;
}

bool known_format(std::string_view f) { return format_checker(f) != nullptr; }

bool check_format(std::string_view f, std::string_view v) {
  FormatCheck fn = format_checker(f);
  return fn ? fn(v) : true;
}

}  // namespace pipekit::jsonschema
