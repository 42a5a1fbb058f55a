#include "pipekit/cli.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <fstream>

#include "pipekit/log.hpp"
#include "pipekit/signals.hpp"
#include "pipekit/version_info.hpp"

namespace pipekit {

std::string version_string() {
  return fmt::format("{} ({})", PIPEKIT_VERSION, PIPEKIT_GIT_DESCRIBE);
}

void add_common_options(CLI::App& app, CommonOptions& opts) {
  app.set_version_flag("--version", std::string(app.get_name()) + " " + version_string(),
                       "Print the version and exit");
  app.add_flag("-q,--quiet", opts.quiet, "Only errors on stderr (no summary, no progress)");
  app.add_flag("-v,--verbose", opts.verbose, "More detail on stderr (repeat for debug)");
  app.add_option("--log-format", opts.log_format, "Log lines as text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--stats", opts.stats_file, "Write a JSON summary of the run to FILE at exit")
      ->type_name("FILE");
  app.add_flag_callback("--progress", [&opts] { opts.progress = true; },
                        "Show a progress line on stderr even when it is not a TTY");
  app.add_flag_callback("--no-progress", [&opts] { opts.progress = false; },
                        "Never show the progress line");
  app.footer(exit_status_help());
}

void add_deprecated_alias(CLI::App& app, const std::string& old_name, CLI::Option* option,
                          std::string& value) {
  std::string new_name = option->get_name();
  std::string tool = app.get_name();
  CLI::Option* alias = app.add_option_function<std::string>(
                              old_name,
                              [&value, old_name, new_name, tool](const std::string& v) {
                                value = v;
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

void write_stats_file(const std::string& path, const Stats& stats, int code) {
  if (path.empty()) return;
  std::ofstream out(path, std::ios::trunc);
  out << stats.to_json(code) << '\n';
  if (!out) log::error("cannot write --stats file {}", path);
}

}  // namespace

int run_tool(CLI::App& app, int argc, char** argv, CommonOptions& common,
             const std::function<int(RunContext&)>& run) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the message; usage errors are always exit 2.
    app.exit(e);
    return static_cast<int>(ExitCode::usage);
  }

  log::Level level = common.quiet ? log::Level::error
                     : common.verbose >= 2 ? log::Level::debug
                     : log::Level::info;
  if (common.verbose == 1 && !common.quiet) level = log::Level::info;
  log::configure(app.get_name(), level,
                 common.log_format == "json" ? log::Format::json : log::Format::text);
  install_signal_handlers();

  Stats stats;
  bool progress = common.progress.value_or(isatty(STDERR_FILENO) == 1) && !common.quiet;
  if (progress) stats.start_progress();

  RunContext ctx{common, stats};
  int code = static_cast<int>(ExitCode::internal);
  try {
    code = run(ctx);
  } catch (const PipeClosed&) {
    code = 0;
    log::debug("stdout closed by the reader; stopping");
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
  if (!common.quiet) log::info("{}", stats.summary_line());
  write_stats_file(common.stats_file, stats, code);
  return code;
}

int64_t parse_duration_ms(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) throw UsageError("not a duration: '" + text + "' (try 500ms, 5s, 10m, 1h)");
  double value = std::stod(text.substr(0, i));
  std::string unit = text.substr(i);
  double factor;
  if (unit.empty() || unit == "s") factor = 1000;
  else if (unit == "ms") factor = 1;
  else if (unit == "m" || unit == "min") factor = 60'000;
  else if (unit == "h") factor = 3'600'000;
  else if (unit == "d") factor = 86'400'000;
  else throw UsageError("not a duration: '" + text + "' (try 500ms, 5s, 10m, 1h)");
  return static_cast<int64_t>(value * factor);
}

uint64_t parse_size_bytes(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) throw UsageError("not a size: '" + text + "' (try 1000, 64KiB, 16MiB)");
  double value = std::stod(text.substr(0, i));
  std::string unit = text.substr(i);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double factor;
  if (unit.empty() || unit == "b") factor = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") factor = 1024;
  else if (unit == "m" || unit == "mb" || unit == "mib") factor = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb" || unit == "gib") factor = 1024.0 * 1024 * 1024;
  else throw UsageError("not a size: '" + text + "' (try 1000, 64KiB, 16MiB)");
  return static_cast<uint64_t>(value * factor);
}

}  // namespace pipekit
