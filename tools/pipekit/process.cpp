#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "supervisor.hpp"

namespace pipekit::orchestrator {

Finished run_program(const std::vector<std::string>& argv, int in_fd, int out_fd, int err_fd, bool capture_out,
                     bool capture_err, int64_t timeout_ms, bool stoppable) {
  int sigfd = stoppable ? stop_signal_fd() : -1;
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (capture_out && pipe2(out_pipe, O_CLOEXEC) != 0) throw Error(ExitCode::internal, errno_message("pipe", errno));
  if (capture_err && pipe2(err_pipe, O_CLOEXEC) != 0) throw Error(ExitCode::internal, errno_message("pipe", errno));
  int pid = spawn(argv, in_fd, capture_out ? out_pipe[1] : out_fd, capture_err ? err_pipe[1] : err_fd);
  if (capture_out) close(out_pipe[1]);
  if (capture_err) close(err_pipe[1]);
  Finished f;
  if (pid < 0) {
    if (capture_out) close(out_pipe[0]);
    if (capture_err) close(err_pipe[0]);
    f.status = 127;
    f.err = argv[0] + ": " + std::strerror(-pid) + "\n";
    return f;
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool exited = false, stopped = false;
  int ws = 0;
  while (!exited || out_pipe[0] >= 0 || err_pipe[0] >= 0) {
    std::vector<pollfd> fds = {{sigfd, POLLIN, 0}, {exited ? -1 : pidfd, POLLIN, 0}, {out_pipe[0], POLLIN, 0},
                               {err_pipe[0], POLLIN, 0}};
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0 || stopped) {
      if (!exited) kill(pid, SIGKILL);
      if (!exited) waitpid(pid, &ws, 0);
      exited = true;
      for (int* fd : {&out_pipe[0], &err_pipe[0]})
        if (*fd >= 0) close(*fd), *fd = -1;
      break;
    }
    int n = poll(fds.data(), fds.size(), static_cast<int>(left));
    if (n <= 0) continue;
    if (fds[0].revents) stopped = true;
    if (fds[1].revents && waitpid(pid, &ws, WNOHANG) == pid) exited = true;
    for (auto [fd, text] : {std::pair{&out_pipe[0], &f.out}, std::pair{&err_pipe[0], &f.err}}) {
      pollfd& p = fd == &out_pipe[0] ? fds[2] : fds[3];
      if (*fd < 0 || !p.revents) continue;
      char buf[65536];
      ssize_t r = read(*fd, buf, sizeof buf);
      if (r > 0) text->append(buf, static_cast<size_t>(r));
      else if (r == 0 || errno != EINTR) close(*fd), *fd = -1;
    }
  }
  if (pidfd >= 0) close(pidfd);
  if (stopped) throw StopRequested();
  f.status = WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
  return f;
}

bool on_path(const std::string& program) {
  if (program.find('/') != std::string::npos) return access(program.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t colon = p.find(':', start);
    if (colon == std::string::npos) colon = p.size();
    std::string dir = p.substr(start, colon - start);
    if (dir.empty()) dir = ".";
    if (access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    start = colon + 1;
  }
  return false;
}

}  // namespace pipekit::orchestrator
