#pragma once
// pipekit's own lines on stderr, through common/core's log like every tool's
// (levels, --log-format json), and small file helpers.
#include <string>

namespace pipekit::orchestrator {

// -q: warnings and errors only; -v debug, -vv trace; json: one object a line.
void configure_logging(bool quiet, int verbose, bool json);
// Progress and results (info): silent with -q.
void say(const std::string& message);
// Problems (warning): also with -q.
void warn(const std::string& message);
// What ends the run (error).
void fail(const std::string& message);
// A line as is, always (a stage's own words).
void say_always(const std::string& line);

void write_all(int fd, const std::string& data);
// Throws IoError (exit 4) when the file cannot be written.
void write_file(const std::string& path, const std::string& data);
// The file's content, or nullopt-like "" with ok=false.
bool read_file(const std::string& path, std::string& out);

}  // namespace pipekit::orchestrator
