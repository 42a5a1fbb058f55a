// A -F file of librdkafka properties (key=value lines): read, resolved,
// dumped with secrets hidden. A malformed line is a UsageError (exit 2).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <string_view>

#include "fuzz.hpp"
#include "pipekit/errors.hpp"
#include "pipekit/kafka.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pipekit;
  int fd = memfd_create("fuzz", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (size && ::write(fd, data, size) != static_cast<ssize_t>(size)) {
    ::close(fd);
    return 0;
  }
  kafka::Options opts;
  opts.config_files.push_back("/proc/self/fd/" + std::to_string(fd));
  try {
    kafka::Properties props = kafka::resolve(opts, {});
    std::string dumped = kafka::dump(props);
    // Line by line: a secret property's own line shows [hidden]. (Another
    // property's value may well hold the text "ssl.key=b": that is its value.)
    std::string_view rest = dumped;
    while (!rest.empty()) {
      std::string_view line = rest.substr(0, rest.find('\n'));
      rest.remove_prefix(std::min(rest.size(), line.size() + 1));
      size_t eq = line.find('=');
      if (eq == std::string_view::npos) __builtin_trap();  // every line is key=value
      if (kafka::is_secret(line.substr(0, eq)) && line.substr(eq + 1) != "[hidden]") __builtin_trap();  // in clear
    }
  } catch (const UsageError&) {
  }
  ::close(fd);
  return 0;
}
