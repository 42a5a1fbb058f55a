// Unit tests of the Parquet writer: the Thrift compact encoder and the
// RLE/bit-packing hybrid against hand-computed bytes, and round trips that
// write files and have tests/verify.py read them back with pyarrow and duckdb.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "../src/encoding.hpp"
#include "../src/metadata.hpp"
#include "../src/thrift_compact.hpp"
#include "pipekit/parquet/writer.hpp"

namespace fs = std::filesystem;
using namespace pipekit::parquet;
using Bytes = std::vector<uint8_t>;

namespace {

Bytes varint(uint64_t v) {
  Bytes out;
  thrift::put_varint(out, v);
  return out;
}

}  // namespace

// ---- Thrift compact protocol -------------------------------------------------

TEST(ThriftCompact, Varint) {
  EXPECT_EQ(varint(0), (Bytes{0x00}));
  EXPECT_EQ(varint(1), (Bytes{0x01}));
  EXPECT_EQ(varint(127), (Bytes{0x7F}));
  EXPECT_EQ(varint(128), (Bytes{0x80, 0x01}));
  EXPECT_EQ(varint(300), (Bytes{0xAC, 0x02}));
  EXPECT_EQ(varint(50399), (Bytes{0xDF, 0x89, 0x03}));  // the example of the compact protocol spec
  EXPECT_EQ(varint(0xFFFFFFFFu), (Bytes{0xFF, 0xFF, 0xFF, 0xFF, 0x0F}));
  EXPECT_EQ(varint(UINT64_MAX), (Bytes{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
}

TEST(ThriftCompact, Zigzag) {
  EXPECT_EQ(thrift::zigzag32(0), 0u);
  EXPECT_EQ(thrift::zigzag32(-1), 1u);
  EXPECT_EQ(thrift::zigzag32(1), 2u);
  EXPECT_EQ(thrift::zigzag32(-2), 3u);
  EXPECT_EQ(thrift::zigzag32(2), 4u);
  EXPECT_EQ(thrift::zigzag32(INT32_MAX), 0xFFFFFFFEu);
  EXPECT_EQ(thrift::zigzag32(INT32_MIN), 0xFFFFFFFFu);
  EXPECT_EQ(thrift::zigzag64(-3), 5u);
  EXPECT_EQ(thrift::zigzag64(INT64_MAX), 0xFFFFFFFFFFFFFFFEull);
  EXPECT_EQ(thrift::zigzag64(INT64_MIN), 0xFFFFFFFFFFFFFFFFull);
}

TEST(ThriftCompact, ScalarFields) {
  Bytes out;
  thrift::CompactWriter w(out);
  w.struct_begin();
  w.field_i32(1, 42);         // 0x15 = delta 1, type i32; zigzag 84
  w.field_i64(2, -1);         // 0x16 = delta 1, type i64; zigzag 1
  w.field_bool(3, true);      // 0x11: the value is the type nibble
  w.field_bool(4, false);     // 0x12
  w.field_binary(5, "ab");    // 0x18, length 2
  w.field_double(6, 1.0);     // 0x17, little-endian IEEE 754
  w.field_i16(7, -300);       // 0x14, zigzag 599 = 0xD7 0x04
  w.field_i8(8, -2);          // 0x13, one raw byte
  w.field_binary(9, "");      // 0x18, length 0
  w.struct_end();
  const Bytes want = {0x15, 0x54, 0x16, 0x01, 0x11, 0x12, 0x18, 0x02, 'a', 'b',
                      0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF0, 0x3F,
                      0x14, 0xD7, 0x04, 0x13, 0xFE, 0x18, 0x00, 0x00};
  EXPECT_EQ(out, want);
}

TEST(ThriftCompact, FieldIdDeltas) {
  Bytes out;
  thrift::CompactWriter w(out);
  w.struct_begin();
  w.field_i32(1, 1);     // short form, delta 1
  w.field_i32(16, 2);    // delta 15: still short
  w.field_i32(32, 3);    // delta 16: long form, type byte then zigzag i16 id (64)
  w.field_bool(3, true); // going back: long form
  w.field_i32(4, 0);     // delta 1 from 3
  w.struct_end();
  const Bytes want = {0x15, 0x02, 0xF5, 0x04, 0x05, 0x40, 0x06, 0x01, 0x06, 0x15, 0x00, 0x00};
  EXPECT_EQ(out, want);
}

TEST(ThriftCompact, Lists) {
  Bytes out;
  thrift::CompactWriter w(out);
  w.struct_begin();
  w.field_list_begin(1, thrift::CType::i32, 3);  // short header: size 3, type 5
  w.elem_i32(1);
  w.elem_i32(-1);
  w.elem_i32(2);
  w.field_list_begin(2, thrift::CType::binary, 0);  // empty
  w.field_list_begin(3, thrift::CType::i64, 15);    // long header: 0xF6 then varint 15
  for (int i = 0; i < 15; ++i) w.elem_i64(i);
  w.struct_end();
  Bytes want = {0x19, 0x35, 0x02, 0x01, 0x04, 0x19, 0x08, 0x19, 0xF6, 0x0F};
  for (int i = 0; i < 15; ++i) want.push_back(static_cast<uint8_t>(2 * i));
  want.push_back(0x00);
  EXPECT_EQ(out, want);
}

TEST(ThriftCompact, NestedStructsAndStructLists) {
  Bytes out;
  thrift::CompactWriter w(out);
  w.struct_begin();
  w.field_struct_begin(1);  // 0x1C
  w.field_i32(1, 5);        // ids restart at 0 inside: 0x15 0x0A
  w.field_empty_struct(9);  // delta 8: 0x8C 0x00
  w.struct_end();           // 0x00
  w.field_i32(2, 7);        // back in the outer struct, last id 1: 0x15 0x0E
  w.field_list_begin(3, thrift::CType::structure, 2);  // 0x19 0x2C
  for (int i = 0; i < 2; ++i) {
    w.struct_begin();
    w.field_binary(4, "x");  // 0x48 0x01 'x'
    w.struct_end();
  }
  w.field_i32(4, 1);  // after the list, delta from 3: 0x15 0x02
  w.struct_end();
  const Bytes want = {0x1C, 0x15, 0x0A, 0x8C, 0x00, 0x00, 0x15, 0x0E, 0x19, 0x2C, 0x48, 0x01, 'x', 0x00,
                      0x48, 0x01, 'x', 0x00, 0x15, 0x02, 0x00};
  EXPECT_EQ(out, want);
}

TEST(ThriftCompact, UnbalancedStructThrows) {
  Bytes out;
  thrift::CompactWriter w(out);
  EXPECT_THROW(w.struct_end(), Error);
}

TEST(ParquetMetadata, DataPageHeader) {
  detail::PageHeader h;
  h.type = detail::PageType::data_page;
  h.uncompressed_page_size = 100;
  h.compressed_page_size = 50;
  h.crc = 0xFFFFFFFFu;  // written as the i32 -1
  h.num_values = 10;
  h.encoding = detail::Encoding::rle_dictionary;
  Bytes out;
  detail::serialize(h, out);
  const Bytes want = {0x15, 0x00,        // 1: type DATA_PAGE
                      0x15, 0xC8, 0x01,  // 2: uncompressed_page_size 100
                      0x15, 0x64,        // 3: compressed_page_size 50
                      0x15, 0x01,        // 4: crc -1
                      0x1C,              // 5: data_page_header
                      0x15, 0x14,        //    num_values 10
                      0x15, 0x10,        //    encoding RLE_DICTIONARY (8)
                      0x15, 0x06,        //    definition_level_encoding RLE (3)
                      0x15, 0x06,        //    repetition_level_encoding RLE
                      0x00, 0x00};
  EXPECT_EQ(out, want);
}

TEST(ParquetMetadata, DictionaryPageHeader) {
  detail::PageHeader h;
  h.type = detail::PageType::dictionary_page;
  h.uncompressed_page_size = 8;
  h.compressed_page_size = 8;
  h.num_values = 2;
  h.encoding = detail::Encoding::plain;
  Bytes out;
  detail::serialize(h, out);
  const Bytes want = {0x15, 0x04, 0x15, 0x10, 0x15, 0x10,
                      0x4C,  // 7: dictionary_page_header, delta 4 from field 3
                      0x15, 0x04, 0x15, 0x00, 0x00, 0x00};
  EXPECT_EQ(out, want);
}

// ---- RLE / bit-packing hybrid -------------------------------------------------

namespace {

// An independent decoder, for round trips.
std::vector<uint32_t> rle_decode(const Bytes& in, int width, size_t count) {
  std::vector<uint32_t> out;
  size_t pos = 0;
  auto read_varint = [&]() {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      const uint8_t b = in.at(pos++);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
  };
  while (out.size() < count) {
    const uint64_t header = read_varint();
    if (header & 1) {
      const size_t n = (header >> 1) * 8;
      uint64_t bit = 0;
      for (size_t i = 0; i < n; ++i) {
        uint32_t v = 0;
        for (int b = 0; b < width; ++b, ++bit) {
          if (in.at(pos + bit / 8) >> (bit % 8) & 1) v |= 1u << b;
        }
        if (out.size() < count) out.push_back(v);
      }
      pos += (n * width + 7) / 8;
    } else {
      uint32_t v = 0;
      for (int i = 0; i < (width + 7) / 8; ++i) v |= static_cast<uint32_t>(in.at(pos++)) << (8 * i);
      out.insert(out.end(), header >> 1, v);
    }
  }
  EXPECT_EQ(pos, in.size()) << "trailing bytes";
  EXPECT_EQ(out.size(), count);
  return out;
}

Bytes rle(const std::vector<uint32_t>& v, int width) {
  Bytes out;
  detail::rle_hybrid_encode<uint32_t>(v, width, out);
  return out;
}

}  // namespace

TEST(RleHybrid, BitPackOrderFromSpec) {
  // Encodings.md: 0..7 with bit width 3 packs to 10001000 11000110 11111010.
  Bytes out;
  const std::vector<uint32_t> v = {0, 1, 2, 3, 4, 5, 6, 7};
  detail::bit_pack<uint32_t>(v, 3, out);
  EXPECT_EQ(out, (Bytes{0x88, 0xC6, 0xFA}));
  EXPECT_EQ(rle(v, 3), (Bytes{0x03, 0x88, 0xC6, 0xFA}));  // one group of 8: header (1 << 1) | 1
}

TEST(RleHybrid, RepeatedRun) {
  EXPECT_EQ(rle(std::vector<uint32_t>(100, 1), 1), (Bytes{0xC8, 0x01, 0x01}));  // header 100 << 1
  EXPECT_EQ(rle(std::vector<uint32_t>(8, 0xDEADBEEF), 32), (Bytes{0x10, 0xEF, 0xBE, 0xAD, 0xDE}));
  EXPECT_EQ(rle(std::vector<uint32_t>(9, 300), 9), (Bytes{0x12, 0x2C, 0x01}));  // value in 2 bytes
}

TEST(RleHybrid, ShortTailIsPadded) {
  EXPECT_EQ(rle({1, 1, 0}, 1), (Bytes{0x03, 0x03}));
  EXPECT_EQ(rle({1, 0, 1, 0, 1, 0, 1, 0}, 1), (Bytes{0x03, 0x55}));
  EXPECT_EQ(rle({}, 1), Bytes{});
}

TEST(RleHybrid, LiteralsBorrowFromRunToFillGroup) {
  // 3 literals take 5 values of the run of 13 to make a group of 8; 8 are left for an RLE run.
  std::vector<uint32_t> v = {0, 1, 2};
  v.insert(v.end(), 13, 3);
  EXPECT_EQ(rle(v, 2), (Bytes{0x03, 0xE4, 0xFF, 0x10, 0x03}));
  // With a run of 12 only 7 would be left: everything is bit-packed instead (2 groups).
  std::vector<uint32_t> w = {0, 1, 2};
  w.insert(w.end(), 12, 3);
  EXPECT_EQ(rle(w, 2), (Bytes{0x05, 0xE4, 0xFF, 0xFF, 0x3F}));
}

TEST(RleHybrid, RandomRoundTrips) {
  std::mt19937 rng(7);
  for (int width : {1, 2, 3, 5, 8, 13, 16, 20, 31, 32}) {
    for (int trial = 0; trial < 30; ++trial) {
      const size_t n = rng() % 500;
      std::vector<uint32_t> v;
      const uint32_t mask = width == 32 ? 0xFFFFFFFFu : (1u << width) - 1;
      while (v.size() < n) {
        const uint32_t x = rng() & mask;
        const size_t repeat = rng() % 3 == 0 ? rng() % 40 : 1;
        v.insert(v.end(), std::min(repeat, n - v.size()), x);
      }
      EXPECT_EQ(rle_decode(rle(v, width), width, v.size()), v) << "width " << width;
    }
  }
}

TEST(RleHybrid, BitWidth) {
  EXPECT_EQ(detail::bit_width(0), 0);
  EXPECT_EQ(detail::bit_width(1), 1);
  EXPECT_EQ(detail::bit_width(2), 2);
  EXPECT_EQ(detail::bit_width(255), 8);
  EXPECT_EQ(detail::bit_width(256), 9);
  EXPECT_EQ(detail::bit_width(0xFFFFFFFFu), 32);
}

// ---- API checks ---------------------------------------------------------------

TEST(Uuid, Parse) {
  const auto u = parse_uuid("123e4567-e89b-12d3-a456-426614174000");
  ASSERT_TRUE(u);
  EXPECT_EQ((*u)[0], 0x12);
  EXPECT_EQ((*u)[15], 0x00);
  EXPECT_EQ(parse_uuid("123e4567e89b12d3a456426614174000"), u);
  EXPECT_FALSE(parse_uuid("123e4567-e89b-12d3-a456-42661417400"));
  EXPECT_FALSE(parse_uuid("123e4567-e89b-12d3-a456_426614174000"));
  EXPECT_FALSE(parse_uuid("g23e4567-e89b-12d3-a456-426614174000"));
}

namespace {

struct TempDir {
  fs::path path;
  bool keep = false;
  TempDir() {
    path = fs::temp_directory_path() / ("pipekit_parquet_test_" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() {
    if (!keep && !::testing::Test::HasFailure() && std::getenv("PIPEKIT_PARQUET_KEEP") == nullptr) fs::remove_all(path);
  }
};

}  // namespace

TEST(Writer, RejectsBadRowsWhole) {
  TempDir dir;
  const Schema schema{{"id", ColumnType::int64, false}, {"small", ColumnType::int32}, {"u", ColumnType::uuid}};
  Writer w(dir.path / "bad.parquet", schema);
  EXPECT_THROW(w.append_row({1}), Error);                                    // arity
  EXPECT_THROW(w.append_row({nullptr, 1, nullptr}), Error);                  // null in a required column
  EXPECT_THROW(w.append_row({1, "x", nullptr}), Error);                      // type
  EXPECT_THROW(w.append_row({1, int64_t{1} << 31, nullptr}), Error);         // int32 range
  EXPECT_THROW(w.append_row({1, 1, "not-a-uuid"}), Error);                   // uuid text
  EXPECT_THROW(w.append_row({1.5, 1, nullptr}), Error);                      // double for int64
  EXPECT_THROW(w.append_row({UINT64_MAX, 1, nullptr}), Error);               // over int64
  EXPECT_EQ(w.rows_written(), 0);
  w.append_row({1, INT32_MIN, "123e4567-e89b-12d3-a456-426614174000"});
  EXPECT_EQ(w.rows_written(), 1);
  const uint64_t size = w.close();
  EXPECT_EQ(size, fs::file_size(dir.path / "bad.parquet"));
  EXPECT_EQ(w.close(), size);
  EXPECT_THROW(w.append_row({2, 2, nullptr}), Error);
}

TEST(Writer, BadSchemaAndOptions) {
  TempDir dir;
  EXPECT_THROW(Writer(dir.path / "a.parquet", Schema{}), Error);
  EXPECT_THROW(Writer(dir.path / "a.parquet", Schema{{"a", ColumnType::int32}, {"a", ColumnType::int64}}), Error);
  EXPECT_THROW(Writer(dir.path / "a.parquet", Schema{{"", ColumnType::int32}}), Error);
  EXPECT_THROW(Writer(dir.path / "a.parquet", Schema{{"a", ColumnType::int32}}, Options{.row_group_rows = 0}), Error);
  EXPECT_THROW(Writer(dir.path / "no/such/dir/a.parquet", Schema{{"a", ColumnType::int32}}), Error);
}

TEST(Writer, FileLayout) {
  TempDir dir;
  const fs::path file = dir.path / "layout.parquet";
  Writer w(file, Schema{{"a", ColumnType::int32, false}}, Options{.codec = Codec::none});
  EXPECT_EQ(w.bytes_written(), 4u);  // "PAR1"
  w.append_row({7});
  w.flush_row_group();
  w.flush_row_group();  // no rows: no row group
  EXPECT_EQ(w.row_groups_written(), 1);
  const uint64_t size = w.close();
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(bytes.size(), size);
  EXPECT_EQ(bytes.substr(0, 4), "PAR1");
  EXPECT_EQ(bytes.substr(bytes.size() - 4), "PAR1");
  uint32_t footer = 0;
  std::memcpy(&footer, bytes.data() + bytes.size() - 8, 4);
  EXPECT_LT(footer, size - 12);
  EXPECT_NE(bytes.find("pipekit"), std::string::npos);
}

// ---- round trips through pyarrow and duckdb --------------------------------------

namespace {

using Cell = std::variant<std::monostate, bool, int64_t, double, std::string, Uuid>;
using Row = std::vector<Cell>;

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;  // UTF-8 passes through
    }
  }
  return out + "\"";
}

std::string uuid_text(const Uuid& u) {
  std::string s;
  char buf[3];
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    std::snprintf(buf, sizeof buf, "%02x", u[i]);
    s += buf;
  }
  return s;
}

std::string json_double(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";  // keeps -0.0 a float
  return s;
}

std::string json_cell(const Cell& c) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) return "null";
        else if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
        else if constexpr (std::is_same_v<T, int64_t>) return std::to_string(v);
        else if constexpr (std::is_same_v<T, double>) return json_double(v);
        else if constexpr (std::is_same_v<T, std::string>) return json_string(v);
        else return json_string(uuid_text(v));
      },
      c);
}

