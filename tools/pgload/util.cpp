// pgload's small, pure pieces: table names, option parsing, COPY text escaping.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <map>

#include "pipekit/errors.hpp"
#include "engine.hpp"

namespace pipekit::pgload {

std::string TableName::quoted() const {
  return schema.empty() ? quote_ident(name) : quote_ident(schema) + "." + quote_ident(name);
}

std::string TableName::display() const { return schema.empty() ? name : schema + "." + name; }

Mode parse_mode(const std::string& m) {
  if (m == "insert") return Mode::insert;
  if (m == "upsert") return Mode::upsert;
  if (m == "ignore") return Mode::ignore;
  throw UsageError("--mode: expected insert, upsert or ignore, not '" + m + "'");
}

namespace {

// One identifier at s[i]: "quoted" (with "" escapes) or plain up to a dot.
std::string take_ident(const std::string& s, size_t& i, const std::string& spec) {
  std::string out;
  if (i < s.size() && s[i] == '"') {
    ++i;
    for (;;) {
      if (i >= s.size()) throw UsageError("--table: unterminated quote in '" + spec + "'");
      if (s[i] == '"') {
        if (i + 1 < s.size() && s[i + 1] == '"') {
          out += '"';
          i += 2;
          continue;
        }
        ++i;
        break;
      }
      out += s[i++];
    }
  } else {
    while (i < s.size() && s[i] != '.') out += s[i++];
  }
  return out;
}

}  // namespace

TableName parse_table_name(const std::string& spec) {
  size_t i = 0;
  std::string first = take_ident(spec, i, spec);
  TableName t;
  if (i == spec.size()) {
    t.name = first;
  } else {
    if (spec[i] != '.') throw UsageError("--table: expected '.' after a quoted name in '" + spec + "'");
    ++i;
    t.schema = first;
    if (t.schema.empty()) throw UsageError("--table: empty schema name in '" + spec + "'");
    t.name = take_ident(spec, i, spec);
    if (i != spec.size()) throw UsageError("--table: too many dots in '" + spec + "' (quote names holding a dot)");
  }
  if (t.name.empty()) throw UsageError("--table: empty table name in '" + spec + "'");
  if (t.name.size() > 63 || t.schema.size() > 63)
    throw UsageError("--table: names are at most 63 bytes in PostgreSQL: '" + spec + "'");
  return t;
}

std::string canonical_type(const std::string& type) {
  std::string t;
  for (char c : type) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::map<std::string, std::string> types = {
      {"text", "text"},
      {"bigint", "bigint"},
      {"int8", "bigint"},
      {"integer", "integer"},
      {"int", "integer"},
      {"int4", "integer"},
      {"double precision", "double precision"},
      {"double", "double precision"},
      {"float8", "double precision"},
      {"numeric", "numeric"},
      {"boolean", "boolean"},
      {"bool", "boolean"},
      {"timestamptz", "timestamptz"},
      {"timestamp", "timestamptz"},
      {"date", "date"},
      {"uuid", "uuid"},
      {"jsonb", "jsonb"},
      {"json", "jsonb"},
  };
  auto it = types.find(t);
  if (it == types.end())
    throw UsageError("unknown column type '" + type +
                     "' (use text, bigint, integer, double precision, numeric, boolean, timestamptz, date, uuid "
                     "or jsonb)");
  return it->second;
}

MapSpec parse_map(const std::string& spec) {
  auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
    throw UsageError("--map: expected column=path, e.g. city=location.city or kafka_offset=@offset: '" + spec + "'");
  MapSpec m;
  m.column = spec.substr(0, eq);
  std::string rest = spec.substr(eq + 1);
  if (auto cast = rest.rfind("::"); cast != std::string::npos) {
    m.type = canonical_type(rest.substr(cast + 2));
    rest = rest.substr(0, cast);
  }
  if (rest.empty()) throw UsageError("--map: empty path in '" + spec + "'");
  if (rest[0] == '@') {
    m.env = parse_envelope_field(rest);
  } else {
    m.path = rest;
  }
  return m;
}

std::vector<std::string> split_columns(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string col = list.substr(start, comma - start);
    if (col.empty()) throw UsageError("empty column name in '" + list + "'");
    out.push_back(col);
    start = comma + 1;
  }
  return out;
}

void append_copy_escaped(std::string& out, std::string_view s) {
  // Fast path: copy runs of ordinary bytes at once; one table load per byte
  // tells the four that need escaping from the rest.
  static constexpr auto special = [] {
    std::array<bool, 256> t{};
    for (unsigned char c : {'\\', '\t', '\n', '\r'}) t[c] = true;
    return t;
  }();
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (!special[static_cast<unsigned char>(c)]) continue;
    const char* esc = nullptr;
    switch (c) {
      case '\\': esc = "\\\\"; break;
      case '\t': esc = "\\t"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      default: continue;
    }
    out.append(s.data() + run, i - run);
    out.append(esc);
    run = i + 1;
  }
  out.append(s.data() + run, s.size() - run);
}

std::string iso_utc_from_ms(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  int milli = static_cast<int>(ms - static_cast<int64_t>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, milli);
}

}  // namespace pipekit::pgload
