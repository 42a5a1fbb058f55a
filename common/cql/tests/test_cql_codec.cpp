// The CQL v4 codec against byte-exact vectors from an independent
// implementation (tests/support/cql/make_vectors.py, the DataStax Python driver):
// requests we encode must equal the driver's bytes; responses the driver
// decoded must decode to the same fields here; values and tokens likewise.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "pipekit/cql/protocol.hpp"
#include "pipekit/cql/types.hpp"

using namespace pipekit::cql;
using nlohmann::json;

namespace {

const json& vectors() {
  static json doc = [] {
    std::ifstream f(std::string(PIPEKIT_SOURCE_DIR) + "/tests/data/cqlload/vectors.json");
    EXPECT_TRUE(f.good()) << "vectors.json missing";
    std::stringstream ss;
    ss << f.rdbuf();
    return json::parse(ss.str());
  }();
  return doc;
}

std::string unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

// The driver spells 0x0D "varchar" and wraps tuples/UDTs in frozen<>; a UDT
// is named without its keyspace.
std::string normalize(std::string t) {
  t = std::regex_replace(t, std::regex("varchar"), "text");
  t = std::regex_replace(t, std::regex("frozen<([^<>]*(<[^<>]*>)?[^<>]*)>"), "$1");
  return t;
}

std::string our_name(const Type& t) {
  std::string n = type_name(t);
  if (t.id == TypeId::udt) n = t.udt_name;
  return normalize(n);
}

std::string values_of(const json& list, uint16_t& count) {
  std::string v;
  count = 0;
  for (const auto& x : list) {
    ++count;
    if (x.is_null()) wire::null_bytes(v);
    else if (x == "unset") wire::unset_value(v);
    else wire::bytes(v, unhex(x.get<std::string>()));
  }
  return v;
}

TEST(CqlCodec, RequestsEqualTheDriversBytes) {
  ASSERT_GT(vectors()["requests"].size(), 10u);
  for (const auto& r : vectors()["requests"]) {
    std::string out;
    auto stream = r["stream"].get<int16_t>();
    std::string op = r["op"];
    if (op == "startup") {
      std::vector<std::pair<std::string, std::string>> opts;
      for (const auto& kv : r["options"]) opts.emplace_back(kv[0], kv[1]);
      encode_startup(out, stream, opts);
    } else if (op == "options") {
      encode_options(out, stream);
    } else if (op == "auth_response") {
      encode_auth_response(out, stream, plain_token(r["user"].get<std::string>(), r["password"].get<std::string>()));
    } else if (op == "register") {
      encode_register(out, stream, r["events"].get<std::vector<std::string>>());
    } else if (op == "prepare") {
      encode_prepare(out, stream, r["cql"].get<std::string>());
    } else if (op == "query") {
      uint16_t n;
      std::string v = values_of(r["values"], n);
      encode_query(out, stream, r["cql"].get<std::string>(), static_cast<Consistency>(r["consistency"].get<int>()), v,
                   n, r.value("page_size", -1));
    } else if (op == "execute") {
      uint16_t n;
      std::string v = values_of(r["values"], n);
      encode_execute(out, stream, unhex(r["id"]), static_cast<Consistency>(r["consistency"].get<int>()), v, n,
                     r["skip_metadata"].get<bool>());
    } else if (op == "batch") {
      std::vector<std::string> ids, vals;
      std::vector<BatchEntry> entries;
      std::vector<uint16_t> counts;
      for (const auto& e : r["entries"]) {
        uint16_t n;
        ids.push_back(unhex(e["id"]));
        vals.push_back(values_of(e["values"], n));
        counts.push_back(n);
      }
      for (size_t i = 0; i < ids.size(); ++i) entries.push_back({ids[i], vals[i], counts[i]});
      encode_batch(out, stream, static_cast<BatchType>(r["type"].get<int>()), entries,
                   static_cast<Consistency>(r["consistency"].get<int>()));
    } else {
      FAIL() << "unknown op " << op;
    }
    EXPECT_EQ(hex(out), r["hex"].get<std::string>()) << r["name"];
  }
}

TEST(CqlCodec, ErrorsDecodeAsTheDriverReadThem) {
  int n = 0;
  for (const auto& r : vectors()["responses"]) {
    if (r["opcode"] != 0) continue;
    ++n;
    auto e = decode_error(unhex(r["body"]));
    const auto& x = r["expect"];
    EXPECT_EQ(e.code, x["code"].get<int>()) << r["name"];
    EXPECT_EQ(e.message, x["message"].get<std::string>()) << r["name"];
    if (x.contains("write_type")) EXPECT_EQ(e.write_type, x["write_type"].get<std::string>()) << r["name"];
    if (x.contains("unprepared_id")) EXPECT_EQ(hex(e.unprepared_id), x["unprepared_id"].get<std::string>());
    if (x.contains("required")) {
      EXPECT_NE(e.detail.find(std::to_string(x["required"].get<int>()) + " replicas required"), std::string::npos)
          << e.detail;
      EXPECT_NE(e.detail.find(std::to_string(x["alive"].get<int>()) + " alive"), std::string::npos) << e.detail;
    }
    if (x.contains("block_for"))
      EXPECT_NE(e.detail.find(std::to_string(x["received"].get<int>()) + " of " +
                              std::to_string(x["block_for"].get<int>())),
                std::string::npos)
          << e.detail;
    // Every code has a name and a readable description.
    EXPECT_STRNE(error_code_name(e.code), "UNKNOWN_ERROR") << r["name"];
    EXPECT_NE(e.describe().find(e.message), std::string::npos);
  }
  EXPECT_GE(n, 14);
}

TEST(CqlCodec, TransientErrorsAreTheRetryableOnes) {
  ServerError e;
  // Cluster problems (Cassandra 4.1/5.0 codes, and codes unknown to us) are retried, never a record's fault.
  for (int32_t c : {errc::server, errc::overloaded, errc::write_timeout, errc::unavailable, errc::is_bootstrapping,
                    errc::truncate, errc::read_timeout, errc::read_failure, errc::write_failure,
                    errc::cdc_write_failure, errc::cas_write_unknown, int32_t{0x1800}}) {
    e.code = c;
    EXPECT_TRUE(e.transient()) << c;
  }
  for (int32_t c : {errc::invalid, errc::syntax, errc::unauthorized, errc::bad_credentials, errc::unprepared,
                    errc::protocol, errc::config, errc::already_exists, errc::function_failure}) {
    e.code = c;
    EXPECT_FALSE(e.transient()) << c;
  }
}

const json& response(const std::string& name) {
  for (const auto& r : vectors()["responses"])
    if (r["name"] == name) return r;
  throw std::runtime_error("no vector " + name);
}

void expect_columns(const std::vector<Column>& cols, const json& want, const std::string& name) {
  ASSERT_EQ(cols.size(), want.size()) << name;
  for (size_t i = 0; i < cols.size(); ++i) {
    EXPECT_EQ(cols[i].keyspace, want[i]["keyspace"].get<std::string>()) << name;
    EXPECT_EQ(cols[i].table, want[i]["table"].get<std::string>()) << name;
    EXPECT_EQ(cols[i].name, want[i]["name"].get<std::string>()) << name;
    EXPECT_EQ(our_name(cols[i].type), normalize(want[i]["type"])) << name << " column " << i;
  }
}

TEST(CqlCodec, ResultsDecodeAsTheDriverReadThem) {
  EXPECT_EQ(decode_result(unhex(response("result_void")["body"])).kind, ResultKind::void_);
  auto ks = decode_result(unhex(response("result_set_keyspace")["body"]));
  EXPECT_EQ(ks.kind, ResultKind::set_keyspace);
  EXPECT_EQ(ks.keyspace, response("result_set_keyspace")["expect"]["keyspace"].get<std::string>());

  for (const char* name : {"result_schema_change_keyspace", "result_schema_change_table", "result_schema_change_function"}) {
    const auto& r = response(name);
    auto res = decode_result(unhex(r["body"]));
    ASSERT_EQ(res.kind, ResultKind::schema_change) << name;
    EXPECT_EQ(res.change.change, r["expect"]["change"].get<std::string>());
    EXPECT_EQ(res.change.target, r["expect"]["target"].get<std::string>());
    EXPECT_EQ(res.change.keyspace, r["expect"]["keyspace"].get<std::string>());
    EXPECT_EQ(res.change.name, r["expect"]["name"].get<std::string>());
    EXPECT_EQ(res.change.arguments, r["expect"]["arguments"].get<std::vector<std::string>>());
  }

  for (const char* name : {"result_rows", "result_rows_per_column_spec"}) {
    const auto& r = response(name);
    auto res = decode_result(unhex(r["body"]));
    ASSERT_EQ(res.kind, ResultKind::rows);
    expect_columns(res.rows.meta.columns, r["expect"]["columns"], name);
    const auto& rows = r["expect"]["rows"];
    ASSERT_EQ(res.rows.rows.size(), rows.size());
    for (size_t i = 0; i < rows.size(); ++i)
      for (size_t c = 0; c < rows[i].size(); ++c) {
        if (rows[i][c].is_null()) EXPECT_FALSE(res.rows.rows[i][c].has_value());
        else EXPECT_EQ(hex(*res.rows.rows[i][c]), rows[i][c].get<std::string>());
      }
  }
  // Cells of result_rows as JSON, against what the driver made of them.
  auto rows = decode_result(unhex(response("result_rows")["body"])).rows;
  const auto& cols = rows.meta.columns;
  EXPECT_EQ(decode_to_json(cols[0].type, *rows.rows[0][0]), "\"alice\"");
  EXPECT_EQ(decode_to_json(cols[1].type, *rows.rows[0][1]), "42");
  EXPECT_EQ(decode_to_json(cols[2].type, *rows.rows[0][2]), "[\"-3\",\"77\"]");
  EXPECT_EQ(decode_to_json(cols[3].type, *rows.rows[0][3]), "{\"k\":-5}");
  EXPECT_EQ(decode_to_json(cols[4].type, *rows.rows[0][4]), "\"7a0eed16-9430-4d68-901f-c0d4c1c3bf00\"");
  EXPECT_EQ(decode_to_json(cols[5].type, *rows.rows[0][5]), "true");
  EXPECT_EQ(decode_to_json(cols[6].type, *rows.rows[0][6]), "[7,\"seven\"]");
  EXPECT_EQ(decode_to_json(cols[7].type, *rows.rows[0][7]), "{\"street\":\"Main St\",\"zip\":75001}");
  EXPECT_EQ(decode_to_json(cols[1].type, *rows.rows[1][1]), "-1");

  const auto& np = response("result_rows_no_metadata_paging");
  auto nm = decode_result(unhex(np["body"]));
  EXPECT_EQ(nm.rows.meta.columns.size(), 3u);
  ASSERT_TRUE(nm.rows.meta.paging_state);
  EXPECT_EQ(hex(*nm.rows.meta.paging_state), "cafe");

  const auto& p = response("result_prepared");
  auto prep = decode_result(unhex(p["body"]));
  ASSERT_EQ(prep.kind, ResultKind::prepared);
  EXPECT_EQ(hex(prep.prepared.id), p["expect"]["id"].get<std::string>());
  std::vector<int> pk(prep.prepared.bind.pk_indexes.begin(), prep.prepared.bind.pk_indexes.end());
  EXPECT_EQ(pk, p["expect"]["pk_indexes"].get<std::vector<int>>());
  expect_columns(prep.prepared.bind.columns, p["expect"]["bind"], "result_prepared");
  EXPECT_EQ(prep.prepared.result.columns.size(), p["expect"]["result_columns"].get<size_t>());
}

TEST(CqlCodec, OtherResponses) {
  EXPECT_EQ(decode_authenticate(unhex(response("authenticate")["body"])),
            response("authenticate")["expect"]["authenticator"].get<std::string>());
  auto sup = decode_supported(unhex(response("supported")["body"]));
  json got = json::object();
  for (auto& [k, v] : sup) got[k] = v;
  EXPECT_EQ(got, response("supported")["expect"]["options"]);
  EXPECT_FALSE(decode_auth_token(unhex(response("auth_success_null")["body"])).has_value());
}

TEST(CqlCodec, TruncatedResponsesAreProtocolErrorsNotCrashes) {
  for (const auto& r : vectors()["responses"]) {
    std::string body = unhex(r["body"]);
    if (body.size() < 2) continue;
    for (size_t cut : {body.size() / 2, body.size() - 1}) {
      std::string part = body.substr(0, cut);
      if (r["opcode"] == 0) EXPECT_THROW(decode_error(part), ProtocolError) << r["name"];
      if (r["opcode"] == 8) EXPECT_THROW(decode_result(part), ProtocolError) << r["name"] << " cut " << cut;
    }
  }
}

Type type_of(const std::string& h) {
  std::string b = unhex(h);
  Reader r(b);
  return read_type(r);
}

TEST(CqlTypes, ValuesFromJsonEqualTheDriversSerialization) {
  simdjson::dom::parser parser;
  int n = 0;
  for (const auto& v : vectors()["values"]) {
    Type t = type_of(v["type"]);
    // Type [option]s round-trip.
    std::string again;
    write_type(again, t);
    EXPECT_EQ(hex(again), v["type"].get<std::string>());
    EXPECT_EQ(our_name(t), normalize(v["type_name"])) << v["type_name"];
    std::string js = v["json"];
    simdjson::dom::element e;
    ASSERT_FALSE(parser.parse(js).get(e)) << js;
    std::string out;
    try {
      encode_value(out, t, e);
    } catch (const ValueError& err) {
      ADD_FAILURE() << type_name(t) << " " << js << ": " << err.what();
      continue;
    }
    std::string want = v["hex"];
    ASSERT_GE(out.size(), 4u);
    EXPECT_EQ(hex(out.substr(4)), want) << type_name(t) << " from " << js;
    Reader len(out);
    EXPECT_EQ(static_cast<size_t>(len.i32()), want.size() / 2);
    ++n;
  }
  EXPECT_GE(n, 50);
}

TEST(CqlTypes, ValuesThatDoNotFitAreRefusedWithAReason) {
  simdjson::dom::parser parser;
  for (const auto& v : vectors()["refused"]) {
    Type t = type_of(v["type"]);
    std::string js = v["json"];
    simdjson::dom::element e;
    ASSERT_FALSE(parser.parse(js).get(e));
    std::string out;
    try {
      encode_value(out, t, e);
      ADD_FAILURE() << type_name(t) << " accepted " << js;
    } catch (const ValueError& err) {
      EXPECT_EQ(std::string(err.what()).rfind("not a valid ", 0), 0u) << err.what();
    }
  }
}

TEST(CqlTypes, DecodeToJsonRoundTripsScalars) {
  simdjson::dom::parser parser;
  struct Case {
    TypeId id;
    const char* in;
    const char* out;
  } cases[] = {
      {TypeId::timestamp, "\"2024-05-01T12:00:00.5+02:00\"", "\"2024-05-01T10:00:00.500Z\""},
      {TypeId::date, "\"1900-03-01\"", "\"1900-03-01\""},
      {TypeId::varint, "\"-123456789012345678901234567890\"", "-123456789012345678901234567890"},
      {TypeId::decimal, "\"-0.001\"", "\"-0.001\""},
      {TypeId::inet, "\"2001:db8::1\"", "\"2001:db8::1\""},
      {TypeId::blob, "\"0xcafe\"", "\"yv4=\""},
      {TypeId::double_, "2.5", "2.5"},
  };
  for (const auto& c : cases) {
    Type t;
    t.id = c.id;
    simdjson::dom::element e;
    ASSERT_FALSE(parser.parse(std::string(c.in)).get(e));
    std::string out;
    encode_value(out, t, e);
    EXPECT_EQ(decode_to_json(t, std::string_view(out).substr(4)), c.out) << c.in;
  }
}

TEST(CqlTypes, Murmur3TokensEqualTheDrivers) {
  int n = 0;
  for (const auto& t : vectors()["tokens"]) {
    EXPECT_EQ(murmur3_token(unhex(t["key"])), t["token"].get<int64_t>()) << t["key"];
    ++n;
  }
  EXPECT_GE(n, 12);
  // A composite key is built as the driver does.
  std::string fr = "fr", seven = unhex("00000007");
  EXPECT_EQ(hex(routing_key({fr, seven})), "000266720000040000000700");
}

TEST(CqlProtocol, SkipMetadataSetsFlag0x02Only) {
  std::string with, without;
  encode_execute(with, 1, "id", Consistency::one, {}, 0, true);
  encode_execute(without, 1, "id", Consistency::one, {}, 0, false);
  ASSERT_EQ(with.size(), without.size());
  EXPECT_EQ(static_cast<uint8_t>(with.back()), 0x02);
  EXPECT_EQ(static_cast<uint8_t>(without.back()), 0x00);
}

TEST(CqlProtocol, ConsistencyNames) {
  EXPECT_EQ(parse_consistency("local_quorum"), Consistency::local_quorum);
  EXPECT_EQ(parse_consistency("LOCAL-ONE"), Consistency::local_one);
  EXPECT_EQ(parse_consistency("ALL"), Consistency::all);
  EXPECT_FALSE(parse_consistency("most").has_value());
  EXPECT_EQ(consistency_name(6), "LOCAL_QUORUM");
}

TEST(CqlProtocol, HeaderParsing) {
  const uint8_t h[9] = {0x84, 0x08, 0x7f, 0xff, 0x08, 0x00, 0x00, 0x01, 0x02};
  auto fh = parse_header(h);
  EXPECT_EQ(fh.version, 0x84);
  EXPECT_EQ(fh.flags, 0x08);
  EXPECT_EQ(fh.stream, 32767);
  EXPECT_EQ(fh.opcode, 0x08);
  EXPECT_EQ(fh.length, 258u);
}

}  // namespace

