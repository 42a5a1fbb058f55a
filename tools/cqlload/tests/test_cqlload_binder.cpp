// Record -> bound values: column sources (--map), encoding by the prepared
// types, unset for missing fields, envelope coordinates, the partition key's
// routing bytes, and the rejects (bad_value, missing_field, too_large).
#include <gtest/gtest.h>

#include "binder.hpp"
#include "pipekit/cql/types.hpp"
#include "pipekit/errors.hpp"

using namespace pipekit;
using namespace pipekit::cqlload;

namespace {

std::string i32(int32_t v) {
  std::string s;
  cql::wire::i32(s, v);
  return s;
}
std::string i64(int64_t v) {
  std::string s;
  cql::wire::i64(s, v);
  return s;
}
std::string value(std::string_view bytes) { return i32(static_cast<int32_t>(bytes.size())) + std::string(bytes); }
const std::string kUnset = i32(-2);

cql::Type type(cql::TypeId id) { return cql::Type{id, {}, {}, {}, {}, {}}; }

// id text (the partition key), age int, email text.
Binder users(size_t max_values = kMaxFrameValues) {
  auto cols = bind_columns({"id", "age", "email"}, {}, false, "ks.users");
  cols[0].type = type(cql::TypeId::varchar);
  cols[1].type = type(cql::TypeId::int_);
  cols[2].type = type(cql::TypeId::varchar);
  return Binder(std::move(cols), {0}, max_values);
}

struct Parsed {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  explicit Parsed(const std::string& json) { root = parser.parse(json).value(); }
};

}  // namespace

TEST(CqlloadBindColumns, SameNamedFieldsUnlessMapped) {
  auto cols = bind_columns({"id", "first", "a/b"}, {"first=name.first"}, false, "ks.t");
  ASSERT_EQ(cols.size(), 3u);
  Parsed p(R"({"id":"x","name":{"first":"Ann"},"first":"no","a/b":7,"a":{"b":8}})");
  EXPECT_EQ(simdjson::minify(*cols[0].source.path.find(p.root)), "\"x\"");
  EXPECT_EQ(simdjson::minify(*cols[1].source.path.find(p.root)), "\"Ann\"");
  // A default path is the field's plain name, never a dotted or slashed path.
  EXPECT_EQ(simdjson::minify(*cols[2].source.path.find(p.root)), "7");
  auto env = bind_columns({"id", "off"}, {"off=@offset"}, true, "ks.t");
  EXPECT_EQ(env[1].source.coordinate, EnvelopeField::offset);
}

TEST(CqlloadBindColumns, BadMapsAreUsageErrors) {
  EXPECT_THROW(bind_columns({"id"}, {"id"}, false, "ks.t"), UsageError);
  EXPECT_THROW(bind_columns({"id"}, {"=x"}, false, "ks.t"), UsageError);
  EXPECT_THROW(bind_columns({"id"}, {"id="}, false, "ks.t"), UsageError);
  EXPECT_THROW(bind_columns({"id"}, {"nope=x"}, false, "ks.t"), UsageError);
  EXPECT_THROW(bind_columns({"id"}, {"id=@offset"}, false, "ks.t"), UsageError);  // needs --envelope
  EXPECT_THROW(bind_columns({"id"}, {"id=@nothing"}, true, "ks.t"), UsageError);
}

TEST(CqlloadBinder, EncodesValuesUnsetForMissingAndTheTimestampLast) {
  Binder b = users();
  EXPECT_EQ(b.markers(), 4u);
  Parsed p(R"({"id":"u1","age":30,"email":null,"other":1})");
  Row row;
  ASSERT_FALSE(b.bind(p.root, nullptr, 1234, row));
  EXPECT_EQ(row.values, value("u1") + value(i32(30)) + kUnset + value(i64(1234)));
  EXPECT_EQ(row.routing, "u1");  // one key column: its bytes
  EXPECT_EQ(row.timestamp, 1234);
}

TEST(CqlloadBinder, EnvelopeCoordinatesFillMappedColumns) {
  auto cols = bind_columns({"id", "age", "off"}, {"off=@offset", "age=@partition"}, true, "ks.t");
  cols[0].type = type(cql::TypeId::varchar);
  cols[1].type = type(cql::TypeId::int_);
  cols[2].type = type(cql::TypeId::bigint);
  Binder b(std::move(cols), {0});
  Envelope env;
  env.topic = "users";
  env.partition = 3;
  env.offset = 42;
  Parsed p(R"({"id":"u1"})");
  Row row;
  ASSERT_FALSE(b.bind(p.root, &env, 7, row));
  EXPECT_EQ(row.values, value("u1") + value(i32(3)) + value(i64(42)) + value(i64(7)));
}

TEST(CqlloadBinder, RefusalsCarryTheirCodeAndColumn) {
  Binder b = users();
  Parsed bad(R"({"id":"u1","age":"thirty"})");
  Row row;
  auto r = b.bind(bad.root, nullptr, 1, row);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, RejectCode::bad_value);
  EXPECT_EQ(r->reason.rfind("column age: not a valid int", 0), 0u) << r->reason;
  EXPECT_EQ(r->extra, "\"column\":\"age\"");

  Parsed nokey(R"({"age":1})");
  Row row2;
  r = b.bind(nokey.root, nullptr, 1, row2);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, RejectCode::missing_field);
  EXPECT_EQ(r->reason, "missing partition key column id");
  EXPECT_EQ(r->extra, "\"column\":\"id\"");

  Parsed nullkey(R"({"id":null,"age":1})");
  Row row3;
  r = b.bind(nullkey.root, nullptr, 1, row3);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, RejectCode::missing_field);
}

TEST(CqlloadBinder, ARecordOverOneFrameIsTooLarge) {
  Binder b = users(64);
  Parsed p(R"({"id":"u1","email":")" + std::string(100, 'x') + R"("})");
  Row row;
  auto r = b.bind(p.root, nullptr, 1, row);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, RejectCode::too_large);
  EXPECT_NE(r->reason.find("over what one CQL frame carries (64 bytes)"), std::string::npos) << r->reason;
}

TEST(CqlloadBinder, CompositeKeyRoutingIsCassandrasComposite) {
  auto cols = bind_columns({"a", "b"}, {}, false, "ks.t");
  cols[0].type = type(cql::TypeId::varchar);
  cols[1].type = type(cql::TypeId::varchar);
  Binder b(std::move(cols), {1, 0});  // key order (b, a)
  Parsed p(R"({"a":"x","b":"yz"})");
  Row row;
  ASSERT_FALSE(b.bind(p.root, nullptr, 1, row));
  EXPECT_EQ(row.routing, cql::routing_key({"yz", "x"}));
  EXPECT_EQ(row.routing, std::string("\0\2yz\0", 5) + std::string("\0\1x\0", 4));
}
