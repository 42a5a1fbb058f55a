// cqlsink: a lean CQL v4 peer for benchmarks only (bench/cqlload).
// One table, given on the command line; answers what a loader needs
// (OPTIONS, STARTUP, REGISTER, system.local/peers/system_schema.columns,
// PREPARE of an INSERT, EXECUTE, BATCH), checks each frame's values and keeps
// the last row per partition key in memory. No auth, no faults: the Python
// peer (cqlpeer.py) is the one for tests. Single-threaded poll loop, so it
// is the same kind of peer for every client it is compared against.
//
//   cqlsink --port-file F --table ks.t --columns id:uuid:pk,name:text,...
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "pipekit/cql/protocol.hpp"

using namespace pipekit::cql;

namespace {

struct Col {
  std::string name, type;
  bool pk = false;
};

struct State {
  std::string ks, table;
  std::vector<Col> cols;
  std::string prepared_id = std::string("cqlsink-insert-1", 16);
  std::vector<int> bind_cols;  // INSERT order -> cols index
  bool timestamp_marker = false;  // USING TIMESTAMP ?: one more bind value, a bigint
  std::unordered_map<std::string, std::string> rows;
  uint64_t executes = 0, batches = 0, values = 0, frames = 0;
  size_t max_pending = 0;
} st;

volatile sig_atomic_t stop = 0;

Type type_from(const std::string& t) {
  static const std::map<std::string, TypeId> ids = {
      {"text", TypeId::varchar}, {"varchar", TypeId::varchar}, {"ascii", TypeId::ascii}, {"uuid", TypeId::uuid},
      {"timeuuid", TypeId::timeuuid}, {"int", TypeId::int_}, {"bigint", TypeId::bigint}, {"boolean", TypeId::boolean},
      {"double", TypeId::double_}, {"float", TypeId::float_}, {"timestamp", TypeId::timestamp}, {"date", TypeId::date},
      {"inet", TypeId::inet}, {"blob", TypeId::blob}, {"smallint", TypeId::smallint}, {"tinyint", TypeId::tinyint}};
  Type ty;
  if (t.rfind("list<", 0) == 0 || t.rfind("set<", 0) == 0) {
    ty.id = t[0] == 'l' ? TypeId::list : TypeId::set;
    ty.params.push_back(type_from(t.substr(t.find('<') + 1, t.size() - t.find('<') - 2)));
    return ty;
  }
  auto it = ids.find(t);
  if (it == ids.end()) {
    fprintf(stderr, "cqlsink: unsupported type %s\n", t.c_str());
    exit(2);
  }
  ty.id = it->second;
  return ty;
}

std::string rows_result(const std::vector<std::pair<std::string, Type>>& cols,
                        const std::vector<std::vector<std::optional<std::string>>>& rows) {
  std::string b;
  wire::i32(b, 2);
  wire::i32(b, 1);
  wire::i32(b, static_cast<int32_t>(cols.size()));
  wire::string(b, "system");
  wire::string(b, "x");
  for (auto& [n, t] : cols) {
    wire::string(b, n);
    write_type(b, t);
  }
  wire::i32(b, static_cast<int32_t>(rows.size()));
  for (auto& r : rows)
    for (auto& c : r) {
      if (c) wire::bytes(b, *c);
      else wire::null_bytes(b);
    }
  return b;
}

void error_body(std::string& b, int32_t code, const std::string& msg) {
  wire::i32(b, code);
  wire::string(b, msg);
}

// Reads n [value]s, checking lengths; returns the first value's bytes.
std::string_view read_values(Reader& r, uint16_t n) {
  std::string_view first;
  for (uint16_t i = 0; i < n; ++i) {
    int32_t len = r.i32();
    std::string_view v = len > 0 ? r.raw(static_cast<size_t>(len)) : std::string_view();
    if (i == 0) first = v;
  }
  st.values += n;
  return first;
}

// --- answers, one per request opcode; each fills the body b and returns the
// response opcode (0: ERROR) ---

uint8_t answer_options(std::string& b) {
  wire::u16(b, 2);
  wire::string(b, "CQL_VERSION");
  wire::u16(b, 1);
  wire::string(b, "3.4.5");
  wire::string(b, "COMPRESSION");
  wire::u16(b, 0);
  return static_cast<uint8_t>(Opcode::supported);
}

Type type_of(TypeId id) {
  Type t;
  t.id = id;
  return t;
}

// system.local: one node owning every token, on loopback.
std::string system_local_rows() {
  Type text;
  Type set_text = type_of(TypeId::set);
  set_text.params.push_back(text);
  Type uuid_t = type_of(TypeId::uuid);
  Type inet_t = type_of(TypeId::inet);
  std::string tokens;
  wire::i32(tokens, 1);
  wire::bytes(tokens, "0");
  std::string loopback("\x7f\x00\x00\x01", 4);
  std::string id(16, '\x11');
  return rows_result({{"key", text}, {"partitioner", text}, {"tokens", set_text}, {"schema_version", uuid_t},
                      {"release_version", text}, {"cluster_name", text}, {"data_center", text}, {"rack", text},
                      {"host_id", uuid_t}, {"rpc_address", inet_t}, {"broadcast_address", inet_t},
                      {"listen_address", inet_t}, {"cql_version", text}},
                     {{std::string("local"), std::string("org.apache.cassandra.dht.Murmur3Partitioner"), tokens,
                       id, std::string("4.0.0-cqlsink"), std::string("cqlsink"), std::string("dc1"),
                       std::string("r1"), id, loopback, loopback, loopback, std::string("3.4.5")}});
}

// system_schema.columns: the table's columns from the command line.
std::string schema_columns_rows() {
  Type text;
  Type int_t = type_of(TypeId::int_);
  std::vector<std::vector<std::optional<std::string>>> rows;
  for (auto& c : st.cols) {
    std::string pos;
    wire::i32(pos, c.pk ? 0 : -1);
    rows.push_back({c.name, std::string(c.pk ? "partition_key" : "regular"), pos, c.type});
  }
  return rows_result({{"column_name", text}, {"kind", text}, {"position", int_t}, {"type", text}}, rows);
}

// The system tables a loader reads at start (no peers_v2: a v4-era node);
// any other statement (CREATE ... IF NOT EXISTS) succeeds as a void result.
uint8_t answer_query(Reader& r, std::string& b) {
  std::string q = r.long_string();
  Type text;
  Type set_text = type_of(TypeId::set);
  set_text.params.push_back(text);
  Type inet_t = type_of(TypeId::inet);
  if (q.find("system.peers_v2") != std::string::npos) {
    error_body(b, errc::invalid, "unconfigured table peers_v2");
    return 0;
  }
  if (q.find("system.local") != std::string::npos) {
    b = system_local_rows();
    return static_cast<uint8_t>(Opcode::result);
  }
  if (q.find("system.peers") != std::string::npos) {
    b = rows_result({{"peer", inet_t}, {"rpc_address", inet_t}, {"tokens", set_text}}, {});
    return static_cast<uint8_t>(Opcode::result);
  }
  if (q.find("system_schema.columns") != std::string::npos) {
    b = schema_columns_rows();
    return static_cast<uint8_t>(Opcode::result);
  }
  if (q.find("system") != std::string::npos) {
    b = rows_result({{"keyspace_name", text}}, {});
    return static_cast<uint8_t>(Opcode::result);
  }
  wire::i32(b, 1);  // anything else (CREATE ... IF NOT EXISTS): void
  return static_cast<uint8_t>(Opcode::result);
}

// The prepared INSERT's metadata: its bind columns (partition key indexes
// among them), no result columns.
void prepared_result(std::string& b) {
  wire::i32(b, 4);
  wire::short_bytes(b, st.prepared_id);
  wire::i32(b, 1);
  wire::i32(b, static_cast<int32_t>(st.bind_cols.size() + (st.timestamp_marker ? 1 : 0)));
  std::vector<uint16_t> pk;
  for (size_t i = 0; i < st.bind_cols.size(); ++i)
    if (st.cols[static_cast<size_t>(st.bind_cols[i])].pk) pk.push_back(static_cast<uint16_t>(i));
  wire::i32(b, static_cast<int32_t>(pk.size()));
  for (auto i : pk) wire::u16(b, i);
  wire::string(b, st.ks);
  wire::string(b, st.table);
  for (int ci : st.bind_cols) {
    wire::string(b, st.cols[static_cast<size_t>(ci)].name);
    write_type(b, type_from(st.cols[static_cast<size_t>(ci)].type));
  }
  if (st.timestamp_marker) {
    wire::string(b, "[timestamp]");  // the name Cassandra gives it
    write_type(b, type_from("bigint"));
  }
  wire::i32(b, 4);
  wire::i32(b, 0);
}

// PREPARE of an INSERT: its column list becomes the bind order.
uint8_t answer_prepare(Reader& r, std::string& b) {
  std::string q = r.long_string();
  auto open = q.find('('), close = q.find(')');
  if (q.find("INSERT") == std::string::npos && q.find("insert") == std::string::npos) {
    error_body(b, errc::invalid, "cqlsink prepares INSERTs only");
    return 0;
  }
  st.bind_cols.clear();
  std::string upper = q;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  st.timestamp_marker = upper.find("TIMESTAMP ?") != std::string::npos;
  std::stringstream ss(q.substr(open + 1, close - open - 1));
  std::string name;
  while (std::getline(ss, name, ',')) {
    std::string clean;
    for (char c : name)
      if (c != '"' && c != ' ') clean += c;
    int found = -1;
    for (size_t i = 0; i < st.cols.size(); ++i)
      if (st.cols[i].name == clean) found = static_cast<int>(i);
    if (found < 0) {
      error_body(b, errc::invalid, "Undefined column name " + clean);
      return 0;
    }
    st.bind_cols.push_back(found);
  }
  prepared_result(b);
  return static_cast<uint8_t>(Opcode::result);
}

// EXECUTE: keeps the values, keyed by the first one.
uint8_t answer_execute(std::string_view in, Reader& r, std::string& b) {
  std::string id = r.short_bytes();
  r.u16();
  uint8_t flags = r.u8();
  uint16_t n = (flags & qflag::values) ? r.u16() : 0;
  std::string_view body = in.substr(in.size() - r.remaining());
  std::string_view key = read_values(r, n);
  st.rows[std::string(key)].assign(body);
  ++st.executes;
  wire::i32(b, 1);
  return static_cast<uint8_t>(Opcode::result);
}

// BATCH of prepared statements: keeps each one's values, keyed by the first.
uint8_t answer_batch(std::string_view in, Reader& r, std::string& b) {
  r.u8();
  uint16_t n = r.u16();
  for (uint16_t i = 0; i < n; ++i) {
    if (r.u8() != 1) throw ProtocolError("cqlsink batches prepared statements only");
    r.short_bytes();
    uint16_t count = r.u16();
    size_t before = r.remaining();
    std::string_view key = read_values(r, count);
    st.rows[std::string(key)].assign(in.substr(in.size() - before, before - r.remaining()));
  }
  ++st.batches;
  wire::i32(b, 1);
  return static_cast<uint8_t>(Opcode::result);
}

// Returns the response opcode and fills body.
uint8_t handle(uint8_t op, std::string_view in, std::string& b) {
  Reader r(in);
  switch (static_cast<Opcode>(op)) {
    case Opcode::options: return answer_options(b);
    case Opcode::startup:
    case Opcode::register_: return static_cast<uint8_t>(Opcode::ready);
    case Opcode::query: return answer_query(r, b);
    case Opcode::prepare: return answer_prepare(r, b);
    case Opcode::execute: return answer_execute(in, r, b);
    case Opcode::batch: return answer_batch(in, r, b);
    default: error_body(b, errc::protocol, "unsupported opcode"); return 0;
  }
}

struct Conn {
  int fd;
  std::string in, out;
  size_t out_sent = 0;
};

// --table ks.t and --columns name:type[:pk],... into st.
void parse_table(const std::string& table, const std::string& columns) {
  st.ks = table.substr(0, table.find('.'));
  st.table = table.substr(table.find('.') + 1);
  std::stringstream cs(columns);
  std::string spec;
  while (std::getline(cs, spec, ',')) {
    Col c;
    auto a = spec.find(':');
    c.name = spec.substr(0, a);
    std::string rest = spec.substr(a + 1);
    if (rest.size() > 3 && rest.substr(rest.size() - 3) == ":pk") {
      c.pk = true;
      rest.resize(rest.size() - 3);
    }
    c.type = rest;
    st.cols.push_back(c);
  }
}

// A listening socket on a free loopback port, written to port_file (renamed
// into place, so a reader never sees half a number).
int listen_loopback(const std::string& port_file) {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  listen(lfd, 64);
  socklen_t len = sizeof addr;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  {
    std::ofstream f(port_file + ".tmp");
    f << ntohs(addr.sin_port) << "\n";
  }
  rename((port_file + ".tmp").c_str(), port_file.c_str());
  return lfd;
}

// Answers one frame into c.out: the response header (version 4, the
// request's stream), then the body; a request that throws gets an ERROR.
void answer_frame(Conn& c, const FrameHeader& h, std::string_view body) {
  size_t start = c.out.size();
  c.out.append(kHeaderSize, '\0');
  std::string rb;
  uint8_t op;
  try {
    op = handle(h.opcode, body, rb);
  } catch (const std::exception& e) {
    rb.clear();
    error_body(rb, errc::protocol, e.what());
    op = 0;
  }
  c.out.append(rb);
  c.out[start] = static_cast<char>(0x84);
  c.out[start + 1] = 0;
  c.out[start + 2] = static_cast<char>(static_cast<uint16_t>(h.stream) >> 8);
  c.out[start + 3] = static_cast<char>(h.stream & 0xFF);
  c.out[start + 4] = static_cast<char>(op);
  wire::put_i32_at(c.out, start + 5, static_cast<int32_t>(rb.size()));
}

// Reads what c has sent and answers every whole frame in it. False when the
// connection is closed (c.fd is then -1).
bool read_and_answer(Conn& c, std::vector<char>& buf) {
  ssize_t n = read(c.fd, buf.data(), buf.size());
  if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
    close(c.fd);
    c.fd = -1;
    return false;
  }
  if (n > 0) c.in.append(buf.data(), static_cast<size_t>(n));
  size_t pos = 0, pending = 0;
  while (c.in.size() - pos >= kHeaderSize) {
    FrameHeader h = parse_header(reinterpret_cast<const uint8_t*>(c.in.data() + pos));
    if (c.in.size() - pos < kHeaderSize + h.length) break;
    answer_frame(c, h, std::string_view(c.in.data() + pos + kHeaderSize, h.length));
    pos += kHeaderSize + h.length;
    ++pending;
    ++st.frames;
  }
  if (pending > st.max_pending) st.max_pending = pending;
  c.in.erase(0, pos);
  return true;
}

