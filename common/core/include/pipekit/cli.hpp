#pragma once
// What every tool shares on the command line, and the one place where
// exceptions become exit statuses.
#include <CLI/CLI.hpp>
#include <functional>
#include <limits>
#include <type_traits>
#include <optional>
#include <string>
#include <string_view>

#include "pipekit/errors.hpp"
#include "pipekit/stats.hpp"

namespace pipekit {

struct CommonOptions {
  bool quiet = false;
  int verbose = 0;
  std::string log_format = "text";
  std::string stats_file;
  int64_t stats_interval_ms = 1000;  // --stats-interval: the live --stats file; 0: at exit only
  std::optional<bool> progress;  // unset: only when stderr is a TTY
};

// --help, --version, -q, -v, --log-format, --stats, --stats-interval,
// --progress/--no-progress.
// man fragment: man/fragments/common-options.roff
void add_common_options(CLI::App& app, CommonOptions& opts);

std::string version_string();
// "TOOL VERSION (DESCRIBE) (built with librdkafka X.Y.Z)": --version of a tool
// that does not load librdkafka itself (the Kafka tools name the one they run with).
std::string version_line(const std::string& tool);
// The tool's examples as --help shows them ("Examples:\n..."), generated
// from its man page's EXAMPLES; empty in programs that are not tools.
std::string help_examples();

// An old spelling of `option` kept working for existing scripts and crontabs:
// hidden from --help, it sets the same value and says once on stderr that it
// is deprecated. A required `option` is then satisfied by either spelling.
void add_deprecated_alias(CLI::App& app, const std::string& old_name, CLI::Option* option,
                          std::string& value);
// The same for a whole-number option (-n N and friends): the value is parsed
// as that option's would be.
template <typename Int>
  requires std::is_integral_v<Int>
void add_deprecated_alias(CLI::App& app, const std::string& old_name, CLI::Option* option, Int& value);
template <typename Int>
  requires std::is_integral_v<Int>
void add_deprecated_alias(CLI::App& app, const std::string& old_name, CLI::Option* option,
                          std::optional<Int>& value);

// The context a run gets: counters and the common options.
struct RunContext {
  const CommonOptions& common;
  Stats& stats;
};

// A repeatable option (-X, -F, -H, --schema, ...) takes one value per
// occurrence, as kcat's do: `kpub -X a=b FILE` reads FILE, it does not take it
// for a second -X value. run_tool applies it to every option; exposed for
// parsers built without run_tool.
void one_value_per_occurrence(CLI::App& app);

// Parses argv, configures logging and signals, calls run, prints the summary,
// writes --stats, and maps exceptions to exit statuses. `run` returns the
// exit status for a run that completed.
int run_tool(CLI::App& app, int argc, char** argv, CommonOptions& common,
             const std::function<int(RunContext&)>& run);

// Every number a user types (a flag's value) is parsed by one of these: exact
// decimal arithmetic (no double), range-checked, overflow-safe. A bad value is
// a UsageError (exit 2) whose message starts with the flag's name.
inline constexpr int64_t kMaxDurationMs = 100LL * 366 * 86'400'000;  // ~100 years
inline constexpr uint64_t kMaxSizeBytes = 1ULL << 40;                // 1 TiB

// "5s", "250ms", "10m", "1.5h", "2d", "2" (seconds) into milliseconds, at most max_ms.
int64_t parse_duration_ms(std::string_view text, std::string_view flag, int64_t max_ms = kMaxDurationMs);
// "16MiB", "64k", "1000" into bytes, at most max_bytes.
uint64_t parse_size_bytes(std::string_view text, std::string_view flag, uint64_t max_bytes = kMaxSizeBytes);
// A plain decimal integer in [min, max].
uint64_t parse_count(std::string_view text, std::string_view flag, uint64_t min, uint64_t max);
// "5", "5%", "0.5%": a finite percentage in [0, 100].
double parse_percent(std::string_view text, std::string_view flag);

namespace detail {
// Declares old_name as a hidden alias whose value `set` stores; warns once.
void add_alias(CLI::App& app, const std::string& old_name, CLI::Option* option,
               std::function<void(const std::string&)> set);
// An alias's value as the whole number the option takes.
template <typename Int>
Int alias_count(const std::string& text, const std::string& old_name) {
  return static_cast<Int>(parse_count(text, old_name, 0, static_cast<uint64_t>(std::numeric_limits<Int>::max())));
}
}  // namespace detail

template <typename Int>
  requires std::is_integral_v<Int>
void add_deprecated_alias(CLI::App& app, const std::string& old_name, CLI::Option* option, Int& value) {
  detail::add_alias(app, old_name, option,
                    [&value, old_name](const std::string& v) { value = detail::alias_count<Int>(v, old_name); });
}

template <typename Int>
  requires std::is_integral_v<Int>
void add_deprecated_alias(CLI::App& app, const std::string& old_name, CLI::Option* option,
                          std::optional<Int>& value) {
  detail::add_alias(app, old_name, option,
                    [&value, old_name](const std::string& v) { value = detail::alias_count<Int>(v, old_name); });
}

}  // namespace pipekit
