#include "stages.hpp"

#include <algorithm>

namespace pipekit::orchestrator {

namespace {

void add_if(Argv& a, const std::string& flag, const std::string& value) {
  if (!value.empty()) a.insert(a.end(), {flag, value});
}

// Flags every stage gets, then its --stats file.
void common_tool_args(Argv& a, const StageContext& c, const std::string& tool) {
  if (c.cl.has("quiet")) a.push_back("-q");
  add_if(a, "--log-format", c.cl.opt("log-format"));
  for (int i = 0; i < c.cl.verbose; ++i) a.push_back("-v");
  a.push_back("--no-progress");
  a.insert(a.end(), {"--stats", c.run_dir + "/" + tool + ".stats.json"});
}

void kafka_args(Argv& a, const Settings& s) {
  a.insert(a.end(), {"-b", s["KAFKA_BROKERS"]});
  add_if(a, "-F", s["PIPEKIT_KAFKA_CONFIG"]);
}

void validate_args(Argv& a, const Settings& s) {
  if (s.on("PIPEKIT_ASSERT_FORMATS")) a.push_back("--assert-formats");
  add_if(a, "--max-rejects", s["PIPEKIT_MAX_REJECTS"]);
  add_if(a, "--max-reject-rate", s["PIPEKIT_MAX_REJECT_RATE"]);
}

std::string sink_rejects(const Settings& s) {
  return s["PIPEKIT_STATE_DIR"] + "/rejects/" + s["PIPEKIT_TOPIC"] + "." + s["PIPEKIT_SINK"] + ".ndjson";
}

Argv postgres_sink(const StageContext& c, const std::string& ack) {
  const Settings& s = c.s;
  Argv a{"pgload"};
  add_if(a, "-d", s["PIPEKIT_PG_DSN"]);
  a.insert(a.end(), {"--table", s["PIPEKIT_TABLE"], "--envelope", "--mode", "upsert", "--key", s["PIPEKIT_KEY"],
                     "--ack", ack});
  if (s.on("PIPEKIT_CREATE"))
    a.insert(a.end(), {"--create", "--schema", s["PIPEKIT_SCHEMA"], "--primary-key", s["PIPEKIT_KEY"]});
  add_if(a, "--batch-rows", s["PIPEKIT_BATCH_ROWS"]);
  add_if(a, "--flush-interval", s["PIPEKIT_FLUSH_INTERVAL"]);
  add_if(a, "--retries", s["PIPEKIT_SINK_RETRIES"]);
  a.insert(a.end(), {"--rejects", sink_rejects(s), "--rejects-append"});
  common_tool_args(a, c, "pgload");
  return a;
}

Argv cassandra_sink(const StageContext& c, const std::string& ack) {
  const Settings& s = c.s;
  Argv a{"cqlload", "--hosts", s["PIPEKIT_CQL_HOSTS"]};
  add_if(a, "--port", s["PIPEKIT_CQL_PORT"]);
  a.insert(a.end(), {"--keyspace", s["PIPEKIT_CQL_KEYSPACE"], "--table", s["PIPEKIT_TABLE"], "--envelope", "--ack",
                     ack, "--primary-key", s["PIPEKIT_KEY"]});
  if (s.on("PIPEKIT_CREATE")) a.insert(a.end(), {"--create", "--schema", s["PIPEKIT_SCHEMA"]});
  add_if(a, "--user", s["PIPEKIT_CQL_USER"]);
  add_if(a, "--password-file", s["CQL_PASSWORD_FILE"]);
  a.insert(a.end(), {"--rejects", sink_rejects(s), "--rejects-append"});
  common_tool_args(a, c, "cqlload");
  return a;
}

// Files under --dir: each acknowledged once its file is complete and durable.
Argv files_sink(const StageContext& c, const std::string& ack) {
  const Settings& s = c.s;
  Argv a{"fileload", "--dir", s["PIPEKIT_FILES_DIR"], "--format", s["PIPEKIT_FILES_FORMAT"], "--schema",
         s["PIPEKIT_SCHEMA"], "--envelope", "--ack", ack};
  add_if(a, "--roll-records", s["PIPEKIT_FILES_ROLL_RECORDS"]);
  add_if(a, "--roll-age", s["PIPEKIT_FILES_ROLL_AGE"]);
  a.insert(a.end(), {"--rejects", sink_rejects(s), "--rejects-append"});
  common_tool_args(a, c, "fileload");
  return a;
}

}  // namespace

const std::vector<Sink>& sink_table() {
  static const std::vector<Sink> table = {
      {"postgres", "pgload", postgres_sink},
      {"cassandra", "cqlload", cassandra_sink},
      {"files", "fileload", files_sink},
  };
  return table;
}

const Sink& sink_of(const Settings& s) {
  for (const auto& sink : sink_table())
    if (s["PIPEKIT_SINK"] == sink.name) return sink;
  return sink_table().front();
}

std::string sink_names() {
  std::string out;
  const auto& t = sink_table();
  for (size_t i = 0; i < t.size(); ++i) out += (i == 0 ? "" : i + 1 == t.size() ? " or " : ", ") + std::string(t[i].name);
  return out;
}

Argv fetch_command(const StageContext& c) {
  const Settings& s = c.s;
  Argv a{"ru-fetch", "--shape", "flat"};
  // --once: COUNT users in all; streaming: COUNT users (one request) every tick
  if (c.once()) {
    a.insert(a.end(), {"--count", s["PIPEKIT_COUNT"]});
    add_if(a, "--results", s["PIPEKIT_RESULTS"]);
  } else {
    a.insert(a.end(), {"--every", s["PIPEKIT_EVERY"], "--results",
                       s["PIPEKIT_RESULTS"].empty() ? s["PIPEKIT_COUNT"] : s["PIPEKIT_RESULTS"]});
  }
  add_if(a, "--seed", s["PIPEKIT_SEED"]);
  add_if(a, "--url", s["PIPEKIT_URL"]);
  add_if(a, "--timeout", s["PIPEKIT_FETCH_TIMEOUT"]);
  add_if(a, "--rate", s["PIPEKIT_FETCH_RATE"]);
  common_tool_args(a, c, "ru-fetch");
  return a;
}

Argv ingest_validate_command(const StageContext& c) {
  Argv a{"jvalidate", "--schema", c.s["PIPEKIT_SCHEMA"], "--rejects", c.s["PIPEKIT_INGEST_REJECTS"], "--rejects-append"};
  validate_args(a, c.s);
  common_tool_args(a, c, "jvalidate");
  return a;
}

Argv publish_command(const StageContext& c) {
  const Settings& s = c.s;
  std::string rejects = s["PIPEKIT_STATE_DIR"] + "/rejects/" + s["PIPEKIT_TOPIC"];
  Argv a{"kpub"};
  kafka_args(a, s);
  a.insert(a.end(), {"-t", s["PIPEKIT_TOPIC"], "-k", s["PIPEKIT_KEY"], "-H", "source=pipekit", "--rejects",
                     rejects + ".publish.ndjson", "--rejects-append", "--failed", rejects + ".failed.ndjson"});
  common_tool_args(a, c, "kpub");
  return a;
}

Argv consume_command(const StageContext& c, const std::string& ack) {
  const Settings& s = c.s;
  Argv a{"ksub"};
  kafka_args(a, s);
  a.insert(a.end(), {"-t", s["PIPEKIT_TOPIC"], "-G", s["PIPEKIT_GROUP"], "--envelope", "--commit-acks", ack});
  add_if(a, "--ack-timeout", s["PIPEKIT_ACK_TIMEOUT"]);
  // A SIGKILLed ksub stays in the group until its session times out, and the
  // restarted one waits for it (librdkafka's default: 45 s): keep it short.
  long session = static_cast<long>(session_timeout_ms(s));
  a.insert(a.end(), {"-X", "session.timeout.ms=" + std::to_string(session), "-X",
                     "heartbeat.interval.ms=" + std::to_string(std::max(1L, session / 6))});
  if (c.once()) {
    a.push_back("-e");
    add_if(a, "--empty-exit", c.cl.opt("empty-exit"));
  }
  common_tool_args(a, c, "ksub");
  return a;
}

Argv load_validate_command(const StageContext& c, const std::string& ack) {
  Argv a{"jvalidate", "--envelope", "--schema", c.s["PIPEKIT_SCHEMA"], "--ack", ack, "--rejects",
         c.s["PIPEKIT_REJECTS"], "--rejects-append"};
  validate_args(a, c.s);
  common_tool_args(a, c, "jvalidate");
  return a;
}

Argv status_offsets_command(const Settings& s) {
  Argv a{"ksub"};
  kafka_args(a, s);
  a.insert(a.end(), {"-t", s["PIPEKIT_TOPIC"], "-G", s["PIPEKIT_GROUP"], "--offsets", "--json", "-q"});
  return a;
}

std::string shell_quote(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                                              "_@%+=:,./-") == std::string::npos)
    return word;
  std::string out = "'";
  for (char ch : word) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

std::string shell_line(const Argv& argv) {
  std::string out;
  for (const auto& w : argv) out += shell_quote(w) + " ";
  return out;
}

}  // namespace pipekit::orchestrator
