// cqlload's run: set-up (setup.cpp: connect, table, prepare), then one event
// loop that reads records through the intake while there is room in flight
// (window.cpp), binds them (binder.cpp), groups them into requests
// (batcher.cpp), sends EXECUTE/BATCH on the node that owns the key, and handles
// answers in any order (retry.cpp): written -> ack (acknowledger.cpp),
// UNPREPARED -> re-prepare, transient -> retry with backoff, invalid -> reject
// (a batch is split to find the culprit).
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <memory>
#include <optional>

#include "acknowledger.hpp"
#include "batcher.hpp"
#include "binder.hpp"
#include "engine.hpp"
#include "pipekit/cql/session.hpp"
#include "pipekit/cql/types.hpp"
#include "pipekit/errors.hpp"
#include "pipekit/intake.hpp"
#include "pipekit/log.hpp"
#include "pipekit/signals.hpp"
#include "retry.hpp"
#include "samples.hpp"
#include "setup.hpp"
#include "window.hpp"

namespace pipekit::cqlload {
namespace {

using cql::Opcode;

constexpr IntakeRules kRules{.require_object = true};

// Every input is checked at start, so that a missing file fails (exit 4)
// before connecting; the intake opens each in turn.
void check_inputs(const std::vector<std::string>& inputs) {
  for (const auto& in : inputs)
    if (in != "-" && !in.empty() && ::access(in.c_str(), R_OK) != 0)
      throw IoError(errno_message("cannot open " + in, errno));
}

class Loader {
 public:
  Loader(const Options& o, RunContext& ctx)
      : o_(o),
        ctx_(ctx),
        rejects_(o.rejects, ctx.stats),
        window_(static_cast<size_t>(std::max(1, o.concurrency)), o.retries) {}
  int run();

 private:
  void setup();
  void connect(const cql::SessionOptions& so);
  void prepare(const std::vector<TableColumn>& columns);
  bool round();
  void wait(bool reading, bool idle_input);
  int finish();
  bool more_input() const { return !input_done_ || (samples_ && !samples_->empty()); }
  bool read_some();
  void handle(const Record& record);
  void pump();
  bool send(std::unique_ptr<Request>& req);
  void on_response(std::shared_ptr<Request> shared, cql::Connection* conn, cql::Response& r);
  void reprepare(cql::Connection* conn, std::unique_ptr<Request> req);
  void retry(std::unique_ptr<Request> req, const std::string& why);
  void succeed(Request& req, const cql::Connection& conn);
  void log_per_node() const;
  int64_t next_timestamp();

