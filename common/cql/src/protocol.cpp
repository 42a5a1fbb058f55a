#include "pipekit/cql/protocol.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace pipekit::cql {

const char* opcode_name(uint8_t op) {
  switch (static_cast<Opcode>(op)) {
    case Opcode::error: return "ERROR";
    case Opcode::startup: return "STARTUP";
    case Opcode::ready: return "READY";
    case Opcode::authenticate: return "AUTHENTICATE";
    case Opcode::options: return "OPTIONS";
    case Opcode::supported: return "SUPPORTED";
    case Opcode::query: return "QUERY";
    case Opcode::result: return "RESULT";
    case Opcode::prepare: return "PREPARE";
    case Opcode::execute: return "EXECUTE";
    case Opcode::register_: return "REGISTER";
    case Opcode::event: return "EVENT";
    case Opcode::batch: return "BATCH";
    case Opcode::auth_challenge: return "AUTH_CHALLENGE";
    case Opcode::auth_response: return "AUTH_RESPONSE";
    case Opcode::auth_success: return "AUTH_SUCCESS";
  }
  return "UNKNOWN";
}

namespace {
const char* const kConsistencyNames[] = {"ANY",          "ONE",         "TWO",    "THREE",
                                         "QUORUM",       "ALL",         "LOCAL_QUORUM",
                                         "EACH_QUORUM",  "SERIAL",      "LOCAL_SERIAL",
                                         "LOCAL_ONE"};
}

std::optional<Consistency> parse_consistency(std::string_view name) {
  std::string up;
  for (char c : name) up += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (uint16_t i = 0; i < std::size(kConsistencyNames); ++i)
    if (up == kConsistencyNames[i]) return static_cast<Consistency>(i);
  return std::nullopt;
}

std::string consistency_name(uint16_t c) {
  if (c < std::size(kConsistencyNames)) return kConsistencyNames[c];
  return fmt::format("consistency {}", c);
}

FrameHeader parse_header(const uint8_t* p) {
  FrameHeader h;
  h.version = p[0];
  h.flags = p[1];
  h.stream = static_cast<int16_t>((p[2] << 8) | p[3]);
  h.opcode = p[4];
  h.length = (uint32_t(p[5]) << 24) | (uint32_t(p[6]) << 16) | (uint32_t(p[7]) << 8) | p[8];
  return h;
}

namespace wire {
void u8(std::string& o, uint8_t v) { o.push_back(static_cast<char>(v)); }
void u16(std::string& o, uint16_t v) {
  char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  o.append(b, 2);
}
void i32(std::string& o, int32_t v) {
  uint32_t u = static_cast<uint32_t>(v);
  char b[4] = {static_cast<char>(u >> 24), static_cast<char>(u >> 16), static_cast<char>(u >> 8),
               static_cast<char>(u)};
  o.append(b, 4);
}
void i64(std::string& o, int64_t v) {
  uint64_t u = static_cast<uint64_t>(v);
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(u >> (56 - 8 * i));
  o.append(b, 8);
}
void string(std::string& o, std::string_view s) {
  u16(o, static_cast<uint16_t>(s.size()));
  o.append(s);
}
void long_string(std::string& o, std::string_view s) {
  i32(o, static_cast<int32_t>(s.size()));
  o.append(s);
}
void bytes(std::string& o, std::string_view s) {
  i32(o, static_cast<int32_t>(s.size()));
  o.append(s);
}
void null_bytes(std::string& o) { i32(o, -1); }
void unset_value(std::string& o) { i32(o, -2); }
void short_bytes(std::string& o, std::string_view s) {
  u16(o, static_cast<uint16_t>(s.size()));
  o.append(s);
}
void string_map(std::string& o, const std::vector<std::pair<std::string, std::string>>& m) {
  u16(o, static_cast<uint16_t>(m.size()));
  for (const auto& [k, v] : m) {
    string(o, k);
    string(o, v);
  }
}
void put_i32_at(std::string& o, size_t pos, int32_t v) {
  uint32_t u = static_cast<uint32_t>(v);
  o[pos] = static_cast<char>(u >> 24);
  o[pos + 1] = static_cast<char>(u >> 16);
  o[pos + 2] = static_cast<char>(u >> 8);
  o[pos + 3] = static_cast<char>(u);
}
}  // namespace wire

size_t begin_frame(std::string& out, int16_t stream, Opcode op, uint8_t flags) {
  size_t start = out.size();
  wire::u8(out, kVersion);
  wire::u8(out, flags);
  wire::u16(out, static_cast<uint16_t>(stream));
  wire::u8(out, static_cast<uint8_t>(op));
  wire::i32(out, 0);
  return start;
}

