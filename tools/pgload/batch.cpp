#include "batch.hpp"

#include <algorithm>
#include <cstring>

namespace pipekit::pgload {

KeyHasher::KeyHasher(std::vector<size_t> positions) : positions_(std::move(positions)) {
  last_ = positions_.empty() ? 0 : *std::max_element(positions_.begin(), positions_.end());
}

// A hash collision only sends a batch down the DISTINCT ON way, which is
// right for any batch; so a hash is enough, and no copy of a key per row.
size_t KeyHasher::hash(std::string_view row) {
  if (!row.empty() && row.back() == '\n') row.remove_suffix(1);
  const char* field_start = row.data();
  const char* end = row.data() + row.size();
  buf_.clear();
  for (size_t field = 0;; ++field) {  // COPY escapes tabs in values
    auto* tab = static_cast<const char*>(std::memchr(field_start, '\t', static_cast<size_t>(end - field_start)));
    const char* stop = tab ? tab : end;
    if (std::find(positions_.begin(), positions_.end(), field) != positions_.end()) {
      buf_.append(field_start, stop);
      buf_.push_back('\t');
    }
    if (!tab || field >= last_) break;  // no key field after this one
    field_start = tab + 1;
  }
  return std::hash<std::string_view>{}(buf_);
}

Row& Batch::add(uint64_t line, std::string_view text, size_t enc_before, std::optional<Ack> coordinates) {
  if (empty()) started = Clock::now();
  Row& r = rows.emplace_back();
  r.line = line;
  r.raw_off = raw.size();
  r.raw_len = text.size();
  raw.append(text);
  r.enc_off = enc_before;
  r.enc_len = enc.size() - enc_before;
  if (coordinates) {
    r.ack = static_cast<uint32_t>(acks.size());
    acks.push_back(std::move(*coordinates));
  }
  return r;
}

void Batch::encoded(Row& r, size_t enc_before, KeyHasher& keys) {
  r.enc_off = enc_before;
  r.enc_len = enc.size() - enc_before;
  note_key(r, keys);
}

void Batch::note_key(Row& r, KeyHasher& keys) {
  if (!keys.enabled()) return;
  r.key_hash = keys.hash(std::string_view(enc).substr(r.enc_off, r.enc_len));
  if (!dup_keys_ && !keys_.insert(r.key_hash).second) dup_keys_ = true;
}

void Batch::reject(Row& r, bool ack) {
  if (r.rejected) return;
  r.rejected = true;
  ++rejected_;
  if (!ack && r.ack != Row::kNoAck) dropped_acks_.insert(std::upper_bound(dropped_acks_.begin(), dropped_acks_.end(), r.ack), r.ack);
}

void Batch::add_ack(Ack a) {
  if (empty()) started = Clock::now();
  acks.push_back(std::move(a));
}

KeptRecord Batch::kept(const Row& r) const {
  KeptRecord k;
  k.line = r.line;
  k.original = original(r);
  k.original_is_json = true;
  return k;
}

std::string Batch::copy_text(const std::vector<size_t>& idx) const {
  std::string data;
  for (size_t i : idx) data.append(enc, rows[i].enc_off, rows[i].enc_len);
  return data;
}

std::vector<size_t> Batch::live_indexes() const {
  std::vector<size_t> live;
  live.reserve(live_rows());
  for (size_t i = 0; i < rows.size(); ++i)
    if (!rows[i].rejected) live.push_back(i);
  return live;
}

const std::vector<Ack>& Batch::acks_to_send() {
  if (dropped_acks_.empty()) return acks;
  kept_acks_.clear();
  auto dropped = dropped_acks_.begin();
  for (uint32_t i = 0; i < acks.size(); ++i) {
    if (dropped != dropped_acks_.end() && *dropped == i) {
      ++dropped;
      continue;
    }
    kept_acks_.push_back(acks[i]);
  }
  return kept_acks_;
}

void Batch::clear() {
  keys_.clear();
  dup_keys_ = server_dup_keys_ = false;
  rejected_ = 0;
  raw.clear();
  enc.clear();
  rows.clear();
  acks.clear();
  dropped_acks_.clear();
  kept_acks_.clear();
  stream_ms = 0;
}

}  // namespace pipekit::pgload