  const Options& o_;
  RunContext& ctx_;
  RejectSink rejects_;
  std::optional<Intake> intake_;
  std::optional<Samples> samples_;  // --create without --schema: the first records
  std::optional<Acknowledger> acks_;
  bool input_done_ = false;
  std::unique_ptr<cql::Session> session_;
  Target target_;
  cql::Consistency consistency_ = cql::Consistency::local_quorum;
  std::string insert_cql_;
  cql::Prepared prepared_;
  Binder binder_;
  std::optional<Batcher> batcher_;
  bool group_by_replica_ = false;
  bool token_routing_ = false;
  Window window_;
  size_t max_in_flight_reported_ = 0;
  int64_t last_timestamp_us_ = 0;
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
  target_ = resolve_target(o_);
  consistency_ = check_options(o_);
  cql::SessionOptions so = session_options(o_, consistency_);
  // Inputs (opened before connecting: a missing file is exit 4 at once).
  check_inputs(o_.inputs);
  intake_.emplace(o_.inputs, o_.intake, kRules, rejects_, ctx_.stats);
  acks_.emplace(*intake_, ctx_.stats);
  if (o_.create && o_.schema_file.empty()) {
    // Read ahead up to --infer-records records (or until the input pauses
    // for a second after the first) to learn the columns; they load first.
    samples_.emplace(o_.intake, kRules);
    ReadStatus st = samples_->collect(*intake_, static_cast<size_t>(std::max(0, o_.infer_records)));
    input_done_ = st == ReadStatus::eof;
  }
  connect(so);
  auto columns = ensure_table(*session_, o_, target_, samples_ ? samples_->values() : std::vector<std::string>{});
  prepare(columns);
  if (o_.routing == "token" && session_->size() > 1) token_routing_ = session_->load_ring();
  group_by_replica_ = o_.group_by == "replica";
  batcher_.emplace(static_cast<size_t>(o_.batch_size), group_by_replica_ ? GroupBy::replica : GroupBy::partition,
                   token_routing_);
  for (size_t i = 0; i < session_->size(); ++i) {
    const cql::Connection& c = session_->connection(i);
    node_writes_[&c].opened = c.opened();
  }
  log::debug("routing: {}", token_routing_ ? "token-aware" : "round robin");
}

void Loader::connect(const cql::SessionOptions& so) {
  session_ = std::make_unique<cql::Session>(so);
  session_->open();
  size_t found = session_->discover();
  log::debug("connected to {} of {} nodes ({} discovered)", session_->alive(), session_->size(), found);
}

void Loader::prepare(const std::vector<TableColumn>& columns) {
  std::vector<std::string> names;
  names.reserve(columns.size());
  for (const auto& c : columns) names.push_back(c.name);
  auto binds = bind_columns(names, o_.maps, o_.intake.envelope, target_.name());
  insert_cql_ = insert_cql(target_, names, o_.ttl);
  prepared_ = prepare_everywhere(*session_, insert_cql_);
  if (prepared_.bind.columns.size() != binds.size() + 1)
    throw ServiceError("the prepared INSERT has " + std::to_string(prepared_.bind.columns.size()) +
                       " bind markers, expected " + std::to_string(binds.size() + 1));
  for (size_t i = 0; i < binds.size(); ++i) binds[i].type = prepared_.bind.columns[i].type;
  binder_ = Binder(std::move(binds), partition_key_binds(prepared_, columns));
}

// Reads records while there is room; false when the input has nothing now.
bool Loader::read_some() {
  size_t room_records = static_cast<size_t>(o_.concurrency) * static_cast<size_t>(o_.batch_size);
  Record record;
  for (int n = 0; n < 256 && more_input() && !window_.failed() && !stop_requested() && window_.has_room() &&
                  batcher_->grouped() < room_records;) {
    if (samples_) {
      if (samples_->next(record)) {
        handle(record);
        ++n;
        continue;
      }
      samples_.reset();
    }
    switch (intake_->next(record, 0)) {
      case ReadStatus::line:
        handle(record);
        ++n;
        break;
      case ReadStatus::eof: input_done_ = true; break;
      case ReadStatus::timeout:
      case ReadStatus::stopped: return false;  // nothing to read now, or stopped
    }
  }
  return true;
}

void Loader::handle(const Record& record) {
  auto row = std::make_unique<Row>();
  row->line = record.line.number;
  row->input = record.input;
  row->original.assign(record.line.text);
  if (intake_->acks_enabled()) row->coordinates = record.coordinates();
  if (auto refusal = binder_.bind(record.value, record.envelope, next_timestamp(), *row))
    return acks_->reject(*row, refusal->code, refusal->reason, refusal->extra);
  if (token_routing_) row->token = cql::murmur3_token(row->routing);
  int owner = token_routing_ && group_by_replica_ && o_.batch_size > 1 ? session_->owner(row->token) : -1;
  batcher_->add(std::move(row), owner, window_.ready());
}

bool Loader::send(std::unique_ptr<Request>& req) {
  cql::Connection* conn = session_->pick(req->token_known ? std::optional<int64_t>(req->token) : std::nullopt);
  if (!conn) return false;
  std::shared_ptr<Request> shared(req.release());
  auto markers = static_cast<uint16_t>(binder_.markers());
  window_.sent();
  if (window_.max_in_flight() > max_in_flight_reported_) {
    max_in_flight_reported_ = window_.max_in_flight();
    ctx_.stats.set("max_in_flight", max_in_flight_reported_);
  }
  conn->send(
      [this, shared, markers](std::string& out, int16_t stream) {
        encode_request(out, stream, prepared_.id, consistency_, *shared, markers);
      },
      [this, shared, conn](cql::Response& r) { on_response(shared, conn, r); });
  return true;
}

void Loader::pump() {
  window_.promote(cql::now_ms());
  while (window_.can_send()) {
    if (!send(window_.ready().front())) break;
    window_.ready().pop_front();
  }
}

void Loader::succeed(Request& req, const cql::Connection& conn) {
  // A node found later starts from the connection it is on.
  auto& n = node_writes_.try_emplace(&conn, NodeWrites{0, conn.opened()}).first->second;
  n.records += req.rows.size();
  if (n.opened != conn.opened()) {
    log::info("{}: writes acknowledged again since it reconnected", conn.name());
    n.opened = conn.opened();
  }
  acks_->written(req);
}

void Loader::retry(std::unique_ptr<Request> req, const std::string& why) {
  if (window_.retry_later(std::move(req), why, cql::now_ms())) ctx_.stats.add("retries");
}

void Loader::reprepare(cql::Connection* conn, std::unique_ptr<Request> req) {
  std::shared_ptr<Request> shared(req.release());
  ctx_.stats.add("reprepared");
  window_.sent();
  conn->send([this](std::string& out, int16_t s) { cql::encode_prepare(out, s, insert_cql_); },
             [this, shared](cql::Response& r) {
               window_.answered();
               std::unique_ptr<Request> back(new Request(std::move(*shared)));
               if (!r.transport_ok) return retry(std::move(back), r.transport_error);
               if (r.opcode == static_cast<uint8_t>(Opcode::result)) {
                 auto res = cql::decode_result(r.body);
                 if (res.kind == cql::ResultKind::prepared) {
                   if (res.prepared.id != prepared_.id) log::debug("the INSERT's prepared id changed");
                   prepared_.id = res.prepared.id;
                   window_.ready().push_front(std::move(back));
                   return;
                 }
               }
               std::string why = r.opcode == static_cast<uint8_t>(Opcode::error)
                                     ? cql::decode_error(r.body).describe()
                                     : "unexpected answer to PREPARE";
               retry(std::move(back), "re-prepare failed: " + why);
             });
}

void Loader::on_response(std::shared_ptr<Request> shared, cql::Connection* conn, cql::Response& r) {
  window_.answered();
  std::unique_ptr<Request> req(new Request(std::move(*shared)));
  Answer a = classify(r, req->rows.size(), req->reprepares);
  switch (a.verdict) {
    case Verdict::written: return succeed(*req, *conn);
    case Verdict::retry:
      if (!a.transient) return retry(std::move(req), a.why);
      ctx_.stats.add(std::string("error_") + cql::error_code_name(a.error.code));
      return retry(std::move(req), conn->name() + ": " + a.why);
    case Verdict::reprepare:
      ++req->reprepares;
      return reprepare(conn, std::move(req));
    case Verdict::fatal:  // not about these rows: every row would fail the same way
      return window_.fail(conn->name() + ": " + a.why, true, req->rows.size());
    case Verdict::split:  // which row is at fault? Send them one by one.
      ctx_.stats.add("batches_split");
      for (auto& one : split(*req)) window_.ready().push_back(std::move(one));
      return;
    case Verdict::reject:
      return acks_->reject(*req->rows[0], RejectCode::cql, a.error.message, cql_reject_fields(a.error));
  }
}

void Loader::log_per_node() const {
  for (size_t i = 0; i < session_->size(); ++i) {
    const cql::Connection& c = session_->connection(i);
    auto it = node_writes_.find(&c);
    log::info("{}: {} records written through this node", c.name(), it == node_writes_.end() ? 0 : it->second.records);
  }
}

// One turn of the event loop; false when the load is over.
bool Loader::round() {
  bool stopping = stop_requested() || window_.failed();
  bool input_open = more_input() && !stopping;
  bool room = window_.has_room();
  bool idle_input = false;
  if (input_open && room) idle_input = !read_some();
  // Nothing more is coming right now: send what is grouped.
  size_t group_room = static_cast<size_t>(o_.concurrency) * static_cast<size_t>(o_.batch_size);
  if (idle_input || !more_input() || stopping || batcher_->grouped() >= group_room ||
      (window_.ready().empty() && window_.in_flight() == 0))
    batcher_->flush(window_.ready());
  pump();
  if (window_.failed()) {
    // Let what is in flight finish; drop what was not sent (not acked, so
    // an upstream replay brings it back).
    window_.drop_pending();
    if (window_.in_flight() == 0) return false;
  }
  bool done_input = !more_input() || stop_requested();
  if (done_input && window_.idle() && batcher_->empty()) return false;
  wait(input_open && room, idle_input);
  return true;
}

// Waits for answers, a backoff's end, or input; then writes the acks of the
// rows written meanwhile.
void Loader::wait(bool reading, bool idle_input) {
  int timeout = window_.wait_ms(cql::now_ms(), 200);
  if (window_.can_send()) timeout = std::min(timeout, 10);  // waiting for a connection
  bool want_input = !input_done_ && !window_.failed() && !stop_requested() && window_.has_room() && idle_input;
  if (reading && !idle_input) timeout = 0;  // more to read at once
  session_->poll(timeout, want_input ? intake_->input_fd() : -1, POLLIN);
  acks_->flush();
  if (session_->alive() == 0 && window_.in_flight() == 0 && !window_.ready().empty()) {
    // Every node is down: the requests wait with backoff.
    auto& ready = window_.ready();
    while (!ready.empty()) {
      auto req = std::move(ready.front());
      ready.pop_front();
      retry(std::move(req), "no Cassandra node is reachable");
    }
  }
}

int Loader::finish() {
  acks_->flush();
  rejects_.flush();
  log_per_node();
  ctx_.stats.set("undelivered", window_.undelivered());
  if (window_.failed()) {
    std::string msg = fmt::format("{}; {} records written, {} not written", window_.failure(),
                                  ctx_.stats.records_out.load(), window_.undelivered());
    if (window_.failure_is_usage()) throw UsageError(msg);
    throw ServiceError(msg);
  }
  if (stop_requested()) log::info("stopped by signal after {} records", ctx_.stats.records_in.load());
  return rejects_.exit_status(ctx_.stats.records_in);
}

int Loader::run() {
  setup();
  while (round()) {
  }
  return finish();
}

}  // namespace

int run(const Options& opts, RunContext& ctx) {
  Loader loader(opts, ctx);
  return loader.run();
}

}  // namespace pipekit::cqlload
