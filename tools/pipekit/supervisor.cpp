#include "supervisor.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "output.hpp"
#include "pipekit/errors.hpp"

extern char** environ;

namespace pipekit::orchestrator {

bool restartable(int status) {
  if (status > 128) return true;
  for (const auto& row : exit_status_table())
    if (row.code == status) return row.restartable;
  return false;
}

int stop_signal_fd() {
  static int fd = [] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    int f = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (f < 0) throw Error(ExitCode::internal, errno_message("signalfd", errno));
    return f;
  }();
  return fd;
}

int spawn(const std::vector<std::string>& argv, int in_fd, int out_fd, int err_fd) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  auto wire = [&fa](int fd, int target, int flags) {
    if (fd < 0) posix_spawn_file_actions_addopen(&fa, target, "/dev/null", flags, 0);
    else if (fd != target) posix_spawn_file_actions_adddup2(&fa, fd, target);
  };
  wire(in_fd, 0, O_RDONLY);
  wire(out_fd, 1, O_WRONLY);
  wire(err_fd, 2, O_WRONLY);
  // Nothing else leaks into a stage: not the lock, not a caller's fd 3.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGTERM, SIGINT, SIGPIPE, SIGALRM, SIGCHLD}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc == 0 ? pid : -rc;
}

namespace {

int pidfd_open(int pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? abbrev : "?";
}

}  // namespace

Supervisor::Supervisor(std::optional<int> empty_exit, bool quiet)
    : empty_exit_(empty_exit), quiet_(quiet), sigfd_(stop_signal_fd()) {
  const char* grace = std::getenv("PIPEKIT_STOP_GRACE");
  grace_s_ = grace && *grace ? std::atoi(grace) : 30;
}

Supervisor::~Supervisor() {
  kill_all();
  reset();
}

void Supervisor::start(const std::string& name, const std::vector<std::string>& argv, int in_fd, int out_fd,
                       const std::string& run_dir, bool merge_stdout) {
  int err[2];
  if (pipe2(err, O_CLOEXEC) != 0) throw Error(ExitCode::internal, errno_message("pipe", errno));
  Stage st;
  st.name = name;
  int pid = spawn(argv, in_fd, merge_stdout ? err[1] : out_fd, err[1]);
  close(err[1]);
  if (in_fd > 2) close(in_fd);
  if (out_fd > 2) close(out_fd);
  st.err_fd = err[0];
  fcntl(st.err_fd, F_SETFL, O_NONBLOCK);
  if (pid < 0) {
    // As a shell does: a program that cannot be started is status 127.
    say_always(fmt::format("[{}] cannot start {}: {}", name, argv[0], std::strerror(-pid)));
    stages_.push_back(std::move(st));
    stage_ended(stages_.back(), 127);
    return;
  }
  st.pid = pid;
  st.pidfd = pidfd_open(pid);
  if (st.pidfd < 0)
    throw Error(ExitCode::internal,
                errno_message("pidfd_open (needs Linux 5.3 or later)", errno));
  if (!run_dir.empty()) write_file(run_dir + "/" + name + ".pid", std::to_string(pid) + "\n");
  stages_.push_back(std::move(st));
}

std::optional<int> Supervisor::status_of(const std::string& name) const {
  for (const auto& st : stages_)
    if (st.name == name) return st.status;
  return std::nullopt;
}

void Supervisor::signal_stages(int sig, const std::string& only) {
  for (auto& st : stages_) {
    if (!only.empty() && st.name != only) continue;
    if (!st.status && st.pidfd >= 0) syscall(SYS_pidfd_send_signal, st.pidfd, sig, nullptr, 0);
  }
}

void Supervisor::escalate(int level) {
  if (level <= escalation_) return;
  escalation_ = level;
  switch (level) {
    case 1:
      signal_stages(SIGTERM, head_);
      deadline_ = Clock::now() + std::chrono::seconds(grace_s_);
      break;
    case 2:
      signal_stages(SIGTERM);
      deadline_ = Clock::now() + std::chrono::seconds(10);
      break;
    default: {
      std::string names;
      for (const auto& st : stages_)
        if (!st.status) {
          stuck_.push_back(st.name);
          names += (names.empty() ? "" : " ") + st.name;
        }
      if (!names.empty()) warn(names + " did not stop in time: killed");
      signal_stages(SIGKILL);
      deadline_.reset();
    }
  }
}

