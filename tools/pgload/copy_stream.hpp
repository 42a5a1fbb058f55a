#pragma once
// The COPY of the open batch: one transaction, the rows streamed in large
// pieces while the batch fills, into the table itself (insert; or upsert and
// ignore trying a batch of new keys directly, under a savepoint) or into
// the staging table. Also the policy that picks between the two for upsert
// and ignore.
#include <cstddef>
#include <string>

#include "merge_plan.hpp"
#include "session.hpp"

namespace pipekit::pgload {

// Upsert/ignore: a batch of new keys only is a plain insert, so it is COPYed
// straight into the table under a savepoint; a 23505 (a key already there,
// or twice in the batch) falls back to the staging table and ON CONFLICT.
// After a fallback the next kStagedBatches batches go the staged way at
// once, then the direct way is tried again.
class DirectPolicy {
 public:
  static constexpr int kStagedBatches = 16;
  explicit DirectPolicy(bool staged_mode = false) : staged_mode_(staged_mode) {}
  bool try_direct() const { return staged_mode_ && staged_left_ == 0; }
  // Batches are staged for a while (a key conflict was met).
  bool staging() const { return staged_left_ > 0; }
  void conflict() { staged_left_ = kStagedBatches; }
  void staged_batch_done() {
    if (staged_left_ > 0) --staged_left_;
  }

 private:
  bool staged_mode_;
  int staged_left_ = 0;
};

class CopyStream {
 public:
  enum class State {
    closed,  // no COPY open
    direct,  // COPY into the table, under SAVEPOINT pgload_direct
    staged,  // COPY into the table (insert) or the staging table
  };
  CopyStream(Session& session, const MergePlan& plan, DirectPolicy& policy)
      : session_(session), plan_(plan), policy_(policy) {}

  State state() const { return state_; }
  bool open() const { return state_ != State::closed; }
  size_t sent() const { return sent_; }
  // BEGIN and COPY (unless open).
  void begin();
  // Sends enc[sent(), end).
  void put_rest(const std::string& enc);
  // Ends the COPY, waiting for its answer (throws its error).
  void end();
  // Ends the COPY without waiting: the answer is the caller's (Conn::result).
  void send_end();
  // The direct COPY met a key already there: back to the savepoint, and the
  // whole of `enc` COPYed into the staging table instead.
  void restage(const std::string& enc);
  // Forgets the COPY (after an error, a reconnect, or its end).
  void reset() {
    state_ = State::closed;
    sent_ = 0;
  }

 private:
  Session& session_;
  const MergePlan& plan_;
  DirectPolicy& policy_;
  State state_ = State::closed;
  size_t sent_ = 0;  // bytes of the batch's enc already sent
};

}  // namespace pipekit::pgload
