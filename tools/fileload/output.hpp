#pragma once
// What one output file's bytes are: NDJSON or CSV lines through an optional
// gzip/zstd stream, or a Parquet file (our writer). Each writes to a
// descriptor the caller owns (fsync, rename and close are the caller's).
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipekit/parquet/writer.hpp"
#include "row.hpp"

namespace pipekit::fileload {

enum class Format { ndjson, csv, parquet };
enum class Compression { none, gzip, zstd, snappy };

Format parse_format(const std::string& name);             // throws UsageError
Compression parse_compression(const std::string& name);   // throws UsageError
// The file name's extension: ".ndjson.gz", ".csv.zst", ".parquet", ...
std::string extension(Format format, Compression compression);

// Bytes to a descriptor, compressed as asked, in 256 KiB writes.
class ByteSink {
 public:
  ByteSink(int fd, Compression compression, int level);
  ~ByteSink();
  ByteSink(const ByteSink&) = delete;
  ByteSink& operator=(const ByteSink&) = delete;
  void write(std::string_view bytes);
  // Ends the compressed stream and writes everything. Throws IoError.
  void finish();
  uint64_t bytes_out() const { return written_ + out_.size(); }  // compressed, so far

 private:
  void compress(std::string_view in, bool end);
  void drain();
  int fd_;
  Compression compression_;
  std::string out_;
  uint64_t written_ = 0;
  z_stream zs_{};
  bool zs_open_ = false;
  ZSTD_CCtx* zstd_ = nullptr;
};

// One output file of a format. write() takes a record's cells (or, for NDJSON
// without a schema, its raw JSON text).
class FileWriter {
 public:
  virtual ~FileWriter() = default;
  virtual void write(const std::vector<Cell>* cells, std::string_view raw_json) = 0;
  virtual void finish() = 0;                  // complete the file (footer, stream end)
  virtual uint64_t size() const = 0;          // bytes in the file so far (Parquet: row groups written)
};

struct WriterConfig {
  Format format = Format::ndjson;
  Compression compression = Compression::none;
  int level = 0;                              // 0: the codec's default
  const std::vector<SchemaColumn>* columns = nullptr;  // null: NDJSON passes records through
  parquet::Schema parquet_schema;
  int64_t row_group_rows = 131072;
  int64_t row_group_bytes = 64LL << 20;
};

std::unique_ptr<FileWriter> make_writer(int fd, const WriterConfig& config);

}  // namespace pipekit::fileload
