// pgload's run: read NDJSON, encode COPY rows as they arrive (streaming them
// to the server while the batch fills), commit one transaction per batch,
// bisect a batch the database refuses, reconnect and replay on connection loss.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <set>
#include <unordered_set>
#include <thread>

#include "encode.hpp"
#include "pipekit/pg.hpp"
#include "pipekit/acks.hpp"
#include "pipekit/errors.hpp"
#include "pipekit/log.hpp"
#include "pipekit/ndjson.hpp"
#include "engine.hpp"
#include "pipekit/rejects.hpp"
#include "pipekit/signals.hpp"
#include "table.hpp"

namespace pipekit::pgload {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kStreamChunk = 1u << 20;  // send COPY data in ~1 MiB pieces
constexpr size_t kRowByRow = 8;            // bisect: below this, try rows one by one
constexpr int kStagedBatches = 16;         // upsert: staged batches after a key conflict
constexpr size_t kSplitRows = 1000;        // upsert: smallest batch split over two connections

struct Row {
  uint64_t line = 0;
  size_t raw_off = 0, raw_len = 0;
  size_t enc_off = 0, enc_len = 0;
  size_t key_hash = 0;  // upsert: hash of the key fields (COPY text)
  bool rejected = false;
};

struct Batch {
  std::string raw;          // original lines, back to back (for rejects, deferred encoding)
  std::string enc;          // COPY rows
  std::vector<Row> rows;
  std::vector<Coord> acks;  // every envelope of the batch, loaded or rejected
  uint64_t records = 0;     // records waiting for this batch's commit
  Clock::time_point started;
  // the debug log's figures: time spent sending while filling, when its flush began
  double stream_ms = 0;
  Clock::time_point flush_started;
  std::unordered_set<size_t> keys;  // upsert: hashes of the key fields (COPY text) seen
  bool dup_keys = false;
  void clear() {
    keys.clear();
    dup_keys = false;
    raw.clear();
    enc.clear();
    rows.clear();
    acks.clear();
    records = 0;
    stream_ms = 0;
  }
};

Mode parse_mode(const std::string& m) {
  if (m == "insert") return Mode::insert;
  if (m == "upsert") return Mode::upsert;
  if (m == "ignore") return Mode::ignore;
  throw UsageError("--mode: expected insert, upsert or ignore, not '" + m + "'");
}

std::string column_list(const std::vector<std::string>& cols) {
  std::string out;
  for (size_t i = 0; i < cols.size(); ++i) out += (i ? ", " : "") + quote_ident(cols[i]);
  return out;
}

class Loader {
 public:
  Loader(const Options& o, RunContext& ctx)
      : o_(o), ctx_(ctx), rejects_(o.rejects, ctx.stats), encoder_(o.envelope, o.strict_fields) {
    mode_ = parse_mode(o.mode);
    table_name_ = parse_table_name(o.table);
    for (const auto& m : o.maps) maps_.push_back(parse_map(m));
    if (!o.primary_key.empty()) primary_key_ = split_columns(o.primary_key);
    if (!o.key.empty()) {
      if (mode_ == Mode::insert) throw UsageError("--key is for --mode upsert or ignore");
      key_ = split_columns(o.key);
    }
    if (!o.primary_key.empty() && !o.create) throw UsageError("--primary-key is for --create");
    if (!o.schema_file.empty() && !o.create) throw UsageError("--schema is for --create");
    if (o.batch_rows == 0) throw UsageError("--batch-rows must be at least 1");
    batch_bytes_ = parse_size_bytes(o.batch_bytes, "--batch-bytes");
    flush_ms_ = parse_duration_ms(o.flush_interval, "--flush-interval");
    idle_ms_ = parse_duration_ms(o.flush_idle, "--flush-idle");
    max_line_ = parse_size_bytes(o.max_line_bytes, "--max-line-bytes");
    if (max_line_ == 0) throw UsageError("--max-line-bytes must be positive");
    if (o.retries < 0) throw UsageError("--retries must be 0 or more");
    for (const auto& m : maps_)
      if (m.env != EnvField::none && !o.envelope)
        throw UsageError("--map " + m.column + "=@...: envelope fields need --envelope");
    if (!o.schema_file.empty()) schema_cols_ = columns_from_schema(o.schema_file);
  }

  int run() {
    connect_first();
    prepare_table();
    if (!o_.ack_path.empty()) acks_ = AckWriter(o_.ack_path);
    LineReader reader(STDIN_FILENO, max_line_);
    Line line;
    for (;;) {
      // With a batch open, wait for input no longer than its deadline, nor
      // (with --flush-idle) than the quiet time after which it is committed:
      // a trickle lands within milliseconds instead of --flush-interval. The
      // wait only happens once the buffered input is used up.
      int timeout = -1;
      if (batch_.records) {
        int64_t wait = std::max<int64_t>(0, ms_left());
        if (idle_ms_ > 0) wait = std::min(wait, idle_ms_);
        timeout = static_cast<int>(wait);
      }
      // A batch still ending: read on only what is already there, then
      // wait for the server (its acks must not wait for more input).
      if (ending_ != Ending::none) timeout = 0;
      ReadStatus st = reader.next(line, timeout);
      if (st == ReadStatus::timeout) {
        if (ending_ != Ending::none) end_previous();
        else flush();
        continue;
      }
      if (st != ReadStatus::line) break;
      ctx_.stats.records_in++;
      ctx_.stats.bytes = reader.bytes_read();
      take(line);
      if (batch_.rows.size() >= o_.batch_rows || batch_.raw.size() >= batch_bytes_ ||
          (batch_.records && ms_left() <= 0))
        flush();
    }
    if (stop_requested()) log::info("stopping on signal {}: committing the open batch", stop_signal());
    flush();
    end_previous();
    ctx_.stats.bytes = reader.bytes_read();
    return rejects_.exit_status(ctx_.stats.records_in);
  }

