#include "engine.hpp"

#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "files.hpp"
#include "output.hpp"
#include "pipekit/acks.hpp"
#include "pipekit/calendar.hpp"
#include "pipekit/envelope.hpp"
#include "pipekit/errors.hpp"
#include "pipekit/json.hpp"
#include "pipekit/log.hpp"
#include "pipekit/ndjson.hpp"
#include "pipekit/signals.hpp"
#include "row.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace pipekit::fileload {

namespace {

// --partition-by FIELD or day:FIELD: a folder level per spec.
struct PartitionSpec {
  json::Path path;
  std::string name;  // the folder's key: FIELD (dots as '_'), or FIELD_day
  bool day = false;
};

PartitionSpec parse_partition(const std::string& spec) {
  PartitionSpec p;
  std::string field = spec;
  if (spec.rfind("day:", 0) == 0) {
    p.day = true;
    field = spec.substr(4);
  }
  if (field.empty()) throw UsageError("--partition-by: expected FIELD or day:FIELD, not '" + spec + "'");
  p.path = json::Path(field);
  for (size_t i = 0; i < p.path.parts().size(); ++i) p.name += (i ? "_" : "") + p.path.parts()[i];
  if (p.day) p.name += "_day";
  return p;
}

// The coordinates a record is acknowledged with once its file is durable.
struct Coordinates {
  uint32_t topic;  // index into Loader::topics_
  int32_t partition;
  int64_t offset;
};

struct OpenFile {
  fs::path folder, temp, final_path;
  int fd = -1;
  std::unique_ptr<FileWriter> writer;
  uint64_t records = 0;
  Clock::time_point opened, last_used;
  std::vector<Coordinates> pending_acks;
};

class Loader {
 public:
  Loader(const Options& o, RunContext& ctx) : o_(o), ctx_(ctx), rejects_(o.rejects, ctx.stats) {}
  int run();

 private:
  void configure();
  void handle_record(const Record& record);
  std::string partition_folder(simdjson::dom::element record, std::string& reason);
  OpenFile& file_for(const std::string& folder);
  void commit(const std::string& folder);
  void commit_all();
  void roll_old_files();
  int next_timeout_ms() const;
  uint32_t topic_index(const std::string& topic);

