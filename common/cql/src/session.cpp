#include "pipekit/cql/session.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

#include "pipekit/cli.hpp"
#include "pipekit/cql/types.hpp"
#include "pipekit/errors.hpp"
#include "pipekit/log.hpp"
#include "pipekit/signals.hpp"

namespace pipekit::cql {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

namespace {
std::string tls_error() {
  unsigned long e = ERR_get_error();
  if (!e) return "TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

// Alerts a server sends when our certificate (or its absence) is refused:
// a configuration problem, not a passing one.
bool tls_alert_is_config(const std::string& why) {
  for (const char* a : {"alert certificate required", "alert bad certificate", "alert unknown ca",
                        "alert certificate unknown", "alert handshake failure", "alert access denied"})
    if (why.find(a) != std::string::npos) return true;
  return false;
}

// "host", "host:port", "[v6]:port", "v6"
void split_host(const std::string& spec, int default_port, std::string& host, int& port) {
  port = default_port;
  host = spec;
  if (!spec.empty() && spec[0] == '[') {
    auto close = spec.find(']');
    if (close == std::string::npos) throw UsageError("bad host '" + spec + "'");
    host = spec.substr(1, close - 1);
    if (close + 1 < spec.size() && spec[close + 1] == ':')
      port = static_cast<int>(parse_count(spec.substr(close + 2), "port of host '" + spec + "'", 1, 65535));
    return;
  }
  auto colon = spec.find(':');
  if (colon != std::string::npos && spec.find(':', colon + 1) == std::string::npos) {
    host = spec.substr(0, colon);
    port = static_cast<int>(parse_count(spec.substr(colon + 1), "port of host '" + spec + "'", 1, 65535));
  }
}
}  // namespace

// ---- Connection -----------------------------------------------------------------
Connection::Connection(std::string host, int port, SSL_CTX* tls, const SessionOptions& opts)
    : host_(std::move(host)), port_(port), tls_ctx_(tls), opts_(opts) {
  name_ = (host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

Connection::~Connection() {
  if (ssl_) SSL_free(ssl_);
  if (fd_ >= 0) ::close(fd_);
}

bool Connection::has_capacity() const {
  return alive() && in_flight_ < static_cast<size_t>(opts_.max_in_flight) && !free_ids_.empty();
}

void Connection::start_open() {
  if (fd_ >= 0) fail("reopening");
  out_.clear();
  out_sent_ = 0;
  in_.clear();
  in_used_ = 0;
  pending_.assign(32768, Pending{});
  free_ids_.clear();
  for (int i = 32767; i >= 0; --i) free_ids_.push_back(static_cast<int16_t>(i));
  in_flight_ = 0;
  tls_failure_.clear();
  setup_error_.clear();
  setup_error_usage_ = false;
  last_connect_error_ = "no address";
  setup_deadline_ms_ = now_ms() + opts_.connect_timeout_ms;
  addrs_.clear();
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &res);
  if (rc != 0) {
    setup_failed("cannot resolve host: " + std::string(gai_strerror(rc)), false);
    return;
  }
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    const char* a = reinterpret_cast<const char*>(ai->ai_addr);
    addrs_.emplace_back(a, a + ai->ai_addrlen);
  }
  freeaddrinfo(res);
  std::reverse(addrs_.begin(), addrs_.end());  // taken from the back
  connect_next();
}

void Connection::connect_next() {
  while (!addrs_.empty()) {
    std::vector<char> sa = std::move(addrs_.back());
    addrs_.pop_back();
    auto* addr = reinterpret_cast<const sockaddr*>(sa.data());
    int fd = ::socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_connect_error_ = strerror(errno);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[INET6_ADDRSTRLEN] = "";
    if (addr->sa_family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, buf, sizeof buf);
    else if (addr->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, buf, sizeof buf);
    address_ = buf;
    fd_ = fd;
    state_ = State::connecting;
    if (::connect(fd, addr, static_cast<socklen_t>(sa.size())) == 0) {
      connected();
      return;
    }
    if (errno == EINPROGRESS) return;  // handle() goes on when it is writable
    last_connect_error_ = strerror(errno);
    ::close(fd);
    fd_ = -1;
    state_ = State::down;
  }
  setup_failed("cannot connect: " + last_connect_error_, false);
}

void Connection::connected() {
  last_read_ms_ = now_ms();
  addrs_.clear();
  if (!tls_ctx_) {
    send_startup();
    return;
  }
  ssl_ = SSL_new(tls_ctx_);
  if (!ssl_) {
    setup_failed(tls_error(), false);
    return;
  }
  SSL_set_fd(ssl_, fd_);
  // Check the certificate names this host (an IP address or a DNS name).
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
  bool is_ip = X509_VERIFY_PARAM_set1_ip_asc(param, host_.c_str()) == 1;
  if (!is_ip) SSL_set_tlsext_host_name(ssl_, host_.c_str());
  if (!opts_.verify_hostname) {
    X509_VERIFY_PARAM_set1_ip(param, nullptr, 0);
  } else if (!is_ip) {
    X509_VERIFY_PARAM_set1_host(param, host_.c_str(), 0);
  }
  state_ = State::handshaking;
  step_handshake();
}

void Connection::step_handshake() {
  int rc = SSL_connect(ssl_);
  if (rc == 1) {
    tls_wants_ = 0;
    send_startup();
    return;
  }
  int err = SSL_get_error(ssl_, rc);
  tls_wants_ = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
  if (tls_wants_) return;
  // A certificate that does not verify is a configuration error (exit 2):
  // retrying will not make it trusted.
  long verify = SSL_get_verify_result(ssl_);
  if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH)
    return setup_failed("TLS: the server's certificate does not name " + host_ +
                        " (connect by a name the certificate lists, or --no-verify-hostname)", true);
  if (verify != X509_V_OK)
    return setup_failed(std::string("TLS: the server's certificate is not trusted: ") +
                            X509_verify_cert_error_string(verify) +
                            (opts_.ca_file.empty() ? " (give its CA with --ca-file)" : " (by --ca-file " + opts_.ca_file + ")"),
                        true);
  std::string why = tls_error();
  if (tls_alert_is_config(why)) return setup_failed("TLS handshake refused by the server: " + why, true);
  setup_failed("TLS handshake failed: " + why, false);
}

void Connection::setup_failed(const std::string& why, bool usage) {
  setup_error_ = name_ + ": " + why;
  setup_error_usage_ = usage;
  if (fd_ >= 0) fail(why);
  state_ = State::down;
  addrs_.clear();
}

void Connection::send_startup() {
  state_ = State::starting;
  send([](std::string& o, int16_t s) { encode_startup(o, s, {{"CQL_VERSION", "3.0.0"}, {"DRIVER_NAME", "pipekit cqlload"}}); },
       [this](Response& r) { on_startup(r); });
}

void Connection::on_startup(Response& r) {
  if (state_ != State::starting) return;  // failed meanwhile (fail() said why)
  if (!r.transport_ok) return setup_failed(r.transport_error.substr(r.transport_error.find(": ") + 2), false);
  auto op = static_cast<Opcode>(r.opcode);
  if (op == Opcode::ready) return became_ready();
  if (op == Opcode::error) {
    auto e = decode_error(r.body);
    if (e.code == errc::protocol) return setup_failed("the server does not speak protocol v4: " + e.message, false);
    return setup_failed("STARTUP refused: " + e.describe(), false);
  }
  if (op != Opcode::authenticate) return setup_failed(std::string("unexpected ") + opcode_name(r.opcode) + " to STARTUP", false);
  std::string authenticator = decode_authenticate(r.body);
  if (opts_.user.empty())
    return setup_failed("the server requires authentication (" + authenticator +
                            "): give --user and a password (--password-file or CQL_PASSWORD)",
                        true);
  send_credentials(authenticator);
}

void Connection::became_ready() {
  state_ = State::ready;
  ++opened_;
}

void Connection::send_credentials(const std::string& authenticator) {
  std::string token = plain_token(opts_.user, opts_.password);
  send([&](std::string& o, int16_t s) { encode_auth_response(o, s, token); },
       [this, authenticator](Response& a) { on_auth(a, authenticator, 0); });
  std::fill(token.begin(), token.end(), '\0');
}

void Connection::on_auth(Response& a, const std::string& authenticator, int round) {
  if (state_ != State::starting) return;  // failed meanwhile (fail() said why)
  if (!a.transport_ok) return setup_failed(a.transport_error.substr(a.transport_error.find(": ") + 2), false);
  switch (static_cast<Opcode>(a.opcode)) {
    case Opcode::auth_success: return became_ready();
    case Opcode::error: {
      auto e = decode_error(a.body);
      if (e.code == errc::bad_credentials)
        return setup_failed("authentication failed for user '" + opts_.user + "': " + e.message, true);
      return setup_failed("authentication error: " + e.describe(), false);
    }
    case Opcode::auth_challenge: {
      // SASL PLAIN has one step. An authenticator that opens with an empty
      // challenge (or asks for PLAIN by name) gets the credentials again;
      // more rounds than that are another mechanism.
      if (round >= 2)
        return setup_failed("the authenticator " + authenticator +
                                " keeps sending challenges; only SASL PLAIN is supported",
                            true);
      std::string token = plain_token(opts_.user, opts_.password);
      send([&](std::string& o, int16_t s) { encode_auth_response(o, s, token); },
           [this, authenticator, round](Response& next) { on_auth(next, authenticator, round + 1); });
      std::fill(token.begin(), token.end(), '\0');
      return;
    }
    default: return setup_failed(std::string("unexpected ") + opcode_name(a.opcode) + " to AUTH_RESPONSE", false);
  }
}

void Connection::send(const Encoder& enc, Callback cb) {
  if (fd_ < 0 || free_ids_.empty()) {
    Response r;
    r.transport_ok = false;
    r.transport_error = name_ + ": " + (fd_ >= 0 ? "no free stream id" : "connection is down");
    cb(r);
    return;
  }
  int16_t id = free_ids_.back();
  free_ids_.pop_back();
  ++in_flight_;
  auto& p = pending_[static_cast<size_t>(id)];
  p.cb = std::move(cb);
  p.deadline_ms = now_ms() + opts_.request_timeout_ms;
  p.orphaned = false;
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  }
  enc(out_, id);
  flush_output();
}

