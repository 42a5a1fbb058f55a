#pragma once
// CQL native protocol v4: frames, the primitive notations of the spec
// ([int], [string], [bytes], [value], ...), request encoders and response
// decoders. Pure byte work, no I/O: the connection (session.hpp) moves the
// frames. Everything is big-endian, as the spec says.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pipekit::cql {

inline constexpr uint8_t kVersion = 4;          // request frames; responses carry 0x84
inline constexpr size_t kHeaderSize = 9;
inline constexpr uint32_t kMaxFrameBody = 256u << 20;  // the spec's 256 MB limit

enum class Opcode : uint8_t {
  error = 0x00, startup = 0x01, ready = 0x02, authenticate = 0x03, options = 0x05,
  supported = 0x06, query = 0x07, result = 0x08, prepare = 0x09, execute = 0x0A,
  register_ = 0x0B, event = 0x0C, batch = 0x0D, auth_challenge = 0x0E,
  auth_response = 0x0F, auth_success = 0x10,
};
const char* opcode_name(uint8_t op);

enum class Consistency : uint16_t {
  any = 0, one = 1, two = 2, three = 3, quorum = 4, all = 5, local_quorum = 6,
  each_quorum = 7, serial = 8, local_serial = 9, local_one = 10,
};
// "LOCAL_QUORUM", "local_quorum", "quorum"...; nullopt when unknown.
std::optional<Consistency> parse_consistency(std::string_view name);
std::string consistency_name(uint16_t c);

// A malformed or truncated frame from the peer (a protocol violation).
struct ProtocolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct FrameHeader {
  uint8_t version = 0;   // 0x84 for a v4 response
  uint8_t flags = 0;
  int16_t stream = 0;
  uint8_t opcode = 0;
  uint32_t length = 0;   // of the body
};
FrameHeader parse_header(const uint8_t* p);  // kHeaderSize bytes

// ---- writing the primitive notations --------------------------------------
namespace wire {
void u8(std::string& o, uint8_t v);
void u16(std::string& o, uint16_t v);
void i32(std::string& o, int32_t v);
void i64(std::string& o, int64_t v);
void string(std::string& o, std::string_view s);       // [string]: u16 length
void long_string(std::string& o, std::string_view s);  // [long string]: i32 length
void bytes(std::string& o, std::string_view s);        // [bytes]: i32 length
void null_bytes(std::string& o);                       // [bytes] of length -1
void unset_value(std::string& o);                      // [value] of length -2
void short_bytes(std::string& o, std::string_view s);  // [short bytes]
void string_map(std::string& o, const std::vector<std::pair<std::string, std::string>>& m);
void put_i32_at(std::string& o, size_t pos, int32_t v);
}  // namespace wire

// Starts a request frame in `out` (appending); returns the frame's start so
// that finish_frame can patch the body length.
size_t begin_frame(std::string& out, int16_t stream, Opcode op, uint8_t flags = 0);
void finish_frame(std::string& out, size_t start);

// ---- reading ----------------------------------------------------------------
class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}
  explicit Reader(std::string_view s)
      : Reader(reinterpret_cast<const uint8_t*>(s.data()), s.size()) {}
  uint8_t u8();
  uint16_t u16();
  int32_t i32();
  int64_t i64();
  std::string string();
  std::string long_string();
  std::optional<std::string_view> bytes();  // nullopt for a null (negative length)
  std::string short_bytes();
  std::vector<std::string> string_list();
  std::vector<std::pair<std::string, std::vector<std::string>>> string_multimap();
  std::string inet();  // [inet] as text "addr:port"
  std::string_view raw(size_t n);
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

 private:
  void need(size_t n) const;
  const uint8_t* p_;
  const uint8_t* end_;
};

// ---- types -----------------------------------------------------------------
enum class TypeId : uint16_t {
  custom = 0x0000, ascii = 0x0001, bigint = 0x0002, blob = 0x0003, boolean = 0x0004,
  counter = 0x0005, decimal = 0x0006, double_ = 0x0007, float_ = 0x0008, int_ = 0x0009,
  timestamp = 0x000B, uuid = 0x000C, varchar = 0x000D, varint = 0x000E,
  timeuuid = 0x000F, inet = 0x0010, date = 0x0011, time = 0x0012, smallint = 0x0013,
  tinyint = 0x0014, duration = 0x0015, list = 0x0020, map = 0x0021, set = 0x0022,
  udt = 0x0030, tuple = 0x0031,
};

