#pragma once
// ru-fetch: randomuser.me API -> NDJSON on stdout, once, paged (--count) or
// as a live source (--every). Options are checked here before any request,
// because the API silently ignores or rewrites what it cannot do.
#include <simdjson.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipekit/cli.hpp"
#include "pipekit/http.hpp"

namespace pipekit::rufetch {

inline constexpr const char* kDefaultUrl = "https://randomuser.me/api/";
inline constexpr int kMaxResults = 5000;        // the API's per-request maximum
inline constexpr const char* kMetaKey = "_meta"; // --meta's reserved key

enum class Shape { raw, flat };

struct Options {
  CommonOptions common;
  // The API's query parameters.
  std::optional<int> results;
  std::optional<int> page;
  std::string seed;
  std::string gender;
  std::vector<std::string> nat;
  std::vector<std::string> inc;
  std::vector<std::string> exc;
  std::string password;
  std::string api_version;
  std::string url;
  // Volume and rhythm.
  std::optional<uint64_t> count;
  std::string every;
  std::string duration;
  std::optional<double> rate;
  // Output.
  std::string shape = "raw";
  bool meta = false;
  // Failures.
  int retries = 4;
  std::string timeout = "30s";
  std::string connect_timeout = "10s";
  std::string retry_delay = "1s";
  uint64_t max_failures = 0;
  int empty_exit = -1;  // --empty-exit CODE; -1: none
};

// Options checked and resolved into what the run does.
struct Plan {
  std::string base_url;            // without the query
  bool file = false;               // a file:// URL: no query is sent
  std::string query;               // the fixed parameters (gender, nat, ...)
  int page_size = 1;               // results per request
  bool paged = false;              // send seed & page, page advancing
  std::string seed;                // given or generated for paging
  bool seed_generated = false;
  int first_page = 1;
  uint64_t count = 0;              // 0: no limit
  int64_t every_ms = 0;            // 0: not polling
  int64_t duration_ms = 0;         // 0: no limit
  double min_interval_ms = 0;      // from --rate
  bool api_budget = false;         // pace under the public API's per-address limit
  Shape shape = Shape::raw;
  bool meta = false;
  uint64_t max_failures = 0;
  http::Options http;
};

// Throws UsageError for anything the API would ignore or cannot do. No I/O.
Plan make_plan(const Options& opts);
// The URL of one request (page is used when plan.paged).
std::string request_url(const Plan& plan, int page);

// What parsing one response gave.
struct PageResult {
  size_t users = 0;     // elements in results[]
  size_t written = 0;   // lines appended to the output
  std::string error;    // why the response is unusable; empty when fine
};

// Parses API responses (simdjson, in place: the body must be followed by
// http::kPadding readable bytes) and renders users as NDJSON lines.
class PageParser {
 public:
  PageParser(Shape shape, bool meta) : shape_(shape), meta_(meta) {}
  // Appends at most `limit` users to `out` (nothing when the response is
  // unusable): wrong shape, an API error, or fewer than `expected` (an
  // empty results[] is usable: users == 0, no error).
  PageResult parse(std::string_view body, size_t capacity, size_t expected, size_t limit,
                   std::string& out, std::string_view fetched_at = {});

 private:
  // The raw shape: n records into out (sets r.written), or r.error.
  void append_raw(std::string_view body, size_t capacity, size_t n, const std::string& meta, std::string& out,
                  PageResult& r);

  Shape shape_;
  bool meta_;
  simdjson::dom::parser dom_;
  simdjson::ondemand::parser ondemand_;
  std::string scratch_;
};

// One flat record (no trailing newline) from one results[] element; `extra`
// (",\"key\":value...") is added before the closing brace.
void append_flat(std::string& out, simdjson::dom::element user, std::string_view extra = {});
// "1993-07-20 09:44:18" (API <= 1.1) -> "1993-07-20T09:44:18Z"; ISO input as is.
std::string iso8601(std::string_view date);
// UTC now as 2026-11-21T05:51:57.123Z.
std::string utc_now_iso();

// At most `budget` users in any window of `window_ms` (the public API's
// per-address limit). Times are milliseconds on any monotonic clock.
class WindowBudget {
 public:
  WindowBudget(uint64_t budget, int64_t window_ms) : budget_(budget), window_ms_(window_ms) {}
  // How long to wait from `now` before `users` more fit (0: at once).
  int64_t wait_ms(int64_t now, uint64_t users);
  void add(int64_t now, uint64_t users);
  uint64_t in_window() const { return total_; }

 private:
  void expire(int64_t now);
  uint64_t budget_;
  int64_t window_ms_;
  std::deque<std::pair<int64_t, uint64_t>> sent_;
  uint64_t total_ = 0;
};
// The public API allows one address about 20,000 users per 5 minutes; by
// default ru-fetch keeps 10% under that.
inline constexpr uint64_t kApiBudgetUsers = 18'000;
inline constexpr int64_t kApiWindowMs = 5 * 60 * 1000;

int run(const Options& opts, RunContext& ctx);

}  // namespace pipekit::rufetch