  const Options& o_;
  RunContext& ctx_;
  RejectSink rejects_;
  std::optional<Intake> intake_;
  fs::path root_;
  WriterConfig config_;
  std::optional<RowBuilder> rows_;
  std::vector<SchemaColumn> columns_;
  std::vector<PartitionSpec> partitions_;
  std::unique_ptr<FileNamer> namer_;
  uint64_t roll_bytes_ = 0;
  int64_t roll_age_ms_ = 0;
  std::map<std::string, OpenFile> open_;  // by partition folder ("" without partitioning)
  std::vector<std::string> topics_;
  std::vector<Cell> cells_;
};

void Loader::configure() {
  if (o_.dir.empty()) throw UsageError("--dir is required");
  Format format = parse_format(o_.format);
  config_.format = format;
  Compression c = o_.compression.empty() ? (format == Format::parquet ? Compression::snappy : Compression::none)
                                         : parse_compression(o_.compression);
  if (format == Format::parquet && c == Compression::gzip)
    throw UsageError("--compression gzip is for ndjson and csv; Parquet pages take snappy, zstd or none");
  if (format != Format::parquet && c == Compression::snappy)
    throw UsageError("--compression snappy is for parquet; ndjson and csv take gzip, zstd or none");
  config_.compression = c;
  config_.level = o_.compression_level;
  if (o_.compression_level < 0 || o_.compression_level > 22)
    throw UsageError("--compression-level: expected 1-9 (gzip) or 1-22 (zstd)");
  if (o_.nested != "json" && o_.nested != "flatten") throw UsageError("--nested: expected flatten or json");
  if (!o_.schema_file.empty()) {
    auto nested = o_.nested == "flatten" ? jsonschema::Nested::flatten : jsonschema::Nested::json;
    columns_ = jsonschema::columns_from_schema(o_.schema_file, nested);
    rows_.emplace(columns_);
    config_.columns = &rows_->columns();
    config_.parquet_schema = rows_->parquet_schema();
  } else if (format != Format::ndjson) {
    throw UsageError(std::string("--format ") + o_.format +
                     " needs --schema FILE: its columns and their types come from a JSON Schema "
                     "(only ndjson passes records through without one)");
  }
  if (o_.roll_records < 1) throw UsageError("--roll-records: expected 1 or more");
  roll_bytes_ = parse_size_bytes(o_.roll_bytes, "--roll-bytes");
  roll_age_ms_ = parse_duration_ms(o_.roll_age, "--roll-age");
  if (roll_bytes_ == 0 || roll_age_ms_ <= 0) throw UsageError("--roll-bytes and --roll-age must be above 0");
  if (o_.row_group_rows < 1) throw UsageError("--row-group-rows: expected 1 or more");
  config_.row_group_rows = o_.row_group_rows;
  config_.row_group_bytes = static_cast<int64_t>(parse_size_bytes(o_.row_group_bytes, "--row-group-bytes"));
  if (o_.max_open_files < 1) throw UsageError("--max-open-files: expected 1 or more");
  for (const auto& spec : o_.partition_by) partitions_.push_back(parse_partition(spec));
  namer_ = std::make_unique<FileNamer>(extension(format, c));
  root_ = o_.dir;
}

uint32_t Loader::topic_index(const std::string& topic) {
  for (size_t i = 0; i < topics_.size(); ++i)
    if (topics_[i] == topic) return static_cast<uint32_t>(i);
  topics_.push_back(topic);
  return static_cast<uint32_t>(topics_.size() - 1);
}

std::string Loader::partition_folder(simdjson::dom::element record, std::string& reason) {
  std::string folder;
  for (const auto& p : partitions_) {
    auto e = p.path.find(record);
    std::optional<std::string> text;
    if (e && !e->is_null()) {
      if (e->is_array() || e->is_object()) {
        reason = fmt::format("--partition-by {}: the value is {}, not a scalar", p.path.spec(),
                             e->is_array() ? "an array" : "an object");
        return {};
      }
      text = json::scalar_text(*e);
      if (p.day) {
        auto us = e->is_string() ? parse_date_time_us(*text) : std::nullopt;
        if (!us && e->is_string()) {
          if (auto days = parse_date_days(*text)) us = static_cast<int64_t>(*days) * 86'400'000'000LL;
        }
        if (!us) {
          reason = fmt::format("--partition-by day:{}: not an RFC 3339 date-time or a date", p.path.spec());
          return {};
        }
        int64_t days = *us / 86'400'000'000LL - (*us % 86'400'000'000LL < 0 ? 1 : 0);
        text = calendar::format_date(days);
      }
    }
    if (!folder.empty()) folder += '/';
    folder += hive_segment(p.name, text ? &*text : nullptr);
  }
  return folder;
}

void Loader::handle_record(const Record& record) {
  std::string reason;
  if (rows_) {
    reason = rows_->build(record.value, cells_);
    if (!reason.empty()) return intake_->reject(record, rows_->last_code(), reason);
  }
  std::string folder = partition_folder(record.value, reason);
  if (!reason.empty()) return intake_->reject(record, RejectCode::bad_value, reason);
  OpenFile& f = file_for(folder);
  // An envelope's value was copied out as minified JSON (IntakeRules).
  f.writer->write(rows_ ? &cells_ : nullptr, record.envelope ? std::string_view(record.envelope->value) : record.line.text);
  f.records++;
  f.last_used = Clock::now();
  if (auto c = record.coordinates(); c && intake_->acks_enabled())
    f.pending_acks.push_back({topic_index(c->topic), c->partition, c->offset});
  if (f.records >= static_cast<uint64_t>(o_.roll_records) || f.writer->size() >= roll_bytes_) commit(folder);
}

