#include "settings.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>

#include "pipekit/cli.hpp"
#include "pipekit/errors.hpp"
#include "stages.hpp"

namespace pipekit::orchestrator {

namespace {

using K = Kind;
using S = Section;

[[noreturn]] void usage_error(const std::string& message) {
  throw UsageError(message + "\nTry 'pipekit --help' or 'pipekit SUBCOMMAND --help'.");
}

}  // namespace

const std::vector<OptionRow>& option_table() {
  static const std::vector<OptionRow> table = {
      // general
      {K::option, "config", "--config", "", "FILE", "", "KEY=VALUE settings; flag > environment > file > default", S::general},
      {K::setting, "KAFKA_BROKERS", "-b,--brokers", "", "LIST", "", "Kafka bootstrap servers", S::general},
      {K::setting, "PIPEKIT_KAFKA_CONFIG", "-F,--kafka-config", "", "FILE", "", "librdkafka properties (secrets go here)", S::general},
      {K::setting, "PIPEKIT_TOPIC", "-t,--topic", "", "NAME", "users", "topic", S::general},
      {K::setting, "PIPEKIT_GROUP", "-G,--group", "", "GROUP", "pipekit-load", "consumer group of load and status", S::general},
      {K::setting, "PIPEKIT_KEY", "--key", "", "FIELD", "id", "Kafka key and upsert key", S::general},
      {K::setting, "PIPEKIT_SINK", "--sink", "", "postgres|cassandra|files", "postgres", "where load writes", S::general},
      {K::setting, "PIPEKIT_PG_DSN", "-d,--dsn", "", "CONNINFO", "", "PostgreSQL, never with a password (else PG* variables)", S::general},
      {K::setting, "PIPEKIT_TABLE", "--table", "", "NAME", "users", "table", S::general},
      {K::setting, "PIPEKIT_SCHEMA", "--schema", "", "FILE", "", "JSON Schema (default examples/schemas/user-flat.schema.json)", S::general},
      {K::flag, "once", "--once", "", "", "", "a batch run: finish, then exit", S::general},
      {K::option, "empty-exit", "--empty-exit", "", "CODE", "", "exit CODE (99 for Airflow) when there was nothing to do", S::general},
      {K::setting, "PIPEKIT_MAX_REJECTS", "--max-rejects", "", "N", "", "passed to jvalidate", S::general},
      {K::setting, "PIPEKIT_MAX_REJECT_RATE", "--max-reject-rate", "", "P%", "", "passed to jvalidate", S::general},
      {K::toggle, "PIPEKIT_ASSERT_FORMATS", "--assert-formats", "--no-assert-formats", "", "1",
       "jvalidate checks \"format\" (email, date-time, uuid)", S::general},
      {K::setting, "PIPEKIT_STATE_DIR", "--state-dir", "", "DIR", "", "rejects, locks, run files (default ~/.local/state/pipekit)", S::general},
      {K::setting, "PIPEKIT_LOCK", "--lock", "", "FILE", "", "(default STATE_DIR/locks/CMD-TOPIC[-GROUP-SINK].lock)", S::general},
      {K::setting, "PIPEKIT_LOCK_WAIT", "--lock-wait", "", "DURATION", "0s", "wait for the lock", S::general},
      {K::flag, "no-lock", "--no-lock", "", "", "", "no lock (several load pipelines of one group on one host)", S::general},
      {K::option, "metrics-addr", "--metrics-addr", "", "HOST:PORT", "", "serve Prometheus metrics on http://HOST:PORT/metrics", S::general},
      {K::flag, "dry-run", "--dry-run", "", "", "", "print each stage's command line and exit", S::general},
      {K::option, "stats", "--stats", "", "FILE", "", "also write the JSON summary to FILE", S::general},
      {K::option, "log-format", "--log-format", "", "text|json", "", "passed to every tool", S::general},
      {K::flag, "quiet", "-q,--quiet", "", "", "", "silent on success (cron)", S::general},
      {K::flag, "verbose", "-v,--verbose", "", "", "", "passed to every tool", S::general},
      {K::flag, "help", "-h,--help", "", "", "", "this help (pipekit SUBCOMMAND --help: the subcommand's)", S::general},
      {K::flag, "version", "--version", "", "", "", "print the version", S::general},
      // ingest
      {K::setting, "PIPEKIT_COUNT", "-c,--count", "", "N", "1000", "users to fetch (--once), or per --every tick", S::ingest},
      {K::setting, "PIPEKIT_RESULTS", "--results", "", "N", "", "users per API request (--once; default: ru-fetch's)", S::ingest},
      {K::setting, "PIPEKIT_SEED", "--seed", "", "S", "", "API seed (the same users every time)", S::ingest},
      {K::setting, "PIPEKIT_URL", "--url", "", "URL", "", "API URL (file:// for a saved response)", S::ingest},
      {K::setting, "PIPEKIT_FETCH_TIMEOUT", "--fetch-timeout", "", "DUR", "", "per request timeout", S::ingest},
      {K::setting, "PIPEKIT_FETCH_RATE", "--fetch-rate", "", "R", "", "at most R requests/s (0: no limit; for a local server)", S::ingest},
      {K::setting, "PIPEKIT_EVERY", "--every", "", "DURATION", "60s", "streaming interval", S::ingest},
      {K::setting, "PIPEKIT_INPUT", "--input", "", "FILE", "", "publish NDJSON from FILE (- for stdin) instead of the API", S::ingest},
      {K::toggle, "PIPEKIT_VALIDATE_INGEST", "", "--no-validate", "", "1", "publish without jvalidate", S::ingest},
      {K::setting, "PIPEKIT_INGEST_REJECTS", "--ingest-rejects", "", "FILE", "", "(default STATE_DIR/rejects/TOPIC.ingest.ndjson)", S::ingest},
      // load
      {K::toggle, "PIPEKIT_CREATE", "--create", "--no-create", "", "1", "create the table from the schema", S::load},
      {K::setting, "PIPEKIT_BATCH_ROWS", "--batch-rows", "", "N", "", "pgload batching: rows per transaction", S::load},
      {K::setting, "PIPEKIT_FLUSH_INTERVAL", "--flush-interval", "", "DURATION", "", "pgload batching: longest wait before a commit", S::load},
      {K::setting, "PIPEKIT_SINK_RETRIES", "--sink-retries", "", "N", "", "pgload's reconnect attempts before exit 3", S::load},
      {K::setting, "PIPEKIT_CQL_HOSTS", "--cql-hosts", "", "H1,H2", "", "Cassandra contact points", S::load},
      {K::setting, "PIPEKIT_CQL_PORT", "--cql-port", "", "N", "", "Cassandra port", S::load},
      {K::setting, "PIPEKIT_CQL_KEYSPACE", "--keyspace", "", "KS", "", "Cassandra keyspace", S::load},
      {K::setting, "PIPEKIT_CQL_USER", "--cql-user", "", "U", "", "Cassandra user", S::load},
      {K::setting, "CQL_PASSWORD_FILE", "--cql-password-file", "", "FILE", "", "Cassandra password file (or CQL_PASSWORD in the environment)", S::load},
      {K::setting, "PIPEKIT_FILES_DIR", "--dir", "", "DIR", "", "--sink files: the folder fileload writes under", S::load},
      {K::setting, "PIPEKIT_FILES_FORMAT", "--format", "", "ndjson|csv|parquet", "parquet", "--sink files: the file format", S::load},
      {K::setting, "PIPEKIT_FILES_ROLL_RECORDS", "--roll-records", "", "N", "", "--sink files: complete a file after N records (fileload's default)", S::load},
      {K::setting, "PIPEKIT_FILES_ROLL_AGE", "--roll-age", "", "DURATION", "", "--sink files: complete a file at most DURATION after it opened (fileload's default)", S::load},
      {K::setting, "PIPEKIT_REJECTS", "--rejects", "", "FILE", "", "(default STATE_DIR/rejects/TOPIC.load.ndjson)", S::load},
      {K::setting, "PIPEKIT_RESTARTS", "--restarts", "", "N", "5", "restarts after a crash", S::load},
      {K::setting, "PIPEKIT_ACK_TIMEOUT", "--ack-timeout", "", "DUR", "", "how long ksub -e waits for the last acks", S::load},
      {K::setting, "PIPEKIT_SESSION_TIMEOUT", "--session-timeout", "", "DURATION", "6s",
       "consumer group session timeout: how soon a crashed member's partitions are taken over", S::load},
      // status, demo
      {K::flag, "watch", "--watch", "", "", "", "redraw lag and rates every --interval (a terminal), else plain lines", S::status},
      {K::option, "interval", "--interval", "", "DURATION", "", "--watch's refresh interval (default 2s)", S::status},
      {K::flag, "offline", "--offline", "", "", "", "do not try the live API", S::demo},
  };
  return table;
}

const std::vector<std::string>& libpq_file_keys() {
  static const std::vector<std::string> keys = {"PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE",
                                                "PGSERVICEFILE", "PGPASSFILE", "PGSSLMODE", "PGSSLROOTCERT",
                                                "PGCONNECT_TIMEOUT", "PGAPPNAME", "PGOPTIONS"};
  return keys;
}

namespace {

std::vector<std::string> split_names(const char* names) {
  std::vector<std::string> out;
  std::string s = names;
  size_t start = 0;
  while (start < s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

struct Match {
  const OptionRow* row = nullptr;
  bool off = false;
};

Match find_option(const std::string& name) {
  for (const auto& row : option_table()) {
    for (const auto& n : split_names(row.names))
      if (n == name) return {&row, false};
    for (const auto& n : split_names(row.off_names))
      if (n == name) return {&row, true};
  }
  return {};
}

bool is_setting(const std::string& key) {
  for (const auto& row : option_table())
    if ((row.kind == Kind::setting || row.kind == Kind::toggle) && key == row.key) return true;
  return false;
}

bool is_libpq_key(const std::string& key) {
  for (const auto& k : libpq_file_keys())
    if (k == key) return true;
  return false;
}

bool whole_number(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

}  // namespace

CommandLine parse_command_line(const std::vector<std::string>& args) {
  CommandLine cl;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    std::string name = arg, value;
    bool has_value = false;
    if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) {
      name = arg.substr(0, arg.find('='));
      value = arg.substr(arg.find('=') + 1);
      has_value = true;
    }
    if (name == "ingest" || name == "load" || name == "run" || name == "status" || name == "demo") {
      if (!cl.command.empty()) usage_error(fmt::format("one subcommand at a time (got {} and {})", cl.command, name));
      cl.command = name;
      continue;
    }
    if (name == "-n") {  // -n was --count's short name until -c (ksub's, ru-fetch's, kcat's) took over
      fmt::print(stderr, "pipekit: -n is deprecated, use -c or --count (the old spelling keeps working)\n");
      name = "-c";
    }
    Match m = find_option(name);
    if (!m.row) {
      if (!arg.empty() && arg[0] == '-') usage_error("unknown option: " + arg);
      usage_error("unknown subcommand or stray argument: " + arg);
    }
    const OptionRow& row = *m.row;
    if (row.kind == Kind::setting || row.kind == Kind::option) {
      if (!has_value) {
        if (i + 1 >= args.size()) usage_error(fmt::format("option {} needs a value", name));
        value = args[++i];
      }
      if (row.kind == Kind::setting) {
        cl.flags[row.key] = value;
        continue;
      }
      std::string key = row.key;
      if (key == "empty-exit" && !(whole_number(value) && value.size() <= 3 && std::stoi(value) <= 255))
        usage_error("--empty-exit: not an exit status: " + value);
      if (key == "log-format" && value != "text" && value != "json")
        usage_error("--log-format: text or json, not " + value);
      cl.options[key] = value;
    } else if (row.kind == Kind::toggle) {
      cl.flags[row.key] = m.off ? "0" : "1";
    } else {
      std::string key = row.key;
      if (key == "verbose") ++cl.verbose;
      else if (key == "help") cl.help = true;
      else if (key == "version") cl.version = true;
      cl.options[key] = "1";
      if (key == "version") return cl;  // as before: --version answers at once
    }
  }
  return cl;
}

std::vector<std::pair<std::string, std::string>> read_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in || access(path.c_str(), R_OK) != 0) throw UsageError("--config " + path + ": cannot read it");
  static const std::regex key_value(R"(^([A-Za-z_][A-Za-z0-9_]*)=(.*)$)");
  static const std::regex secret(R"((PASSWORD|PASSWD)$|SECRET|TOKEN)");
  std::vector<std::pair<std::string, std::string>> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    if (line.rfind("export ", 0) == 0) line = line.substr(7);
    std::smatch m;
    if (!std::regex_match(line, m, key_value)) throw UsageError(fmt::format("{}:{}: not KEY=VALUE", path, n));
    std::string key = m[1], value = m[2];
    size_t end = value.find_last_not_of(" \t");
    value = end == std::string::npos ? "" : value.substr(0, end + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    if (std::regex_search(key, secret))
      throw UsageError(fmt::format("{}:{}: {}: no secrets in the config file; use the environment, ~/.pgpass "
                                   "(PGPASSFILE) or CQL_PASSWORD_FILE",
                                   path, n, key));
    if (!is_setting(key) && !is_libpq_key(key)) throw UsageError(fmt::format("{}:{}: unknown setting {}", path, n, key));
    out.emplace_back(key, value);
  }
  return out;
}

