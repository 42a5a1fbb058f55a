#include "pipekit/signals.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace pipekit {
namespace {
std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_stop{false};
int g_pipe[2] = {-1, -1};

void on_signal(int sig) {
  if (g_stop.exchange(true)) _exit(128 + sig);  // second signal: exit at once
  g_stop_signal = sig;
  if (g_pipe[1] >= 0) {
    char c = 1;
    ssize_t rc = ::write(g_pipe[1], &c, 1);
    (void)rc;
  }
}
}  // namespace

void install_signal_handlers() {
  if (g_pipe[0] < 0 && pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) g_pipe[0] = g_pipe[1] = -1;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocked reads return EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() { return g_stop.load(std::memory_order_relaxed); }
int stop_signal() { return g_stop_signal.load(); }
int stop_fd() { return g_pipe[0]; }

void request_stop(int sig) {
  if (g_stop.exchange(true)) return;
  g_stop_signal = sig;
  if (g_pipe[1] >= 0) {
    char c = 1;
    ssize_t rc = ::write(g_pipe[1], &c, 1);
    (void)rc;
  }
}

void block_stop_signals_in_this_thread() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace pipekit
