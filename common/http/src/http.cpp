#include "pipekit/http.hpp"

#include <curl/curl.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "pipekit/log.hpp"
#include "pipekit/signals.hpp"

namespace pipekit::http {
namespace {

std::once_flag g_curl_init;

struct Transfer {
  CURL* curl = nullptr;
  bool sized = false;
  std::string body;
  std::string content_type;
  std::optional<std::string> retry_after;
  size_t max_body = 0;
  bool too_large = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  if (!t->sized) {
    // Room for the cap at once: the pages of an allocation this large are
    // only backed by memory once written, so the resident size follows the
    // body and never passes the cap. Growing by doubling held the old and the
    // new buffer at once (twice the cap at the end), and Content-Length says
    // nothing about a compressed body's decoded size.
    t->sized = true;
    t->body.reserve(t->max_body + kPadding);
  }
  if (t->body.size() + len > t->max_body) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->body.append(data, len);
  return len;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool iequals_prefix(std::string_view line, std::string_view name) {
  if (line.size() < name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
  return true;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  // A new status line (after a redirect or 100-continue) starts a new header set.
  if (line.rfind("HTTP/", 0) == 0) t->retry_after.reset();
  if (iequals_prefix(line, "retry-after:")) t->retry_after = std::string(trim(line.substr(12)));
  return size * n;
}

// Aborts a transfer in flight when a stop was requested.
int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return stop_requested() ? 1 : 0;
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

std::string status_text(long status) {
  switch (status) {
    case 400: return "400 Bad Request";
    case 401: return "401 Unauthorized";
    case 403: return "403 Forbidden";
    case 404: return "404 Not Found";
    case 408: return "408 Request Timeout";
    case 429: return "429 Too Many Requests";
    case 500: return "500 Internal Server Error";
    case 502: return "502 Bad Gateway";
    case 503: return "503 Service Unavailable";
    case 504: return "504 Gateway Timeout";
    default: return std::to_string(status);
  }
}

// The failure of a transfer that got no HTTP response (or was aborted by
// on_body for its size): whether another try may help, and the exit status.
Failure transfer_failure(CURLcode rc, const std::string& where, const std::string& detail, bool too_large,
                         size_t max_body_bytes) {
  Failure f;
  f.message = where + ": " + detail;
  switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      f.retryable = false;
      f.code = ExitCode::usage;
      break;
    case CURLE_FILE_COULDNT_READ_FILE:
    case CURLE_READ_ERROR:
      f.retryable = false;
      f.code = ExitCode::io;
      break;
    case CURLE_WRITE_ERROR:
      if (too_large) {
        f.retryable = false;
        f.message = where + ": response larger than " + std::to_string(max_body_bytes) + " bytes";
      }
      break;
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_PEER_FAILED_VERIFICATION:  // the server is not who it says: do not retry
      f.retryable = false;
      f.code = ExitCode::usage;
      break;
    default:
      break;  // timeouts, refused connections, resets, TLS hiccups: retry
  }
  return f;
}

// Debug log: the protocol version, status, size and time of a transfer.
void log_transfer(CURL* c, const std::string& where, long status, size_t bytes) {
  long version = 0;
  double secs = 0;
  curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &version);
  curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &secs);
  const char* v = version == CURL_HTTP_VERSION_2_0 ? "HTTP/2"
                  : version == CURL_HTTP_VERSION_3 ? "HTTP/3"
                  : version == CURL_HTTP_VERSION_1_0 ? "HTTP/1.0"
                  : version ? "HTTP/1.1" : "file";
  log::debug("{}: {} {}, {} bytes in {:.3f} s", where, v, status, bytes, secs);
}

// The response of a completed transfer; takes the body out of t.
Response read_response(CURL* c, const std::string& url, const std::string& where, Transfer& t) {
  Response r;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  if (log::enabled(log::Level::debug)) log_transfer(c, where, r.status, t.body.size());
  const char* scheme = nullptr;
  curl_easy_getinfo(c, CURLINFO_SCHEME, &scheme);
  if (r.status == 0 && scheme && strcasecmp(scheme, "file") == 0) r.status = 200;
  char* ct = nullptr;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
  if (ct) r.content_type = ct;
  char* eff = nullptr;
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
  r.url = redact_url(eff ? eff : url);
  if (t.retry_after) r.retry_after_ms = parse_retry_after(*t.retry_after, std::time(nullptr));
  r.body = std::move(t.body);
  if (r.body.capacity() < r.body.size() + kPadding) r.body.reserve(r.body.size() + kPadding);
  return r;
}

// The failure of a response whose status is not 2xx.
Failure status_failure(const std::string& where, const Response& r) {
  Failure f;
  f.message = fmt::format("{}: HTTP {}{}; body: {}", where, status_text(r.status),
                          r.content_type.empty() ? "" : " (" + r.content_type + ")",
                          body_excerpt(r.body));
  f.retry_after_ms = r.retry_after_ms;
  // 408, 429 and 5xx are worth another try; other 4xx mean the request
  // itself is wrong (URL, credentials): a configuration error.
  bool retry = r.status == 408 || r.status == 429 || r.status >= 500;
  f.retryable = retry;
  f.code = retry ? ExitCode::unavailable : ExitCode::usage;
  return f;
}

}  // namespace