Response Connection::call(const Encoder& enc, int timeout_ms) {
  std::optional<Response> got;
  send(enc, [&](Response& r) { got = std::move(r); });
  int64_t deadline = now_ms() + timeout_ms;
  while (!got) {
    if (fd_ < 0) break;
    int left = static_cast<int>(deadline - now_ms());
    if (left <= 0) {
      fail("request timed out");
      break;
    }
    pollfd p{fd_, wanted_events(), 0};
    int n = ::poll(&p, 1, std::min(left, 200));
    if (n < 0 && errno != EINTR) {
      fail(strerror(errno));
      break;
    }
    if (n > 0) handle(p.revents);
  }
  if (!got) {
    Response r;
    r.transport_ok = false;
    r.transport_error = name_ + ": connection lost";
    return r;
  }
  return std::move(*got);
}

short Connection::wanted_events() const {
  if (state_ == State::connecting) return POLLOUT;
  if (state_ == State::handshaking) return tls_wants_ ? tls_wants_ : POLLIN;
  short ev = POLLIN;
  if (out_sent_ < out_.size()) ev |= POLLOUT;
  return ev;
}

ssize_t Connection::io_read(char* buf, size_t n) {
  if (ssl_) {
    int rc = SSL_read(ssl_, buf, static_cast<int>(n));
    if (rc > 0) return rc;
    int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return 0;
    if (err == SSL_ERROR_SSL) tls_failure_ = tls_error();
    ERR_clear_error();
    return -1;
  }
  for (;;) {
    ssize_t rc = ::read(fd_, buf, n);
    if (rc > 0) return rc;
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return -1;
  }
}

