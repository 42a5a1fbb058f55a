#include "encoding.hpp"

#include <bit>

#include "thrift_compact.hpp"

namespace pipekit::parquet::detail {

int bit_width(uint32_t max_value) { return 32 - std::countl_zero(max_value); }

template <typename T>
void bit_pack(std::span<const T> values, int width, Bytes& out) {
  uint64_t acc = 0;  // pending bits, LSB first
  int bits = 0;      // < 8 between values, so acc never holds more than 7 + 32 bits
  const uint64_t mask = width >= 32 ? 0xFFFFFFFFull : ((1ull << width) - 1);
  for (const T v : values) {
    acc |= (static_cast<uint64_t>(v) & mask) << bits;
    bits += width;
    while (bits >= 8) {
      out.push_back(static_cast<uint8_t>(acc));
      acc >>= 8;
      bits -= 8;
    }
  }
  if (bits > 0) out.push_back(static_cast<uint8_t>(acc));
}

namespace {

constexpr size_t kMinRleRun = 8;

template <typename T>
void put_bit_packed_run(std::span<const T> values, int width, Bytes& out) {
  const size_t groups = (values.size() + 7) / 8;
  thrift::put_varint(out, (static_cast<uint64_t>(groups) << 1) | 1);
  const size_t padded = groups * 8;
  if (padded == values.size()) {
    bit_pack(values, width, out);
  } else {
    std::vector<T> tmp(values.begin(), values.end());
    tmp.resize(padded, T{0});
    bit_pack(std::span<const T>(tmp), width, out);
  }
}

void put_rle_run(uint64_t value, size_t count, int width, Bytes& out) {
  thrift::put_varint(out, static_cast<uint64_t>(count) << 1);
  for (int i = 0; i < (width + 7) / 8; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

}  // namespace

template <typename T>
void rle_hybrid_encode(std::span<const T> values, int width, Bytes& out) {
  const size_t n = values.size();
  size_t literal_begin = 0;  // values [literal_begin, i) wait to be bit-packed
  size_t i = 0;
  while (i < n) {
    size_t j = i + 1;
    while (j < n && values[j] == values[i]) ++j;
    size_t run = j - i;
    if (run >= kMinRleRun) {
      // A bit-packed run holds whole groups of 8, so pending literals borrow
      // the first few values of this run to fill their last group.
      const size_t literals = i - literal_begin;
      const size_t borrow = literals % 8 == 0 ? 0 : 8 - literals % 8;
      if (run - borrow >= kMinRleRun) {
        if (literals > 0) put_bit_packed_run(values.subspan(literal_begin, literals + borrow), width, out);
        run -= borrow;
        put_rle_run(values[i], run, width, out);
        literal_begin = j;
      }
    }
    i = j;
  }
  if (literal_begin < n) put_bit_packed_run(values.subspan(literal_begin), width, out);
}

template void bit_pack<uint8_t>(std::span<const uint8_t>, int, Bytes&);
template void bit_pack<uint32_t>(std::span<const uint32_t>, int, Bytes&);
template void rle_hybrid_encode<uint8_t>(std::span<const uint8_t>, int, Bytes&);
template void rle_hybrid_encode<uint32_t>(std::span<const uint32_t>, int, Bytes&);

}  // namespace pipekit::parquet::detail
