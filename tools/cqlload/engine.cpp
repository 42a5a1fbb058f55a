// cqlload's run: set-up (connect, table, prepare), then one event loop that
// reads records while there is room in flight, groups them by partition key,
// sends EXECUTE/BATCH on the node that owns the key, and handles answers in
// any order: success -> ack, UNPREPARED -> re-prepare, transient -> retry
// with backoff, invalid -> reject (a batch is split to find the culprit).
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstdint>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <unordered_map>

#include "pipekit/acks.hpp"
#include "pipekit/cql/session.hpp"
#include "pipekit/cql/types.hpp"
#include "engine.hpp"
#include "pipekit/envelope.hpp"
#include "pipekit/errors.hpp"
#include "pipekit/json.hpp"
#include "pipekit/log.hpp"
#include "pipekit/ndjson.hpp"
#include "pipekit/signals.hpp"
#include "schema.hpp"

namespace pipekit::cqlload {
namespace {

using cql::Opcode;

// Where a bound column's value comes from.
struct Source {
  EnvelopeField coordinate = EnvelopeField::none;  // none: a field of the record at `path`
  json::Path path;
};

Source parse_source(const std::string& spec, bool envelope) {
  Source s;
  if (!spec.empty() && spec[0] == '@') {
    s.coordinate = parse_envelope_field(spec);
    if (!envelope) throw UsageError("--map: " + spec + " needs --envelope");
    return s;
  }
  s.path = json::Path(spec);
  return s;
}

struct Record {
  uint64_t line = 0;
  std::string original;  // for a reject
  bool original_is_json = true;
  std::string values;    // the bound [value]s
  std::string routing;   // partition key bytes
  int64_t token = 0;
  int64_t timestamp = 0;  // the write timestamp (µs), given when the record was read
  bool has_coords = false;
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
};

struct Request {
  std::vector<std::unique_ptr<Record>> records;
  int attempts = 0;
  int reprepares = 0;
  bool token_known = false;
  int64_t token = 0;
  size_t bytes = 0;  // the records' values: a batch stays within one frame
};

// What one frame may carry of records' values (the protocol's 256 MB limit,
// less room for the statement id, options and per-entry overhead).
constexpr size_t kFrameOverhead = 64u << 10;
constexpr size_t kMaxFrameValues = cql::kMaxFrameBody - kFrameOverhead;
// A batch of several partitions stays under Cassandra's batch_size_fail_threshold
// (50 KiB by default): past it the whole batch is refused.
constexpr size_t kMaxReplicaBatchBytes = 32 * 1024;

std::string read_password(const Options& o) {
  if (!o.password_file.empty()) {
    std::ifstream f(o.password_file);
    if (!f) throw UsageError("cannot read --password-file " + o.password_file);
    std::string pw;
    std::getline(f, pw);
    if (!pw.empty() && pw.back() == '\r') pw.pop_back();
    return pw;
  }
  const char* env = std::getenv("CQL_PASSWORD");
  return env ? env : "";
}

std::vector<std::string> split_hosts(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string h;
  while (std::getline(ss, h, ',')) {
    while (!h.empty() && std::isspace(static_cast<unsigned char>(h.front()))) h.erase(0, 1);
    while (!h.empty() && std::isspace(static_cast<unsigned char>(h.back()))) h.pop_back();
    if (!h.empty()) out.push_back(h);
  }
  return out;
}

class Loader {
 public:
  Loader(const Options& o, RunContext& ctx) : o_(o), ctx_(ctx), rejects_(o.rejects, ctx.stats) {}
  int run();

 private:
  void setup();
  void prepare_everywhere();
  void collect_samples();
  bool read_some();
  void handle_line(const Line& line);
  void handle_record(uint64_t line_no, std::string_view text, simdjson::dom::element value,
                     const Envelope* env);
  void reject(const Record& r, std::string_view reason, std::string_view extra = {});
  void reject_line(uint64_t line_no, std::string_view text, bool is_json, std::string_view reason,
                   const Envelope* env);
  void enqueue(std::unique_ptr<Record> r);
  void flush_groups();
  void pump();
  bool send(std::unique_ptr<Request>& req);
  void on_response(std::shared_ptr<Request> req, cql::Connection* conn, cql::Response& r);
  void retry_later(std::unique_ptr<Request> req, const std::string& why);
  void succeed(Request& req, const cql::Connection& conn);
  void log_per_node() const;
  void ack(const Record& r);
  void reprepare(cql::Connection* conn, std::unique_ptr<Request> req);

