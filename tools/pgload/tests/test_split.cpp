// pgload's split of a staged upsert over two connections: which batches are
// split, rows partitioned by key hash (a key always on one side); the
// direct/staged policy it depends on; the reconnect backoff.
#include <gtest/gtest.h>

#include "batch.hpp"
#include "copy_stream.hpp"
#include "merge_plan.hpp"
#include "session.hpp"
#include "split.hpp"

using namespace pipekit;
using namespace pipekit::pgload;

TEST(PgloadDirectPolicy, NewKeysDirectStagedForAWhileAfterAConflict) {
  DirectPolicy insert(false);
  EXPECT_FALSE(insert.try_direct());
  DirectPolicy p(true);
  EXPECT_TRUE(p.try_direct());
  EXPECT_FALSE(p.staging());
  p.conflict();
  EXPECT_FALSE(p.try_direct());
  EXPECT_TRUE(p.staging());
  for (int i = 0; i < DirectPolicy::kStagedBatches - 1; ++i) p.staged_batch_done();
  EXPECT_FALSE(p.try_direct());
  p.staged_batch_done();
  EXPECT_TRUE(p.try_direct());
  p.staged_batch_done();  // never below zero
  EXPECT_TRUE(p.try_direct());
}

TEST(PgloadSplit, OnlyStagedUpsertsWithAKeyAndEnoughRows) {
  MergePlan upsert(Mode::upsert, MergeColumns{"\"t\"", {"id", "v"}, {"text", "text"}, {"id"}});
  MergePlan ignore(Mode::ignore, MergeColumns{"\"t\"", {"id", "v"}, {"text", "text"}, {"id"}});
  DirectPolicy direct(true), staging(true);
  staging.conflict();
  Split split("");
  EXPECT_FALSE(split.splitting(upsert, direct));  // new keys go the direct way
  EXPECT_TRUE(split.splitting(upsert, staging));
  EXPECT_FALSE(split.splitting(ignore, staging));
  Batch small;
  for (int i = 0; i < 10; ++i) small.add(i, "{}", 0, std::nullopt);
  EXPECT_FALSE(split.ready(small, upsert, staging));  // too small: no connection opened
}

TEST(PgloadSplit, PartitionByKeyKeepsEachKeyOnOneSideAndTheOrder) {
  Batch b;
  KeyHasher keys({0});
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i) ids.push_back("k" + std::to_string(i % 50));
  for (size_t i = 0; i < ids.size(); ++i) {
    size_t before = b.enc.size();
    b.enc += ids[i] + "\t" + std::to_string(i) + "\n";
    Row& r = b.add(i, "{}", before, std::nullopt);
    b.note_key(r, keys);
  }
  b.reject(b.rows[7], false);
  std::string halves[2];
  partition_by_key(b, halves);
  EXPECT_EQ(halves[0].size() + halves[1].size(), b.enc.size() - b.rows[7].enc_len);
  EXPECT_FALSE(halves[0].empty());
  EXPECT_FALSE(halves[1].empty());
  // Every key on one side only, its rows in input order.
  for (int k = 0; k < 50; ++k) {
    std::string key = "k" + std::to_string(k) + "\t";
    int sides = 0;
    for (const auto& h : halves) {
      size_t pos = 0, last = 0;
      bool found = false;
      while ((pos = h.find(key, pos)) != std::string::npos) {
        if (pos == 0 || h[pos - 1] == '\n') {
          size_t n = std::stoul(h.substr(pos + key.size()));
          if (found) {
            EXPECT_GT(n, last);
          }
          last = n;
          found = true;
        }
        pos += key.size();
      }
      sides += found;
    }
    EXPECT_EQ(sides, 1) << key;
  }
  EXPECT_EQ(halves[0].find("k7\t7\n"), std::string::npos);
  EXPECT_EQ(halves[1].find("k7\t7\n"), std::string::npos);
}

TEST(PgloadSession, BackoffDoublesUpToFiveSeconds) {
  EXPECT_EQ(backoff_ms(1), 100);
  EXPECT_EQ(backoff_ms(2), 200);
  EXPECT_EQ(backoff_ms(6), 3200);
  EXPECT_EQ(backoff_ms(7), 5000);
  EXPECT_EQ(backoff_ms(100), 5000);
  int64_t total = 0;
  for (int i = 1; i <= 10; ++i) total += backoff_ms(i);
  EXPECT_EQ(total, 26300);  // --retries 10: about 26 s in all (pgload(1))
}
