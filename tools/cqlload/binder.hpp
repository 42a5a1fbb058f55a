#pragma once
// Record -> bound values: which field (or envelope coordinate, --map) fills
// each column of the INSERT, the values encoded as the prepared statement's
// types, the partition key's routing bytes, and the rejects of records that
// cannot become a row (bad_value, missing_field, too_large).
#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pipekit/cql/protocol.hpp"
#include "pipekit/envelope.hpp"
#include "pipekit/json.hpp"
#include "pipekit/rejects.hpp"
#include "row.hpp"

namespace pipekit::cqlload {

// Where a bound column's value comes from.
struct Source {
  EnvelopeField coordinate = EnvelopeField::none;  // none: a field of the record at `path`
  json::Path path;
};

struct BindColumn {
  std::string name;
  Source source;
  cql::Type type;  // from the prepared statement's bind metadata
};

// The INSERT's columns in table order, each filled from the same-named
// top-level field unless --map COLUMN=PATH says otherwise (PATH: a.b, /a/b, or
// @topic @partition @offset @key @timestamp with --envelope). Throws
// UsageError for a malformed --map, an unknown column, or @… without --envelope.
std::vector<BindColumn> bind_columns(const std::vector<std::string>& columns, const std::vector<std::string>& maps,
                                     bool envelope, const std::string& table_name);

// Why a record cannot become a row: a reject.
struct BindRefusal {
  RejectCode code;
  std::string reason;
  std::string extra;  // JSON members for the reject line ("column")
};

class Binder {
 public:
  Binder() = default;
  // `pk_binds`: the indexes of the partition key's columns, in key order.
  // `max_values`: what one frame carries of a record's values.
  Binder(std::vector<BindColumn> columns, std::vector<int> pk_binds, size_t max_values = kMaxFrameValues)
      : columns_(std::move(columns)), pk_binds_(std::move(pk_binds)), max_values_(max_values) {}

  // Encodes `value`'s fields (and `env`'s coordinates) into row.values, then
  // the write timestamp, and sets row.routing (the partition key's bytes) and
  // row.timestamp. A missing or null field is sent unset (no tombstone).
  std::optional<BindRefusal> bind(simdjson::dom::element value, const Envelope* env, int64_t timestamp,
                                  Row& row) const;
  // Bind markers of the INSERT: the columns and the write timestamp.
  size_t markers() const { return columns_.size() + 1; }
  const std::vector<BindColumn>& columns() const { return columns_; }

 private:
  void encode(const BindColumn& c, simdjson::dom::element value, const Envelope* env, std::string& out) const;
  std::vector<BindColumn> columns_;
  std::vector<int> pk_binds_;
  size_t max_values_ = kMaxFrameValues;
};

}  // namespace pipekit::cqlload
