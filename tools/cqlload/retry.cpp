#include "retry.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "pipekit/json.hpp"

namespace pipekit::cqlload {

using cql::Opcode;

// "unconfigured table t" (Cassandra 3.x/4.0), "table ks.t does not exist" /
// "keyspace ks does not exist" (4.1, 5.0).
bool table_is_gone(const cql::ServerError& e) {
  if (e.code != cql::errc::invalid) return false;
  const std::string& m = e.message;
  return m.find("nconfigured table") != std::string::npos ||
         ((m.rfind("table ", 0) == 0 || m.rfind("Table ", 0) == 0 || m.rfind("keyspace ", 0) == 0 ||
           m.rfind("Keyspace ", 0) == 0) &&
          m.find("does not exist") != std::string::npos);
}

namespace {

bool about_every_row(const cql::ServerError& e) {
  using namespace cql::errc;
  return e.code == unauthorized || e.code == syntax || e.code == config || e.code == bad_credentials ||
         e.code == protocol || e.code == already_exists || table_is_gone(e);
}

}  // namespace

Answer classify(const cql::Response& r, size_t rows, int reprepares) {
  if (!r.transport_ok) return {Verdict::retry, r.transport_error, {}};
  if (r.opcode == static_cast<uint8_t>(Opcode::result)) return {Verdict::written, {}, {}};
  if (r.opcode != static_cast<uint8_t>(Opcode::error))
    return {Verdict::retry, std::string("unexpected ") + cql::opcode_name(r.opcode), {}};
  Answer a;
  try {
    a.error = cql::decode_error(r.body);
  } catch (const cql::ProtocolError& pe) {
    return {Verdict::retry, std::string("undecodable ERROR: ") + pe.what(), {}};
  }
  a.why = a.error.describe();
  if (a.error.code == cql::errc::unprepared) a.verdict = reprepares >= 3 ? Verdict::retry : Verdict::reprepare;
  else if (a.error.transient()) a.transient = true, a.verdict = Verdict::retry;
  else if (about_every_row(a.error)) a.verdict = Verdict::fatal;
  else a.verdict = rows > 1 ? Verdict::split : Verdict::reject;
  return a;
}

int64_t backoff_ms(int attempt, uint32_t random) {
  int64_t base = std::min<int64_t>(5000, int64_t(50) << std::clamp(attempt - 1, 0, 10));
  return base / 2 + static_cast<int64_t>(random % static_cast<uint32_t>(base / 2 + 1));
}

std::string cql_reject_fields(const cql::ServerError& e) {
  return fmt::format("\"cql_code\":{},\"error\":{}", e.code, json::quote(cql::error_code_name(e.code)));
}

}  // namespace pipekit::cqlload