 private:
  int64_t ms_left() const {
    return flush_ms_ -
           std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - batch_.started).count();
  }

  // ---- connection ------------------------------------------------------------
  void connect_first() {
    try {
      open_connection();
    } catch (const PgError& e) {
      recover(e);
    }
  }

  void open_connection() {
    conn_.reset();
    conn_ = std::make_unique<Conn>(o_.dsn);
    in_copy_ = false;
    if (staged() && info_) create_stage();
  }

  // Reconnects with backoff; true when the batch whose COMMIT was in doubt
  // turns out to have committed. Throws ServiceError after --retries.
  bool recover(const PgError& first) {
    in_copy_ = false;
    sent_ = 0;
    if (++outages_ > o_.retries + 1)
      throw ServiceError(unavailable_message(first.what(), "the connection kept failing"));
    log::warn("PostgreSQL connection lost or unavailable: {}; reconnecting", first.what());
    std::string last = first.what();
    for (int attempt = 1; attempt <= o_.retries; ++attempt) {
      auto wait = std::chrono::milliseconds(std::min<int64_t>(5000, 100LL << std::min(attempt - 1, 10)));
      std::this_thread::sleep_for(wait);
      try {
        open_connection();
        ctx_.stats.add("reconnects");
        log::info("reconnected to PostgreSQL (attempt {})", attempt);
        if (!in_doubt_) return false;
        in_doubt_ = false;
        auto r = conn_->exec_params("SELECT txid_status($1::bigint)", {xid_});
        std::string status = PQgetisnull(r.get(), 0, 0) ? "" : PQgetvalue(r.get(), 0, 0);
        log::info("the interrupted COMMIT {}", status == "committed" ? "did commit" : "did not commit: replaying");
        return status == "committed";
      } catch (const PgError& e) {
        last = e.what();
        log::debug("reconnect attempt {} failed: {}", attempt, last);
      }
    }
    throw ServiceError(unavailable_message(last, fmt::format("after {} retries", o_.retries)));
  }

  std::string unavailable_message(const std::string& why, const std::string& how) const {
    return fmt::format("PostgreSQL unavailable {}: {}; {} record(s) committed, {} in the open batch not loaded",
                       how, why, committed_, batch_.rows.size());
  }

  [[noreturn]] void fatal(const PgError& e) const {
    std::string msg = fmt::format("PostgreSQL: {} (SQLSTATE {})", e.what(), e.sqlstate().empty() ? "none" : e.sqlstate());
    msg += fmt::format("; {} record(s) committed", committed_);
    // Permissions, undefined objects, bad credentials: the user must fix something.
    if (e.sqlstate().rfind("42", 0) == 0 || e.sqlstate().rfind("28", 0) == 0) throw UsageError(msg);
    throw ServiceError(msg);
  }

  void rollback_quietly() {
    in_copy_ = false;
    sent_ = 0;
    if (!conn_ || !conn_->ok()) return;
    try {
      conn_->exec("ROLLBACK");
    } catch (const PgError&) {
    }
  }

  // ---- the table ---------------------------------------------------------------
  bool staged() const { return mode_ != Mode::insert; }

  // With retries: runs f, reconnecting on connection loss.
  template <typename F>
  void retrying(F f) {
    for (;;) {
      try {
        f();
        return;
      } catch (const PgError& e) {
        if (!e.connection_lost()) fatal(e);
        recover(e);
      }
    }
  }

  void prepare_table() {
    std::optional<TableInfo> info;
    retrying([&] { info = introspect(*conn_, table_name_); });
    if (!info) {
      if (!o_.create) throw UsageError("table " + table_name_.display() + " does not exist (use --create)");
      if (!schema_cols_.empty()) {
        create_table(schema_cols_);
        return;
      }
      log::info("table {} does not exist: it will be created from the first batch", table_name_.display());
      return;  // deferred: the first flush infers the types
    }
    if (!schema_cols_.empty()) log::info("table {} exists: --schema not used", table_name_.display());
    plan(std::move(*info));
  }

