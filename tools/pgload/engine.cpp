// pgload's run: records from the intake, encoded into COPY rows as they
// arrive (streamed to the server while the batch fills), one transaction per
// batch, its end overlapped with the next batch's reading; a refused batch
// bisected, a lost connection recovered and the batch replayed. The parts:
// batch (rows and keys), column_plan, merge_plan (the SQL), copy_stream,
// session (reconnects, in-doubt COMMITs), pending_end (the overlapped end),
// split (two connections), bisect.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>

#include "batch.hpp"
#include "bisect.hpp"
#include "column_plan.hpp"
#include "copy_stream.hpp"
#include "encode.hpp"
#include "engine.hpp"
#include "merge_plan.hpp"
#include "pending_end.hpp"
#include "pipekit/errors.hpp"
#include "pipekit/intake.hpp"
#include "pipekit/log.hpp"
#include "pipekit/rejects.hpp"
#include "pipekit/signals.hpp"
#include "session.hpp"
#include "split.hpp"
#include "table.hpp"

namespace pipekit::pgload {

class Loader {
 public:
  Loader(const Options& o, RunContext& ctx);
  int run();

 private:
  // the table
  void prepare_table();
  void create_table(std::vector<ColumnDef> cols);
  void plan(TableInfo info);
  void create_from_batch();
  // reading
  int read_timeout() const;
  int64_t ms_left() const;
  void take(const Record& record);
  void reject_unread(const Record& record, const std::string& reason);
  void stream();
  // a batch's load
  void flush();
  void flush_batch(bool overlap);
  bool load_once(bool overlap, bool bisecting);
  void load_whole();
  void load_bisecting();
  std::optional<Refusal> try_rows(const std::vector<size_t>& idx);
  uint64_t merge();
  bool send_split();
  void send_whole();
  void finish_batch(Batch& b, uint64_t affected);
  // the previous batch's end
  void poll_previous();
  void end_previous();
  void previous_failed(const PgError& e);
  bool recover(const PgError& e);
  void rollback();
  std::string progress(bool open_batch) const;

  const Options& o_;
  RunContext& ctx_;
  RejectSink rejects_;
  TableName table_name_;
  std::vector<MapSpec> maps_;
  std::vector<std::string> primary_key_, key_option_;
  std::vector<ColumnDef> schema_cols_;
  std::optional<Intake> intake_;
  Encoder encoder_;
  std::optional<FirstBatchTypes> first_types_;  // --create without --schema: types from the first batch
  std::optional<TableInfo> info_;
  MergePlan plan_;
  KeyHasher keys_;
  DirectPolicy policy_;
  Session session_;
  CopyStream copy_;
  Split split_;
  PendingEnd end_;
  Batch batch_;
  // A rejected envelope is acknowledged (with its batch, in input order)
  // only when its reject is in the --rejects file.
  bool ack_rejects_ = false;
  uint64_t affected_ = 0;  // rows written by the batch being loaded (ignore: conflicts)
  uint64_t committed_ = 0;
};

Loader::Loader(const Options& o, RunContext& ctx)
    : o_(o),
      ctx_(ctx),
      rejects_(o.rejects, ctx.stats),
      encoder_(o.strict_fields),
      policy_(o.mode != Mode::insert),
      session_(o.dsn, o.retries, ctx.stats, [this](Conn& c) { if (info_ && plan_.staged()) c.exec(plan_.stage_sql()); },
               [this](bool open_batch) { return progress(open_batch); }),
      copy_(session_, plan_, policy_),
      split_(o.dsn),
      end_(session_, split_, copy_, plan_, policy_, [this](Batch& b, uint64_t affected) { finish_batch(b, affected); }) {
  table_name_ = parse_table_name(o.table);
  for (const auto& m : o.maps) maps_.push_back(parse_map(m));
  if (!o.primary_key.empty()) primary_key_ = split_columns(o.primary_key);
  if (!o.key.empty()) {
    if (o.mode == Mode::insert) throw UsageError("--key is for --mode upsert or ignore");
    key_option_ = split_columns(o.key);
  }
  if (!o.primary_key.empty() && !o.create) throw UsageError("--primary-key is for --create");
  if (!o.schema_file.empty() && !o.create) throw UsageError("--schema is for --create");
  if (o.batch_rows == 0) throw UsageError("--batch-rows must be at least 1");
  if (o.retries < 0) throw UsageError("--retries must be 0 or more");
  for (const auto& m : maps_)
    if (m.env != EnvField::none && !o.intake.envelope)
      throw UsageError("--map " + m.column + "=@...: envelope fields need --envelope");
  if (!o.schema_file.empty()) schema_cols_ = columns_from_schema(o.schema_file);
}

std::string Loader::progress(bool open_batch) const {
  if (!open_batch) return fmt::format("{} record(s) committed", committed_);
  return fmt::format("{} record(s) committed, {} in the open batch not loaded", committed_, batch_.rows.size());
}

int Loader::run() {
  session_.connect_first();
  prepare_table();
  // A whole-record column (--jsonb) takes an envelope's value as text.
  intake_.emplace(std::vector<std::string>{}, o_.intake,
                  IntakeRules{.require_object = true, .copy_envelope_value = !o_.jsonb_column.empty()}, rejects_,
                  ctx_.stats);
  ack_rejects_ = intake_->acks_enabled() && rejects_.to_file();
  Record record;
  for (;;) {
    ReadStatus st = intake_->next(record, read_timeout());
    if (st == ReadStatus::timeout) {
      if (end_.active()) end_previous();
      else flush();
      continue;
    }
    if (st != ReadStatus::line) break;
    take(record);
    if (batch_.rows.size() >= o_.batch_rows || batch_.raw.size() >= o_.batch_bytes ||
        (!batch_.empty() && ms_left() <= 0))
      flush();
  }
  if (stop_requested()) log::info("stopping on signal {}: committing the open batch", stop_signal());
  flush();
  end_previous();
  rejects_.flush();
  return rejects_.exit_status(ctx_.stats.records_in);
}

// With a batch open, input is awaited no longer than its deadline, nor (with
// --flush-idle) than the quiet time after which it is committed: a trickle
// lands within milliseconds instead of --flush-interval. A batch still
// ending: only what is already there is read, then the server is awaited
// (its acks must not wait for more input).
int Loader::read_timeout() const {
  if (end_.active()) return 0;
  if (batch_.empty()) return -1;
  int64_t wait = std::max<int64_t>(0, ms_left());
  if (o_.flush_idle_ms > 0) wait = std::min(wait, o_.flush_idle_ms);
  return static_cast<int>(wait);
}

int64_t Loader::ms_left() const {
  return o_.flush_interval_ms -
         std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - batch_.started).count();
}

