#include "row.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "pipekit/calendar.hpp"
#include "pipekit/json.hpp"

namespace pipekit::fileload {

namespace {

bool digits(std::string_view s, size_t at, size_t n, int& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// "YYYY-MM-DD" at the start of text.
std::optional<int64_t> date_prefix(std::string_view s) {
  int y, m, d;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, m) || s[7] != '-' ||
      !digits(s, 8, 2, d))
    return std::nullopt;
  if (m < 1 || m > 12 || d < 1 || static_cast<unsigned>(d) > calendar::days_in_month(y, m)) return std::nullopt;
  return calendar::days_from_civil(y, m, d);
}

const char* json_type_name(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  switch (t) {
    case T::ARRAY: return "an array";
    case T::OBJECT: return "an object";
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE: return "a number";
    case T::STRING: return "a string";
    case T::BOOL: return "a boolean";
    case T::NULL_VALUE: return "null";
  }
  return "?";
}

}  // namespace

std::optional<int32_t> parse_date_days(std::string_view text) {
  if (text.size() != 10) return std::nullopt;
  auto d = date_prefix(text);
  if (!d) return std::nullopt;
  return static_cast<int32_t>(*d);
}

std::optional<int64_t> parse_date_time_us(std::string_view s) {
  auto days = date_prefix(s);
  if (!days || s.size() < 20) return std::nullopt;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  int hh, mm, ss;
  if (!digits(s, 11, 2, hh) || s[13] != ':' || !digits(s, 14, 2, mm) || s[16] != ':' || !digits(s, 17, 2, ss))
    return std::nullopt;
  if (hh > 23 || mm > 59 || ss > 60) return std::nullopt;  // 60: a leap second, read as :59 + 1 s
  size_t at = 19;
  int64_t micros = 0;
  if (at < s.size() && s[at] == '.') {
    ++at;
    size_t start = at;
    int64_t scale = 100000;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      if (scale > 0) micros += (s[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == start) return std::nullopt;
  }
  if (at >= s.size()) return std::nullopt;  // RFC 3339 requires the offset
  int64_t offset_s = 0;
  if (s[at] == 'Z' || s[at] == 'z') {
    ++at;
  } else if (s[at] == '+' || s[at] == '-') {
    int oh, om;
    if (!digits(s, at + 1, 2, oh) || at + 3 >= s.size() || s[at + 3] != ':' || !digits(s, at + 4, 2, om) ||
        oh > 23 || om > 59)
      return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (s[at] == '-' ? -1 : 1);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != s.size()) return std::nullopt;
  int64_t seconds = *days * 86400 + hh * 3600 + mm * 60 + ss - offset_s;
  return seconds * 1'000'000 + micros;
}

RowBuilder::RowBuilder(std::vector<SchemaColumn> columns) : columns_(std::move(columns)) {}

parquet::Schema RowBuilder::parquet_schema() const {
  parquet::Schema schema;
  for (const auto& c : columns_) {
    parquet::ColumnType t = parquet::ColumnType::string;
    switch (c.kind) {
      case ColumnKind::string: t = parquet::ColumnType::string; break;
      case ColumnKind::integer: t = c.int32 ? parquet::ColumnType::int32 : parquet::ColumnType::int64; break;
      case ColumnKind::number: t = parquet::ColumnType::float64; break;
      case ColumnKind::boolean: t = parquet::ColumnType::boolean; break;
      case ColumnKind::date_time: t = parquet::ColumnType::timestamp; break;
      case ColumnKind::date: t = parquet::ColumnType::date; break;
      case ColumnKind::uuid: t = parquet::ColumnType::uuid; break;
      case ColumnKind::json: t = parquet::ColumnType::json; break;
    }
    schema.push_back({c.name, t, !c.required});
  }
  return schema;
}

std::string RowBuilder::build(simdjson::dom::element record, std::vector<Cell>& cells) {
  scratch_.clear();
  cells.assign(columns_.size(), Cell{});
  for (size_t i = 0; i < columns_.size(); ++i) {
    const SchemaColumn& col = columns_[i];
    simdjson::dom::element at = record;
    bool found = true;
    for (const auto& part : col.path) {
      simdjson::dom::object obj;
      if (at.get_object().get(obj) || obj.at_key(part).get(at)) {
        found = false;
        break;
      }
    }
    if (!found || at.is_null()) {
      if (col.required) {
        last_code_ = RejectCode::missing_field;
        return fmt::format("'{}' is required and {}", col.name, found ? "null" : "missing");
      }
      continue;
    }
    last_code_ = RejectCode::bad_value;
    std::string reason = fill(col, at, cells[i]);
    if (!reason.empty()) return reason;
  }
  return {};
}

std::string RowBuilder::fill(const SchemaColumn& col, simdjson::dom::element v, Cell& cell) {
  using T = simdjson::dom::element_type;
  auto expected = [&](const char* what) {
    return fmt::format("'{}' should be {}, not {}", col.name, what, json_type_name(v.type()));
  };
  cell.null = false;
  switch (col.kind) {
    case ColumnKind::string:
      if (v.type() != T::STRING) return expected("a string");
      cell.text = v.get_string().value_unsafe();
      return {};
    case ColumnKind::json:
      cell.text = scratch_.emplace_back(simdjson::minify(v));
      return {};
    case ColumnKind::integer: {
      int64_t n = 0;
      if (v.type() == T::INT64) {
        n = v.get_int64().value_unsafe();
      } else if (v.type() == T::DOUBLE) {  // 1.0 is an integer in JSON Schema
        double d = v.get_double().value_unsafe();
        if (d != std::floor(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
          return fmt::format("'{}' should be an integer, not {}", col.name, d);
        n = static_cast<int64_t>(d);
      } else if (v.type() == T::UINT64) {
        last_code_ = RejectCode::number_out_of_range;
        return fmt::format("'{}' is out of the 64-bit integer range", col.name);
      } else {
        return expected("an integer");
      }
      if (col.int32 && (n < INT32_MIN || n > INT32_MAX)) {
        last_code_ = RejectCode::number_out_of_range;
        return fmt::format("'{}' is out of the 32-bit integer range the schema gives", col.name);
      }
      cell.integer = n;
      return {};
    }
    case ColumnKind::number:
      if (v.type() == T::INT64) cell.number = static_cast<double>(v.get_int64().value_unsafe());
      else if (v.type() == T::UINT64) cell.number = static_cast<double>(v.get_uint64().value_unsafe());
      else if (v.type() == T::DOUBLE) cell.number = v.get_double().value_unsafe();
      else return expected("a number");
      return {};
    case ColumnKind::boolean:
      if (v.type() != T::BOOL) return expected("a boolean");
      cell.boolean = v.get_bool().value_unsafe();
      return {};
    case ColumnKind::date_time: {
      if (v.type() != T::STRING) return expected("a date-time string");
      cell.text = v.get_string().value_unsafe();
      auto us = parse_date_time_us(cell.text);
      if (!us) return fmt::format("'{}' is not an RFC 3339 date-time", col.name);
      cell.integer = *us;
      return {};
    }
    case ColumnKind::date: {
      if (v.type() != T::STRING) return expected("a date string");
      cell.text = v.get_string().value_unsafe();
      auto days = parse_date_days(cell.text);
      if (!days) return fmt::format("'{}' is not a date (YYYY-MM-DD)", col.name);
      cell.integer = *days;
      return {};
    }
    case ColumnKind::uuid: {
      if (v.type() != T::STRING) return expected("a uuid string");
      cell.text = v.get_string().value_unsafe();
      auto u = parquet::parse_uuid(cell.text);
      if (!u) return fmt::format("'{}' is not a uuid", col.name);
      cell.uuid = *u;
      return {};
    }
  }
  return {};
}

void append_csv_field(std::string& out, std::string_view text) {
  bool quote = text.empty() || text.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) {
    out.append(text);
    return;
  }
  out.push_back('"');
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

void append_csv_cell(std::string& out, ColumnKind kind, const Cell& cell) {
  if (cell.null) return;
  switch (kind) {
    case ColumnKind::integer: fmt::format_to(std::back_inserter(out), "{}", cell.integer); return;
    case ColumnKind::number: fmt::format_to(std::back_inserter(out), "{}", cell.number); return;
    case ColumnKind::boolean: out.append(cell.boolean ? "true" : "false"); return;
    default: append_csv_field(out, cell.text); return;
  }
}

void append_json_cell(std::string& out, ColumnKind kind, const Cell& cell) {
  if (cell.null) {
    out.append("null");
    return;
  }
  switch (kind) {
    case ColumnKind::integer: fmt::format_to(std::back_inserter(out), "{}", cell.integer); return;
    case ColumnKind::number:
      if (std::isfinite(cell.number)) fmt::format_to(std::back_inserter(out), "{}", cell.number);
      else out.append("null");
      return;
    case ColumnKind::boolean: out.append(cell.boolean ? "true" : "false"); return;
    case ColumnKind::json: out.append(cell.text); return;
    default: json::append_string(out, cell.text); return;
  }
}

}  // namespace pipekit::fileload
