// ksub's output: batches handed over and settled once written, and the
// backpressure of a slow stdout (wait, then pause reading, then resume).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <thread>

#include "output_stage.hpp"

using namespace pipekit::ksub;
using namespace std::chrono_literals;

namespace {

struct Hooks : OutputStage::Hooks {
  std::vector<Written> handed, written_records, dropped_records;
  std::vector<bool> pauses;
  int polls = 0;
  void handed_over(const std::vector<Written>& r) override { handed.insert(handed.end(), r.begin(), r.end()); }
  void written(const OutputPump::Batch& b) override {
    written_records.insert(written_records.end(), b.records.begin(), b.records.end());
  }
  void dropped(const OutputPump::Batch& b) override {
    dropped_records.insert(dropped_records.end(), b.records.begin(), b.records.end());
  }
  bool pause_reading(bool pause) override {
    pauses.push_back(pause);
    return true;
  }
  void poll_paused() override {
    ++polls;
    std::this_thread::sleep_for(10ms);
  }
};

struct Pipe {
  int fd[2];
  explicit Pipe(int size = 0) {
    EXPECT_EQ(::pipe(fd), 0);
    if (size) ::fcntl(fd[1], F_SETPIPE_SZ, size);
  }
  ~Pipe() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
  std::string read_available() {
    ::fcntl(fd[0], F_SETFL, O_NONBLOCK);
    std::string out;
    char buf[65536];
    for (ssize_t n; (n = ::read(fd[0], buf, sizeof buf)) > 0;) out.append(buf, n);
    return out;
  }
};

Record record(int64_t offset, std::string_view payload) {
  Record r;
  r.topic = "users";
  r.offset = offset;
  r.payload = payload.data();
  r.len = payload.size();
  return r;
}

RecordFormatter values() { return RecordFormatter(pipekit::ksub::Settings::Output::value, {}); }

}  // namespace

TEST(KsubOutputStage, LinesAreHandedOverThenSettledOnceWritten) {
  Pipe p;
  Hooks hooks;
  OutputStage out(p.fd[1], values(), hooks);
  EXPECT_TRUE(out.batch_empty());
  out.append(record(0, "{\"a\":1}"));
  out.append(record(1, "x"));
  out.append_position({"users", 0, 5, false});
  EXPECT_FALSE(out.batch_empty());
  EXPECT_TRUE(hooks.handed.empty());  // not before the flush
  out.flush();
  EXPECT_EQ(hooks.handed.size(), 3u);
  out.drain(false);
  EXPECT_EQ(p.read_available(), "{\"a\":1}\n\"x\"\n");
  ASSERT_EQ(hooks.written_records.size(), 3u);
  EXPECT_EQ(hooks.written_records[1].offset, 1);
  EXPECT_FALSE(hooks.written_records[2].record);
  EXPECT_TRUE(hooks.dropped_records.empty());
  EXPECT_NO_THROW(out.throw_if_failed());
}

TEST(KsubOutputStage, AReaderThatGoesAwayDropsTheRestAndIsSaid) {
  std::signal(SIGPIPE, SIG_IGN);
  Pipe p;
  ::close(p.fd[0]);
  p.fd[0] = -1;
  Hooks hooks;
  OutputStage out(p.fd[1], values(), hooks);
  out.append(record(7, "1"));
  out.flush();
  out.drain(false);
  EXPECT_TRUE(out.pipe_closed());
  ASSERT_EQ(hooks.dropped_records.size(), 1u);
  EXPECT_EQ(hooks.dropped_records[0].offset, 7);
  out.append(record(8, "2"));
  out.flush();  // nothing more is handed over
  EXPECT_EQ(hooks.handed.size(), 1u);
}

TEST(KsubOutputStage, ASlowStdoutPausesReadingThenResumesIt) {
  Pipe p(4096);
  Hooks hooks;
  OutputLimits limits;
  limits.batch_bytes = 1024;
  limits.max_pending = 16 * 1024;
  limits.wait_for_progress = 20ms;
  limits.wait_before_pause = 100ms;
  OutputStage out(p.fd[1], values(), hooks, limits);
  const std::string payload(1000, '7');
  for (int i = 0; i < 64; ++i) {
    out.append(record(i, payload));
    if (out.batch_full()) {
      out.flush();
      out.pace();
    }
  }
  EXPECT_TRUE(out.paused());
  ASSERT_FALSE(hooks.pauses.empty());
  EXPECT_TRUE(hooks.pauses.front());
  // The reader catches up: reading resumes.
  std::string got;
  for (int i = 0; i < 200 && out.paused(); ++i) {
    got += p.read_available();
    std::this_thread::sleep_for(5ms);
    out.flush();
    out.pace();
  }
  EXPECT_FALSE(out.paused());
  EXPECT_FALSE(hooks.pauses.back());
}

TEST(KsubOutputStage, DrainingKeepsPollingThePausedConsumer) {
  Pipe p(4096);
  Hooks hooks;
  OutputStage out(p.fd[1], values(), hooks);
  const std::string payload(20000, '7');
  out.append(record(0, payload));
  std::thread reader([&] {
    std::this_thread::sleep_for(100ms);
    std::string got;
    while (got.size() < payload.size() + 1) {
      got += p.read_available();
      std::this_thread::sleep_for(1ms);
    }
  });
  out.drain(true);
  reader.join();
  EXPECT_TRUE(out.paused());
  EXPECT_GE(hooks.polls, 1);
  EXPECT_EQ(hooks.written_records.size(), 1u);
}
