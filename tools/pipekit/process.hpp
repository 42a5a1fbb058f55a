#pragma once
// Running one program to completion (status, demo, run --dry-run): its
// output captured or passed through, every wait bounded, and SIGINT/SIGTERM
// to pipekit ending the wait (StopRequested) with the child killed.
#include <string>
#include <vector>

#include "pipekit/errors.hpp"

namespace pipekit::orchestrator {

struct StopRequested : Error {
  StopRequested() : Error(ExitCode::ok, "stopped by a signal") {}
};

struct Finished {
  int status = 0;    // exit status, 128+N for signal N
  std::string out;   // stdout, when captured
  std::string err;   // stderr, when captured
};

// fds: -1 = /dev/null; capture_out/capture_err take stdout/stderr instead.
// A child still running after timeout_ms is killed (status 128+9).
// stoppable=false: a stop signal does not end the wait (helper threads).
Finished run_program(const std::vector<std::string>& argv, int in_fd, int out_fd, int err_fd, bool capture_out,
                     bool capture_err, int64_t timeout_ms, bool stoppable = true);

// Is PROGRAM on PATH (as the shell would find it)?
bool on_path(const std::string& program);

}  // namespace pipekit::orchestrator