int64_t lock_wait_ms(const Settings& s) {
  return parse_duration_ms(s["PIPEKIT_LOCK_WAIT"], "--lock-wait (PIPEKIT_LOCK_WAIT)");
}

int64_t session_timeout_ms(const Settings& s) {
  const std::string& v = s["PIPEKIT_SESSION_TIMEOUT"];
  // Until durations took units everywhere this was milliseconds: a bare
  // number still is, with a warning, so existing configurations keep working.
  if (whole_number(v) && v.size() <= 9) {
    static bool warned = false;
    if (!warned)
      fmt::print(stderr, "pipekit: --session-timeout {}: give a unit (e.g. {}ms); a bare number is read as "
                         "milliseconds for now\n", v, v);
    warned = true;
    return std::stoll(v);
  }
  int64_t ms = parse_duration_ms(v, "--session-timeout (PIPEKIT_SESSION_TIMEOUT)", 3'600'000);
  if (ms < 1000) throw UsageError("--session-timeout: at least 1s (the group's heartbeat is a sixth of it)");
  return ms;
}

const std::string& Settings::operator[](const std::string& key) const {
  static const std::string empty;
  auto it = values.find(key);
  return it == values.end() ? empty : it->second;
}

Settings resolve_settings(const CommandLine& cl, const std::string& data_dir) {
  Settings s;
  std::map<std::string, std::string> from_file;
  if (cl.has("config")) {
    for (const auto& [key, value] : read_config_file(cl.opt("config"))) {
      // The environment wins over the file; libpq's variables are exported.
      if (std::getenv(key.c_str())) continue;
      if (is_libpq_key(key)) setenv(key.c_str(), value.c_str(), 1);
      else from_file[key] = value;
    }
  }
  for (const auto& row : option_table()) {
    if (row.kind != Kind::setting && row.kind != Kind::toggle) continue;
    std::string key = row.key;
    if (auto f = cl.flags.find(key); f != cl.flags.end()) s.values[key] = f->second;
    else if (const char* env = std::getenv(key.c_str())) s.values[key] = env;
    else if (auto f = from_file.find(key); f != from_file.end()) s.values[key] = f->second;
    else s.values[key] = row.def;
  }
  auto& v = s.values;
  if (v["PIPEKIT_SCHEMA"].empty()) v["PIPEKIT_SCHEMA"] = data_dir + "/examples/schemas/user-flat.schema.json";
  if (v["PIPEKIT_STATE_DIR"].empty()) {
    const char* xdg = std::getenv("XDG_STATE_HOME");
    const char* home = std::getenv("HOME");
    std::string base = xdg && *xdg ? xdg : std::string(home && *home ? home : "/tmp") + "/.local/state";
    v["PIPEKIT_STATE_DIR"] = base + "/pipekit";
  }
  if (v["PIPEKIT_REJECTS"].empty())
    v["PIPEKIT_REJECTS"] = v["PIPEKIT_STATE_DIR"] + "/rejects/" + v["PIPEKIT_TOPIC"] + ".load.ndjson";
  if (v["PIPEKIT_INGEST_REJECTS"].empty())
    v["PIPEKIT_INGEST_REJECTS"] = v["PIPEKIT_STATE_DIR"] + "/rejects/" + v["PIPEKIT_TOPIC"] + ".ingest.ndjson";
  setenv("KAFKA_BROKERS", v["KAFKA_BROKERS"].c_str(), 1);
  return s;
}

