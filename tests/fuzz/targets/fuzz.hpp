#pragma once
// The entry point every fuzz target defines. libFuzzer calls it with hostile
// bytes (scripts/fuzz); the replay test (replay.cpp) calls it with each file
// of the target's corpus in tests/fuzz/corpus/NAME/, built with g++.
// A target returns 0; a crash, a sanitizer report or an uncaught exception
// other than the documented ones is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace pipekit::fuzz {

// The input as text, and the part before / after the first '\n' (for
// targets that take two inputs, e.g. a schema and an instance).
inline std::string_view text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}
inline std::pair<std::string_view, std::string_view> split(std::string_view s) {
  size_t nl = s.find('\n');
  if (nl == std::string_view::npos) return {s, {}};
  return {s.substr(0, nl), s.substr(nl + 1)};
}

}  // namespace pipekit::fuzz
