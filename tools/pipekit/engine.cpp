#include "engine.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <memory>
#include <optional>
#include <sstream>

#include "demo.hpp"
#include "lock.hpp"
#include "metrics.hpp"
#include "output.hpp"
#include "pipekit/cli.hpp"
#include "pipekit/errors.hpp"
#include "process.hpp"
#include "settings.hpp"
#include "stages.hpp"
#include "status.hpp"
#include "supervisor.hpp"

namespace pipekit::orchestrator {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "pipekit" : p.string();
}

// Where the examples and scripts/lib live: $PIPEKIT_HOME, an installed
// prefix (bin/../share/pipekit), or the source tree this was built from.
std::string find_data_dir(const std::string& self) {
  std::vector<std::string> candidates;
  if (const char* home = std::getenv("PIPEKIT_HOME"); home && *home) candidates.emplace_back(home);
  fs::path bin = fs::path(self).parent_path();
  candidates.push_back((bin / "../share/pipekit").string());
  candidates.push_back((bin / "..").string());
  candidates.emplace_back(PIPEKIT_SOURCE_DIR);
  for (const auto& d : candidates) {
    std::error_code ec;
    if (fs::exists(fs::path(d) / "scripts/lib/postgres.bash", ec)) return fs::canonical(d, ec).string();
  }
  return PIPEKIT_SOURCE_DIR;
}

// A number from RUN_DIR/TOOL.stats.json, 0 if none.
int64_t stat_of(const std::string& run_dir, const std::string& tool, const std::string& field) {
  std::string text;
  if (!read_file(run_dir + "/" + tool + ".stats.json", text)) return 0;
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains(field) || !j[field].is_number()) return 0;
  return j[field].get<int64_t>();
}

// A JSON document from a file, or null.
Json json_file(const std::string& path) {
  std::string text;
  if (!read_file(path, text)) return nullptr;
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json(nullptr) : j;
}

class Orchestrator {
 public:
  Orchestrator(CommandLine cl, Settings s, std::string self, std::string data_dir, bool in_run)
      : cl_(std::move(cl)), s_(std::move(s)), self_(std::move(self)), data_dir_(std::move(data_dir)), in_run_(in_run) {
    if (cl_.has("empty-exit")) empty_exit_ = std::stoi(cl_.opt("empty-exit"));
  }
  ~Orchestrator() {
    if (!run_dir_.empty() && !std::getenv("PIPEKIT_KEEP_RUN_DIR")) {
      std::error_code ec;
      fs::remove_all(run_dir_, ec);
    }
    if (lock_fd_ >= 0) close(lock_fd_);
  }

  int dispatch() {
    const std::string& c = cl_.command;
    if (c == "ingest") return ingest();
    if (c == "load") return load();
    if (c == "run") return run();
    if (c == "status") return status();
    return demo();
  }

 private:
  bool quiet() const { return cl_.has("quiet"); }
  bool dry_run() const { return cl_.has("dry-run"); }
  bool is_empty_exit(int st) const { return empty_exit_ && st == *empty_exit_; }
  StageContext ctx() const { return StageContext{s_, cl_, run_dir_.empty() ? "$RUN_DIR" : run_dir_}; }

  std::string default_lock(const std::string& cmd) const {
    if (!s_["PIPEKIT_LOCK"].empty()) return s_["PIPEKIT_LOCK"];
    std::string base = s_["PIPEKIT_STATE_DIR"] + "/locks/" + cmd + "-" + s_["PIPEKIT_TOPIC"];
    if (cmd == "ingest") return base + ".lock";
    return base + "-" + s_["PIPEKIT_GROUP"] + "-" + s_["PIPEKIT_SINK"] + ".lock";
  }