const char* codec_name(Codec c) {
  switch (c) {
    case Codec::none: return "UNCOMPRESSED";
    case Codec::snappy: return "SNAPPY";
    case Codec::zstd: return "ZSTD";
  }
  return "?";
}

Value to_value(const Cell& c) {
  return std::visit(
      [](const auto& v) -> Value {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) return Value();
        else if constexpr (std::is_same_v<T, std::string>) return Value(std::string_view(v));
        else return Value(v);
      },
      c);
}

// Writes rows to NAME.parquet and the expectation to NAME.ndjson, then runs verify.py.
struct RoundTrip {
  Schema schema;
  Options options;
  std::vector<Row> rows;
  std::optional<int64_t> expect_row_groups;
  std::vector<std::string> expect_fallback;  // columns that must fall back from dictionary to PLAIN
  bool use_fd = false;

  void run(const TempDir& dir, const std::string& name) const {
    const fs::path parquet = dir.path / (name + ".parquet");
    const fs::path ndjson = dir.path / (name + ".ndjson");
    uint64_t size = 0;
    if (use_fd) {
      const int fd = ::open(parquet.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ASSERT_GE(fd, 0);
      {
        Writer w(fd, schema, options);
        for (const auto& r : rows) append(w, r);
        size = w.close();
      }
      ASSERT_EQ(::fsync(fd), 0);  // the descriptor is still the caller's
      ASSERT_EQ(::close(fd), 0);
    } else {
      Writer w(parquet, schema, options);
      for (const auto& r : rows) append(w, r);
      EXPECT_EQ(w.rows_written(), static_cast<int64_t>(rows.size()));
      size = w.close();
      if (expect_row_groups) {
        EXPECT_EQ(w.row_groups_written(), *expect_row_groups);
      }
    }
    EXPECT_EQ(size, fs::file_size(parquet));

    write_expected(ndjson);
    verify(parquet, ndjson);
  }

  void write_expected(const fs::path& ndjson) const {
    std::ofstream out(ndjson, std::ios::binary);
    out << "{\"schema\":[";
    for (size_t i = 0; i < schema.size(); ++i) {
      out << (i ? "," : "") << "{\"name\":" << json_string(schema[i].name) << ",\"type\":\""
          << to_string(schema[i].type) << "\",\"nullable\":" << (schema[i].nullable ? "true" : "false") << "}";
    }
    out << "],\"codec\":\"" << codec_name(options.codec) << "\",\"dictionary\":"
        << (options.dictionary ? "true" : "false") << ",\"max_statistics_bytes\":" << options.max_statistics_bytes;
    if (expect_row_groups) out << ",\"row_groups\":" << *expect_row_groups;
    out << ",\"fallback\":[";
    for (size_t i = 0; i < expect_fallback.size(); ++i) out << (i ? "," : "") << json_string(expect_fallback[i]);
    out << "]";
    out << "}\n";
    for (const auto& r : rows) {
      out << "[";
      for (size_t i = 0; i < r.size(); ++i) out << (i ? "," : "") << json_cell(r[i]);
      out << "]\n";
    }
    out.close();
  }

  // Verifies bytes that were written elsewhere (e.g. through a pipe) as this test's file.
  void check_received(const TempDir& dir, const std::string& name, const std::string& bytes) const {
    std::ofstream(dir.path / (name + ".parquet"), std::ios::binary) << bytes;
    write_expected(dir.path / (name + ".ndjson"));
    verify(dir.path / (name + ".parquet"), dir.path / (name + ".ndjson"));
  }

  static void append(Writer& w, const Row& r) {
    std::vector<Value> values;
    for (const auto& c : r) values.push_back(to_value(c));
    w.append_row(values);
  }

  static void verify(const fs::path& parquet, const fs::path& ndjson) {
    // pyarrow and DuckDB live in the build tree's venv (scripts/setup); without them the proof is missing: fail.
    const fs::path here = fs::path(PIPEKIT_SOURCE_DIR) / "common/parquet/tests";
    std::string python = std::string(PIPEKIT_BINARY_DIR) + "/venv/bin/python";
    if (const char* env = std::getenv("PIPEKIT_PARQUET_PYTHON")) python = env;
    ASSERT_EQ(::access(python.c_str(), X_OK), 0)
        << "no Python with pyarrow and duckdb at " << python << ": run scripts/setup (it creates build/venv)";
    const fs::path log = parquet.string() + ".log";
    const std::string cmd = "'" + python + "' '" + (here / "verify.py").string() + "' '" + parquet.string() +
                            "' '" + ndjson.string() + "' > '" + log.string() + "' 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(rc, 0) << text.str();
    std::printf("%s", text.str().c_str());
  }
};

Uuid uuid_of(uint64_t hi, uint64_t lo) {
  Uuid u{};
  for (int i = 0; i < 8; ++i) {
    u[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    u[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  return u;
}

const Schema kAllTypes = {
    {"id", ColumnType::int64, false},
    {"name", ColumnType::string},
    {"payload", ColumnType::json},
    {"json_text", ColumnType::string},
    {"i32", ColumnType::int32},
    {"i64", ColumnType::int64},
    {"score", ColumnType::float64},
    {"flag", ColumnType::boolean},
    {"created", ColumnType::timestamp},
    {"born", ColumnType::date},
    {"uid", ColumnType::uuid},
    {"req_name", ColumnType::string, false},
    {"req_flag", ColumnType::boolean, false},
    {"req_ts", ColumnType::timestamp, false},
};

// Edge cases first, then pseudo-random rows (low-cardinality strings for the dictionary).
std::vector<Row> all_types_rows(size_t n, uint32_t seed) {
  const std::vector<std::string> strings = {
      "", "a", "A", "Z", "zz", "héllo", "日本語テキスト", "emoji 🎉🚀", "e\u0301 combining", "tab\there",
      "new\nline", "quote \" and \\ backslash", "\x7f", "ÿ", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", " leading space"};
  const std::vector<int64_t> i32s = {INT32_MIN, INT32_MAX, -1, 0, 1, INT32_MIN + 1, INT32_MAX - 1};
  const std::vector<int64_t> i64s = {INT64_MIN, INT64_MAX, -1, 0, 1, INT64_MIN + 1, INT64_MAX - 1};
  const std::vector<double> doubles = {
      0.0, -0.0, 1.5, -1.5, std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(),
      std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(), std::nan(""), 0.1, 1e-300, -1e300};
  const std::vector<int64_t> timestamps = {
      0, -1, 1, -86'400'000'000LL, -62'135'596'800'000'000LL /* 0001-01-01 */,
      253'402'300'799'999'999LL /* 9999-12-31 23:59:59.999999 */, 1'700'000'000'123'456LL,
      -2'208'988'800'000'000LL /* 1900-01-01 */};
  const std::vector<int64_t> dates = {0, -1, 1, -719'162 /* 0001-01-01 */, 2'932'896 /* 9999-12-31 */,
                                      -25'567 /* 1900-01-01 */, 19'000};
  const std::vector<Uuid> uuids = {uuid_of(0, 0), uuid_of(~0ull, ~0ull), uuid_of(0x123e4567e89b12d3ull, 0xa456426614174000ull),
                                   uuid_of(0x8000000000000000ull, 0), uuid_of(0x7fffffffffffffffull, ~0ull)};
  std::mt19937_64 rng(seed);
  std::vector<Row> rows;
  for (size_t k = 0; k < n; ++k) {
    const bool edge = k < 40;
    auto pick = [&](const auto& v) { return v[edge ? k % v.size() : rng() % v.size()]; };
    auto maybe_null = [&](Cell c) -> Cell { return (!edge && rng() % 7 == 0) || (edge && k % 11 == 10) ? Cell{} : c; };
    Row r;
    r.push_back(static_cast<int64_t>(k));
    r.push_back(maybe_null(edge || rng() % 3 ? Cell{pick(strings)} : Cell{"user_" + std::to_string(rng() % 100000)}));
    r.push_back(maybe_null(Cell{"{\"k\":" + std::to_string(rng() % 50) + ",\"s\":\"é\"}"}));
    r.push_back(maybe_null(Cell{"[1,2,{\"a\":null}]"}));
    r.push_back(maybe_null(edge || rng() % 2 ? Cell{pick(i32s)} : Cell{static_cast<int64_t>(static_cast<int32_t>(rng()))}));
    r.push_back(maybe_null(edge || rng() % 2 ? Cell{pick(i64s)} : Cell{static_cast<int64_t>(rng())}));
    r.push_back(maybe_null(edge || rng() % 2 ? Cell{pick(doubles)} : Cell{static_cast<double>(rng() % 1000000) / 7.0 - 50000}));
    r.push_back(maybe_null(Cell{rng() % 2 == 0}));
    r.push_back(maybe_null(edge || rng() % 2 ? Cell{pick(timestamps)}
                                             : Cell{static_cast<int64_t>(rng() % 4'000'000'000'000'000ULL) - 2'000'000'000'000'000LL}));
    r.push_back(maybe_null(edge || rng() % 2 ? Cell{pick(dates)} : Cell{static_cast<int64_t>(rng() % 60000) - 30000}));
    r.push_back(maybe_null(edge || rng() % 2 ? Cell{pick(uuids)} : Cell{uuid_of(rng(), rng())}));
    r.push_back(Cell{pick(strings)});
    r.push_back(Cell{k % 3 == 0});
    r.push_back(Cell{pick(timestamps)});
    rows.push_back(std::move(r));
  }
  return rows;
}

struct CodecCase {
  Codec codec;
  bool dictionary;
};

class RoundTripAll : public ::testing::TestWithParam<CodecCase> {};

}  // namespace

TEST_P(RoundTripAll, AllTypesManyRowGroupsAndPages) {
  TempDir dir;
  RoundTrip t;
  t.schema = kAllTypes;
  t.options.codec = GetParam().codec;
  t.options.dictionary = GetParam().dictionary;
  t.options.row_group_rows = 1000;
  t.options.page_rows = 128;      // several pages per chunk
  t.options.page_bytes = 2000;    // and some closed by size
  t.rows = all_types_rows(2500, 1);
  t.expect_row_groups = 3;
  t.run(dir, "all_types");
}

TEST_P(RoundTripAll, DefaultOptionsOneRowGroup) {
  TempDir dir;
  RoundTrip t;
  t.schema = kAllTypes;
  t.options.codec = GetParam().codec;
  t.options.dictionary = GetParam().dictionary;
  t.rows = all_types_rows(25000, 2);  // two pages a column chunk (page_rows 20,000)
  t.expect_row_groups = 1;
  t.run(dir, "defaults");
}

INSTANTIATE_TEST_SUITE_P(Codecs, RoundTripAll,
                         ::testing::Values(CodecCase{Codec::none, false}, CodecCase{Codec::none, true},
                                           CodecCase{Codec::snappy, false}, CodecCase{Codec::snappy, true},
                                           CodecCase{Codec::zstd, false}, CodecCase{Codec::zstd, true}),
                         [](const auto& info) {
                           return std::string(codec_name(info.param.codec)) +
                                  (info.param.dictionary ? "_dict" : "_plain");
                         });

TEST(RoundTrip, DictionaryFallsBackToPlain) {
  TempDir dir;
  RoundTrip t;
  t.schema = {{"s", ColumnType::string}, {"n", ColumnType::int64, false}, {"u", ColumnType::uuid}};
  t.options.dictionary_page_bytes = 4096;  // passed after a few hundred distinct values
  t.options.row_group_rows = 3000;
  t.options.page_rows = 500;
  std::mt19937_64 rng(3);
  for (int k = 0; k < 7000; ++k) {
    const bool repeat = k < 200;  // starts dictionary-friendly
    t.rows.push_back({k % 13 == 0 ? Cell{} : Cell{"value-" + std::to_string(repeat ? k % 5 : rng() % 1000000)},
                      Cell{static_cast<int64_t>(repeat ? k % 3 : rng())}, Cell{uuid_of(rng(), rng())}});
  }
  t.expect_row_groups = 3;
  t.expect_fallback = {"s", "n", "u"};
  t.run(dir, "fallback");
}

TEST(RoundTrip, MostlyDistinctColumnsFallBackEarly) {
  TempDir dir;
  RoundTrip t;
  t.schema = {{"id", ColumnType::string, false}, {"nat", ColumnType::string}, {"n", ColumnType::int64}};
  t.options.dictionary_sample_values = 1000;  // ids are all distinct by then; nat has 6 values, n 50
  t.options.row_group_rows = 4000;
  t.options.page_rows = 700;
  for (int k = 0; k < 9000; ++k)
    t.rows.push_back({Cell{"user-" + std::to_string(k)}, k % 17 == 0 ? Cell{} : Cell{std::string(1, char('A' + k % 6))},
                      Cell{static_cast<int64_t>(k % 50)}});
  t.expect_row_groups = 3;
  t.expect_fallback = {"id"};
  t.run(dir, "early_fallback");
}

TEST(RoundTrip, NullsNaNsAndEmptyStrings) {
  TempDir dir;
  for (const bool dictionary : {true, false}) {
    RoundTrip t;
    t.schema = {{"all_null_s", ColumnType::string}, {"all_null_i", ColumnType::int32},
                {"all_nan", ColumnType::float64},   {"empty", ColumnType::string},
                {"zeros", ColumnType::float64},     {"all_null_b", ColumnType::boolean},
                {"all_null_u", ColumnType::uuid}};
    t.options.dictionary = dictionary;
    t.options.row_group_rows = 100;
    for (int k = 0; k < 250; ++k) {
      t.rows.push_back({Cell{}, Cell{}, k % 4 == 0 ? Cell{} : Cell{std::nan("")},
                        k % 2 ? Cell{std::string()} : Cell{}, Cell{k % 2 ? 0.0 : -0.0}, Cell{}, Cell{}});
    }
    t.expect_row_groups = 3;
    t.run(dir, dictionary ? "nulls_dict" : "nulls_plain");
  }
}

TEST(RoundTrip, LongStringsHaveNoMinMax) {
  TempDir dir;
  RoundTrip t;
  t.schema = {{"s", ColumnType::string, false}};
  t.options.max_statistics_bytes = 100;
  t.options.row_group_rows = 3;
  t.rows = {{Cell{std::string(50, 'a')}}, {Cell{std::string(200, 'b')}}, {Cell{std::string(10, 'c')}},
            {Cell{std::string(20, 'x')}}, {Cell{std::string(100, 'y')}}, {Cell{std::string()}},
            {Cell{std::string(100000, 'z')}}};
  t.expect_row_groups = 3;
  t.run(dir, "long_strings");
}

TEST(RoundTrip, EmptyFile) {
  TempDir dir;
  RoundTrip t;
  t.schema = kAllTypes;
  t.expect_row_groups = 0;
  t.run(dir, "empty");
}

TEST(RoundTrip, ThroughCallersDescriptor) {
  TempDir dir;
  RoundTrip t;
  t.schema = kAllTypes;
  t.options.codec = Codec::zstd;
  t.options.row_group_rows = 400;
  t.use_fd = true;
  t.rows = all_types_rows(1000, 4);
  t.run(dir, "fd");
}

TEST(RoundTrip, RowGroupsCutByBytes) {
  TempDir dir;
  RoundTrip t;
  t.schema = {{"id", ColumnType::int64, false}, {"s", ColumnType::string}};
  t.options.row_group_bytes = 64 * 1024;
  t.options.dictionary = false;
  for (int k = 0; k < 5000; ++k) t.rows.push_back({Cell{int64_t{k}}, Cell{std::string(40, 'a' + k % 26)}});
  t.expect_row_groups = 4;  // ~48 bytes a row: a group every ~1365 rows
  t.run(dir, "by_bytes");
}

TEST(RoundTrip, ThroughAPipe) {
  // The CLI case: parquet to stdout. Offsets count from the first byte written.
  TempDir dir;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string received;
  std::thread reader([&] {
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) received.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
  });
  RoundTrip t;
  t.schema = kAllTypes;
  t.options.row_group_rows = 300;
  t.rows = all_types_rows(1000, 5);
  uint64_t size = 0;
  {
    Writer w(fds[1], t.schema, t.options);
    for (const auto& r : t.rows) RoundTrip::append(w, r);
    size = w.close();
  }
  ::close(fds[1]);
  reader.join();
  ASSERT_EQ(received.size(), size);
  // Hand the received bytes to the verifier as a file.
  t.expect_row_groups = 4;
  t.check_received(dir, "pipe", received);
}