struct Client::Impl {
  CURL* curl = nullptr;
  std::string spare;  // a body buffer handed back by recycle()
  char errbuf[CURL_ERROR_SIZE] = {0};
};

Client::Client(Options opts) : opts_(std::move(opts)), impl_(std::make_unique<Impl>()) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  rng_.seed(std::random_device{}());
  CURL* c = impl_->curl = curl_easy_init();
  if (!c) throw Error(ExitCode::internal, "cannot initialise libcurl");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, impl_->errbuf);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  // Only what an API client needs; a redirect never leads to file:// or others.
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // every encoding libcurl can decode
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(opts_.timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts_.connect_timeout_ms));
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  // Credentials for a mirror come from ~/.netrc (or $NETRC), never argv.
  curl_easy_setopt(c, CURLOPT_NETRC, static_cast<long>(CURL_NETRC_OPTIONAL));
  if (const char* netrc = env("NETRC")) curl_easy_setopt(c, CURLOPT_NETRC_FILE, netrc);
  if (!opts_.user_agent.empty()) curl_easy_setopt(c, CURLOPT_USERAGENT, opts_.user_agent.c_str());
  // The curl tool's CA conventions; libcurl itself only knows its built-in paths.
  if (const char* ca = env("CURL_CA_BUNDLE")) curl_easy_setopt(c, CURLOPT_CAINFO, ca);
  else if (const char* f = env("SSL_CERT_FILE")) curl_easy_setopt(c, CURLOPT_CAINFO, f);
  if (const char* d = env("SSL_CERT_DIR")) curl_easy_setopt(c, CURLOPT_CAPATH, d);
}

Client::~Client() {
  if (impl_ && impl_->curl) curl_easy_cleanup(impl_->curl);
}

Result Client::get_once(const std::string& url, const Check& check) {
  Result result;
  result.attempts = 1;
  CURL* c = impl_->curl;
  Transfer t;
  t.curl = c;
  t.max_body = opts_.max_body_bytes;
  t.body = std::move(impl_->spare);
  t.body.clear();
  t.body.reserve(1 << 16);
  impl_->errbuf[0] = 0;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  CURLcode rc = curl_easy_perform(c);
  std::string where = "GET " + redact_url(url);

  if (rc == CURLE_ABORTED_BY_CALLBACK && stop_requested()) {
    result.stopped = true;
    return result;
  }
  if (rc != CURLE_OK) {
    std::string detail = impl_->errbuf[0] ? impl_->errbuf : curl_easy_strerror(rc);
    result.failure = transfer_failure(rc, where, detail, t.too_large, opts_.max_body_bytes);
    return result;
  }

  Response r = read_response(c, url, where, t);
  if (r.status < 200 || r.status > 299) {
    result.failure = status_failure(where, r);
    return result;
  }
  if (check) {
    if (auto f = check(r)) {
      if (!f->retry_after_ms) f->retry_after_ms = r.retry_after_ms;
      result.failure = std::move(*f);
      return result;
    }
  }
  result.response = std::move(r);
  return result;
}

void Client::recycle(std::string&& body) { impl_->spare = std::move(body); }

