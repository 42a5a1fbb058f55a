#pragma once
// Connections to Cassandra nodes: one per contact point, many requests in
// flight on each (stream ids), responses in any order, optional TLS, SASL
// PLAIN for PasswordAuthenticator. Single-threaded: the caller drives poll().
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pipekit/cql/protocol.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace pipekit::cql {

struct SessionOptions {
  std::vector<std::string> hosts;    // "host" or "host:port"
  int port = 9042;
  std::string user;                  // empty: no authentication offered
  std::string password;              // never logged
  bool tls = false;
  std::string ca_file;               // empty: the system's trust store
  std::string cert_file, key_file;   // client certificate and key (PEM) for mutual TLS
  bool verify_hostname = true;       // the certificate must name the host connected to
  int connect_timeout_ms = 5000;
  int request_timeout_ms = 12000;
  int max_in_flight = 1024;          // per connection (the protocol allows 32768)
  int heartbeat_ms = 30000;          // OPTIONS on a connection idle this long
  bool discover = true;              // connect to every node of the cluster, not only the contact points
  bool local_dc_only = false;        // with discover: only nodes of the first contact point's datacenter
};

// What a request got back: a frame, or a transport failure (connection lost,
// timed out) that says nothing about whether the server applied it.
struct Response {
  bool transport_ok = true;
  std::string transport_error;
  uint8_t opcode = 0;
  std::string body;
  bool is_error() const { return transport_ok && opcode == static_cast<uint8_t>(Opcode::error); }
};
using Callback = std::function<void(Response&)>;
// Writes one request frame with the given stream id into `out`.
using Encoder = std::function<void(std::string& out, int16_t stream)>;

class Connection {
 public:
  Connection(std::string host, int port, SSL_CTX* tls, const SessionOptions& opts);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // TCP connect, TLS handshake, STARTUP and authentication (blocking, bounded
  // by the connect timeout). Throws ServiceError when unreachable, UsageError
  // on bad credentials or a missing password.
  void open();
  bool alive() const { return fd_ >= 0; }
  const std::string& name() const { return name_; }
  const std::string& address() const { return address_; }  // numeric, once connected
  int port() const { return port_; }
  int64_t last_read_ms() const { return last_read_ms_; }
  size_t in_flight() const { return in_flight_; }
  bool has_capacity() const;

  // Queues a request; `cb` runs from poll handling (or from fail()).
  void send(const Encoder& enc, Callback cb);
  // Blocking request/response on this connection (set-up queries).
  Response call(const Encoder& enc, int timeout_ms);

  int fd() const { return fd_; }
  short wanted_events() const;
  void handle(short revents);
  // Fails requests older than the request timeout (their late answers are
  // dropped); returns how many.
  size_t expire(int64_t now_ms);
  // Closes the connection and fails everything in flight.
  void fail(const std::string& why);

 private:
  struct Pending {
    Callback cb;
    int64_t deadline_ms = 0;
    bool orphaned = false;  // timed out: the answer, if it comes, is dropped
  };
  void connect_tcp();
  void tls_handshake();
  void startup();
  ssize_t io_read(char* buf, size_t n);   // >0 bytes, 0 would block, -1 closed/error
  ssize_t io_write(const char* buf, size_t n);
  void flush_output();
  void read_input();
  void dispatch(const FrameHeader& h, std::string_view body);

  std::string host_;
  int port_;
  std::string name_;
  SSL_CTX* tls_ctx_;
  const SessionOptions& opts_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string out_;
  size_t out_sent_ = 0;
  std::string in_;
  size_t in_used_ = 0;
  std::vector<Pending> pending_;   // indexed by stream id
  std::vector<int16_t> free_ids_;
  size_t in_flight_ = 0;
  std::set<std::string> warned_;  // server warnings already logged
  std::string address_;
  std::string tls_failure_;       // why the TLS layer last failed (alerts from the server)
  int64_t last_read_ms_ = 0;      // when the server last sent bytes (or the connection opened)
};

class Session {
 public:
  explicit Session(SessionOptions opts);
  ~Session();
  // Opens every contact point; at least one must answer. Throws.
  void open();
  size_t size() const { return conns_.size(); }
  Connection& connection(size_t i) { return *conns_[i]; }
  // An alive connection with room for a request: the token's owner when the
  // ring is known and the owner has room, else round robin. nullptr: none.
  Connection* pick(std::optional<int64_t> token = std::nullopt);
  // Adds a connection to every node that system.peers_v2 (or system.peers on
  // servers before 4.0) lists and no contact point names, so that the load
  // goes on when the contact points die. Returns how many were added.
  size_t discover();
  // Learns each node's tokens (system.local) for token-aware routing.
  // Returns false (round robin) when the partitioner is not Murmur3.
  bool load_ring();
  bool token_aware() const { return !ring_.empty(); }
  // Any alive connection for a blocking set-up call; throws ServiceError.
  Connection& any();
  size_t in_flight() const;
  size_t alive() const;
  // Waits for I/O on the connections (and `extra_fd` if >= 0) up to
  // timeout_ms, handles it, expires timed-out requests, retries dead
  // connections now and then. Returns extra_fd's revents.
  short poll(int timeout_ms, int extra_fd = -1, short extra_events = 0);
  const SessionOptions& options() const { return opts_; }

 private:
  SessionOptions opts_;
  SSL_CTX* tls_ctx_ = nullptr;
  std::vector<std::unique_ptr<Connection>> conns_;
  std::vector<int64_t> last_attempt_ms_;
  std::vector<int64_t> reconnect_delay_ms_;
  int64_t last_expire_ms_ = 0;
  void heartbeat(int64_t now);
  std::vector<std::pair<int64_t, size_t>> ring_;  // token -> connection index, sorted
  size_t next_ = 0;
};

int64_t now_ms();  // monotonic

}  // namespace pipekit::cql
