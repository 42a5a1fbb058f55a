#pragma once
// cqlload: NDJSON records into a Cassandra table over CQL native protocol v4,
// with prepared INSERTs, many requests in flight, unlogged batches grouped by
// partition key, retries, rejects and acknowledgements.
#include <cstdint>
#include <string>
#include <vector>

#include "pipekit/cli.hpp"
#include "pipekit/intake.hpp"
#include "pipekit/rejects.hpp"

namespace pipekit::cqlload {

struct Options {
  CommonOptions common;
  RejectOptions rejects;
  std::vector<std::string> inputs;      // files; empty or "-": stdin
  std::string hosts;                    // --hosts h1,h2[:port] (else CQL_HOSTS)
  int port = 9042;
  std::string keyspace;
  std::string table;                    // "table" or "keyspace.table"
  std::string user;
  std::string password_file;            // else CQL_PASSWORD
  std::vector<std::string> maps;        // column=path
  IntakeOptions intake;                 // --max-line-bytes, --envelope, --ack
  bool create = false;
  std::string schema_file;
  std::string primary_key;              // "id" or "(a, b), c"
  std::string replication;              // "": NetworkTopologyStrategy, local DC, min(3, nodes)
  std::string consistency = "LOCAL_QUORUM";
  int64_t ttl = 0;
  int concurrency = 64;
  int batch_size = 8;
  std::string group_by = "replica";     // replica | partition: what the records of one batch share
  std::string routing = "token";        // token | round-robin
  int retries = 8;
  bool tls = false;
  std::string ca_file;
  std::string cert_file, key_file;      // mutual TLS
  bool no_verify_hostname = false;
  int64_t connect_timeout_ms = 5000;    // --connect-timeout DURATION, parsed by main
  int64_t request_timeout_ms = 12000;   // --request-timeout DURATION, parsed by main
  int infer_records = 100;              // --create without --schema
};

int run(const Options& opts, RunContext& ctx);

// Helpers shared with the tests.
// "((a, b), c)" or "a,b" -> partition key columns and clustering columns.
struct PrimaryKey {
  std::vector<std::string> partition, clustering;
};
PrimaryKey parse_primary_key(const std::string& spec);  // throws UsageError
std::string quote_ident(const std::string& name);        // "name" with "" doubled

}  // namespace pipekit::cqlload
