// ksub: parsing of -o and --format, kept apart from I/O so they can be tested.
#include <algorithm>
#include <cctype>

#include "pipekit/errors.hpp"
#include "engine.hpp"

namespace pipekit::ksub {
namespace {

int64_t to_int64(const std::string& s, const std::string& what) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    throw UsageError("-o " + what + ": not a number");
  try {
    return std::stoll(s);
  } catch (const std::exception&) {
    throw UsageError("-o " + what + ": out of range");
  }
}

}  // namespace

StartOffset parse_offset(const std::string& spec) {
  StartOffset o;
  if (spec == "beginning") o.kind = StartOffset::beginning;
  else if (spec == "end") o.kind = StartOffset::end;
  else if (spec == "stored") o.kind = StartOffset::stored;
  else if (!spec.empty() && spec[0] == '@') {
    o.kind = StartOffset::timestamp;
    o.value = to_int64(spec.substr(1), spec);
  } else if (!spec.empty() && spec[0] == '-') {
    o.kind = StartOffset::tail;
    o.value = to_int64(spec.substr(1), spec);
  } else if (!spec.empty() && std::isdigit(static_cast<unsigned char>(spec[0]))) {
    o.kind = StartOffset::absolute;
    o.value = to_int64(spec, spec);
  } else {
    throw UsageError("-o '" + spec + "': expected beginning, end, stored, N, -N or @TIMESTAMP_MS");
  }
  return o;
}

std::vector<FormatPiece> parse_format(const std::string& spec) {
  std::vector<FormatPiece> out;
  auto literal = [&](char c) {
    if (out.empty() || out.back().token != 0) out.push_back({});
    out.back().literal.push_back(c);
  };
  for (size_t i = 0; i < spec.size(); ++i) {
    char c = spec[i];
    if (c == '\\' && i + 1 < spec.size()) {
      char e = spec[++i];
      switch (e) {
        case 'n': literal('\n'); break;
        case 't': literal('\t'); break;
        case 'r': literal('\r'); break;
        case '\\': literal('\\'); break;
        default: literal('\\'); literal(e);
      }
    } else if (c == '%') {
      if (i + 1 >= spec.size()) throw UsageError("--format ends with a lone %");
      char t = spec[++i];
      if (t == '%') {
        literal('%');
      } else if (std::string_view("tpokKsSTh").find(t) != std::string_view::npos) {
        out.push_back({t, {}});
      } else {
        throw UsageError(std::string("--format: unknown token %") + t +
                         " (known: %t %p %o %k %K %s %S %T %h %%)");
      }
    } else {
      literal(c);
    }
  }
  return out;
}

}  // namespace pipekit::ksub
