#include "output.hpp"

#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "pipekit/errors.hpp"

namespace pipekit::orchestrator {

namespace {
bool quiet_flag = false;
}

void set_quiet(bool quiet) { quiet_flag = quiet; }

void say(const std::string& message) {
  if (!quiet_flag) write_all(2, "pipekit: " + message + "\n");
}

void warn(const std::string& message) { write_all(2, "pipekit: " + message + "\n"); }

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