  const Options& o_;
  RunContext& ctx_;
  RejectSink rejects_;
  AckWriter acks_;
  std::unique_ptr<cql::Session> session_;
  std::string ks_, table_;
  cql::Consistency consistency_ = cql::Consistency::local_quorum;
  std::string insert_cql_;
  cql::Prepared prepared_;
  std::vector<Source> sources_;      // per bind marker
  std::vector<std::string> bind_names_;
  std::vector<int> pk_binds_;        // bind indexes of the partition key, in key order
  bool token_routing_ = false;
  size_t concurrency_ = 64;

  std::unique_ptr<LineReader> reader_;
  std::vector<int> input_fds_;
  size_t input_index_ = 0;
  bool input_done_ = false;
  struct SavedLine {
    uint64_t number;
    std::string text;
    bool too_long;
    size_t length;
  };
  std::deque<SavedLine> samples_;           // lines read ahead for --create inference
  std::vector<std::string> sample_values_;  // their records (envelope values)
  void next_input_or_done();
  bool more_input() const { return !input_done_ || !samples_.empty(); }

  simdjson::dom::parser parser_;
  simdjson::dom::parser value_parser_;
  std::string padded_;

  // Grouping by partition key (batch-size > 1).
  std::unordered_map<std::string, std::unique_ptr<Request>> groups_;
  size_t grouped_ = 0;
  std::deque<std::unique_ptr<Request>> ready_;
  std::multimap<int64_t, std::unique_ptr<Request>> delayed_;
  size_t in_flight_ = 0;
  size_t max_in_flight_ = 0;
  std::string fatal_;
  bool fatal_usage_ = false;
  uint64_t undelivered_ = 0;
  std::mt19937 rng_{std::random_device{}()};
  int64_t last_timestamp_us_ = 0;
  int64_t next_timestamp();
  // Records written through each coordinator, and which of its connections
  // (Connection::opened) last had a write acknowledged, or was open when the
  // load began: a node's first write after it reconnected (or, down at the
  // start, came back) is logged, its total at the end (-v).
  struct NodeWrites {
    uint64_t records = 0;
    uint64_t opened = 0;
  };
  std::map<const cql::Connection*, NodeWrites> node_writes_;
};

// Write timestamps come from the client, one per record, strictly increasing
// in input order: two records of one key resolve as the later one (even in one
// batch, where the server would give every statement the same timestamp, and
// across retries, which keep theirs).
int64_t Loader::next_timestamp() {
  using namespace std::chrono;
  int64_t now = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  last_timestamp_us_ = std::max(now, last_timestamp_us_ + 1);
  return last_timestamp_us_;
}

void Loader::setup() {
  // Keyspace and table.
  table_ = o_.table;
  ks_ = o_.keyspace;
  if (auto dot = table_.find('.'); dot != std::string::npos && table_.front() != '"') {
    if (ks_.empty()) ks_ = table_.substr(0, dot);
    table_ = table_.substr(dot + 1);
  }
  if (table_.empty()) throw UsageError("give the table with --table");
  if (ks_.empty()) throw UsageError("give the keyspace with --keyspace (or --table keyspace.table)");
  auto c = cql::parse_consistency(o_.consistency);
  if (!c) throw UsageError("--consistency: unknown level '" + o_.consistency + "'");
  consistency_ = *c;
  if (consistency_ == cql::Consistency::serial || consistency_ == cql::Consistency::local_serial)
    throw UsageError("--consistency: " + o_.consistency +
                     " is for lightweight transactions (conditional writes), not for plain INSERTs");
  if (o_.concurrency < 1 || o_.concurrency > 32768) throw UsageError("--concurrency must be 1..32768");
  if (o_.batch_size < 1 || o_.batch_size > 65535) throw UsageError("--batch-size must be 1..65535");
  if (o_.ttl < 0) throw UsageError("--ttl must be >= 0 seconds");
  if (o_.routing != "token" && o_.routing != "round-robin") throw UsageError("--routing: token or round-robin");
  if (o_.group_by != "replica" && o_.group_by != "partition") throw UsageError("--group-by: replica or partition");
  concurrency_ = static_cast<size_t>(o_.concurrency);
  if (!o_.replication.empty()) replication_cql(o_.replication, "dc", 1);  // its syntax, before connecting

  cql::SessionOptions so;
  std::string hosts = o_.hosts;
  if (hosts.empty())
    if (const char* env = std::getenv("CQL_HOSTS")) hosts = env;
  so.hosts = split_hosts(hosts);
  so.port = o_.port;
  so.user = o_.user;
  so.password = read_password(o_);
  if (!so.user.empty() && so.password.empty())
    throw UsageError("--user given but no password: use --password-file FILE or CQL_PASSWORD");
  so.tls = o_.tls || !o_.ca_file.empty() || !o_.cert_file.empty();
  so.ca_file = o_.ca_file;
  so.cert_file = o_.cert_file;
  so.key_file = o_.key_file;
  so.verify_hostname = !o_.no_verify_hostname;
  if (o_.no_verify_hostname && !so.tls) throw UsageError("--no-verify-hostname is for TLS (--tls or --ca-file)");
  so.connect_timeout_ms = static_cast<int>(parse_duration_ms(o_.connect_timeout, "--connect-timeout", INT32_MAX));
  so.request_timeout_ms = static_cast<int>(parse_duration_ms(o_.request_timeout, "--request-timeout", INT32_MAX));
  so.max_in_flight = o_.concurrency;
  // LOCAL_* levels: the coordinators are the local datacenter's nodes.
  so.local_dc_only = consistency_ == cql::Consistency::local_quorum || consistency_ == cql::Consistency::local_one;

  // Inputs (opened before connecting: a missing file is exit 4 at once).
  if (o_.inputs.empty()) input_fds_.push_back(0);
  for (const auto& in : o_.inputs) input_fds_.push_back(open_input(in));
  size_t max_line = parse_size_bytes(o_.max_line_bytes, "--max-line-bytes");
  reader_ = std::make_unique<LineReader>(input_fds_[0], max_line);

  if (o_.create && o_.schema_file.empty()) collect_samples();

  session_ = std::make_unique<cql::Session>(so);
  session_->open();
  size_t found = session_->discover();
  log::debug("connected to {} of {} nodes ({} discovered)", session_->alive(), session_->size(), found);

  auto columns = table_columns(*session_, ks_, table_);
  if (columns.empty() && o_.create) {
    if (o_.primary_key.empty()) throw UsageError("--create needs --primary-key");
    PrimaryKey pk = parse_primary_key(o_.primary_key);
    std::vector<std::pair<std::string, std::string>> defs;
    if (!o_.schema_file.empty()) {
      std::ifstream f(o_.schema_file);
      if (!f) throw UsageError("cannot read --schema " + o_.schema_file);
      std::stringstream ss;
      ss << f.rdbuf();
      defs = columns_from_json_schema(ss.str());
    } else {
      defs = columns_from_samples(sample_values_);
      if (defs.empty()) throw UsageError("--create: no record to learn the columns from (give --schema FILE)");
    }
    std::string replication = o_.replication;
    if (replication.empty() || replication.front() != '{') {
      auto [dc, nodes] = local_datacenter(*session_);
      replication = replication_cql(replication, dc, nodes);
    }
    log::info("creating keyspace {} (if missing) with replication {}", ks_, replication);
    query(*session_, "CREATE KEYSPACE IF NOT EXISTS " + quote_ident(ks_) + " WITH replication = " + replication,
          cql::Consistency::one);
    std::string create = create_table_cql(ks_, table_, defs, pk);
    log::info("creating table {}.{}", ks_, table_);
    log::debug("{}", create);
    query(*session_, create, cql::Consistency::one);
    if (!wait_schema_agreement(*session_, 10000)) log::warn("the nodes do not agree on the schema yet");
    columns = table_columns(*session_, ks_, table_);
  }
  if (columns.empty())
    throw UsageError("unknown table " + ks_ + "." + table_ + " (check the names, or use --create with --primary-key)");

  // Mapping: same-named fields by default, --map overrides.
  std::map<std::string, std::string> maps;
  for (const auto& m : o_.maps) {
    auto eq = m.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == m.size())
      throw UsageError("--map: expected column=path, got '" + m + "'");
    std::string col = m.substr(0, eq);
    bool found = false;
    for (const auto& c : columns) found = found || c.name == col;
    if (!found) throw UsageError("--map: table " + ks_ + "." + table_ + " has no column '" + col + "'");
    maps[col] = m.substr(eq + 1);
  }
  std::string names, marks;
  for (const auto& c : columns) {
    if (c.type == "counter") throw UsageError("table " + ks_ + "." + table_ + " has counter columns: cqlload only INSERTs");
    auto it = maps.find(c.name);
    sources_.push_back(parse_source(it != maps.end() ? it->second : c.name, o_.envelope));
    if (it == maps.end()) {
      // A default path is the plain field name, never a dotted path.
      sources_.back().path = json::Path("/" + [&] {
        std::string esc;
        for (char ch : c.name) esc += ch == '~' ? "~0" : ch == '/' ? "~1" : std::string(1, ch);
        return esc;
      }());
    }
    bind_names_.push_back(c.name);
    names += (names.empty() ? "" : ", ") + quote_ident(c.name);
    marks += marks.empty() ? "?" : ", ?";
  }
  insert_cql_ = "INSERT INTO " + quote_ident(ks_) + "." + quote_ident(table_) + " (" + names + ") VALUES (" +
                marks + ")";
  // The last bind marker is the record's write timestamp (next_timestamp()).
  insert_cql_ += o_.ttl > 0 ? " USING TTL " + std::to_string(o_.ttl) + " AND TIMESTAMP ?" : " USING TIMESTAMP ?";
  prepare_everywhere();
  if (prepared_.bind.columns.size() != sources_.size() + 1)
    throw ServiceError("the prepared INSERT has " + std::to_string(prepared_.bind.columns.size()) +
                       " bind markers, expected " + std::to_string(sources_.size() + 1));
  for (auto i : prepared_.bind.pk_indexes) pk_binds_.push_back(i);
  if (pk_binds_.empty())  // servers that do not send them: the table's key columns
    for (size_t i = 0; i < columns.size(); ++i)
      if (columns[i].kind == "partition_key") pk_binds_.push_back(static_cast<int>(i));
  if (o_.routing == "token" && session_->size() > 1) token_routing_ = session_->load_ring();
  for (size_t i = 0; i < session_->size(); ++i) {
    const cql::Connection& c = session_->connection(i);
    node_writes_[&c].opened = c.opened();
  }
  log::debug("routing: {}", token_routing_ ? "token-aware" : "round robin");
  if (!o_.ack.empty()) acks_ = AckWriter(o_.ack);
}

void Loader::prepare_everywhere() {
  // Each node needs the statement; a node that forgets it answers UNPREPARED.
  bool any = false;
  std::string last;
  for (size_t i = 0; i < session_->size(); ++i) {
    auto& c = session_->connection(i);
    if (!c.alive()) continue;
    for (int attempt = 0;; ++attempt) {
      auto r = c.call([&](std::string& out, int16_t s) { cql::encode_prepare(out, s, insert_cql_); },
                      session_->options().request_timeout_ms);
      if (!r.transport_ok) {
        last = r.transport_error;
        break;
      }
      if (r.opcode == static_cast<uint8_t>(Opcode::error)) {
        auto e = cql::decode_error(r.body);
        // Right after CREATE TABLE another node may not know the table yet.
        if (e.code == cql::errc::invalid && attempt < 10 && session_->size() > 1) {
          usleep(300000);
          continue;
        }
        std::string msg = c.name() + ": cannot prepare the INSERT: " + e.describe();
        if (e.transient()) throw ServiceError(msg);
        throw UsageError(msg);
      }
      auto res = cql::decode_result(r.body);
      if (res.kind != cql::ResultKind::prepared) throw ServiceError(c.name() + ": PREPARE gave no prepared result");
      prepared_ = std::move(res.prepared);
      any = true;
      break;
    }
  }
  if (!any) throw ServiceError("cannot prepare the INSERT: " + last);
}

void Loader::collect_samples() {
  // Read ahead up to --infer-records lines (or until the input pauses for a
  // second after the first) to learn the columns; they are loaded first.
  Line line;
  while (static_cast<int>(samples_.size()) < o_.infer_records) {
    auto st = reader_->next(line, samples_.empty() ? -1 : 1000);
    if (st != ReadStatus::line) {
      if (st == ReadStatus::eof) next_input_or_done();
      if (st == ReadStatus::eof && !input_done_) continue;
      break;
    }
    SavedLine saved{line.number, line.too_long ? std::string() : std::string(line.text), line.too_long, line.length};
    if (!line.too_long) {
      if (o_.envelope) {
        simdjson::dom::element root;
        if (!parser_.parse(saved.text).get(root)) {
          try {
            Envelope e = parse_envelope(root);
            if (e.value_is_json) sample_values_.push_back(e.value);
          } catch (const std::exception&) {
          }
        }
      } else {
        sample_values_.push_back(saved.text);
      }
    }
    samples_.push_back(std::move(saved));
  }
}

void Loader::next_input_or_done() {
  if (input_index_ + 1 < input_fds_.size()) {
    if (input_fds_[input_index_] > 2) ::close(input_fds_[input_index_]);
    ++input_index_;
    reader_ = std::make_unique<LineReader>(input_fds_[input_index_], parse_size_bytes(o_.max_line_bytes, "--max-line-bytes"));
  } else {
    input_done_ = true;
  }
}

// Reads lines while there is room; false when the input has nothing now.
bool Loader::read_some() {
  size_t room_records = concurrency_ * static_cast<size_t>(o_.batch_size);
  Line line;
  int n = 0;
  while (more_input() && fatal_.empty() && !stop_requested() && in_flight_ + ready_.size() < concurrency_ &&
         grouped_ < room_records && n < 256) {
    if (!samples_.empty()) {
      SavedLine s = std::move(samples_.front());
      samples_.pop_front();
      Line l;
      l.number = s.number;
      l.too_long = s.too_long;
      l.length = s.length;
      // simdjson needs padding after the text: keep a padded copy.
      padded_.assign(s.text);
      padded_.append(kLinePadding, '\0');
      l.text = std::string_view(padded_.data(), s.text.size());
      handle_line(l);
      ++n;
      continue;
    }
    auto st = reader_->next(line, 0);
    if (st == ReadStatus::line) {
      handle_line(line);
      ++n;
      continue;
    }
    if (st == ReadStatus::eof) {
      next_input_or_done();
      continue;
    }
    return false;  // timeout (nothing to read now) or stopped
  }
  return true;
}

void Loader::handle_line(const Line& line) {
  ctx_.stats.records_in++;
  ctx_.stats.bytes += line.length + 1;
  if (line.too_long) {
    reject_line(line.number, "", false, fmt::format("line too long ({} bytes)", line.length), nullptr);
    return;
  }
  simdjson::dom::element root;
  if (auto err = parser_.parse(line.text.data(), line.text.size(), false).get(root)) {
    reject_line(line.number, line.text, false, json::parse_error_reason(line.text, err), nullptr);
    return;
  }
  if (!o_.envelope) {
    handle_record(line.number, line.text, root, nullptr);
    return;
  }
  Envelope env;
  try {
    env = parse_envelope(root);
  } catch (const std::exception& e) {
    reject_line(line.number, line.text, true, std::string("not an envelope: ") + e.what(), nullptr);
    return;
  }
  if (!env.value_is_json) {
    reject_line(line.number, line.text, true, "the envelope's value is not a JSON object", &env);
    return;
  }
  simdjson::dom::element value;
  if (auto err = value_parser_.parse(env.value).get(value)) {
    reject_line(line.number, line.text, true, "the envelope's value: " + json::parse_error_reason(env.value, err), &env);
    return;
  }
  handle_record(line.number, line.text, value, &env);
}

void Loader::handle_record(uint64_t line_no, std::string_view text, simdjson::dom::element value,
                           const Envelope* env) {
  auto rec = std::make_unique<Record>();
  rec->line = line_no;
  rec->original.assign(text);
  if (env && env->has_coordinates()) {
    rec->has_coords = true;
    rec->topic = env->topic;
    rec->partition = env->partition;
    rec->offset = env->offset;
  }
  if (!value.is_object()) {
    reject(*rec, "the record is not a JSON object");
    return;
  }
  const auto& binds = prepared_.bind.columns;
  std::vector<std::pair<size_t, size_t>> spans(binds.size());  // value bytes of each bind
  rec->values.reserve(text.size() + 8 * binds.size());
  for (size_t i = 0; i < sources_.size(); ++i) {
    const Source& src = sources_[i];
    const cql::Type& type = binds[i].type;
    size_t start = rec->values.size();
    try {
      switch (src.coordinate) {
        case EnvelopeField::none: {
          auto e = src.path.find(value);
          if (!e || e->is_null()) cql::wire::unset_value(rec->values);  // no tombstone
          else cql::encode_value(rec->values, type, *e);
          break;
        }
        case EnvelopeField::topic: cql::encode_text(rec->values, type, env->topic); break;
        case EnvelopeField::key:
          if (env->key) cql::encode_text(rec->values, type, *env->key);
          else cql::wire::unset_value(rec->values);
          break;
        case EnvelopeField::partition: cql::encode_int64(rec->values, type, env->partition); break;
        case EnvelopeField::offset: cql::encode_int64(rec->values, type, env->offset); break;
        case EnvelopeField::timestamp:
          if (env->timestamp >= 0) cql::encode_int64(rec->values, type, env->timestamp);
          else cql::wire::unset_value(rec->values);
          break;
      }
    } catch (const cql::ValueError& e) {
      reject(*rec, fmt::format("column {}: {}", bind_names_[i], e.what()),
             "\"column\":" + json::quote(bind_names_[i]));
      return;
    }
    spans[i] = {start + 4, rec->values.size()};
    if (rec->values.size() == start + 4 && static_cast<int8_t>(rec->values[start]) < 0) spans[i] = {1, 0};  // null/unset
  }
  // One record must fit one frame: sent anyway it only fails, retry after retry.
  if (rec->values.size() > kMaxFrameValues) {
    reject(*rec, fmt::format("the record's values take {} bytes: over what one CQL frame carries ({} bytes)",
                             rec->values.size(), kMaxFrameValues));
    return;
  }
  std::vector<std::string_view> parts;
  for (int i : pk_binds_) {
    auto [b, e] = spans[static_cast<size_t>(i)];
    if (e < b) {  // unset
      reject(*rec, fmt::format("missing partition key column {}", bind_names_[static_cast<size_t>(i)]),
             "\"column\":" + json::quote(bind_names_[static_cast<size_t>(i)]));
      return;
    }
    parts.push_back(std::string_view(rec->values).substr(b, e - b));
  }
  rec->routing = cql::routing_key(parts);
  if (token_routing_) rec->token = cql::murmur3_token(rec->routing);
  rec->timestamp = next_timestamp();
  cql::wire::i32(rec->values, 8);
  cql::wire::i64(rec->values, rec->timestamp);
  enqueue(std::move(rec));
}

void Loader::reject_line(uint64_t line_no, std::string_view text, bool is_json, std::string_view reason,
                         const Envelope* env) {
  rejects_.reject(line_no, text, is_json, reason);
  if (env && env->has_coordinates() && acks_.enabled()) {
    rejects_.flush();
    acks_.ack(env->topic, env->partition, env->offset);
  }
}

void Loader::reject(const Record& r, std::string_view reason, std::string_view extra) {
  rejects_.reject(r.line, r.original, r.original_is_json, reason, extra);
  if (r.has_coords) {
    rejects_.flush();
    ack(r);
  }
}

void Loader::ack(const Record& r) {
  if (r.has_coords && acks_.enabled()) acks_.ack(r.topic, r.partition, r.offset);
}

void Loader::enqueue(std::unique_ptr<Record> rec) {
  if (o_.batch_size <= 1) {
    auto req = std::make_unique<Request>();
    req->token_known = token_routing_;
    req->token = rec->token;
    req->records.push_back(std::move(rec));
    ready_.push_back(std::move(req));
    return;
  }
  // By partition: Cassandra's usual advice. By replica (the default): records
  // of any partitions that one node owns share a batch, so the node handles
  // a request per batch rather than per record; timestamps are per record,
  // so the order of updates to one key holds all the same.
  std::string key = rec->routing;
  size_t limit = kMaxFrameValues;
  if (o_.group_by == "replica") {
    key = std::to_string(token_routing_ ? session_->owner(rec->token) : -1);
    limit = kMaxReplicaBatchBytes;
  }
  auto& slot = groups_[key];
  if (slot && slot->bytes + rec->values.size() + 64 > limit) {  // full: send it as it is
    grouped_ -= slot->records.size();
    ready_.push_back(std::move(slot));
  }
  if (!slot) {
    slot = std::make_unique<Request>();
    slot->token_known = token_routing_;
    slot->token = rec->token;
  }
  slot->bytes += rec->values.size() + 64;
  slot->records.push_back(std::move(rec));
  ++grouped_;
  if (slot->records.size() >= static_cast<size_t>(o_.batch_size)) {
    grouped_ -= slot->records.size();
    ready_.push_back(std::move(slot));
    groups_.erase(key);
  }
}

void Loader::flush_groups() {
  for (auto& [k, req] : groups_) ready_.push_back(std::move(req));
  groups_.clear();
  grouped_ = 0;
}

bool Loader::send(std::unique_ptr<Request>& req) {
  cql::Connection* conn = session_->pick(req->token_known ? std::optional<int64_t>(req->token) : std::nullopt);
  if (!conn) return false;
  std::shared_ptr<Request> shared(req.release());
  const std::string& id = prepared_.id;
  auto encoder = [&](std::string& out, int16_t stream) {
    if (shared->records.size() == 1) {
      cql::encode_execute(out, stream, id, consistency_, shared->records[0]->values,
                          static_cast<uint16_t>(sources_.size() + 1));
    } else {
      std::vector<cql::BatchEntry> entries;
      entries.reserve(shared->records.size());
      for (auto& r : shared->records) entries.push_back({id, r->values, static_cast<uint16_t>(sources_.size() + 1)});
      cql::encode_batch(out, stream, cql::BatchType::unlogged, entries, consistency_);
    }
  };
  ++in_flight_;
  if (in_flight_ > max_in_flight_) {
    max_in_flight_ = in_flight_;
    ctx_.stats.set("max_in_flight", max_in_flight_);
  }
  conn->send(encoder, [this, shared, conn](cql::Response& r) { on_response(shared, conn, r); });
  return true;
}

void Loader::pump() {
  int64_t now = cql::now_ms();
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    ready_.push_front(std::move(delayed_.begin()->second));
    delayed_.erase(delayed_.begin());
  }
  while (!ready_.empty() && in_flight_ < concurrency_) {
    if (!send(ready_.front())) break;
    ready_.pop_front();
  }
}

