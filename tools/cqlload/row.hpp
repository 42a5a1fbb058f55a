#pragma once
// What cqlload holds of a record between reading it and its row being written:
// the bound values, where it goes (routing key, token), and what is needed to
// reject or acknowledge it later (line, original text, coordinates).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pipekit/acks.hpp"
#include "pipekit/cql/protocol.hpp"
#include "pipekit/intake.hpp"

namespace pipekit::cqlload {

// What one frame may carry of records' values (the protocol's 256 MB limit,
// less room for the statement id, options and per-entry overhead).
inline constexpr size_t kFrameOverhead = 64u << 10;
inline constexpr size_t kMaxFrameValues = cql::kMaxFrameBody - kFrameOverhead;
// A batch of several partitions stays under Cassandra's batch_size_fail_threshold
// (50 KiB by default): past it the whole batch is refused.
inline constexpr size_t kMaxReplicaBatchBytes = 32 * 1024;
// What a batch entry costs beyond its values (id, counts, flags), for the limits above.
inline constexpr size_t kBatchEntryOverhead = 64;

struct Row {
  uint64_t line = 0;
  size_t input = 0;       // index into the inputs
  std::string original;   // the line, for a reject
  std::string values;     // the bound [value]s, the write timestamp last
  std::string routing;    // partition key bytes
  int64_t token = 0;
  int64_t timestamp = 0;  // the write timestamp (µs), given when the record was read
  std::optional<Ack> coordinates;

  // The row as the intake rejects it (valid while the row lives).
  KeptRecord kept() const { return KeptRecord{line, input, original, true, coordinates}; }
};

// One EXECUTE (one row) or one unlogged BATCH (several).
struct Request {
  std::vector<std::unique_ptr<Row>> rows;
  int attempts = 0;
  int reprepares = 0;
  bool token_known = false;  // token routing: send to the owner of `token`
  int64_t token = 0;
  size_t bytes = 0;          // the rows' values and entry overhead: a batch stays within its limit
};

}  // namespace pipekit::cqlload
