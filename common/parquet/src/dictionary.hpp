#pragma once
// A column chunk's dictionary: distinct values in first-seen order, kept as
// the PLAIN-encoded dictionary page itself, and an open-addressing hash table
// of entry numbers pointing into it (no per-entry allocation).
#include <cstdint>
#include <string_view>
#include <vector>

#include "encoding.hpp"

namespace pipekit::parquet::detail {

class Dictionary {
 public:
  // length_prefixed: BYTE_ARRAY entries (4-byte length first); otherwise fixed-width raw bytes.
  explicit Dictionary(bool length_prefixed) : length_prefixed_(length_prefixed) {}

  // The entry number of key, adding it if new (then *inserted is set).
  uint32_t insert(std::string_view key, bool* inserted);

  uint32_t size() const { return size_; }
  const Bytes& page() const { return page_; }  // the dictionary page body
  void drop_index();                            // no more inserts: keep only the page
  void release();                               // empty, memory returned

 private:
  std::string_view entry(uint32_t i) const {
    return {reinterpret_cast<const char*>(page_.data()) + offsets_[i], lengths_[i]};
  }
  void grow();

  bool length_prefixed_;
  uint32_t size_ = 0;
  Bytes page_;
  std::vector<uint32_t> offsets_;  // of each entry's bytes in page_
  std::vector<uint32_t> lengths_;
  // Open addressing, linear probing: (hash << 32) | (entry number + 1); 0 = free.
  // The hash in the slot spares a look at the entry on most probes.
  std::vector<uint64_t> slots_;
};

}  // namespace pipekit::parquet::detail