void finish_frame(std::string& out, size_t start) {
  wire::put_i32_at(out, start + 5, static_cast<int32_t>(out.size() - start - kHeaderSize));
}

// ---- Reader -----------------------------------------------------------------
void Reader::need(size_t n) const {
  if (static_cast<size_t>(end_ - p_) < n)
    throw ProtocolError(fmt::format("truncated message: needed {} more bytes, {} left", n, end_ - p_));
}
uint8_t Reader::u8() {
  need(1);
  return *p_++;
}
uint16_t Reader::u16() {
  need(2);
  uint16_t v = static_cast<uint16_t>((p_[0] << 8) | p_[1]);
  p_ += 2;
  return v;
}
int32_t Reader::i32() {
  need(4);
  uint32_t v = (uint32_t(p_[0]) << 24) | (uint32_t(p_[1]) << 16) | (uint32_t(p_[2]) << 8) | p_[3];
  p_ += 4;
  return static_cast<int32_t>(v);
}
int64_t Reader::i64() {
  need(8);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p_[i];
  p_ += 8;
  return static_cast<int64_t>(v);
}
std::string_view Reader::raw(size_t n) {
  need(n);
  std::string_view s(reinterpret_cast<const char*>(p_), n);
  p_ += n;
  return s;
}
std::string Reader::string() { return std::string(raw(u16())); }
std::string Reader::long_string() {
  int32_t n = i32();
  if (n < 0) throw ProtocolError("negative [long string] length");
  return std::string(raw(static_cast<size_t>(n)));
}
std::optional<std::string_view> Reader::bytes() {
  int32_t n = i32();
  if (n < 0) return std::nullopt;
  return raw(static_cast<size_t>(n));
}
std::string Reader::short_bytes() { return std::string(raw(u16())); }
std::vector<std::string> Reader::string_list() {
  uint16_t n = u16();
  std::vector<std::string> v;
  v.reserve(n);
  for (uint16_t i = 0; i < n; ++i) v.push_back(string());
  return v;
}
std::vector<std::pair<std::string, std::vector<std::string>>> Reader::string_multimap() {
  uint16_t n = u16();
  std::vector<std::pair<std::string, std::vector<std::string>>> v;
  for (uint16_t i = 0; i < n; ++i) {
    std::string k = string();
    v.emplace_back(std::move(k), string_list());
  }
  return v;
}
std::string Reader::inet() {
  uint8_t n = u8();
  if (n != 4 && n != 16) throw ProtocolError("bad [inet] address size");
  std::string_view a = raw(n);
  int32_t port = i32();
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(n == 4 ? AF_INET : AF_INET6, a.data(), text, sizeof text);
  return fmt::format("{}:{}", text, port);
}

// ---- types ------------------------------------------------------------------
Type read_type(Reader& r) {
  Type t;
  t.id = static_cast<TypeId>(r.u16());
  switch (t.id) {
    case TypeId::custom: t.custom = r.string(); break;
    case TypeId::list:
    case TypeId::set: t.params.push_back(read_type(r)); break;
    case TypeId::map:
      t.params.push_back(read_type(r));
      t.params.push_back(read_type(r));
      break;
    case TypeId::udt: {
      t.udt_keyspace = r.string();
      t.udt_name = r.string();
      uint16_t n = r.u16();
      for (uint16_t i = 0; i < n; ++i) {
        t.field_names.push_back(r.string());
        t.params.push_back(read_type(r));
      }
      break;
    }
    case TypeId::tuple: {
      uint16_t n = r.u16();
      for (uint16_t i = 0; i < n; ++i) t.params.push_back(read_type(r));
      break;
    }
    default:
      if (static_cast<uint16_t>(t.id) > 0x0015) throw ProtocolError(fmt::format("unknown type id 0x{:04x}", static_cast<uint16_t>(t.id)));
  }
  return t;
}

void write_type(std::string& o, const Type& t) {
  wire::u16(o, static_cast<uint16_t>(t.id));
  switch (t.id) {
    case TypeId::custom: wire::string(o, t.custom); break;
    case TypeId::list:
    case TypeId::set:
    case TypeId::map:
      for (const auto& p : t.params) write_type(o, p);
      break;
    case TypeId::udt:
      wire::string(o, t.udt_keyspace);
      wire::string(o, t.udt_name);
      wire::u16(o, static_cast<uint16_t>(t.params.size()));
      for (size_t i = 0; i < t.params.size(); ++i) {
        wire::string(o, t.field_names[i]);
        write_type(o, t.params[i]);
      }
      break;
    case TypeId::tuple:
      wire::u16(o, static_cast<uint16_t>(t.params.size()));
      for (const auto& p : t.params) write_type(o, p);
      break;
    default: break;
  }
}

