// The keyword checks that run on the hot path, over simdjson elements.
#include "keywords.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cctype>
#include <cstring>
#include <locale>
#include <map>
#include <optional>

#include "pipekit/signals.hpp"

namespace pipekit::jsonschema::detail {

std::string escape_token(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::string Ctx::instance_location() const {
  std::string s;
  for (const auto& p : path) {
    s += '/';
    s += p;
  }
  return s;
}

void Ctx::fail(const Kw& kw, std::string message) {
  if (errors) errors->push_back({instance_location(), kw.location, kw.keyword, std::move(message)});
}

void Ctx::fail_at(std::string location, std::string keyword, std::string message) {
  if (errors) errors->push_back({instance_location(), std::move(location), std::move(keyword), std::move(message)});
}

bool Node::check_full(dom::element e, Ctx& c, Ann* a) const {
  if (bool_value >= 0) {
    if (bool_value) {
      // `true` evaluates everything it is applied to (for unevaluated*).
      return true;
    }
    c.fail_at(location, "false", "no value is allowed here (the schema is false)");
    return false;
  }
  if (c.depth >= kMaxDepth) {
    c.fail_at(location, "$ref", "schema recursion deeper than 2000 levels: a reference cycle?");
    return false;
  }
  struct Depth {
    int& d;
    explicit Depth(int& x) : d(x) { ++d; }
    ~Depth() { --d; }
  } depth_guard(c.depth);
  bool pushed = false;
  if (c.dynamic && (c.scope.empty() || c.scope.back() != res)) {
    c.scope.push_back(res);
    pushed = true;
  }
  std::optional<Ann> local;  // only a schema with unevaluated* collects its own
  if (has_uneval) local.emplace();
  Ann* use = has_uneval ? &*local : a;
  bool ok = true;
  for (const auto& k : kws) {
    if (!k->check(e, c, use)) {
      ok = false;
      if (!c.errors) break;
    }
  }
  if (pushed) c.scope.pop_back();
  if (ok && has_uneval && a) a->merge(*local);
  return ok;
}

// No scope to keep, no annotations of its own, no messages: what most nodes
// of most schemas are when valid() runs.
bool Node::check_fast(dom::element e, Ctx& c, Ann* a) const {
  if (c.depth >= kMaxDepth) return false;
  if (ref_only) {
    ++c.depth;
    bool ok = ref_only->check(e, c, a);
    --c.depth;
    return ok;
  }
  if (type_mask != ~0u && !(type_bits(e) & type_mask)) return false;
  ++c.depth;
  bool ok = true;
  for (const Kw* k : fast_kws)
    if (!k->check(e, c, a)) {
      ok = false;
      break;
    }
  --c.depth;
  return ok;
}

// --- Regex -----------------------------------------------------------------

namespace {
// Decodes UTF-8 into code points; invalid bytes become U+FFFD.
void widen(std::string_view s, std::wstring& out) {
  out.clear();
  out.reserve(s.size());
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out.push_back(static_cast<wchar_t>(c));
      ++i;
      continue;
    }
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (len == 0 || i + static_cast<size_t>(len) > n) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    uint32_t cp = c & (0x7F >> len);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(static_cast<wchar_t>(cp));
    i += len;
  }
}
}  // namespace