ssize_t Connection::io_write(const char* buf, size_t n) {
  if (ssl_) {
    int rc = SSL_write(ssl_, buf, static_cast<int>(std::min<size_t>(n, 1 << 30)));
    if (rc > 0) return rc;
    int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return 0;
    if (err == SSL_ERROR_SSL) tls_failure_ = tls_error();
    ERR_clear_error();
    return -1;
  }
  for (;;) {
    ssize_t rc = ::send(fd_, buf, n, MSG_NOSIGNAL);
    if (rc >= 0) return rc;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -1;
  }
}

void Connection::flush_output() {
  while (fd_ >= 0 && out_sent_ < out_.size()) {
    ssize_t n = io_write(out_.data() + out_sent_, out_.size() - out_sent_);
    if (n < 0) {
      if (ssl_ && tls_failure_.empty()) {
        // The server may have said why (a TLS alert) before closing: read it.
        char buf[512];
        io_read(buf, sizeof buf);
      }
      fail("write failed: " + (ssl_ ? (tls_failure_.empty() ? std::string("TLS error") : tls_failure_) : std::string(strerror(errno))));
      return;
    }
    if (n == 0) return;
    out_sent_ += static_cast<size_t>(n);
  }
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  }
}

void Connection::read_input() {
  for (;;) {
    if (in_.size() - in_used_ < 65536) in_.resize(in_used_ + 262144);
    ssize_t n = io_read(in_.data() + in_used_, in_.size() - in_used_);
    if (n < 0) {
      fail(tls_failure_.empty() ? "connection closed by the server" : "TLS: " + tls_failure_);
      return;
    }
    if (n == 0) break;
    last_read_ms_ = now_ms();
    in_used_ += static_cast<size_t>(n);
    // Dispatch every complete frame.
    size_t pos = 0;
    while (fd_ >= 0 && in_used_ - pos >= kHeaderSize) {
      FrameHeader h = parse_header(reinterpret_cast<const uint8_t*>(in_.data() + pos));
      if ((h.version & 0x7F) != kVersion || !(h.version & 0x80)) {
        fail(fmt::format("protocol error: response version byte 0x{:02x}", h.version));
        return;
      }
      if (h.flags & 0x01) {
        fail("the server compressed a frame although no compression was negotiated");
        return;
      }
      if (h.length > kMaxFrameBody) {
        fail("protocol error: frame too large");
        return;
      }
      if (in_used_ - pos < kHeaderSize + h.length) break;
      std::string_view body(in_.data() + pos + kHeaderSize, h.length);
      // Flags: tracing (0x02), custom payload (0x04), warning (0x08) come
      // before the body proper; skip them.
      try {
        Reader r(body);
        if (h.flags & 0x02) r.raw(16);
        if (h.flags & 0x08) {
          // A server may attach the same warning to every answer: say it once.
          for (auto& w : r.string_list())
            if (warned_.insert(w).second) log::warn("{}: server warning: {}", name_, w);
        }
        if (h.flags & 0x04) {
          uint16_t n2 = r.u16();
          for (uint16_t i = 0; i < n2; ++i) {
            r.string();
            r.bytes();
          }
        }
        body = body.substr(body.size() - r.remaining());
      } catch (const ProtocolError& e) {
        fail(std::string("protocol error: ") + e.what());
        return;
      }
      pos += kHeaderSize + h.length;
      dispatch(h, body);
    }
    if (fd_ < 0) return;
    if (pos) {
      std::memmove(in_.data(), in_.data() + pos, in_used_ - pos);
      in_used_ -= pos;
    }
  }
}