Result Client::get(const std::string& url, const Check& check) {
  int attempts = 0;
  for (int retry = 0;; ++retry) {
    Result r = get_once(url, check);
    attempts += r.attempts;
    r.attempts = attempts;
    if (r.response || r.stopped) return r;
    const Failure& f = *r.failure;
    if (!f.retryable || retry >= opts_.retries) return r;
    int64_t delay = backoff_ms(retry + 1, opts_.backoff_ms, opts_.max_backoff_ms, rng_);
    if (f.retry_after_ms) delay = std::min(std::max<int64_t>(*f.retry_after_ms, 0), opts_.max_retry_after_ms);
    log::warn("{}; retry {}/{} in {:.1f} s", f.message, retry + 1, opts_.retries, delay / 1000.0);
    if (!sleep_interruptible(delay)) {
      r.stopped = true;
      return r;
    }
  }
}

namespace {

// Query parameters that carry credentials by name (token=, api_key=, sig=...).
bool is_secret_parameter(std::string_view name) {
  std::string n(name);
  for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const char* markers[] = {"token", "secret", "passw", "key", "sig", "auth", "credential", "session"};
  for (const char* m : markers)
    if (n.find(m) != std::string::npos) return true;
  return false;
}

// "a=1&token=xyz#f" -> "a=1&token=***#f"
std::string redact_query(std::string_view query) {
  std::string out;
  size_t fragment = query.find('#');
  std::string_view params = query.substr(0, fragment);
  size_t pos = 0;
  while (pos <= params.size()) {
    size_t amp = params.find('&', pos);
    std::string_view param = params.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    size_t eq = param.find('=');
    if (eq != std::string_view::npos && is_secret_parameter(param.substr(0, eq))) {
      out += param.substr(0, eq + 1);
      out += "***";
    } else {
      out += param;
    }
    if (amp == std::string_view::npos) break;
    out += '&';
    pos = amp + 1;
  }
  if (fragment != std::string_view::npos) out += query.substr(fragment);
  return out;
}

}  // namespace

std::string redact_url(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  size_t host_start = scheme + 3;
  size_t host_end = url.find_first_of("/?#", host_start);
  std::string_view authority = url.substr(host_start, host_end == std::string_view::npos
                                                          ? std::string_view::npos
                                                          : host_end - host_start);
  size_t at = authority.rfind('@');
  std::string out(url.substr(0, host_start));
  if (at != std::string_view::npos) {
    out += "***@";
    authority.remove_prefix(at + 1);
  }
  out += authority;
  std::string_view rest = url.substr(host_start + (at == std::string_view::npos ? 0 : at + 1) + authority.size());
  size_t question = rest.find('?');
  if (question == std::string_view::npos || rest.substr(0, question).find('#') != std::string_view::npos)
    return out + std::string(rest);
  out += rest.substr(0, question + 1);
  out += redact_query(rest.substr(question + 1));
  return out;
}

std::string body_excerpt(std::string_view body, size_t max) {
  if (body.empty()) return "(empty)";
  std::string out;
  size_t n = std::min(body.size(), max);
  out.reserve(n + 16);
  for (size_t i = 0; i < n; ++i) {
    unsigned char ch = static_cast<unsigned char>(body[i]);
    out += ch < 0x20 || ch == 0x7f ? ' ' : static_cast<char>(ch);
  }
  if (body.size() > max) out += fmt::format("... ({} bytes)", body.size());
  return out;
}

std::optional<int64_t> parse_retry_after(std::string_view value, std::time_t now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return std::nullopt;
    return std::stoll(std::string(value)) * 1000;
  }
  time_t when = curl_getdate(std::string(value).c_str(), nullptr);
  if (when < 0) return std::nullopt;
  return std::max<int64_t>(0, static_cast<int64_t>(when - now) * 1000);
}

int64_t backoff_ms(int retry, int64_t base_ms, int64_t max_ms, std::mt19937_64& rng) {
  int64_t d = base_ms;
  for (int i = 1; i < retry && d < max_ms; ++i) d *= 2;
  d = std::min(d, max_ms);
  if (d <= 1) return d;
  std::uniform_int_distribution<int64_t> half(0, d / 2);
  return d - d / 2 + half(rng);
}

bool sleep_interruptible(int64_t ms) {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + std::chrono::milliseconds(ms);
  while (!stop_requested()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) return true;
    struct pollfd p{stop_fd(), POLLIN, 0};
    ::poll(&p, p.fd >= 0 ? 1 : 0, static_cast<int>(std::min<int64_t>(left, 1'000)));
  }
  return false;
}

std::string url_encode(std::string_view value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ',') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace pipekit::http
