#include "metadata.hpp"

namespace pipekit::parquet::detail {

using thrift::CompactWriter;
using thrift::CType;

PhysicalType physical_type(ColumnType type) {
  switch (type) {
    case ColumnType::string:
    case ColumnType::json: return PhysicalType::byte_array;
    case ColumnType::int32:
    case ColumnType::date: return PhysicalType::int32;
    case ColumnType::int64:
    case ColumnType::timestamp: return PhysicalType::int64;
    case ColumnType::float64: return PhysicalType::float64;
    case ColumnType::boolean: return PhysicalType::boolean;
    case ColumnType::uuid: return PhysicalType::fixed_len_byte_array;
  }
  throw Error("unknown column type");
}

namespace {

// ConvertedType values, for readers that predate LogicalType.
constexpr int32_t kConvertedUtf8 = 0;
constexpr int32_t kConvertedDate = 6;
constexpr int32_t kConvertedTimestampMicros = 10;
constexpr int32_t kConvertedJson = 19;

void write_statistics(CompactWriter& w, int16_t id, const Statistics& s) {
  w.field_struct_begin(id);
  if (s.legacy_min_max && s.min_value && s.max_value) {
    w.field_binary(1, *s.max_value);  // max
    w.field_binary(2, *s.min_value);  // min
  }
  w.field_i64(3, s.null_count);
  if (s.max_value) w.field_binary(5, *s.max_value);
  if (s.min_value) w.field_binary(6, *s.min_value);
  if (s.max_value) w.field_bool(7, true);  // is_max_value_exact
  if (s.min_value) w.field_bool(8, true);  // is_min_value_exact
  if (s.nan_count) w.field_i64(9, *s.nan_count);
  w.struct_end();
}

void write_schema_element(CompactWriter& w, const Column& c) {
  w.struct_begin();
  w.field_i32(1, static_cast<int32_t>(physical_type(c.type)));
  if (c.type == ColumnType::uuid) w.field_i32(2, 16);  // type_length
  w.field_i32(3, c.nullable ? 1 : 0);                  // OPTIONAL : REQUIRED
  w.field_binary(4, c.name);
  switch (c.type) {
    case ColumnType::string:
      w.field_i32(6, kConvertedUtf8);
      w.field_struct_begin(10);
      w.field_empty_struct(1);  // LogicalType.STRING
      w.struct_end();
      break;
    case ColumnType::json:
      w.field_i32(6, kConvertedJson);
      w.field_struct_begin(10);
      w.field_empty_struct(12);  // LogicalType.JSON
      w.struct_end();
      break;
    case ColumnType::date:
      w.field_i32(6, kConvertedDate);
      w.field_struct_begin(10);
      w.field_empty_struct(6);  // LogicalType.DATE
      w.struct_end();
      break;
    case ColumnType::timestamp:
      w.field_i32(6, kConvertedTimestampMicros);
      w.field_struct_begin(10);
      w.field_struct_begin(8);  // LogicalType.TIMESTAMP
      w.field_bool(1, true);    // isAdjustedToUTC
      w.field_struct_begin(2);  // unit: TimeUnit
      w.field_empty_struct(2);  // MICROS
      w.struct_end();
      w.struct_end();
      w.struct_end();
      break;
    case ColumnType::uuid:
      w.field_struct_begin(10);
      w.field_empty_struct(14);  // LogicalType.UUID
      w.struct_end();
      break;
    case ColumnType::int32:
    case ColumnType::int64:
    case ColumnType::float64:
    case ColumnType::boolean:
      break;
  }
  w.struct_end();
}

void write_column_chunk(CompactWriter& w, const ColumnChunkMeta& c) {
  w.struct_begin();
  w.field_i64(2, 0);  // file_offset: deprecated, 0 when no ColumnMetaData is written outside the footer
  w.field_struct_begin(3);  // meta_data
  w.field_i32(1, static_cast<int32_t>(c.type));
  w.field_list_begin(2, CType::i32, c.encodings.size());
  for (const auto e : c.encodings) w.elem_i32(static_cast<int32_t>(e));
  w.field_list_begin(3, CType::binary, 1);
  w.elem_binary(c.path);
  w.field_i32(4, c.codec);
  w.field_i64(5, c.num_values);
  w.field_i64(6, c.total_uncompressed_size);
  w.field_i64(7, c.total_compressed_size);
  w.field_i64(9, c.data_page_offset);
  if (c.dictionary_page_offset) w.field_i64(11, *c.dictionary_page_offset);
  write_statistics(w, 12, c.statistics);
  w.field_list_begin(13, CType::structure, c.encoding_stats.size());
  for (const auto& s : c.encoding_stats) {
    w.struct_begin();
    w.field_i32(1, static_cast<int32_t>(s.page_type));
    w.field_i32(2, static_cast<int32_t>(s.encoding));
    w.field_i32(3, s.count);
    w.struct_end();
  }
  w.struct_end();  // meta_data
  w.struct_end();  // ColumnChunk
}

}  // namespace

void serialize(const PageHeader& h, thrift::Bytes& out) {
  CompactWriter w(out);
  w.struct_begin();
  w.field_i32(1, static_cast<int32_t>(h.type));
  w.field_i32(2, h.uncompressed_page_size);
  w.field_i32(3, h.compressed_page_size);
  if (h.crc) w.field_i32(4, static_cast<int32_t>(*h.crc));
  if (h.type == PageType::data_page) {
    w.field_struct_begin(5);  // data_page_header
    w.field_i32(1, h.num_values);
    w.field_i32(2, static_cast<int32_t>(h.encoding));
    w.field_i32(3, static_cast<int32_t>(Encoding::rle));  // definition levels
    w.field_i32(4, static_cast<int32_t>(Encoding::rle));  // repetition levels (none written)
    w.struct_end();
  } else {
    w.field_struct_begin(7);  // dictionary_page_header
    w.field_i32(1, h.num_values);
    w.field_i32(2, static_cast<int32_t>(h.encoding));
    w.struct_end();
  }
  w.struct_end();
}

void serialize(const FileMeta& m, thrift::Bytes& out) {
  const Schema& schema = *m.schema;
  CompactWriter w(out);
  w.struct_begin();
  w.field_i32(1, 1);  // version
  w.field_list_begin(2, CType::structure, schema.size() + 1);
  w.struct_begin();  // the root
  w.field_binary(4, "schema");
  w.field_i32(5, static_cast<int32_t>(schema.size()));
  w.struct_end();
  for (const auto& c : schema) write_schema_element(w, c);
  w.field_i64(3, m.num_rows);
  w.field_list_begin(4, CType::structure, m.row_groups->size());
  for (const auto& rg : *m.row_groups) {
    w.struct_begin();
    w.field_list_begin(1, CType::structure, rg.columns.size());
    for (const auto& c : rg.columns) write_column_chunk(w, c);
    w.field_i64(2, rg.total_byte_size);
    w.field_i64(3, rg.num_rows);
    w.field_i64(5, rg.file_offset);
    w.field_i64(6, rg.total_compressed_size);
    if (rg.ordinal) w.field_i16(7, *rg.ordinal);
    w.struct_end();
  }
  if (m.key_value_metadata && !m.key_value_metadata->empty()) {
    w.field_list_begin(5, CType::structure, m.key_value_metadata->size());
    for (const auto& [k, v] : *m.key_value_metadata) {
      w.struct_begin();
      w.field_binary(1, k);
      w.field_binary(2, v);
      w.struct_end();
    }
  }
  if (!m.created_by.empty()) w.field_binary(6, m.created_by);
  w.field_list_begin(7, CType::structure, schema.size());  // column_orders
  for (size_t i = 0; i < schema.size(); ++i) {
    w.struct_begin();
    w.field_empty_struct(1);  // TYPE_ORDER
    w.struct_end();
  }
  w.struct_end();
}

}  // namespace pipekit::parquet::detail
