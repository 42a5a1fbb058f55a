#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <set>

#include "column_writer.hpp"
#include "metadata.hpp"
#include "pipekit/parquet/writer.hpp"

namespace pipekit::parquet {

using namespace detail;

const char* to_string(ColumnType type) {
  switch (type) {
    case ColumnType::string: return "string";
    case ColumnType::json: return "json";
    case ColumnType::int32: return "int32";
    case ColumnType::int64: return "int64";
    case ColumnType::float64: return "float64";
    case ColumnType::boolean: return "boolean";
    case ColumnType::timestamp: return "timestamp";
    case ColumnType::date: return "date";
    case ColumnType::uuid: return "uuid";
  }
  return "?";
}

std::optional<Uuid> parse_uuid(std::string_view text) {
  const bool hyphens = text.size() == 36;
  if (!hyphens && text.size() != 32) return std::nullopt;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Uuid out{};
  size_t pos = 0;
  for (size_t i = 0; i < 16; ++i) {
    if (hyphens && (pos == 8 || pos == 13 || pos == 18 || pos == 23)) {
      if (text[pos] != '-') return std::nullopt;
      ++pos;
    }
    const int hi = hex(text[pos]), lo = hex(text[pos + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
    pos += 2;
  }
  return out;
}

namespace {

constexpr char kMagic[4] = {'P', 'A', 'R', '1'};

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

void check_options(const Options& o) {
  if (o.row_group_rows <= 0) throw Error("parquet: row_group_rows must be positive");
  if (o.row_group_bytes <= 0) throw Error("parquet: row_group_bytes must be positive");
  if (o.page_bytes <= 0 || o.page_bytes > (1LL << 30)) throw Error("parquet: page_bytes must be in 1..1 GiB");
  if (o.page_rows <= 0 || o.page_rows > (1LL << 30)) throw Error("parquet: page_rows must be in 1..2^30");
  if (o.dictionary_page_bytes <= 0 || o.dictionary_page_bytes > (1LL << 30)) {
    throw Error("parquet: dictionary_page_bytes must be in 1..1 GiB");
  }
  if (o.max_statistics_bytes < 0) throw Error("parquet: max_statistics_bytes must not be negative");
}

void check_schema(const Schema& schema) {
  if (schema.empty()) throw Error("parquet: the schema has no columns");
  std::set<std::string_view> names;
  for (const auto& c : schema) {
    if (c.name.empty()) throw Error("parquet: a column has an empty name");
    if (!names.insert(c.name).second) throw Error("parquet: duplicate column name '" + c.name + "'");
  }
}

// A checked cell, ready for its column writer.
struct Cell {
  bool null = false;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string_view s;
  Uuid uuid{};
};

const char* kind_name(const Value::Storage& v) {
  switch (v.index()) {
    case 0: return "null";
    case 1: return "bool";
    case 2: return "integer";
    case 3: return "double";
    case 4: return "string";
    case 5: return "uuid";
  }
  return "?";
}

}  // namespace

struct Writer::Impl {
  Schema schema;
  Options options;
  int fd = -1;
  bool owns_fd = false;
  FileSink sink;
  Compressor compressor;
  std::vector<std::unique_ptr<ColumnWriter>> columns;
  std::vector<RowGroupMeta> row_groups;
  std::vector<Cell> cells;
  int64_t group_rows = 0;
  int64_t total_rows = 0;
  bool closed = false;
  bool failed = false;  // an I/O error left the output incomplete

  Impl(int fd_, bool owns, Schema s, Options o)
      : schema(std::move(s)),
        options(std::move(o)),
        fd(fd_),
        owns_fd(owns),
        sink(fd_),
        compressor(options.codec, options.zstd_level) {
    for (const auto& c : schema) columns.push_back(std::make_unique<ColumnWriter>(c, options, compressor));
    cells.resize(schema.size());
  }

  void check_usable() const {
    if (closed) throw Error("parquet: the writer is closed");
    if (failed) throw Error("parquet: an earlier write failed; the output is incomplete");
  }

  template <typename F>
  void guarded(F&& f) {
    try {
      f();
    } catch (...) {
      failed = true;
      throw;
    }
  }

  Cell check_cell(const Column& c, const Value& value) const {
    const auto& v = value.storage();
    Cell cell;
    auto wrong = [&]() {
      return Error("parquet: column '" + c.name + "' is " + to_string(c.type) + ", got " + kind_name(v));
    };
    if (value.is_null()) {
      if (!c.nullable) throw Error("parquet: column '" + c.name + "' is not nullable, got null");
      cell.null = true;
      return cell;
    }
    switch (c.type) {
      case ColumnType::string:
      case ColumnType::json: {
        const auto* s = std::get_if<std::string_view>(&v);
        if (s == nullptr) throw wrong();
        if (s->size() > static_cast<size_t>(INT32_MAX)) throw Error("parquet: value of '" + c.name + "' is over 2 GiB");
        cell.s = *s;
        return cell;
      }
      case ColumnType::int32:
      case ColumnType::date:
      case ColumnType::int64:
      case ColumnType::timestamp: {
        const auto* i = std::get_if<int64_t>(&v);
        if (i == nullptr) throw wrong();
        const bool narrow = c.type == ColumnType::int32 || c.type == ColumnType::date;
        if (narrow && (*i < INT32_MIN || *i > INT32_MAX)) {
          throw Error("parquet: column '" + c.name + "': " + std::to_string(*i) + " is out of the int32 range");
        }
        cell.i = *i;
        return cell;
      }
      case ColumnType::float64:
        if (const auto* d = std::get_if<double>(&v)) {
          cell.d = *d;
        } else if (const auto* i = std::get_if<int64_t>(&v)) {
          cell.d = static_cast<double>(*i);
        } else {
          throw wrong();
        }
        return cell;
      case ColumnType::boolean: {
        const auto* b = std::get_if<bool>(&v);
        if (b == nullptr) throw wrong();
        cell.b = *b;
        return cell;
      }
      case ColumnType::uuid:
        if (const auto* u = std::get_if<Uuid>(&v)) {
          cell.uuid = *u;
        } else if (const auto* s = std::get_if<std::string_view>(&v)) {
          const auto parsed = parse_uuid(*s);
          if (!parsed) throw Error("parquet: column '" + c.name + "': not a uuid: '" + std::string(*s) + "'");
          cell.uuid = *parsed;
        } else {
          throw wrong();
        }
        return cell;
    }
    throw wrong();
  }

  void add_cell(const Column& c, ColumnWriter& w, const Cell& cell) {
    if (cell.null) return w.add_null();
    switch (c.type) {
      case ColumnType::string:
      case ColumnType::json: return w.add_bytes(cell.s);
      case ColumnType::int32:
      case ColumnType::date: return w.add_int32(static_cast<int32_t>(cell.i));
      case ColumnType::int64:
      case ColumnType::timestamp: return w.add_int64(cell.i);
      case ColumnType::float64: return w.add_double(cell.d);
      case ColumnType::boolean: return w.add_bool(cell.b);
      case ColumnType::uuid:
        return w.add_bytes(std::string_view(reinterpret_cast<const char*>(cell.uuid.data()), cell.uuid.size()));
    }
  }

  size_t buffered_bytes() const {
    size_t n = 0;
    for (const auto& c : columns) n += c->buffered_bytes();
    return n;
  }

  void flush() {
    if (group_rows == 0) return;
    RowGroupMeta rg;
    rg.num_rows = group_rows;
    rg.file_offset = static_cast<int64_t>(sink.offset());
    if (row_groups.size() <= static_cast<size_t>(INT16_MAX)) rg.ordinal = static_cast<int16_t>(row_groups.size());
    for (auto& c : columns) {
      rg.columns.push_back(c->write_chunk(sink));
      rg.total_byte_size += rg.columns.back().total_uncompressed_size;
      rg.total_compressed_size += rg.columns.back().total_compressed_size;
    }
    row_groups.push_back(std::move(rg));
    group_rows = 0;
  }

  void write_footer() {
    thrift::Bytes footer;
    FileMeta meta;
    meta.schema = &schema;
    meta.num_rows = total_rows;
    meta.row_groups = &row_groups;
    meta.created_by = options.created_by;
    meta.key_value_metadata = &options.metadata;
    serialize(meta, footer);
    put_u32_le(footer, static_cast<uint32_t>(footer.size()));
    append(footer, kMagic, 4);
    sink.write(footer);
  }
};

Writer::Writer(const std::filesystem::path& path, Schema schema, Options options) {
  check_schema(schema);
  check_options(options);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(errno_text("parquet: cannot create " + path.string()));
  try {
    impl_ = std::make_unique<Impl>(fd, true, std::move(schema), std::move(options));
    impl_->sink.write(kMagic, 4);
  } catch (...) {
    ::close(fd);
    impl_.reset();
    throw;
  }
}

Writer::Writer(int fd, Schema schema, Options options) {
  check_schema(schema);
  check_options(options);
  if (fd < 0) throw Error("parquet: bad file descriptor");
  impl_ = std::make_unique<Impl>(fd, false, std::move(schema), std::move(options));
  impl_->sink.write(kMagic, 4);
}

Writer::~Writer() {
  if (impl_ && impl_->owns_fd && impl_->fd >= 0 && !impl_->closed) ::close(impl_->fd);
}

Writer::Writer(Writer&&) noexcept = default;
Writer& Writer::operator=(Writer&& other) noexcept {
  if (this != &other) {
    if (impl_ && impl_->owns_fd && impl_->fd >= 0 && !impl_->closed) ::close(impl_->fd);
    impl_ = std::move(other.impl_);
  }
  return *this;
}

void Writer::append_row(std::span<const Value> row) {
  Impl& m = *impl_;
  m.check_usable();
  if (row.size() != m.schema.size()) {
    throw Error("parquet: row has " + std::to_string(row.size()) + " values, the schema " +
                std::to_string(m.schema.size()) + " columns");
  }
  for (size_t i = 0; i < row.size(); ++i) m.cells[i] = m.check_cell(m.schema[i], row[i]);
  m.guarded([&] {
    for (size_t i = 0; i < row.size(); ++i) m.add_cell(m.schema[i], *m.columns[i], m.cells[i]);
    ++m.group_rows;
    ++m.total_rows;
    if (m.group_rows >= m.options.row_group_rows ||
        static_cast<int64_t>(m.buffered_bytes()) >= m.options.row_group_bytes) {
      m.flush();
    }
  });
}

void Writer::flush_row_group() {
  Impl& m = *impl_;
  m.check_usable();
  m.guarded([&] { m.flush(); });
}

uint64_t Writer::close() {
  Impl& m = *impl_;
  if (m.closed) return m.sink.offset();
  m.check_usable();
  m.guarded([&] {
    m.flush();
    m.write_footer();
    if (m.owns_fd) {
      if (m.options.sync_on_close && ::fsync(m.fd) != 0) throw Error(errno_text("parquet: fsync"));
      const int fd = m.fd;
      m.fd = -1;
      if (::close(fd) != 0) throw Error(errno_text("parquet: close"));
    }
  });
  m.closed = true;
  return m.sink.offset();
}

uint64_t Writer::bytes_written() const { return impl_->sink.offset(); }
int64_t Writer::rows_written() const { return impl_->total_rows; }
int64_t Writer::row_groups_written() const { return static_cast<int64_t>(impl_->row_groups.size()); }
const Schema& Writer::schema() const { return impl_->schema; }

}  // namespace pipekit::parquet