void Loader::succeed(Request& req, const cql::Connection& conn) {
  ctx_.stats.records_out += req.records.size();
  // A node found later starts from the connection it is on.
  auto& n = node_writes_.try_emplace(&conn, NodeWrites{0, conn.opened()}).first->second;
  n.records += req.records.size();
  if (n.opened != conn.opened()) {
    log::info("{}: writes acknowledged again since it reconnected", conn.name());
    n.opened = conn.opened();
  }
  for (auto& r : req.records) ack(*r);
}

void Loader::retry_later(std::unique_ptr<Request> req, const std::string& why) {
  if (++req->attempts > o_.retries) {
    undelivered_ += req->records.size();
    if (fatal_.empty())
      fatal_ = fmt::format("giving up after {} retries: {}", o_.retries, why);
    return;
  }
  // Exponential backoff with jitter: 50 ms, 100 ms, ... capped at 5 s.
  int64_t base = std::min<int64_t>(5000, int64_t(50) << std::min(req->attempts - 1, 10));
  int64_t delay = base / 2 + static_cast<int64_t>(rng_() % static_cast<uint32_t>(base / 2 + 1));
  log::debug("retry {} of {} in {} ms: {}", req->attempts, o_.retries, delay, why);
  ctx_.stats.add("retries");
  delayed_.emplace(cql::now_ms() + delay, std::move(req));
}

