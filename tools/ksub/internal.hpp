#pragma once
// Shared between ksub's consumer and its --list/--offsets inspection.
#include <librdkafka/rdkafka.h>

#include <string>
#include <vector>

#include "pipekit/kafka.hpp"
#include "engine.hpp"

namespace pipekit::ksub::detail {

// The consumer's effective properties: tool defaults, -F, env, -X, -b, then
// the settings ksub's guarantees depend on (not overridable).
kafka::Properties consumer_properties(const Options& o, bool with_group);
// How long to wait for metadata and offset queries: socket.timeout.ms if set
// lower, else 10 s.
int request_timeout_ms(const kafka::Properties& props);
kafka::Handle make_consumer(const kafka::Properties& props);
// Throws UsageError (exit 2) with the broker's reason once librdkafka
// reported an authentication failure.
void throw_if_refused();

// Metadata for `topics` (all topics when empty). Throws ServiceError when no
// broker answers, UsageError at once when the cluster refuses our credentials. The caller frees it with rd_kafka_metadata_destroy.
const rd_kafka_metadata_t* fetch_metadata(rd_kafka_t* rk, const std::vector<std::string>& topics,
                                          int timeout_ms);

int list(const Options& o, const kafka::Properties& props);
int offsets(const Options& o, const kafka::Properties& props);

}  // namespace pipekit::ksub::detail
