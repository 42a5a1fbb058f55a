#include "pipekit/errors.hpp"

#include <fmt/format.h>

#include <cstring>

namespace pipekit {

const std::vector<ExitStatusRow>& exit_status_table() {
  static const std::vector<ExitStatusRow> table = {
      {0, "every record was handled (loaded, published, or passed/rejected as asked)", false},
      {1, "the run finished, but records were rejected or undelivered beyond what was allowed (--max-rejects)", false},
      {2, "usage or configuration error: bad flag, bad schema, unknown table, bad credentials", false},
      {3, "a service (API, broker, database) was unreachable or kept failing after the retries: try again later", true},
      {4, "local I/O error: input or output file, pipe", true},
      {5, "internal error (a bug)", true},
      {99, "nothing to do, only where asked (--empty-exit 99): Airflow's BashOperator skips the task on 99", false},
  };
  return table;
}

std::string exit_status_help() {
  std::string out = "Exit status:\n";
  for (const auto& row : exit_status_table()) out += fmt::format("  {:>2}  {}\n", row.code, row.meaning);
  return out;
}

std::string errno_message(const std::string& what, int err) {
  return fmt::format("{}: {}", what, std::strerror(err));
}

}  // namespace pipekit
