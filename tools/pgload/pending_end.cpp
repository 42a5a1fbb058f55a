#include "pending_end.hpp"

#include <cstdlib>
#include <utility>

namespace pipekit::pgload {

namespace {
uint64_t affected_rows(const ResultPtr& r) { return std::strtoull(PQcmdTuples(r.get()), nullptr, 10); }
}  // namespace

void PendingEnd::start(Batch& b, Route route) {
  std::swap(b, previous_);
  route_ = route;
  step_ = Step::copy;
  affected_ = 0;
}

bool PendingEnd::busy() { return session_.conn().busy() || (route_ == Route::split && split_.busy()); }

void PendingEnd::step() {
  if (step_ == Step::none) return;
  if (route_ == Route::split) return step_split();
  if (step_ == Step::copy) return step_copy();
  // Step::merge or Step::commit: the answer ends the transaction. A lost
  // connection now leaves the COMMIT in doubt.
  ResultPtr r(nullptr, &PQclear);
  try {
    r = session_.conn().result(step_ == Step::merge ? "merge" : "COMMIT");
  } catch (const PgError& e) {
    if (e.connection_lost()) session_.commit_lost();
    throw;
  }
  session_.committed();
  if (step_ == Step::merge) affected_ = affected_rows(r);
  step_ = Step::none;
  finish_(previous_, affected_);
}

void PendingEnd::commit_next(uint64_t affected) {
  affected_ = affected;
  step_ = Step::commit;
  session_.conn().send("COMMIT");
}

void PendingEnd::merge_next() {
  step_ = Step::merge;
  session_.conn().send(plan_.merge_sql(previous_.distinct()) + "; COMMIT");
}

void PendingEnd::step_copy() {
  Conn& c = session_.conn();
  if (route_ == Route::direct) {
    try {
      c.result("COPY");
    } catch (const PgError& e) {
      if (e.sqlstate() != "23505") throw;
      copy_.restage(previous_.enc);
      route_ = Route::staged;
      merge_next();
      return;
    }
    return commit_next(previous_.live_rows());
  }
  c.result("COPY");
  if (route_ == Route::insert) return commit_next(previous_.live_rows());
  policy_.staged_batch_done();
  merge_next();
}

// Both halves move one step: the COPYs' answers, then the merges', then the COMMITs'.
void PendingEnd::step_split() {
  Conn* lanes[] = {&session_.conn(), &split_.second()};
  switch (step_) {
    case Step::copy:
      for (Conn* c : lanes) c->result("COPY");
      policy_.staged_batch_done();
      for (Conn* c : lanes) c->send(plan_.merge_sql(previous_.distinct()));
      step_ = Step::merge;
      return;
    case Step::merge:
      affected_ = 0;
      for (Conn* c : lanes) affected_ += affected_rows(c->result("merge"));
      for (Conn* c : lanes) c->send("COMMIT");
      step_ = Step::commit;
      return;
    case Step::commit:
      for (Conn* c : lanes) c->result("COMMIT");
      step_ = Step::none;
      finish_(previous_, affected_);
      return;
    case Step::none: return;
  }
}

}  // namespace pipekit::pgload
