// ksub's -o and --format parsing, and the Kafka properties it sets.
#include <gtest/gtest.h>

#include "pipekit/errors.hpp"
#include "engine.hpp"
#include "internal.hpp"

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
std::string prop(const kafka::Properties& props, const std::string& key) {
  for (const auto& [k, v] : props)
    if (k == key) return v;
  return "(unset)";
}
}  // namespace

TEST(KsubProperties, PrefetchQueueBoundedAndOverridable) {
  ksub::Options o;
  o.kafka.brokers = "127.0.0.1:1";
  o.group = "g";
  auto props = ksub::detail::consumer_properties(o, true);
  if (rd_kafka_version() >= 0x020400ff) {
    EXPECT_EQ(prop(props, "queued.max.messages.kbytes"), "4096");
    EXPECT_EQ(prop(props, "fetch.queue.backoff.ms"), "10");
  } else {
    EXPECT_EQ(prop(props, "fetch.queue.backoff.ms"), "(unset)");  // librdkafka 2.0 has no such property
  }
  o.kafka.properties = {"queued.max.messages.kbytes=65536"};
  EXPECT_EQ(prop(ksub::detail::consumer_properties(o, true), "queued.max.messages.kbytes"), "65536");
}

TEST(KsubProperties, ConsumerGroupProtocolDropsClassicSessionSettings) {
  ksub::Options o;
  o.kafka.brokers = "127.0.0.1:1";
  o.group = "g";
  o.kafka.properties = {"session.timeout.ms=6000", "heartbeat.interval.ms=1000"};
  auto classic = ksub::detail::consumer_properties(o, true);
  EXPECT_EQ(prop(classic, "session.timeout.ms"), "6000");
  o.kafka.properties.push_back("group.protocol=consumer");
  auto kip848 = ksub::detail::consumer_properties(o, true);
  EXPECT_EQ(prop(kip848, "session.timeout.ms"), "(unset)");
  EXPECT_EQ(prop(kip848, "heartbeat.interval.ms"), "(unset)");
  EXPECT_EQ(prop(kip848, "group.protocol"), "consumer");
}
