// ru-fetch: an HTTP response body from the API, rendered raw and flat, with
// and without the metadata fields. Each output line must be valid JSON.
#include "engine.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pipekit::rufetch;
  if (size == 0) return 0;
  uint8_t mode = data[0];
  std::string body(pipekit::fuzz::text(data + 1, size - 1));
  size_t length = body.size();
  body.append(64, '\0');  // http::kPadding
  PageParser parser(mode & 1 ? Shape::flat : Shape::raw, mode & 2);
  std::string out;
  PageResult r = parser.parse(std::string_view(body.data(), length), body.size(), (mode >> 2) & 3, 1000, out,
                              "2026-01-01T00:00:00.000Z");
  if (!r.error.empty() && !out.empty()) __builtin_trap();  // an unusable page writes nothing
  simdjson::dom::parser check;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    if (nl == std::string::npos) __builtin_trap();  // every line ends with \n
    simdjson::dom::element e;
    if (check.parse(out.data() + pos, nl - pos).get(e)) __builtin_trap();  // output is JSON
    pos = nl + 1;
  }
  return 0;
}
