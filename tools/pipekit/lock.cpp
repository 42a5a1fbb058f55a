#include "lock.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "pipekit/errors.hpp"

namespace pipekit::orchestrator {

namespace {
void on_alarm(int) {}  // only interrupts flock(2)
}  // namespace

LockResult take_lock(const std::string& file, int wait_s, int& fd) {
  std::error_code ec;
  auto dir = std::filesystem::path(file).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) throw IoError("cannot create " + dir.string());
  fd = open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError("cannot open lock file " + file);
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return LockResult::taken;
  if (errno != EWOULDBLOCK || wait_s <= 0) return LockResult::busy;
  // A blocking flock(2) that SIGALRM interrupts at the deadline.
  struct sigaction sa {};
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: flock returns EINTR
  struct sigaction old {};
  sigaction(SIGALRM, &sa, &old);
  itimerval timer{};
  timer.it_value.tv_sec = wait_s;
  setitimer(ITIMER_REAL, &timer, nullptr);
  int rc = flock(fd, LOCK_EX);
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  sigaction(SIGALRM, &old, nullptr);
  return rc == 0 ? LockResult::taken : LockResult::busy;
}

}  // namespace pipekit::orchestrator