namespace {
// The BMP's Unicode decimal digits (general category Nd) as character-class
// ranges: each script's digits are ten consecutive code points from these starts.
std::wstring decimal_digit_ranges() {
  static const unsigned kZeros[] = {
      0x30,   0x660,  0x6F0,  0x7C0,  0x966,  0x9E6,  0xA66,  0xAE6,  0xB66,  0xBE6,  0xC66,
      0xCE6,  0xD66,  0xDE6,  0xE50,  0xED0,  0xF20,  0x1040, 0x1090, 0x17E0, 0x1810, 0x1946,
      0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0,
      0xA9F0, 0xAA50, 0xABF0, 0xFF10};
  std::wstring ranges;
  for (unsigned z : kZeros) {
    ranges += static_cast<wchar_t>(z);
    ranges += L'-';
    ranges += static_cast<wchar_t>(z + 9);
  }
  return ranges;
}

// The '(' at in[i], outside a class: a named group (?<name> becomes a plain
// '(' and its name is recorded; any other capturing group records "".
// Returns the index of the last character consumed.
size_t translate_group_open(const std::wstring& in, size_t i, std::vector<std::wstring>& group_names,
                            std::wstring& out) {
  if (i + 2 < in.size() && in[i + 1] == L'?' && in[i + 2] == L'<' && i + 3 < in.size() && in[i + 3] != L'=' &&
      in[i + 3] != L'!') {
    size_t close = in.find(L'>', i + 3);
    if (close == std::wstring::npos) throw std::regex_error(std::regex_constants::error_paren);
    group_names.push_back(in.substr(i + 3, close - i - 3));
    out += L'(';
    return close;
  }
  if (i + 1 >= in.size() || in[i + 1] != L'?') group_names.emplace_back();
  out += in[i];
  return i;
}

// \k<name> at in[i]: the named group's number. Returns the index of its '>'.
size_t translate_named_backref(const std::wstring& in, size_t i, const std::vector<std::wstring>& group_names,
                               std::wstring& out) {
  size_t close = in.find(L'>', i + 3);
  if (close == std::wstring::npos) throw std::regex_error(std::regex_constants::error_backref);
  std::wstring name = in.substr(i + 3, close - i - 3);
  auto it = std::find(group_names.begin(), group_names.end(), name);
  if (name.empty() || it == group_names.end()) throw std::regex_error(std::regex_constants::error_backref);
  out += L'\\' + std::to_wstring(it - group_names.begin() + 1);
  return close;
}

// \p{...} or \P{...} at in[i]: letters become a POSIX class (sets used),
// decimal digits explicit ranges; any other property is an error. Returns
// the index of its '}'.
size_t translate_property_escape(const std::wstring& in, size_t i, bool in_class, std::wstring& out, bool& used) {
  size_t close = in.find(L'}', i + 3);
  if (close == std::wstring::npos) throw std::regex_error(std::regex_constants::error_brace);
  std::wstring name = in.substr(i + 3, close - i - 3);
  const wchar_t* cls = nullptr;
  if (name == L"L" || name == L"Letter") cls = L"alpha";
  else if (name == L"Lu" || name == L"Uppercase_Letter") cls = L"upper";
  else if (name == L"Ll" || name == L"Lowercase_Letter") cls = L"lower";
  bool negated = in[i + 1] == L'P';
  if (!cls && (name == L"Nd" || name == L"digit" || name == L"Decimal_Number")) {
    std::wstring ranges = decimal_digit_ranges();
    if (in_class) {
      if (negated) throw std::regex_error(std::regex_constants::error_ctype);
      out += ranges;
    } else {
      out += (negated ? L"[^" : L"[") + ranges + L"]";
    }
    return close;
  }
  if (!cls) throw std::regex_error(std::regex_constants::error_ctype);
  if (in_class) {
    if (negated) throw std::regex_error(std::regex_constants::error_ctype);
    out += std::wstring(L"[:") + cls + L":]";
  } else {
    out += std::wstring(negated ? L"[^[:" : L"[[:") + cls + L":]]";
  }
  used = true;
  return close;
}

// Rewrites what std::regex lacks from ECMA-262 into what it has:
// \p{...}/\P{...} for letters become POSIX classes that a UTF-8 locale
// evaluates with glibc's Unicode tables (other properties are a compile
// error); \s/\S become the explicit Unicode whitespace class; \cX becomes
// \xHH. Returns whether a property escape was used.
bool translate_properties(const std::wstring& in, std::wstring& out) {
  bool used = false, in_class = false;
  out.clear();
  // Named groups (ES2018): (?<name>...) becomes a plain group and \k<name>
  // its number, counting capturing groups as they open.
  std::vector<std::wstring> group_names;  // index i: group i + 1 ("" when unnamed)
  for (size_t i = 0; i < in.size(); ++i) {
    wchar_t c = in[i];
    if (!in_class && c == L'(') {
      i = translate_group_open(in, i, group_names, out);
      continue;
    }
    if (c == L'\\' && i + 2 < in.size() && in[i + 1] == L'k' && in[i + 2] == L'<') {
      i = translate_named_backref(in, i, group_names, out);
      continue;
    }
    if (c == L'\\' && i + 2 < in.size() && (in[i + 1] == L'p' || in[i + 1] == L'P') && in[i + 2] == L'{') {
      i = translate_property_escape(in, i, in_class, out, used);
    } else if (c == L'\\' && i + 1 < in.size() && (in[i + 1] == L's' || (in[i + 1] == L'S' && !in_class))) {
      // ECMA-262 \s is Unicode whitespace; std::regex's is ASCII only
      static const std::wstring kSpace =
          L"\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff";
      if (in_class) out += kSpace;
      else out += (in[i + 1] == L'S' ? L"[^" : L"[") + kSpace + L"]";
      ++i;
    } else if (c == L'\\' && i + 2 < in.size() && in[i + 1] == L'c' &&
               ((in[i + 2] >= L'a' && in[i + 2] <= L'z') || (in[i + 2] >= L'A' && in[i + 2] <= L'Z'))) {
      // \cX: the control character X % 32 (std::regex lacks it)
      wchar_t ctl = static_cast<wchar_t>(in[i + 2] % 32);
      out += L"\\x";
      out += L"0123456789abcdef"[ctl >> 4];
      out += L"0123456789abcdef"[ctl & 15];
      i += 2;
    } else if (c == L'\\' && i + 1 < in.size()) {
      out += c;
      out += in[++i];
    } else {
      if (c == L'[' && !in_class) in_class = true;
      else if (c == L']' && in_class) in_class = false;
      out += c;
    }
  }
  return used;
}
}  // namespace