// ---- the table ------------------------------------------------------------------

void Loader::prepare_table() {
  std::optional<TableInfo> info;
  session_.retrying([&] { info = introspect(session_.conn(), table_name_); });
  if (info) {
    if (!schema_cols_.empty()) log::info("table {} exists: --schema not used", table_name_.display());
    return plan(std::move(*info));
  }
  if (!o_.create) throw UsageError("table " + table_name_.display() + " does not exist (use --create)");
  if (!schema_cols_.empty()) return create_table(schema_cols_);
  log::info("table {} does not exist: it will be created from the first batch", table_name_.display());
  first_types_.emplace(maps_, o_.jsonb_column);  // the first flush creates it
}

void Loader::create_table(std::vector<ColumnDef> cols) {
  // With upsert/ignore and no --primary-key, the conflict key is the primary key.
  const auto& pk = primary_key_.empty() && o_.mode != Mode::insert ? key_option_ : primary_key_;
  cols = columns_to_create(std::move(cols), maps_, o_.jsonb_column, pk);
  std::string sql = create_table_sql(table_name_, cols, pk);
  log::info("creating table {} ({} columns)", table_name_.display(), cols.size());
  log::debug("{}", sql);
  std::optional<TableInfo> info;
  session_.retrying([&] {
    session_.conn().exec(sql);
    info = introspect(session_.conn(), table_name_);
  });
  if (!info) throw ServiceError("table " + table_name_.display() + " vanished right after CREATE TABLE");
  plan(std::move(*info));
}

void Loader::plan(TableInfo info) {
  ColumnPlan cols = plan_columns(info, maps_, o_.jsonb_column);
  std::vector<std::string> key = conflict_key(o_.mode, key_option_, info, cols.loaded);
  log::debug("loading columns: {}", column_list(cols.loaded));
  plan_ = MergePlan(o_.mode, MergeColumns{info.name.quoted(), cols.loaded, cols.types, key});
  keys_ = KeyHasher(o_.mode == Mode::upsert ? plan_.key_positions() : std::vector<size_t>{});
  encoder_.set_plan(std::move(cols.sources), std::move(cols.known));
  info_ = std::move(info);
  if (plan_.staged()) session_.retrying([&] { session_.conn().exec(plan_.stage_sql()); });
}

// First batch of a table to create: its types were observed as it was read;
// now that the columns are known, encode what was held back (each line
// parsed once more: this batch only).
void Loader::create_from_batch() {
  create_table(first_types_->columns());
  first_types_.reset();
  RecordParser parser(o_.intake, IntakeRules{.require_object = true, .copy_envelope_value = !o_.jsonb_column.empty()});
  Record record;
  for (auto& r : batch_.rows) {
    Line line;
    line.number = r.line;
    line.text = batch_.original(r);
    line.length = line.text.size();
    size_t before = batch_.enc.size();
    std::string reason = parser.parse(line, record, false) ? "the record no longer parses"
                                                           : encoder_.encode(record, batch_.enc);
    if (reason.empty()) {
      batch_.encoded(r, before, keys_);
      continue;
    }
    batch_.enc.resize(before);
    batch_.reject(r, ack_rejects_);
    intake_->reject(batch_.kept(r), RejectCode::bad_value, reason);
  }
}

