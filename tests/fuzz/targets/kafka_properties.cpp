// A -F file of librdkafka properties (key=value lines): read, resolved,
// dumped with secrets hidden. A malformed line is a UsageError (exit 2).
#include <sys/mman.h>
#include <unistd.h>

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
    for (const auto& [k, v] : props)
      if (kafka::is_secret(k) && !v.empty() && v != "[hidden]" && dumped.find(k + "=" + v + "\n") != std::string::npos)
        __builtin_trap();  // a secret in clear
  } catch (const UsageError&) {
  }
  ::close(fd);
  return 0;
}