OpenFile& Loader::file_for(const std::string& folder) {
  if (auto it = open_.find(folder); it != open_.end()) return it->second;
  if (open_.size() >= static_cast<size_t>(o_.max_open_files)) {  // close the least recently used
    auto lru = open_.begin();
    for (auto it = open_.begin(); it != open_.end(); ++it)
      if (it->second.last_used < lru->second.last_used) lru = it;
    commit(lru->first);
  }
  OpenFile f;
  f.folder = folder.empty() ? root_ : root_ / folder;
  make_dirs_durable(f.folder);
  for (int attempt = 0; f.fd < 0; ++attempt) {
    if (attempt == 100) throw IoError("cannot create a temporary file in " + f.folder.string());
    std::string name = namer_->next();
    f.final_path = f.folder / name;
    f.temp = f.folder / temp_name(name);
    f.fd = create_locked_temp(f.temp);
  }
  f.writer = make_writer(f.fd, config_);
  f.opened = f.last_used = Clock::now();
  log::debug("writing {}", f.temp.string());
  return open_.emplace(folder, std::move(f)).first->second;
}

void Loader::commit(const std::string& folder) {
  auto it = open_.find(folder);
  if (it == open_.end()) return;
  OpenFile& f = it->second;
  f.writer->finish();
  uint64_t size = f.writer->size();
  commit_file(f.fd, f.temp, f.final_path);
  ::close(f.fd);
  f.fd = -1;
  ctx_.stats.records_out += f.records;
  ctx_.stats.add("files");
  ctx_.stats.add("file_bytes", size);
  log::debug("wrote {} ({} records, {} bytes)", f.final_path.string(), f.records, size);
  std::vector<Ack> acks;
  acks.reserve(f.pending_acks.size());
  for (const auto& a : f.pending_acks) acks.push_back({topics_[a.topic], a.partition, a.offset});
  intake_->acknowledge(acks);
  open_.erase(it);
}

void Loader::commit_all() {
  while (!open_.empty()) commit(open_.begin()->first);
}

void Loader::roll_old_files() {
  if (open_.empty()) return;
  const auto cutoff = Clock::now() - std::chrono::milliseconds(roll_age_ms_);
  for (auto it = open_.begin(); it != open_.end();) {
    const std::string folder = it->first;
    const bool old = it->second.opened <= cutoff;
    ++it;  // commit() erases the entry: step past it first
    if (old) commit(folder);
  }
}

int Loader::next_timeout_ms() const {
  if (open_.empty()) return -1;
  auto oldest = Clock::now();
  for (const auto& [folder, f] : open_) oldest = std::min(oldest, f.opened);
  auto due = oldest + std::chrono::milliseconds(roll_age_ms_) - Clock::now();
  return static_cast<int>(std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(due).count() + 1));
}

int Loader::run() {
  configure();
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) throw IoError("--dir " + root_.string() + ": " + ec.message());
  if (uint64_t n = remove_stale_temps(root_)) ctx_.stats.set("stale_temps_removed", n);
  intake_.emplace(o_.inputs, o_.intake, IntakeRules{.require_object = true, .copy_envelope_value = true}, rejects_,
                  ctx_.stats);
  Record record;
  bool done = false;
  while (!done && !stop_requested()) {
    switch (intake_->next(record, next_timeout_ms())) {
      case ReadStatus::line:
        handle_record(record);
        roll_old_files();  // also while lines keep coming faster than the timeout
        break;
      case ReadStatus::timeout: roll_old_files(); break;
      case ReadStatus::eof:
      case ReadStatus::stopped: done = true; break;
    }
  }
  // End of input or a stop request: every open file is completed and committed.
  commit_all();
  rejects_.flush();
  if (stop_requested()) log::info("stopped by signal after {} records", ctx_.stats.records_in.load());
  return rejects_.exit_status(ctx_.stats.records_in);
}

}  // namespace

int run(const Options& opts, RunContext& ctx) {
  Loader loader(opts, ctx);
  return loader.run();
}

}  // namespace pipekit::fileload