namespace {

// ECMA-262 (u flag) into RE2 syntax, on UTF-8. What differs: named groups
// (?<n>...) are (?P<n>...); \s is Unicode whitespace (RE2's is ASCII); '.'
// stops at every line terminator; \uXXXX, \u{X} and \cX are \x{...}; the long
// property names become RE2's short ones. Whatever RE2 then refuses is left
// to the backtracking engine, as is what this rewrite does not know (nullopt).
std::optional<std::string> to_re2(const std::string& in) {
  static const std::string kSpace = "\\t\\n\\v\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}";
  static const std::map<std::string, std::string> kProperties = {
      {"L", "L"},   {"Letter", "L"},   {"Lu", "Lu"}, {"Uppercase_Letter", "Lu"}, {"Ll", "Ll"},
      {"Lowercase_Letter", "Ll"},      {"Nd", "Nd"}, {"digit", "Nd"},           {"Decimal_Number", "Nd"}};
  auto hex = [](std::string_view s) {
    return !s.empty() && s.size() <= 6 && s.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
  };
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '\\' && i + 1 < in.size()) {
      char n = in[i + 1];
      if (n == 's' || (n == 'S' && !in_class)) {
        out += in_class ? kSpace : (n == 'S' ? "[^" : "[") + kSpace + "]";
        ++i;
      } else if ((n == 'p' || n == 'P') && i + 2 < in.size() && in[i + 2] == '{') {
        size_t close = in.find('}', i + 3);
        auto it = close == std::string::npos ? kProperties.end() : kProperties.find(in.substr(i + 3, close - i - 3));
        if (it == kProperties.end()) return std::nullopt;
        out += std::string("\\") + n + "{" + it->second + "}";
        i = close;
      } else if (n == 'u' && i + 2 < in.size() && in[i + 2] == '{') {
        size_t close = in.find('}', i + 3);
        if (close == std::string::npos || !hex(std::string_view(in).substr(i + 3, close - i - 3))) return std::nullopt;
        out += "\\x{" + in.substr(i + 3, close - i - 3) + "}";
        i = close;
      } else if (n == 'u' && i + 5 < in.size() && hex(std::string_view(in).substr(i + 2, 4))) {
        out += "\\x{" + in.substr(i + 2, 4) + "}";
        i += 5;
      } else if (n == 'c' && i + 2 < in.size() && std::isalpha(static_cast<unsigned char>(in[i + 2]))) {
        out += fmt::format("\\x{{{:02x}}}", in[i + 2] % 32);
        i += 2;
      } else {
        out += c;
        out += n;
        ++i;
      }
    } else if (!in_class && c == '(' && in.compare(i, 3, "(?<") == 0 && i + 3 < in.size() && in[i + 3] != '=' &&
               in[i + 3] != '!') {
      out += "(?P<";
      i += 2;
    } else if (!in_class && c == '.') {
      out += "[^\\n\\r\\x{2028}\\x{2029}]";
    } else {
      if (c == '[' && !in_class) {
        in_class = true;
        // ECMA's [] and [^] (nothing, anything) read differently in RE2.
        if (in.compare(i + 1, 1, "]") == 0 || in.compare(i + 1, 2, "^]") == 0) return std::nullopt;
      } else if (c == '[' && in_class && in.compare(i + 1, 1, ":") == 0) {
        return std::nullopt;  // [[:alpha:]] is a POSIX class to RE2, literal characters to ECMA
      } else if (c == ']' && in_class) {
        in_class = false;
      }
      out += c;
    }
  }
  return out;
}

