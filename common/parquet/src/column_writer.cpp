#include "column_writer.hpp"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>

namespace pipekit::parquet::detail {

void FileSink::write(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  size_t left = n;
  while (left > 0) {
    const ssize_t r = ::write(fd_, p, left);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw Error(std::string("parquet write: ") + std::strerror(errno));
    }
    p += r;
    left -= static_cast<size_t>(r);
  }
  offset_ += n;
}

// ---- statistics -------------------------------------------------------------

namespace {

// Unsigned bytewise order, a shorter prefix first.
bool bytes_less(std::string_view a, std::string_view b) {
  const int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
  return c != 0 ? c < 0 : a.size() < b.size();
}

template <typename T>
std::string le_bytes(T v) {
  std::string s(sizeof(T), '\0');
  using U = std::make_unsigned_t<T>;
  const U u = static_cast<U>(v);
  for (size_t i = 0; i < sizeof(T); ++i) s[i] = static_cast<char>(u >> (8 * i));
  return s;
}

std::string double_bytes(double v) { return le_bytes(std::bit_cast<uint64_t>(v)); }

}  // namespace

void ChunkStatistics::add_int(int64_t v) {
  if (!has_) {
    imin_ = imax_ = v;
    has_ = true;
  } else {
    imin_ = std::min(imin_, v);
    imax_ = std::max(imax_, v);
  }
}

void ChunkStatistics::add_double(double v) {
  if (std::isnan(v)) {
    ++nans_;  // NaN takes no part in min/max
    return;
  }
  if (!has_) {
    dmin_ = dmax_ = v;
    has_ = true;
  } else {
    if (v < dmin_) dmin_ = v;
    if (v > dmax_) dmax_ = v;
  }
}

void ChunkStatistics::add_bool(bool v) {
  if (!has_) {
    bmin_ = bmax_ = v;
    has_ = true;
  } else {
    bmin_ = bmin_ && v;
    bmax_ = bmax_ || v;
  }
}

void ChunkStatistics::add_bytes(std::string_view v) {
  if (!has_) {
    smin_.assign(v);
    smax_.assign(v);
    has_ = true;
  } else if (bytes_less(v, smin_)) {
    smin_.assign(v);
  } else if (bytes_less(smax_, v)) {
    smax_.assign(v);
  }
}

Statistics ChunkStatistics::finish(size_t max_bytes) const {
  Statistics s;
  s.null_count = nulls_;
  if (type_ == PhysicalType::float64) s.nan_count = nans_;
  s.legacy_min_max = type_ != PhysicalType::byte_array && type_ != PhysicalType::fixed_len_byte_array;
  if (!has_) return s;  // only nulls (or NaNs): no min/max
  switch (type_) {
    case PhysicalType::int32:
      s.min_value = le_bytes(static_cast<int32_t>(imin_));
      s.max_value = le_bytes(static_cast<int32_t>(imax_));
      break;
    case PhysicalType::int64:
      s.min_value = le_bytes(imin_);
      s.max_value = le_bytes(imax_);
      break;
    case PhysicalType::float64:
      // A zero bound is written as -0.0 (min) and +0.0 (max): both zeros may be present.
      s.min_value = double_bytes(dmin_ == 0.0 ? -0.0 : dmin_);
      s.max_value = double_bytes(dmax_ == 0.0 ? 0.0 : dmax_);
      break;
    case PhysicalType::boolean:
      s.min_value = std::string(1, bmin_ ? '\1' : '\0');
      s.max_value = std::string(1, bmax_ ? '\1' : '\0');
      break;
    case PhysicalType::byte_array:
    case PhysicalType::fixed_len_byte_array:
      if (smin_.size() <= max_bytes && smax_.size() <= max_bytes) {
        s.min_value = smin_;
        s.max_value = smax_;
      }
      break;
  }
  return s;
}

// ---- column writer ----------------------------------------------------------

ColumnWriter::ColumnWriter(const Column& column, const Options& options, Compressor& compressor)
    : column_(column),
      options_(options),
      compressor_(compressor),
      type_(physical_type(column.type)),
      dictionary_enabled_(options.dictionary && type_ != PhysicalType::boolean),
      use_dictionary_(dictionary_enabled_),
      dictionary_(type_ == PhysicalType::byte_array),
      stats_(type_) {}

void ColumnWriter::present() {
  if (column_.nullable) def_levels_.push_back(1);
}

