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

  // Starts connecting without blocking: TCP connect, TLS handshake, STARTUP
  // and authentication then advance from handle() as the socket is ready,
  // bounded by the connect timeout (expire()). Afterwards alive() tells
  // whether it worked, setup_error() why not.
  void start_open();
  bool alive() const { return state_ == State::ready; }
  bool opening() const { return state_ != State::ready && state_ != State::down; }
  const std::string& host() const { return host_; }
  const std::string& name() const { return name_; }
  const std::string& address() const { return address_; }  // numeric, once connected
  int port() const { return port_; }
  int64_t last_read_ms() const { return last_read_ms_; }
  size_t in_flight() const { return in_flight_; }
  // How many times this connection has become ready: it changes on each
  // reconnection (0: never opened).
  uint64_t opened() const { return opened_; }
  bool has_capacity() const;
  // Why the last set-up failed; usage: a configuration problem (exit 2).
  const std::string& setup_error() const { return setup_error_; }
  bool setup_error_is_usage() const { return setup_error_usage_; }
  // Server events (stream -1, EVENT) go here.
  void on_event(std::function<void(std::string_view body)> f) { on_event_ = std::move(f); }

  // Queues a request; `cb` runs from poll handling (or from fail()).
  void send(const Encoder& enc, Callback cb);
  // Blocking request/response on this connection (set-up queries).
  Response call(const Encoder& enc, int timeout_ms);

  int fd() const { return fd_; }
  short wanted_events() const;
  void handle(short revents);
  // Fails requests older than the request timeout (their late answers are
  // dropped) and a set-up that outlived the connect timeout; returns how
  // many requests.
  size_t expire(int64_t now_ms);
  // Closes the connection and fails everything in flight.
  void fail(const std::string& why);

 private:
  enum class State { down, connecting, handshaking, starting, ready };
  struct Pending {
    Callback cb;
    int64_t deadline_ms = 0;
    bool orphaned = false;  // timed out: the answer, if it comes, is dropped
  };
  void connect_next();      // the next resolved address, non-blocking
  void connected();         // TCP is up: TLS or STARTUP
  void step_handshake();
  void send_startup();
  void on_startup(Response& r);
  void became_ready();
  void send_credentials(const std::string& authenticator);
  void on_auth(Response& r, const std::string& authenticator, int round);
  void setup_failed(const std::string& why, bool usage);
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
  State state_ = State::down;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  short tls_wants_ = 0;            // POLLIN/POLLOUT the handshake waits for
  std::vector<std::vector<char>> addrs_;  // resolved sockaddrs still to try
  std::string last_connect_error_;
  int64_t setup_deadline_ms_ = 0;
  std::string setup_error_;
  bool setup_error_usage_ = false;
  std::function<void(std::string_view)> on_event_;
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
  uint64_t opened_ = 0;
};

class Session {
 public:
  explicit Session(SessionOptions opts);
  ~Session();
  // Opens every contact point at once; at least one must answer. Throws.
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
  // The connection index of the node owning `token` (-1 without a ring).
  int owner(int64_t token) const;
  // Any alive connection for a blocking set-up call; throws ServiceError.
  Connection& any();
  size_t in_flight() const;
  size_t alive() const;
  // Waits for I/O on the connections (and `extra_fd` if >= 0) up to
  // timeout_ms, handles it, expires timed-out requests, starts reconnecting
  // dead nodes now and then (never waiting for them), and keeps one
  // connection registered for the cluster's TOPOLOGY_CHANGE and
  // STATUS_CHANGE events. Returns extra_fd's revents.
  short poll(int timeout_ms, int extra_fd = -1, short extra_events = 0);
  const SessionOptions& options() const { return opts_; }
  // Applies a server event (the body of an EVENT frame); public for tests.
  void handle_event(std::string_view body);

 private:
  size_t add_node(const std::string& host, int port);
  void open_together(const std::vector<size_t>& which);  // start, then wait for each (bounded)
  void reconnect_due(int64_t now);
  void settle_reconnects();
  void keep_registered();
  void drop_from_ring(size_t i);
  void fetch_tokens_due();
  int find_node(const std::string& addr_port) const;  // index or -1
  SessionOptions opts_;
  SSL_CTX* tls_ctx_ = nullptr;
  std::vector<std::unique_ptr<Connection>> conns_;
  // Per connection: when to try it again, the back-off, whether a
  // non-blocking open is under way, whether the node left the cluster.
  std::vector<int64_t> next_attempt_ms_;
  std::vector<int64_t> reconnect_delay_ms_;
  std::vector<char> reconnecting_;
  std::vector<char> removed_;
  std::vector<char> needs_tokens_;  // joined the ring (NEW_NODE): its tokens are to be asked
  int control_ = -1;            // the connection registered for events
  bool registering_ = false;
  int64_t last_expire_ms_ = 0;
  void heartbeat(int64_t now);
  std::vector<std::pair<int64_t, size_t>> ring_;  // token -> connection index, sorted
  size_t next_ = 0;
};

int64_t now_ms();  // monotonic

}  // namespace pipekit::cql