// Writes what the socket takes of c's pending answers.
void write_answers(Conn& c) {
  ssize_t n = write(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent);
  if (n > 0) c.out_sent += static_cast<size_t>(n);
  if (c.out_sent == c.out.size()) {
    c.out.clear();
    c.out_sent = 0;
  }
}

// The poll loop, until SIGTERM or SIGINT: accepts, reads, answers, writes.
void serve(int lfd) {
  std::vector<std::unique_ptr<Conn>> conns;
  std::vector<char> buf(1 << 20);
  while (!stop) {
    std::vector<pollfd> fds{{lfd, POLLIN, 0}};
    for (auto& c : conns) fds.push_back({c->fd, static_cast<short>(POLLIN | (c->out.size() > c->out_sent ? POLLOUT : 0)), 0});
    if (poll(fds.data(), fds.size(), 500) < 0) continue;
    if (fds[0].revents & POLLIN) {
      int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
      if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conns.push_back(std::make_unique<Conn>(Conn{fd, {}, {}, 0}));
      }
    }
    for (size_t k = 1; k < fds.size(); ++k) {
      Conn& c = *conns[k - 1];
      if ((fds[k].revents & (POLLIN | POLLHUP | POLLERR)) && !read_and_answer(c, buf)) continue;
      if (c.fd >= 0 && c.out.size() > c.out_sent) write_answers(c);
    }
    std::erase_if(conns, [](const std::unique_ptr<Conn>& c) {
      if (c->fd < 0) return true;
      return false;
    });
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string port_file, table, columns;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--port-file") port_file = argv[i + 1];
    else if (a == "--table") table = argv[i + 1];
    else if (a == "--columns") columns = argv[i + 1];
  }
  if (port_file.empty() || table.find('.') == std::string::npos || columns.empty()) {
    fprintf(stderr, "usage: cqlsink --port-file F --table ks.t --columns name:type[:pk],...\n");
    return 2;
  }
  parse_table(table, columns);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGTERM, [](int) { stop = 1; });
  signal(SIGINT, [](int) { stop = 1; });
  serve(listen_loopback(port_file));
  fprintf(stderr, "{\"frames\":%lu,\"executes\":%lu,\"batches\":%lu,\"values\":%lu,\"rows\":%zu,\"max_frames_per_read\":%zu}\n",
          st.frames, st.executes, st.batches, st.values, st.rows.size(), st.max_pending);
  return 0;
}
