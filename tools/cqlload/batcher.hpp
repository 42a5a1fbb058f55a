#pragma once
// Request building and token routing: rows become requests, one row per
// EXECUTE (--batch-rows 1) or grouped into unlogged BATCHes by the replica
// that owns their partitions (--group-by replica) or by partition key
// (--group-by partition), within the size limits of row.hpp. A request keeps
// its first row's token so that it is sent to that token's owner.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "row.hpp"

namespace pipekit::cqlload {

enum class GroupBy { replica, partition };

class Batcher {
 public:
  Batcher(size_t batch_size, GroupBy group_by, bool token_known)
      : batch_size_(batch_size), group_by_(group_by), token_known_(token_known) {}

  // Adds a row; a request that is complete (batch size reached, or the next
  // row would take it over its size limit) goes to the back of `ready`.
  // `owner`: the index of the node owning the row's token (group by replica;
  // -1 when the ring is unknown: every row then shares one group).
  void add(std::unique_ptr<Row> row, int owner, std::deque<std::unique_ptr<Request>>& ready);
  // Every request being filled goes to `ready` as it is.
  void flush(std::deque<std::unique_ptr<Request>>& ready);
  size_t grouped() const { return grouped_; }  // rows waiting in groups
  bool empty() const { return groups_.empty(); }

 private:
  std::unique_ptr<Request> start(const Row& first) const;
  size_t batch_size_;
  GroupBy group_by_;
  bool token_known_;
  std::unordered_map<std::string, std::unique_ptr<Request>> groups_;
  size_t grouped_ = 0;
};

// A refused batch split into one request per row (to find the culprit);
// each keeps the batch's routing.
std::vector<std::unique_ptr<Request>> split(Request& batch);

// The frame for a request: EXECUTE of the prepared id for one row, an
// unlogged BATCH of it for several. `markers`: bind markers per row.
void encode_request(std::string& out, int16_t stream, const std::string& id, cql::Consistency consistency,
                    const Request& req, uint16_t markers);

}  // namespace pipekit::cqlload
