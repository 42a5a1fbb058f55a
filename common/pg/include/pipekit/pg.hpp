#pragma once
// A thin libpq connection: exec, parameterised queries and COPY
// FROM STDIN, with errors carrying the SQLSTATE and a flag for "the
// connection is gone" (so the caller reconnects and replays).
#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pipekit::pg {

// "name" -> "\"name\"", doubling embedded quotes: every identifier we send.
std::string quote_ident(const std::string& name);

// Removes secrets from a libpq message: the password (if any) and quoted
// fragments of a connection string the parser echoes back.
std::string scrub(std::string message, const std::string& password);

// Overwrites, in argv itself, any password inside a -d/--dsn value, so that
// ps and /proc/PID/cmdline no longer show it (call after parsing).
void hide_dsn_password(int argc, char** argv);


class PgError : public std::runtime_error {
 public:
  PgError(const std::string& message, std::string sqlstate, bool connection_lost)
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)), lost_(connection_lost) {}
  const std::string& sqlstate() const { return sqlstate_; }
  bool connection_lost() const { return lost_; }
  // A row's own fault (bad value, constraint): bisect and reject it.
  bool is_data_error() const {
    return !lost_ && (sqlstate_.rfind("22", 0) == 0 || sqlstate_.rfind("23", 0) == 0 || sqlstate_ == "54000");
  }

 private:
  std::string sqlstate_;
  bool lost_;
};

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

class Conn {
 public:
  // Connects by libpq's conventions (dsn may be empty: PG* variables,
  // ~/.pgpass); fallback_application_name=pgload. Throws PgError (lost=true
  // when the server is unreachable) or UsageError (bad credentials,
  // unknown database, malformed connection string).
  explicit Conn(const std::string& dsn);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs one or more statements; returns the last result. Throws PgError.
  ResultPtr exec(const std::string& sql);
  ResultPtr exec_params(const std::string& sql, const std::vector<std::optional<std::string>>& params);

  void copy_begin(const std::string& sql);
  void copy_put(const char* data, size_t size);
  void copy_end();  // throws the COPY's error, if any
  // The same in steps, so that the caller works while the server ends the
  // COPY or runs a statement: send_copy_end() or send(sql) returns once sent;
  // busy() (never blocks) says whether the answer is still to come; result()
  // waits for it, drains every result and returns the first, or throws the
  // first error.
  void send_copy_end();
  void send(const std::string& sql);
  bool busy();
  ResultPtr result(const std::string& what);

  bool ok() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }
  const std::string& password() const { return password_; }

 private:
  [[noreturn]] void fail(const PGresult* res, const std::string& what);
  PGconn* conn_ = nullptr;
  std::string password_;  // only to scrub it from messages
};

}  // namespace pipekit::pg
