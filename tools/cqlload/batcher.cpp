#include "batcher.hpp"

namespace pipekit::cqlload {

std::unique_ptr<Request> Batcher::start(const Row& first) const {
  auto req = std::make_unique<Request>();
  req->token_known = token_known_;
  req->token = first.token;
  return req;
}

void Batcher::add(std::unique_ptr<Row> row, int owner, std::deque<std::unique_ptr<Request>>& ready) {
  if (batch_size_ <= 1) {
    auto req = start(*row);
    req->rows.push_back(std::move(row));
    ready.push_back(std::move(req));
    return;
  }
  // By partition: Cassandra's usual advice. By replica (the default): records
  // of any partitions that one node owns share a batch, so the node handles
  // a request per batch rather than per record; timestamps are per record,
  // so the order of updates to one key holds all the same.
  std::string key = row->routing;
  size_t limit = kMaxFrameValues;
  if (group_by_ == GroupBy::replica) {
    key = std::to_string(owner);
    limit = kMaxReplicaBatchBytes;
  }
  size_t cost = row->values.size() + kBatchEntryOverhead;
  auto& slot = groups_[key];
  if (slot && slot->bytes + cost > limit) {  // full: send it as it is
    grouped_ -= slot->rows.size();
    ready.push_back(std::move(slot));
  }
  if (!slot) slot = start(*row);
  slot->bytes += cost;
  slot->rows.push_back(std::move(row));
  ++grouped_;
  if (slot->rows.size() >= batch_size_) {
    grouped_ -= slot->rows.size();
    ready.push_back(std::move(slot));
    groups_.erase(key);
  }
}

void Batcher::flush(std::deque<std::unique_ptr<Request>>& ready) {
  for (auto& [key, req] : groups_)
    if (req) ready.push_back(std::move(req));
  groups_.clear();
  grouped_ = 0;
}

std::vector<std::unique_ptr<Request>> split(Request& batch) {
  std::vector<std::unique_ptr<Request>> out;
  out.reserve(batch.rows.size());
  for (auto& row : batch.rows) {
    auto one = std::make_unique<Request>();
    one->token_known = batch.token_known;
    one->token = batch.token;
    one->rows.push_back(std::move(row));
    out.push_back(std::move(one));
  }
  batch.rows.clear();
  return out;
}

void encode_request(std::string& out, int16_t stream, const std::string& id, cql::Consistency consistency,
                    const Request& req, uint16_t markers) {
  if (req.rows.size() == 1) {
    cql::encode_execute(out, stream, id, consistency, req.rows[0]->values, markers);
    return;
  }
  std::vector<cql::BatchEntry> entries;
  entries.reserve(req.rows.size());
  for (const auto& r : req.rows) entries.push_back({id, r->values, markers});
  cql::encode_batch(out, stream, cql::BatchType::unlogged, entries, consistency);
}

}  // namespace pipekit::cqlload
