#pragma once
// ksub: Kafka topic(s) -> NDJSON on stdout. Bare values by default,
// envelopes with --envelope, kcat-like --template. Offsets are stored only
// after their line was written; --commit-acks commits only what downstream
// acknowledged (docs/conventions.md).
#include "options.hpp"

namespace pipekit::ksub {

// Validates the options (validate()), then consumes, or inspects the cluster
// (--list, --offsets), or dumps the configuration (--dump-config).
int run(const Options& opts, RunContext& ctx);

}  // namespace pipekit::ksub