void Connection::dispatch(const FrameHeader& h, std::string_view body) {
  if (h.stream < 0) {  // server events (stream -1)
    if (h.opcode == static_cast<uint8_t>(Opcode::event) && on_event_) on_event_(body);
    return;
  }
  auto idx = static_cast<size_t>(h.stream);
  auto& p = pending_[idx];
  if (!p.cb) {
    fail(fmt::format("protocol error: response on unused stream {}", h.stream));
    return;
  }
  Callback cb = std::move(p.cb);
  p.cb = nullptr;
  bool orphaned = p.orphaned;
  free_ids_.push_back(h.stream);
  if (orphaned) return;  // already failed as timed out
  --in_flight_;
  Response r;
  r.opcode = h.opcode;
  r.body.assign(body);
  cb(r);
}

void Connection::handle(short revents) {
  if (fd_ < 0 || !revents) return;
  if (state_ == State::connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err == 0 && !(revents & (POLLERR | POLLHUP))) return connected();
    last_connect_error_ = strerror(err ? err : ECONNREFUSED);
    ::close(fd_);
    fd_ = -1;
    state_ = State::down;
    return connect_next();
  }
  if (state_ == State::handshaking) return step_handshake();
  if (revents & (POLLIN | POLLHUP | POLLERR)) read_input();
  if (fd_ >= 0 && (revents & POLLOUT)) flush_output();
  if (fd_ >= 0 && ssl_ && SSL_pending(ssl_)) read_input();
}

size_t Connection::expire(int64_t now) {
  if (fd_ < 0) return 0;
  if (opening() && now >= setup_deadline_ms_) {
    setup_failed(state_ == State::connecting    ? "connect timed out"
                 : state_ == State::handshaking ? "TLS handshake timed out"
                                                : "no answer to STARTUP or authentication within the connect timeout",
                 false);
    return 0;
  }
  if (in_flight_ == 0) return 0;
  size_t n = 0;
  for (size_t i = 0; i < pending_.size(); ++i) {
    auto& p = pending_[i];
    if (!p.cb || p.orphaned || p.deadline_ms > now) continue;
    // The stream id stays taken until the late answer arrives.
    p.orphaned = true;
    --in_flight_;
    ++n;
    Callback cb = p.cb;
    Response r;
    r.transport_ok = false;
    r.transport_error = fmt::format("{}: no answer within {} ms", name_, opts_.request_timeout_ms);
    cb(r);
  }
  // Requests time out and the server has said nothing for a whole request
  // timeout: the node is gone (SIGKILL without a RST, a frozen JVM, a cut
  // network). Mark the connection down so that nothing more is sent there;
  // the session reconnects later.
  if (n > 0 && now - last_read_ms_ >= opts_.request_timeout_ms)
    fail(fmt::format("no answer within {} ms: host marked down", opts_.request_timeout_ms));
  return n;
}

void Connection::fail(const std::string& why) {
  if (fd_ < 0) return;
  if (opening() && setup_error_.empty()) {
    // TLS 1.3: a server refuses our certificate (or its absence) after the
    // handshake, with an alert on the first read.
    if (tls_alert_is_config(tls_failure_)) {
      setup_error_ = name_ + ": TLS: the server refused the connection: " + tls_failure_ +
                     (opts_.cert_file.empty() ? " (it may require a client certificate: --cert-file, --key-file)" : "");
      setup_error_usage_ = true;
    } else {
      setup_error_ = name_ + ": " + why;
    }
  }
  state_ = State::down;
  tls_wants_ = 0;
  if (ssl_) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  ::close(fd_);
  fd_ = -1;
  log::debug("{}: connection down: {}", name_, why);
  // Fail the callbacks after the state is consistent: they may send elsewhere.
  std::vector<Callback> cbs;
  for (auto& p : pending_) {
    if (p.cb && !p.orphaned) cbs.push_back(std::move(p.cb));
    p.cb = nullptr;
  }
  in_flight_ = 0;
  free_ids_.clear();
  for (auto& cb : cbs) {
    Response r;
    r.transport_ok = false;
    r.transport_error = name_ + ": " + why;
    cb(r);
  }
}

// ---- Session --------------------------------------------------------------------
Session::Session(SessionOptions opts) : opts_(std::move(opts)) {}

Session::~Session() {
  conns_.clear();
  if (tls_ctx_) SSL_CTX_free(tls_ctx_);
}

