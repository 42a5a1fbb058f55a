// ru-fetch's loop: pace, request (with retries), validate, write a whole page,
// flush, repeat until --count, --duration, a stop request or, without
// --every/--count, after one response.
#include <unistd.h>

#include <chrono>
#include <deque>

#include "pipekit/log.hpp"
#include "pipekit/ndjson.hpp"
#include "pipekit/rufetch.hpp"
#include "pipekit/signals.hpp"

namespace pipekit::rufetch {
namespace {

using Clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

// The public API allows one address about 20,000 users per 5 minutes; by
// default ru-fetch keeps 10% under that, over a sliding window.
constexpr int64_t kApiWindowMs = 5 * 60 * 1000;
constexpr uint64_t kApiBudget = 18'000;

class Pacer {
 public:
  explicit Pacer(const Plan& plan) : plan_(plan) {}

  // Waits until a request of `users` may start. False when a stop request or
  // the deadline came first.
  bool wait(uint64_t users, std::optional<Clock::time_point> deadline) {
    Clock::time_point at = Clock::now();
    if (plan_.min_interval_ms > 0 && last_)
      at = std::max(at, *last_ + std::chrono::microseconds(static_cast<int64_t>(plan_.min_interval_ms * 1000)));
    if (plan_.api_budget) {
      // Forget what left the window; wait for enough of the rest to leave.
      auto now = Clock::now();
      while (!sent_.empty() && sent_.front().first + ms(kApiWindowMs) <= now) {
        in_window_ -= sent_.front().second;
        sent_.pop_front();
      }
      uint64_t total = in_window_;
      for (const auto& [t, n] : sent_) {
        if (total + users <= kApiBudget) break;
        total -= n;
        at = std::max(at, t + ms(kApiWindowMs));
      }
    }
    auto wait_ms = std::chrono::duration_cast<ms>(at - Clock::now()).count();
    if (wait_ms > 0) {
      if (deadline && at > *deadline) {
        http::sleep_interruptible(std::chrono::duration_cast<ms>(*deadline - Clock::now()).count());
        return false;
      }
      if (wait_ms > 2000)
        log::info("pacing: next request in {:.0f} s (the API allows about 20,000 users per 5 minutes; "
                  "--rate sets the pace)", wait_ms / 1000.0);
      if (!http::sleep_interruptible(wait_ms)) return false;
    }
    last_ = Clock::now();
    if (plan_.api_budget) {
      sent_.emplace_back(*last_, users);
      in_window_ += users;
    }
    return true;
  }

 private:
  const Plan& plan_;
  std::optional<Clock::time_point> last_;
  std::deque<std::pair<Clock::time_point, uint64_t>> sent_;
  uint64_t in_window_ = 0;
};

std::string short_url(const std::string& url) {
  std::string u = http::redact_url(url);
  return u.size() > 200 ? u.substr(0, 200) + "..." : u;
}

}  // namespace

int run(const Options& opts, RunContext& ctx) {
  const Plan plan = make_plan(opts);
  if (plan.seed_generated)
    log::info("paging with seed {} (pass --seed {} to fetch the same users again)", plan.seed, plan.seed);
  if (plan.file && (opts.results || !opts.seed.empty() || !opts.gender.empty() || !opts.nat.empty() ||
                    !opts.inc.empty() || !opts.exc.empty() || !opts.password.empty() || opts.page))
    log::warn("a file:// URL is read as a saved response: query flags are not applied to it");

  http::Client client(plan.http);
  PageParser parser(plan.shape, plan.meta);
  OutputWriter out(STDOUT_FILENO, 1u << 20);
  Pacer pacer(plan);
  auto& stats = ctx.stats;
  stats.set("requests", 0);
  stats.set("failed_requests", 0);

  const auto start = Clock::now();
  std::optional<Clock::time_point> deadline;
  if (plan.duration_ms > 0) deadline = start + ms(plan.duration_ms);
  uint64_t written = 0, failures = 0;
  int page = plan.first_page;
  std::string lines;

  while (!stop_requested()) {
    if (deadline && Clock::now() >= *deadline) break;
    if (!pacer.wait(plan.page_size, deadline)) break;
    const auto poll_start = Clock::now();
    const std::string url = request_url(plan, page);
    const uint64_t limit = plan.count ? plan.count - written : UINT64_MAX;
    PageResult page_result;
    std::string fetched_at;

    log::debug("GET {}", short_url(url));
    http::Result res = client.get(url, [&](const http::Response& r) -> std::optional<http::Failure> {
      lines.clear();
      fetched_at = utc_now_iso();
      page_result = parser.parse(r.body, r.body.capacity(), plan.page_size, limit, lines, fetched_at);
      if (page_result.error.empty()) return std::nullopt;
      // Retried like a 5xx: the API does this during outages and rate limits.
      http::Failure f;
      f.message = fmt::format("GET {}: {} (HTTP {}{}); body: {}", short_url(r.url), page_result.error, r.status,
                              r.content_type.empty() ? "" : ", " + r.content_type, http::body_excerpt(r.body));
      return f;
    });
    stats.add("requests", res.attempts);
    if (res.attempts > 1 || !res.response) stats.add("failed_requests", res.attempts - (res.response ? 1 : 0));
    if (res.stopped) break;

    if (!res.response) {
      const http::Failure& f = *res.failure;
      std::string why = res.attempts > 1 ? fmt::format("{} (gave up after {} attempts)", f.message, res.attempts)
                                         : f.message;
      // A wrong request (4xx, bad URL) will not get better by polling.
      if (plan.every_ms == 0 || !f.retryable) throw Error(f.code, why);
      ++failures;
      stats.set("failed_polls", failures);
      if (plan.max_failures && failures >= plan.max_failures)
        throw ServiceError(fmt::format("{}; {} polls failed (--max-failures {})", why, failures, plan.max_failures));
      log::error("{}; polling again in {:.1f} s", why, plan.every_ms / 1000.0);
    } else {
      stats.records_in += page_result.users;
      stats.records_out += page_result.written;
      stats.bytes += lines.size();
      out.write(lines);
      out.flush();  // a live source: records leave as soon as they arrive
      written += page_result.written;
      if (plan.paged) ++page;
    }

    if (plan.count && written >= plan.count) break;
    if (plan.every_ms == 0) {
      if (plan.count == 0) break;  // one request
      continue;                    // next page at once (paced)
    }
    auto next = poll_start + ms(plan.every_ms);
    if (deadline && next >= *deadline) {
      http::sleep_interruptible(std::chrono::duration_cast<ms>(*deadline - Clock::now()).count());
      break;
    }
    if (!http::sleep_interruptible(std::chrono::duration_cast<ms>(next - Clock::now()).count())) break;
  }
  out.flush();
  if (stop_requested()) log::info("stopped by signal {} after {} users", stop_signal(), written);
  return static_cast<int>(ExitCode::ok);
}

}  // namespace pipekit::rufetch
