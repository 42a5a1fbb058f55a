#include "session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "pipekit/errors.hpp"
#include "pipekit/log.hpp"

namespace pipekit::pgload {

int64_t backoff_ms(int attempt) { return std::min<int64_t>(5000, 100LL << std::min(std::max(attempt, 1) - 1, 10)); }

Session::Session(std::string dsn, int retries, Stats& stats, std::function<void(Conn&)> on_connect,
                 std::function<std::string(bool)> progress)
    : dsn_(std::move(dsn)), retries_(retries), stats_(stats), on_connect_(std::move(on_connect)), progress_(std::move(progress)) {}

void Session::connect_first() {
  try {
    open();
  } catch (const PgError& e) {
    recover(e);
  }
}

void Session::open() {
  conn_.reset();
  conn_ = std::make_unique<Conn>(dsn_);
  if (tx_ != TxState::in_doubt) tx_ = TxState::none;
  if (on_connect_) on_connect_(*conn_);
}

void Session::begin() {
  auto r = conn_->exec("BEGIN; SELECT txid_current()");
  xid_ = PQgetvalue(r.get(), 0, 0);
  tx_ = TxState::open;
}

void Session::commit() {
  try {
    conn_->exec("COMMIT");
    tx_ = TxState::none;
  } catch (const PgError& e) {
    if (e.connection_lost()) tx_ = TxState::in_doubt;  // it may have committed
    throw;
  }
}

bool Session::recover(const PgError& first) {
  if (++outages_ > retries_ + 1) throw ServiceError(unavailable(first.what(), "the connection kept failing"));
  log::warn("PostgreSQL connection lost or unavailable: {}; reconnecting", first.what());
  std::string last = first.what();
  for (int attempt = 1; attempt <= retries_; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms(attempt)));
    try {
      open();
      stats_.add("reconnects");
      log::info("reconnected to PostgreSQL (attempt {})", attempt);
      return resolve_in_doubt();
    } catch (const PgError& e) {
      last = e.what();
      log::debug("reconnect attempt {} failed: {}", attempt, last);
    }
  }
  throw ServiceError(unavailable(last, fmt::format("after {} retries", retries_)));
}

bool Session::resolve_in_doubt() {
  if (tx_ != TxState::in_doubt) return false;
  auto r = conn_->exec_params("SELECT txid_status($1::bigint)", {xid_});
  tx_ = TxState::none;
  std::string status = PQgetisnull(r.get(), 0, 0) ? "" : PQgetvalue(r.get(), 0, 0);
  log::info("the interrupted COMMIT {}", status == "committed" ? "did commit" : "did not commit: replaying");
  return status == "committed";
}

std::string Session::unavailable(const std::string& why, const std::string& how) const {
  return fmt::format("PostgreSQL unavailable {}: {}; {}", how, why, progress_(true));
}

void Session::fatal(const PgError& e) const {
  std::string msg = fmt::format("PostgreSQL: {} (SQLSTATE {}); {}", e.what(),
                                e.sqlstate().empty() ? "none" : e.sqlstate(), progress_(false));
  if (e.sqlstate().rfind("42", 0) == 0 || e.sqlstate().rfind("28", 0) == 0) throw UsageError(msg);
  throw ServiceError(msg);
}

void Session::rollback_quietly() {
  tx_ = TxState::none;
  if (!conn_ || !conn_->ok()) return;
  try {
    conn_->exec("ROLLBACK");
  } catch (const PgError&) {
  }
}

void Session::retrying(const std::function<void()>& f) {
  for (;;) {
    try {
      f();
      return;
    } catch (const PgError& e) {
      if (!e.connection_lost()) fatal(e);
      recover(e);
    }
  }
}

}  // namespace pipekit::pgload