void Session::open() {
  if (opts_.hosts.empty()) throw UsageError("no Cassandra hosts: give --hosts or set CQL_HOSTS");
  if (opts_.tls) {
    tls_ctx_ = SSL_CTX_new(TLS_client_method());
    if (!tls_ctx_) throw ServiceError(tls_error());
    SSL_CTX_set_min_proto_version(tls_ctx_, TLS1_2_VERSION);
    SSL_CTX_set_verify(tls_ctx_, SSL_VERIFY_PEER, nullptr);
    if (!opts_.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(tls_ctx_, opts_.ca_file.c_str(), nullptr) != 1)
        throw UsageError("cannot load the CA file " + opts_.ca_file + ": " + tls_error());
    } else {
      SSL_CTX_set_default_verify_paths(tls_ctx_);
    }
    if (opts_.cert_file.empty() != opts_.key_file.empty())
      throw UsageError("a client certificate needs both --cert-file and --key-file");
    if (!opts_.cert_file.empty()) {
      if (SSL_CTX_use_certificate_chain_file(tls_ctx_, opts_.cert_file.c_str()) != 1)
        throw UsageError("cannot load the client certificate " + opts_.cert_file + ": " + tls_error());
      // An encrypted key would prompt on the terminal: refuse it instead.
      SSL_CTX_set_default_passwd_cb(tls_ctx_, [](char*, int, int, void*) { return 0; });
      if (SSL_CTX_use_PrivateKey_file(tls_ctx_, opts_.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        std::string why = tls_error();
        if (why.find("key values mismatch") != std::string::npos)
          throw UsageError("the client key " + opts_.key_file + " does not match the certificate " + opts_.cert_file);
        throw UsageError("cannot load the client key " + opts_.key_file + " (an unencrypted PEM key): " + why);
      }
      if (SSL_CTX_check_private_key(tls_ctx_) != 1)
        throw UsageError("the client key " + opts_.key_file + " does not match the certificate " + opts_.cert_file);
    }
  }
  std::vector<size_t> all;
  for (const auto& spec : opts_.hosts) {
    std::string host;
    int port;
    split_host(spec, opts_.port, host, port);
    all.push_back(add_node(host, port));
  }
  open_together(all);
  std::string last;
  for (auto& c : conns_) {
    if (c->alive() || c->opening()) continue;
    // A configuration problem (credentials, certificates) is exit 2 at once.
    if (c->setup_error_is_usage()) throw UsageError(c->setup_error());
    last = c->setup_error();
    log::warn("{}", last);
  }
  if (alive() == 0) throw ServiceError(conns_.size() == 1 ? last : "no Cassandra host answered; last error: " + last);
}

size_t Session::add_node(const std::string& host, int port) {
  conns_.push_back(std::make_unique<Connection>(host, port, tls_ctx_, opts_));
  conns_.back()->on_event([this](std::string_view body) { handle_event(body); });
  next_attempt_ms_.push_back(now_ms() + 500);
  reconnect_delay_ms_.push_back(500);
  reconnecting_.push_back(0);
  removed_.push_back(0);
  needs_tokens_.push_back(0);
  return conns_.size() - 1;
}

void Session::open_together(const std::vector<size_t>& which) {
  for (size_t i : which) conns_[i]->start_open();
  // Waits for every one, but not for a black hole's whole connect timeout
  // once another node answers: a late one goes on opening from poll().
  int64_t grace_end = now_ms() + std::min(opts_.connect_timeout_ms, 2000);
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<size_t> idx;
    bool any_alive = false;
    for (size_t i : which) {
      any_alive = any_alive || conns_[i]->alive();
      if (conns_[i]->opening()) {
        fds.push_back({conns_[i]->fd(), conns_[i]->wanted_events(), 0});
        idx.push_back(i);
      }
    }
    if (fds.empty()) break;
    if (any_alive && now_ms() >= grace_end) {
      for (size_t i : idx) {
        reconnecting_[i] = 1;
        log::debug("{}: still connecting; going on without it for now", conns_[i]->name());
      }
      break;
    }
    int n = ::poll(fds.data(), fds.size(), 50);
    for (size_t k = 0; n > 0 && k < fds.size(); ++k) conns_[idx[k]]->handle(fds[k].revents);
    for (size_t i : which) conns_[i]->expire(now_ms());  // bounds each by the connect timeout
    if (stop_requested()) break;
  }
  for (size_t i : which)
    if (conns_[i]->alive()) log::debug("connected to {}", conns_[i]->name());
}

size_t Session::alive() const {
  size_t n = 0;
  for (auto& c : conns_) n += c->alive();
  return n;
}

size_t Session::in_flight() const {
  size_t n = 0;
  for (auto& c : conns_) n += c->in_flight();
  return n;
}

Connection& Session::any() {
  for (auto& c : conns_)
    if (c->alive()) return *c;
  std::vector<size_t> down;
  for (size_t i = 0; i < conns_.size(); ++i)
    if (!removed_[i] && !conns_[i]->opening()) down.push_back(i);
  open_together(down);
  for (auto& c : conns_)
    if (c->alive()) return *c;
  throw ServiceError("no Cassandra host is reachable");
}

