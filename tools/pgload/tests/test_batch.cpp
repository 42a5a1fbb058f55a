// pgload's Batch: rows with their original lines and COPY text, key hashes
// and repeated keys (upsert), rejected rows, the acks sent after the commit.
#include <gtest/gtest.h>

#include "batch.hpp"

using namespace pipekit;
using namespace pipekit::pgload;

namespace {
// Appends a COPY row to the batch and adds it, as pgload's reading does.
Row& add_row(Batch& b, KeyHasher& keys, uint64_t line, const std::string& raw, const std::string& copy_row,
             std::optional<Ack> ack = std::nullopt) {
  size_t before = b.enc.size();
  b.enc += copy_row;
  Row& r = b.add(line, raw, before, std::move(ack));
  b.note_key(r, keys);
  return r;
}
}  // namespace

TEST(PgloadKeyHasher, HashesOnlyTheKeyFields) {
  KeyHasher keys({0, 2});
  EXPECT_EQ(keys.hash("a\tx\tb\n"), keys.hash("a\ty\tb\tmore"));
  EXPECT_NE(keys.hash("a\tx\tb\n"), keys.hash("a\tx\tc\n"));
  // Field boundaries count: "ab","" is not "a","b".
  EXPECT_NE(keys.hash("ab\tx\t\n"), keys.hash("a\tx\tb\n"));
  // An escaped tab (\t in COPY text) is inside a field.
  KeyHasher first({0});
  EXPECT_NE(first.hash("a\\tb\tx\n"), first.hash("a\tx\n"));
  EXPECT_FALSE(KeyHasher().enabled());
}

TEST(PgloadBatch, RowsKeepTheirLineAndCopyText) {
  Batch b;
  KeyHasher none;
  add_row(b, none, 3, R"({"id":1})", "1\n");
  add_row(b, none, 5, R"({"id":2})", "2\n");
  ASSERT_EQ(b.rows.size(), 2u);
  EXPECT_EQ(b.original(b.rows[1]), R"({"id":2})");
  EXPECT_EQ(b.copy_text({1, 0}), "2\n1\n");
  EXPECT_EQ(b.live_rows(), 2u);
  EXPECT_FALSE(b.distinct());
  KeptRecord k = b.kept(b.rows[1]);
  EXPECT_EQ(k.line, 5u);
  EXPECT_EQ(k.original, R"({"id":2})");
  EXPECT_FALSE(k.coordinates);
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(b.raw.empty());
  EXPECT_TRUE(b.enc.empty());
}

TEST(PgloadBatch, RepeatedKeysMakeTheMergeDistinct) {
  Batch b;
  KeyHasher keys({0});
  add_row(b, keys, 1, "{}", "k1\ta\n");
  add_row(b, keys, 2, "{}", "k2\ta\n");
  EXPECT_FALSE(b.distinct());
  EXPECT_NE(b.rows[0].key_hash, b.rows[1].key_hash);
  add_row(b, keys, 3, "{}", "k1\tb\n");
  EXPECT_TRUE(b.distinct());
  EXPECT_EQ(b.rows[0].key_hash, b.rows[2].key_hash);
  b.clear();
  EXPECT_FALSE(b.distinct());
  // The server may find a repeat the text comparison missed ('01' and '1').
  add_row(b, keys, 1, "{}", "01\n");
  add_row(b, keys, 2, "{}", "1\n");
  EXPECT_FALSE(b.distinct());
  b.set_server_dup_keys();
  EXPECT_TRUE(b.distinct());
  EXPECT_TRUE(b.server_found_dup_keys());
  b.clear();
  EXPECT_FALSE(b.server_found_dup_keys());
}

TEST(PgloadBatch, RejectedRowsAreNotLoadedNorAcknowledgedWithTheBatch) {
  Batch b;
  KeyHasher none;
  add_row(b, none, 1, "{}", "a\n", Ack{"t", 0, 10});
  add_row(b, none, 2, "{}", "b\n", Ack{"t", 0, 11});
  add_row(b, none, 3, "{}", "c\n", Ack{"t", 1, 7});
  EXPECT_EQ(b.acks_to_send().size(), 3u);
  b.reject(b.rows[1], false);
  b.reject(b.rows[1], false);  // once only
  EXPECT_EQ(b.live_rows(), 2u);
  EXPECT_EQ(b.live_indexes(), (std::vector<size_t>{0, 2}));
  // The batch acknowledges, not the intake: no coordinates in the reject.
  EXPECT_FALSE(b.kept(b.rows[1]).coordinates);
  const auto& acks = b.acks_to_send();
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0].offset, 10);
  EXPECT_EQ(acks[1].partition, 1);
  EXPECT_EQ(acks[1].offset, 7);
}

TEST(PgloadBatch, RejectsWrittenToAFileAreAcknowledgedInInputOrder) {
  Batch b;
  KeyHasher none;
  b.add_ack(Ack{"t", 0, 9});  // refused before it became a row
  EXPECT_FALSE(b.empty());
  EXPECT_TRUE(b.rows.empty());
  add_row(b, none, 2, "{}", "a\n", Ack{"t", 0, 10});
  add_row(b, none, 3, "{}", "b\n", Ack{"t", 0, 11});
  add_row(b, none, 4, "{}", "c\n", Ack{"t", 0, 12});
  b.reject(b.rows[1], true);
  b.reject(b.rows[2], false);
  EXPECT_EQ(b.live_rows(), 1u);
  std::vector<int64_t> offsets;
  for (const auto& a : b.acks_to_send()) offsets.push_back(a.offset);
  EXPECT_EQ(offsets, (std::vector<int64_t>{9, 10, 11}));
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(b.acks_to_send().empty());
}

TEST(PgloadBatch, RowsEncodedLater) {
  // --create without --schema: rows are held without COPY text, encoded at the flush.
  Batch b;
  KeyHasher keys({0});
  b.add(1, R"({"id":"x"})", 0, std::nullopt);
  b.add(2, R"({"id":"x"})", 0, std::nullopt);
  EXPECT_EQ(b.rows[0].enc_len, 0u);
  for (auto& r : b.rows) {
    size_t before = b.enc.size();
    b.enc += "x\n";
    b.encoded(r, before, keys);
  }
  EXPECT_EQ(b.copy_text({0, 1}), "x\nx\n");
  EXPECT_TRUE(b.distinct());
}
