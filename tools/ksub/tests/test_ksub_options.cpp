// ksub's options: -o and --template parsing, and validate(), the one place
// that checks them and types them for the engine.
#include <gtest/gtest.h>

#include "options.hpp"
#include "pipekit/errors.hpp"

using namespace pipekit;
using ksub::StartOffset;

TEST(KsubOffset, Names) {
  EXPECT_EQ(ksub::parse_offset("beginning").kind, StartOffset::beginning);
  EXPECT_EQ(ksub::parse_offset("end").kind, StartOffset::end);
  EXPECT_EQ(ksub::parse_offset("stored").kind, StartOffset::stored);
}

TEST(KsubOffset, NumbersTailAndTimestamps) {
  auto a = ksub::parse_offset("1042");
  EXPECT_EQ(a.kind, StartOffset::absolute);
  EXPECT_EQ(a.value, 1042);
  auto t = ksub::parse_offset("-10");
  EXPECT_EQ(t.kind, StartOffset::tail);
  EXPECT_EQ(t.value, 10);
  auto ts = ksub::parse_offset("@1732147200123");
  EXPECT_EQ(ts.kind, StartOffset::timestamp);
  EXPECT_EQ(ts.value, 1732147200123);
}

TEST(KsubOffset, BadSpecsAreUsageErrors) {
  for (const char* bad : {"", "start", "-", "@", "12x", "-x", "@yesterday", "99999999999999999999999"})
    EXPECT_THROW(ksub::parse_offset(bad), UsageError) << bad;
}

TEST(KsubFormat, TokensLiteralsAndEscapes) {
  auto f = ksub::parse_format("%t:%p %%\\n%s\\t|\\x");
  ASSERT_EQ(f.size(), 6u);
  EXPECT_EQ(f[0].token, 't');
  EXPECT_EQ(f[1].literal, ":");
  EXPECT_EQ(f[2].token, 'p');
  EXPECT_EQ(f[3].literal, " %\n");
  EXPECT_EQ(f[4].token, 's');
  EXPECT_EQ(f[5].literal, "\t|\\x");
}

TEST(KsubFormat, UnknownTokenOrLonePercent) {
  EXPECT_THROW(ksub::parse_format("%q"), UsageError);
  EXPECT_THROW(ksub::parse_format("abc%"), UsageError);
  EXPECT_NO_THROW(ksub::parse_format("%k%K%s%S%T%h%o"));
}

namespace {
ksub::Options topic(std::string group = "") {
  ksub::Options o;
  o.topics = {"users"};
  o.group = std::move(group);
  return o;
}
void expect_usage(const ksub::Options& o, const std::string& message) {
  try {
    ksub::validate(o);
    ADD_FAILURE() << "no error, expected: " << message;
  } catch (const UsageError& e) {
    EXPECT_EQ(e.what(), message);
  }
}
}  // namespace

TEST(KsubValidate, DefaultsAreTyped) {
  auto s = ksub::validate(topic());
  EXPECT_EQ(s.action, ksub::Settings::Action::consume);
  EXPECT_EQ(s.topics, std::vector<std::string>{"users"});
  EXPECT_FALSE(s.grouped());
  EXPECT_FALSE(s.acks());
  EXPECT_EQ(s.start.kind, StartOffset::beginning);
  EXPECT_FALSE(s.since_ms);
  EXPECT_EQ(s.output, ksub::Settings::Output::value);
  EXPECT_EQ(s.idle_ms, 0);
  EXPECT_EQ(s.ack_timeout_ms, 30000);
  EXPECT_EQ(s.empty_exit, -1);
  EXPECT_TRUE(s.auto_offset_reset.empty());
}

TEST(KsubValidate, EverythingParsedOnce) {
  auto o = topic();
  o.offset = "-10";
  o.partitions = {0, 2};
  o.format = "%k=%s\\n";
  o.idle_timeout = "2s";
  o.ack_timeout = "1m";
  o.exit_at_end = true;
  o.count = 7;
  o.empty_exit = 99;
  auto s = ksub::validate(o);
  EXPECT_EQ(s.start.kind, StartOffset::tail);
  EXPECT_EQ(s.start.value, 10);
  EXPECT_EQ(s.partitions, (std::vector<int32_t>{0, 2}));
  EXPECT_EQ(s.output, ksub::Settings::Output::format);
  ASSERT_EQ(s.format.size(), 4u);
  EXPECT_EQ(s.idle_ms, 2000);
  EXPECT_EQ(s.ack_timeout_ms, 60000);
  EXPECT_EQ(s.ack_timeout, "1m");
  EXPECT_TRUE(s.exit_at_end);
  EXPECT_EQ(s.count, 7u);
  EXPECT_EQ(s.empty_exit, 99);
}