namespace {
std::string cell_text(const std::optional<std::string>& v) { return v ? *v : std::string(); }

std::string cell_inet(const std::optional<std::string>& v) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (v && v->size() == 4) inet_ntop(AF_INET, v->data(), buf, sizeof buf);
  else if (v && v->size() == 16) inet_ntop(AF_INET6, v->data(), buf, sizeof buf);
  return buf;
}

const std::optional<std::string>* cell(const Rows& rows, const std::vector<std::optional<std::string>>& row,
                                       std::string_view name) {
  for (size_t k = 0; k < rows.meta.columns.size() && k < row.size(); ++k)
    if (rows.meta.columns[k].name == name) return &row[k];
  return nullptr;
}

std::optional<Rows> select_rows(Connection& c, const std::string& cql, int timeout_ms) {
  Response r = c.call([&](std::string& o, int16_t s) { encode_query(o, s, cql, Consistency::one); }, timeout_ms);
  if (!r.transport_ok || r.opcode != static_cast<uint8_t>(Opcode::result)) return std::nullopt;
  Result res = decode_result(r.body);
  if (res.kind != ResultKind::rows) return std::nullopt;
  return std::move(res.rows);
}
}  // namespace

size_t Session::discover() {
  if (!opts_.discover) return 0;
  Connection* seed = nullptr;
  for (auto& c : conns_)
    if (c->alive()) {
      seed = c.get();
      break;
    }
  if (!seed) return 0;
  std::string local_dc;
  if (auto local = select_rows(*seed, "SELECT data_center FROM system.local", opts_.request_timeout_ms);
      local && !local->rows.empty())
    if (auto* v = cell(*local, local->rows[0], "data_center")) local_dc = cell_text(*v);
  // peers_v2 (Cassandra 4.0+) has each node's native port; peers has only
  // the address (rpc_address; 0.0.0.0 means "the peer address").
  bool v2 = true;
  auto peers = select_rows(*seed, "SELECT peer, native_address, native_port, data_center FROM system.peers_v2",
                           opts_.request_timeout_ms);
  if (!peers) {
    v2 = false;
    peers = select_rows(*seed, "SELECT peer, rpc_address, data_center FROM system.peers", opts_.request_timeout_ms);
  }
  if (!peers) {
    log::warn("{}: cannot list the other nodes (system.peers_v2, system.peers): using the contact points only",
              seed->name());
    return 0;
  }
  std::set<std::pair<std::string, int>> known;
  for (auto& c : conns_) {
    known.emplace(c->address(), c->port());
    std::string host;
    int port;
    split_host(c->name(), opts_.port, host, port);
    known.emplace(host, port);
  }
  std::vector<size_t> fresh;
  for (const auto& row : peers->rows) {
    std::string addr = cell_inet(v2 ? *cell(*peers, row, "native_address") : *cell(*peers, row, "rpc_address"));
    if (addr.empty() || addr == "0.0.0.0" || addr == "::") addr = cell_inet(*cell(*peers, row, "peer"));
    int port = seed->port();
    if (v2)
      if (auto* p = cell(*peers, row, "native_port"); p && *p && (*p)->size() == 4)
        port = static_cast<int>(Reader(**p).i32());
    std::string dc = cell_text(*cell(*peers, row, "data_center"));
    if (addr.empty() || known.count({addr, port})) continue;
    if (opts_.local_dc_only && !local_dc.empty() && dc != local_dc) continue;
    known.emplace(addr, port);
    fresh.push_back(add_node(addr, port));
    log::debug("discovered {}:{} (datacenter {})", addr, port, dc);
  }
  open_together(fresh);
  for (size_t i : fresh) {
    if (conns_[i]->alive() || conns_[i]->opening()) continue;
    if (conns_[i]->setup_error_is_usage()) throw UsageError(conns_[i]->setup_error());
    log::warn("discovered node {}", conns_[i]->setup_error());
  }
  return fresh.size();
}

void Session::heartbeat(int64_t now) {
  // An idle connection gets OPTIONS now and then: a dead one then times out
  // (Connection::expire) before a write is sent to it.
  for (auto& c : conns_) {
    if (!c->alive() || c->in_flight() > 0 || now - c->last_read_ms() < opts_.heartbeat_ms) continue;
    c->send([](std::string& o, int16_t s) { encode_options(o, s); }, [](Response&) {});
  }
}

namespace {
const char* const kLocalTokensQuery = "SELECT partitioner, tokens FROM system.local";

// A node's tokens from its answer to kLocalTokensQuery; nullopt when the
// answer is not rows or the partitioner is not Murmur3 (no token routing).
std::optional<std::vector<int64_t>> local_tokens(const Response& r) {
  if (!r.transport_ok || r.opcode != static_cast<uint8_t>(Opcode::result)) return std::nullopt;
  Result res = decode_result(r.body);
  if (res.kind != ResultKind::rows || res.rows.rows.empty()) return std::nullopt;
  const auto& row = res.rows.rows[0];
  const auto& cols = res.rows.meta.columns;
  std::vector<int64_t> tokens;
  for (size_t k = 0; k < cols.size() && k < row.size(); ++k) {
    if (cols[k].name == "partitioner" && row[k] && row[k]->find("Murmur3Partitioner") == std::string::npos)
      return std::nullopt;
    if (cols[k].name == "tokens" && row[k] && cols[k].type.id == TypeId::set) {
      Reader tr(*row[k]);
      int32_t n = tr.i32();
      for (int32_t j = 0; j < n; ++j) {
        auto b = tr.bytes();
        if (!b) continue;
        try {
          tokens.push_back(std::stoll(std::string(*b)));
        } catch (const std::exception&) {
          return std::nullopt;
        }
      }
    }
  }
  return tokens;
}
}  // namespace

