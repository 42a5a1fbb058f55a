// ru-fetch's loop: pace, request (with retries), validate, write a whole page,
// flush, repeat until --count, --duration, a stop request or, without
// --every/--count, after one response.
#include <poll.h>
#include <unistd.h>

#include <chrono>

#include "pipekit/log.hpp"
#include "pipekit/ndjson.hpp"
#include "engine.hpp"
#include "pipekit/signals.hpp"

namespace pipekit::rufetch {
namespace {

using Clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

int64_t mono_ms() {
  return std::chrono::duration_cast<ms>(Clock::now().time_since_epoch()).count();
}

// How a wait ended.
enum class Woke { elapsed, stopped, output_closed };

// Sleeps until `until`, waking early on a stop request, or when the reader
// of stdout went away (POLLERR on a pipe's write end): a live source that
// writes every few minutes should not linger after `| head -3` exits.
Woke wait_until(Clock::time_point until) {
  while (!stop_requested()) {
    auto left = std::chrono::duration_cast<ms>(until - Clock::now()).count();
    if (left <= 0) return Woke::elapsed;
    struct pollfd fds[2] = {{stop_fd(), POLLIN, 0}, {STDOUT_FILENO, 0, 0}};
    int n = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(left, 1'000)));
    if (n > 0 && (fds[1].revents & (POLLERR | POLLHUP))) return Woke::output_closed;
  }
  return Woke::stopped;
}

bool wait_or_throw(Clock::time_point until) {
  Woke w = wait_until(until);
  if (w == Woke::output_closed) throw PipeClosed();
  return w == Woke::elapsed;
}

// Request pacing: --rate's minimum interval, or by default against the
// public API, the sliding window of users.
class Pacer {
 public:
  explicit Pacer(const Plan& plan) : plan_(plan), budget_(kApiBudgetUsers, kApiWindowMs) {}

  // Waits until a request of `users` may start. False when a stop request or
  // the deadline came first.
  bool wait(uint64_t users, std::optional<Clock::time_point> deadline) {
    Clock::time_point at = Clock::now();
    if (plan_.min_interval_ms > 0 && last_)
      at = std::max(at, *last_ + std::chrono::microseconds(static_cast<int64_t>(plan_.min_interval_ms * 1000)));
    if (plan_.api_budget) at = std::max(at, Clock::now() + ms(budget_.wait_ms(mono_ms(), users)));
    auto wait = std::chrono::duration_cast<ms>(at - Clock::now()).count();
    if (wait > 0) {
      if (deadline && at > *deadline) {
        wait_or_throw(*deadline);
        return false;
      }
      if (wait > 2000)
        log::info("pacing: next request in {:.0f} s (the API allows about 20,000 users per 5 minutes; "
                  "--rate sets the pace)", wait / 1000.0);
      if (!wait_or_throw(at)) return false;
    }
    last_ = Clock::now();
    if (plan_.api_budget) budget_.add(mono_ms(), users);
    return true;
  }

 private:
  const Plan& plan_;
  std::optional<Clock::time_point> last_;
  WindowBudget budget_;
};

std::string short_url(const std::string& url) {
  std::string u = http::redact_url(url);
  return u.size() > 200 ? u.substr(0, 200) + "..." : u;
}

// What the plan means for the user, said once at start.
void log_plan_notes(const Options& opts, const Plan& plan) {
  if (plan.seed_generated)
    log::info("paging with seed {} (pass --seed {} to fetch the same users again)", plan.seed, plan.seed);
  if (plan.file && (opts.results || !opts.seed.empty() || !opts.gender.empty() || !opts.nat.empty() ||
                    !opts.inc.empty() || !opts.exc.empty() || !opts.password.empty() || opts.page))
    log::warn("a file:// URL is read as a saved response: query flags are not applied to it");
}

// A response whose page does not parse (error): retried like a 5xx, as the
// API does this during outages and rate limits; a saved file will not get
// better: a bad input file, at once.
http::Failure bad_page_failure(const Plan& plan, const http::Response& r, const std::string& error) {
  http::Failure f;
  if (plan.file) {
    f.retryable = false;
    f.code = ExitCode::io;
  }
  std::string status = plan.file ? "" : fmt::format(" (HTTP {}{})", r.status,
                                                    r.content_type.empty() ? "" : ", " + r.content_type);
  f.message = fmt::format("GET {}: {}{}; body: {}", short_url(r.url), error, status, http::body_excerpt(r.body));
  return f;
}

// A poll that failed after its retries: throws when the run ends on it (no
// --every, a failure polling will not fix, --max-failures reached), else
// counts and logs it.
void handle_failed_poll(const Plan& plan, const http::Result& res, uint64_t& failures, Stats& stats) {
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
}

// Writes a page's lines and flushes them: a live source, records leave as
// soon as they arrive.
void write_page(OutputWriter& out, Stats& stats, const PageResult& page_result, const std::string& lines) {
  stats.records_in += page_result.users;
  stats.bytes += lines.size();
  out.write(lines);
  out.flush();
  stats.records_out += page_result.written;  // only once written (a full disk throws above)
}

// Waits for the next poll's period. False when the run ends first (the
// deadline, a stop request).
bool wait_next_poll(const Plan& plan, Clock::time_point poll_start, std::optional<Clock::time_point> deadline) {
  auto next = poll_start + ms(plan.every_ms);
  if (deadline && next >= *deadline) {
    wait_or_throw(*deadline);
    return false;
  }
  return wait_or_throw(next);
}

}  // namespace

int run(const Options& opts, RunContext& ctx) {
  const Plan plan = make_plan(opts);
  log_plan_notes(opts, plan);

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
  // A saved response knows nothing of what was asked: no short-page check.
  const size_t expected = plan.file ? 1 : static_cast<size_t>(plan.page_size);

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
      page_result = parser.parse(r.body, r.body.capacity(), expected, limit, lines, fetched_at);
      if (page_result.error.empty()) return std::nullopt;
      return bad_page_failure(plan, r, page_result.error);
    });
    stats.add("requests", res.attempts);
    if (res.attempts > 1 || !res.response) stats.add("failed_requests", res.attempts - (res.response ? 1 : 0));
    if (res.stopped) break;

    if (!res.response) {
      handle_failed_poll(plan, res, failures, stats);
    } else {
      write_page(out, stats, page_result, lines);
      written += page_result.written;
      if (plan.paged) ++page;
      client.recycle(std::move(res.response->body));
      if (page_result.users == 0) {
        // The API has no users for this request: the run has nothing (more)
        // to fetch. A poll tries again at its next period.
        log::info("GET {}: the API answered with no users{}", short_url(url),
                  plan.every_ms ? "; polling again" : ": nothing more to fetch");
        if (plan.every_ms == 0) break;
      }
    }

    if (plan.count && written >= plan.count) break;
    if (plan.file && plan.every_ms == 0) {
      // A saved response is a finite source: reading it again would repeat it.
      if (res.response && plan.count)
        log::warn("{} holds {} users, fewer than --count {}", short_url(url), written, plan.count);
      if (res.response) break;
    }
    if (plan.every_ms == 0) {
      if (plan.count == 0) break;  // one request
      continue;                    // next page at once (paced)
    }
    if (!wait_next_poll(plan, poll_start, deadline)) break;
  }
  out.flush();
  if (stop_requested()) log::info("stopped by signal {} after {} users", stop_signal(), written);
  if (opts.empty_exit > 0 && written == 0 && !stop_requested()) return opts.empty_exit;
  return static_cast<int>(ExitCode::ok);
}

}  // namespace pipekit::rufetch
