#pragma once
// One column's pages for the current row group, its dictionary and its
// statistics; write_chunk() puts the column chunk into the file and frees them.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "compression.hpp"
#include "dictionary.hpp"
#include "encoding.hpp"
#include "metadata.hpp"
#include "pipekit/parquet/writer.hpp"

namespace pipekit::parquet::detail {

// Sequential writes to a descriptor, counting the offset from the first byte.
class FileSink {
 public:
  explicit FileSink(int fd) : fd_(fd) {}
  void write(const void* data, size_t n);
  void write(const Bytes& b) { write(b.data(), b.size()); }
  uint64_t offset() const { return offset_; }

 private:
  int fd_;
  uint64_t offset_ = 0;
};

// Min/max in the column's sort order (signed integers, unsigned bytewise for
// byte arrays, false < true, doubles ignoring NaN) plus null and NaN counts.
class ChunkStatistics {
 public:
  explicit ChunkStatistics(PhysicalType type) : type_(type) {}
  void add_null() { ++nulls_; }
  void add_int(int64_t v);
  void add_double(double v);
  void add_bool(bool v);
  void add_bytes(std::string_view v);
  Statistics finish(size_t max_bytes) const;

 private:
  PhysicalType type_;
  int64_t nulls_ = 0;
  int64_t nans_ = 0;
  bool has_ = false;  // a min/max has been seen (an empty string counts)
  int64_t imin_ = 0, imax_ = 0;
  double dmin_ = 0, dmax_ = 0;
  bool bmin_ = false, bmax_ = false;
  std::string smin_, smax_;
};

class ColumnWriter {
 public:
  ColumnWriter(const Column& column, const Options& options, Compressor& compressor);

  void add_null();
  void add_bool(bool v);
  void add_int32(int32_t v);
  void add_int64(int64_t v);
  void add_double(double v);
  void add_bytes(std::string_view v);  // byte array, or the 16 bytes of a uuid

  // Encoded bytes held for this row group (pages, dictionary, current page).
  size_t buffered_bytes() const;
  // Writes the column chunk (dictionary page, then data pages) and resets for the next row group.
  ColumnChunkMeta write_chunk(FileSink& sink);

 private:
  void present();
  // Looks the value up in the dictionary, adding it if new; returns true if it was new.
  bool add_to_dictionary(std::string_view key);
  void value_added();
  size_t page_estimate() const;
  int index_bit_width() const;
  void finish_page();
  void put_page(PageHeader header, const Bytes& body, Bytes& out);
  void reset_chunk();

  const Column& column_;
  const Options& options_;
  Compressor& compressor_;
  const PhysicalType type_;
  const bool dictionary_enabled_;

  // Current page.
  std::vector<uint8_t> def_levels_;  // nullable columns only
  std::vector<uint32_t> indices_;    // dictionary mode
  Bytes values_;                     // PLAIN mode (booleans: one byte each until packed)
  int64_t page_values_ = 0;          // nulls included

  // Current column chunk.
  bool use_dictionary_;  // false once fallen back to PLAIN
  Dictionary dictionary_;
  Bytes pages_;  // serialized data pages (headers and bodies)
  int64_t num_values_ = 0;
  int64_t total_uncompressed_ = 0;
  int64_t total_compressed_ = 0;
  int32_t dictionary_data_pages_ = 0;
  int32_t plain_data_pages_ = 0;
  ChunkStatistics stats_;

  // Scratch, kept across pages.
  Bytes body_;
  Bytes compressed_;
};

}  // namespace pipekit::parquet::detail
