#include "stages.hpp"

#include <algorithm>

#include "cqlload/cli.hpp"
#include "fileload/cli.hpp"
#include "jvalidate/cli.hpp"
#include "kpub/cli.hpp"
#include "ksub/cli.hpp"
#include "pgload/cli.hpp"
#include "ru-fetch/cli.hpp"
#include "tool_command.hpp"

namespace pipekit::orchestrator {

namespace {

ToolCommand pgload_command() { return ToolCommand::of<pgload::Options>("pgload", pgload::command_line); }
ToolCommand cqlload_command() { return ToolCommand::of<cqlload::Options>("cqlload", cqlload::command_line); }
ToolCommand fileload_command() { return ToolCommand::of<fileload::Options>("fileload", fileload::command_line); }
ToolCommand jvalidate_command() { return ToolCommand::of<jvalidate::Options>("jvalidate", jvalidate::command_line); }
ToolCommand kpub_command() { return ToolCommand::of<kpub::Options>("kpub", kpub::command_line); }
ToolCommand ksub_command() { return ToolCommand::of<ksub::Options>("ksub", ksub::command_line); }
ToolCommand rufetch_command() { return ToolCommand::of<rufetch::Options>("ru-fetch", rufetch::command_line); }

// Options every stage gets, then its --stats file; the finished argv.
Argv with_common_options(ToolCommand& a, const StageContext& c, const std::string& tool) {
  if (c.cl.has("quiet")) a.flag("--quiet");
  a.option_if("--log-format", c.cl.opt("log-format"));
  for (int i = 0; i < c.cl.verbose; ++i) a.flag("--verbose");
  a.flag("--no-progress");
  a.option("--stats", c.run_dir + "/" + tool + ".stats.json");
  return a.finish();
}

void kafka_options(ToolCommand& a, const Settings& s) {
  a.option("--brokers", s["KAFKA_BROKERS"]);
  a.option_if("-F", s["PIPEKIT_KAFKA_CONFIG"]);
}

void validate_options(ToolCommand& a, const Settings& s) {
  if (s.on("PIPEKIT_ASSERT_FORMATS")) a.flag("--assert-formats");
  a.option_if("--max-rejects", s["PIPEKIT_MAX_REJECTS"]);
  a.option_if("--max-reject-rate", s["PIPEKIT_MAX_REJECT_RATE"]);
}

// A sink's rejects: appended to one file per topic and sink.
void sink_rejects(ToolCommand& a, const Settings& s) {
  a.option("--rejects", s["PIPEKIT_STATE_DIR"] + "/rejects/" + s["PIPEKIT_TOPIC"] + "." + s["PIPEKIT_SINK"] + ".ndjson");
  a.flag("--rejects-append");
}

Argv postgres_sink(const StageContext& c, const std::string& ack) {
  const Settings& s = c.s;
  ToolCommand a = pgload_command();
  a.option_if("--dsn", s["PIPEKIT_PG_DSN"]);
  a.option("--table", s["PIPEKIT_TABLE"]).flag("--envelope").option("--mode", "upsert");
  a.option("--key", s["PIPEKIT_KEY"]).option("--ack", ack);
  if (s.on("PIPEKIT_CREATE"))
    a.flag("--create").option("--schema", s["PIPEKIT_SCHEMA"]).option("--primary-key", s["PIPEKIT_KEY"]);
  a.option_if("--batch-rows", s["PIPEKIT_BATCH_ROWS"]);
  a.option_if("--flush-interval", s["PIPEKIT_FLUSH_INTERVAL"]);
  a.option_if("--retries", s["PIPEKIT_SINK_RETRIES"]);
  sink_rejects(a, s);
  return with_common_options(a, c, "pgload");
}

Argv cassandra_sink(const StageContext& c, const std::string& ack) {
  const Settings& s = c.s;
  ToolCommand a = cqlload_command();
  a.option("--hosts", s["PIPEKIT_CQL_HOSTS"]);
  a.option_if("--port", s["PIPEKIT_CQL_PORT"]);
  a.option("--keyspace", s["PIPEKIT_CQL_KEYSPACE"]).option("--table", s["PIPEKIT_TABLE"]);
  a.flag("--envelope").option("--ack", ack).option("--primary-key", s["PIPEKIT_KEY"]);
  if (s.on("PIPEKIT_CREATE")) a.flag("--create").option("--schema", s["PIPEKIT_SCHEMA"]);
  a.option_if("--user", s["PIPEKIT_CQL_USER"]);
  a.option_if("--password-file", s["CQL_PASSWORD_FILE"]);
  sink_rejects(a, s);
  return with_common_options(a, c, "cqlload");
}

// Files under --dir: each acknowledged once its file is complete and durable.
Argv files_sink(const StageContext& c, const std::string& ack) {
  const Settings& s = c.s;
  ToolCommand a = fileload_command();
  a.option("--dir", s["PIPEKIT_FILES_DIR"]).option("--format", s["PIPEKIT_FILES_FORMAT"]);
  a.option("--schema", s["PIPEKIT_SCHEMA"]).flag("--envelope").option("--ack", ack);
  a.option_if("--roll-records", s["PIPEKIT_FILES_ROLL_RECORDS"]);
  a.option_if("--roll-age", s["PIPEKIT_FILES_ROLL_AGE"]);
  sink_rejects(a, s);
  return with_common_options(a, c, "fileload");
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
  ToolCommand a = rufetch_command();
  a.option("--shape", "flat");
  // --once: COUNT users in all; streaming: COUNT users (one request) every tick
  if (c.once()) {
    a.option("--count", s["PIPEKIT_COUNT"]);
    a.option_if("--results", s["PIPEKIT_RESULTS"]);
  } else {
    a.option("--every", s["PIPEKIT_EVERY"]);
    a.option("--results", s["PIPEKIT_RESULTS"].empty() ? s["PIPEKIT_COUNT"] : s["PIPEKIT_RESULTS"]);
  }
  a.option_if("--seed", s["PIPEKIT_SEED"]);
  a.option_if("--url", s["PIPEKIT_URL"]);
  a.option_if("--timeout", s["PIPEKIT_FETCH_TIMEOUT"]);
  a.option_if("--rate", s["PIPEKIT_FETCH_RATE"]);
  return with_common_options(a, c, "ru-fetch");
}

Argv ingest_validate_command(const StageContext& c) {
  ToolCommand a = jvalidate_command();
  a.option("--schema", c.s["PIPEKIT_SCHEMA"]).option("--rejects", c.s["PIPEKIT_INGEST_REJECTS"]);
  a.flag("--rejects-append");
  validate_options(a, c.s);
  return with_common_options(a, c, "jvalidate");
}

Argv publish_command(const StageContext& c) {
  const Settings& s = c.s;
  std::string rejects = s["PIPEKIT_STATE_DIR"] + "/rejects/" + s["PIPEKIT_TOPIC"];
  ToolCommand a = kpub_command();
  kafka_options(a, s);
  a.option("--topic", s["PIPEKIT_TOPIC"]).option("--key", s["PIPEKIT_KEY"]).option("--header", "source=pipekit");
  a.option("--rejects", rejects + ".publish.ndjson").flag("--rejects-append");
  a.option("--failed", rejects + ".failed.ndjson");
  return with_common_options(a, c, "kpub");
}

Argv consume_command(const StageContext& c, const std::string& ack) {
  const Settings& s = c.s;
  ToolCommand a = ksub_command();
  kafka_options(a, s);
  a.option("--topic", s["PIPEKIT_TOPIC"]).option("--group", s["PIPEKIT_GROUP"]);
  a.flag("--envelope").option("--commit-acks", ack);
  a.option_if("--ack-timeout", s["PIPEKIT_ACK_TIMEOUT"]);
  // A SIGKILLed ksub stays in the group until its session times out, and the
  // restarted one waits for it (librdkafka's default: 45 s): keep it short.
  long session = static_cast<long>(session_timeout_ms(s));
  a.option("-X", "session.timeout.ms=" + std::to_string(session));
  a.option("-X", "heartbeat.interval.ms=" + std::to_string(std::max(1L, session / 6)));
  if (c.once()) {
    a.flag("--exit-at-end");
    a.option_if("--empty-exit", c.cl.opt("empty-exit"));
  }
  return with_common_options(a, c, "ksub");
}

Argv load_validate_command(const StageContext& c, const std::string& ack) {
  ToolCommand a = jvalidate_command();
  a.flag("--envelope").option("--schema", c.s["PIPEKIT_SCHEMA"]).option("--ack", ack);
  a.option("--rejects", c.s["PIPEKIT_REJECTS"]).flag("--rejects-append");
  validate_options(a, c.s);
  return with_common_options(a, c, "jvalidate");
}

Argv status_offsets_command(const Settings& s) {
  ToolCommand a = ksub_command();
  kafka_options(a, s);
  a.option("--topic", s["PIPEKIT_TOPIC"]).option("--group", s["PIPEKIT_GROUP"]);
  a.flag("--offsets").flag("--json").flag("--quiet");
  return a.finish();
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
