#include "pipekit/cli.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <fstream>

#include "pipekit/log.hpp"
#include "pipekit/signals.hpp"
#include "pipekit/version_info.hpp"

namespace pipekit {

// Each tool's examples for --help, generated from its man page's EXAMPLES
// (cmake/pipekit.cmake, docgen help-examples). Weak: programs that are not
// tools (unit tests) link without one, and then --help shows none.
extern const char* const kHelpExamples __attribute__((weak));

std::string help_examples() {
  // A weak symbol that no object defines has the address 0.
  return &kHelpExamples != nullptr && kHelpExamples ? kHelpExamples : "";
}

std::string version_string() {
  return fmt::format("{} ({})", PIPEKIT_VERSION, PIPEKIT_GIT_DESCRIBE);
}

std::string version_line(const std::string& tool) {
  return fmt::format("{} {} (built with librdkafka {})", tool, version_string(), PIPEKIT_RDKAFKA_VERSION);
}

void add_common_options(CLI::App& app, CommonOptions& opts) {
  app.set_version_flag("--version", version_line(app.get_name()), "Print the version and exit");
  app.add_flag("-q,--quiet", opts.quiet, "Only errors on stderr (no summary, no progress)");
  app.add_flag("-v,--verbose", opts.verbose, "More detail on stderr: -v debug, -vv trace (every reject and ack)");
  app.add_option("--log-format", opts.log_format, "Log lines as text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--stats", opts.stats_file,
                 "Write a JSON summary of the run to FILE at exit, and while running every --stats-interval")
      ->type_name("FILE");
  app.add_option_function<std::string>(
         "--stats-interval",
         [&opts](const std::string& v) { opts.stats_interval_ms = parse_duration_ms(v, "--stats-interval"); },
         "How often the --stats file is rewritten while running (0: only at exit)")
      ->type_name("DURATION")
      ->default_str("1s");
  app.add_flag_callback("--progress", [&opts] { opts.progress = true; },
                        "Show a progress line on stderr even when it is not a TTY");
  app.add_flag_callback("--no-progress", [&opts] { opts.progress = false; },
                        "Never show the progress line");
  std::string examples = help_examples();
  app.footer((examples.empty() ? "" : examples + "\n") + exit_status_help());
}

void add_deprecated_alias(CLI::App& app, const std::string& old_name, CLI::Option* option,
                          std::string& value) {
  detail::add_alias(app, old_name, option, [&value](const std::string& v) { value = v; });
}

void detail::add_alias(CLI::App& app, const std::string& old_name, CLI::Option* option,
                       std::function<void(const std::string&)> set) {
  std::string new_name = option->get_name();
  std::string tool = app.get_name();
  CLI::Option* alias = app.add_option_function<std::string>(
                              old_name,
                              [set, old_name, new_name, tool](const std::string& v) {
                                set(v);
                                fmt::print(stderr, "{}: {} is deprecated, use {} (the old spelling keeps working)\n",
                                           tool, old_name, new_name);
                              })
                          ->group("")
                          ->excludes(option);
  if (option->get_required()) {
    option->required(false);
    app.parse_complete_callback([option, alias, new_name] {
      if (option->count() == 0 && alias->count() == 0) throw CLI::RequiredError(new_name);
    });
  }
}

namespace {

// False when the file could not be written in full. Replaced in one step,
// like the live file: pipekit may be reading it.
bool write_stats_file(const std::string& path, const Stats& stats, int code) {
  if (path.empty()) return true;
  if (stats.write_file(path, code)) return true;
  log::error("cannot write --stats file {}", path);
  return false;
}

}  // namespace

void one_value_per_occurrence(CLI::App& app) {
  for (CLI::Option* option : app.get_options())
    if (option->get_items_expected_max() > 1 && option->nonpositional()) option->allow_extra_args(false);
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) one_value_per_occurrence(*sub);
}

int run_tool(CLI::App& app, int argc, char** argv, CommonOptions& common,
             const std::function<int(RunContext&)>& run) {
  one_value_per_occurrence(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 checks required options before unknown ones: `jvalidate --typo`
    // would say "--schema is required". Name the unknown argument first.
    std::vector<std::string> unknown = app.remaining();
    if (!unknown.empty() && dynamic_cast<const CLI::ExtrasError*>(&e) == nullptr) {
      app.exit(CLI::ExtrasError(unknown));
      return static_cast<int>(ExitCode::usage);
    }
    // CLI11 prints the message; usage errors are always exit 2.
    app.exit(e);
    return static_cast<int>(ExitCode::usage);
  } catch (const Error& e) {
    // An option callback's own parser (parse_percent, ...) refused a value.
    fmt::print(stderr, "{}: {}\nRun with --help for more information.\n", app.get_name(), e.what());
    return static_cast<int>(e.code());
  }

  // PIPEKIT_PARSE_ONLY=1: the command line was parsed into typed options and
  // that is all (pipekit's tests run each stage's command line through the
  // tool's own parser this way). Not a flag: nothing a user runs needs it.
  if (const char* parse_only = std::getenv("PIPEKIT_PARSE_ONLY"); parse_only && std::string_view(parse_only) == "1")
    return 0;

  // -v raises the level by one (debug), -vv by two (trace); -q wins.
  int raised = static_cast<int>(log::Level::info) + std::min(common.verbose, 2);
  log::Level level = common.quiet ? log::Level::error : static_cast<log::Level>(raised);
  log::configure(app.get_name(), level,
                 common.log_format == "json" ? log::Format::json : log::Format::text);
  install_signal_handlers();

  Stats stats;
  bool progress = common.progress.value_or(isatty(STDERR_FILENO) == 1) && !common.quiet;
  if (progress) stats.start_progress();

  stats.start_live_file(common.stats_file, common.stats_interval_ms);

  RunContext ctx{common, stats};
  int code = static_cast<int>(ExitCode::internal);
  try {
    code = run(ctx);
  } catch (const PipeClosed&) {
    code = 0;
    log::debug("stdout closed by the reader; stopping");
  } catch (const StoppedBeforeStart& e) {
    code = 0;
    log::info("{}", e.what());
  } catch (const Error& e) {
    code = static_cast<int>(e.code());
    log::error("{}", e.what());
  } catch (const CLI::Error& e) {
    code = static_cast<int>(ExitCode::usage);
    log::error("{}", e.what());
  } catch (const std::bad_alloc&) {
    code = static_cast<int>(ExitCode::internal);
    log::error("out of memory");
  } catch (const std::exception& e) {
    code = static_cast<int>(ExitCode::internal);
    log::error("internal error: {}", e.what());
  }
  stats.stop_progress();
  stats.stop_live_file();
  if (!common.quiet) log::info("{}", stats.summary_line());
  // A run that was fine otherwise fails on its --stats file: a local I/O error.
  if (!write_stats_file(common.stats_file, stats, code) && code == 0) code = static_cast<int>(ExitCode::io);
  return code;
}

