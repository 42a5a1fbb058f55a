#pragma once
// The parts of parquet.thrift this writer fills in, and their serialization
// with the compact protocol. Field ids are those of parquet.thrift.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pipekit/parquet/writer.hpp"
#include "thrift_compact.hpp"

namespace pipekit::parquet::detail {

enum class PhysicalType : int32_t {
  boolean = 0,
  int32 = 1,
  int64 = 2,
  float64 = 5,  // DOUBLE
  byte_array = 6,
  fixed_len_byte_array = 7,
};

enum class Encoding : int32_t { plain = 0, rle = 3, rle_dictionary = 8 };

enum class PageType : int32_t { data_page = 0, dictionary_page = 2 };

PhysicalType physical_type(ColumnType type);

struct Statistics {
  int64_t null_count = 0;
  std::optional<std::string> min_value;  // PLAIN-encoded, byte arrays without length prefix
  std::optional<std::string> max_value;
  bool legacy_min_max = false;           // also the deprecated min/max (signed-order types)
  std::optional<int64_t> nan_count;      // floating point only
};

struct PageHeader {
  PageType type = PageType::data_page;
  int32_t uncompressed_page_size = 0;
  int32_t compressed_page_size = 0;
  std::optional<uint32_t> crc;
  int32_t num_values = 0;                  // data or dictionary page
  Encoding encoding = Encoding::plain;     // of the values
};

struct PageEncodingStats {
  PageType page_type;
  Encoding encoding;
  int32_t count;
};

struct ColumnChunkMeta {
  PhysicalType type = PhysicalType::int32;
  std::vector<Encoding> encodings;
  std::string path;  // flat schema: the column name
  int32_t codec = 0;
  int64_t num_values = 0;  // nulls included
  int64_t total_uncompressed_size = 0;
  int64_t total_compressed_size = 0;
  int64_t data_page_offset = 0;
  std::optional<int64_t> dictionary_page_offset;
  Statistics statistics;
  std::vector<PageEncodingStats> encoding_stats;
};

struct RowGroupMeta {
  std::vector<ColumnChunkMeta> columns;
  int64_t total_byte_size = 0;        // uncompressed
  int64_t total_compressed_size = 0;
  int64_t num_rows = 0;
  int64_t file_offset = 0;
  std::optional<int16_t> ordinal;  // left out past 32767 row groups
};

struct FileMeta {
  const Schema* schema = nullptr;
  int64_t num_rows = 0;
  const std::vector<RowGroupMeta>* row_groups = nullptr;
  std::string created_by;
  const std::vector<std::pair<std::string, std::string>>* key_value_metadata = nullptr;
};

void serialize(const PageHeader& header, thrift::Bytes& out);
void serialize(const FileMeta& meta, thrift::Bytes& out);

}  // namespace pipekit::parquet::detail
