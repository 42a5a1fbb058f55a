// kpub's per-line logic: JSON check, keys, envelopes, -H parsing, the exit
// class of delivery errors and the --failed line.
#include <gtest/gtest.h>
#include <simdjson.h>

#include "pipekit/errors.hpp"
#include "message.hpp"

using namespace pipekit;
using namespace pipekit::kpub;

namespace {

// Lines as the LineReader hands them out: followed by padding bytes.
struct Padded {
  explicit Padded(std::string_view line) : buf(line), len(line.size()) { buf.append(64, '\0'); }
  std::string_view view() const { return {buf.data(), len}; }
  std::string buf;
  size_t len;
};

struct Built {
  bool ok;
  Message msg;
  std::string reason;
  RejectCode code = RejectCode::missing_field;
};

// The builder's config plus the intake's --envelope, as kpub's run() has them.
struct Config : BuilderConfig {
  bool envelope = false;
};

// A line through the intake's parser, then the builder: what kpub's run() does.
struct Builder {
  explicit Builder(const Config& c) : builder(c), intake{.envelope = c.envelope}, parser(intake, rules) {}
  bool line_was_json() const { return was_json; }
  MessageBuilder builder;
  IntakeOptions intake;
  IntakeRules rules{.copy_envelope_value = true};
  RecordParser parser;
  Record record;
  bool was_json = false;
};

Built build(Builder& b, const Padded& p) {
  Built r;
  Line line;
  line.text = p.view();
  line.length = p.len;
  line.number = 1;
  if (auto refusal = b.parser.parse(line, b.record)) {
    r.ok = false;
    r.reason = refusal->reason;
    r.code = refusal->code;
    b.was_json = refusal->line_is_json;
    return r;
  }
  b.was_json = true;
  r.ok = b.builder.build(b.record, r.msg, r.reason, r.code);
  return r;
}

}  // namespace

TEST(KpubBuilder, PublishesValidJsonByteForByte) {
  Builder b(Config{});
  Padded p(R"({"a": 1,  "b":[true]})");
  auto r = build(b, p);
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.msg.value, p.view());
  EXPECT_TRUE(r.msg.value_is_json);
  EXPECT_FALSE(r.msg.has_key);
  EXPECT_EQ(r.msg.headers, nullptr);
}

TEST(KpubBuilder, RejectsInvalidJsonWithReason) {
  Builder b(Config{});
  for (const char* bad : {"not json", "{\"a\":1", "{\"a\":1} {\"b\":2}", "[1,]", "\"\xff\xfe\""}) {
    Padded p(bad);
    auto r = build(b, p);
    EXPECT_FALSE(r.ok) << bad;
    EXPECT_EQ(r.reason.rfind("invalid JSON at byte ", 0), 0u) << r.reason;
    EXPECT_FALSE(b.line_was_json());
  }
}

TEST(KpubBuilder, ScalarsAndStringsAreJsonToo) {
  Builder b(Config{});
  auto r = build(b, Padded("42"));
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.msg.value_is_json);
  r = build(b, Padded(R"("a string")"));
  ASSERT_TRUE(r.ok);
  EXPECT_FALSE(r.msg.value_is_json);  // --failed keeps it as a payload string
}

TEST(KpubBuilder, KeyFromDottedPathAndPointer) {
  for (const char* path : {"login.uuid", "/login/uuid"}) {
    Config c;
    c.key_path = path;
    Builder b(c);
    auto r = build(b, Padded(R"({"login":{"uuid":"7a0e-11"},"n":1})"));
    ASSERT_TRUE(r.ok) << r.reason;
    EXPECT_TRUE(r.msg.has_key);
    EXPECT_EQ(r.msg.key, "7a0e-11");
  }
}

TEST(KpubBuilder, KeyOfOtherTypesAsWritten) {
  Config c;
  c.key_path = "k";
  Builder b(c);
  auto r = build(b, Padded(R"({"k":12345678901})"));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.msg.key, "12345678901");
  r = build(b, Padded(R"({"k":false})"));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.msg.key, "false");
  r = build(b, Padded(R"({"k":{"b": [1, 2]}})"));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.msg.key, R"({"b":[1,2]})");
  c.key_path = "a.1";
  Builder arr(c);
  r = build(arr, Padded(R"({"a":["x","y"]})"));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.msg.key, "y");
}

TEST(KpubBuilder, MissingOrNullKeyIsARejectOfAJsonLine) {
  Config c;
  c.key_path = "login.uuid";
  Builder b(c);
  auto r = build(b, Padded(R"({"login":{}})"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "key field 'login.uuid' is missing");
  EXPECT_TRUE(b.line_was_json());
  r = build(b, Padded(R"({"login":{"uuid":null}})"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "key field 'login.uuid' is null");
  r = build(b, Padded(R"([1,2])"));
  EXPECT_FALSE(r.ok);
}

TEST(KpubBuilder, FixedKey) {
  Config c;
  c.key_fixed = "tenant";
  Builder b(c);
  auto r = build(b, Padded("{}"));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.msg.key, "tenant");
}

TEST(KpubBuilder, BadKeyPathIsAUsageError) {
  Config c;
  c.key_path = "";
  EXPECT_THROW(MessageBuilder{c}, UsageError);
}

TEST(KpubEnvelope, PipekitEnvelopeValueKeyHeaders) {
  Config c;
  c.envelope = true;
  Builder b(c);
  auto r = build(b, Padded(R"({"topic":"users","partition":3,"offset":9,"timestamp":1700000000000,)"
                           R"("key":"k1","headers":{"source":"ru-fetch","n":"2"},"value":{"a": [1, 2]}})"));
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.msg.value, R"({"a":[1,2]})");
  EXPECT_TRUE(r.msg.value_is_json);
  EXPECT_EQ(r.msg.key, "k1");
  ASSERT_NE(r.msg.headers, nullptr);
  ASSERT_EQ(r.msg.headers->size(), 2u);
  EXPECT_EQ((*r.msg.headers)[0], (std::pair<std::string, std::string>{"source", "ru-fetch"}));
  // coordinates are ignored unless asked for
  EXPECT_TRUE(r.msg.topic.empty());
  EXPECT_EQ(r.msg.partition, -1);
  EXPECT_EQ(r.msg.timestamp, 0);
}

