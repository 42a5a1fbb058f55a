// ksub's librdkafka consumer: the properties it sets, the topic checks, the
// errors it stops on, and the live consumer against an in-process cluster.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "kafka_consumer.hpp"
#include "mock_cluster.hpp"
#include "pipekit/errors.hpp"

using namespace pipekit;
using ksub::Settings;

namespace {

std::string prop(const kafka::Properties& props, const std::string& key) {
  for (const auto& [k, v] : props)
    if (k == key) return v;
  return "(unset)";
}

Settings group_settings() {
  Settings s;
  s.kafka.brokers = "127.0.0.1:1";
  s.topics = {"users"};
  s.group = "g";
  return s;
}

}  // namespace

TEST(KsubProperties, PrefetchQueueBoundedAndOverridable) {
  auto s = group_settings();
  auto props = ksub::consumer_properties(s, true);
  if (rd_kafka_version() >= 0x020400ff) {
    EXPECT_EQ(prop(props, "queued.max.messages.kbytes"), "4096");
    EXPECT_EQ(prop(props, "fetch.queue.backoff.ms"), "10");
  } else {
    EXPECT_EQ(prop(props, "fetch.queue.backoff.ms"), "(unset)");  // librdkafka 2.0 has no such property
  }
  s.kafka.properties = {"queued.max.messages.kbytes=65536"};
  EXPECT_EQ(prop(ksub::consumer_properties(s, true), "queued.max.messages.kbytes"), "65536");
}

TEST(KsubProperties, ConsumerGroupProtocolDropsClassicSessionSettings) {
  auto s = group_settings();
  s.kafka.properties = {"session.timeout.ms=6000", "heartbeat.interval.ms=1000"};
  auto classic = ksub::consumer_properties(s, true);
  EXPECT_EQ(prop(classic, "session.timeout.ms"), "6000");
  s.kafka.properties.push_back("group.protocol=consumer");
  auto kip848 = ksub::consumer_properties(s, true);
  EXPECT_EQ(prop(kip848, "session.timeout.ms"), "(unset)");
  EXPECT_EQ(prop(kip848, "heartbeat.interval.ms"), "(unset)");
  EXPECT_EQ(prop(kip848, "group.protocol"), "consumer");
}

TEST(KsubProperties, GuaranteesAreNotOverridable) {
  auto s = group_settings();
  s.kafka.properties = {"enable.auto.offset.store=true", "enable.partition.eof=false"};
  auto props = ksub::consumer_properties(s, true);
  EXPECT_EQ(prop(props, "enable.auto.offset.store"), "false");
  EXPECT_EQ(prop(props, "enable.partition.eof"), "true");
  EXPECT_EQ(prop(props, "group.id"), "g");
  EXPECT_EQ(prop(props, "enable.auto.commit"), "true");
  s.commit_acks = "/tmp/acks";  // commits only what was acknowledged, by hand
  EXPECT_EQ(prop(ksub::consumer_properties(s, true), "enable.auto.commit"), "false");
}

TEST(KsubProperties, NoGroupSetsNoGroupIdAndCommitsNothing) {
  auto s = group_settings();
  s.kafka.properties = {"group.id=from-x"};
  auto props = ksub::consumer_properties(s, false);
  EXPECT_EQ(prop(props, "group.id"), "(unset)");
  EXPECT_EQ(prop(props, "enable.auto.commit"), "false");
}

TEST(KsubProperties, GroupStartOverridesAutoOffsetReset) {
  auto s = group_settings();
  s.kafka.properties = {"auto.offset.reset=latest"};
  EXPECT_EQ(prop(ksub::consumer_properties(s, true), "auto.offset.reset"), "latest");  // -X kept
  s.auto_offset_reset = "earliest";  // -o beginning
  EXPECT_EQ(prop(ksub::consumer_properties(s, true), "auto.offset.reset"), "earliest");
  s.kafka.properties.clear();
  s.auto_offset_reset.clear();
  EXPECT_EQ(prop(ksub::consumer_properties(s, true), "auto.offset.reset"), "earliest");  // ksub's default
}

TEST(KsubProperties, RequestTimeoutFollowsSocketTimeoutWithinBounds) {
  EXPECT_EQ(ksub::request_timeout_ms({}), 10000);
  EXPECT_EQ(ksub::request_timeout_ms({{"socket.timeout.ms", "3000"}}), 3000);
  EXPECT_EQ(ksub::request_timeout_ms({{"socket.timeout.ms", "60000"}}), 10000);
  EXPECT_EQ(ksub::request_timeout_ms({{"socket.timeout.ms", "5"}}), 100);
  EXPECT_EQ(ksub::request_timeout_ms({{"socket.timeout.ms", "soon"}}), 10000);
}

TEST(KsubTopics, RegexesAreNotChecked) {
  EXPECT_EQ(ksub::named_topics({"users", "^ord.*", "x"}), (std::vector<std::string>{"users", "x"}));
}

TEST(KsubTopics, MissingOrFailingTopicsAreSaid) {
  rd_kafka_metadata_topic_t topics[3] = {};
  topics[0].topic = const_cast<char*>("users");
  topics[1].topic = const_cast<char*>("gone");
  topics[1].err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
  topics[2].topic = const_cast<char*>("locked");
  topics[2].err = RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
  rd_kafka_metadata_t md = {};
  md.topic_cnt = 3;
  md.topics = topics;
  EXPECT_NO_THROW(ksub::check_topics(md, {"users"}));
  EXPECT_THROW(ksub::check_topics(md, {"users", "gone"}), UsageError);
  EXPECT_THROW(ksub::check_topics(md, {"nowhere"}), UsageError);
  EXPECT_THROW(ksub::check_topics(md, {"locked"}), ServiceError);
}

TEST(KsubErrors, UnknownTopicsAndRefusalsStopTheRunOthersAreLogged) {
  rd_kafka_message_t m = {};
  m.err = RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
  EXPECT_THROW(ksub::throw_if_fatal(m), UsageError);
  m.err = RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
  EXPECT_THROW(ksub::throw_if_fatal(m), UsageError);
  m.err = RD_KAFKA_RESP_ERR__FATAL;
  EXPECT_THROW(ksub::throw_if_fatal(m), ServiceError);
  m.err = RD_KAFKA_RESP_ERR__TRANSPORT;
  EXPECT_NO_THROW(ksub::throw_if_fatal(m));
}

TEST(KsubKafkaConsumer, ReadsPartitionsPickedByHandAndPausesThem) {
  ksub_test::MockCluster cluster;
  cluster.create_topic("users", 2);
  cluster.produce("users", 1, 5);
  Settings s;
  s.kafka.brokers = cluster.bootstrap();
  s.topics = {"users"};
  ksub::KafkaConsumer kc(ksub::consumer_properties(s, false), false);
  EXPECT_THROW(kc.check_topics({"users", "nowhere"}), UsageError);
  auto md = kc.check_topics({"users"});
  ASSERT_EQ(md->topic_cnt, 1);
  auto list = ksub::to_list({{"users", 1, 2}});
  kc.start(list.get());
  std::vector<int64_t> offsets;
  bool eof = false;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       !eof && std::chrono::steady_clock::now() < deadline;) {
    rd_kafka_message_t* m = kc.next(100);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) eof = true;
    else if (!m->err) offsets.push_back(m->offset);
    rd_kafka_message_destroy(m);
  }
  EXPECT_TRUE(eof);
  EXPECT_EQ(offsets, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_TRUE(kc.set_paused(true));
  EXPECT_TRUE(kc.set_paused(false));
  kc.close();
}