void Supervisor::on_signal() {
  signalfd_siginfo info;
  while (read(sigfd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    ++stop_requests_;
    if (stop_requests_ == 1) {
      if (!quiet_) warn("stopping: asking " + (head_.empty() ? std::string("the stages") : head_) +
                        " to finish what is in flight");
      escalate(1);
    } else {
      if (!quiet_) warn("second signal: stopping every stage now");
      escalate(3);
    }
  }
}

void Supervisor::stage_ended(Stage& st, int status) {
  st.status = status;
  if (st.pidfd >= 0) {
    close(st.pidfd);
    st.pidfd = -1;
  }
  // A stage that dies of the signal we sent it is not the failure.
  if (escalation_ >= 1 && (status == 128 + SIGTERM || status == 128 + SIGKILL)) return;
  if (status == 0 || (empty_exit_ && status == *empty_exit_) || !fail_stage_.empty()) return;
  fail_stage_ = st.name;
  fail_status_ = status;
  if (status > 128 && status < 160)
    warn(fmt::format("{} was killed by signal {} ({}); stopping the other stages", st.name, status - 128,
                     signal_name(status - 128)));
  else
    warn(fmt::format("{} failed with status {}; stopping the other stages", st.name, status));
  escalate(2);
}

void Supervisor::pump_stderr(Stage& st, bool eof) {
  char buf[65536];
  while (st.err_fd >= 0) {
    ssize_t n = read(st.err_fd, buf, sizeof buf);
    if (n > 0) {
      st.err_buf.append(buf, static_cast<size_t>(n));
      size_t nl;
      std::string out;
      while ((nl = st.err_buf.find('\n')) != std::string::npos) {
        out += "[" + st.name + "] " + st.err_buf.substr(0, nl + 1);
        st.err_buf.erase(0, nl + 1);
      }
      write_all(2, out);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && !eof) return;
    // End of the stream (or we stop waiting): the last partial line too.
    if (!st.err_buf.empty()) write_all(2, "[" + st.name + "] " + st.err_buf + "\n");
    st.err_buf.clear();
    close(st.err_fd);
    st.err_fd = -1;
  }
}

void Supervisor::supervise() {
  // Once the stages are gone, their stderr gets this long to drain (a
  // grandchild that kept it open must not hold the summary back forever).
  std::optional<Clock::time_point> drain_until;
  for (;;) {
    bool running = false, open_err = false;
    for (const auto& st : stages_) {
      running |= !st.status.has_value();
      open_err |= st.err_fd >= 0;
    }
    if (!running && !drain_until) drain_until = Clock::now() + std::chrono::seconds(2);
    if (!running && (!open_err || Clock::now() >= *drain_until)) break;
    if (deadline_ && Clock::now() >= *deadline_) {
      warn("stages still running after the grace period: escalating");
      int before = escalation_;
      escalate(before + 1);
      if (escalation_ < 2) escalate(2);
    }
    std::vector<pollfd> fds;
    std::vector<std::pair<Stage*, bool>> owners;  // (stage, is_pidfd)
    fds.push_back({sigfd_, POLLIN, 0});
    owners.emplace_back(nullptr, false);
    for (auto& st : stages_) {
      if (!st.status && st.pidfd >= 0) {
        fds.push_back({st.pidfd, POLLIN, 0});
        owners.emplace_back(&st, true);
      }
      if (st.err_fd >= 0) {
        fds.push_back({st.err_fd, POLLIN, 0});
        owners.emplace_back(&st, false);
      }
    }
    int timeout = -1;
    auto until = [&](Clock::time_point t) {
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(t - Clock::now()).count();
      int v = static_cast<int>(std::max<int64_t>(0, ms));
      timeout = timeout < 0 ? v : std::min(timeout, v);
    };
    if (deadline_) until(*deadline_);
    if (!running) until(*drain_until);
    int n = poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) throw Error(ExitCode::internal, errno_message("poll", errno));
    if (n <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      auto [st, is_pidfd] = owners[i];
      if (!st) {
        on_signal();
      } else if (!is_pidfd) {
        pump_stderr(*st, false);
      } else {
        int ws = 0;
        if (waitpid(st->pid, &ws, WNOHANG) == st->pid)
          stage_ended(*st, WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws));
      }
    }
  }
  for (auto& st : stages_) pump_stderr(st, true);
  // Nothing failed, but a stage had to be killed: that is the run's status.
  if (fail_stage_.empty() && !stuck_.empty()) {
    fail_stage_ = stuck_.front();
    fail_status_ = 128 + SIGKILL;
  }
}

bool Supervisor::wait_for_stop(int64_t ms) {
  pollfd p{sigfd_, POLLIN, 0};
  auto end = Clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0) return false;
    int n = poll(&p, 1, static_cast<int>(left));
    if (n > 0) {
      on_signal();
      return true;
    }
  }
}

void Supervisor::kill_all() { signal_stages(SIGKILL); }

void Supervisor::reset() {
  for (auto& st : stages_) {
    if (!st.status && st.pid > 0) {
      int ws;
      waitpid(st.pid, &ws, 0);  // SIGKILLed by kill_all or ended: reaps at once
    }
    if (st.pidfd >= 0) close(st.pidfd);
    if (st.err_fd >= 0) close(st.err_fd);
  }
  stages_.clear();
  stuck_.clear();
  escalation_ = 0;
  deadline_.reset();
  fail_stage_.clear();
  fail_status_ = 0;
  head_.clear();
}

}  // namespace pipekit::orchestrator
