#pragma once
// CQL values from JSON: each column type's [value] encoding, null vs unset,
// and Murmur3 tokens for routing. A value that does not fit its column type
// is a ValueError (the record is rejected with its message), never a crash.
#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "pipekit/cql/protocol.hpp"

namespace pipekit::cql {

struct ValueError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Appends one [value] (i32 length + bytes) for `v` as type `t`. JSON null
// inside a collection is an error; at the top level the caller decides
// (cqlload sends unset: no tombstone). Strings are accepted for every scalar
// type in the type's CQL literal form ("42", "2024-05-01T10:00:00Z",
// "0xcafe" or base64 for blobs); objects and arrays into a text column are
// stored as minified JSON.
void encode_value(std::string& out, const Type& t, simdjson::dom::element v);
// The same from text (map keys, envelope coordinates).
void encode_text(std::string& out, const Type& t, std::string_view text);
void encode_int64(std::string& out, const Type& t, int64_t v);

// Cell bytes back to JSON text (reading rows back, tests, the peer).
std::string decode_to_json(const Type& t, std::string_view bytes);

// Parses "2024-05-01T10:00:00.123Z", "2024-05-01 10:00:00+02:00",
// "2024-05-01" into ms since the epoch; nullopt when malformed.
std::optional<int64_t> parse_timestamp_ms(std::string_view s);
std::optional<int32_t> parse_date_days(std::string_view s);  // days since 1970-01-01

// Cassandra's Murmur3Partitioner token of a serialized partition key.
int64_t murmur3_token(std::string_view key);
// The partition key bytes from its components' [value]s: one component is its
// bytes; several are each u16 length + bytes + 0x00.
std::string routing_key(const std::vector<std::string_view>& components);

}  // namespace pipekit::cql
