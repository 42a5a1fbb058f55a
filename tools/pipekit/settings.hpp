#pragma once
// pipekit's command line, environment and --config file, from one table
// (settings.cpp): each row is a flag, and for a setting also the variable
// read from the environment and the config file, and its --help line.
// Precedence: flag > environment > config file > default.
#include <map>
#include <string>
#include <vector>

namespace pipekit::orchestrator {

enum class Kind {
  setting,  // takes a value; has an environment / config-file name
  toggle,   // a setting switched by flags: `names` set "1", `off_names` set "0"
  option,   // takes a value; this run only (not in the environment or file)
  flag,     // no value; this run only
};

// Where --help shows a row: the general list, or a subcommand's.
enum class Section { general, ingest, load, status, demo, hidden };

struct OptionRow {
  Kind kind;
  const char* key;        // setting: its variable (PIPEKIT_TOPIC); else an id (once)
  const char* names;      // "-t,--topic"
  const char* off_names;  // toggle: "--no-create"; else ""
  const char* metavar;    // "NAME"; "" for switches
  const char* def;        // setting default ("" = unset)
  const char* help;
  Section section;
};

const std::vector<OptionRow>& option_table();
// libpq's own variables, also accepted (and exported) from the config file.
const std::vector<std::string>& libpq_file_keys();

// The parsed command line.
struct CommandLine {
  std::string command;                         // ingest|load|run|status|demo
  std::map<std::string, std::string> flags;    // settings given as flags, by variable
  std::map<std::string, std::string> options;  // option/flag rows, by key
  int verbose = 0;
  bool help = false;
  bool version = false;
  bool has(const std::string& key) const { return options.count(key) > 0; }
  std::string opt(const std::string& key) const {
    auto it = options.find(key);
    return it == options.end() ? "" : it->second;
  }
};

// Throws UsageError with the same messages as always.
CommandLine parse_command_line(const std::vector<std::string>& args);

// Every setting's final value (flag > environment > file > default), and
// the derived defaults (schema, state dir, rejects files). Validation
// failures throw Error with the documented status.
struct Settings {
  std::map<std::string, std::string> values;
  const std::string& operator[](const std::string& key) const;
  bool on(const std::string& key) const { return (*this)[key] == "1"; }
};
Settings resolve_settings(const CommandLine& cl, const std::string& data_dir);
void validate_settings(const CommandLine& cl, const Settings& s);
// Durations take units, like every tool's ("30s", "2m"): parsed here, once.
int64_t lock_wait_ms(const Settings& s);
int64_t session_timeout_ms(const Settings& s);

// Reads a KEY=VALUE file as data (never as shell code): unknown keys and
// secrets are refused. Returns the pairs in file order.
std::vector<std::pair<std::string, std::string>> read_config_file(const std::string& path);

// --help for COMMAND ("" for the general help).
std::string help_text(const std::string& command);

}  // namespace pipekit::orchestrator