bool Session::load_ring() {
  ring_.clear();
  for (size_t i = 0; i < conns_.size(); ++i) {
    auto& c = *conns_[i];
    if (!c.alive()) {
      // Down at the start: its tokens are asked for once it is back, or
      // its range would go to the others for the whole run.
      needs_tokens_[i] = !removed_[i];
      continue;
    }
    Response r = c.call([](std::string& o, int16_t s) { encode_query(o, s, kLocalTokensQuery, Consistency::one); },
                        opts_.request_timeout_ms);
    auto tokens = local_tokens(r);
    if (!tokens) {
      ring_.clear();
      return false;
    }
    for (int64_t t : *tokens) ring_.emplace_back(t, i);
  }
  std::sort(ring_.begin(), ring_.end());
  return !ring_.empty();
}

void Session::drop_from_ring(size_t i) {
  ring_.erase(std::remove_if(ring_.begin(), ring_.end(), [i](const auto& e) { return e.second == i; }), ring_.end());
}

void Session::fetch_tokens_due() {
  // A node that joined the ring (NEW_NODE) gets its share of the writes once
  // its tokens are known: asked without blocking, once it is connected.
  for (size_t i = 0; i < conns_.size(); ++i) {
    if (!needs_tokens_[i] || !conns_[i]->alive()) continue;
    needs_tokens_[i] = 0;
    conns_[i]->send([](std::string& o, int16_t s) { encode_query(o, s, kLocalTokensQuery, Consistency::one); },
                    [this, i](Response& r) {
                      std::optional<std::vector<int64_t>> tokens;
                      try {
                        tokens = local_tokens(r);
                      } catch (const ProtocolError&) {
                      }
                      if (!tokens || tokens->empty()) {
                        if (!r.transport_ok) needs_tokens_[i] = 1;  // again once reconnected
                        log::debug("{}: cannot learn its tokens; it gets writes only as a fallback",
                                   conns_[i]->name());
                        return;
                      }
                      if (removed_[i] || ring_.empty()) return;
                      drop_from_ring(i);
                      for (int64_t t : *tokens) ring_.emplace_back(t, i);
                      std::sort(ring_.begin(), ring_.end());
                      log::info("{}: in the ring with {} tokens", conns_[i]->name(), tokens->size());
                    });
  }
}

int Session::owner(int64_t token) const {
  if (ring_.empty()) return -1;
  auto it = std::lower_bound(ring_.begin(), ring_.end(), std::make_pair(token, size_t{0}));
  if (it == ring_.end()) it = ring_.begin();
  return static_cast<int>(it->second);
}

Connection* Session::pick(std::optional<int64_t> token) {
  if (token && !ring_.empty()) {
    auto it = std::lower_bound(ring_.begin(), ring_.end(), std::make_pair(*token, size_t{0}));
    if (it == ring_.end()) it = ring_.begin();
    Connection* c = conns_[it->second].get();
    if (c->has_capacity()) return c;
  }
  for (size_t k = 0; k < conns_.size(); ++k) {
    Connection* c = conns_[next_++ % conns_.size()].get();
    if (c->has_capacity()) return c;
  }
  return nullptr;
}

void Session::reconnect_due(int64_t now) {
  // Never waits: the open goes on from poll() like any other I/O, so a
  // frozen or black-holed node costs the live ones nothing.
  for (size_t i = 0; i < conns_.size(); ++i) {
    auto& c = *conns_[i];
    if (removed_[i] || c.alive() || c.opening() || now < next_attempt_ms_[i]) continue;
    reconnecting_[i] = 1;
    c.start_open();
  }
}

void Session::settle_reconnects() {
  int64_t now = now_ms();
  for (size_t i = 0; i < conns_.size(); ++i) {
    auto& c = *conns_[i];
    if (!reconnecting_[i] || c.opening()) continue;
    reconnecting_[i] = 0;
    if (c.alive()) {
      reconnect_delay_ms_[i] = 500;
      log::info("{}: reconnected", c.name());
      continue;
    }
    // A node that stays down is tried less and less often (up to 30 s). A
    // refused password or certificate may be passing (a role being
    // re-created, system_auth not yet replicated to a restarted node): it
    // is said, and tried again like any other failure.
    reconnect_delay_ms_[i] = std::min<int64_t>(30000, reconnect_delay_ms_[i] * 2);
    next_attempt_ms_[i] = now + reconnect_delay_ms_[i];
    if (c.setup_error_is_usage()) log::warn("{} (will try again)", c.setup_error());
    else log::debug("{}", c.setup_error());
  }
}

