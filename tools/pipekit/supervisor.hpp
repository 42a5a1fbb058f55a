#pragma once
// Runs a pipeline's stages as child processes (posix_spawn) and supervises
// them with one poll(2) over their pidfds, their stderr pipes and a
// signalfd for SIGINT/SIGTERM: no polling loops, deadlines to the
// millisecond. Each stderr line is copied to ours as "[stage] line".
//
// Failure and stop rules (as a shell pipeline with pipefail, plus a clean
// stop): the first stage to fail (non-zero, other than --empty-exit, or
// killed by signal N: 128+N) stops the others with SIGTERM. The first
// SIGTERM/SIGINT to pipekit asks only the head stage (the source) to stop
// and the rest drains through the pipes; after the grace period every stage
// gets SIGTERM, 10 s later SIGKILL. A second signal kills every stage.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pipekit::orchestrator {

// Statuses worth a restart: death by a signal (128+N), or one the
// exit-status table (common/core) marks restartable. Not 1 (too many
// rejects) or 2 (configuration): they would recur.
bool restartable(int status);

// Blocks SIGINT/SIGTERM in this process and returns a signalfd for them.
// Children get a clean signal mask and default dispositions.
int stop_signal_fd();

// Spawn a program: stdin/stdout/stderr from the given fds (-1: /dev/null),
// all other descriptors closed. Returns the pid, or -errno.
int spawn(const std::vector<std::string>& argv, int in_fd, int out_fd, int err_fd);

struct Stage {
  std::string name;
  int pid = -1;
  int pidfd = -1;
  int err_fd = -1;       // read end of its stderr pipe
  std::string err_buf;   // a partial line
  std::optional<int> status;
};

class Supervisor {
 public:
  Supervisor(std::optional<int> empty_exit, bool quiet);
  ~Supervisor();

  // Starts a stage; in_fd/out_fd are closed here once the child has them.
  // merge_stdout: its stdout joins its stderr (prefixed too). The PID is
  // also written to RUN_DIR/NAME.pid when run_dir is given.
  void start(const std::string& name, const std::vector<std::string>& argv, int in_fd, int out_fd,
             const std::string& run_dir, bool merge_stdout = false);
  void set_head(const std::string& name) { head_ = name; }

  // Waits until every stage has ended and its stderr is drained.
  void supervise();

  // Sleeps up to `ms`, returning early (true) if a stop signal arrives.
  bool wait_for_stop(int64_t ms);

  std::string fail_stage() const { return fail_stage_; }
  int fail_status() const { return fail_status_; }
  bool stop_requested() const { return stop_requests_ > 0; }
  const std::vector<Stage>& stages() const { return stages_; }
  std::optional<int> status_of(const std::string& name) const;
  // Forget the stages of an attempt (before a restart).
  void reset();
  // SIGKILL to every stage still running (at exit).
  void kill_all();

 private:
  using Clock = std::chrono::steady_clock;
  void signal_stages(int sig, const std::string& only = "");
  void escalate(int level);
  void on_signal();
  void stage_ended(Stage& st, int status);
  void pump_stderr(Stage& st, bool eof);

  std::vector<Stage> stages_;
  std::string head_;
  std::optional<int> empty_exit_;
  bool quiet_;
  int sigfd_;
  int escalation_ = 0;  // 0 none, 1 head asked, 2 all TERMed, 3 all KILLed
  std::optional<Clock::time_point> deadline_;
  std::vector<std::string> stuck_;
  int stop_requests_ = 0;
  std::string fail_stage_;
  int fail_status_ = 0;
  int grace_s_;
};

}  // namespace pipekit::orchestrator