std::string type_name(const Type& t) {
  switch (t.id) {
    case TypeId::custom: return "'" + t.custom + "'";
    case TypeId::ascii: return "ascii";
    case TypeId::bigint: return "bigint";
    case TypeId::blob: return "blob";
    case TypeId::boolean: return "boolean";
    case TypeId::counter: return "counter";
    case TypeId::decimal: return "decimal";
    case TypeId::double_: return "double";
    case TypeId::float_: return "float";
    case TypeId::int_: return "int";
    case TypeId::timestamp: return "timestamp";
    case TypeId::uuid: return "uuid";
    case TypeId::varchar: return "text";
    case TypeId::varint: return "varint";
    case TypeId::timeuuid: return "timeuuid";
    case TypeId::inet: return "inet";
    case TypeId::date: return "date";
    case TypeId::time: return "time";
    case TypeId::smallint: return "smallint";
    case TypeId::tinyint: return "tinyint";
    case TypeId::duration: return "duration";
    case TypeId::list: return "list<" + type_name(t.params.at(0)) + ">";
    case TypeId::set: return "set<" + type_name(t.params.at(0)) + ">";
    case TypeId::map: return "map<" + type_name(t.params.at(0)) + ", " + type_name(t.params.at(1)) + ">";
    case TypeId::udt: return t.udt_keyspace + "." + t.udt_name;
    case TypeId::tuple: {
      std::string s = "tuple<";
      for (size_t i = 0; i < t.params.size(); ++i) s += (i ? ", " : "") + type_name(t.params[i]);
      return s + ">";
    }
  }
  return "?";
}

namespace {
constexpr int32_t kGlobalTablesSpec = 0x0001, kHasMorePages = 0x0002, kNoMetadata = 0x0004;

// More columns than a statement can bind (a [short] count) is no real result.
constexpr int32_t kMaxResultColumns = 65535;

void read_columns(Reader& r, RowsMetadata& m, int32_t count) {
  if (count < 0) throw ProtocolError("negative column count");
  std::string gks, gtable;
  if (m.flags & kGlobalTablesSpec) {
    gks = r.string();
    gtable = r.string();
  }
  for (int32_t i = 0; i < count; ++i) {
    Column c;
    if (m.flags & kGlobalTablesSpec) {
      c.keyspace = gks;
      c.table = gtable;
    } else {
      c.keyspace = r.string();
      c.table = r.string();
    }
    c.name = r.string();
    c.type = read_type(r);
    m.columns.push_back(std::move(c));
  }
}

RowsMetadata read_rows_metadata(Reader& r) {
  RowsMetadata m;
  m.flags = r.i32();
  int32_t count = r.i32();
  if (m.flags & kHasMorePages) {
    auto ps = r.bytes();
    if (ps) m.paging_state = std::string(*ps);
  }
  if (m.flags & kNoMetadata) {
    // Nothing in the frame backs this count: bound it before allocating
    // (a server's 2^31 was 2^31 Columns: found by fuzzing, out of memory).
    if (count < 0 || count > kMaxResultColumns)
      throw ProtocolError("column count " + std::to_string(count) + " out of range (0-" +
                          std::to_string(kMaxResultColumns) + ")");
    m.columns.resize(static_cast<size_t>(count));
    return m;
  }
  read_columns(r, m, count);
  return m;
}

RowsMetadata read_prepared_metadata(Reader& r) {
  RowsMetadata m;
  m.flags = r.i32();
  int32_t count = r.i32();
  int32_t pk_count = r.i32();
  for (int32_t i = 0; i < pk_count; ++i) m.pk_indexes.push_back(r.u16());
  read_columns(r, m, count);
  return m;
}
}  // namespace

