#include "output.hpp"

#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include <algorithm>

#include "pipekit/errors.hpp"
#include "pipekit/log.hpp"

namespace pipekit::orchestrator {

void configure_logging(bool quiet, int verbose, bool json) {
  int raised = static_cast<int>(log::Level::info) + std::min(verbose, 2);
  log::Level level = quiet ? log::Level::warn : static_cast<log::Level>(raised);
  log::configure("pipekit", level, json ? log::Format::json : log::Format::text);
}

void say(const std::string& message) { log::info("{}", message); }

void warn(const std::string& message) { log::warn("{}", message); }

void fail(const std::string& message) { log::error("{}", message); }

void say_always(const std::string& line) { write_all(2, line + "\n"); }

void write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a closed stderr is no reason to stop a pipeline
    done += static_cast<size_t>(n);
  }
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::trunc);
  out << data;
  out.flush();
  if (!out) throw IoError("cannot write " + path);
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

}  // namespace pipekit::orchestrator