std::wregex backtracking_regex(const std::string& pattern) {
  std::wstring w, translated;
  widen(pattern, w);
  std::wregex re;
  if (translate_properties(w, translated)) {
    // Only here: a UTF-8 locale would also widen \w and \d beyond ASCII.
    try {
      re.imbue(std::locale("C.UTF-8"));
    } catch (const std::runtime_error&) {
      throw std::regex_error(std::regex_constants::error_ctype);
    }
  }
  re.assign(translated, std::regex::ECMAScript);
  return re;
}

}  // namespace

Regex::Regex(const std::string& pattern) : source(pattern) {
  // The ECMA grammar is checked by std::regex's compiler either way (it is
  // linear in the pattern); matching is where backtracking explodes.
  std::wregex checked = backtracking_regex(pattern);
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(8 << 20);  // per pattern: bounds the DFA cache
  if (auto rewritten = to_re2(pattern)) {
    auto re = std::make_shared<const re2::RE2>(*rewritten, options);
    if (re->ok()) {
      linear = std::move(re);
      return;
    }
  }
  backtracking = std::move(checked);
}

namespace {

// The backtracking matcher's position, counted: every move costs a step, and
// past the budget (or on a stop signal, checked every few thousand steps)
// the match is abandoned by an exception, so no record can stall the tool.
class CountedPosition {
 public:
  using iterator_category = std::bidirectional_iterator_tag;
  using value_type = wchar_t;
  using difference_type = std::ptrdiff_t;
  using pointer = const wchar_t*;
  using reference = const wchar_t&;

  CountedPosition() = default;
  CountedPosition(std::wstring::const_iterator at, uint64_t* steps_left) : at_(at), steps_left_(steps_left) {}
  reference operator*() const { return *at_; }
  pointer operator->() const { return &*at_; }
  CountedPosition& operator++() {
    step();
    ++at_;
    return *this;
  }
  CountedPosition operator++(int) {
    CountedPosition before = *this;
    ++*this;
    return before;
  }
  CountedPosition& operator--() {
    step();
    --at_;
    return *this;
  }
  CountedPosition operator--(int) {
    CountedPosition before = *this;
    --*this;
    return before;
  }
  bool operator==(const CountedPosition& o) const { return at_ == o.at_; }

 private:
  void step() {
    if (!steps_left_ || (--*steps_left_ & 0xFFF) != 0) return;
    if (*steps_left_ == 0)
      throw MatchAborted(fmt::format("pattern matching gave up after {} steps (the pattern needs backtracking)",
                                     kBacktrackingSteps));
    if (stop_requested()) throw MatchAborted("pattern matching interrupted by a stop signal");
  }
  std::wstring::const_iterator at_;
  uint64_t* steps_left_ = nullptr;
};

}  // namespace

