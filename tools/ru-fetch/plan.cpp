// ru-fetch's flags, checked before any request: the API ignores `gender`
// under a `seed`, turns an out-of-range `results` into 1 and drops unknown
// values silently, so ru-fetch says so itself (exit 2) instead.
#include <algorithm>
#include <cctype>
#include <random>
#include <set>

#include <fmt/format.h>

#include "engine.hpp"

namespace pipekit::rufetch {
namespace {

// The API's fields (for --inc/--exc) and the ones the flat shape reads.
const std::set<std::string> kFields = {"gender", "name",  "location", "email", "login", "registered",
                                       "dob",    "phone", "cell",     "id",    "picture", "nat"};
const std::vector<std::string> kFlatNeeds = {"login", "name", "gender",     "location", "email",
                                             "dob",   "phone", "registered", "picture", "nat"};
// Nationalities of API 1.4 (the current version).
const std::set<std::string> kNat14 = {"AU", "BR", "CA", "CH", "DE", "DK", "ES", "FI", "FR", "GB", "IE",
                                      "IN", "IR", "MX", "NL", "NO", "NZ", "RS", "TR", "UA", "US"};
const std::set<std::string> kCharsets = {"special", "upper", "lower", "number"};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string join(const std::vector<std::string>& v, const char* sep = ",") {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// "--nat us,gb --nat fr" -> {"US","GB","FR"}
std::vector<std::string> split_list(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    size_t start = 0;
    while (start <= item.size()) {
      size_t comma = item.find(',', start);
      std::string part = item.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      part.erase(0, part.find_first_not_of(" \t"));
      part.erase(part.find_last_not_of(" \t") + 1);
      if (!part.empty()) out.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// CHARSETS[,MAX] or CHARSETS[,MIN-MAX], e.g. "upper,lower,number,8-16".
void check_password(const std::string& spec) {
  auto parts = split_list({spec});
  if (parts.empty()) throw UsageError("--password: empty spec (try upper,lower,number,8-16)");
  bool length_seen = false;
  for (const auto& p : parts) {
    if (kCharsets.count(lower(p))) continue;
    size_t dash = p.find('-');
    std::string lo = dash == std::string::npos ? p : p.substr(0, dash);
    std::string hi = dash == std::string::npos ? p : p.substr(dash + 1);
    if (!all_digits(lo) || !all_digits(hi) || lo.size() > 4 || hi.size() > 4)
      throw UsageError("--password: '" + p +
                       "' is neither a charset (special, upper, lower, number) nor a length (N or MIN-MAX)");
    if (length_seen) throw UsageError("--password: more than one length in '" + spec + "'");
    length_seen = true;
    int a = std::stoi(lo), b = std::stoi(hi);
    if (a < 1 || b < a) throw UsageError("--password: bad length range '" + p + "'");
  }
}

int64_t positive_duration(const std::string& flag, const std::string& text) {
  int64_t ms = parse_duration_ms(text, flag);
  if (ms <= 0) throw UsageError(flag + " must be more than 0 (got '" + text + "')");
  return ms;
}

std::string random_seed() {
  std::random_device rd;
  std::uniform_int_distribution<uint64_t> d;
  uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ d(rd);
  return fmt::format("{:016x}", v);
}

std::string scheme_of(const std::string& url) {
  size_t p = url.find("://");
  return p == std::string::npos ? std::string() : lower(url.substr(0, p));
}

bool is_public_api(const std::string& url) {
  size_t p = url.find("://");
  if (p == std::string::npos) return false;
  std::string host = lower(url.substr(p + 3, url.find_first_of("/?#:", p + 3) - (p + 3)));
  return host == "randomuser.me" || host.ends_with(".randomuser.me");
}

// The query's name=value pairs, in order.
using Query = std::vector<std::pair<std::string, std::string>>;

// --url (https, http or file) and --api-version, a path segment:
// https://randomuser.me/api/1.4/
void plan_url(const Options& o, Plan& plan) {
  std::string url = o.url.empty() ? kDefaultUrl : o.url;
  std::string scheme = scheme_of(url);
  if (scheme != "https" && scheme != "http" && scheme != "file")
    throw UsageError("--url must be an https://, http:// or file:// URL (got '" + http::redact_url(url) + "')");
  plan.file = scheme == "file";
  if (!o.api_version.empty()) {
    const auto& v = o.api_version;
    size_t dot = v.find('.');
    if (dot == std::string::npos || !all_digits(v.substr(0, dot)) || !all_digits(v.substr(dot + 1)))
      throw UsageError("--api-version must look like 1.4 (got '" + v + "')");
    if (plan.file) throw UsageError("--api-version has no effect on a file:// URL");
    size_t q = url.find('?');
    std::string path = url.substr(0, q), rest = q == std::string::npos ? "" : url.substr(q);
    if (!path.ends_with("/")) path += '/';
    url = path + v + "/" + rest;
  }
  plan.base_url = url;
  plan.api_budget = is_public_api(url);
}

// --results and --count: the users in all and per request.
void plan_sizes(const Options& o, Plan& plan) {
  if (o.results && (*o.results < 1 || *o.results > kMaxResults))
    throw UsageError(fmt::format("--results must be 1..{} (got {}); the API would silently send 1 user. "
                                 "Use --count for more.", kMaxResults, *o.results));
  if (o.count && *o.count == 0) throw UsageError("--count must be at least 1");
  plan.count = o.count.value_or(0);
  // Without --results: the API's default of 1, but --count alone (no --every)
  // asks for its users in as few requests as possible.
  plan.page_size = o.results                     ? *o.results
                   : plan.count && o.every.empty() ? static_cast<int>(std::min<uint64_t>(plan.count, kMaxResults))
                                                   : 1;
}

// --gender: male or female, and not with --seed (the API ignores it then).
void add_gender(const Options& o, Query& q) {
  if (o.gender.empty()) return;
  std::string g = lower(o.gender);
  if (g != "male" && g != "female") throw UsageError("--gender must be male or female (got '" + o.gender + "')");
  if (!o.seed.empty())
    throw UsageError("--gender cannot be used with --seed: the API ignores gender when a seed is given");
  q.emplace_back("gender", g);
}

// --nat: upper-cased; against the current API, only its nationalities.
void add_nat(const Options& o, Query& q) {
  auto nats = split_list(o.nat);
  if (nats.empty()) return;
  for (auto& n : nats) {
    for (auto& c : n) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    bool current = o.api_version.empty() || o.api_version == "1.4";
    if (current && !kNat14.count(n))
      throw UsageError("--nat: unknown nationality '" + n + "' (API 1.4 has " +
                       join(std::vector<std::string>(kNat14.begin(), kNat14.end()), " ") + ")");
  }
  q.emplace_back("nat", join(nats));
}

// --inc or --exc: known fields, lower-cased, and none the flat shape reads
// left out.
void add_fields(const Options& o, Shape shape, Query& q) {
  auto inc = split_list(o.inc), exc = split_list(o.exc);
  if (!inc.empty() && !exc.empty()) throw UsageError("use either --inc or --exc, not both");
  for (auto* list : {&inc, &exc})
    for (auto& f : *list) {
      f = lower(f);
      if (!kFields.count(f))
        throw UsageError("unknown field '" + f + "' (fields: " +
                         join(std::vector<std::string>(kFields.begin(), kFields.end()), " ") + ")");
    }
  if (shape == Shape::flat) {
    for (const auto& need : kFlatNeeds) {
      bool dropped = (!inc.empty() && std::find(inc.begin(), inc.end(), need) == inc.end()) ||
                     std::find(exc.begin(), exc.end(), need) != exc.end();
      if (dropped)
        throw UsageError("--shape flat needs the '" + need + "' field, which --inc/--exc leaves out");
    }
  }
  if (!inc.empty()) q.emplace_back("inc", join(inc));
  if (!exc.empty()) q.emplace_back("exc", join(exc));
}

// The query string of every request (--gender, --nat, --inc/--exc,
// --password), and the output's shape.
void plan_query(const Options& o, Plan& plan) {
  Query q;
  add_gender(o, q);
  add_nat(o, q);
  plan.shape = o.shape == "flat" ? Shape::flat : Shape::raw;
  add_fields(o, plan.shape, q);
  if (!o.password.empty()) {
    check_password(o.password);
    q.emplace_back("password", o.password);
  }
  for (const auto& [k, v] : q) {
    plan.query += plan.query.empty() ? "" : "&";
    plan.query += k + "=" + http::url_encode(v);
  }
}

// Paging: with a seed, page N is always the same users, so pages advance and
// never repeat. Several requests and no seed: make one up, unless --gender is
// set (the API would then ignore it).
void plan_paging(const Options& o, Plan& plan) {
  if (o.page) {
    if (*o.page < 1) throw UsageError("--page must be at least 1");
    if (o.seed.empty()) throw UsageError("--page needs --seed: without a seed every page is random");
  }
  plan.first_page = o.page.value_or(1);
  plan.seed = o.seed;
  bool several = plan.count > static_cast<uint64_t>(plan.page_size);
  if (plan.seed.empty() && several && o.gender.empty() && o.every.empty() && !plan.file) {
    plan.seed = random_seed();
    plan.seed_generated = true;
  }
  plan.paged = !plan.seed.empty();
}

// Rhythm: --every, --duration, --rate; --meta and --max-failures.
void plan_rhythm(const Options& o, Plan& plan) {
  if (!o.every.empty()) plan.every_ms = positive_duration("--every", o.every);
  if (!o.duration.empty()) plan.duration_ms = positive_duration("--duration", o.duration);
  if (o.rate) {
    if (*o.rate < 0) throw UsageError("--rate must be 0 (no limit) or more");
    plan.min_interval_ms = *o.rate > 0 ? 1000.0 / *o.rate : 0;
    plan.api_budget = false;  // the user chose the pace
  }
  plan.meta = o.meta;
  plan.max_failures = o.max_failures;
}

// The HTTP client's retries, timeouts and user agent.
void plan_http(const Options& o, Plan& plan) {
  if (o.retries < 0 || o.retries > 100) throw UsageError("--retries must be 0..100");
  plan.http.retries = o.retries;
  plan.http.timeout_ms = positive_duration("--timeout", o.timeout);
  plan.http.connect_timeout_ms = positive_duration("--connect-timeout", o.connect_timeout);
  plan.http.backoff_ms = parse_duration_ms(o.retry_delay, "--retry-delay");
  plan.http.user_agent = "ru-fetch/" + version_string();
}

}  // namespace

// The flags are checked in the order the sections below are run: the first
// error found is the one reported.
Plan make_plan(const Options& o) {
  Plan plan;
  plan_url(o, plan);
  plan_sizes(o, plan);
  plan_query(o, plan);
  plan_paging(o, plan);
  plan_rhythm(o, plan);
  plan_http(o, plan);
  return plan;
}

std::string request_url(const Plan& plan, int page) {
  if (plan.file) return plan.base_url;  // a saved response: served as is
  std::string query = "results=" + std::to_string(plan.page_size);
  if (plan.paged) query += "&page=" + std::to_string(page) + "&seed=" + http::url_encode(plan.seed);
  if (!plan.query.empty()) query += "&" + plan.query;
  size_t hash = plan.base_url.find('#');
  std::string base = plan.base_url.substr(0, hash);
  return base + (base.find('?') == std::string::npos ? "?" : "&") + query;
}

}  // namespace pipekit::rufetch
