// pgload's pure pieces: quoting, option parsing, COPY encoding, scrubbing,
// type inference. The database behaviour is tested in tests/integration.
#include <gtest/gtest.h>

#include <string>

#include "encode.hpp"
#include "pipekit/intake.hpp"
#include "table.hpp"
#include "pipekit/errors.hpp"
#include "engine.hpp"

using namespace pipekit;
using namespace pipekit::pgload;

TEST(PgloadQuote, DoublesQuotesAndKeepsEverythingElse) {
  EXPECT_EQ(quote_ident("users"), "\"users\"");
  EXPECT_EQ(quote_ident("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(quote_ident("x\"; DROP TABLE t; --"), "\"x\"\"; DROP TABLE t; --\"");
  EXPECT_EQ(quote_ident("Ünïcode space"), "\"Ünïcode space\"");
}

TEST(PgloadTableName, SchemaAndQuotedParts) {
  auto t = parse_table_name("users");
  EXPECT_EQ(t.schema, "");
  EXPECT_EQ(t.name, "users");
  t = parse_table_name("app.Users");
  EXPECT_EQ(t.schema, "app");
  EXPECT_EQ(t.name, "Users");
  EXPECT_EQ(t.quoted(), "\"app\".\"Users\"");
  t = parse_table_name("\"my.schema\".\"a\"\"b.c\"");
  EXPECT_EQ(t.schema, "my.schema");
  EXPECT_EQ(t.name, "a\"b.c");
  t = parse_table_name("\"x.y\"");
  EXPECT_EQ(t.schema, "");
  EXPECT_EQ(t.name, "x.y");
  EXPECT_THROW(parse_table_name(""), UsageError);
  EXPECT_THROW(parse_table_name("a.b.c"), UsageError);
  EXPECT_THROW(parse_table_name(".b"), UsageError);
  EXPECT_THROW(parse_table_name("a."), UsageError);
  EXPECT_THROW(parse_table_name("\"open"), UsageError);
  EXPECT_THROW(parse_table_name(std::string(64, 'x')), UsageError);
}

TEST(PgloadMap, PathsEnvelopeFieldsAndTypes) {
  auto m = parse_map("city=location.city");
  EXPECT_EQ(m.column, "city");
  EXPECT_EQ(m.path, "location.city");
  EXPECT_EQ(m.env, EnvField::none);
  EXPECT_EQ(m.type, "");
  m = parse_map("dob=/dob/date::TimestampTZ");
  EXPECT_EQ(m.path, "/dob/date");
  EXPECT_EQ(m.type, "timestamptz");
  m = parse_map("kafka_offset=@offset");
  EXPECT_EQ(m.env, EnvField::offset);
  EXPECT_TRUE(m.path.empty());
  m = parse_map("ts=@timestamp::bigint");
  EXPECT_EQ(m.env, EnvField::timestamp);
  EXPECT_EQ(m.type, "bigint");
  EXPECT_THROW(parse_map("nocolumn"), UsageError);
  EXPECT_THROW(parse_map("=path"), UsageError);
  EXPECT_THROW(parse_map("col="), UsageError);
  EXPECT_THROW(parse_map("col=@nope"), UsageError);
  EXPECT_THROW(parse_map("col=a::text; drop table x"), UsageError);
}

