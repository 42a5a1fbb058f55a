#include "dictionary.hpp"

#include <cstring>
#include <functional>

namespace pipekit::parquet::detail {

namespace {

uint32_t hash_of(std::string_view key) {
  const uint64_t h = std::hash<std::string_view>{}(key);
  return static_cast<uint32_t>(h ^ (h >> 32));
}

}  // namespace

uint32_t Dictionary::insert(std::string_view key, bool* inserted) {
  if ((static_cast<size_t>(size_) + 1) * 2 > slots_.size()) grow();  // load factor <= 1/2
  const uint32_t h = hash_of(key);
  const size_t mask = slots_.size() - 1;
  for (size_t s = h & mask;; s = (s + 1) & mask) {
    const uint64_t slot = slots_[s];
    if (slot == 0) {
      const uint32_t index = size_++;
      if (length_prefixed_) put_u32_le(page_, static_cast<uint32_t>(key.size()));
      offsets_.push_back(static_cast<uint32_t>(page_.size()));
      lengths_.push_back(static_cast<uint32_t>(key.size()));
      append(page_, key.data(), key.size());
      slots_[s] = static_cast<uint64_t>(h) << 32 | (index + 1);
      *inserted = true;
      return index;
    }
    if (static_cast<uint32_t>(slot >> 32) == h) {
      const auto i = static_cast<uint32_t>(slot) - 1;
      if (entry(i) == key) {
        *inserted = false;
        return i;
      }
    }
  }
}

void Dictionary::grow() {
  std::vector<uint64_t> slots(slots_.empty() ? 1024 : slots_.size() * 2, 0);
  const size_t mask = slots.size() - 1;
  for (const uint64_t slot : slots_) {
    if (slot == 0) continue;
    size_t s = (slot >> 32) & mask;
    while (slots[s] != 0) s = (s + 1) & mask;
    slots[s] = slot;
  }
  slots_.swap(slots);
}

void Dictionary::drop_index() {
  offsets_ = {};
  lengths_ = {};
  slots_ = {};
}

void Dictionary::release() {
  size_ = 0;
  page_ = {};
  offsets_ = {};
  lengths_ = {};
  slots_ = {};
}

}  // namespace pipekit::parquet::detail
