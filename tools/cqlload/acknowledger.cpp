#include "acknowledger.hpp"

namespace pipekit::cqlload {

void Acknowledger::written(Request& req) {
  stats_.records_out.fetch_add(req.rows.size(), std::memory_order_relaxed);
  if (!intake_.acks_enabled()) return;
  for (auto& row : req.rows)
    if (row->coordinates) pending_.push_back(std::move(*row->coordinates));
}

void Acknowledger::reject(const Row& row, RejectCode code, std::string_view reason, std::string_view extra) {
  intake_.reject(row.kept(), code, reason, extra);
}

void Acknowledger::flush() {
  if (pending_.empty()) return;
  intake_.acknowledge(pending_);
  pending_.clear();
}

}  // namespace pipekit::cqlload
