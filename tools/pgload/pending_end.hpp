#pragma once
// A batch's end overlapped with the next batch's reading. The batch is sent
// and its COPY ended; the server's answer, the merge (a staged upsert) and
// the COMMIT follow here, step by step, while the next batch is read and
// encoded (not sent: one transaction at a time). Its acks still go out only
// once the COMMIT has answered. On an error the caller sends the batch the
// synchronous way again (retries, bisecting, reconnects).
#include <cstdint>
#include <functional>

#include "batch.hpp"
#include "copy_stream.hpp"
#include "merge_plan.hpp"
#include "session.hpp"
#include "split.hpp"

namespace pipekit::pgload {

class PendingEnd {
 public:
  // How far the batch's end has got: the answer awaited.
  enum class Step { none, copy, merge, commit };
  // Which way the batch went.
  enum class Route {
    insert,  // COPY into the table, then COMMIT
    direct,  // upsert/ignore: COPY into the table under a savepoint (a 23505 restages it)
    staged,  // COPY into the staging table, then the merge and COMMIT in one
    split,   // staged over two connections, in step
  };
  using Finish = std::function<void(Batch& b, uint64_t affected)>;

  PendingEnd(Session& session, Split& split, CopyStream& copy, const MergePlan& plan, DirectPolicy& policy,
             Finish finish)
      : session_(session), split_(split), copy_(copy), plan_(plan), policy_(policy), finish_(std::move(finish)) {}

  bool active() const { return step_ != Step::none; }
  Route route() const { return route_; }
  Batch& batch() { return previous_; }
  // `b`, sent with its COPY's end, is ended from now on; `b` gets the
  // (empty) batch held here.
  void start(Batch& b, Route route);
  // Whether the server is still working on the last step (never blocks).
  bool busy();
  // Takes the server's answer to the last step (waiting for it) and sends
  // the next step; after the COMMIT's answer the batch is finished.
  void step();
  // After an error: the end is given up; the batch is the caller's to redo.
  void abandon() { step_ = Step::none; }

 private:
  void step_copy();
  void step_split();
  void commit_next(uint64_t affected);
  void merge_next();

  Session& session_;
  Split& split_;
  CopyStream& copy_;
  const MergePlan& plan_;
  DirectPolicy& policy_;
  Finish finish_;
  Batch previous_;
  Step step_ = Step::none;
  Route route_ = Route::insert;
  uint64_t affected_ = 0;
};

}  // namespace pipekit::pgload
