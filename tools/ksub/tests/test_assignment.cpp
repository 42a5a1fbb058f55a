// The partitions ksub reads and what happens when they change, against an
// in-process Kafka cluster (librdkafka's mock cluster, as kmock serves it).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>

#include "assignment.hpp"
#include "mock_cluster.hpp"

using namespace pipekit::ksub;

namespace {

// What the consumer does with written lines: store their positions.
struct StoreWritten : OutputStage::Hooks {
  KafkaConsumer* kc = nullptr;
  CommitPolicy* policy = nullptr;
  void handed_over(const std::vector<Written>& r) override { policy->handed_over(r); }
  void written(const OutputPump::Batch& b) override { kc->store(policy->written(b.records)); }
  void dropped(const OutputPump::Batch&) override {}
  bool pause_reading(bool pause) override { return kc->set_paused(pause); }
  void poll_paused() override {}
};

struct Member {
  Settings s;
  PartitionEnds ends;
  CommitPolicy policy{false};
  StoreWritten hooks;
  int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  OutputStage out{devnull, RecordFormatter(Settings::Output::value, {}), hooks};
  std::unique_ptr<KafkaConsumer> kc;
  std::unique_ptr<Assignment> assignment;

  explicit Member(Settings settings) : s(std::move(settings)) {
    kc = std::make_unique<KafkaConsumer>(consumer_properties(s, s.grouped()), s.grouped());
    hooks.kc = kc.get();
    hooks.policy = &policy;
    assignment = std::make_unique<Assignment>(s, *kc, ends, policy, out, [] {});
    kc->set_listener(assignment.get());
    auto md = kc->check_topics(s.topics);
    assignment->start(*md);
  }
  ~Member() {
    kc->set_listener(nullptr);
    kc.reset();
    ::close(devnull);
  }
  // Reads (and writes) until every partition is at its end; the offsets read.
  std::vector<int64_t> read_to_end() {
    std::vector<int64_t> offsets;
    Record r;
    for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
         !ends.all_at_end() && std::chrono::steady_clock::now() < deadline;) {
      rd_kafka_message_t* m = kc->next(100);
      if (!m) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        ends.reached_eof(rd_kafka_topic_name(m->rkt), m->partition);
      } else if (!m->err) {
        read_record(m, false, r);
        out.append(r);
        ends.record(r.topic, r.partition, r.offset);
        offsets.push_back(m->offset);
      }
      rd_kafka_message_destroy(m);
    }
    out.drain(false);
    return offsets;
  }
};

Settings settings(const ksub_test::MockCluster& cluster) {
  Settings s;
  s.kafka.brokers = cluster.bootstrap();
  s.topics = {"users"};
  s.exit_at_end = true;
  return s;
}

int64_t committed(const ksub_test::MockCluster& cluster, const std::string& group, int32_t partition) {
  Settings s = settings(cluster);
  s.group = group;
  KafkaConsumer kc(consumer_properties(s, true), true);
  auto list = to_list({{"users", partition}});
  EXPECT_EQ(rd_kafka_committed(kc.rk(), list.get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  return list->elems[0].offset;
}

}  // namespace

TEST(KsubAssignment, WithoutAGroupStartsThePickedPartitionsWhereAsked) {
  ksub_test::MockCluster cluster;
  cluster.create_topic("users", 2);
  cluster.produce("users", 0, 4);
  cluster.produce("users", 1, 2);
  Settings s = settings(cluster);
  s.partitions = {0};
  s.start = {StartOffset::absolute, 1};
  Member member(s);
  EXPECT_EQ(member.ends.size(), 1u);  // measured before reading
  EXPECT_EQ(member.read_to_end(), (std::vector<int64_t>{1, 2, 3}));
}

TEST(KsubAssignment, AGroupMemberIsAssignedMeasuresEndsAndCommitsWhatWasWrittenOnRevoke) {
  ksub_test::MockCluster cluster;
  cluster.create_topic("users", 2);
  cluster.produce("users", 0, 3);
  cluster.produce("users", 1, 2);
  Settings s = settings(cluster);
  s.group = "loaders";
  {
    Member member(s);
    EXPECT_EQ(member.read_to_end().size(), 5u);
    EXPECT_EQ(member.ends.size(), 2u);
    member.kc->close();  // revokes: the written positions are committed
    // Closed, librdkafka no longer names a protocol (a revoke while closing
    // once asked after the unassign, and crashed on its null).
    EXPECT_FALSE(member.kc->cooperative());
  }
  EXPECT_EQ(committed(cluster, "loaders", 0), 3);
  EXPECT_EQ(committed(cluster, "loaders", 1), 2);
}