TEST(PgloadMap, TypesAreWhitelisted) {
  EXPECT_EQ(canonical_type("double"), "double precision");
  EXPECT_EQ(canonical_type("INT8"), "bigint");
  EXPECT_EQ(canonical_type("json"), "jsonb");
  EXPECT_THROW(canonical_type("text); drop table t; --"), UsageError);
  EXPECT_EQ(split_columns("a,b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_THROW(split_columns("a,,b"), UsageError);
}

TEST(PgloadCopy, EscapesTheFourSpecialBytes) {
  std::string out;
  append_copy_escaped(out, "a\tb\nc\rd\\e");
  EXPECT_EQ(out, "a\\tb\\nc\\rd\\\\e");
  out.clear();
  append_copy_escaped(out, "plain");
  EXPECT_EQ(out, "plain");
}

TEST(PgloadScrub, PasswordsAndConninfoFragmentsNeverSurvive) {
  EXPECT_EQ(scrub("password authentication failed for hunter2", "hunter2"),
            "password authentication failed for ***");
  std::string m = scrub("missing \"=\" after \"s3cret\" in connection info string", "");
  EXPECT_EQ(m.find("s3cret"), std::string::npos);
  EXPECT_NE(m.find("connection info string"), std::string::npos);
  EXPECT_EQ(scrub("ordinary \"quoted\" message", ""), "ordinary \"quoted\" message");
}

TEST(PgloadTime, IsoFromMilliseconds) {
  EXPECT_EQ(iso_utc_from_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso_utc_from_ms(1732147200123), "2024-11-21T00:00:00.123Z");
}

TEST(PgloadInference, TypesFromValues) {
  simdjson::dom::parser p;
  TypeInference inf;
  for (const char* rec : {R"({"n":1,"f":1.5,"b":true,"s":"x","o":{"a":1},"mix":1,"nul":null,"big":18446744073709551615})",
                          R"({"n":2,"f":2,"b":false,"s":"y","o":[1],"mix":"a","nul":null,"big":1})"}) {
    simdjson::dom::element e = p.parse(std::string(rec));
    for (auto [k, v] : simdjson::dom::object(e)) inf.observe(std::string(k), v);
  }
  inf.declare("doc", "jsonb");
  std::map<std::string, std::string> got;
  for (const auto& c : inf.columns()) got[c.name] = c.type;
  EXPECT_EQ(got["n"], "bigint");
  EXPECT_EQ(got["f"], "double precision");
  EXPECT_EQ(got["b"], "boolean");
  EXPECT_EQ(got["s"], "text");
  EXPECT_EQ(got["o"], "jsonb");
  EXPECT_EQ(got["mix"], "text");
  EXPECT_EQ(got["nul"], "text");
  EXPECT_EQ(got["big"], "numeric");
  EXPECT_EQ(got["doc"], "jsonb");
  EXPECT_EQ(inf.columns().front().name, "n");  // first-seen order
}

TEST(PgloadInference, CreateTableQuotesEverything) {
  TableName t{"s\"x", "t;drop"};
  std::string sql = create_table_sql(t, {{"id", "uuid", true}, {"a\"b", "text", false}}, {"id"});
  EXPECT_EQ(sql,
            "CREATE TABLE IF NOT EXISTS \"s\"\"x\".\"t;drop\" (\"id\" uuid NOT NULL, \"a\"\"b\" text, PRIMARY KEY (\"id\"))");
}

// A name PostgreSQL would cut to 63 bytes: its values would silently vanish
// (issue #14), so --create refuses it.
TEST(PgloadInference, CreateTableRefusesNamesPostgresWouldTruncate) {
  TableName t{"public", "t"};
  std::string n63(63, 'a'), n64(64, 'a');
  EXPECT_NO_THROW(create_table_sql(t, {{n63, "text", false}}, {}));
  try {
    create_table_sql(t, {{"id", "uuid", true}, {n64, "text", false}}, {});
    FAIL() << "a 64-byte column name was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("64 bytes, over PostgreSQL's 63-byte limit"), std::string::npos) << e.what();
  }
  // Bytes, not characters: 32 two-byte letters are 64 bytes.
  std::string wide;
  for (int i = 0; i < 32; ++i) wide += "\xc3\xa9";
  EXPECT_THROW(create_table_sql(t, {{wide, "text", false}}, {}), UsageError);
}

namespace {
// A line through the intake's parser (as pgload's Intake does) and then the
// encoder; returns the reject reason ("" when encoded) and its code.
struct Encoded {
  std::string reason;
  RejectCode code = RejectCode::bad_value;
  std::optional<Ack> coordinates;
};
Encoded encode_line(Encoder& enc, bool envelope, const std::string& text, std::string& out) {
  IntakeOptions opts;
  opts.envelope = envelope;
  RecordParser parser(opts, IntakeRules{.require_object = true, .copy_envelope_value = enc.needs_record_text()});
  Line line;
  line.number = 1;
  line.text = text;
  line.length = text.size();
  Record record;
  Encoded r;
  if (auto refusal = parser.parse(line, record, false)) {
    r.reason = refusal->reason;
    r.code = refusal->code;
    r.coordinates = refusal->coordinates;
    return r;
  }
  r.coordinates = record.coordinates();
  size_t before = out.size();
  r.reason = enc.encode(record, out);
  if (!r.reason.empty()) {
    EXPECT_EQ(out.size(), before) << "a refused record left part of a row";
  }
  return r;
}
}  // namespace

TEST(PgloadEncoder, RowsByColumnPlan) {
  Encoder enc(false);
  std::vector<Source> s(5);
  s[0].column = "id"; s[0].field = "id";
  s[1].column = "city"; s[1].from = Source::From::path; s[1].path = json::Path("location.city");
  s[2].column = "tags"; s[2].field = "tags"; s[2].kind = Kind::json;
  s[3].column = "name"; s[3].field = "name"; s[3].kind = Kind::json;
  s[4].column = "doc"; s[4].from = Source::From::record; s[4].kind = Kind::json;
  enc.set_plan(s, {"id", "location", "tags", "name"});
  std::string out;
  EXPECT_EQ(encode_line(enc, false, R"({"id":7,"location":{"city":"A\tB"},"tags":["x"],"name":"n","extra":1})", out).reason, "");
  EXPECT_EQ(out,
            "7\tA\\tB\t[\"x\"]\t\"n\"\t{\"id\":7,\"location\":{\"city\":\"A\\\\tB\"},\"tags\":[\"x\"],\"name\":\"n\",\"extra\":1}\n");
  out.clear();
  EXPECT_EQ(encode_line(enc, false, R"({"id":null})", out).reason, "");
  EXPECT_EQ(out, "\\N\t\\N\t\\N\t\\N\t{\"id\":null}\n");
  out.clear();
  // What is not a record is refused by the intake, with its code.
  EXPECT_EQ(encode_line(enc, false, "[1,2]", out).code, RejectCode::not_object);
  EXPECT_EQ(encode_line(enc, false, "{\"a\":", out).code, RejectCode::not_json);
  // Valid JSON the parser cannot hold: a reject that names the number (issue #14).
  auto big = encode_line(enc, false, R"({"id":1e400})", out);
  EXPECT_EQ(big.code, RejectCode::number_out_of_range);
  EXPECT_EQ(big.reason.rfind("number 1e400 is beyond", 0), 0u) << big.reason;
  EXPECT_EQ(encode_line(enc, false, R"({"id":"x","tags":[18446744073709551616]})", out)
                .reason.rfind("number 18446744073709551616 is beyond", 0),
            0u);
  EXPECT_EQ(encode_line(enc, false, R"({"id":"1e400 in a string","a":})", out).reason.rfind("invalid JSON at byte", 0), 0u);
  EXPECT_EQ(out, "");
}

TEST(PgloadEncoder, StrictFieldsAndEnvelopes) {
  Encoder strict(true);
  std::vector<Source> s(1);
  s[0].column = "id"; s[0].field = "id";
  strict.set_plan(s, {"id"});
  std::string out;
  auto unknown = encode_line(strict, false, R"({"id":1,"zzz":2})", out);
  EXPECT_NE(unknown.reason.find("unknown field 'zzz'"), std::string::npos);
  EXPECT_EQ(unknown.code, RejectCode::bad_value);
  EXPECT_EQ(out, "");

  Encoder env(false);
  std::vector<Source> e(5);
  e[0].column = "id"; e[0].field = "id";
  e[1].column = "off"; e[1].from = Source::From::env; e[1].env = EnvField::offset;
  e[2].column = "ts"; e[2].from = Source::From::env; e[2].env = EnvField::timestamp; e[2].kind = Kind::timestamp;
  e[3].column = "k"; e[3].from = Source::From::env; e[3].env = EnvField::key; e[3].kind = Kind::json;
  e[4].column = "doc"; e[4].from = Source::From::record; e[4].kind = Kind::json;
  env.set_plan(e, {"id"});
  ASSERT_TRUE(env.needs_record_text());
  out.clear();
  auto r = encode_line(env, true, R"({"topic":"t","partition":2,"offset":41,"timestamp":0,"key":"k1","value":{"id":"a"}})", out);
  EXPECT_EQ(r.reason, "");
  EXPECT_EQ(out, "a\t41\t1970-01-01T00:00:00.000Z\t\"k1\"\t{\"id\":\"a\"}\n");
  ASSERT_TRUE(r.coordinates);
  EXPECT_EQ(r.coordinates->topic, "t");
  EXPECT_EQ(r.coordinates->partition, 2);
  EXPECT_EQ(r.coordinates->offset, 41);
  // A value that is not an object still yields the coordinates, so the reject can be acked.
  out.clear();
  r = encode_line(env, true, R"({"topic":"t","partition":0,"offset":5,"value":[1]})", out);
  EXPECT_EQ(r.code, RejectCode::not_object);
  ASSERT_TRUE(r.coordinates);
  EXPECT_EQ(r.coordinates->offset, 5);
  // kcat -J: the payload is a string holding JSON; the envelope's missing fields are \N.
  out.clear();
  EXPECT_EQ(encode_line(env, true, R"({"topic":"t","partition":0,"offset":6,"payload":"{\"id\":\"b\"}"})", out).reason, "");
  EXPECT_EQ(out, "b\t6\t\\N\t\\N\t{\"id\":\"b\"}\n");
}

TEST(PgloadEncoder, WholeRecordWithoutTheIntakesCopyIsMinified) {
  Encoder enc(false);
  std::vector<Source> e(1);
  e[0].column = "doc"; e[0].from = Source::From::record; e[0].kind = Kind::json;
  enc.set_plan(e, {});
  IntakeOptions opts;
  opts.envelope = true;
  RecordParser parser(opts, IntakeRules{.require_object = true});  // value not copied
  std::string text = R"({"topic":"t","partition":0,"offset":1,"value":{ "a" : [1, 2] }})";
  Line line;
  line.text = text;
  line.length = text.size();
  Record record;
  ASSERT_FALSE(parser.parse(line, record, false));
  std::string out;
  EXPECT_EQ(enc.encode(record, out), "");
  EXPECT_EQ(out, "{\"a\":[1,2]}\n");
}