  void create_table(std::vector<ColumnDef> cols) {
    // --map and --jsonb columns join the schema's/inferred ones.
    auto add = [&](const std::string& name, const std::string& type) {
      for (auto& c : cols)
        if (c.name == name) {
          if (!type.empty()) c.type = type;
          return;
        }
      cols.push_back({name, type.empty() ? "text" : type, false});
    };
    for (const auto& m : maps_) add(m.column, m.type.empty() ? env_type(m.env) : m.type);
    if (!o_.jsonb_column.empty()) add(o_.jsonb_column, "jsonb");
    std::vector<std::string> pk = primary_key_.empty() && staged() ? key_ : primary_key_;
    for (const auto& k : pk) {
      bool found = false;
      for (auto& c : cols)
        if (c.name == k) c.not_null = found = true;
      if (!found) throw UsageError("primary key column '" + k + "' is not among the columns to create");
    }
    if (cols.empty()) throw UsageError("--create: no columns to create (no fields in the first batch)");
    std::string sql = create_table_sql(table_name_, cols, pk);
    log::info("creating table {} ({} columns)", table_name_.display(), cols.size());
    log::debug("{}", sql);
    std::optional<TableInfo> info;
    retrying([&] {
      conn_->exec(sql);
      info = introspect(*conn_, table_name_);
    });
    if (!info) throw ServiceError("table " + table_name_.display() + " vanished right after CREATE TABLE");
    plan(std::move(*info));
  }

  static std::string env_type(EnvField f) {
    switch (f) {
      case EnvField::partition:
      case EnvField::offset: return "bigint";
      case EnvField::timestamp: return "timestamptz";
      case EnvField::topic:
      case EnvField::key: return "text";
      case EnvField::none: break;
    }
    return "";
  }

  // Which column gets what, fixed for the run.
  void plan(TableInfo info) {
    std::vector<Source> sources;
    std::vector<std::string> known;
    for (const auto& m : maps_) {
      const Column* c = info.find(m.column);
      if (!c) throw UsageError("--map: table " + info.name.display() + " has no column '" + m.column + "'");
      if (c->generated) throw UsageError("--map: column '" + m.column + "' is generated; it cannot be loaded");
      if (!m.path.empty()) known.push_back(json::Path(m.path).parts().front());
    }
    if (!o_.jsonb_column.empty()) {
      const Column* c = info.find(o_.jsonb_column);
      if (!c) throw UsageError("--jsonb: table " + info.name.display() + " has no column '" + o_.jsonb_column + "'");
      if (c->kind != Kind::json) throw UsageError("--jsonb: column '" + o_.jsonb_column + "' is " + c->type + ", not jsonb");
    }
    for (const auto& c : info.columns) {
      Source s;
      s.column = c.name;
      s.kind = c.kind;
      const MapSpec* m = nullptr;
      for (const auto& mm : maps_)
        if (mm.column == c.name) m = &mm;
      if (m) {
        if (m->env != EnvField::none) {
          s.from = Source::From::env;
          s.env = m->env;
        } else {
          s.from = Source::From::path;
          s.path = json::Path(m->path);
        }
      } else if (c.name == o_.jsonb_column) {
        s.from = Source::From::record;
      } else if (!c.has_default && !c.generated) {
        s.from = Source::From::field;
        s.field = c.name;
        known.push_back(c.name);
      } else {
        log::debug("column {} has a default: left to the database (--map {}={} loads it)", c.name, c.name, c.name);
        known.push_back(c.name);
        continue;
      }
      sources.push_back(std::move(s));
    }
    if (sources.empty()) throw UsageError("table " + info.name.display() + ": no column to load");
    loaded_.clear();
    for (const auto& s : sources) loaded_.push_back(s.column);

    if (staged()) {
      if (key_.empty()) key_ = info.primary_key;
      if (key_.empty() && mode_ == Mode::upsert)
        throw UsageError("--mode upsert needs a key: --key col[,col] or a primary key on " + info.name.display());
      for (const auto& k : key_)
        if (std::find(loaded_.begin(), loaded_.end(), k) == loaded_.end())
          throw UsageError("key column '" + k + "' is not loaded into " + info.name.display());
    }
    log::debug("loading columns: {}", column_list(loaded_));
    encoder_.set_plan(std::move(sources), std::move(known));
    info_ = std::move(info);
    build_sql();
    if (staged()) retrying([&] { create_stage(); });
  }