  // Returns an exit status to end with, or nullopt when the lock is ours.
  std::optional<int> lock(const std::string& cmd) {
    if (cl_.has("no-lock")) return std::nullopt;
    std::string file = default_lock(cmd);
    int wait_s = static_cast<int>((lock_wait_ms(s_) + 999) / 1000);
    if (take_lock(file, wait_s, lock_fd_) == LockResult::taken) return std::nullopt;
    if (empty_exit_) {
      say("another run holds " + file + ": nothing to do");
      return *empty_exit_;
    }
    throw ServiceError(fmt::format("another run holds {} (waited {}); try again later or raise --lock-wait", file,
                                   s_["PIPEKIT_LOCK_WAIT"]));
  }

  void make_run_dir(const std::string& cmd) {
    std::error_code ec;
    fs::create_directories(s_["PIPEKIT_STATE_DIR"] + "/rejects", ec);
    if (ec) throw IoError("cannot create " + s_["PIPEKIT_STATE_DIR"] + "/rejects");
    std::string tmpl = s_["PIPEKIT_STATE_DIR"] + "/run." + cmd + ".XXXXXX";
    if (!mkdtemp(tmpl.data())) throw IoError("cannot create a run directory in " + s_["PIPEKIT_STATE_DIR"]);
    run_dir_ = tmpl;
    write_file(run_dir_ + "/pipekit.pid", std::to_string(getpid()) + "\n");
  }

  // --metrics-addr: the server lives as long as the run.
  void start_metrics(bool with_lag) {
    if (!cl_.has("metrics-addr")) return;
    stop_signal_fd();  // before the thread: SIGINT/SIGTERM stay with the supervisor
    metrics_ = std::make_unique<MetricsServer>(cl_.opt("metrics-addr"), s_, with_lag);
  }
  void stages_up(const Supervisor& sup, bool up) {
    if (!metrics_) return;
    for (const auto& st : sup.stages()) metrics_->set_up(st.name, up && !st.status);
  }
  // The metrics read the attempt's stages' live --stats files.
  void metrics_begin(const Supervisor& sup) {
    if (!metrics_) return;
    std::vector<std::string> names;
    for (const auto& st : sup.stages()) names.push_back(st.name);
    metrics_->begin_attempt(run_dir_, names);
  }
  void metrics_end() {
    if (metrics_) metrics_->end_attempt();
  }

  void need_tools(const std::vector<std::string>& tools) const {
    std::string missing;
    for (const auto& t : tools)
      if (!t.empty() && !on_path(t)) missing += (missing.empty() ? "" : " ") + t;
    if (!missing.empty())
      throw UsageError("not on PATH: " + missing + " (build with scripts/build; binaries are in build/bin)");
  }

  // The last line on stdout (Airflow pushes it as the XCom value), also to
  // --stats FILE. Silent with -q unless it failed.
  void emit_summary(int status, const Json& members) const {
    Json line;
    line["command"] = cl_.command;
    line["status"] = status;
    for (auto it = members.begin(); it != members.end(); ++it) line[it.key()] = it.value();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    line["seconds"] = std::round(secs * 1000) / 1000;
    std::string text = line.dump() + "\n";
    if (cl_.has("stats")) {
      try {
        write_file(cl_.opt("stats"), text);
      } catch (const Error&) {
        warn("--stats " + cl_.opt("stats") + ": cannot write it");
      }
    }
    if (!quiet() || (status != 0 && !is_empty_exit(status))) write_all(1, text);
  }

  static Json stage_statuses(const Supervisor& sup) {
    Json j = Json::object();
    for (const auto& st : sup.stages()) j[st.name] = st.status ? Json(*st.status) : Json(nullptr);
    return j;
  }

  void print_dry(const std::string& label, const Argv& argv) const {
    write_all(1, label + ": " + shell_line(argv) + "\n");
  }