// ---- reading --------------------------------------------------------------------

void Loader::take(const Record& record) {
  size_t before = batch_.enc.size();
  bool ready = encoder_.has_plan();
  if (ready) {
    std::string reason = encoder_.encode(record, batch_.enc);
    if (!reason.empty()) return reject_unread(record, reason);
  } else {
    first_types_->observe(record.value);
  }
  Row& r = batch_.add(record.line.number, record.line.text, before,
                      intake_->acks_enabled() ? record.coordinates() : std::nullopt);
  if (ready) batch_.note_key(r, keys_);
  if (end_.active() && batch_.rows.size() % 64 == 0) poll_previous();
  // A batch to be split goes out whole at its flush, over both connections.
  if (ready && !end_.active() && !split_.splitting(plan_, policy_) && batch_.enc.size() - copy_.sent() >= kStreamChunk)
    stream();
}

// A record the encoder refused (--strict-fields): rejected now, its
// coordinates acknowledged with the batch it would have joined, in order.
void Loader::reject_unread(const Record& record, const std::string& reason) {
  intake_->reject(KeptRecord{record.line.number, record.input, record.line.text, true, std::nullopt},
                  RejectCode::bad_value, reason);
  if (!ack_rejects_) return;
  if (auto c = record.coordinates()) batch_.add_ack(std::move(*c));
}

static double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Sends what is encoded so far, so the server works while we parse.
void Loader::stream() {
  const auto t0 = Clock::now();
  try {
    copy_.begin();
    copy_.put_rest(batch_.enc);
  } catch (const PgError& e) {
    // Whatever it was, the flush redoes the batch from the start.
    if (e.connection_lost()) recover(e);
    else rollback();
  }
  batch_.stream_ms += ms_since(t0);
}

bool Loader::recover(const PgError& e) {
  copy_.reset();
  return session_.recover(e);
}

void Loader::rollback() {
  copy_.reset();
  session_.rollback_quietly();
}

// ---- a batch's load -------------------------------------------------------------

void Loader::flush() {
  end_previous();  // one transaction at a time, in input order
  flush_batch(true);
}

// overlap: the batch's end may be left to the server (PendingEnd finishes
// it); otherwise it is committed here.
void Loader::flush_batch(bool overlap) {
  if (batch_.empty()) return;
  batch_.flush_started = Clock::now();
  if (!info_) {
    if (batch_.rows.empty()) return finish_batch(batch_, 0);  // only acks of rejects: no types to infer yet
    create_from_batch();
  }
  bool bisecting = false;
  session_.reset_outages();
  for (;;) {
    affected_ = 0;
    try {
      if (batch_.live_rows() == 0) break;
      if (overlap && !bisecting && !batch_.server_found_dup_keys()) {
        if (copy_.open() || !split_.ready(batch_, plan_, policy_) || !send_split()) send_whole();
        return;
      }
      if (bisecting) load_bisecting();
      else load_whole();
      break;
    } catch (const PgError& e) {
      copy_.reset();
      if (e.connection_lost()) {
        if (recover(e)) break;
        continue;
      }
      rollback();
      if (e.sqlstate() == "21000" && o_.mode == Mode::upsert && !batch_.server_found_dup_keys()) {
        batch_.set_server_dup_keys();  // equal keys written differently: let the server collapse them
        continue;
      }
      if (e.is_data_error() && !bisecting) {
        log::debug("batch refused ({}): finding the bad rows", e.what());
        bisecting = true;
        continue;
      }
      if ((e.sqlstate() == "40001" || e.sqlstate() == "40P01") && session_.retry_transient()) continue;
      session_.fatal(e);
    }
  }
  finish_batch(batch_, affected_);
  copy_.reset();  // the next batch opens a COPY of its own
}

uint64_t Loader::merge() {
  auto r = session_.conn().exec(plan_.merge_sql(batch_.distinct()));
  uint64_t n = std::strtoull(PQcmdTuples(r.get()), nullptr, 10);
  affected_ += n;
  return n;
}

void Loader::load_whole() {
  copy_.begin();
  copy_.put_rest(batch_.enc);
  bool direct = copy_.state() == CopyStream::State::direct;
  if (!direct) {
    copy_.end();
    if (plan_.staged()) {
      merge();
      policy_.staged_batch_done();
    }
    session_.commit();
    return;
  }
  try {
    copy_.end();
    affected_ += batch_.live_rows();
  } catch (const PgError& e) {
    if (e.sqlstate() != "23505") throw;
    copy_.restage(batch_.enc);
    merge();
  }
  session_.commit();
}

