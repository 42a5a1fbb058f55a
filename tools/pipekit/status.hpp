#pragma once
// pipekit status: the group's committed offsets and lag (ksub --offsets
// --json) and the table's row count (psql, when the sink is PostgreSQL and
// psql is installed); --watch redraws them with rates.
#include <nlohmann/json.hpp>
#include <optional>

#include "settings.hpp"

namespace pipekit::orchestrator {

struct StatusReading {
  bool offsets_ok = false;
  nlohmann::ordered_json offsets;  // one partition: an object; several: an array
  bool rows_ok = true;             // false: psql failed
  std::optional<int64_t> rows;
};

// Reads offsets and rows once; the tools' stderr goes to ours, prefixed.
StatusReading read_status(const Settings& s);

// Until SIGINT/SIGTERM: on a terminal a redrawn table, else one plain line
// per partition and refresh. Returns the exit status.
int watch_status(const Settings& s, const CommandLine& cl);

}  // namespace pipekit::orchestrator
