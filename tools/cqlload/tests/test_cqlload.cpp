// cqlload's set-up helpers: primary key specs, identifiers, column types from
// a JSON Schema and from sample records, the CREATE TABLE text.
#include <gtest/gtest.h>

#include "schema.hpp"
#include "engine.hpp"
#include "pipekit/errors.hpp"

using namespace pipekit;
using namespace pipekit::cqlload;

TEST(CqlloadPrimaryKey, Forms) {
  auto a = parse_primary_key("id");
  EXPECT_EQ(a.partition, std::vector<std::string>{"id"});
  EXPECT_TRUE(a.clustering.empty());
  auto b = parse_primary_key("(nat), email");
  EXPECT_EQ(b.partition, std::vector<std::string>{"nat"});
  EXPECT_EQ(b.clustering, std::vector<std::string>{"email"});
  auto c = parse_primary_key("((country, city), email, id)");
  EXPECT_EQ(c.partition, (std::vector<std::string>{"country", "city"}));
  EXPECT_EQ(c.clustering, (std::vector<std::string>{"email", "id"}));
  auto d = parse_primary_key("a, b");  // as in CQL: partition key a, clustering b
  EXPECT_EQ(d.partition, std::vector<std::string>{"a"});
  EXPECT_EQ(d.clustering, std::vector<std::string>{"b"});
  auto e = parse_primary_key("\"Mixed\"\"Case\"");
  EXPECT_EQ(e.partition, std::vector<std::string>{"Mixed\"Case"});
  for (const char* bad : {"", "(a", "a,,b", "a b", "()", "\"open"})
    EXPECT_THROW(parse_primary_key(bad), UsageError) << bad;
}

TEST(CqlloadIdent, QuotesAndDoublesQuotes) {
  EXPECT_EQ(quote_ident("users"), "\"users\"");
  EXPECT_EQ(quote_ident("we\"ird"), "\"we\"\"ird\"");
}

TEST(CqlloadSchema, JsonSchemaTypes) {
  auto cols = columns_from_json_schema(R"({"type":"object","properties":{
    "id":{"type":"string","format":"uuid"}, "n":{"type":"integer"}, "x":{"type":["number","null"]},
    "ok":{"type":"boolean"}, "at":{"type":"string","format":"date-time"}, "d":{"type":"string","format":"date"},
    "ip":{"type":"string","format":"ipv4"}, "raw":{"type":"string","contentEncoding":"base64"},
    "tags":{"type":"array","items":{"type":"string"}}, "set":{"type":"array","items":{"type":"integer"},"uniqueItems":true},
    "m":{"type":"object","additionalProperties":{"type":"number"}}, "obj":{"type":"object","properties":{"a":{}}},
    "custom":{"type":"string","x-cql-type":"timeuuid"}, "objs":{"type":"array","items":{"type":"object"}}}})");
  std::map<std::string, std::string> m(cols.begin(), cols.end());
  EXPECT_EQ(m["id"], "uuid");
  EXPECT_EQ(m["n"], "bigint");
  EXPECT_EQ(m["x"], "double");
  EXPECT_EQ(m["ok"], "boolean");
  EXPECT_EQ(m["at"], "timestamp");
  EXPECT_EQ(m["d"], "date");
  EXPECT_EQ(m["ip"], "inet");
  EXPECT_EQ(m["raw"], "blob");
  EXPECT_EQ(m["tags"], "list<text>");
  EXPECT_EQ(m["set"], "set<bigint>");
  EXPECT_EQ(m["m"], "map<text, double>");
  EXPECT_EQ(m["obj"], "text");
  EXPECT_EQ(m["custom"], "timeuuid");
  EXPECT_EQ(m["objs"], "text");
  EXPECT_THROW(columns_from_json_schema("{"), UsageError);
  EXPECT_THROW(columns_from_json_schema(R"({"type":"object"})"), UsageError);
}

TEST(CqlloadSchema, SampleTypesWidenAcrossRecords) {
  auto cols = columns_from_samples({R"({"id":"a","n":1,"x":1,"f":true,"o":{"a":1},"z":null})",
                                    R"({"id":"b","n":2,"x":1.5,"f":"yes","late":3})", "not json"});
  std::map<std::string, std::string> m(cols.begin(), cols.end());
  EXPECT_EQ(cols.front().first, "id");  // first-seen order
  EXPECT_EQ(m["id"], "text");
  EXPECT_EQ(m["n"], "bigint");
  EXPECT_EQ(m["x"], "double");
  EXPECT_EQ(m["f"], "text");
  EXPECT_EQ(m["o"], "text");
  EXPECT_EQ(m["z"], "text");
  EXPECT_EQ(m["late"], "bigint");
}

TEST(CqlloadSchema, CreateTableText) {
  std::vector<std::pair<std::string, std::string>> cols = {{"nat", "text"}, {"id", "uuid"}, {"n", "int"}};
  EXPECT_EQ(create_table_cql("ks", "t", cols, parse_primary_key("(nat), id")),
            "CREATE TABLE IF NOT EXISTS \"ks\".\"t\" (\"nat\" text, \"id\" uuid, \"n\" int, "
            "PRIMARY KEY ((\"nat\"), \"id\"))");
  EXPECT_THROW(create_table_cql("ks", "t", cols, parse_primary_key("missing")), UsageError);
}

TEST(CqlloadReplication, DefaultIsNetworkTopologyInTheLocalDatacenter) {
  EXPECT_EQ(replication_cql("", "datacenter1", 1), "{'class': 'NetworkTopologyStrategy', 'datacenter1': 1}");
  EXPECT_EQ(replication_cql("", "dc1", 5), "{'class': 'NetworkTopologyStrategy', 'dc1': 3}");
  EXPECT_EQ(replication_cql("", "it's", 2), "{'class': 'NetworkTopologyStrategy', 'it''s': 2}");
  EXPECT_THROW(replication_cql("", "", 3), UsageError);
}

TEST(CqlloadReplication, FactorsPerDatacenterSimpleOrAMap) {
  EXPECT_EQ(replication_cql("dc1:3,dc2:2", "x", 1), "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}");
  EXPECT_EQ(replication_cql("simple:1", "x", 9), "{'class': 'SimpleStrategy', 'replication_factor': 1}");
  EXPECT_EQ(replication_cql("{'class': 'SimpleStrategy', 'replication_factor': 2}", "x", 1),
            "{'class': 'SimpleStrategy', 'replication_factor': 2}");
  for (const char* bad : {"dc1", "dc1:0", "dc1:x", ":3", "dc1:3,dc1:2", "dc1:3,", "simple:", "{'class'"})
    EXPECT_THROW(replication_cql(bad, "x", 1), UsageError) << bad;
}