// One transaction; each piece under a savepoint, halves of a refused piece
// retried, single refused rows rejected with the database's reason.
void Loader::load_bisecting() {
  session_.begin();
  bisect(batch_.live_indexes(), [this](const std::vector<size_t>& idx) { return try_rows(idx); },
         [this](size_t i, const Refusal& why) {
           Row& r = batch_.rows[i];
           batch_.reject(r, ack_rejects_);
           intake_->reject(batch_.kept(r), RejectCode::sql, "database refused the row: " + why.message,
                           fmt::format("\"sqlstate\":\"{}\"", why.sqlstate));
         });
  session_.commit();
}

std::optional<Refusal> Loader::try_rows(const std::vector<size_t>& idx) {
  Conn& c = session_.conn();
  try {
    c.exec("SAVEPOINT pgload");
    if (plan_.staged()) c.exec(plan_.truncate_stage_sql());
    c.copy_begin(plan_.copy_sql());
    std::string data = batch_.copy_text(idx);
    c.copy_put(data.data(), data.size());
    c.copy_end();
    if (plan_.staged()) merge();
    c.exec("RELEASE SAVEPOINT pgload");
    return std::nullopt;
  } catch (const PgError& e) {
    if (!e.is_data_error()) throw;
    c.exec("ROLLBACK TO SAVEPOINT pgload");
    return Refusal{e.what(), e.sqlstate()};
  }
}

// The batch is sent and its COPY ended; the rest of its end goes on while
// the next batch fills (PendingEnd).
void Loader::send_whole() {
  copy_.begin();
  copy_.put_rest(batch_.enc);
  auto route = copy_.state() == CopyStream::State::direct ? PendingEnd::Route::direct
               : plan_.staged()                             ? PendingEnd::Route::staged
                                                            : PendingEnd::Route::insert;
  copy_.send_end();
  end_.start(batch_, route);
}

// False when sending failed (both transactions are then undone).
bool Loader::send_split() {
  if (!split_.send(batch_, session_.conn(), plan_)) {
    rollback();
    return false;
  }
  end_.start(batch_, PendingEnd::Route::split);
  return true;
}

// Batch `b` is committed (`affected` rows written): count it, then send its
// acks (after the rejects), and empty it.
void Loader::finish_batch(Batch& b, uint64_t affected) {
  size_t loaded = b.live_rows();
  if (loaded)
    log::debug("batch of {} row(s) committed: filled in {:.1f} ms ({:.1f} of it sending), ended in {:.1f} ms",
               loaded, std::chrono::duration<double, std::milli>(b.flush_started - b.started).count(), b.stream_ms,
               ms_since(b.flush_started));
  committed_ += loaded;
  ctx_.stats.records_out += loaded;
  ctx_.stats.add("batches");
  if (o_.mode == Mode::ignore && affected < loaded) ctx_.stats.add("conflicts", loaded - affected);
  rejects_.flush();
  intake_->acknowledge(b.acks_to_send());
  b.clear();
}

// ---- the previous batch's end ---------------------------------------------------

// Non-blocking: moves the previous batch's end along if the server has answered.
void Loader::poll_previous() {
  try {
    while (end_.active() && !end_.busy()) end_.step();
  } catch (const PgError& e) {
    previous_failed(e);
  }
}

// Waits until the previous batch is committed (or has gone the slow way).
void Loader::end_previous() {
  try {
    while (end_.active()) end_.step();
  } catch (const PgError& e) {
    previous_failed(e);
  }
}

// The previous batch's end failed: it goes the synchronous way, which
// retries, bisects or reconnects as for any batch (and works on batch_,
// hence the swap: the batch being read waits in the PendingEnd meanwhile).
void Loader::previous_failed(const PgError& e) {
  bool split = end_.route() == PendingEnd::Route::split;
  end_.abandon();
  std::swap(batch_, end_.batch());
  copy_.reset();
  bool committed = false;
  if (split) {  // neither half's COMMIT is trusted: the batch is merged again
    log::debug("a split batch failed ({}): one connection", e.what());
    split_.drop();
    rollback();
  } else if (e.connection_lost()) {
    session_.reset_outages();
    committed = recover(e);
  } else {
    rollback();
    if (e.sqlstate() == "21000" && o_.mode == Mode::upsert) batch_.set_server_dup_keys();
  }
  if (committed) finish_batch(batch_, batch_.live_rows());
  else flush_batch(false);
  std::swap(batch_, end_.batch());
  copy_.reset();
}

int run(const Options& opts, RunContext& ctx) {
  Loader loader(opts, ctx);
  return loader.run();
}

}  // namespace pipekit::pgload
