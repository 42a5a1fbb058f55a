#pragma once
// A batch: the records read since the last commit, as COPY rows (enc) and
// their original lines (raw, for rejects and the first batch of a table to
// create), each row's key hash (upsert: repeated keys, the split), and the
// coordinates acknowledged once the batch commits.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "pipekit/acks.hpp"
#include "pipekit/intake.hpp"

namespace pipekit::pgload {

using Clock = std::chrono::steady_clock;

// Hashes the key fields of a COPY text row (fields at `positions`).
class KeyHasher {
 public:
  KeyHasher() = default;
  explicit KeyHasher(std::vector<size_t> positions);
  bool enabled() const { return !positions_.empty(); }
  // `row` is one COPY row, with or without its '\n'.
  size_t hash(std::string_view row);

 private:
  std::vector<size_t> positions_;
  size_t last_ = 0;     // the largest position
  std::string buf_;     // the key fields, tab-separated
};

struct Row {
  static constexpr uint32_t kNoAck = UINT32_MAX;
  uint64_t line = 0;
  size_t raw_off = 0, raw_len = 0;
  size_t enc_off = 0, enc_len = 0;
  size_t key_hash = 0;    // upsert: hash of the key fields (COPY text)
  uint32_t ack = kNoAck;  // index into Batch::acks
  bool rejected = false;
};

class Batch {
 public:
  std::string raw;           // original lines, back to back
  std::string enc;           // COPY rows of the rows not rejected
  std::vector<Row> rows;
  std::vector<Ack> acks;     // coordinates of the rows (envelopes)
  Clock::time_point started, flush_started;
  double stream_ms = 0;      // the debug log: time spent sending while filling

  // Nothing to load nor to acknowledge.
  bool empty() const { return rows.empty() && acks.empty(); }
  // Adds a row whose COPY text is enc[enc_before, end) (empty when the
  // table is still to be created and the row is encoded later). The
  // reference is good until the next add().
  Row& add(uint64_t line, std::string_view text, size_t enc_before, std::optional<Ack> coordinates);
  // Sets the row's COPY text to enc[enc_before, end) and notes its key.
  void encoded(Row& r, size_t enc_before, KeyHasher& keys);
  void note_key(Row& r, KeyHasher& keys);
  // A row refused (by the database, or by the encoder when held back): not
  // loaded. ack: its coordinates are still acknowledged with the batch, in
  // input order (its reject is in the --rejects file); else never.
  void reject(Row& r, bool ack);
  // A record refused before it became a row, acknowledged with the batch.
  void add_ack(Ack a);

  std::string_view original(const Row& r) const { return std::string_view(raw).substr(r.raw_off, r.raw_len); }
  // The row for Intake::reject, without coordinates: the batch acknowledges
  // them, after its commit (see reject()).
  KeptRecord kept(const Row& r) const;
  size_t live_rows() const { return rows.size() - rejected_; }
  // The COPY text of the rows at `idx`.
  std::string copy_text(const std::vector<size_t>& idx) const;
  // The rows not rejected, in order.
  std::vector<size_t> live_indexes() const;
  // The coordinates to acknowledge once the batch is committed, in input
  // order: all but those of rows rejected without an ack.
  const std::vector<Ack>& acks_to_send();

  // Upsert: the merge keeps the last row per key when a key repeats.
  bool distinct() const { return dup_keys_ || server_dup_keys_; }
  bool server_found_dup_keys() const { return server_dup_keys_; }
  // The server saw a repeated key the client's text comparison missed ('01' and '1').
  void set_server_dup_keys() { server_dup_keys_ = true; }

  void clear();

 private:
  std::unordered_set<size_t> keys_;
  bool dup_keys_ = false, server_dup_keys_ = false;
  size_t rejected_ = 0;
  std::vector<uint32_t> dropped_acks_;  // indexes into acks, ascending
  std::vector<Ack> kept_acks_;
};

}  // namespace pipekit::pgload
