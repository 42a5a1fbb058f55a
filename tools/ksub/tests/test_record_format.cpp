// A record as ksub writes it: value, envelope, or --template.
#include <gtest/gtest.h>

#include <cstring>

#include "options.hpp"
#include "record_format.hpp"

using namespace pipekit::ksub;

namespace {

Record record(std::string_view payload, const char* key = "k1") {
  Record r;
  r.topic = "users";
  r.partition = 3;
  r.offset = 1042;
  r.timestamp = 1732147200123;
  r.key = key;
  r.key_len = key ? std::strlen(key) : 0;
  r.payload = payload.data();
  r.len = payload.size();
  return r;
}

std::string write(Settings::Output output, const Record& r, const std::string& format = "") {
  RecordFormatter f(output, format.empty() ? std::vector<FormatPiece>{} : parse_format(format));
  std::string out;
  f.append(out, r);
  return out;
}

}  // namespace

TEST(KsubRecordFormat, JsonValuesPassAsTheyArePrettyOnesAreMinified) {
  EXPECT_EQ(write(Settings::Output::value, record("{\"a\": 1}")), "{\"a\": 1}\n");
  EXPECT_EQ(write(Settings::Output::value, record("{\n  \"a\": [1, 2]\n}")), "{\"a\":[1,2]}\n");
  EXPECT_EQ(write(Settings::Output::value, record("42")), "42\n");
}

TEST(KsubRecordFormat, OtherPayloadsBecomeJsonStringsTombstonesNull) {
  EXPECT_EQ(write(Settings::Output::value, record("plain \"text\"")), "\"plain \\\"text\\\"\"\n");
  EXPECT_EQ(write(Settings::Output::value, record("\xff")), "\"\xef\xbf\xbd\"\n");  // U+FFFD
  Record tomb = record("");
  tomb.payload = nullptr;
  EXPECT_EQ(write(Settings::Output::value, tomb), "null\n");
  EXPECT_EQ(write(Settings::Output::value, record("")), "\"\"\n");
}

TEST(KsubRecordFormat, EnvelopeHasCoordinatesKeyHeadersAndValue) {
  Record r = record("{\"a\":1}");
  r.headers = {{"source", "ru-fetch"}};
  EXPECT_EQ(write(Settings::Output::envelope, r),
            "{\"topic\":\"users\",\"partition\":3,\"offset\":1042,\"timestamp\":1732147200123,\"key\":\"k1\","
            "\"headers\":{\"source\":\"ru-fetch\"},\"value\":{\"a\":1}}\n");
  Record nokey = record("x", nullptr);
  auto line = write(Settings::Output::envelope, nokey);
  EXPECT_NE(line.find("\"key\":null"), std::string::npos) << line;
  EXPECT_NE(line.find("\"value\":\"x\""), std::string::npos) << line;
}

TEST(KsubRecordFormat, FormatTokensAndNoNewlineAdded) {
  Record r = record("hello");
  r.headers = {{"a", "1"}, {"b", ""}};
  EXPECT_EQ(write(Settings::Output::format, r, "%t/%p@%o %k(%K) %s(%S) %T [%h] %%"),
            "users/3@1042 k1(2) hello(5) 1732147200123 [a=1,b=] %");
  Record none = record("", nullptr);
  none.payload = nullptr;
  EXPECT_EQ(write(Settings::Output::format, none, "%k|%K|%s|%S\\n"), "|-1||-1\n");
}

TEST(KsubRecordFormat, HeadersAreReadOnlyWhenWritten) {
  EXPECT_FALSE(RecordFormatter(Settings::Output::value, {}).wants_headers());
  EXPECT_TRUE(RecordFormatter(Settings::Output::envelope, {}).wants_headers());
  EXPECT_FALSE(RecordFormatter(Settings::Output::format, parse_format("%s")).wants_headers());
  EXPECT_TRUE(RecordFormatter(Settings::Output::format, parse_format("%s %h")).wants_headers());
}