void Loader::reprepare(cql::Connection* conn, std::unique_ptr<Request> req) {
  std::shared_ptr<Request> shared(req.release());
  ctx_.stats.add("reprepared");
  ++in_flight_;
  conn->send([this](std::string& out, int16_t s) { cql::encode_prepare(out, s, insert_cql_); },
             [this, shared](cql::Response& r) {
               --in_flight_;
               std::unique_ptr<Request> back(new Request(std::move(*shared)));
               if (!r.transport_ok) return retry_later(std::move(back), r.transport_error);
               if (r.opcode == static_cast<uint8_t>(Opcode::result)) {
                 auto res = cql::decode_result(r.body);
                 if (res.kind == cql::ResultKind::prepared) {
                   if (res.prepared.id != prepared_.id) log::debug("the INSERT's prepared id changed");
                   prepared_.id = res.prepared.id;
                   ready_.push_front(std::move(back));
                   return;
                 }
               }
               std::string why = r.opcode == static_cast<uint8_t>(Opcode::error)
                                     ? cql::decode_error(r.body).describe()
                                     : "unexpected answer to PREPARE";
               retry_later(std::move(back), "re-prepare failed: " + why);
             });
}

// The table (or keyspace) was dropped under the load: "unconfigured table t"
// (Cassandra 3.x/4.0), "table ks.t does not exist" / "keyspace ks does not
// exist" (4.1, 5.0).
bool table_is_gone(const cql::ServerError& e) {
  if (e.code != cql::errc::invalid) return false;
  const std::string& m = e.message;
  return m.find("nconfigured table") != std::string::npos ||
         ((m.rfind("table ", 0) == 0 || m.rfind("Table ", 0) == 0 || m.rfind("keyspace ", 0) == 0 ||
           m.rfind("Keyspace ", 0) == 0) &&
          m.find("does not exist") != std::string::npos);
}