Result decode_result(std::string_view body) {
  Reader r(body);
  Result res;
  res.kind = static_cast<ResultKind>(r.i32());
  switch (res.kind) {
    case ResultKind::void_: break;
    case ResultKind::rows: {
      res.rows.meta = read_rows_metadata(r);
      int32_t n = r.i32();
      size_t cols = res.rows.meta.columns.size();
      res.rows.rows.reserve(static_cast<size_t>(std::max(n, 0)));
      for (int32_t i = 0; i < n; ++i) {
        std::vector<std::optional<std::string>> row;
        row.reserve(cols);
        for (size_t c = 0; c < cols; ++c) {
          auto b = r.bytes();
          row.push_back(b ? std::optional<std::string>(std::string(*b)) : std::nullopt);
        }
        res.rows.rows.push_back(std::move(row));
      }
      break;
    }
    case ResultKind::set_keyspace: res.keyspace = r.string(); break;
    case ResultKind::prepared:
      res.prepared.id = r.short_bytes();
      res.prepared.bind = read_prepared_metadata(r);
      res.prepared.result = read_rows_metadata(r);
      break;
    case ResultKind::schema_change: {
      auto& c = res.change;
      c.change = r.string();
      c.target = r.string();
      c.keyspace = r.string();
      if (c.target == "TABLE" || c.target == "TYPE") c.name = r.string();
      if (c.target == "FUNCTION" || c.target == "AGGREGATE") {
        c.name = r.string();
        c.arguments = r.string_list();
      }
      break;
    }
    default: throw ProtocolError(fmt::format("unknown RESULT kind {}", static_cast<int32_t>(res.kind)));
  }
  return res;
}

// ---- errors -----------------------------------------------------------------
const char* error_code_name(int32_t code) {
  switch (code) {
    case errc::server: return "SERVER_ERROR";
    case errc::protocol: return "PROTOCOL_ERROR";
    case errc::bad_credentials: return "BAD_CREDENTIALS";
    case errc::unavailable: return "UNAVAILABLE";
    case errc::overloaded: return "OVERLOADED";
    case errc::is_bootstrapping: return "IS_BOOTSTRAPPING";
    case errc::truncate: return "TRUNCATE_ERROR";
    case errc::write_timeout: return "WRITE_TIMEOUT";
    case errc::read_timeout: return "READ_TIMEOUT";
    case errc::read_failure: return "READ_FAILURE";
    case errc::function_failure: return "FUNCTION_FAILURE";
    case errc::write_failure: return "WRITE_FAILURE";
    case errc::syntax: return "SYNTAX_ERROR";
    case errc::unauthorized: return "UNAUTHORIZED";
    case errc::invalid: return "INVALID";
    case errc::config: return "CONFIG_ERROR";
    case errc::already_exists: return "ALREADY_EXISTS";
    case errc::unprepared: return "UNPREPARED";
    case errc::cdc_write_failure: return "CDC_WRITE_FAILURE";
    case errc::cas_write_unknown: return "CAS_WRITE_UNKNOWN";
  }
  return "UNKNOWN_ERROR";
}

ServerError decode_error(std::string_view body) {
  Reader r(body);
  ServerError e;
  e.code = r.i32();
  e.message = r.string();
  switch (e.code) {
    case errc::unavailable: {
      uint16_t cl = r.u16();
      int32_t required = r.i32(), alive = r.i32();
      e.detail = fmt::format("consistency {}, {} replicas required, {} alive", consistency_name(cl), required, alive);
      break;
    }
    case errc::write_timeout: {
      uint16_t cl = r.u16();
      int32_t received = r.i32(), block_for = r.i32();
      e.write_type = r.string();
      e.detail = fmt::format("consistency {}, {} of {} acknowledged, write type {}", consistency_name(cl),
                             received, block_for, e.write_type);
      break;
    }
    case errc::read_timeout: {
      uint16_t cl = r.u16();
      int32_t received = r.i32(), block_for = r.i32();
      uint8_t present = r.u8();
      e.detail = fmt::format("consistency {}, {} of {} responded, data {}present", consistency_name(cl),
                             received, block_for, present ? "" : "not ");
      break;
    }
    case errc::read_failure: {
      uint16_t cl = r.u16();
      int32_t received = r.i32(), block_for = r.i32(), failures = r.i32();
      uint8_t present = r.u8();
      e.detail = fmt::format("consistency {}, {} of {} responded, {} failed, data {}present",
                             consistency_name(cl), received, block_for, failures, present ? "" : "not ");
      break;
    }
    case errc::function_failure: {
      std::string ks = r.string(), fn = r.string();
      auto args = r.string_list();
      e.detail = fmt::format("function {}.{}({})", ks, fn, fmt::join(args, ", "));
      break;
    }
    case errc::write_failure: {
      uint16_t cl = r.u16();
      int32_t received = r.i32(), block_for = r.i32(), failures = r.i32();
      e.write_type = r.string();
      e.detail = fmt::format("consistency {}, {} of {} acknowledged, {} failed, write type {}",
                             consistency_name(cl), received, block_for, failures, e.write_type);
      break;
    }
    case errc::already_exists: {
      std::string ks = r.string(), table = r.string();
      e.detail = table.empty() ? fmt::format("keyspace {}", ks) : fmt::format("table {}.{}", ks, table);
      break;
    }
    case errc::unprepared: e.unprepared_id = r.short_bytes(); break;
    default: break;
  }
  return e;
}