void validate_settings(const CommandLine& cl, const Settings& s) {
  const std::string& cmd = cl.command;
  bool known_sink = false;
  for (const auto& sink : sink_table()) known_sink |= s["PIPEKIT_SINK"] == sink.name;
  if (!known_sink)
    usage_error("--sink: " + sink_names() + ", not '" + s["PIPEKIT_SINK"] + "'");
  for (const char* key : {"PIPEKIT_RESTARTS", "PIPEKIT_COUNT"})
    if (!whole_number(s[key]) || s[key].size() > 9) usage_error(fmt::format("{}: a whole number, not '{}'", key, s[key]));
  (void)lock_wait_ms(s);
  (void)session_timeout_ms(s);
  if (!s["PIPEKIT_MAX_REJECTS"].empty() && !whole_number(s["PIPEKIT_MAX_REJECTS"]))
    usage_error("--max-rejects: a whole number, not '" + s["PIPEKIT_MAX_REJECTS"] + "'");
  if (!std::regex_match(s["PIPEKIT_TOPIC"], std::regex("^[A-Za-z0-9._-]+$")))
    usage_error("--topic: not a Kafka topic name: '" + s["PIPEKIT_TOPIC"] + "'");
  if (!std::regex_match(s["PIPEKIT_TABLE"], std::regex("^[A-Za-z_][A-Za-z0-9_.]*$")))
    usage_error("--table: not a table name: '" + s["PIPEKIT_TABLE"] + "'");
  // A password in the DSN would land in pgload's argv (visible in ps).
  const std::string& dsn = s["PIPEKIT_PG_DSN"];
  if (std::regex_search(dsn, std::regex(R"((^|\s)password\s*=)")) ||
      std::regex_search(dsn, std::regex(R"(^postgres(ql)?://[^/@]*:[^/@]*@)")))
    throw UsageError("--dsn: it holds a password; put the password in PGPASSWORD or ~/.pgpass (PGPASSFILE) instead");
  auto readable = [](const std::string& path) { return access(path.c_str(), R_OK) == 0; };
  if (cmd == "load" || cmd == "run") {
    if (!readable(s["PIPEKIT_SCHEMA"])) throw UsageError("schema " + s["PIPEKIT_SCHEMA"] + ": cannot read it (--schema)");
    if (s["PIPEKIT_SINK"] == "files" && s["PIPEKIT_FILES_DIR"].empty())
      usage_error("--sink files needs --dir (or PIPEKIT_FILES_DIR)");
    if (s["PIPEKIT_SINK"] == "cassandra") {
      if (s["PIPEKIT_CQL_HOSTS"].empty()) usage_error("--sink cassandra needs --cql-hosts (or PIPEKIT_CQL_HOSTS)");
      if (s["PIPEKIT_CQL_KEYSPACE"].empty()) usage_error("--sink cassandra needs --keyspace (or PIPEKIT_CQL_KEYSPACE)");
    }
  }
  if (cmd == "ingest" || cmd == "run") {
    if (s.on("PIPEKIT_VALIDATE_INGEST") && !readable(s["PIPEKIT_SCHEMA"]))
      throw UsageError("schema " + s["PIPEKIT_SCHEMA"] + ": cannot read it (--schema, or --no-validate)");
    const std::string& input = s["PIPEKIT_INPUT"];
    if (!input.empty() && input != "-" && !readable(input))
      throw IoError("--input " + input + ": cannot read it");
  }
  if (cmd != "demo" && s["KAFKA_BROKERS"].empty()) usage_error("no brokers: give -b HOST:PORT or set KAFKA_BROKERS");
}

