#pragma once
// SIGINT/SIGTERM: the first asks the tool to stop (finish what is in flight),
// the second exits at once. SIGPIPE is ignored so writes report EPIPE.
// Handlers are installed without SA_RESTART: a blocked read/poll returns EINTR.

namespace pipekit {

void install_signal_handlers();
bool stop_requested();
int stop_signal();  // the signal that asked to stop, 0 if none
// Readable once a stop was requested: add it to poll() sets to wake up.
int stop_fd();
// Request a stop from inside the program (tests, fatal conditions).
void request_stop(int sig = 0);
// Block SIGINT/SIGTERM in the calling thread (call before starting helper
// threads so the handlers run on the main thread).
void block_stop_signals_in_this_thread();

}  // namespace pipekit
