#pragma once
// A record as the cells of the schema's columns: what fits each column's type
// (a reject with a reason otherwise), and the text forms CSV and NDJSON write.
#include <simdjson.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipekit/rejects.hpp"
#include "pipekit/parquet/writer.hpp"
#include "pipekit/schema_columns.hpp"

namespace pipekit::fileload {

using jsonschema::ColumnKind;
using jsonschema::SchemaColumn;

struct Cell {
  bool null = true;
  std::string_view text;    // string, date-time, date and uuid: as in the record; json: minified
  int64_t integer = 0;      // integer; date-time: µs since the epoch (UTC); date: days since 1970-01-01
  double number = 0;
  bool boolean = false;
  parquet::Uuid uuid{};
};

// RFC 3339 date-time ("2026-11-30T12:00:00.5+01:00", 'T' or ' ', 'Z' or an
// offset) as microseconds since the epoch in UTC; digits past µs are dropped
// (toward the earlier instant). nullopt when it is not one.
std::optional<int64_t> parse_date_time_us(std::string_view text);
// "2026-11-30" as days since 1970-01-01.
std::optional<int32_t> parse_date_days(std::string_view text);

class RowBuilder {
 public:
  explicit RowBuilder(std::vector<SchemaColumn> columns);
  const std::vector<SchemaColumn>& columns() const { return columns_; }
  parquet::Schema parquet_schema() const;

  // Fills one cell per column from the record (an object). Returns the reason
  // the record does not fit, or an empty string. Cells point into the record's
  // document and into this builder: valid until the next build().
  std::string build(simdjson::dom::element record, std::vector<Cell>& cells);
  // After build() gave a reason: its reject code (missing_field,
  // number_out_of_range or bad_value).
  RejectCode last_code() const { return last_code_; }

 private:
  std::string fill(const SchemaColumn& col, simdjson::dom::element value, Cell& cell);
  std::vector<SchemaColumn> columns_;
  std::deque<std::string> scratch_;  // minified JSON of json cells
  RejectCode last_code_ = RejectCode::bad_value;
};

// One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or LF,
// or is empty (so an empty string differs from a null, written as nothing).
void append_csv_field(std::string& out, std::string_view text);
// A cell as CSV text, appended to out (nothing for null).
void append_csv_cell(std::string& out, ColumnKind kind, const Cell& cell);
// A cell as a JSON value, appended to out.
void append_json_cell(std::string& out, ColumnKind kind, const Cell& cell);

}  // namespace pipekit::fileload
