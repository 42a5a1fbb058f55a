#include "setup.hpp"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "pipekit/errors.hpp"
#include "pipekit/log.hpp"

namespace pipekit::cqlload {

using cql::Opcode;

Target resolve_target(const Options& o) {
  Target t{o.keyspace, o.table};
  if (auto dot = t.table.find('.'); dot != std::string::npos && t.table.front() != '"') {
    if (t.keyspace.empty()) t.keyspace = t.table.substr(0, dot);
    t.table = t.table.substr(dot + 1);
  }
  if (t.table.empty()) throw UsageError("give the table with --table");
  if (t.keyspace.empty()) throw UsageError("give the keyspace with --keyspace (or --table keyspace.table)");
  return t;
}

cql::Consistency check_options(const Options& o) {
  auto c = cql::parse_consistency(o.consistency);
  if (!c) throw UsageError("--consistency: unknown level '" + o.consistency + "'");
  if (*c == cql::Consistency::serial || *c == cql::Consistency::local_serial)
    throw UsageError("--consistency: " + o.consistency +
                     " is for lightweight transactions (conditional writes), not for plain INSERTs");
  if (o.concurrency < 1 || o.concurrency > 32768) throw UsageError("--concurrency must be 1..32768");
  if (o.batch_size < 1 || o.batch_size > 65535) throw UsageError("--batch-rows must be 1..65535");
  if (o.ttl < 0) throw UsageError("--ttl must be >= 0 seconds");
  if (o.routing != "token" && o.routing != "round-robin") throw UsageError("--routing: token or round-robin");
  if (o.group_by != "replica" && o.group_by != "partition") throw UsageError("--group-by: replica or partition");
  if (!o.replication.empty()) replication_cql(o.replication, "dc", 1);  // its syntax, before connecting
  return *c;
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

cql::SessionOptions session_options(const Options& o, cql::Consistency consistency) {
  cql::SessionOptions so;
  std::string hosts = o.hosts;
  if (hosts.empty())
    if (const char* env = std::getenv("CQL_HOSTS")) hosts = env;
  so.hosts = split_hosts(hosts);
  so.port = o.port;
  so.user = o.user;
  so.password = read_password(o);
  if (!so.user.empty() && so.password.empty())
    throw UsageError("--user given but no password: use --password-file FILE or CQL_PASSWORD");
  so.tls = o.tls || !o.ca_file.empty() || !o.cert_file.empty();
  so.ca_file = o.ca_file;
  so.cert_file = o.cert_file;
  so.key_file = o.key_file;
  so.verify_hostname = !o.no_verify_hostname;
  if (o.no_verify_hostname && !so.tls) throw UsageError("--no-verify-hostname is for TLS (--tls or --ca-file)");
  so.connect_timeout_ms = static_cast<int>(o.connect_timeout_ms);
  so.request_timeout_ms = static_cast<int>(o.request_timeout_ms);
  so.max_in_flight = o.concurrency;
  // LOCAL_* levels: the coordinators are the local datacenter's nodes.
  so.local_dc_only = consistency == cql::Consistency::local_quorum || consistency == cql::Consistency::local_one;
  return so;
}

namespace {

std::vector<std::pair<std::string, std::string>> new_columns(const Options& o,
                                                             const std::vector<std::string>& samples) {
  if (o.schema_file.empty()) {
    auto defs = columns_from_samples(samples);
    if (defs.empty()) throw UsageError("--create: no record to learn the columns from (give --schema FILE)");
    return defs;
  }
  std::ifstream f(o.schema_file);
  if (!f) throw UsageError("cannot read --schema " + o.schema_file);
  std::stringstream ss;
  ss << f.rdbuf();
  return columns_from_json_schema(ss.str());
}

void create_table(cql::Session& s, const Options& o, const Target& t, const std::vector<std::string>& samples) {
  if (o.primary_key.empty()) throw UsageError("--create needs --primary-key");
  PrimaryKey pk = parse_primary_key(o.primary_key);
  auto defs = new_columns(o, samples);
  std::string replication = o.replication;
  if (replication.empty() || replication.front() != '{') {
    auto [dc, nodes] = local_datacenter(s);
    replication = replication_cql(replication, dc, nodes);
  }
  log::info("creating keyspace {} (if missing) with replication {}", t.keyspace, replication);
  query(s, "CREATE KEYSPACE IF NOT EXISTS " + quote_ident(t.keyspace) + " WITH replication = " + replication,
        cql::Consistency::one);
  std::string create = create_table_cql(t.keyspace, t.table, defs, pk);
  log::info("creating table {}", t.name());
  log::debug("{}", create);
  query(s, create, cql::Consistency::one);
  if (!wait_schema_agreement(s, 10000)) log::warn("the nodes do not agree on the schema yet");
}

}  // namespace

std::vector<TableColumn> ensure_table(cql::Session& s, const Options& o, const Target& t,
                                      const std::vector<std::string>& samples) {
  auto columns = table_columns(s, t.keyspace, t.table);
  if (columns.empty() && o.create) {
    create_table(s, o, t, samples);
    columns = table_columns(s, t.keyspace, t.table);
  }
  if (columns.empty())
    throw UsageError("unknown table " + t.name() + " (check the names, or use --create with --primary-key)");
  for (const auto& c : columns)
    if (c.type == "counter") throw UsageError("table " + t.name() + " has counter columns: cqlload only INSERTs");
  return columns;
}

std::string insert_cql(const Target& t, const std::vector<std::string>& columns, int64_t ttl) {
  std::string names, marks;
  for (const auto& c : columns) {
    names += (names.empty() ? "" : ", ") + quote_ident(c);
    marks += marks.empty() ? "?" : ", ?";
  }
  std::string cql = "INSERT INTO " + quote_ident(t.keyspace) + "." + quote_ident(t.table) + " (" + names +
                    ") VALUES (" + marks + ")";
  // The last bind marker is the record's write timestamp.
  cql += ttl > 0 ? " USING TTL " + std::to_string(ttl) + " AND TIMESTAMP ?" : " USING TIMESTAMP ?";
  return cql;
}

namespace {

// PREPARE on one node: the prepared statement, or nullopt after a transport
// failure (`last` says why).
std::optional<cql::Prepared> prepare_on(cql::Session& s, cql::Connection& c, const std::string& cql,
                                        std::string& last) {
  for (int attempt = 0;; ++attempt) {
    auto r = c.call([&](std::string& out, int16_t stream) { cql::encode_prepare(out, stream, cql); },
                    s.options().request_timeout_ms);
    if (!r.transport_ok) {
      last = r.transport_error;
      return std::nullopt;
    }
    if (r.opcode == static_cast<uint8_t>(Opcode::error)) {
      auto e = cql::decode_error(r.body);
      // Right after CREATE TABLE another node may not know the table yet.
      if (e.code == cql::errc::invalid && attempt < 10 && s.size() > 1) {
        usleep(300000);
        continue;
      }
      std::string msg = c.name() + ": cannot prepare the INSERT: " + e.describe();
      if (e.transient()) throw ServiceError(msg);
      throw UsageError(msg);
    }
    auto res = cql::decode_result(r.body);
    if (res.kind != cql::ResultKind::prepared) throw ServiceError(c.name() + ": PREPARE gave no prepared result");
    return std::move(res.prepared);
  }
}

}  // namespace

cql::Prepared prepare_everywhere(cql::Session& s, const std::string& cql) {
  std::optional<cql::Prepared> prepared;
  std::string last;
  for (size_t i = 0; i < s.size(); ++i) {
    auto& c = s.connection(i);
    if (!c.alive()) continue;
    if (auto p = prepare_on(s, c, cql, last)) prepared = std::move(p);
  }
  if (!prepared) throw ServiceError("cannot prepare the INSERT: " + last);
  return std::move(*prepared);
}

std::vector<int> partition_key_binds(const cql::Prepared& p, const std::vector<TableColumn>& columns) {
  std::vector<int> out(p.bind.pk_indexes.begin(), p.bind.pk_indexes.end());
  if (out.empty())  // servers that do not send them: the table's key columns
    for (size_t i = 0; i < columns.size(); ++i)
      if (columns[i].kind == "partition_key") out.push_back(static_cast<int>(i));
  return out;
}

}  // namespace pipekit::cqlload
