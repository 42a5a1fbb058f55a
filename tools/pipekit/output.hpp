#pragma once
// pipekit's own lines on stderr ("pipekit: ..."), and small file helpers.
#include <string>

namespace pipekit::orchestrator {

void set_quiet(bool quiet);
// Progress and results: silent with -q.
void say(const std::string& message);
// Problems: always.
void warn(const std::string& message);
// A line as is, always (a stage's own words).
void say_always(const std::string& line);

void write_all(int fd, const std::string& data);
// Throws IoError (exit 4) when the file cannot be written.
void write_file(const std::string& path, const std::string& data);
// The file's content, or nullopt-like "" with ok=false.
bool read_file(const std::string& path, std::string& out);

}  // namespace pipekit::orchestrator