  void build_sql() {
    const std::string target = info_->name.quoted();
    const std::string cols = column_list(loaded_);
    // The staging table's row-order column must not clash with a real column.
    seq_ = "pgload_seq";
    while (std::find(loaded_.begin(), loaded_.end(), seq_) != loaded_.end()) seq_ += "_";
    const std::string stage = "pg_temp." + quote_ident("pgload_stage");
    direct_copy_sql_ = "COPY " + target + " (" + cols + ") FROM STDIN";
    if (!staged()) {
      copy_sql_ = direct_copy_sql_;
      return;
    }
    copy_sql_ = "COPY " + stage + " (" + cols + ") FROM STDIN";
    // Temp tables live as long as the session: made again after a reconnect.
    stage_sql_ = "CREATE TEMP TABLE " + quote_ident("pgload_stage") +
                 " ON COMMIT DELETE ROWS AS SELECT " + cols + " FROM " + target + " WITH NO DATA; ALTER TABLE " +
                 stage + " ADD COLUMN " + quote_ident(seq_) + " bigint GENERATED ALWAYS AS IDENTITY";
    const std::string keys = column_list(key_);
    if (mode_ == Mode::upsert) {
      // In-batch duplicates collapse to the last one (DISTINCT ON, newest
      // first), so ON CONFLICT never meets the same key twice in one
      // statement. That sort costs, so it only runs for a batch where the
      // client saw a repeated key (or the server found one the client's
      // text comparison missed: '01' and '1' in an int key).
      // An unchanged row is not rewritten (WHERE ... IS DISTINCT FROM): a
      // replay after a crash then costs reads, not new row versions.
      std::string set, old_vals, new_vals;
      for (const auto& c : loaded_) {
        if (std::find(key_.begin(), key_.end(), c) != key_.end()) continue;
        set += (set.empty() ? "" : ", ") + quote_ident(c) + " = EXCLUDED." + quote_ident(c);
        // Types without an equality operator compare as text.
        static const std::set<std::string> no_eq = {"json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle"};
        std::string cast = no_eq.count(info_->find(c)->type) ? "::text" : "";
        old_vals += std::string(old_vals.empty() ? "" : ", ") + "pgload_t." + quote_ident(c) + cast;
        new_vals += (new_vals.empty() ? "" : ", ") + std::string("EXCLUDED.") + quote_ident(c) + cast;
      }
      std::string conflict = " ON CONFLICT (" + keys + ") " +
                             (set.empty() ? "DO NOTHING"
                                          : "DO UPDATE SET " + set + " WHERE ROW(" + old_vals +
                                                ") IS DISTINCT FROM ROW(" + new_vals + ")");
      merge_sql_ = "INSERT INTO " + target + " AS pgload_t (" + cols + ") SELECT " + cols + " FROM " + stage + conflict;
      merge_distinct_sql_ = "INSERT INTO " + target + " AS pgload_t (" + cols + ") SELECT " + cols + " FROM (SELECT DISTINCT ON (" +
                            keys + ") * FROM " + stage + " ORDER BY " + keys + ", " + quote_ident(seq_) + " DESC) s" +
                            conflict;
      for (const auto& k : key_)
        key_pos_.push_back(static_cast<size_t>(std::find(loaded_.begin(), loaded_.end(), k) - loaded_.begin()));
      last_key_pos_ = key_pos_.empty() ? 0 : *std::max_element(key_pos_.begin(), key_pos_.end());
    } else {
      merge_sql_ = "INSERT INTO " + target + " (" + cols + ") SELECT " + cols + " FROM " + stage + " ORDER BY " +
                   quote_ident(seq_) + " ON CONFLICT " + (key_.empty() ? "" : "(" + keys + ") ") + "DO NOTHING";
    }
  }

  void create_stage() { conn_->exec(stage_sql_); }

  // First batch of a table to create: infer the column types from it.
  void create_from_batch() {
    TypeInference inf;
    Encoder probe(o_.envelope, false);
    for (const auto& m : maps_) {
      if (!m.type.empty()) inf.declare(m.column, m.type);
      else if (m.env != EnvField::none) inf.declare(m.column, env_type(m.env));
    }
    if (!o_.jsonb_column.empty()) inf.declare(o_.jsonb_column, "jsonb");
    std::vector<std::pair<std::string, json::Path>> paths;
    for (const auto& m : maps_)
      if (m.type.empty() && m.env == EnvField::none) paths.emplace_back(m.column, json::Path(m.path));
    for (const auto& r : batch_.rows) {
      auto rec = probe.record_of(std::string_view(batch_.raw).substr(r.raw_off, r.raw_len));
      if (!rec) continue;
      simdjson::dom::object obj = rec->get_object().value_unsafe();
      for (auto [key, value] : obj) {
        std::string k(key);
        bool mapped = k == o_.jsonb_column;
        for (const auto& m : maps_) mapped = mapped || m.column == k;
        if (!mapped) inf.observe(k, value);
      }
      for (const auto& [col, path] : paths)
        if (auto v = path.find(*rec)) inf.observe(col, *v);
    }
    create_table(inf.columns());
    // Now that the columns are known, encode what was held back.
    for (auto& r : batch_.rows) {
      size_t before = batch_.enc.size();
      auto res = encoder_.encode(std::string_view(batch_.raw).substr(r.raw_off, r.raw_len), false, &batch_.enc);
      if (!res.reason.empty()) {
        batch_.enc.resize(before);
        r.rejected = true;
        rejects_.reject(r.line, std::string_view(batch_.raw).substr(r.raw_off, r.raw_len), res.original_is_json,
                        res.reason);
        continue;
      }
      r.enc_off = before;
      r.enc_len = batch_.enc.size() - before;
      note_key(r);
    }
  }

  // Upsert: remembers a hash of the row's key (its COPY fields) to spot
  // duplicates. A collision only sends the batch down the DISTINCT ON way,
  // which is right for any batch; so a hash is enough, and no copy per row.
  void note_key(Row& r) {
    if (key_pos_.empty()) return;
    const char* field_start = batch_.enc.data() + r.enc_off;
    const char* end = field_start + r.enc_len - 1;  // without '\n'
    key_buf_.clear();
    for (size_t field = 0;; ++field) {  // COPY escapes tabs in values
      auto* tab = static_cast<const char*>(std::memchr(field_start, '\t', static_cast<size_t>(end - field_start)));
      const char* stop = tab ? tab : end;
      if (std::find(key_pos_.begin(), key_pos_.end(), field) != key_pos_.end()) {
        key_buf_.append(field_start, stop);
        key_buf_.push_back('\t');
      }
      if (!tab || field >= last_key_pos_) break;  // no key field after this one
      field_start = tab + 1;
    }
    r.key_hash = std::hash<std::string_view>{}(key_buf_);
    if (!batch_.dup_keys && !batch_.keys.insert(r.key_hash).second) batch_.dup_keys = true;
  }