void ColumnWriter::add_null() {
  def_levels_.push_back(0);
  stats_.add_null();
  value_added();
}

bool ColumnWriter::add_to_dictionary(std::string_view key) {
  bool inserted = false;
  indices_.push_back(dictionary_.insert(key, &inserted));
  return inserted;
}

void ColumnWriter::add_bool(bool v) {
  present();
  stats_.add_bool(v);
  values_.push_back(v ? 1 : 0);
  value_added();
}

void ColumnWriter::add_int32(int32_t v) {
  present();
  stats_.add_int(v);
  if (use_dictionary_) {
    uint8_t key[4];
    store_u32_le(key, static_cast<uint32_t>(v));
    add_to_dictionary(std::string_view(reinterpret_cast<const char*>(key), 4));
  } else {
    put_u32_le(values_, static_cast<uint32_t>(v));
  }
  value_added();
}

void ColumnWriter::add_int64(int64_t v) {
  present();
  stats_.add_int(v);
  if (use_dictionary_) {
    uint8_t key[8];
    store_u64_le(key, static_cast<uint64_t>(v));
    add_to_dictionary(std::string_view(reinterpret_cast<const char*>(key), 8));
  } else {
    put_u64_le(values_, static_cast<uint64_t>(v));
  }
  value_added();
}

void ColumnWriter::add_double(double v) {
  present();
  stats_.add_double(v);
  const uint64_t bits = std::bit_cast<uint64_t>(v);  // -0.0 and +0.0 stay distinct entries
  if (use_dictionary_) {
    uint8_t key[8];
    store_u64_le(key, bits);
    add_to_dictionary(std::string_view(reinterpret_cast<const char*>(key), 8));
  } else {
    put_u64_le(values_, bits);
  }
  value_added();
}

void ColumnWriter::add_bytes(std::string_view v) {
  present();
  if (use_dictionary_) {
    // Each distinct value of the chunk enters the dictionary once: that is when it counts for min/max.
    if (add_to_dictionary(v)) stats_.add_bytes(v);
  } else {
    stats_.add_bytes(v);
    if (type_ == PhysicalType::byte_array) {
      put_byte_array(values_, v);
    } else {
      append(values_, v.data(), v.size());
    }
  }
  value_added();
}

int ColumnWriter::index_bit_width() const {
  const uint32_t n = dictionary_.size();
  return std::max(1, bit_width(n == 0 ? 0 : n - 1));
}

size_t ColumnWriter::page_estimate() const {
  size_t n = def_levels_.size() / 8;
  if (use_dictionary_) {
    n += 1 + indices_.size() * static_cast<size_t>(index_bit_width()) / 8;
  } else if (type_ == PhysicalType::boolean) {
    n += values_.size() / 8;
  } else {
    n += values_.size();
  }
  return n;
}

void ColumnWriter::value_added() {
  ++page_values_;
  ++num_values_;
  const bool mostly_distinct = options_.dictionary_sample_values > 0 &&
                               num_values_ == options_.dictionary_sample_values &&
                               dictionary_.size() > options_.dictionary_max_distinct * static_cast<double>(num_values_);
  if (use_dictionary_ &&
      (mostly_distinct || static_cast<int64_t>(dictionary_.page().size()) > options_.dictionary_page_bytes)) {
    // Fall back to PLAIN for the rest of this column chunk: the pages so far
    // keep their indices into the dictionary as it stands.
    finish_page();
    use_dictionary_ = false;
    dictionary_.drop_index();
    return;
  }
  if (page_values_ >= options_.page_rows || static_cast<int64_t>(page_estimate()) >= options_.page_bytes) {
    finish_page();
  }
}

void ColumnWriter::finish_page() {
  if (page_values_ == 0) return;
  body_.clear();
  if (column_.nullable) {
    // Data page v1: definition levels with a 4-byte length prefix; max level 1, so 1 bit.
    const size_t at = body_.size();
    body_.resize(at + 4);
    rle_hybrid_encode<uint8_t>(def_levels_, 1, body_);
    store_u32_le(body_.data() + at, static_cast<uint32_t>(body_.size() - at - 4));
  }
  PageHeader header;
  header.type = PageType::data_page;
  header.num_values = static_cast<int32_t>(page_values_);
  if (use_dictionary_) {
    header.encoding = Encoding::rle_dictionary;
    const int width = index_bit_width();
    body_.push_back(static_cast<uint8_t>(width));
    rle_hybrid_encode<uint32_t>(indices_, width, body_);
    ++dictionary_data_pages_;
  } else {
    header.encoding = Encoding::plain;
    if (type_ == PhysicalType::boolean) {
      bit_pack<uint8_t>(values_, 1, body_);
    } else {
      append(body_, values_.data(), values_.size());
    }
    ++plain_data_pages_;
  }
  put_page(header, body_, pages_);
  def_levels_.clear();
  indices_.clear();
  values_.clear();
  page_values_ = 0;
}

