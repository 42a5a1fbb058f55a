#include "thrift_compact.hpp"

#include <bit>
#include <cstring>

#include "pipekit/parquet/writer.hpp"

namespace pipekit::parquet::thrift {

uint32_t zigzag32(int32_t v) {
  return (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31);
}

uint64_t zigzag64(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

void put_varint(Bytes& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

void CompactWriter::struct_begin() {
  stack_.push_back(last_id_);
  last_id_ = 0;
}

void CompactWriter::struct_end() {
  if (stack_.empty()) throw Error("thrift: struct_end without struct_begin");
  out_.push_back(0);  // stop field
  last_id_ = stack_.back();
  stack_.pop_back();
}

void CompactWriter::field_header(int16_t id, CType type) {
  const int delta = static_cast<int>(id) - last_id_;
  if (delta > 0 && delta <= 15) {
    out_.push_back(static_cast<uint8_t>(delta << 4 | static_cast<uint8_t>(type)));
  } else {
    out_.push_back(static_cast<uint8_t>(type));
    put_varint(out_, zigzag32(id));
  }
  last_id_ = id;
}

void CompactWriter::field_bool(int16_t id, bool v) {
  field_header(id, v ? CType::bool_true : CType::bool_false);
}

void CompactWriter::field_i8(int16_t id, int8_t v) {
  field_header(id, CType::i8);
  out_.push_back(static_cast<uint8_t>(v));
}

void CompactWriter::field_i16(int16_t id, int16_t v) {
  field_header(id, CType::i16);
  put_varint(out_, zigzag32(v));
}

void CompactWriter::field_i32(int16_t id, int32_t v) {
  field_header(id, CType::i32);
  put_varint(out_, zigzag32(v));
}

void CompactWriter::field_i64(int16_t id, int64_t v) {
  field_header(id, CType::i64);
  put_varint(out_, zigzag64(v));
}

void CompactWriter::field_double(int16_t id, double v) {
  field_header(id, CType::dbl);
  const auto bits = std::bit_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<uint8_t>(bits >> (8 * i)));  // little-endian
}

void CompactWriter::field_binary(int16_t id, std::string_view v) {
  field_header(id, CType::binary);
  elem_binary(v);
}

void CompactWriter::field_struct_begin(int16_t id) {
  field_header(id, CType::structure);
  struct_begin();
}

void CompactWriter::field_empty_struct(int16_t id) {
  field_struct_begin(id);
  struct_end();
}

void CompactWriter::field_list_begin(int16_t id, CType element, size_t size) {
  field_header(id, CType::list);
  const auto type = static_cast<uint8_t>(element);
  if (size < 15) {
    out_.push_back(static_cast<uint8_t>(size << 4 | type));
  } else {
    out_.push_back(static_cast<uint8_t>(0xF0 | type));
    put_varint(out_, size);
  }
}

void CompactWriter::elem_i32(int32_t v) { put_varint(out_, zigzag32(v)); }

void CompactWriter::elem_i64(int64_t v) { put_varint(out_, zigzag64(v)); }

void CompactWriter::elem_binary(std::string_view v) {
  put_varint(out_, v.size());
  const auto* p = reinterpret_cast<const uint8_t*>(v.data());
  out_.insert(out_.end(), p, p + v.size());
}

}  // namespace pipekit::parquet::thrift