  // ---- reading -------------------------------------------------------------------
  void take(const Line& line) {
    if (batch_.records == 0) batch_.started = Clock::now();
    if (line.too_long) {
      rejects_.reject(line.number, "", false,
                      fmt::format("line longer than --max-line-bytes ({} bytes or more)", line.length));
      return;
    }
    size_t before = batch_.enc.size();
    bool ready = encoder_.has_plan();
    auto res = encoder_.encode(line.text, true, ready ? &batch_.enc : nullptr);
    if (res.coord) {
      batch_.acks.push_back(std::move(*res.coord));
      batch_.records++;
    }
    if (!res.reason.empty()) {
      batch_.enc.resize(before);
      rejects_.reject(line.number, line.text, res.original_is_json, res.reason);
      return;
    }
    if (!res.coord) batch_.records++;
    Row r;
    r.line = line.number;
    r.raw_off = batch_.raw.size();
    r.raw_len = line.text.size();
    r.enc_off = before;
    r.enc_len = batch_.enc.size() - before;
    if (ready) note_key(r);
    batch_.raw.append(line.text);
    batch_.rows.push_back(r);
    if (ending_ != Ending::none && batch_.rows.size() % 64 == 0) poll_previous();
    // A batch to be split goes out whole at its flush, over both connections.
    if (ready && ending_ == Ending::none && !splitting() && batch_.enc.size() - sent_ >= kStreamChunk) stream();
  }

  static double ms_since(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  }

  // Sends what is encoded so far, so the server works while we parse.
  void stream() {
    const auto t0 = Clock::now();
    struct Timed {  // however it ends
      Clock::time_point t0;
      double& into;
      ~Timed() { into += ms_since(t0); }
    } timed{t0, batch_.stream_ms};
    try {
      open_copy();
      conn_->copy_put(batch_.enc.data() + sent_, batch_.enc.size() - sent_);
      sent_ = batch_.enc.size();
    } catch (const PgError& e) {
      // Whatever it was, the flush redoes the batch from the start.
      if (e.connection_lost()) recover(e);
      else rollback_quietly();
    }
  }

  void begin() {
    auto r = conn_->exec("BEGIN; SELECT txid_current()");
    xid_ = PQgetvalue(r.get(), 0, 0);
  }

  void open_copy() {
    if (in_copy_) return;
    sent_ = 0;
    begin();
    // Upsert/ignore: a batch of new keys only is a plain insert, so COPY it
    // straight into the table under a savepoint; a 23505 (a key already
    // there, or twice in the batch) falls back to the staging table and
    // ON CONFLICT. After a fallback the next batches go the staged way at
    // once, trying the direct way again now and then.
    direct_ = staged() && stage_batches_left_ == 0;
    if (direct_) conn_->exec("SAVEPOINT pgload_direct");
    conn_->copy_begin(direct_ ? direct_copy_sql_ : copy_sql_);
    in_copy_ = true;
  }

  void commit() {
    try {
      conn_->exec("COMMIT");
    } catch (const PgError& e) {
      if (e.connection_lost()) in_doubt_ = true;  // it may have committed
      throw;
    }
  }

  void merge() {
    auto r = conn_->exec(merge_sql_for(batch_));
    affected_ += std::strtoull(PQcmdTuples(r.get()), nullptr, 10);
  }

  // Upsert: a batch with a repeated key (seen by the client, or by the
  // server: force_distinct_) keeps only its last row per key.
  const std::string& merge_sql_for(const Batch& b) const {
    bool distinct = mode_ == Mode::upsert && (b.dup_keys || force_distinct_);
    return distinct ? merge_distinct_sql_ : merge_sql_;
  }

  // ---- flushing -------------------------------------------------------------------
  void flush() {
    end_previous();  // one transaction at a time, in input order
    flush_batch(true);
  }

  // overlap: the batch's end may be left to the server (end_previous()
  // finishes it); otherwise it is committed here.
  void flush_batch(bool overlap) {
    if (batch_.records == 0) return;
    batch_.flush_started = Clock::now();
    if (!info_) {
      if (batch_.rows.empty()) {  // nothing to infer from yet; only rejects to ack
        finish_batch(batch_, 0, 0);
        return;
      }
      create_from_batch();
    }
    bool bisecting = false;
    outages_ = 0;
    for (;;) {
      affected_ = 0;
      try {
        if (live_rows() > 0) {
          if (bisecting) load_bisecting();
          else if (overlap && !force_distinct_) {
            if (!split_ready() || !send_split()) send_whole();
            return;
          } else {
            load_whole();
          }
        }
        break;
      } catch (const PgError& e) {
        in_copy_ = false;
        if (e.connection_lost()) {
          if (recover(e)) break;
          continue;
        }
        rollback_quietly();
        if (e.sqlstate() == "21000" && mode_ == Mode::upsert && !force_distinct_) {
          force_distinct_ = true;  // equal keys written differently: let the server collapse them
          continue;
        }
        if (e.is_data_error() && !bisecting) {
          log::debug("batch refused ({}): finding the bad rows", e.what());
          bisecting = true;
          continue;
        }
        if ((e.sqlstate() == "40001" || e.sqlstate() == "40P01") && ++outages_ <= o_.retries + 1) continue;
        fatal(e);
      }
    }
    force_distinct_ = false;
    finish_batch(batch_, live_rows(), affected_);
    sent_ = 0;  // the next batch opens a COPY of its own
    in_copy_ = false;
  }

