#pragma once
// Per-page compression with Debian's libsnappy and libzstd.
#include <cstdint>
#include <span>
#include <vector>

#include "pipekit/parquet/writer.hpp"

struct ZSTD_CCtx_s;

namespace pipekit::parquet::detail {

class Compressor {
 public:
  Compressor(Codec codec, int zstd_level);
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  Codec codec() const { return codec_; }
  // Replaces out with the compressed form of in. Not for Codec::none.
  void compress(std::span<const uint8_t> in, std::vector<uint8_t>& out);

 private:
  Codec codec_;
  int zstd_level_;
  ZSTD_CCtx_s* zstd_ = nullptr;
};

// CompressionCodec enum value of parquet.thrift.
int32_t thrift_codec(Codec codec);

}  // namespace pipekit::parquet::detail
