#include "compression.hpp"

#include <snappy.h>
#include <zstd.h>

#include <string>

namespace pipekit::parquet::detail {

Compressor::Compressor(Codec codec, int zstd_level) : codec_(codec), zstd_level_(zstd_level) {
  if (codec_ == Codec::zstd) {
    zstd_ = ZSTD_createCCtx();
    if (zstd_ == nullptr) throw Error("zstd: cannot create a compression context");
  }
}

Compressor::~Compressor() { ZSTD_freeCCtx(zstd_); }

void Compressor::compress(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  const auto* src = reinterpret_cast<const char*>(in.data());
  switch (codec_) {
    case Codec::snappy: {
      out.resize(snappy::MaxCompressedLength(in.size()));
      size_t n = 0;
      snappy::RawCompress(src, in.size(), reinterpret_cast<char*>(out.data()), &n);
      out.resize(n);
      return;
    }
    case Codec::zstd: {
      out.resize(ZSTD_compressBound(in.size()));
      const size_t n = ZSTD_compressCCtx(zstd_, out.data(), out.size(), in.data(), in.size(), zstd_level_);
      if (ZSTD_isError(n)) throw Error(std::string("zstd: ") + ZSTD_getErrorName(n));
      out.resize(n);
      return;
    }
    case Codec::none:
      break;
  }
  throw Error("compress: no codec");
}

int32_t thrift_codec(Codec codec) {
  switch (codec) {
    case Codec::none: return 0;    // UNCOMPRESSED
    case Codec::snappy: return 1;  // SNAPPY
    case Codec::zstd: return 6;    // ZSTD
  }
  return 0;
}

}  // namespace pipekit::parquet::detail