  size_t live_rows() const { return live_rows(batch_); }
  static size_t live_rows(const Batch& b) {
    size_t n = 0;
    for (const auto& r : b.rows) n += !r.rejected;
    return n;
  }

  // Batch `b` is committed (loaded rows, of which `affected` written) or
  // held only rejects: count it, then send its acks, and empty it.
  void finish_batch(Batch& b, size_t loaded, uint64_t affected) {
    if (loaded)
      log::debug("batch of {} row(s) committed: filled in {:.1f} ms ({:.1f} of it sending), ended in {:.1f} ms",
                 loaded, std::chrono::duration<double, std::milli>(b.flush_started - b.started).count(),
                 b.stream_ms, ms_since(b.flush_started));
    committed_ += loaded;
    ctx_.stats.records_out += loaded;
    ctx_.stats.add("batches");
    if (mode_ == Mode::ignore && affected < loaded) ctx_.stats.add("conflicts", loaded - affected);
    // Rejects are on disk before their acks go out.
    rejects_.flush();
    for (const auto& a : b.acks) acks_.add(a.topic, a.partition, a.offset);
    acks_.flush();
    b.clear();
  }

  // ---- a batch's end overlapped with the next batch's reading ---------------
  // The batch is sent and its COPY ended; the server's answer, the merge (a
  // staged upsert) and the COMMIT follow in end_previous(), while the next
  // batch is read and encoded (not sent: one transaction at a time). Its
  // acks still go out only once the COMMIT has answered. On any error the
  // batch goes the synchronous way again (retries, bisecting, reconnects).
  void send_whole() {
    open_copy();
    conn_->copy_put(batch_.enc.data() + sent_, batch_.enc.size() - sent_);
    sent_ = batch_.enc.size();
    in_copy_ = false;
    conn_->send_copy_end();
    ending_direct_ = direct_;
    ending_ = Ending::copy;
    std::swap(batch_, previous_);
    sent_ = 0;
  }

  // ---- a staged upsert split over two connections ------------------------------
  // PostgreSQL merges a batch in one server process; a second connection
  // merges half of it at the same time. Each key always goes to the same
  // connection (by the hash of its key fields), so the last record per key
  // still wins, and batches still go one at a time, in input order. The two
  // transactions move in step (both COPYs, both merges, then both COMMITs):
  // neither commits unless both merged, and the acks wait for both COMMITs. A
  // crash between the two COMMITs loses nothing: the input is replayed and an
  // upsert is idempotent. Any error drops the second connection and sends the
  // batch the one-connection way (bisecting, reconnects), which merges the
  // rows already committed by either half again, to the same values.

  // Staged upserts split their batches (the smallest excepted, see split_ready()).
  bool splitting() const {
    return mode_ == Mode::upsert && !key_pos_.empty() && stage_batches_left_ > 0 && !split_off_;
  }

  bool split_ready() {
    if (!splitting() || batch_.rows.size() < kSplitRows || in_copy_) return false;
    if (conn2_) return true;
    try {
      conn2_ = std::make_unique<Conn>(o_.dsn);
      conn2_->exec(stage_sql_);
      return true;
    } catch (const std::exception& e) {
      conn2_.reset();
      split_off_ = true;
      log::info("a second PostgreSQL connection could not be opened ({}): upserting over one", e.what());
      return false;
    }
  }

  // False when sending failed (both transactions are then undone).
  bool send_split() {
    split_enc_[0].clear();
    split_enc_[1].clear();
    for (const auto& r : batch_.rows) split_enc_[r.key_hash & 1].append(batch_.enc, r.enc_off, r.enc_len);
    Conn* lanes[] = {conn_.get(), conn2_.get()};
    try {
      for (Conn* c : lanes) {
        // Equal keys written differently ('A' and 'a' in a uuid) can land on
        // both connections, and one would wait for the other's COMMIT, which
        // waits for its merge: the lock timeout ends that wait (the batch then
        // goes the one-connection way, where the server collapses them).
        c->exec("BEGIN; SET LOCAL lock_timeout = '1s'");
        c->copy_begin(copy_sql_);
      }
      in_copy_ = true;
      // In pieces, by turns, so that both server processes parse at once.
      for (size_t off = 0; off < std::max(split_enc_[0].size(), split_enc_[1].size()); off += kStreamChunk)
        for (int i = 0; i < 2; ++i)
          if (off < split_enc_[i].size())
            lanes[i]->copy_put(split_enc_[i].data() + off, std::min(kStreamChunk, split_enc_[i].size() - off));
      for (Conn* c : lanes) c->send_copy_end();
    } catch (const PgError& e) {
      log::debug("sending a split batch failed ({}): one connection", e.what());
      abandon_split();
      return false;
    }
    in_copy_ = false;
    log::debug("batch of {} row(s) split over two connections: {} and {} bytes", batch_.rows.size(),
               split_enc_[0].size(), split_enc_[1].size());
    split_prev_ = true;
    ending_direct_ = false;
    ending_ = Ending::copy;
    std::swap(batch_, previous_);
    sent_ = 0;
    return true;
  }

