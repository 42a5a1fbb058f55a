#pragma once
// Kafka configuration shared by kpub, ksub and kmock's clients:
// -b/--brokers (env KAFKA_BROKERS), -X key=value, -F FILE, --dump-config.
// Precedence: flag > environment > config file > default.
#include <librdkafka/rdkafka.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pipekit::kafka {

struct Options {
  std::string brokers;                    // -b, else KAFKA_BROKERS
  std::vector<std::string> properties;    // -X key=value, in order
  std::vector<std::string> config_files;  // -F FILE, in order
  bool dump_config = false;
};

// man fragment: man/fragments/kafka-options.roff. Also names librdkafka in --version.
void add_options(CLI::App& app, Options& opts);

// --version as "NAME VERSION (librdkafka X.Y.Z)", the librdkafka the binary runs
// with (not the one it was built against: Debian's 2.0.2 has the same soname).
void add_version_flag(CLI::App& app);

// True for properties whose values are secrets (passwords, keys, tokens).
bool is_secret(std::string_view property);

// Overwrites in place, once argv is parsed, the value of every "key=value"
// argument (-X key=value, -Xkey=value) whose key is a secret, so that the
// process list (/proc/PID/cmdline) no longer shows it.
void hide_secret_arguments(int argc, char** argv);

using Properties = std::vector<std::pair<std::string, std::string>>;

// The effective properties: tool defaults, then -F files, then KAFKA_BROKERS,
// then -X, then -b. Throws UsageError on a malformed -X or unreadable -F.
Properties resolve(const Options& opts, const Properties& tool_defaults);

// Java-client settings (client.properties files) in librdkafka's terms:
// sasl.jaas.config with ScramLoginModule/PlainLoginModule -> sasl.username and
// sasl.password, a PEM ssl.truststore.location -> ssl.ca.location, serializer
// classes dropped. What cannot be translated (a JKS truststore, another login
// module) throws UsageError saying what to write instead. resolve() applies it.
void translate_java_properties(Properties& props);

// Builds an rd_kafka_conf_t; throws UsageError naming the bad property (but
// never its value). The caller owns the result.
rd_kafka_conf_t* make_conf(const Properties& props);

// "key=value" lines, sorted, secrets masked as "[hidden]".
std::string dump(const Properties& props);
// Dumps librdkafka's full effective configuration of `conf`, masked.
std::string dump_conf(rd_kafka_conf_t* conf);

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const;
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

// rd_kafka_new with a readable error (UsageError).
Handle make_handle(rd_kafka_type_t type, rd_kafka_conf_t* conf);

}  // namespace pipekit::kafka
