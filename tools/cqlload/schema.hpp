#pragma once
// cqlload's set-up: the table's columns from system_schema, CREATE KEYSPACE /
// CREATE TABLE from a JSON Schema or from sample records, schema agreement.
#include <simdjson.h>

#include <string>
#include <vector>

#include "pipekit/cql/session.hpp"
#include "engine.hpp"

namespace pipekit::cqlload {

struct TableColumn {
  std::string name;
  std::string kind;  // partition_key, clustering, regular, static
  std::string type;  // CQL text, e.g. "list<text>"
};

// The table's columns, or empty when the table does not exist.
std::vector<TableColumn> table_columns(cql::Session& s, const std::string& ks, const std::string& table);

// A blocking QUERY; throws UsageError (syntax, invalid, unauthorized) or
// ServiceError with the server's message.
cql::Result query(cql::Session& s, const std::string& cql, cql::Consistency c,
                  const std::string& values = {}, uint16_t count = 0);

// Column name -> CQL type from a JSON Schema document.
std::vector<std::pair<std::string, std::string>> columns_from_json_schema(const std::string& text);
// Column name -> CQL type from sample records (union of their fields).
std::vector<std::pair<std::string, std::string>> columns_from_samples(const std::vector<std::string>& lines);

std::string create_table_cql(const std::string& ks, const std::string& table,
                             const std::vector<std::pair<std::string, std::string>>& columns,
                             const PrimaryKey& pk);

// The new keyspace's replication map (CQL) for --create, from --replication:
//   ""                 NetworkTopologyStrategy, the local datacenter with
//                      min(3, its nodes) replicas
//   "dc1:3,dc2:2"      NetworkTopologyStrategy with those factors
//   "simple:N"         SimpleStrategy with N replicas (only when asked)
//   "{...}"            a CQL replication map, as is
// Throws UsageError on anything else.
std::string replication_cql(const std::string& spec, const std::string& local_dc, size_t local_nodes);

// The datacenter of the node answering and how many nodes it has (itself
// and its peers in system.peers_v2, or system.peers before 4.0).
std::pair<std::string, size_t> local_datacenter(cql::Session& s);

// Waits until every reachable node reports the same schema_version (up to
// timeout_ms); returns false on time-out.
bool wait_schema_agreement(cql::Session& s, int timeout_ms);

}  // namespace pipekit::cqlload