  // Both halves move one step: the COPYs' answers, then the merges', then the COMMITs'.
  void step_split() {
    Conn* lanes[] = {conn_.get(), conn2_.get()};
    switch (ending_) {
      case Ending::copy:
        for (Conn* c : lanes) c->result("COPY");
        if (stage_batches_left_ > 0) --stage_batches_left_;
        for (Conn* c : lanes) c->send(merge_sql_for(previous_));
        ending_ = Ending::merge;
        return;
      case Ending::merge:
        affected_prev_ = 0;
        for (Conn* c : lanes) affected_prev_ += std::strtoull(PQcmdTuples(c->result("merge").get()), nullptr, 10);
        for (Conn* c : lanes) c->send("COMMIT");
        ending_ = Ending::commit;
        return;
      case Ending::commit:
        for (Conn* c : lanes) c->result("COMMIT");
        ending_ = Ending::none;
        split_prev_ = false;
        finish_batch(previous_, live_rows(previous_), affected_prev_);
        return;
      case Ending::none: return;
    }
  }

  // Undoes both halves: the second connection is closed (the server rolls its
  // transaction back; a new one is opened for the next split batch).
  void abandon_split() {
    conn2_.reset();
    rollback_quietly();
  }

  bool previous_busy() { return conn_->busy() || (split_prev_ && conn2_->busy()); }

  // Non-blocking: moves the previous batch's end along if the server has answered.
  void poll_previous() {
    try {
      while (ending_ != Ending::none && !previous_busy()) step_previous();
    } catch (const PgError& e) {
      previous_failed(e);
    }
  }

  // Waits until the previous batch is committed (or has gone the slow way).
  void end_previous() {
    try {
      while (ending_ != Ending::none) step_previous();
    } catch (const PgError& e) {
      previous_failed(e);
    }
  }

  // Takes the server's answer to the last step (waiting for it) and sends the next one.
  void step_previous() {
    if (split_prev_) {
      step_split();
      return;
    }
    if (ending_ == Ending::copy) {
      if (ending_direct_) {
        try {
          conn_->result("COPY");
        } catch (const PgError& e) {
          if (e.sqlstate() != "23505") throw;
          restage(previous_);
          ending_direct_ = false;
          ending_ = Ending::merge;
          conn_->send(merge_sql_for(previous_) + "; COMMIT");
          return;
        }
        affected_prev_ = live_rows(previous_);
        ending_ = Ending::commit;
        conn_->send("COMMIT");
        return;
      }
      conn_->result("COPY");
      if (!staged()) {
        affected_prev_ = live_rows(previous_);
        ending_ = Ending::commit;
        conn_->send("COMMIT");
        return;
      }
      if (stage_batches_left_ > 0) --stage_batches_left_;
      ending_ = Ending::merge;
      conn_->send(merge_sql_for(previous_) + "; COMMIT");
      return;
    }
    // Ending::merge or Ending::commit: the answer ends the transaction. A
    // lost connection now leaves the COMMIT in doubt.
    ResultPtr r(nullptr, &PQclear);
    try {
      r = conn_->result(ending_ == Ending::merge ? "merge" : "COMMIT");
    } catch (const PgError& e) {
      if (e.connection_lost()) in_doubt_ = true;
      throw;
    }
    if (ending_ == Ending::merge) affected_prev_ = std::strtoull(PQcmdTuples(r.get()), nullptr, 10);
    ending_ = Ending::none;
    finish_batch(previous_, live_rows(previous_), affected_prev_);
  }

  // The previous batch's end failed: it goes the synchronous way, which
  // retries, bisects or reconnects as for any batch (and works on batch_,
  // hence the swap: the batch being read waits in previous_ meanwhile).
  void previous_failed(const PgError& e) {
    ending_ = Ending::none;
    std::swap(batch_, previous_);
    in_copy_ = false;
    bool committed = false;
    if (split_prev_) {  // neither half's COMMIT is trusted: the batch is merged again
      log::debug("a split batch failed ({}): one connection", e.what());
      split_prev_ = false;
      abandon_split();
    } else if (e.connection_lost()) {
      outages_ = 0;
      committed = recover(e);
    } else {
      rollback_quietly();
      if (e.sqlstate() == "21000" && mode_ == Mode::upsert) force_distinct_ = true;
    }
    if (committed) {
      finish_batch(batch_, live_rows(), live_rows());
    } else {
      flush_batch(false);
    }
    std::swap(batch_, previous_);
    sent_ = 0;
    in_copy_ = false;
  }

