#pragma once
// What every tool shares on the command line, and the one place where
// exceptions become exit statuses.
#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>

#include "pipekit/errors.hpp"
#include "pipekit/stats.hpp"

namespace pipekit {

struct CommonOptions {
  bool quiet = false;
  int verbose = 0;
  std::string log_format = "text";
  std::string stats_file;
  std::optional<bool> progress;  // unset: only when stderr is a TTY
};

// --help, --version, -q, -v, --log-format, --stats, --progress/--no-progress.
// man fragment: man/fragments/common-options.roff
void add_common_options(CLI::App& app, CommonOptions& opts);

std::string version_string();

// An old spelling of `option` kept working for existing scripts and crontabs:
// hidden from --help, it sets the same value and says once on stderr that it
// is deprecated. A required `option` is then satisfied by either spelling.
void add_deprecated_alias(CLI::App& app, const std::string& old_name, CLI::Option* option,
                          std::string& value);  // "0.1.0 (git-describe)"

// The context a run gets: counters and the common options.
struct RunContext {
  const CommonOptions& common;
  Stats& stats;
};

// Parses argv, configures logging and signals, calls run, prints the summary,
// writes --stats, and maps exceptions to exit statuses. `run` returns the
// exit status for a run that completed.
int run_tool(CLI::App& app, int argc, char** argv, CommonOptions& common,
             const std::function<int(RunContext&)>& run);

// Parses "5s", "250ms", "10m", "1h", "2" (seconds) into milliseconds.
int64_t parse_duration_ms(const std::string& text);
// Parses "16MiB", "64k", "1000" into bytes.
uint64_t parse_size_bytes(const std::string& text);

}  // namespace pipekit