struct Type {
  TypeId id = TypeId::varchar;
  std::string custom;                    // class name for custom
  std::vector<Type> params;              // list/set: 1, map: 2, tuple/udt: fields
  std::vector<std::string> field_names;  // udt
  std::string udt_keyspace, udt_name;
};
Type read_type(Reader& r);
void write_type(std::string& o, const Type& t);
std::string type_name(const Type& t);  // CQL spelling: "map<text, int>"

struct Column {
  std::string keyspace, table, name;
  Type type;
};

struct RowsMetadata {
  int32_t flags = 0;
  std::vector<Column> columns;
  std::optional<std::string> paging_state;
  std::vector<uint16_t> pk_indexes;  // prepared bind metadata only
};

struct Rows {
  RowsMetadata meta;
  std::vector<std::vector<std::optional<std::string>>> rows;  // raw cell bytes
};

struct Prepared {
  std::string id;
  RowsMetadata bind;     // the bind markers, with pk_indexes
  RowsMetadata result;
};

struct SchemaChange {
  std::string change, target, keyspace, name;
  std::vector<std::string> arguments;
};

enum class ResultKind : int32_t { void_ = 1, rows = 2, set_keyspace = 3, prepared = 4, schema_change = 5 };

struct Result {
  ResultKind kind = ResultKind::void_;
  Rows rows;
  std::string keyspace;
  Prepared prepared;
  SchemaChange change;
};
Result decode_result(std::string_view body);

// ---- errors -----------------------------------------------------------------
namespace errc {
inline constexpr int32_t server = 0x0000, protocol = 0x000A, bad_credentials = 0x0100,
    unavailable = 0x1000, overloaded = 0x1001, is_bootstrapping = 0x1002,
    truncate = 0x1003, write_timeout = 0x1100, read_timeout = 0x1200,
    read_failure = 0x1300, function_failure = 0x1400, write_failure = 0x1500,
    syntax = 0x2000, unauthorized = 0x2100, invalid = 0x2200, config = 0x2300,
    already_exists = 0x2400, unprepared = 0x2500,
    cdc_write_failure = 0x1600, cas_write_unknown = 0x1700;
}
const char* error_code_name(int32_t code);  // "WRITE_TIMEOUT"

struct ServerError {
  int32_t code = 0;
  std::string message;
  std::string detail;         // the code-specific fields, rendered as text
  std::string unprepared_id;  // UNPREPARED: the id the node does not know
  std::string write_type;     // WRITE_TIMEOUT / WRITE_FAILURE
  // Transient: worth retrying the same request later. Every code that is
  // not about the request itself (syntax, auth, invalid, schema) counts,
  // including codes this client does not know: a cluster problem is never
  // a record's fault.
  bool transient() const;
  // "WRITE_TIMEOUT (0x1100): <message> [detail]"
  std::string describe() const;
};
ServerError decode_error(std::string_view body);

// ---- requests ---------------------------------------------------------------
// Query parameter flags (v4).
namespace qflag {
inline constexpr uint8_t values = 0x01, skip_metadata = 0x02, page_size = 0x04,
    paging_state = 0x08, serial_consistency = 0x10, default_timestamp = 0x20, names = 0x40;
}
enum class BatchType : uint8_t { logged = 0, unlogged = 1, counter = 2 };

void encode_startup(std::string& out, int16_t stream,
                    const std::vector<std::pair<std::string, std::string>>& options);
void encode_options(std::string& out, int16_t stream);
void encode_auth_response(std::string& out, int16_t stream, std::string_view token);
// The SASL PLAIN token: "\0user\0password".
std::string plain_token(std::string_view user, std::string_view password);
void encode_register(std::string& out, int16_t stream, const std::vector<std::string>& events);
// `values` is `count` [value]s already encoded (types.hpp); count 0: no values.
void encode_query(std::string& out, int16_t stream, std::string_view cql, Consistency c,
                  std::string_view values = {}, uint16_t count = 0, int32_t page_size = -1);
void encode_prepare(std::string& out, int16_t stream, std::string_view cql);
void encode_execute(std::string& out, int16_t stream, std::string_view id, Consistency c,
                    std::string_view values, uint16_t count, bool skip_metadata = true);

struct BatchEntry {
  std::string_view id;      // prepared statement id
  std::string_view values;  // encoded [value]s
  uint16_t count = 0;
};
void encode_batch(std::string& out, int16_t stream, BatchType type,
                  const std::vector<BatchEntry>& entries, Consistency c);

// Response bodies other than RESULT and ERROR.
std::string decode_authenticate(std::string_view body);  // the authenticator class
std::vector<std::pair<std::string, std::vector<std::string>>> decode_supported(std::string_view body);
std::optional<std::string> decode_auth_token(std::string_view body);  // challenge/success

}  // namespace pipekit::cql
