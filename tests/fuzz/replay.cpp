// The fuzz corpora as regression tests (unit layer, any compiler): every file
// of tests/fuzz/corpus/NAME/ (seeds, and inputs scripts/fuzz found that once
// failed) goes through the target's entry point. A crash or a sanitizer
// report (scripts/test --sanitize) fails the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "targets/fuzz.hpp"

namespace fs = std::filesystem;

TEST(FuzzCorpus, EveryInputRunsCleanly) {
  fs::path dir = fs::path(PIPEKIT_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / PIPEKIT_FUZZ_TARGET;
  ASSERT_TRUE(fs::is_directory(dir)) << "no corpus at " << dir << " (it is part of the repository)";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "empty corpus " << dir;
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    std::ifstream in(f, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    std::string bytes = buf.str();
    EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
  }
}