void Loader::on_response(std::shared_ptr<Request> shared, cql::Connection* conn, cql::Response& r) {
  --in_flight_;
  std::unique_ptr<Request> req(new Request(std::move(*shared)));
  if (!r.transport_ok) return retry_later(std::move(req), r.transport_error);
  if (r.opcode == static_cast<uint8_t>(Opcode::result)) return succeed(*req, *conn);
  if (r.opcode != static_cast<uint8_t>(Opcode::error))
    return retry_later(std::move(req), std::string("unexpected ") + cql::opcode_name(r.opcode));
  cql::ServerError e;
  try {
    e = cql::decode_error(r.body);
  } catch (const cql::ProtocolError& pe) {
    return retry_later(std::move(req), std::string("undecodable ERROR: ") + pe.what());
  }
  if (e.code == cql::errc::unprepared) {
    if (++req->reprepares > 3) return retry_later(std::move(req), e.describe());
    return reprepare(conn, std::move(req));
  }
  if (e.transient()) {
    ctx_.stats.add(std::string("error_") + cql::error_code_name(e.code));
    return retry_later(std::move(req), conn->name() + ": " + e.describe());
  }
  if (e.code == cql::errc::unauthorized || e.code == cql::errc::syntax || e.code == cql::errc::config ||
      e.code == cql::errc::bad_credentials || e.code == cql::errc::protocol ||
      e.code == cql::errc::already_exists || table_is_gone(e)) {
    // Not about this record: every record would fail the same way.
    undelivered_ += req->records.size();
    if (fatal_.empty()) {
      fatal_ = conn->name() + ": " + e.describe();
      fatal_usage_ = true;
    }
    return;
  }
  if (req->records.size() > 1) {
    // Which record is at fault? Send them one by one.
    ctx_.stats.add("batches_split");
    for (auto& rec : req->records) {
      auto one = std::make_unique<Request>();
      one->token_known = req->token_known;
      one->token = req->token;
      one->records.push_back(std::move(rec));
      ready_.push_back(std::move(one));
    }
    return;
  }
  reject(*req->records[0], e.message,
         fmt::format("\"code\":{},\"error\":{}", e.code, json::quote(cql::error_code_name(e.code))));
}

