// pgload's bisection: which pieces of a refused batch are tried, in what
// order, and that exactly the refused rows are rejected.
#include <gtest/gtest.h>

#include <numeric>
#include <set>

#include "bisect.hpp"

using namespace pipekit::pgload;

namespace {
struct Fake {
  std::set<size_t> bad;
  std::vector<std::vector<size_t>> tries;
  std::vector<size_t> rejected;
  void run(const std::vector<size_t>& rows) {
    bisect(
        rows,
        [&](const std::vector<size_t>& idx) -> std::optional<Refusal> {
          tries.push_back(idx);
          for (size_t i : idx)
            if (bad.count(i)) return Refusal{"bad row " + std::to_string(i), "22P02"};
          return std::nullopt;
        },
        [&](size_t row, const Refusal& why) {
          EXPECT_EQ(why.message, "bad row " + std::to_string(row));
          EXPECT_EQ(why.sqlstate, "22P02");
          rejected.push_back(row);
        });
  }
};
std::vector<size_t> upto(size_t n) {
  std::vector<size_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}
}  // namespace

TEST(PgloadBisect, AGoodPieceIsTriedOnce) {
  Fake f;
  f.run(upto(100));
  EXPECT_EQ(f.tries.size(), 1u);
  EXPECT_TRUE(f.rejected.empty());
  f.run({});
  EXPECT_EQ(f.tries.size(), 1u);  // nothing to try
}

TEST(PgloadBisect, HalvesThenRowByRow) {
  Fake f;
  f.bad = {13};
  f.run(upto(32));
  EXPECT_EQ(f.rejected, (std::vector<size_t>{13}));
  // 32 -> 16 + 16 -> (8 + 8) row by row in the refused 8.
  ASSERT_GE(f.tries.size(), 5u);
  EXPECT_EQ(f.tries[0].size(), 32u);
  EXPECT_EQ(f.tries[1], upto(16));
  EXPECT_EQ(f.tries[2], upto(8));
  EXPECT_EQ(f.tries[3].size(), 8u);
  EXPECT_EQ(f.tries[3].front(), 8u);
  for (size_t i = 4; i < 12; ++i) EXPECT_EQ(f.tries[i], std::vector<size_t>{i + 4});
  EXPECT_EQ(f.tries[12].size(), 16u);  // the second half, good
  EXPECT_EQ(f.tries.size(), 13u);
}

TEST(PgloadBisect, EveryBadRowAndOnlyThoseInInputOrder) {
  Fake f;
  f.bad = {0, 1, 57, 58, 999};
  f.run(upto(1000));
  EXPECT_EQ(f.rejected, (std::vector<size_t>{0, 1, 57, 58, 999}));
  Fake all;
  all.bad = {0, 1, 2};
  all.run({0, 1, 2});
  EXPECT_EQ(all.rejected, (std::vector<size_t>{0, 1, 2}));
}

TEST(PgloadBisect, WorksOnTheLiveRowsGiven) {
  Fake f;
  f.bad = {40};
  f.run({2, 5, 40, 41});  // rows already rejected are not among them
  EXPECT_EQ(f.rejected, (std::vector<size_t>{40}));
  EXPECT_EQ(f.tries[0], (std::vector<size_t>{2, 5, 40, 41}));
}