namespace {

std::string option_lines(Section section) {
  std::string out;
  for (const auto& row : option_table()) {
    if (row.section != section) continue;
    std::string left;
    auto names = split_names(row.names);
    for (const auto& n : split_names(row.off_names)) names.push_back(n);
    bool short_first = !names.empty() && names[0].size() == 2;
    left = short_first ? "  " : "      ";
    for (size_t i = 0; i < names.size(); ++i) left += (i ? (row.kind == Kind::toggle ? " / " : ", ") : "") + names[i];
    if (*row.metavar) left += std::string(" ") + row.metavar;
    std::string help = row.help;
    if (row.kind == Kind::setting || row.kind == Kind::toggle) {
      help += fmt::format(" [{}]", row.key);
      if (*row.def && row.kind == Kind::setting) help += fmt::format(" (default {})", row.def);
      if (row.kind == Kind::toggle) help += *row.names ? " (default on)" : "";
    }
    if (left.size() >= 27) out += left + "\n" + std::string(27, ' ') + help + "\n";
    else out += fmt::format("{:<27}{}\n", left, help);
  }
  return out;
}

}  // namespace

std::string help_text(const std::string& command) {
  std::string out;
  if (command == "ingest") {
    out += "Usage: pipekit ingest [OPTIONS]\n"
           "Fetches users from the randomuser.me API (ru-fetch --shape flat), validates\n"
           "them (jvalidate; rejects with reasons to the ingest rejects file) and\n"
           "publishes them keyed by --key (kpub). With --once: --count users, then exit;\n"
           "without: --count users every --every until SIGTERM.\n" +
           option_lines(Section::ingest);
  } else if (command == "load") {
    out += "Usage: pipekit load [OPTIONS]\n"
           "ksub -G GROUP --envelope --commit-acks FIFO | jvalidate --envelope --ack FIFO\n"
           "| pgload --envelope --mode upsert --ack FIFO (or cqlload): offsets are\n"
           "committed only once the row is committed or the reject written. A crashed\n"
           "stage stops the others and the load restarts (--restarts). With --once: load\n"
           "until the group has caught up with the end of the topic, then exit.\n" +
           option_lines(Section::load);
  } else if (command == "run") {
    out += "Usage: pipekit run [OPTIONS]\n"
           "ingest and load together: with --once one after the other, else both\n"
           "streaming side by side until SIGTERM. Takes the options of both.\n";
  } else if (command == "status") {
    out += "Usage: pipekit status [OPTIONS]\n"
           "Committed offsets and lag of the group (ksub --offsets --json) and the row\n"
           "count of the table, as one JSON line. With --watch: again and again, with\n"
           "rates, until SIGINT.\n" +
           option_lines(Section::status);
  } else if (command == "demo") {
    out += "Usage: pipekit demo [--offline] [-q]\n"
           "Starts kmock and a throwaway PostgreSQL, fetches 500 users (live API with a\n"
           "5 s timeout, else the bundled sample; --offline: the sample), runs ingest and\n"
           "load, shows counts, rows and rejects, and cleans up.\n" +
           option_lines(Section::demo);
  }
  if (!command.empty()) out += "\n";
  out += "Usage: pipekit [OPTIONS] ingest|load|run|status|demo [OPTIONS]\n"
         "Runs the pipekit tools as one supervised pipeline:\n"
         "  ingest   ru-fetch | jvalidate | kpub                 (API -> Kafka)\n"
         "  load     ksub -G | jvalidate | pgload or cqlload     (Kafka -> database)\n"
         "  run      both      status   offsets, lag, rows      demo   all on a laptop\n"
         "\n"
         "Options (each setting also reads the environment variable in [ ], and the\n"
         "--config file takes the same names):\n" +
         option_lines(Section::general) +
         "\n"
         "Output: the stages' stderr, each line prefixed with [stage]; the last line on\n"
         "stdout is a one-line JSON summary (Airflow's BashOperator pushes it as XCom).\n"
         "\n" + help_examples() + "\n"
         + exit_status_help() +
         "  A failing stage gives its status; 128+N: a stage was killed by signal N\n"
         "  (after --restarts, for load); --empty-exit CODE replaces 99.\n";
  return out;
}

}  // namespace pipekit::orchestrator