TEST(KsubValidate, SinceIsADurationNotAnOffset) {
  auto o = topic();
  o.since = "10m";
  auto s = ksub::validate(o);
  ASSERT_TRUE(s.since_ms);
  EXPECT_EQ(*s.since_ms, 600000);
}

TEST(KsubValidate, GroupStartIsAutoOffsetReset) {
  auto o = topic("g");
  o.offset = "end";
  EXPECT_EQ(ksub::validate(o).auto_offset_reset, "latest");
  o.offset = "beginning";
  EXPECT_EQ(ksub::validate(o).auto_offset_reset, "earliest");
  o.offset = "stored";
  EXPECT_TRUE(ksub::validate(o).auto_offset_reset.empty());
  o.envelope = true;
  o.commit_acks = "/tmp/acks";
  auto s = ksub::validate(o);
  EXPECT_TRUE(s.grouped());
  EXPECT_TRUE(s.acks());
  EXPECT_EQ(s.output, ksub::Settings::Output::envelope);
}

TEST(KsubValidate, ListAndOffsetsCheckNothingElse) {
  ksub::Options o;
  o.list = true;
  o.json = true;
  o.offset = "nonsense";
  auto s = ksub::validate(o);
  EXPECT_EQ(s.action, ksub::Settings::Action::list);
  EXPECT_TRUE(s.json);
  o.list = false;
  o.offsets = true;
  o.group = "g";
  EXPECT_EQ(ksub::validate(o).action, ksub::Settings::Action::offsets);
  o.list = true;
  expect_usage(o, "--list and --offsets do not go together");
}

TEST(KsubValidate, EachRuleSaysWhatIsWrong) {
  ksub::Options none;
  expect_usage(none, "no topic: give one with -t/--topic");
  auto o = topic();
  o.json = true;
  expect_usage(o, "--json goes with --list or --offsets");
  o = topic();
  o.topics = {"^us.*"};
  expect_usage(o, "-t ^us.*: a topic regex needs a consumer group (-G)");
  o.group = "g";
  o.topics = {"^(us"};
  expect_usage(o, "-t ^(us: not a valid regular expression");
  o = topic("g");
  o.partitions = {1};
  expect_usage(o, "-p picks partitions by hand: it does not go with -G");
  o = topic();
  o.partitions = {-1};
  expect_usage(o, "-p: a partition is a number >= 0");
  o = topic("g");
  o.offset = "5";
  expect_usage(o, "with -G, -o is beginning, end or stored: where to start when the group has no committed offset");
  o = topic();
  o.offset = "stored";
  expect_usage(o, "-o stored needs a consumer group (-G)");
  o = topic();
  o.offset = "end";
  o.since = "1h";
  expect_usage(o, "--since and -o do not go together");
  o = topic("g");
  o.since = "1h";
  expect_usage(o, "--since does not go with -G (the group's committed offsets decide)");
  o = topic();
  o.format = "%s";
  o.envelope = true;
  expect_usage(o, "--template and --envelope do not go together");
  o = topic();
  o.commit_acks = "/tmp/acks";
  expect_usage(o, "--commit-acks needs a consumer group (-G)");
  o.group = "g";
  expect_usage(o, "--commit-acks needs --envelope (downstream acks by topic, partition, offset)");
}

TEST(KsubValidate, BadDurationsAndFormatsAreUsageErrors) {
  auto o = topic();
  o.idle_timeout = "soon";
  EXPECT_THROW(ksub::validate(o), UsageError);
  o = topic();
  o.ack_timeout = "x";
  EXPECT_THROW(ksub::validate(o), UsageError);
  o = topic();
  o.since = "-";
  EXPECT_THROW(ksub::validate(o), UsageError);
  o = topic();
  o.format = "%q";
  EXPECT_THROW(ksub::validate(o), UsageError);
}
