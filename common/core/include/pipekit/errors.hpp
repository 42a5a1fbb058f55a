#pragma once
// Exit statuses and the error types that carry them. This is the one table
// of docs/conventions.md: the man pages' EXIT STATUS section is generated from
// it (man/docgen.cpp), a test checks the README against it, and pipekit
// restarts after the rows marked restartable.
#include <stdexcept>
#include <string>
#include <vector>

namespace pipekit {

enum class ExitCode : int {
  ok = 0,             // every record was handled
  rejects = 1,        // finished, but rejected/undelivered beyond --max-rejects
  usage = 2,          // bad flag, bad schema, unknown table, bad credentials
  unavailable = 3,    // a service was unreachable or kept failing after retries
  io = 4,             // local I/O error: input or output file, pipe
  internal = 5,       // a bug
  nothing_to_do = 99, // only with --empty-exit 99 (Airflow skip)
};

struct ExitStatusRow {
  int code;
  const char* meaning;
  bool restartable;  // worth a restart by the orchestrator (transient or a bug)
};
// The table, in order, as printed in every man page and --help.
const std::vector<ExitStatusRow>& exit_status_table();
// Plain-text rendering for --help footers.
std::string exit_status_help();

// An error that ends the run with a given exit status. The message must never
// contain a secret: build it from names and counts, not from config values.
class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

struct UsageError : Error {
  explicit UsageError(const std::string& m) : Error(ExitCode::usage, m) {}
};
struct ServiceError : Error {
  explicit ServiceError(const std::string& m) : Error(ExitCode::unavailable, m) {}
};
struct IoError : Error {
  explicit IoError(const std::string& m) : Error(ExitCode::io, m) {}
};
// stdout's reader went away (`tool | head -3`): a normal, quiet stop.
struct PipeClosed : Error {
  PipeClosed() : Error(ExitCode::ok, "output pipe closed") {}
};
// Stopped (a signal, or upstream gone) before any record was read: a clean
// stop, said on stderr as information.
struct StoppedBeforeStart : Error {
  explicit StoppedBeforeStart(const std::string& m) : Error(ExitCode::ok, m) {}
};

// "what failed: strerror(errno)" for I/O errors.
std::string errno_message(const std::string& what, int err);

}  // namespace pipekit