  // Opens a pipe between two stages, both ends closed on exec. 1 MiB
  // instead of Linux's 64 KiB: a stage writes 256 KiB batches, and the
  // reader is woken per batch rather than per 64 KiB (kept as it is where the
  // system refuses, e.g. past fs.pipe-max-size).
  static std::pair<int, int> make_pipe() {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) throw Error(ExitCode::internal, errno_message("pipe", errno));
    (void)fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    return {p[0], p[1]};
  }

  // ---- ingest ----------------------------------------------------------------
  int ingest() {
    if (!dry_run()) {
      if (!in_run_)
        if (auto st = lock("ingest")) return *st;
      make_run_dir("ingest");
    }
    const std::string& input = s_["PIPEKIT_INPUT"];
    StageContext c = ctx();
    Argv fetch, validate;
    if (input.empty()) fetch = fetch_command(c);
    if (s_.on("PIPEKIT_VALIDATE_INGEST")) validate = ingest_validate_command(c);
    Argv publish = publish_command(c);
    if (dry_run()) {
      if (!input.empty()) write_all(1, "input: " + shell_quote(input) + "\n");
      if (!fetch.empty()) print_dry("ru-fetch", fetch);
      if (!validate.empty()) print_dry("jvalidate", validate);
      print_dry("kpub", publish);
      return 0;
    }
    need_tools({fetch.empty() ? "" : fetch[0], validate.empty() ? "" : validate[0], "kpub"});
    start_metrics(false);
    Supervisor sup(empty_exit_, quiet());
    int prev = -1;
    if (!input.empty() && input != "-") {
      prev = open(input.c_str(), O_RDONLY | O_CLOEXEC);
      if (prev < 0) throw IoError("--input " + input + ": cannot read it");
    } else if (input == "-") {
      prev = 0;
    }
    std::string head;
    if (!fetch.empty()) {
      auto [r, w] = make_pipe();
      sup.start("ru-fetch", fetch, -1, w, run_dir_);
      head = "ru-fetch";
      prev = r;
    }
    if (!validate.empty()) {
      auto [r, w] = make_pipe();
      sup.start("jvalidate", validate, prev, w, run_dir_);
      if (head.empty()) head = "jvalidate";
      prev = r;
    }
    sup.start("kpub", publish, prev, -1, run_dir_);
    if (head.empty()) head = "kpub";
    sup.set_head(head);
    stages_up(sup, true);
    metrics_begin(sup);
    sup.supervise();
    stages_up(sup, false);
    metrics_end();
    int status = sup.fail_status();
    int64_t published = stat_of(run_dir_, "kpub", "records_out");
    int64_t read = !fetch.empty()      ? stat_of(run_dir_, "ru-fetch", "records_out")
                   : !validate.empty() ? stat_of(run_dir_, "jvalidate", "records_in")
                                       : stat_of(run_dir_, "kpub", "records_in");
    int64_t rejected = stat_of(run_dir_, "jvalidate", "rejected") + stat_of(run_dir_, "kpub", "rejected");
    int64_t failed = stat_of(run_dir_, "kpub", "failed");
    if (status == 0 && empty_exit_ && published == 0) {
      say("nothing was published");
      status = *empty_exit_;
    }
    if (status == 0 && !sup.stop_requested())
      say(fmt::format("ingest: {} records read, {} published, {} rejected", read, published, rejected));
    Json m;
    m["topic"] = s_["PIPEKIT_TOPIC"];
    m["read"] = read;
    m["published"] = published;
    m["rejected"] = rejected;
    m["failed"] = failed;
    m["failed_stage"] = sup.fail_stage();
    m["stages"] = stage_statuses(sup);
    m["rejects"] = s_["PIPEKIT_INGEST_REJECTS"];
    emit_summary(status, m);
    return status;
  }

  // ---- load ------------------------------------------------------------------
  // What the load's attempts added up to.
  struct LoadTotals {
    int64_t consumed = 0, rejected = 0, written = 0;
    int restarts = 0;
    std::string fail_stage;
    Json stages;
    std::optional<int> ksub_status;
  };

  // One attempt's stages: ksub | jvalidate | sink, the acks of jvalidate and
  // the sink on a FIFO that ksub reads (on a thread of its own). A fresh FIFO
  // per attempt: no stale acks from a crash.
  void start_load_stages(Supervisor& sup, const StageContext& c, const Sink& sink, int attempt) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(run_dir_, ec)) {
      std::string n = e.path().filename().string();
      if (n.rfind("acks.", 0) == 0 || n.find(".stats.json") != std::string::npos) fs::remove(e.path(), ec);
    }
    std::string ack = run_dir_ + "/acks." + std::to_string(attempt);
    if (mkfifo(ack.c_str(), 0600) != 0) throw IoError(errno_message("mkfifo " + ack, errno));
    auto [r1, w1] = make_pipe();
    sup.start("ksub", consume_command(c, ack), -1, w1, run_dir_);
    sup.set_head("ksub");
    auto [r2, w2] = make_pipe();
    sup.start("jvalidate", load_validate_command(c, ack), r1, w2, run_dir_);
    sup.start(sink.tool, sink.build(c, ack), r2, -1, run_dir_);
    metrics_begin(sup);
  }

  void add_attempt(LoadTotals& t, const Supervisor& sup, const Sink& sink) {
    metrics_end();
    t.consumed += stat_of(run_dir_, "ksub", "records_out");
    t.rejected += stat_of(run_dir_, "jvalidate", "rejected") + stat_of(run_dir_, sink.tool, "rejected");
    t.written += stat_of(run_dir_, sink.tool, "records_out");
    t.fail_stage = sup.fail_stage();
    t.stages = stage_statuses(sup);
    t.ksub_status = sup.status_of("ksub");
  }

  int end_load(int status, const LoadTotals& t, const Sink& sink) {
    // ksub's --empty-exit code after a restart means "nothing left", not
    // "nothing to do": this run did consume.
    if (empty_exit_ && cl_.has("once") && t.ksub_status && is_empty_exit(*t.ksub_status) && t.consumed == 0)
      status = *empty_exit_;
    if (is_empty_exit(status)) say("nothing to load: the group is at the end of " + s_["PIPEKIT_TOPIC"]);
    if (status == 0)
      say(fmt::format("load: {} consumed, {} written to {}, {} rejected, {} restarts", t.consumed, t.written,
                      sink.tool, t.rejected, t.restarts));
    Json m;
    m["topic"] = s_["PIPEKIT_TOPIC"];
    m["group"] = s_["PIPEKIT_GROUP"];
    m["sink"] = s_["PIPEKIT_SINK"];
    m["table"] = s_["PIPEKIT_TABLE"];
    m["consumed"] = t.consumed;
    m["written"] = t.written;
    m["rejected"] = t.rejected;
    m["restarts"] = t.restarts;
    m["failed_stage"] = t.fail_stage;
    m["stages"] = t.stages;
    m["rejects"] = s_["PIPEKIT_REJECTS"];
    emit_summary(status, m);
    return status;
  }

  int load() {
    const Sink& sink = sink_of(s_);
    // Built (and so checked by each tool's parser) before anything starts.
    StageContext planned = ctx();
    std::string planned_ack = "$RUN_DIR/acks";
    Argv consume = consume_command(planned, planned_ack), validate = load_validate_command(planned, planned_ack),
         load = sink.build(planned, planned_ack);
    if (dry_run()) {
      print_dry("ksub", consume);
      print_dry("jvalidate", validate);
      print_dry(sink.tool, load);
      return 0;
    }
    if (!in_run_)
      if (auto st = lock("load")) return *st;
    need_tools({"ksub", "jvalidate", sink.tool});
    make_run_dir("load");
    start_metrics(true);
    StageContext c = ctx();
    Supervisor sup(empty_exit_, quiet());
    int status = 0, max_restarts = std::stoi(s_["PIPEKIT_RESTARTS"]);
    LoadTotals totals;
    for (int attempt = 0;; ++attempt) {
      sup.reset();
      start_load_stages(sup, c, sink, attempt);
      stages_up(sup, true);
      sup.supervise();
      stages_up(sup, false);
      add_attempt(totals, sup, sink);
      status = sup.fail_status();
      if (status != 0 && !sup.stop_requested() && restartable(status) && totals.restarts < max_restarts) {
        int restarts = ++totals.restarts;
        if (metrics_) metrics_->set_restarts(restarts);
        warn(fmt::format("restarting the load ({} of at most {}) after {} ended with status {}; acknowledged "
                         "offsets are committed, the rest is replayed",
                         restarts, max_restarts, totals.fail_stage, status));
        int64_t backoff_ms = std::min<int64_t>(500 * restarts, 5000);
        if (sup.wait_for_stop(backoff_ms)) break;  // asked to stop: no new attempt
        continue;
      }
      break;
    }
    return end_load(status, totals, sink);
  }

  // ---- run: ingest and load --------------------------------------------------
  int run() {
    Argv common;
    if (cl_.has("config")) common.insert(common.end(), {"--config", cl_.opt("config")});
    // The halves read the settings given here as flags from the environment.
    for (const auto& [key, value] : cl_.flags) setenv(key.c_str(), value.c_str(), 1);
    for (const char* key : {"PIPEKIT_STATE_DIR", "PIPEKIT_SCHEMA", "PIPEKIT_REJECTS", "PIPEKIT_INGEST_REJECTS"})
      setenv(key, s_[key].c_str(), 1);
    if (quiet()) common.push_back("-q");
    if (cl_.has("log-format")) common.insert(common.end(), {"--log-format", cl_.opt("log-format")});
    if (empty_exit_) common.insert(common.end(), {"--empty-exit", cl_.opt("empty-exit")});
    if (cl_.has("once")) common.push_back("--once");
    auto half = [&](const std::string& cmd, const Argv& extra) {
      Argv a{self_, cmd};
      a.insert(a.end(), extra.begin(), extra.end());
      a.insert(a.end(), common.begin(), common.end());
      return a;
    };
    if (dry_run()) {
      Finished f = run_program(half("ingest", {"--dry-run"}), -1, 1, 2, false, false, 60000);
      if (f.status != 0) return f.status;
      return run_program(half("load", {"--dry-run"}), -1, 1, 2, false, false, 60000).status;
    }
    if (auto st = lock("run")) return *st;
    make_run_dir("run");
    start_metrics(true);
    setenv("PIPEKIT_IN_RUN", "1", 1);
    Argv ingest_cmd = half("ingest", {"--stats", run_dir_ + "/ingest.summary.json"});
    Argv load_cmd = half("load", {"--stats", run_dir_ + "/load.summary.json"});
    if (cl_.has("once")) return run_once(ingest_cmd, load_cmd);
    return run_streaming(ingest_cmd, load_cmd);
  }

  // The halves' --stats summaries, as the run's summary embeds them.
  Json halves() const {
    Json j;
    j["ingest"] = json_file(run_dir_ + "/ingest.summary.json");
    j["load"] = json_file(run_dir_ + "/load.summary.json");
    return j;
  }

  // run --once: one after the other; each half's stdout and stderr, prefixed, on ours.
  int run_once(const Argv& ingest_cmd, const Argv& load_cmd) {
    {
      int st_ingest, st_load;
      {
        Supervisor sup(empty_exit_, quiet());
        sup.start("ingest", ingest_cmd, -1, -1, "", true);
        sup.supervise();
        st_ingest = sup.status_of("ingest").value_or(5);
      }
      if (st_ingest != 0 && !is_empty_exit(st_ingest)) {
        Json m;
        m["failed_stage"] = "ingest";
        m["ingest"] = halves()["ingest"];
        m["load"] = nullptr;
        emit_summary(st_ingest, m);
        return st_ingest;
      }
      {
        Supervisor sup(empty_exit_, quiet());
        sup.start("load", load_cmd, -1, -1, "", true);
        sup.supervise();
        st_load = sup.status_of("load").value_or(5);
      }
      int status = st_load;
      // Nothing to do only when neither half had anything.
      if (is_empty_exit(st_load) && st_ingest == 0) status = 0;
      Json m;
      m["failed_stage"] = status != 0 && !is_empty_exit(status) ? "load" : "";
      Json h = halves();
      m["ingest"] = h["ingest"];
      m["load"] = h["load"];
      emit_summary(status, m);
      return status;
    }
  }

  // Streaming: both halves side by side, supervised like stages.
  int run_streaming(const Argv& ingest_cmd, const Argv& load_cmd) {
    Supervisor sup(empty_exit_, quiet());
    sup.start("ingest", ingest_cmd, -1, -1, run_dir_);
    sup.start("load", load_cmd, -1, -1, run_dir_);
    stages_up(sup, true);
    sup.supervise();
    stages_up(sup, false);
    Json m;
    m["failed_stage"] = sup.fail_stage();
    m["stages"] = stage_statuses(sup);
    Json h = halves();
    m["ingest"] = h["ingest"];
    m["load"] = h["load"];
    emit_summary(sup.fail_status(), m);
    return sup.fail_status();
  }

  // ---- status ----------------------------------------------------------------
  int status() {
    Argv ksub = status_offsets_command(s_);
    if (dry_run()) {
      print_dry("ksub", ksub);
      return 0;
    }
    need_tools({"ksub"});
    if (cl_.has("watch")) return watch_status(s_, cl_);
    StatusReading r = read_status(s_);
    if (!r.offsets_ok) {
      throw ServiceError("status: cannot read offsets of " + s_["PIPEKIT_TOPIC"] + " for group " + s_["PIPEKIT_GROUP"]);
    }
    int st = r.rows_ok ? 0 : 3;
    if (!quiet())
      say_always(fmt::format("topic {}, group {}, table {}: {} rows", s_["PIPEKIT_TOPIC"], s_["PIPEKIT_GROUP"],
                             s_["PIPEKIT_TABLE"], r.rows ? std::to_string(*r.rows) : "null"));
    Json m;
    m["topic"] = s_["PIPEKIT_TOPIC"];
    m["group"] = s_["PIPEKIT_GROUP"];
    m["offsets"] = r.offsets;
    m["table"] = s_["PIPEKIT_TABLE"];
    m["rows"] = r.rows ? Json(*r.rows) : Json(nullptr);
    emit_summary(st, m);
    return st;
  }

  int demo() { return run_demo(cl_, s_, self_, data_dir_); }

  CommandLine cl_;
  Settings s_;
  std::string self_, data_dir_;
  bool in_run_;
  std::optional<int> empty_exit_;
  std::string run_dir_;
  int lock_fd_ = -1;
  std::unique_ptr<MetricsServer> metrics_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace

