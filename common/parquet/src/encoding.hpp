#pragma once
// Value encodings of the Parquet format (Encodings.md): little-endian PLAIN
// helpers, LSB-first bit packing and the RLE/bit-packing hybrid used for
// definition levels and dictionary indices.
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace pipekit::parquet::detail {

using Bytes = std::vector<uint8_t>;

inline void append(Bytes& out, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  out.insert(out.end(), p, p + n);
}
inline void put_u32_le(Bytes& out, uint32_t v) {
  const uint8_t b[4] = {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
  append(out, b, 4);
}
inline void put_u64_le(Bytes& out, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = uint8_t(v >> (8 * i));
  append(out, b, 8);
}
inline void store_u32_le(uint8_t* at, uint32_t v) {
  for (int i = 0; i < 4; ++i) at[i] = uint8_t(v >> (8 * i));
}
inline void store_u64_le(uint8_t* at, uint64_t v) {
  for (int i = 0; i < 8; ++i) at[i] = uint8_t(v >> (8 * i));
}
// PLAIN BYTE_ARRAY: 4-byte little-endian length, then the bytes.
inline void put_byte_array(Bytes& out, std::string_view v) {
  put_u32_le(out, static_cast<uint32_t>(v.size()));
  append(out, v.data(), v.size());
}

// Bits needed for values 0..max_value (0 for 0).
int bit_width(uint32_t max_value);

// Packs each value's low `width` bits, LSB first, back to back; the last byte is zero-padded.
template <typename T>
void bit_pack(std::span<const T> values, int width, Bytes& out);

// The RLE/bit-packing hybrid's runs, without any length prefix. Runs of 8 or
// more equal values become RLE runs, the rest bit-packed runs of groups of 8
// (the last group zero-padded; the reader knows the value count).
template <typename T>
void rle_hybrid_encode(std::span<const T> values, int width, Bytes& out);

extern template void bit_pack<uint8_t>(std::span<const uint8_t>, int, Bytes&);
extern template void bit_pack<uint32_t>(std::span<const uint32_t>, int, Bytes&);
extern template void rle_hybrid_encode<uint8_t>(std::span<const uint8_t>, int, Bytes&);
extern template void rle_hybrid_encode<uint32_t>(std::span<const uint32_t>, int, Bytes&);

}  // namespace pipekit::parquet::detail