  void load_whole() {
    open_copy();
    conn_->copy_put(batch_.enc.data() + sent_, batch_.enc.size() - sent_);
    sent_ = batch_.enc.size();
    in_copy_ = false;
    if (!direct_) {
      conn_->copy_end();
      if (staged()) {
        merge();
        if (stage_batches_left_ > 0) --stage_batches_left_;
      }
      commit();
      return;
    }
    try {
      conn_->copy_end();
      affected_ += live_rows();
    } catch (const PgError& e) {
      if (e.sqlstate() != "23505") throw;
      restage(batch_);
      merge();
    }
    commit();
  }

  // The direct COPY of `b` met a key already in the table (or twice in the
  // batch): undo it and COPY the batch into the staging table instead, for
  // the merge that follows. The next batches go the staged way at once.
  void restage(const Batch& b) {
    conn_->exec("ROLLBACK TO SAVEPOINT pgload_direct");
    stage_batches_left_ = kStagedBatches;
    direct_ = false;
    conn_->copy_begin(copy_sql_);
    conn_->copy_put(b.enc.data(), b.enc.size());
    conn_->copy_end();
  }

  // One transaction; each piece under a savepoint, halves of a refused piece
  // retried, single refused rows rejected with the database's reason.
  void load_bisecting() {
    std::vector<size_t> live;
    for (size_t i = 0; i < batch_.rows.size(); ++i)
      if (!batch_.rows[i].rejected) live.push_back(i);
    begin();
    apply(live);
    commit();
  }

  void apply(const std::vector<size_t>& idx) {
    if (idx.empty()) return;
    try {
      conn_->exec("SAVEPOINT pgload");
      if (staged()) conn_->exec("TRUNCATE pg_temp." + quote_ident("pgload_stage"));
      conn_->copy_begin(copy_sql_);
      std::string data;
      for (size_t i : idx) data.append(batch_.enc, batch_.rows[i].enc_off, batch_.rows[i].enc_len);
      conn_->copy_put(data.data(), data.size());
      conn_->copy_end();
      if (staged()) merge();
      conn_->exec("RELEASE SAVEPOINT pgload");
      return;
    } catch (const PgError& e) {
      if (!e.is_data_error()) throw;
      conn_->exec("ROLLBACK TO SAVEPOINT pgload");
      if (idx.size() == 1) {
        Row& r = batch_.rows[idx[0]];
        r.rejected = true;
        rejects_.reject(r.line, std::string_view(batch_.raw).substr(r.raw_off, r.raw_len), true,
                        std::string("database refused the row: ") + e.what(),
                        fmt::format("\"sqlstate\":\"{}\"", e.sqlstate()));
        return;
      }
    }
    if (idx.size() <= kRowByRow) {
      for (size_t i : idx) apply({i});
      return;
    }
    std::vector<size_t> a(idx.begin(), idx.begin() + static_cast<long>(idx.size() / 2));
    std::vector<size_t> b(idx.begin() + static_cast<long>(idx.size() / 2), idx.end());
    apply(a);
    apply(b);
  }

  const Options& o_;
  RunContext& ctx_;
  RejectSink rejects_;
  Encoder encoder_;
  AckWriter acks_;
  Mode mode_ = Mode::insert;
  TableName table_name_;
  std::vector<MapSpec> maps_;
  std::vector<std::string> primary_key_, key_, loaded_;
  std::vector<ColumnDef> schema_cols_;
  uint64_t batch_bytes_ = 0, max_line_ = 0;
  int64_t flush_ms_ = 1000;

  std::unique_ptr<Conn> conn_;
  std::unique_ptr<Conn> conn2_;  // upsert: the second connection of a split batch
  bool split_off_ = false;       // no second connection could be had
  bool split_prev_ = false;      // previous_ was split over conn_ and conn2_
  std::string split_enc_[2];     // the halves' COPY rows
  std::optional<TableInfo> info_;
  std::string copy_sql_, stage_sql_, merge_sql_, merge_distinct_sql_, seq_;
  std::vector<size_t> key_pos_;  // upsert: the key columns' positions in a COPY row
  size_t last_key_pos_ = 0;      // the largest of them
  std::string key_buf_;          // note_key's scratch
  bool force_distinct_ = false;  // this batch: the server saw a duplicate key
  std::string direct_copy_sql_;  // COPY into the table itself
  bool direct_ = false;          // upsert/ignore: this batch tries the direct COPY
  int stage_batches_left_ = 0;
  Batch batch_;
  // The batch whose end is with the server while batch_ fills, and how far
  // that end has got.
  enum class Ending { none, copy, merge, commit };
  Batch previous_;
  Ending ending_ = Ending::none;
  bool ending_direct_ = false;
  uint64_t affected_prev_ = 0;
  int64_t idle_ms_ = 0;   // --flush-idle (0: off)
  size_t sent_ = 0;       // bytes of batch_.enc already sent in the open COPY
  bool in_copy_ = false;  // a transaction with a COPY in progress is open
  bool in_doubt_ = false; // COMMIT sent, connection lost before the reply
  std::string xid_;
  int outages_ = 0;
  uint64_t committed_ = 0;
  uint64_t affected_ = 0;
};

}  // namespace

int run(const Options& opts, RunContext& ctx) {
  Loader loader(opts, ctx);
  return loader.run();
}

}  // namespace pipekit::pgload
