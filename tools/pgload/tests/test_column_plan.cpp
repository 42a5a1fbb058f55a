// pgload's column plan: which column gets what (fields, --map paths and
// envelope fields, --jsonb, defaults left to the database), the conflict
// key, and the columns --create makes (from the first batch's types).
#include <gtest/gtest.h>

#include <map>

#include "column_plan.hpp"
#include "pipekit/errors.hpp"

using namespace pipekit;
using namespace pipekit::pgload;

namespace {
TableInfo users() {
  TableInfo t;
  t.name = TableName{"public", "users"};
  t.columns = {{"id", "uuid", Kind::plain, false, false},
               {"city", "text", Kind::plain, false, false},
               {"doc", "jsonb", Kind::json, false, false},
               {"serial", "bigint", Kind::plain, true, false},
               {"kafka_offset", "bigint", Kind::plain, false, false},
               {"gen", "text", Kind::plain, true, true}};
  t.primary_key = {"id"};
  return t;
}
}  // namespace

TEST(PgloadColumnPlan, FieldsMapsRecordAndDefaults) {
  std::vector<MapSpec> maps = {parse_map("city=location.city"), parse_map("kafka_offset=@offset")};
  ColumnPlan p = plan_columns(users(), maps, "doc");
  EXPECT_EQ(p.loaded, (std::vector<std::string>{"id", "city", "doc", "kafka_offset"}));
  EXPECT_EQ(p.types, (std::vector<std::string>{"uuid", "text", "jsonb", "bigint"}));
  ASSERT_EQ(p.sources.size(), 4u);
  EXPECT_EQ(p.sources[0].from, Source::From::field);
  EXPECT_EQ(p.sources[0].field, "id");
  EXPECT_EQ(p.sources[1].from, Source::From::path);
  EXPECT_EQ(p.sources[2].from, Source::From::record);
  EXPECT_EQ(p.sources[2].kind, Kind::json);
  EXPECT_EQ(p.sources[3].from, Source::From::env);
  EXPECT_EQ(p.sources[3].env, EnvField::offset);
  // --strict-fields accepts the columns' names and the first part of each --map path.
  for (const char* f : {"location", "id", "serial", "gen"})
    EXPECT_NE(std::find(p.known.begin(), p.known.end(), f), p.known.end()) << f;
  EXPECT_EQ(std::find(p.known.begin(), p.known.end(), "city"), p.known.end());
}

TEST(PgloadColumnPlan, RefusesWhatCannotBeLoaded) {
  EXPECT_THROW(plan_columns(users(), {parse_map("nope=a")}, ""), UsageError);
  EXPECT_THROW(plan_columns(users(), {parse_map("gen=a")}, ""), UsageError);
  EXPECT_THROW(plan_columns(users(), {}, "city"), UsageError);  // not jsonb
  EXPECT_THROW(plan_columns(users(), {}, "missing"), UsageError);
  TableInfo defaults;
  defaults.name = TableName{"public", "d"};
  defaults.columns = {{"id", "bigint", Kind::plain, true, false}};
  EXPECT_THROW(plan_columns(defaults, {}, ""), UsageError);  // no column to load
}

TEST(PgloadColumnPlan, ConflictKey) {
  TableInfo t = users();
  std::vector<std::string> loaded = {"id", "city"};
  EXPECT_TRUE(conflict_key(Mode::insert, {}, t, loaded).empty());
  EXPECT_EQ(conflict_key(Mode::upsert, {}, t, loaded), (std::vector<std::string>{"id"}));
  EXPECT_EQ(conflict_key(Mode::ignore, {"city"}, t, loaded), (std::vector<std::string>{"city"}));
  EXPECT_THROW(conflict_key(Mode::upsert, {"doc"}, t, loaded), UsageError);  // not loaded
  t.primary_key.clear();
  EXPECT_THROW(conflict_key(Mode::upsert, {}, t, loaded), UsageError);
  EXPECT_TRUE(conflict_key(Mode::ignore, {}, t, loaded).empty());  // any conflict
}

TEST(PgloadColumnPlan, ColumnsToCreate) {
  std::vector<ColumnDef> inferred = {{"id", "text", false}, {"n", "bigint", false}};
  auto cols = columns_to_create(inferred, {parse_map("id=login.uuid::uuid"), parse_map("off=@offset")}, "doc", {"id"});
  ASSERT_EQ(cols.size(), 4u);
  EXPECT_EQ(cols[0].type, "uuid");
  EXPECT_TRUE(cols[0].not_null);
  EXPECT_EQ(cols[2].name, "off");
  EXPECT_EQ(cols[2].type, "bigint");
  EXPECT_EQ(cols[3].name, "doc");
  EXPECT_EQ(cols[3].type, "jsonb");
  EXPECT_THROW(columns_to_create(inferred, {}, "", {"missing"}), UsageError);
  EXPECT_THROW(columns_to_create({}, {}, "", {}), UsageError);
  EXPECT_EQ(env_type(EnvField::timestamp), "timestamptz");
  EXPECT_EQ(env_type(EnvField::key), "text");
}

TEST(PgloadColumnPlan, FirstBatchTypes) {
  FirstBatchTypes types({parse_map("city=location.city"), parse_map("ts=@timestamp")}, "doc");
  simdjson::dom::parser p;
  for (const char* rec : {R"({"id":1,"location":{"city":"A"},"doc":5,"ts":"x"})", R"({"id":2,"extra":true})"}) {
    simdjson::dom::element e = p.parse(std::string(rec));
    types.observe(e);
  }
  std::map<std::string, std::string> got;
  for (const auto& c : types.columns()) got[c.name] = c.type;
  EXPECT_EQ(got["id"], "bigint");
  EXPECT_EQ(got["location"], "jsonb");
  EXPECT_EQ(got["city"], "text");
  EXPECT_EQ(got["ts"], "timestamptz");  // an envelope field, not the record's "ts"
  EXPECT_EQ(got["doc"], "jsonb");       // the whole record, not the record's "doc"
  EXPECT_EQ(got["extra"], "boolean");
}
