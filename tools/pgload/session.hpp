#pragma once
// The connection to PostgreSQL and what keeps it going: reconnecting with
// backoff (--retries), the state of the open transaction, and the in-doubt
// COMMIT (sent, connection lost before its answer) resolved with
// txid_status() on the new connection.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine.hpp"
#include "pipekit/stats.hpp"

namespace pipekit::pgload {

// Reconnect attempt n (from 1) waits this long first: 100 ms doubling, at most 5 s.
int64_t backoff_ms(int attempt);

// Where the connection's transaction is.
enum class TxState {
  none,      // no transaction open by us
  open,      // BEGIN sent, txid known
  in_doubt,  // COMMIT sent and the connection lost before its answer
};

class Session {
 public:
  // on_connect: runs on every new connection (the staging table);
  // progress: the end of the unavailable/fatal messages ("N record(s) committed, ...").
  Session(std::string dsn, int retries, Stats& stats, std::function<void(Conn&)> on_connect,
          std::function<std::string(bool open_batch)> progress);

  Conn& conn() { return *conn_; }
  // Connects, retrying as recover() does.
  void connect_first();
  // BEGIN; remembers the txid for an in-doubt COMMIT.
  void begin();
  // COMMIT, synchronously; a lost connection leaves it in doubt.
  void commit();
  // The answer to a COMMIT sent earlier (in one piece with a merge) did not come.
  void commit_lost() { tx_ = TxState::in_doubt; }
  void committed() { tx_ = TxState::none; }
  TxState tx() const { return tx_; }

  // Reconnects with backoff; true when the COMMIT in doubt turns out to have
  // committed. Throws ServiceError after --retries, or after too many outages
  // within one batch (count_outage()).
  bool recover(const PgError& first);
  // A new batch: outages are counted per batch.
  void reset_outages() { outages_ = 0; }
  // A transient failure (serialization, deadlock): false once beyond --retries.
  bool retry_transient() { return ++outages_ <= retries_ + 1; }
  void rollback_quietly();
  // Runs f, reconnecting on connection loss; other errors are fatal().
  void retrying(const std::function<void()>& f);
  // Permissions, undefined objects, bad credentials: UsageError; else ServiceError.
  [[noreturn]] void fatal(const PgError& e) const;

 private:
  void open();
  bool resolve_in_doubt();
  std::string unavailable(const std::string& why, const std::string& how) const;

  std::string dsn_;
  int retries_;
  Stats& stats_;
  std::function<void(Conn&)> on_connect_;
  std::function<std::string(bool)> progress_;
  std::unique_ptr<Conn> conn_;
  TxState tx_ = TxState::none;
  std::string xid_;
  int outages_ = 0;
};

}  // namespace pipekit::pgload
