#pragma once
// Bisection of a batch the database refused: each piece is tried on its own
// (the caller runs it under a savepoint), a refused piece is halved, pieces
// of kRowByRow rows or fewer are tried row by row, and a single refused row
// is rejected with the database's reason. Pure: the caller says how a piece
// is tried.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pipekit::pgload {

constexpr size_t kRowByRow = 8;  // below this, rows are tried one by one

struct Refusal {
  std::string message;
  std::string sqlstate;
};

// try_rows: loads the rows at these indexes, or says why the database refused
// them (a data error; anything else it throws). reject: a single refused row.
using TryRows = std::function<std::optional<Refusal>(const std::vector<size_t>& rows)>;
using RejectRow = std::function<void(size_t row, const Refusal& why)>;

void bisect(const std::vector<size_t>& rows, const TryRows& try_rows, const RejectRow& reject);

}  // namespace pipekit::pgload
