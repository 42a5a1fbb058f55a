#pragma once
// pipekit: runs the pipekit tools as one supervised pipeline.
//   ingest  ru-fetch | jvalidate | kpub                       (API -> Kafka)
//   load    ksub -G | jvalidate | pgload (or cqlload)         (Kafka -> database)
//           with one acknowledgement FIFO shared by the stages, so that ksub
//           commits only what the sink made durable or the filter rejected
//   run     both; status: offsets, lag, rows; demo: everything on a laptop
// Each stage is a real process with its stderr prefixed by its name; the
// first stage to fail stops the others and gives the run its status
// (pipefail); a crashed load is restarted (--restarts), which is safe because
// the sink upserts and ksub commits only acknowledged offsets. See pipekit(1).
#include <string>
#include <vector>

namespace pipekit::orchestrator {

// The whole program: parses args (without argv[0]) and returns the exit status.
int main(const std::vector<std::string>& args);

}  // namespace pipekit::orchestrator
