// OutputPump: stdout written on its own thread, never blocking the consumer.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <string>

#include "output_pump.hpp"

using namespace pipekit::ksub;
using namespace std::chrono_literals;

namespace {

struct Pipe {
  int fd[2];
  Pipe() {
    EXPECT_EQ(::pipe(fd), 0);
  }
  ~Pipe() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
  std::string read_all_available() {
    std::string out;
    ::fcntl(fd[0], F_SETFL, O_NONBLOCK);
    char buf[65536];
    for (ssize_t n; (n = ::read(fd[0], buf, sizeof buf)) > 0;) out.append(buf, n);
    return out;
  }
};

OutputPump::Batch batch(size_t bytes, int64_t offset) {
  return {std::string(bytes, 'x'), {{"t", 0, offset}}};
}

}  // namespace

TEST(OutputPump, PushNeverBlocksOnAStalledReaderAndBatchesComeBackInOrderOnceWritten) {
  Pipe p;
  OutputPump pump(p.fd[1]);
  // 4 MiB into a 64 KiB pipe nobody reads: push returns at once.
  for (int i = 0; i < 16; ++i) pump.push(batch(256 * 1024, i));
  EXPECT_GT(pump.pending_bytes(), 3u << 20);
  EXPECT_FALSE(pump.wait_idle(200ms));
  EXPECT_TRUE(pump.take_written().empty());  // nothing written whole yet
  // The reader catches up: everything is written, in order.
  std::string got;
  while (!pump.wait_idle(10ms)) got += p.read_all_available();
  got += p.read_all_available();
  EXPECT_EQ(got.size(), 16u * 256 * 1024);
  EXPECT_EQ(pump.pending_bytes(), 0u);
  auto written = pump.take_written();
  ASSERT_EQ(written.size(), 16u);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(written[i].records.at(0).offset, i);
  EXPECT_FALSE(pump.pipe_closed());
}

TEST(OutputPump, AReaderThatGoesAwayDropsWhatWasNotWritten) {
  std::signal(SIGPIPE, SIG_IGN);
  Pipe p;
  OutputPump pump(p.fd[1]);
  ::close(p.fd[0]);
  p.fd[0] = -1;
  pump.push(batch(100, 1));
  pump.push(batch(100, 2));
  EXPECT_TRUE(pump.wait_idle(5s));
  EXPECT_TRUE(pump.pipe_closed());
  EXPECT_TRUE(pump.take_written().empty());
  EXPECT_EQ(pump.take_error(), nullptr);
  pump.push(batch(100, 3));  // ignored
  EXPECT_EQ(pump.pending_bytes(), 0u);
}

TEST(OutputPump, AWriteErrorIsReportedOnce) {
  int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  {
    OutputPump pump(fd);
    pump.push(batch(100, 1));
    EXPECT_TRUE(pump.wait_idle(5s));
    auto e = pump.take_error();
    ASSERT_NE(e, nullptr);
    EXPECT_NE(std::string(e->what()).find("No space left"), std::string::npos);
    EXPECT_EQ(pump.take_error(), nullptr);
  }
  ::close(fd);
}