void Loader::log_per_node() const {
  for (size_t i = 0; i < session_->size(); ++i) {
    const cql::Connection& c = session_->connection(i);
    auto it = node_writes_.find(&c);
    log::info("{}: {} records written through this node", c.name(), it == node_writes_.end() ? 0 : it->second.records);
  }
}

int Loader::run() {
  setup();
  while (true) {
    bool stopping = stop_requested() || !fatal_.empty();
    bool input_open = more_input() && !stopping;
    bool room = in_flight_ + ready_.size() < concurrency_;
    bool idle_input = false;
    if (input_open && room) idle_input = !read_some();
    // Nothing more is coming right now: send what is grouped.
    if (idle_input || !more_input() || stopping || grouped_ >= concurrency_ * static_cast<size_t>(o_.batch_size) ||
        (ready_.empty() && in_flight_ == 0))
      flush_groups();
    pump();
    if (!fatal_.empty()) {
      // Let what is in flight finish; drop what was not sent (not acked, so
      // an upstream replay brings it back).
      for (auto& rq : ready_) undelivered_ += rq->records.size();
      for (auto& [t, rq] : delayed_) undelivered_ += rq->records.size();
      ready_.clear();
      delayed_.clear();
      if (in_flight_ == 0) break;
    }
    bool done_input = !more_input() || stop_requested();
    if (done_input && ready_.empty() && delayed_.empty() && groups_.empty() && in_flight_ == 0) break;
    int timeout = 200;
    if (!delayed_.empty()) timeout = static_cast<int>(std::clamp<int64_t>(delayed_.begin()->first - cql::now_ms(), 0, 200));
    if (!ready_.empty() && in_flight_ < concurrency_) timeout = std::min(timeout, 10);  // waiting for a connection
    bool want_input = !input_done_ && samples_.empty() && fatal_.empty() && !stop_requested() &&
                      in_flight_ + ready_.size() < concurrency_ && idle_input;
    if (input_open && room && !idle_input) timeout = 0;  // more to read at once
    session_->poll(timeout, want_input ? input_fds_[input_index_] : -1, POLLIN);
    if (session_->alive() == 0 && in_flight_ == 0 && !ready_.empty()) {
      // Every node is down: the requests wait in delayed_ with backoff.
      while (!ready_.empty()) {
        auto rq = std::move(ready_.front());
        ready_.pop_front();
        retry_later(std::move(rq), "no Cassandra node is reachable");
      }
    }
  }
  rejects_.flush();
  log_per_node();
  ctx_.stats.set("undelivered", undelivered_);
  if (!fatal_.empty()) {
    std::string msg = fmt::format("{}; {} records written, {} not written", fatal_,
                                  ctx_.stats.records_out.load(), undelivered_);
    if (fatal_usage_) throw UsageError(msg);
    throw ServiceError(msg);
  }
  if (stop_requested()) log::info("stopped by signal after {} records", ctx_.stats.records_in.load());
  return rejects_.exit_status(ctx_.stats.records_in);
}

}  // namespace

int run(const Options& opts, RunContext& ctx) {
  Loader loader(opts, ctx);
  return loader.run();
}

}  // namespace pipekit::cqlload
