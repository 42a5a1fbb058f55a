#pragma once
// One run at a time per lock file: flock(2) on a file that stays open (close
// on exec: stages never inherit it, so an orphaned stage cannot hold it).
#include <string>

namespace pipekit::orchestrator {

enum class LockResult { taken, busy };

// Waits up to wait_s seconds (0: not at all) with one timer, no polling.
// Returns the fd in `fd` when taken; throws IoError when the file cannot
// be created.
LockResult take_lock(const std::string& file, int wait_s, int& fd);

}  // namespace pipekit::orchestrator
