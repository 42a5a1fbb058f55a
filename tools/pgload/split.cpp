#include "split.hpp"

#include <algorithm>

#include "pipekit/log.hpp"

namespace pipekit::pgload {

void partition_by_key(const Batch& b, std::string (&halves)[2]) {
  halves[0].clear();
  halves[1].clear();
  for (const auto& r : b.rows)
    if (!r.rejected) halves[r.key_hash & 1].append(b.enc, r.enc_off, r.enc_len);
}

bool Split::ready(const Batch& b, const MergePlan& plan, const DirectPolicy& policy) {
  if (!splitting(plan, policy) || b.rows.size() < kSplitRows) return false;
  if (lane_ == Lane::open) return true;
  try {
    conn2_ = std::make_unique<Conn>(dsn_);
    conn2_->exec(plan.stage_sql());
    lane_ = Lane::open;
    return true;
  } catch (const std::exception& e) {
    conn2_.reset();
    lane_ = Lane::off;
    log::info("a second PostgreSQL connection could not be opened ({}): upserting over one", e.what());
    return false;
  }
}

bool Split::send(const Batch& b, Conn& first, const MergePlan& plan) {
  partition_by_key(b, halves_);
  Conn* lanes[] = {&first, conn2_.get()};
  try {
    for (Conn* c : lanes) {
      // Equal keys written differently ('A' and 'a' in a uuid) can land on
      // both connections, and one would wait for the other's COMMIT, which
      // waits for its merge: the lock timeout ends that wait (the batch then
      // goes the one-connection way, where the server collapses them).
      c->exec("BEGIN; SET LOCAL lock_timeout = '1s'");
      c->copy_begin(plan.copy_sql());
    }
    // In pieces, by turns, so that both server processes parse at once.
    for (size_t off = 0; off < std::max(halves_[0].size(), halves_[1].size()); off += kStreamChunk)
      for (int i = 0; i < 2; ++i)
        if (off < halves_[i].size())
          lanes[i]->copy_put(halves_[i].data() + off, std::min(kStreamChunk, halves_[i].size() - off));
    for (Conn* c : lanes) c->send_copy_end();
  } catch (const PgError& e) {
    log::debug("sending a split batch failed ({}): one connection", e.what());
    drop();
    return false;
  }
  log::debug("batch of {} row(s) split over two connections: {} and {} bytes", b.rows.size(), halves_[0].size(),
             halves_[1].size());
  return true;
}

}  // namespace pipekit::pgload