// Cassandra 5.0 types as protocol v4 announces them (custom classes); the
// expected bytes are the DataStax driver's DurationType.serialize and the
// vector bytes Cassandra 5.0.6 read back as [0.5, -1.25, 3.0].
TEST(CqlTypes, DurationAndVectorAsCassandraWritesThem) {
  simdjson::dom::parser parser;
  auto encode = [&](const std::string& cls, const std::string& js) {
    Type t;
    t.id = TypeId::custom;
    t.custom = "org.apache.cassandra.db.marshal." + cls;
    simdjson::dom::element e;
    EXPECT_FALSE(parser.parse(js).get(e)) << js;
    std::string out;
    encode_value(out, t, e);
    return hex(out.substr(4));
  };
  EXPECT_EQ(encode("DurationType", "\"1h30m\""), "0000fc09d29229e000");
  EXPECT_EQ(encode("DurationType", "\"P1Y2M3DT4H5M6S\""), "1c06fc1ac003cfe800");
  EXPECT_EQ(encode("DurationType", "\"-1mo2w3ms\""), "011be05b8d7f");
  EXPECT_EQ(encode("DurationType", "\"1mo\""), "020000");
  EXPECT_THROW(encode("DurationType", "\"soon\""), ValueError);
  EXPECT_THROW(encode("DurationType", "\"1x\""), ValueError);
  EXPECT_THROW(encode("DurationType", "\"99999999999999999999999h\""), ValueError);
  const std::string f3 = "VectorType(org.apache.cassandra.db.marshal.FloatType , 3)";
  EXPECT_EQ(encode(f3, "[0.5, -1.25, 3]"), "3f000000bfa0000040400000");
  EXPECT_THROW(encode(f3, "[1, 2]"), ValueError);
  EXPECT_THROW(encode(f3, "[1, \"a\", 3]"), ValueError);
  EXPECT_THROW(encode(f3, "\"1,2,3\""), ValueError);
  EXPECT_EQ(encode("VectorType(org.apache.cassandra.db.marshal.LongType, 1)", "[-1]"), "ffffffffffffffff");
  EXPECT_THROW(encode("VectorType(org.apache.cassandra.db.marshal.UTF8Type, 1)", "[1]"), ValueError);
}
