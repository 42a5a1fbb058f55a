#pragma once
// The retry policy: what to do with each answer to a write (written, retry
// later with backoff, re-prepare, stop the load, split a batch, reject the
// row), and how long to wait before a retry.
#include <cstdint>
#include <string>

#include "pipekit/cql/protocol.hpp"
#include "pipekit/cql/session.hpp"

namespace pipekit::cqlload {

enum class Verdict {
  written,    // RESULT: the rows are written
  retry,      // transport failure, transient error, odd answer: again later
  reprepare,  // UNPREPARED: prepare on that node again, then resend
  fatal,      // not about these rows (auth, syntax, table gone): every row would fail
  split,      // a batch refused: resend its rows one by one to find the culprit
  reject,     // one row refused (INVALID...): reject it with the server's error
};

struct Answer {
  Verdict verdict = Verdict::retry;
  std::string why;         // for retry and fatal: what to log or report
  cql::ServerError error;  // when the answer was an ERROR
  bool transient = false;  // a transient server error (counted per code)
};

// `rows`: rows in the request; `reprepares`: UNPREPARED answers it already had.
Answer classify(const cql::Response& r, size_t rows, int reprepares);

// The table (or keyspace) was dropped under the load.
bool table_is_gone(const cql::ServerError& e);

// Exponential backoff with jitter before retry number `attempt` (1, 2, ...):
// 50 ms, 100 ms, ... capped at 5 s, each between half and all of it;
// `random` supplies the jitter.
int64_t backoff_ms(int attempt, uint32_t random);

// The reject line's extra members for a row the server refused.
std::string cql_reject_fields(const cql::ServerError& e);

}  // namespace pipekit::cqlload
