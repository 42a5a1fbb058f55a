#pragma once
// pgload: NDJSON (or envelopes) from stdin into a PostgreSQL table with COPY,
// one transaction per batch; insert, upsert (staging table + ON CONFLICT) or
// ignore; rows the database refuses are found by bisection and rejected with
// their SQLSTATE; a lost connection is retried and the open batch replayed.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pipekit/cli.hpp"
#include "pipekit/envelope.hpp"
#include "pipekit/intake.hpp"
#include "pipekit/ndjson.hpp"
#include "pipekit/pg.hpp"
#include "pipekit/rejects.hpp"

namespace pipekit::pgload {

using pg::Conn;
using pg::hide_dsn_password;
using pg::PgError;
using pg::quote_ident;
using pg::ResultPtr;
using pg::scrub;

enum class Mode { insert, upsert, ignore };

struct Options {
  CommonOptions common;
  RejectOptions rejects;
  IntakeOptions intake;                // --max-line-bytes, --envelope, --ack
  std::string dsn;                     // -d/--dsn; empty: PG* variables
  std::string table;                   // --table [schema.]name
  std::vector<std::string> maps;       // --map column=path[::type]
  std::string jsonb_column;            // --jsonb column: the whole record
  bool strict_fields = false;
  bool create = false;
  std::string schema_file;             // --schema FILE (JSON Schema)
  std::string primary_key;             // --primary-key col[,col]
  Mode mode = Mode::insert;            // --mode insert|upsert|ignore
  std::string key;                     // --key col[,col]
  uint64_t batch_rows = 10000;
  uint64_t batch_bytes = 32ull << 20;  // --batch-bytes SIZE
  int64_t flush_interval_ms = 1000;    // --flush-interval DURATION
  int64_t flush_idle_ms = 10;          // --flush-idle DURATION: commit once input is quiet this long (0: never)
  int retries = 10;
};

// "insert" | "upsert" | "ignore"; throws UsageError.
Mode parse_mode(const std::string& m);

int run(const Options& opts, RunContext& ctx);

// ---- pieces with unit tests --------------------------------------------------

// [schema.]name, where either part may be written "double-quoted" to hold a
// dot or a quote (""). Unquoted parts are taken literally (no case folding).
struct TableName {
  std::string schema;  // empty: the first match on search_path
  std::string name;
  std::string quoted() const;  // "schema"."name" or "name"
  std::string display() const;
};
TableName parse_table_name(const std::string& spec);  // throws UsageError

// Envelope fields usable in --map as @topic, @partition, @offset, @key, @timestamp.
using EnvField = EnvelopeField;

struct MapSpec {
  std::string column;
  std::string path;      // JSON path in the record, or empty for an envelope field
  EnvField env = EnvField::none;
  std::string type;      // optional SQL type from "::type" (used by --create)
};
// column=path[::type], column=@offset[::type]; throws UsageError.
MapSpec parse_map(const std::string& spec);
// Canonical SQL type for a user-given type name (whitelisted); throws UsageError.
std::string canonical_type(const std::string& type);
std::vector<std::string> split_columns(const std::string& list);  // "a,b" -> {a,b}

// Appends `s` to a COPY text-format field, escaping \, tab, newline, CR.
void append_copy_escaped(std::string& out, std::string_view s);

// ms since the epoch -> "2024-11-21T05:51:57.123Z".
std::string iso_utc_from_ms(int64_t ms);

}  // namespace pipekit::pgload
