#pragma once
// Encoder for the Thrift compact protocol, just what Parquet's metadata needs:
// structs (and unions, which are encoded as structs), lists, and scalar fields.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace pipekit::parquet::thrift {

using Bytes = std::vector<uint8_t>;

// Type codes, used both in field headers and as list element types.
enum class CType : uint8_t {
  bool_true = 1,  // a bool field's value lives in its header
  bool_false = 2,
  i8 = 3,
  i16 = 4,
  i32 = 5,
  i64 = 6,
  dbl = 7,
  binary = 8,
  list = 9,
  set = 10,
  map = 11,
  structure = 12,
};

uint32_t zigzag32(int32_t v);
uint64_t zigzag64(int64_t v);
// Unsigned LEB128.
void put_varint(Bytes& out, uint64_t v);

// Appends to a byte vector. Usage:
//   CompactWriter w(out);
//   w.struct_begin();
//   w.field_i32(1, 42);
//   w.field_list_begin(2, CType::structure, items.size());
//   for (...) { w.struct_begin(); ...; w.struct_end(); }
//   w.struct_end();
class CompactWriter {
 public:
  explicit CompactWriter(Bytes& out) : out_(out) {}

  // A struct that is a list element or the top-level value.
  void struct_begin();
  // Writes the stop field and returns to the enclosing struct.
  void struct_end();

  void field_bool(int16_t id, bool v);
  void field_i8(int16_t id, int8_t v);
  void field_i16(int16_t id, int16_t v);
  void field_i32(int16_t id, int32_t v);
  void field_i64(int16_t id, int64_t v);
  void field_double(int16_t id, double v);
  void field_binary(int16_t id, std::string_view v);
  // A struct-valued field: follow with its fields and struct_end().
  void field_struct_begin(int16_t id);
  // A list-valued field: follow with exactly `size` elements.
  void field_list_begin(int16_t id, CType element, size_t size);
  // An empty struct as a field value, e.g. a union member without data.
  void field_empty_struct(int16_t id);

  void elem_i32(int32_t v);
  void elem_i64(int64_t v);
  void elem_binary(std::string_view v);

 private:
  void field_header(int16_t id, CType type);

  Bytes& out_;
  int16_t last_id_ = 0;
  std::vector<int16_t> stack_;
};

}  // namespace pipekit::parquet::thrift
