// NDJSON from stdin: the line reader (short line limit, so over-long lines are
// exercised), simdjson, the reject reason for broken JSON, the envelope parser.
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.hpp"
#include "pipekit/envelope.hpp"
#include "pipekit/errors.hpp"
#include "pipekit/json.hpp"
#include "pipekit/ndjson.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pipekit;
  int fd = memfd_create("fuzz", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (size && ::write(fd, data, size) != static_cast<ssize_t>(size)) {
    ::close(fd);
    return 0;
  }
  ::lseek(fd, 0, SEEK_SET);
  LineReader reader(fd, 1024);
  simdjson::dom::parser parser, value_parser;
  Line line;
  while (reader.next_line(line)) {
    if (line.too_long) continue;
    simdjson::dom::element root;
    if (auto err = parser.parse(line.text.data(), line.text.size(), true).get(root)) {
      (void)json::parse_error_reason(line.text, err);
      continue;
    }
    try {
      Envelope env = parse_envelope(root);
      simdjson::dom::element value;
      if (auto err = value_parser.parse(env.value).get(value)) (void)json::parse_error_reason(env.value, err);
    } catch (const std::invalid_argument&) {
      // not an envelope: a reject with this reason
    }
    for (const char* spec : {"a.0.b", "/a/0", "arr.99999999999999999999"}) (void)json::Path(spec).find(root);
  }
  ::close(fd);
  return 0;
}
