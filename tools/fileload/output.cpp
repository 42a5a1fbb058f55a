#include "output.hpp"

#include <unistd.h>

#include <cerrno>

#include "pipekit/errors.hpp"
#include "pipekit/json.hpp"

namespace pipekit::fileload {

Format parse_format(const std::string& name) {
  if (name == "ndjson") return Format::ndjson;
  if (name == "csv") return Format::csv;
  if (name == "parquet") return Format::parquet;
  throw UsageError("--format: expected ndjson, csv or parquet, not '" + name + "'");
}

Compression parse_compression(const std::string& name) {
  if (name == "none") return Compression::none;
  if (name == "gzip") return Compression::gzip;
  if (name == "zstd") return Compression::zstd;
  if (name == "snappy") return Compression::snappy;
  throw UsageError("--compression: expected none, gzip, zstd or snappy, not '" + name + "'");
}

std::string extension(Format format, Compression compression) {
  if (format == Format::parquet) return ".parquet";
  std::string ext = format == Format::csv ? ".csv" : ".ndjson";
  if (compression == Compression::gzip) ext += ".gz";
  if (compression == Compression::zstd) ext += ".zst";
  return ext;
}

namespace {
constexpr size_t kWriteBytes = 256 << 10;
}

ByteSink::ByteSink(int fd, Compression compression, int level) : fd_(fd), compression_(compression) {
  out_.reserve(kWriteBytes + 1024);
  if (compression == Compression::gzip) {
    // windowBits 15 + 16: a gzip header and trailer around the deflate stream.
    if (deflateInit2(&zs_, level > 0 ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
      throw IoError("gzip: cannot start a stream");
    zs_open_ = true;
  } else if (compression == Compression::zstd) {
    zstd_ = ZSTD_createCCtx();
    if (!zstd_) throw IoError("zstd: cannot start a stream");
    ZSTD_CCtx_setParameter(zstd_, ZSTD_c_compressionLevel, level > 0 ? level : 3);
    ZSTD_CCtx_setParameter(zstd_, ZSTD_c_checksumFlag, 1);
  }
}

ByteSink::~ByteSink() {
  if (zs_open_) deflateEnd(&zs_);
  if (zstd_) ZSTD_freeCCtx(zstd_);
}

void ByteSink::write(std::string_view bytes) {
  if (compression_ == Compression::none || compression_ == Compression::snappy) {
    out_.append(bytes);
  } else {
    compress(bytes, false);
  }
  if (out_.size() >= kWriteBytes) drain();
}

void ByteSink::compress(std::string_view in, bool end) {
  char chunk[64 << 10];
  if (compression_ == Compression::gzip) {
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    int rc;
    do {
      zs_.next_out = reinterpret_cast<Bytef*>(chunk);
      zs_.avail_out = sizeof chunk;
      rc = deflate(&zs_, end ? Z_FINISH : Z_NO_FLUSH);
      if (rc == Z_STREAM_ERROR) throw IoError("gzip: compression failed");
      out_.append(chunk, sizeof chunk - zs_.avail_out);
    } while (zs_.avail_out == 0 || (end && rc != Z_STREAM_END));
    return;
  }
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t remaining;
  do {
    ZSTD_outBuffer output{chunk, sizeof chunk, 0};
    remaining = ZSTD_compressStream2(zstd_, &output, &input, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(remaining)) throw IoError(std::string("zstd: ") + ZSTD_getErrorName(remaining));
    out_.append(chunk, output.pos);
  } while (end ? remaining != 0 : input.pos < input.size);
}

void ByteSink::drain() {
  size_t done = 0;
  while (done < out_.size()) {
    ssize_t n = ::write(fd_, out_.data() + done, out_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(errno_message("write", errno));
    }
    done += static_cast<size_t>(n);
  }
  written_ += done;
  out_.clear();
}

void ByteSink::finish() {
  if (compression_ == Compression::gzip || compression_ == Compression::zstd) compress({}, true);
  drain();
}

namespace {

class NdjsonWriter : public FileWriter {
 public:
  NdjsonWriter(int fd, const WriterConfig& c) : sink_(fd, c.compression, c.level), columns_(c.columns) {}
  void write(const std::vector<Cell>* cells, std::string_view raw) override {
    if (!columns_) {
      sink_.write(raw);
      sink_.write("\n");
      return;
    }
    line_.clear();
    line_.push_back('{');
    for (size_t i = 0; i < columns_->size(); ++i) {
      if (i) line_.push_back(',');
      json::append_string(line_, (*columns_)[i].name);
      line_.push_back(':');
      append_json_cell(line_, (*columns_)[i].kind, (*cells)[i]);
    }
    line_.append("}\n");
    sink_.write(line_);
  }
  void finish() override { sink_.finish(); }
  uint64_t size() const override { return sink_.bytes_out(); }

 private:
  ByteSink sink_;
  const std::vector<SchemaColumn>* columns_;
  std::string line_;
};

// RFC 4180: CRLF line ends, a header line, fields quoted when needed.
class CsvWriter : public FileWriter {
 public:
  CsvWriter(int fd, const WriterConfig& c) : sink_(fd, c.compression, c.level), columns_(*c.columns) {
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (i) line_.push_back(',');
      append_csv_field(line_, columns_[i].name);
    }
    line_.append("\r\n");
    sink_.write(line_);
  }
  void write(const std::vector<Cell>* cells, std::string_view) override {
    line_.clear();
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (i) line_.push_back(',');
      append_csv_cell(line_, columns_[i].kind, (*cells)[i]);
    }
    line_.append("\r\n");
    sink_.write(line_);
  }
  void finish() override { sink_.finish(); }
  uint64_t size() const override { return sink_.bytes_out(); }

 private:
  ByteSink sink_;
  const std::vector<SchemaColumn>& columns_;
  std::string line_;
};

class ParquetFileWriter : public FileWriter {
 public:
  ParquetFileWriter(int fd, const WriterConfig& c) : columns_(*c.columns), writer_(fd, c.parquet_schema, options(c)) {}
  void write(const std::vector<Cell>* cells, std::string_view) override {
    values_.clear();
    for (size_t i = 0; i < columns_.size(); ++i) {
      const Cell& cell = (*cells)[i];
      if (cell.null) {
        values_.emplace_back();
        continue;
      }
      switch (columns_[i].kind) {
        case ColumnKind::string:
        case ColumnKind::json: values_.emplace_back(cell.text); break;
        case ColumnKind::integer:
        case ColumnKind::date_time:
        case ColumnKind::date: values_.emplace_back(cell.integer); break;
        case ColumnKind::number: values_.emplace_back(cell.number); break;
        case ColumnKind::boolean: values_.emplace_back(cell.boolean); break;
        case ColumnKind::uuid: values_.emplace_back(cell.uuid); break;
      }
    }
    try {
      writer_.append_row(values_);
    } catch (const parquet::Error& e) {
      throw IoError(e.what());
    }
  }
  void finish() override {
    try {
      writer_.close();
    } catch (const parquet::Error& e) {
      throw IoError(e.what());
    }
  }
  uint64_t size() const override { return writer_.bytes_written(); }

 private:
  static parquet::Options options(const WriterConfig& c) {
    parquet::Options o;
    o.codec = c.compression == Compression::zstd   ? parquet::Codec::zstd
              : c.compression == Compression::none ? parquet::Codec::none
                                                   : parquet::Codec::snappy;
    if (c.level > 0) o.zstd_level = c.level;
    o.row_group_rows = c.row_group_rows;
    o.row_group_bytes = c.row_group_bytes;
    // Ids, e-mails, names of users: columns of unique values skip the dictionary early.
    o.dictionary_sample_values = 10000;
    o.created_by = "pipekit fileload";
    return o;
  }
  const std::vector<SchemaColumn>& columns_;
  parquet::Writer writer_;
  std::vector<parquet::Value> values_;
};

}  // namespace

std::unique_ptr<FileWriter> make_writer(int fd, const WriterConfig& config) {
  switch (config.format) {
    case Format::ndjson: return std::make_unique<NdjsonWriter>(fd, config);
    case Format::csv: return std::make_unique<CsvWriter>(fd, config);
    case Format::parquet: return std::make_unique<ParquetFileWriter>(fd, config);
  }
  return nullptr;
}

}  // namespace pipekit::fileload