int Session::find_node(const std::string& addr_port) const {
  auto colon = addr_port.rfind(':');
  std::string addr = addr_port.substr(0, colon);
  int port = colon == std::string::npos ? 0 : std::atoi(addr_port.c_str() + colon + 1);
  int by_addr = -1, matches = 0;
  for (size_t i = 0; i < conns_.size(); ++i) {
    const auto& c = *conns_[i];
    bool same = c.address() == addr || c.host() == addr;
    if (same && c.port() == port) return static_cast<int>(i);
    if (same) by_addr = static_cast<int>(i), ++matches;
  }
  return matches == 1 ? by_addr : -1;
}

void Session::handle_event(std::string_view body) {
  std::string type, change, node;
  try {
    Reader r(body);
    type = r.string();
    change = r.string();
    if (type == "SCHEMA_CHANGE") return;
    node = r.inet();
  } catch (const ProtocolError& e) {
    log::debug("unreadable server event: {}", e.what());
    return;
  }
  int i = find_node(node);
  log::info("cluster event: {} {} {}", type, change, node);
  if (type == "STATUS_CHANGE" && change == "DOWN") {
    // The cluster's failure detector convicted the node: stop sending there
    // now (in-flight requests are retried elsewhere) rather than wait for
    // their time-outs; try again on UP or after the back-off (also when its
    // connection was already lost: no reconnecting every second to a node
    // the cluster knows is down).
    if (i >= 0) {
      if (conns_[i]->alive()) conns_[i]->fail("the cluster reports the node DOWN");
      next_attempt_ms_[i] = now_ms() + 30000;
    }
  } else if (type == "STATUS_CHANGE" && change == "UP") {
    if (i >= 0) {
      next_attempt_ms_[i] = now_ms();
      reconnect_delay_ms_[i] = 500;
    }
  } else if (type == "TOPOLOGY_CHANGE" && change == "NEW_NODE") {
    if (i < 0 && opts_.discover) {
      auto colon = node.rfind(':');
      i = static_cast<int>(add_node(node.substr(0, colon), std::atoi(node.c_str() + colon + 1)));
    }
    if (i >= 0) {
      removed_[i] = 0;
      next_attempt_ms_[i] = now_ms();
      reconnect_delay_ms_[i] = 500;
      needs_tokens_[i] = !ring_.empty();  // token-aware: learn what it owns
    }
  } else if (type == "TOPOLOGY_CHANGE" && change == "REMOVED_NODE") {
    if (i >= 0) {
      // Its ranges now belong to the next nodes in the ring: routing skips
      // its tokens, and it is not reconnected.
      removed_[i] = 1;
      needs_tokens_[i] = 0;
      drop_from_ring(static_cast<size_t>(i));
      conns_[i]->fail("the node left the cluster");
    }
  }
}

void Session::keep_registered() {
  if (registering_ || (control_ >= 0 && conns_[control_]->alive())) return;
  control_ = -1;
  for (size_t i = 0; i < conns_.size(); ++i) {
    if (!conns_[i]->alive()) continue;
    control_ = static_cast<int>(i);
    registering_ = true;
    conns_[i]->send([](std::string& o, int16_t s) { encode_register(o, s, {"TOPOLOGY_CHANGE", "STATUS_CHANGE"}); },
                    [this, i](Response& r) {
                      registering_ = false;
                      if (!r.transport_ok || r.opcode != static_cast<uint8_t>(Opcode::ready)) {
                        log::debug("{}: REGISTER for events failed", conns_[i]->name());
                        if (control_ == static_cast<int>(i)) control_ = -1;
                      }
                    });
    return;
  }
}

short Session::poll(int timeout_ms, int extra_fd, short extra_events) {
  int64_t now = now_ms();
  reconnect_due(now);
  keep_registered();
  std::vector<pollfd> fds;
  std::vector<size_t> idx;
  for (size_t i = 0; i < conns_.size(); ++i) {
    if (conns_[i]->fd() < 0) continue;
    fds.push_back({conns_[i]->fd(), conns_[i]->wanted_events(), 0});
    idx.push_back(i);
  }
  size_t extra_at = fds.size();
  if (extra_fd >= 0) fds.push_back({extra_fd, extra_events, 0});
  if (stop_fd() >= 0 && !stop_requested()) fds.push_back({stop_fd(), POLLIN, 0});
  int n = ::poll(fds.data(), fds.size(), timeout_ms);
  short extra = 0;
  if (n > 0) {
    for (size_t k = 0; k < idx.size(); ++k)
      if (fds[k].revents) conns_[idx[k]]->handle(fds[k].revents);
    if (extra_fd >= 0) extra = fds[extra_at].revents;
  }
  // Timeouts are checked every 50 ms, not on every wake-up: the scan is over
  // every stream id.
  now = now_ms();
  if (now - last_expire_ms_ >= 50) {
    last_expire_ms_ = now;
    for (auto& c : conns_) c->expire(now);
    heartbeat(now);
  }
  settle_reconnects();
  fetch_tokens_due();
  return extra;
}

}  // namespace pipekit::cql