void ColumnWriter::put_page(PageHeader header, const Bytes& body, Bytes& out) {
  if (body.size() > static_cast<size_t>(INT32_MAX)) throw Error("parquet: page of column '" + column_.name + "' is over 2 GiB");
  const Bytes* stored = &body;
  if (compressor_.codec() != Codec::none) {
    compressor_.compress(body, compressed_);
    stored = &compressed_;
  }
  if (stored->size() > static_cast<size_t>(INT32_MAX)) throw Error("parquet: compressed page is over 2 GiB");
  header.uncompressed_page_size = static_cast<int32_t>(body.size());
  header.compressed_page_size = static_cast<int32_t>(stored->size());
  if (options_.page_checksums) {
    header.crc = static_cast<uint32_t>(::crc32(0L, stored->data(), static_cast<uInt>(stored->size())));
  }
  const size_t before = out.size();
  serialize(header, out);
  const auto header_size = static_cast<int64_t>(out.size() - before);
  append(out, stored->data(), stored->size());
  total_uncompressed_ += header_size + static_cast<int64_t>(body.size());
  total_compressed_ += header_size + static_cast<int64_t>(stored->size());
}

size_t ColumnWriter::buffered_bytes() const {
  return pages_.size() + dictionary_.page().size() + page_estimate();
}

ColumnChunkMeta ColumnWriter::write_chunk(FileSink& sink) {
  finish_page();
  ColumnChunkMeta meta;
  meta.type = type_;
  meta.path = column_.name;
  meta.codec = thrift_codec(compressor_.codec());
  meta.num_values = num_values_;

  Bytes dictionary_page;
  const bool has_dictionary = dictionary_data_pages_ > 0;
  if (has_dictionary) {
    PageHeader header;
    header.type = PageType::dictionary_page;
    header.num_values = static_cast<int32_t>(dictionary_.size());
    header.encoding = Encoding::plain;
    put_page(header, dictionary_.page(), dictionary_page);
  }
  const auto start = static_cast<int64_t>(sink.offset());
  sink.write(dictionary_page);
  sink.write(pages_);
  if (has_dictionary) meta.dictionary_page_offset = start;
  meta.data_page_offset = start + static_cast<int64_t>(dictionary_page.size());
  meta.total_uncompressed_size = total_uncompressed_;
  meta.total_compressed_size = total_compressed_;

  if (has_dictionary || plain_data_pages_ > 0) meta.encodings.push_back(Encoding::plain);
  if (column_.nullable) meta.encodings.push_back(Encoding::rle);
  if (has_dictionary) meta.encodings.push_back(Encoding::rle_dictionary);
  if (has_dictionary) {
    meta.encoding_stats.push_back({PageType::dictionary_page, Encoding::plain, 1});
    meta.encoding_stats.push_back({PageType::data_page, Encoding::rle_dictionary, dictionary_data_pages_});
  }
  if (plain_data_pages_ > 0) meta.encoding_stats.push_back({PageType::data_page, Encoding::plain, plain_data_pages_});
  meta.statistics = stats_.finish(static_cast<size_t>(options_.max_statistics_bytes));

  reset_chunk();
  return meta;
}

void ColumnWriter::reset_chunk() {
  // Give the row group's memory back.
  def_levels_ = {};
  indices_ = {};
  values_ = {};
  page_values_ = 0;
  use_dictionary_ = dictionary_enabled_;
  dictionary_.release();
  pages_ = {};
  num_values_ = 0;
  total_uncompressed_ = 0;
  total_compressed_ = 0;
  dictionary_data_pages_ = 0;
  plain_data_pages_ = 0;
  stats_ = ChunkStatistics(type_);
  body_ = {};
  compressed_ = {};
}

}  // namespace pipekit::parquet::detail