TEST(KpubEnvelope, KeepCoordinates) {
  Config c;
  c.envelope = c.keep_topic = c.keep_partition = c.keep_timestamp = true;
  Builder b(c);
  auto r = build(b, Padded(R"({"topic":"users","partition":3,"offset":9,"timestamp":1700000000000,"value":1})"));
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.msg.topic, "users");
  EXPECT_EQ(r.msg.partition, 3);
  EXPECT_EQ(r.msg.timestamp, 1700000000000);
  r = build(b, Padded(R"({"value":1})"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "--keep-topic: the envelope has no topic");
}

TEST(KpubEnvelope, KcatPayloadIsPublishedByteForByte) {
  Config c;
  c.envelope = true;
  Builder b(c);
  auto r = build(b, Padded(R"({"topic":"t","partition":0,"offset":1,"tstype":"create","ts":1,)"
                           R"("broker":1,"headers":["h","v"],"key":null,"payload":"{\"a\": 1 }"})"));
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.msg.value, "{\"a\": 1 }");  // not minified
  EXPECT_FALSE(r.msg.has_key);
  ASSERT_EQ(r.msg.headers->size(), 1u);
}

TEST(KpubEnvelope, StringValueIsTextNullIsTombstone) {
  Config c;
  c.envelope = true;
  Builder b(c);
  auto r = build(b, Padded(R"({"value":"plain \"text\""})"));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.msg.value, "plain \"text\"");
  EXPECT_FALSE(r.msg.value_is_json);
  r = build(b, Padded(R"({"key":"k","value":null})"));
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.msg.null_value);
}

TEST(KpubEnvelope, KeyPathLooksIntoTheValueOrTheKcatPayload) {
  Config c;
  c.envelope = true;
  c.key_path = "id";
  Builder b(c);
  auto r = build(b, Padded(R"({"key":"old","value":{"id":"new"}})"));
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.msg.key, "new");
  r = build(b, Padded(R"({"key":"old","payload":"{\"id\":7}"})"));
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.msg.key, "7");
  r = build(b, Padded(R"({"payload":"not json"})"));
  EXPECT_FALSE(r.ok);
}

TEST(KpubEnvelope, NotAnEnvelope) {
  Config c;
  c.envelope = true;
  Builder b(c);
  for (const char* line : {R"([1])", R"({"key":"k"})", R"({"value":1,"partition":"x"})"}) {
    auto r = build(b, Padded(line));
    EXPECT_FALSE(r.ok) << line;
    EXPECT_EQ(r.reason.rfind("not an envelope: ", 0), 0u) << r.reason;
    EXPECT_TRUE(b.line_was_json());
  }
}

TEST(KpubHeaders, NameEqualsValue) {
  auto h = parse_header_flags({"a=1", "b=x=y", "c="});
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[1], (std::pair<std::string, std::string>{"b", "x=y"}));
  EXPECT_EQ(h[2].second, "");
  EXPECT_THROW(parse_header_flags({"novalue"}), UsageError);
  EXPECT_THROW(parse_header_flags({"=v"}), UsageError);
}

TEST(KpubFailure, Classes) {
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT), FailureClass::service);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR__TRANSPORT), FailureClass::service);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR__FATAL), FailureClass::service);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION), FailureClass::config);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED), FailureClass::config);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE), FailureClass::record);
}

TEST(KpubFailure, FailedLineIsAnEnvelopeKpubReadsBack) {
  std::string_view key = "k\"1";
  std::string_view value = R"({"a":1})";
  std::string out;
  append_failed(out, FailedRecord{12, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, "users", -1, &key,
                                  {{"source", "x"}}, &value, true});
  EXPECT_EQ(out, R"({"error":"Local: Message timed out","error_code":"_MSG_TIMED_OUT","line":12,"topic":"users",)"
                 R"("key":"k\"1","headers":{"source":"x"},"value":{"a":1}})");
  // ...and kpub --envelope takes it back with the same value, key and header
  Config c;
  c.envelope = true;
  Builder b(c);
  auto r = build(b, Padded(out));
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.msg.value, value);
  EXPECT_EQ(r.msg.key, key);
  EXPECT_EQ(r.msg.headers->at(0).second, "x");
}

TEST(KpubFailure, NonJsonValueKeptAsPayloadString) {
  std::string_view value = "\"quoted\" text";
  std::string out;
  append_failed(out, FailedRecord{1, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, "t", 2, nullptr, {}, &value, false});
  EXPECT_NE(out.find(R"("partition":2,"key":null,"headers":{},"payload":"\"quoted\" text"})"), std::string::npos)
      << out;
  Config c;
  c.envelope = true;
  Builder b(c);
  auto r = build(b, Padded(out));
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.msg.value, value);
  out.clear();
  append_failed(out, FailedRecord{1, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, "t", -1, nullptr, {}, nullptr, false});
  EXPECT_NE(out.find(R"("value":null)"), std::string::npos);
}
