#include "demo.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "output.hpp"
#include "process.hpp"
#include "supervisor.hpp"

namespace pipekit::orchestrator {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

constexpr int kDemoCount = 500;
constexpr int64_t kStepTimeoutMs = 170000;

void out(const std::string& line) { write_all(1, line + "\n"); }

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string last_line(const std::string& text) {
  std::string t = trim(text);
  size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

size_t count_lines(const std::string& path) {
  std::string text;
  if (!read_file(path, text)) return 0;
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

// What the demo started, stopped in reverse whatever happens.
class DemoEnv {
 public:
  DemoEnv(std::string data_dir) : data_dir_(std::move(data_dir)) {
    char tmpl[] = "/tmp/pipekit-demo.XXXXXX";
    if (!mkdtemp(tmpl)) throw IoError("cannot create a directory in /tmp");
    dir = tmpl;
  }
  ~DemoEnv() {
    if (kmock_pid > 0) {
      kill(kmock_pid, SIGTERM);
      int ws;
      waitpid(kmock_pid, &ws, 0);
    }
    if (!pg_dir.empty()) {
      // The one recipe for a throwaway server: scripts/lib/postgres.bash.
      run_program({"bash", "-c", "source \"$1\"; PG_DIR=$2; stop_postgres", "bash", lib(), pg_dir}, -1, -1, 2, false,
                  false, 60000);
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string lib() const { return data_dir_ + "/scripts/lib/postgres.bash"; }

  void start_kmock() {
    std::string bootstrap = dir + "/bootstrap";
    int err = open((dir + "/kmock.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    inotify_add_watch(ino, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO);
    kmock_pid = spawn({"kmock", "-q", "-t", "users:4", "--bootstrap-file", bootstrap}, -1, -1, err);
    close(err);
    if (kmock_pid < 0) throw ServiceError("kmock did not start");
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, kmock_pid, 0));
    // Until the bootstrap file is written, kmock dies, or 5 s pass.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::string text;
    while (!(read_file(bootstrap, text) && !trim(text).empty())) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      pollfd fds[2] = {{ino, POLLIN, 0}, {pidfd, POLLIN, 0}};
      if (left <= 0 || poll(fds, 2, static_cast<int>(left)) <= 0 || fds[1].revents) {
        std::string log;
        read_file(dir + "/kmock.log", log);
        write_all(2, log);
        close(ino);
        close(pidfd);
        throw ServiceError("kmock did not start");
      }
      char buf[4096];
      while (read(ino, buf, sizeof buf) > 0) {
      }
    }
    close(ino);
    close(pidfd);
    brokers = trim(text);
    setenv("KAFKA_BROKERS", brokers.c_str(), 1);
  }

  void start_postgres() {
    Finished f = run_program({"bash", "-c", "source \"$1\"; start_postgres >&2 && printf '%s\\n%s\\n' \"$PG_DIR\" \"$PGPORT\"",
                              "bash", lib()},
                             -1, -1, 2, true, false, 120000);
    std::istringstream in(f.out);
    std::string port;
    std::getline(in, pg_dir);
    std::getline(in, port);
    if (f.status != 0 || pg_dir.empty() || port.empty()) throw ServiceError("PostgreSQL did not start");
    setenv("PGHOST", pg_dir.c_str(), 1);
    setenv("PGPORT", port.c_str(), 1);
    setenv("PGUSER", "postgres", 1);
    setenv("PGDATABASE", "postgres", 1);
  }

  std::string dir, brokers, pg_dir;
  int kmock_pid = -1;

 private:
  std::string data_dir_;
};

const char* kBrokenRecords =
    R"({"id":"00000000-0000-4000-8000-00000000dead","first_name":"Broken","last_name":"Email","gender":"female","address":"1 Main St","post_code":"12345","email":"not-an-email","username":"broken1","dob":"1990-01-01T00:00:00.000Z","registered_date":"2015-01-01T00:00:00.000Z","phone":"01-23-45-67-89","picture":"https://randomuser.me/api/portraits/med/women/1.jpg","nat":"FR"}
{"id":"00000000-0000-4000-8000-00000000beef","first_name":"Missing","gender":"robot"}
{"id": "truncated JSON
)";

}  // namespace

namespace {

// ru-fetch into `users`: the live API unless --offline or it does not answer
// in 5 s, then the bundled sample. Returns where the users came from.
std::string fetch_users(const CommandLine& cl, const DemoEnv& env, const std::string& users,
                        const std::string& data_dir) {
  std::string sample = data_dir + "/examples/sample/randomuser-500.json";
  auto fetch = [&](std::vector<std::string> extra) {
    int o = open(users.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int e = open((env.dir + "/fetch.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    std::vector<std::string> a{"ru-fetch", "-q", "--shape", "flat", "--count", std::to_string(kDemoCount)};
    a.insert(a.end(), extra.begin(), extra.end());
    int st = run_program(a, -1, o, e, false, false, 60000).status;
    close(o);
    close(e);
    return st;
  };
  if (!cl.has("offline") && fetch({"--timeout", "5s", "--retries", "1"}) == 0) return "the live API (https://randomuser.me)";
  if (!cl.has("offline")) out("   the live API did not answer within 5 s; using the bundled sample");
  if (access(sample.c_str(), R_OK) != 0) throw IoError("no bundled sample at " + sample);
  if (fetch({"--url", "file://" + sample}) != 0) {
    std::string log;
    read_file(env.dir + "/fetch.log", log);
    write_all(2, log);
    throw IoError("cannot read the bundled sample " + sample);
  }
  return "the bundled sample (" + fs::path(sample).filename().string() + ")";
}

void show_rows() {
  out("-- what landed in PostgreSQL");
  Finished rows = run_program({"psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", "SELECT count(*) FROM users"},
                              -1, -1, 2, true, false, 60000);
  out("   rows in table users: " + trim(rows.out));
  run_program({"psql", "-X", "-P", "pager=off", "-c",
               "SELECT id, first_name, last_name, email, nat FROM users ORDER BY first_name, last_name LIMIT 5"},
              -1, 1, 2, false, false, 60000);
}

// Each reject of the ingest: its code, its reason and the record's id.
void show_rejects(const DemoEnv& env, const Settings& s) {
  std::string rej = env.dir + "/state/rejects/users.ingest.ndjson";
  out("-- rejects (with reasons) in " + fs::path(s["PIPEKIT_INGEST_REJECTS"]).filename().string() + ":");
  std::string text;
  if (read_file(rej, text)) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      Json j = Json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        out(line);
        continue;
      }
      Json shown;
      shown["code"] = j.contains("code") ? j["code"] : Json(nullptr);
      shown["reason"] = j.contains("reason") ? j["reason"] : Json(nullptr);
      Json record = j.contains("record") ? j["record"] : Json(nullptr);
      shown["record"] = record.is_object() ? (record.contains("id") ? record["id"] : Json(nullptr)) : record;
      out(shown.dump());
    }
  }
  size_t rejected = count_lines(rej) + count_lines(env.dir + "/state/rejects/users.publish.ndjson");
  out(fmt::format("   {} rejected", rejected));
}

}  // namespace

int run_demo(const CommandLine& cl, const Settings& s, const std::string& self, const std::string& data_dir) {
  for (const char* t : {"kmock", "ru-fetch", "jvalidate", "kpub", "ksub", "pgload"})
    if (!on_path(t)) throw UsageError(std::string("not on PATH: ") + t + " (build with scripts/build; binaries are in build/bin)");
  if (!on_path("psql")) throw UsageError("psql is needed (scripts/setup installs it)");
  bool quiet = cl.has("quiet");
  auto t0 = std::chrono::steady_clock::now();
  DemoEnv env(data_dir);
  out("== pipekit demo: randomuser API -> Kafka (kmock) -> validated rows in PostgreSQL");
  out("-- starting kmock (a local Kafka-protocol cluster) and a throwaway PostgreSQL");
  env.start_kmock();
  env.start_postgres();
  out(fmt::format("   kafka at {}, postgresql at {}:{}", env.brokers, std::getenv("PGHOST"), std::getenv("PGPORT")));

  std::string users = env.dir + "/users.ndjson";
  std::string source = fetch_users(cl, env, users, data_dir);
  size_t fetched = count_lines(users);
  // Three hand-made defects, so that the demo shows where bad records go.
  {
    std::string text;
    read_file(users, text);
    write_file(users, text + kBrokenRecords);
  }
  out(fmt::format("-- fetched {} users from {}, plus 3 deliberately broken records", fetched, source));
  std::vector<std::string> pk{"--state-dir", env.dir + "/state", "--topic", "users", "--group", "demo", "--table", "users"};
  if (quiet) pk.push_back("-q");
  auto pipekit = [&](std::vector<std::string> args, const std::string& what) {
    std::vector<std::string> a{self};
    a.insert(a.end(), args.begin(), args.end());
    a.insert(a.end(), pk.begin(), pk.end());
    Finished f = run_program(a, -1, -1, 2, true, false, kStepTimeoutMs);
    if (f.status != 0) throw Error(static_cast<ExitCode>(f.status), fmt::format("{} failed (status {})", what, f.status));
    out("   " + last_line(f.out));
  };
  out("-- pipekit ingest --once: jvalidate | kpub (to topic users)");
  pipekit({"ingest", "--once", "--input", users}, "ingest");
  out("-- pipekit load --once: ksub -G demo | jvalidate | pgload --mode upsert (acks via a FIFO)");
  pipekit({"load", "--once"}, "load");
  show_rows();
  show_rejects(env, s);
  out("-- status");
  {
    std::vector<std::string> a{self, "status"};
    a.insert(a.end(), pk.begin(), pk.end());
    Finished f = run_program(a, -1, -1, -1, true, false, 60000);
    out("   " + last_line(f.out));
  }
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0).count();
  out(fmt::format("== done in {} s; cleaning up (kmock, PostgreSQL, {})", secs, env.dir));
  return 0;
}

}  // namespace pipekit::orchestrator
