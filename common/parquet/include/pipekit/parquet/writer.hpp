#pragma once
// A self-contained Apache Parquet writer for flat (non-nested) tables.
//
//   pipekit::parquet::Schema schema{{"id", ColumnType::int64, false},
//                                   {"name", ColumnType::string}};
//   pipekit::parquet::Writer w("out.parquet", schema, {.codec = Codec::zstd});
//   w.append_row({int64_t{1}, "alice"});
//   w.append_row({int64_t{2}, nullptr});
//   uint64_t bytes = w.close();   // writes the footer
//
// File layout: data page v1, PLAIN or RLE_DICTIONARY (with a dictionary page,
// falling back to PLAIN when the dictionary outgrows its limit), definition
// levels in the RLE/bit-packed hybrid for nullable columns, per-page snappy or
// zstd, and column-chunk statistics (min/max in the type's sort order,
// null_count). Memory is bounded by one row group: a row group's encoded
// pages are held until the group is written, then freed.
//
// Not thread-safe; one Writer per output. Errors throw pipekit::parquet::Error.
#include <array>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace pipekit::parquet {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The column types, each with the Parquet physical type it is stored as.
enum class ColumnType {
  string,     // BYTE_ARRAY, logical STRING. UTF-8 is the caller's to ensure (not validated). Also JSON text.
  json,       // BYTE_ARRAY, logical JSON
  int32,      // INT32
  int64,      // INT64
  float64,    // DOUBLE
  boolean,    // BOOLEAN
  timestamp,  // INT64, logical TIMESTAMP(isAdjustedToUTC=true, MICROS): microseconds since the epoch
  date,       // INT32, logical DATE: days since 1970-01-01
  uuid,       // FIXED_LEN_BYTE_ARRAY(16), logical UUID: the 16 bytes, big-endian (RFC 4122 order)
};
const char* to_string(ColumnType type);

struct Column {
  std::string name;
  ColumnType type = ColumnType::string;
  bool nullable = true;  // OPTIONAL (with definition levels) or REQUIRED
};
using Schema = std::vector<Column>;

enum class Codec { none, snappy, zstd };

struct Options {
  Codec codec = Codec::snappy;
  int zstd_level = 3;
  // A row group is written when it has this many rows, or when its encoded
  // pages buffered in memory reach row_group_bytes, whichever comes first.
  int64_t row_group_rows = 1'000'000;
  int64_t row_group_bytes = 256LL << 20;
  // A data page is closed at about page_bytes of encoded (uncompressed) values, or page_rows rows.
  int64_t page_bytes = 1LL << 20;
  int64_t page_rows = 20'000;
  // Dictionary encoding for every column but booleans; a column chunk falls back to PLAIN
  // once its dictionary page would pass dictionary_page_bytes.
  bool dictionary = true;
  int64_t dictionary_page_bytes = 1LL << 20;
  // Early fallback for columns of (nearly) unique values (ids, e-mails): once a
  // column chunk has dictionary_sample_values values, it falls back to PLAIN if
  // more than dictionary_max_distinct of them were distinct. 0: never (only the
  // page size limit above).
  int64_t dictionary_sample_values = 0;
  double dictionary_max_distinct = 0.75;
  // min/max of a string/json column chunk are left out when either is longer than this.
  int64_t max_statistics_bytes = 4096;
  bool page_checksums = true;  // PageHeader.crc (CRC-32 of the page as stored)
  bool sync_on_close = false;  // fsync before close(); only when the Writer opened the file
  std::string created_by = "pipekit";
  std::vector<std::pair<std::string, std::string>> metadata = {};  // footer key/value metadata
};

using Uuid = std::array<uint8_t, 16>;
// "123e4567-e89b-12d3-a456-426614174000" or the same 32 hex digits without hyphens.
std::optional<Uuid> parse_uuid(std::string_view text);

// One cell: null, bool, an integer, a double, a string (not owned: it must stay
// valid until append_row returns) or a Uuid. Integers of any width are kept as
// int64 and range-checked against int32/date columns. A uuid column also takes
// the text form; a float64 column also takes an integer.
class Value {
 public:
  using Storage = std::variant<std::monostate, bool, int64_t, double, std::string_view, Uuid>;

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool v) : v_(v) {}
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  Value(T v) : v_(static_cast<int64_t>(v)) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(int64_t)) {
      if (v > static_cast<T>(INT64_MAX)) throw Error("parquet: unsigned value over the int64 range");
    }
  }
  Value(double v) : v_(v) {}
  Value(float v) : v_(static_cast<double>(v)) {}
  Value(std::string_view v) : v_(v) {}
  Value(const char* v) : v_(std::string_view(v)) {}
  Value(const std::string& v) : v_(std::string_view(v)) {}
  Value(const Uuid& v) : v_(v) {}

  bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
  const Storage& storage() const { return v_; }

 private:
  Storage v_;
};

class Writer {
 public:
  // Creates (truncates) the file at path; the Writer owns and closes the descriptor.
  Writer(const std::filesystem::path& path, Schema schema, Options options = {});
  // Writes to fd from its current position, which must be the start of the
  // output (an empty file, a pipe; blocking). The caller keeps ownership: fsync,
  // rename and close are the caller's. On a pipe whose reader left, write()
  // fails with EPIPE (an Error) only if SIGPIPE is ignored.
  Writer(int fd, Schema schema, Options options = {});
  // Without close() the footer is never written and the output is not a valid file.
  ~Writer();
  Writer(Writer&&) noexcept;
  Writer& operator=(Writer&&) noexcept;
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // One value per column, in schema order. The row is checked whole first:
  // on an error nothing of it is kept.
  void append_row(std::span<const Value> row);
  void append_row(std::initializer_list<Value> row) { append_row(std::span(row.begin(), row.size())); }

  // Writes the buffered rows as a row group (nothing if there are none).
  void flush_row_group();
  // Flushes, writes the footer; closes the file if the Writer opened it.
  // Returns the file's size. A second call only returns it again.
  uint64_t close();

  uint64_t bytes_written() const;   // so far, through the descriptor
  int64_t rows_written() const;     // rows appended so far (buffered ones included)
  int64_t row_groups_written() const;
  const Schema& schema() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pipekit::parquet
