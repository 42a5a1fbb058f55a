#pragma once
// cqlload's set-up before the first write: the options checked, the target
// (keyspace.table), the session's options (hosts, credentials, TLS,
// timeouts), the table created if asked (--create: from --schema or from the
// first records), the INSERT's text, and the statement prepared on every node.
#include <cstdint>
#include <string>
#include <vector>

#include "engine.hpp"
#include "pipekit/cql/protocol.hpp"
#include "pipekit/cql/session.hpp"
#include "schema.hpp"

namespace pipekit::cqlload {

struct Target {
  std::string keyspace, table;
  std::string name() const { return keyspace + "." + table; }
};
// --table [keyspace.]table and --keyspace; throws UsageError when one is missing.
Target resolve_target(const Options& o);

// Checks the write options (consistency, concurrency, batch size, TTL,
// routing, grouping, replication) and returns the consistency level. Throws
// UsageError.
cql::Consistency check_options(const Options& o);

// "h1, h2:9043," -> {"h1", "h2:9043"}
std::vector<std::string> split_hosts(const std::string& s);
// --password-file's first line, else CQL_PASSWORD, else "".
std::string read_password(const Options& o);
// The session's options: --hosts (else CQL_HOSTS), credentials, TLS, timeouts;
// LOCAL_* levels keep to the local datacenter. Throws UsageError.
cql::SessionOptions session_options(const Options& o, cql::Consistency consistency);

// The table's columns; with --create, the keyspace and table are created
// first when missing, their columns from --schema or from `samples` (JSON
// records). Throws UsageError for an unknown table, a counter table, or
// --create without what it needs.
std::vector<TableColumn> ensure_table(cql::Session& s, const Options& o, const Target& t,
                                      const std::vector<std::string>& samples);

// INSERT INTO "ks"."t" ("a", "b") VALUES (?, ?) USING [TTL n AND] TIMESTAMP ?
// (the last marker is each record's write timestamp).
std::string insert_cql(const Target& t, const std::vector<std::string>& columns, int64_t ttl);

// Prepares `cql` on every reachable node (a node that forgets it answers
// UNPREPARED later). Throws UsageError or ServiceError.
cql::Prepared prepare_everywhere(cql::Session& s, const std::string& cql);

// The bind indexes of the partition key, in key order: from the prepared
// metadata, else (servers that do not send them) the table's key columns.
std::vector<int> partition_key_binds(const cql::Prepared& p, const std::vector<TableColumn>& columns);

}  // namespace pipekit::cqlload
