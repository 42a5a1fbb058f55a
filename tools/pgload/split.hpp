#pragma once
// A staged upsert split over two connections. PostgreSQL merges a batch in
// one server process; a second connection merges half of it at the same
// time. Each key always goes to the same connection (by the hash of its key
// fields), so the last record per key still wins, and batches still go one
// at a time, in input order. The two transactions move in step (both COPYs,
// both merges, then both COMMITs, see PendingEnd): neither commits unless
// both merged, and the acks wait for both COMMITs. A crash between the two
// COMMITs loses nothing: the input is replayed and an upsert is idempotent.
// Any error drops the second connection and sends the batch the
// one-connection way (bisecting, reconnects), which merges the rows already
// committed by either half again, to the same values.
#include <cstddef>
#include <memory>
#include <string>

#include "batch.hpp"
#include "copy_stream.hpp"
#include "merge_plan.hpp"

namespace pipekit::pgload {

constexpr size_t kSplitRows = 1000;         // the smallest batch split
constexpr size_t kStreamChunk = 1u << 20;   // COPY data goes in ~1 MiB pieces

// The COPY rows of `b` (not rejected) into two halves by key hash.
void partition_by_key(const Batch& b, std::string (&halves)[2]);

class Split {
 public:
  enum class Lane {
    closed,  // no second connection (yet, or dropped after an error)
    open,    // the second connection, with its staging table
    off,     // none could be opened: upserts go over one for the run
  };
  explicit Split(std::string dsn) : dsn_(std::move(dsn)) {}

  // Staged upserts split their batches: a batch then goes out whole at its
  // flush (not streamed while it fills).
  bool splitting(const MergePlan& plan, const DirectPolicy& policy) const {
    return plan.mode() == Mode::upsert && !plan.key_positions().empty() && policy.staging() && lane_ != Lane::off;
  }
  // Opens the second connection if needed; false when the batch is too
  // small or no connection could be had.
  bool ready(const Batch& b, const MergePlan& plan, const DirectPolicy& policy);
  // Sends `b` in two halves, both COPYs ended (their answers are PendingEnd's).
  // False when sending failed: the second connection is dropped, the first
  // is the caller's to roll back.
  bool send(const Batch& b, Conn& first, const MergePlan& plan);
  Conn& second() { return *conn2_; }
  bool busy() { return conn2_ && conn2_->busy(); }
  // Drops the second connection (the server rolls its transaction back; a
  // new one is opened for the next split batch).
  void drop() {
    conn2_.reset();
    lane_ = Lane::closed;
  }

 private:
  std::string dsn_;
  std::unique_ptr<Conn> conn2_;
  Lane lane_ = Lane::closed;
  std::string halves_[2];
};

}  // namespace pipekit::pgload
