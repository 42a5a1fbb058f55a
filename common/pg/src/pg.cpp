#include "pipekit/pg.hpp"

#include <algorithm>
#include <vector>

#include <cstdlib>
#include <cstring>

#include "pipekit/errors.hpp"
#include "pipekit/log.hpp"

namespace pipekit::pg {

std::string quote_ident(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += "\"\"";
    else out += c;
  }
  out += '"';
  return out;
}

std::string scrub(std::string message, const std::string& password) {
  if (!password.empty()) {
    for (size_t at; (at = message.find(password)) != std::string::npos;) message.replace(at, password.size(), "***");
  }
  // libpq's conninfo parser quotes what it could not parse ("missing "=" after
  // "..." in connection info string"); those fragments can be secrets.
  static const char* kConninfoMarkers[] = {"connection info string", "URI", "conninfo"};
  bool conninfo = std::any_of(std::begin(kConninfoMarkers), std::end(kConninfoMarkers),
                              [&](const char* m) { return message.find(m) != std::string::npos; });
  if (conninfo) {
    std::string out;
    bool in_quote = false;
    for (char c : message) {
      if (c == '"') {
        out += in_quote ? "\"" : "\"…";
        in_quote = !in_quote;
        continue;
      }
      if (!in_quote) out += c;
    }
    message = out;
  }
  return message;
}

namespace {

// A connection attempt's limit unless -d or PGCONNECT_TIMEOUT set one.
constexpr const char* kConnectTimeoutSeconds = "10";

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// What the user gave, parsed without connecting: a malformed string is a
// usage error, and its password (if any) must be scrubbed from messages.
std::string parse_dsn_password(const std::string& dsn) {
  std::string password;
  if (const char* env = std::getenv("PGPASSWORD")) password = env;
  if (dsn.empty()) return password;
  // A bare database name is not a conninfo; libpq only expands "k=v" or URIs.
  bool expands = dsn.find('=') != std::string::npos || dsn.rfind("postgres://", 0) == 0 ||
                 dsn.rfind("postgresql://", 0) == 0;
  if (!expands) return password;
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  if (!opts) {
    std::string msg = err ? trim(err) : "out of memory";
    if (err) PQfreemem(err);
    // The parser quotes fragments of the string, which may hold a password.
    throw UsageError("invalid --dsn connection string: " + scrub(msg, password));
  }
  for (PQconninfoOption* o = opts; o->keyword; ++o)
    if (std::string(o->keyword) == "password" && o->val && *o->val) {
      password = o->val;
      log::warn("--dsn holds a password, which the process list showed until pgload blanked it: "
                "use PGPASSWORD, PGPASSFILE or ~/.pgpass instead");
    }
  PQconninfoFree(opts);
  return password;
}

void blank_password(char* value) {
  std::string dsn(value);
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  if (err) PQfreemem(err);
  if (!opts) return;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (std::string(o->keyword) != "password" || !o->val || !*o->val) continue;
    // The value as written may be quoted or %-encoded; blank what matches.
    for (char* at = std::strstr(value, o->val); at; at = std::strstr(at, o->val))
      std::memset(at, '*', std::strlen(o->val));
  }
  PQconninfoFree(opts);
  // A URI's user:password@ part, even when %-encoded.
  if (char* scheme = std::strstr(value, "://")) {
    char* at = std::strchr(scheme + 3, '@');
    char* colon = std::strchr(scheme + 3, ':');
    if (at && colon && colon < at) std::memset(colon + 1, '*', static_cast<size_t>(at - colon - 1));
  }
}

}  // namespace

void hide_dsn_password(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    char* a = argv[i];
    if ((!std::strcmp(a, "-d") || !std::strcmp(a, "--dsn")) && i + 1 < argc) blank_password(argv[++i]);
    else if (!std::strncmp(a, "--dsn=", 6)) blank_password(a + 6);
    else if (!std::strncmp(a, "-d", 2) && a[2]) blank_password(a + 2);
  }
}

