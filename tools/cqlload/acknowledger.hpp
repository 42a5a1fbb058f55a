#pragma once
// What becomes of each row once the server answered: a written row is
// counted (records_out) and its envelope acknowledged, the acks of every
// request answered in one round of the event loop written together
// (Intake::acknowledge: the rejects first, then the acks, packed); a refused
// row is rejected through the intake, which acknowledges it once the reject
// is in the --rejects file.
#include <string_view>
#include <vector>

#include "pipekit/acks.hpp"
#include "pipekit/intake.hpp"
#include "pipekit/rejects.hpp"
#include "pipekit/stats.hpp"
#include "row.hpp"

namespace pipekit::cqlload {

class Acknowledger {
 public:
  Acknowledger(Intake& intake, Stats& stats) : intake_(intake), stats_(stats) {}
  // The request's rows are written: counted, their acks pending until flush().
  void written(Request& req);
  void reject(const Row& row, RejectCode code, std::string_view reason, std::string_view extra = {});
  // Writes the pending acks (after the rejects so far).
  void flush();
  size_t pending() const { return pending_.size(); }

 private:
  Intake& intake_;
  Stats& stats_;
  std::vector<Ack> pending_;
};

}  // namespace pipekit::cqlload