namespace {

UsageError bad_value(std::string_view flag, std::string_view text, std::string_view what) {
  return UsageError(fmt::format("{}: '{}' {}", flag, text, what));
}

// Splits "12.5ms" into number "12.5" and unit "ms"; the number is digits with at
// most one '.', at least one digit before it.
bool split_number(std::string_view text, std::string_view& number, std::string_view& unit) {
  size_t i = 0, dots = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) dots += text[i++] == '.';
  number = text.substr(0, i);
  unit = text.substr(i);
  return i > 0 && number[0] != '.' && dots <= 1;
}

// number * factor, truncated toward zero, exactly; nullopt when past max.
std::optional<uint64_t> scaled(std::string_view number, uint64_t factor, uint64_t max) {
  size_t dot = number.find('.');
  std::string_view whole = number.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? std::string_view() : number.substr(dot + 1);
  uint64_t w = 0;
  for (char c : whole) {
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (w > (UINT64_MAX - digit) / 10) return std::nullopt;  // would overflow: past any max
    w = w * 10 + digit;
  }
  if (w > max / factor) return std::nullopt;
  uint64_t value = w * factor;
  // The fraction: factor * 0.ddd (12 digits at most), in 128 bits.
  uint64_t num = 0, den = 1;
  for (char c : fraction.substr(0, 12)) {
    num = num * 10 + static_cast<uint64_t>(c - '0');
    den *= 10;
  }
  unsigned __int128 part = static_cast<unsigned __int128>(num) * factor / den;
  if (part > max - value) return std::nullopt;
  return value + static_cast<uint64_t>(part);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

int64_t parse_duration_ms(std::string_view text, std::string_view flag, int64_t max_ms) {
  std::string_view number, unit;
  if (!split_number(text, number, unit)) throw bad_value(flag, text, "is not a duration (try 500ms, 5s, 10m, 1h, 2d)");
  uint64_t factor;
  if (unit.empty() || unit == "s") factor = 1000;
  else if (unit == "ms") factor = 1;
  else if (unit == "m" || unit == "min") factor = 60'000;
  else if (unit == "h") factor = 3'600'000;
  else if (unit == "d") factor = 86'400'000;
  else throw bad_value(flag, text, "is not a duration (try 500ms, 5s, 10m, 1h, 2d)");
  auto ms = scaled(number, factor, static_cast<uint64_t>(max_ms));
  if (!ms) throw bad_value(flag, text, fmt::format("is too long (at most {} ms)", max_ms));
  return static_cast<int64_t>(*ms);
}

uint64_t parse_size_bytes(std::string_view text, std::string_view flag, uint64_t max_bytes) {
  std::string_view number, unit_text;
  if (!split_number(text, number, unit_text)) throw bad_value(flag, text, "is not a size (try 1000, 64KiB, 16MiB)");
  std::string unit = lower(unit_text);
  uint64_t factor;
  if (unit.empty() || unit == "b") factor = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") factor = 1ULL << 10;
  else if (unit == "m" || unit == "mb" || unit == "mib") factor = 1ULL << 20;
  else if (unit == "g" || unit == "gb" || unit == "gib") factor = 1ULL << 30;
  else throw bad_value(flag, text, "is not a size (try 1000, 64KiB, 16MiB)");
  auto bytes = scaled(number, factor, max_bytes);
  if (!bytes) throw bad_value(flag, text, fmt::format("is too large (at most {} bytes)", max_bytes));
  return *bytes;
}

uint64_t parse_count(std::string_view text, std::string_view flag, uint64_t min, uint64_t max) {
  std::string_view number, unit;
  if (!split_number(text, number, unit) || !unit.empty() || number.find('.') != std::string_view::npos)
    throw bad_value(flag, text, "is not a whole number");
  auto n = scaled(number, 1, max);
  if (!n || *n < min) throw bad_value(flag, text, fmt::format("is out of range ({}..{})", min, max));
  return *n;
}

double parse_percent(std::string_view text, std::string_view flag) {
  std::string_view number, unit;
  if (!split_number(text, number, unit) || !(unit.empty() || unit == "%"))
    throw bad_value(flag, text, "is not a percentage (try 5%, 0.5%)");
  // Exact to a millionth of a percent: 100% is 100'000'000 millionths.
  auto millionths = scaled(number, 1'000'000, 100'000'000);
  if (!millionths) throw bad_value(flag, text, "is out of range (0..100%)");
  return static_cast<double>(*millionths) / 1e6;
}

}  // namespace pipekit
