#pragma once
// A small HTTP GET client over libcurl, for tools that pull from web APIs:
// connect and total timeouts, retries with exponential backoff and jitter,
// Retry-After, and errors that carry the status and the first bytes of the
// body. libcurl reads the proxy variables (HTTPS_PROXY, NO_PROXY, ...) itself;
// the CA bundle variables of the curl tool (CURL_CA_BUNDLE, SSL_CERT_FILE,
// SSL_CERT_DIR) are applied here, as libcurl does not read them.
// A stop request (SIGINT/SIGTERM) aborts a transfer in flight and any wait.
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "pipekit/errors.hpp"

namespace pipekit::http {

struct Options {
  int64_t timeout_ms = 30'000;          // whole request, connect included
  int64_t connect_timeout_ms = 10'000;
  int retries = 4;                      // attempts after the first
  int64_t backoff_ms = 1'000;           // first retry delay; doubles each time
  int64_t max_backoff_ms = 60'000;
  int64_t max_retry_after_ms = 300'000; // a server's Retry-After is capped here
  // A larger body (after decoding) is a failed request. A page of 5,000
  // users, the API's largest, is about 5.5 MB (8 MB indented).
  size_t max_body_bytes = 32u << 20;
  std::string user_agent;
};

struct Response {
  long status = 0;            // HTTP status; 200 for a file:// read
  std::string body;           // capacity() >= size() + kPadding (parse in place)
  std::string content_type;
  std::optional<int64_t> retry_after_ms;
  std::string url;            // the effective URL, credentials removed
};
inline constexpr size_t kPadding = 64;

// Why an attempt did not give a usable response. `message` names the URL
// (without credentials), the HTTP status and the first bytes of the body.
struct Failure {
  bool retryable = true;
  ExitCode code = ExitCode::unavailable;  // what the run ends with if it is final
  std::string message;
  std::optional<int64_t> retry_after_ms;
};

// Inspects a 2xx response; returns a Failure when it cannot be used (the API
// answered 200 with an error, say). Retryable failures are retried.
using Check = std::function<std::optional<Failure>(const Response&)>;

struct Result {
  std::optional<Response> response;  // set on success
  std::optional<Failure> failure;    // the last failure, when there is no response
  int attempts = 0;
  bool stopped = false;              // a stop request ended it
};

class Client {
 public:
  explicit Client(Options opts);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // GET with retries: the first response that passes `check`, or the last
  // failure once the retries are spent (or at once when it is not retryable).
  Result get(const std::string& url, const Check& check = {});
  // One attempt, no retries.
  Result get_once(const std::string& url, const Check& check = {});
  // Hands a response's body back for the next request to reuse (large
  // bodies: saves allocating and faulting in megabytes per request).
  void recycle(std::string&& body);
  const Options& options() const { return opts_; }

 private:
  struct Impl;
  Options opts_;
  std::unique_ptr<Impl> impl_;
  std::mt19937_64 rng_;
};

// The URL without user:password@ and without the values of query parameters
// named like credentials (token=, api_key=, sig=, ...): for logs and messages.
std::string redact_url(std::string_view url);
// Up to `max` bytes of a body, on one line, control bytes shown as spaces.
std::string body_excerpt(std::string_view body, size_t max = 160);
// Retry-After: delta-seconds or an HTTP-date (relative to `now`).
std::optional<int64_t> parse_retry_after(std::string_view value, std::time_t now);
// The delay before retry number `retry` (1-based): base * 2^(retry-1), capped,
// then "equal jitter": half fixed, half random, so clients spread out.
int64_t backoff_ms(int retry, int64_t base_ms, int64_t max_ms, std::mt19937_64& rng);
// Sleeps, waking early on a stop request; false when stopped.
bool sleep_interruptible(int64_t ms);
// Percent-encodes a query value.
std::string url_encode(std::string_view value);

}  // namespace pipekit::http