int main(const std::vector<std::string>& args) {
  configure_logging(false, 0, false);  // until the command line is read
  try {
    CommandLine cl = parse_command_line(args);
    if (cl.version) {
      write_all(1, version_line("pipekit") + "\n");
      return 0;
    }
    if (cl.help) {
      write_all(1, help_text(cl.command));
      return 0;
    }
    if (cl.command.empty())
      throw UsageError("no subcommand: ingest, load, run, status or demo\n"
                       "Try 'pipekit --help' or 'pipekit SUBCOMMAND --help'.");
    configure_logging(cl.has("quiet"), cl.verbose, cl.has("log-format") && cl.opt("log-format") == "json");
    const char* in_run_env = std::getenv("PIPEKIT_IN_RUN");
    bool in_run = in_run_env && std::string(in_run_env) == "1";
    unsetenv("PIPEKIT_IN_RUN");
    std::string self = self_exe();
    std::string data_dir = find_data_dir(self);
    Settings s = resolve_settings(cl, data_dir);
    validate_settings(cl, s);
    Orchestrator o(std::move(cl), std::move(s), self, data_dir, in_run);
    return o.dispatch();
  } catch (const StopRequested&) {
    return 130;
  } catch (const Error& e) {
    fail(e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    fail(std::string("internal error: ") + e.what());
    return static_cast<int>(ExitCode::internal);
  }
}

}  // namespace pipekit::orchestrator
