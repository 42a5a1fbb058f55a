#include "bisect.hpp"

namespace pipekit::pgload {

void bisect(const std::vector<size_t>& rows, const TryRows& try_rows, const RejectRow& reject) {
  if (rows.empty()) return;
  auto refused = try_rows(rows);
  if (!refused) return;
  if (rows.size() == 1) {
    reject(rows.front(), *refused);
    return;
  }
  if (rows.size() <= kRowByRow) {
    for (size_t i : rows) bisect({i}, try_rows, reject);
    return;
  }
  auto half = rows.begin() + static_cast<std::ptrdiff_t>(rows.size() / 2);
  bisect(std::vector<size_t>(rows.begin(), half), try_rows, reject);
  bisect(std::vector<size_t>(half, rows.end()), try_rows, reject);
}

}  // namespace pipekit::pgload
