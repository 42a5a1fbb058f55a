// ru-fetch's command line: every option with its type, default and help, defined
// once. main() parses with it; pipekit builds its ru-fetch stage against it.
#include "cli.hpp"

namespace pipekit::rufetch {

std::unique_ptr<CLI::App> command_line(Options& o) {
  auto parser = std::make_unique<CLI::App>("Fetch users from the randomuser.me API and write them to stdout as NDJSON, one user per line:\n"
               "once, --count N across pages, or --every DURATION as a live source.", "ru-fetch");
  CLI::App& app = *parser;
  add_common_options(app, o.common);

  auto* api = "API query";
  auto* results = app.add_option("--results", o.results, "Users per request, 1..5000 (default 1; with --count and no --every, up to 5000)")
      ->type_name("N")->group(api);
  add_deprecated_alias(app, "-n", results, o.results);  // -n: no one meaning across the tools
  app.add_option("--page", o.page, "First page to fetch (needs --seed)")->type_name("N")->group(api);
  auto* seed = app.add_option("--seed", o.seed, "Seed: the same seed and page always give the same users")
      ->type_name("SEED")->group(api);
  add_deprecated_alias(app, "-s", seed, o.seed);  // -s is --schema in jvalidate
  app.add_option("--gender", o.gender, "Only male or female users (not with --seed)")
      ->type_name("male|female")->group(api);
  app.add_option("--nat", o.nat, "Nationalities, comma-separated or repeated (AU,BR,CA,...,US)")
      ->allow_extra_args(false)->type_name("LIST")->group(api);
  app.add_option("--inc", o.inc, "Only these fields (gender,name,location,email,login,registered,dob,phone,cell,id,picture,nat)")
      ->allow_extra_args(false)->type_name("FIELDS")->group(api);
  app.add_option("--exc", o.exc, "All fields but these")->allow_extra_args(false)->type_name("FIELDS")->group(api);
  app.add_option("--password", o.password, "Password charsets and length, e.g. upper,lower,number,8-16")
      ->type_name("SPEC")->group(api);
  app.add_option("--api-version", o.api_version, "API version, e.g. 1.4 (default: the API's current one)")
      ->type_name("X.Y")->group(api);
  app.add_option("--url", o.url, "Base URL: a mirror, a local server, or file:///path to a saved response")
      ->type_name("URL")->group(api);

  auto* rhythm = "Volume and rhythm";
  app.add_option("-c,--count", o.count, "Stop after N users in all, across as many requests as needed")
      ->type_name("N")->group(rhythm);
  app.add_option("--every", o.every, "Poll every DURATION (5s, 1m) until stopped, --count or --duration")
      ->type_name("DURATION")->group(rhythm);
  app.add_option("--duration", o.duration, "Stop after DURATION")->type_name("DURATION")->group(rhythm);
  app.add_option("--rate", o.rate, "At most this many requests per second (0: no limit; replaces the default "
                                   "pacing under the API's 20,000 users per 5 minutes)")
      ->type_name("REQ_PER_S")->group(rhythm);

  auto* output = "Output";
  app.add_option("--shape", o.shape, "raw: each user as the API sent it; flat: the flat user record")
      ->check(CLI::IsMember({"raw", "flat"}))->capture_default_str()->group(output);
  app.add_flag("--meta", o.meta, "Add the request's info (seed, page, results, version) and fetch time under \"_meta\"")
      ->group(output);

  auto* failures = "Failures";
  app.add_option("--retries", o.retries, "Retries of a failed request (timeouts, connection errors, 429, 5xx, "
                                         "unusable 200 answers)")
      ->capture_default_str()->type_name("N")->group(failures);
  app.add_option("--retry-delay", o.retry_delay, "First retry delay; doubles each retry, with jitter")
      ->capture_default_str()->type_name("DURATION")->group(failures);
  app.add_option("--timeout", o.timeout, "Whole-request timeout")->capture_default_str()->type_name("DURATION")
      ->group(failures);
  app.add_option("--connect-timeout", o.connect_timeout, "Connection timeout")->capture_default_str()
      ->type_name("DURATION")->group(failures);
  app.add_option("--max-failures", o.max_failures, "With --every: exit 3 after N failed polls (0: keep polling)")
      ->capture_default_str()->type_name("N")->group(failures);

  app.add_option("--empty-exit", o.empty_exit, "Exit with CODE (e.g. 99) when the API gave no users")
      ->type_name("CODE")->check(CLI::Range(1, 255))->group(failures);

  return parser;
}

}  // namespace pipekit::rufetch