bool ServerError::transient() const {
  switch (code) {
    case errc::protocol:
    case errc::bad_credentials:
    case errc::syntax:
    case errc::unauthorized:
    case errc::invalid:
    case errc::config:
    case errc::already_exists:
    case errc::unprepared:
    case errc::function_failure:
      return false;
    default: return true;  // SERVER_ERROR, UNAVAILABLE, OVERLOADED, *_TIMEOUT, *_FAILURE, TRUNCATE, CDC, CAS, unknown
  }
}

std::string ServerError::describe() const {
  std::string s = fmt::format("{} (0x{:04x}): {}", error_code_name(code), code, message);
  if (!detail.empty()) s += " [" + detail + "]";
  return s;
}

// ---- requests ---------------------------------------------------------------
void encode_startup(std::string& out, int16_t stream,
                    const std::vector<std::pair<std::string, std::string>>& options) {
  size_t f = begin_frame(out, stream, Opcode::startup);
  wire::string_map(out, options);
  finish_frame(out, f);
}

void encode_options(std::string& out, int16_t stream) {
  size_t f = begin_frame(out, stream, Opcode::options);
  finish_frame(out, f);
}

void encode_auth_response(std::string& out, int16_t stream, std::string_view token) {
  size_t f = begin_frame(out, stream, Opcode::auth_response);
  wire::bytes(out, token);
  finish_frame(out, f);
}

std::string plain_token(std::string_view user, std::string_view password) {
  std::string t;
  t.push_back('\0');
  t.append(user);
  t.push_back('\0');
  t.append(password);
  return t;
}

void encode_register(std::string& out, int16_t stream, const std::vector<std::string>& events) {
  size_t f = begin_frame(out, stream, Opcode::register_);
  wire::u16(out, static_cast<uint16_t>(events.size()));
  for (const auto& e : events) wire::string(out, e);
  finish_frame(out, f);
}

namespace {
void query_parameters(std::string& out, Consistency c, std::string_view values, uint16_t count,
                      uint8_t extra_flags, int32_t page_size) {
  wire::u16(out, static_cast<uint16_t>(c));
  uint8_t flags = extra_flags;
  if (count > 0) flags |= qflag::values;
  if (page_size > 0) flags |= qflag::page_size;
  wire::u8(out, flags);
  if (count > 0) {
    wire::u16(out, count);
    out.append(values);
  }
  if (page_size > 0) wire::i32(out, page_size);
}
}  // namespace

void encode_query(std::string& out, int16_t stream, std::string_view cql, Consistency c,
                  std::string_view values, uint16_t count, int32_t page_size) {
  size_t f = begin_frame(out, stream, Opcode::query);
  wire::long_string(out, cql);
  query_parameters(out, c, values, count, 0, page_size);
  finish_frame(out, f);
}

void encode_prepare(std::string& out, int16_t stream, std::string_view cql) {
  size_t f = begin_frame(out, stream, Opcode::prepare);
  wire::long_string(out, cql);
  finish_frame(out, f);
}

void encode_execute(std::string& out, int16_t stream, std::string_view id, Consistency c,
                    std::string_view values, uint16_t count, bool skip_metadata) {
  size_t f = begin_frame(out, stream, Opcode::execute);
  wire::short_bytes(out, id);
  query_parameters(out, c, values, count, skip_metadata ? qflag::skip_metadata : 0, -1);
  finish_frame(out, f);
}

void encode_batch(std::string& out, int16_t stream, BatchType type,
                  const std::vector<BatchEntry>& entries, Consistency c) {
  size_t f = begin_frame(out, stream, Opcode::batch);
  wire::u8(out, static_cast<uint8_t>(type));
  wire::u16(out, static_cast<uint16_t>(entries.size()));
  for (const auto& e : entries) {
    wire::u8(out, 1);  // kind 1: a prepared statement id
    wire::short_bytes(out, e.id);
    wire::u16(out, e.count);
    out.append(e.values);
  }
  wire::u16(out, static_cast<uint16_t>(c));
  wire::u8(out, 0);  // flags: no serial consistency, no timestamp
  finish_frame(out, f);
}

std::string decode_authenticate(std::string_view body) {
  Reader r(body);
  return r.string();
}

std::vector<std::pair<std::string, std::vector<std::string>>> decode_supported(std::string_view body) {
  Reader r(body);
  return r.string_multimap();
}

std::optional<std::string> decode_auth_token(std::string_view body) {
  Reader r(body);
  auto b = r.bytes();
  if (!b) return std::nullopt;
  return std::string(*b);
}

}  // namespace pipekit::cql