bool Regex::search(std::string_view s, std::wstring& buf) const {
  if (linear) return RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *linear);
  widen(s, buf);
  uint64_t steps_left = kBacktrackingSteps;
  std::match_results<CountedPosition> m;
  return std::regex_search(CountedPosition(buf.cbegin(), &steps_left), CountedPosition(buf.cend(), &steps_left), m,
                           backtracking);
}

// Code points = bytes - continuation bytes (10xxxxxx), counted eight bytes
// at a time: a byte is one when its bit 7 is set and its bit 6 is not.
size_t utf8_length(std::string_view s) {
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  size_t continuation = 0, i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    uint64_t marks = (w & ~(w << 1) & kHigh) >> 7;                   // 1 in each continuation byte
    continuation += static_cast<size_t>((marks * 0x0101010101010101ull) >> 56);  // their sum, in the top byte
  }
  for (; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++continuation;
  return s.size() - continuation;
}

// --- Equality ----------------------------------------------------------------

namespace {
bool number_of(dom::element e, long double& out) {
  switch (e.type()) {
    case dom::element_type::INT64: out = static_cast<long double>(int64_t(e)); return true;
    case dom::element_type::UINT64: out = static_cast<long double>(uint64_t(e)); return true;
    case dom::element_type::DOUBLE: out = static_cast<long double>(double(e)); return true;
    default: return false;
  }
}
bool number_of(const nlohmann::json& j, long double& out) {
  if (j.is_number_unsigned()) out = static_cast<long double>(j.get<uint64_t>());
  else if (j.is_number_integer()) out = static_cast<long double>(j.get<int64_t>());
  else if (j.is_number_float()) out = static_cast<long double>(j.get<double>());
  else return false;
  return true;
}
}  // namespace

bool equal(dom::element a, const nlohmann::json& b) {
  long double x, y;
  if (number_of(a, x)) return number_of(b, y) && x == y;
  switch (a.type()) {
    case dom::element_type::NULL_VALUE: return b.is_null();
    case dom::element_type::BOOL: return b.is_boolean() && bool(a) == b.get<bool>();
    case dom::element_type::STRING:
      return b.is_string() && std::string_view(a) == b.get_ref<const std::string&>();
    case dom::element_type::ARRAY: {
      if (!b.is_array()) return false;
      dom::array arr = a;
      size_t i = 0;
      for (auto v : arr) {
        if (i >= b.size() || !equal(v, b[i])) return false;
        ++i;
      }
      return i == b.size();
    }
    case dom::element_type::OBJECT: {
      if (!b.is_object()) return false;
      dom::object obj = a;
      size_t n = 0;
      for (auto [k, v] : obj) {
        auto it = b.find(std::string(k));
        if (it == b.end() || !equal(v, *it)) return false;
        ++n;
      }
      return n == b.size();
    }
    default: return false;
  }
}

bool equal(dom::element a, dom::element b) {
  long double x, y;
  if (number_of(a, x)) return number_of(b, y) && x == y;
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case dom::element_type::NULL_VALUE: return true;
    case dom::element_type::BOOL: return bool(a) == bool(b);
    case dom::element_type::STRING: return std::string_view(a) == std::string_view(b);
    case dom::element_type::ARRAY: {
      dom::array x1 = a, y1 = b;
      auto i = x1.begin(), j = y1.begin();
      for (; i != x1.end() && j != y1.end(); ++i, ++j)
        if (!equal(*i, *j)) return false;
      return i == x1.end() && j == y1.end();
    }
    case dom::element_type::OBJECT: {
      dom::object x1 = a, y1 = b;
      size_t n = 0, m = 0;
      for (auto [k, v] : x1) {
        auto other = y1.at_key(k);
        if (other.error() || !equal(v, other.value())) return false;
        ++n;
      }
      for ([[maybe_unused]] auto kv : y1) ++m;
      return n == m;
    }
    default: return false;
  }
}

}  // namespace pipekit::jsonschema::detail