Conn::Conn(const std::string& dsn) {
  password_ = parse_dsn_password(dsn);
  // Every wait on the server is bounded: a connection attempt gives up after
  // connect_timeout, and TCP keepalives notice a server host that vanished
  // without closing the socket (a blocking COPY or query would wait forever).
  // These come before dbname, so that -d (and PGCONNECT_TIMEOUT) override them.
  std::vector<const char*> keys, vals;
  auto set = [&](const char* key, const char* value) {
    keys.push_back(key);
    vals.push_back(value);
  };
  if (!std::getenv("PGCONNECT_TIMEOUT")) set("connect_timeout", kConnectTimeoutSeconds);
  set("keepalives", "1");
  set("keepalives_idle", "30");
  set("keepalives_interval", "10");
  set("keepalives_count", "3");
  if (!dsn.empty()) set("dbname", dsn.c_str());  // without it, PG* apply
  set("fallback_application_name", "pgload");
  set(nullptr, nullptr);
  conn_ = PQconnectdbParams(keys.data(), vals.data(), 1);
  if (!conn_) throw PgError("cannot allocate a PostgreSQL connection", "", true);
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = scrub(trim(PQerrorMessage(conn_)), password_);
    PQfinish(conn_);
    conn_ = nullptr;
    if (contains(msg, "authentication failed") || contains(msg, "no password supplied") ||
        contains(msg, "does not exist") || contains(msg, "no pg_hba.conf entry") ||
        contains(msg, "invalid") || contains(msg, "permission denied"))
      throw UsageError("cannot connect to PostgreSQL: " + msg);
    throw PgError("cannot connect to PostgreSQL: " + msg, "08001", true);
  }
  if (const char* pw = PQpass(conn_); pw && *pw) password_ = pw;
  // Server notices go to the log (debug), not straight to stderr.
  PQsetNoticeProcessor(
      conn_, [](void*, const char* msg) { log::debug("server: {}", trim(msg)); }, nullptr);
}

Conn::~Conn() {
  if (conn_) PQfinish(conn_);
}

void Conn::fail(const PGresult* res, const std::string& what) {
  std::string state, msg;
  if (res) {
    if (const char* s = PQresultErrorField(res, PG_DIAG_SQLSTATE)) state = s;
    if (const char* m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) msg = m;
    if (const char* d = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL)) msg += std::string(" (") + d + ")";
  }
  if (msg.empty()) msg = trim(PQerrorMessage(conn_));
  if (msg.empty()) msg = what + " failed";
  // No SQLSTATE: the server never answered; libpq itself failed, i.e. the
  // connection broke (a server killed mid-COPY fails PQputCopyData before
  // libpq has noticed, so PQstatus still says OK). Retry, never give up here.
  bool lost = PQstatus(conn_) != CONNECTION_OK || state.empty() || state.rfind("08", 0) == 0 ||
              state == "57P01" || state == "57P02" || state == "57P03";
  throw PgError(scrub(msg, password_), state, lost);
}

ResultPtr Conn::exec(const std::string& sql) {
  ResultPtr res(PQexec(conn_, sql.c_str()), &PQclear);
  auto st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(res.get(), "query");
  return res;
}

ResultPtr Conn::exec_params(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  ResultPtr res(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                             nullptr, nullptr, 0),
                &PQclear);
  auto st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(res.get(), "query");
  return res;
}

void Conn::copy_begin(const std::string& sql) {
  ResultPtr res(PQexec(conn_, sql.c_str()), &PQclear);
  if (!res || PQresultStatus(res.get()) != PGRES_COPY_IN) fail(res.get(), "COPY");
}

void Conn::copy_put(const char* data, size_t size) {
  // Blocking connection: PQputCopyData returns 1 or -1 (never 0).
  while (size > 0) {
    int chunk = static_cast<int>(std::min<size_t>(size, 1u << 20));
    if (PQputCopyData(conn_, data, chunk) != 1) fail(nullptr, "COPY data");
    data += chunk;
    size -= static_cast<size_t>(chunk);
  }
}

void Conn::copy_end() {
  send_copy_end();
  result("COPY");  // the COPY's own status comes first
}

void Conn::send_copy_end() {
  if (PQputCopyEnd(conn_, nullptr) != 1) fail(nullptr, "COPY end");
}

void Conn::send(const std::string& sql) {
  if (PQsendQuery(conn_, sql.c_str()) != 1) fail(nullptr, "query");
}

bool Conn::busy() {
  if (PQconsumeInput(conn_) != 1) fail(nullptr, "reading the server's answer");
  return PQisBusy(conn_) != 0;
}

ResultPtr Conn::result(const std::string& what) {
  ResultPtr first(nullptr, &PQclear), error(nullptr, &PQclear);
  for (;;) {
    PGresult* r = PQgetResult(conn_);
    if (!r) break;
    auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !error) error.reset(r);
    else if (!first) first.reset(r);
    else PQclear(r);
  }
  if (error) fail(error.get(), what);
  if (!first) fail(nullptr, what);
  return first;
}

}  // namespace pipekit::pg
