// pgload's MergePlan: the SQL of insert, upsert (ON CONFLICT DO UPDATE,
// DISTINCT ON for a batch with a repeated key) and ignore (DO NOTHING).
#include <gtest/gtest.h>

#include "merge_plan.hpp"

using namespace pipekit;
using namespace pipekit::pgload;

namespace {
MergeColumns users() {
  return MergeColumns{"\"public\".\"users\"", {"id", "name", "doc"}, {"uuid", "text", "json"}, {"id"}};
}
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST(PgloadMergePlan, InsertCopiesIntoTheTable) {
  MergePlan p(Mode::insert, users());
  EXPECT_FALSE(p.staged());
  EXPECT_EQ(p.copy_sql(), "COPY \"public\".\"users\" (\"id\", \"name\", \"doc\") FROM STDIN");
  EXPECT_EQ(p.direct_copy_sql(), p.copy_sql());
  EXPECT_TRUE(p.stage_sql().empty());
  EXPECT_TRUE(p.key_positions().empty());
}

TEST(PgloadMergePlan, UpsertMergesFromTheStagingTable) {
  MergePlan p(Mode::upsert, users());
  EXPECT_TRUE(p.staged());
  EXPECT_EQ(p.copy_sql(), "COPY pg_temp.\"pgload_stage\" (\"id\", \"name\", \"doc\") FROM STDIN");
  EXPECT_EQ(p.direct_copy_sql(), "COPY \"public\".\"users\" (\"id\", \"name\", \"doc\") FROM STDIN");
  EXPECT_TRUE(has(p.stage_sql(), "CREATE TEMP TABLE \"pgload_stage\" ON COMMIT DELETE ROWS AS SELECT"));
  EXPECT_TRUE(has(p.stage_sql(), "ADD COLUMN \"pgload_seq\" bigint GENERATED ALWAYS AS IDENTITY"));
  EXPECT_EQ(p.truncate_stage_sql(), "TRUNCATE pg_temp.\"pgload_stage\"");
  const std::string& m = p.merge_sql(false);
  EXPECT_EQ(m.rfind("INSERT INTO \"public\".\"users\" AS pgload_t (\"id\", \"name\", \"doc\") SELECT", 0), 0u) << m;
  EXPECT_TRUE(has(m, " ON CONFLICT (\"id\") DO UPDATE SET \"name\" = EXCLUDED.\"name\", \"doc\" = EXCLUDED.\"doc\""));
  // Unchanged rows are not rewritten; json has no equality operator: compared as text.
  EXPECT_TRUE(has(m, "WHERE ROW(pgload_t.\"name\", pgload_t.\"doc\"::text) IS DISTINCT FROM "
                     "ROW(EXCLUDED.\"name\", EXCLUDED.\"doc\"::text)"))
      << m;
  EXPECT_FALSE(has(m, "DISTINCT ON"));
  // A repeated key: the last row per key wins.
  const std::string& d = p.merge_sql(true);
  EXPECT_TRUE(has(d, "FROM (SELECT DISTINCT ON (\"id\") * FROM pg_temp.\"pgload_stage\" ORDER BY \"id\", "
                     "\"pgload_seq\" DESC) s ON CONFLICT"))
      << d;
  EXPECT_EQ(p.key_positions(), (std::vector<size_t>{0}));
}

TEST(PgloadMergePlan, UpsertOfKeyColumnsOnlyDoesNothingOnConflict) {
  MergePlan p(Mode::upsert, MergeColumns{"\"t\"", {"a", "b"}, {"text", "text"}, {"b", "a"}});
  EXPECT_TRUE(has(p.merge_sql(false), "ON CONFLICT (\"b\", \"a\") DO NOTHING"));
  EXPECT_EQ(p.key_positions(), (std::vector<size_t>{1, 0}));
}

TEST(PgloadMergePlan, IgnoreKeepsInputOrderAndNeverCollapses) {
  MergePlan p(Mode::ignore, users());
  EXPECT_TRUE(has(p.merge_sql(false), "ORDER BY \"pgload_seq\" ON CONFLICT (\"id\") DO NOTHING"));
  EXPECT_EQ(p.merge_sql(true), p.merge_sql(false));  // no DISTINCT ON: the first row wins
  MergePlan any(Mode::ignore, MergeColumns{"\"t\"", {"a"}, {"text"}, {}});
  EXPECT_TRUE(has(any.merge_sql(false), "ORDER BY \"pgload_seq\" ON CONFLICT DO NOTHING"));
}

TEST(PgloadMergePlan, TheOrderColumnNeverClashesWithALoadedOne) {
  MergePlan p(Mode::upsert, MergeColumns{"\"t\"", {"id", "pgload_seq", "pgload_seq_"}, {"int", "int", "int"}, {"id"}});
  EXPECT_TRUE(has(p.stage_sql(), "ADD COLUMN \"pgload_seq__\""));
  EXPECT_TRUE(has(p.merge_sql(true), "\"pgload_seq__\" DESC"));
}

TEST(PgloadMergePlan, NamesAreQuoted) {
  MergePlan p(Mode::upsert, MergeColumns{"\"t\"", {"a\"b", "c"}, {"text", "text"}, {"a\"b"}});
  EXPECT_TRUE(has(p.copy_sql(), "(\"a\"\"b\", \"c\")"));
  EXPECT_TRUE(has(p.merge_sql(false), "ON CONFLICT (\"a\"\"b\")"));
}
