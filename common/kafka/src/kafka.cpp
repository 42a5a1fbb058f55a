#include "pipekit/kafka.hpp"

#include <algorithm>
#include <cstring>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>

#include "pipekit/cli.hpp"
#include "pipekit/errors.hpp"

namespace pipekit::kafka {

void add_version_flag(CLI::App& app) {
  app.set_version_flag("--version",
                       std::string(app.get_name()) + " " + version_string() + " (librdkafka " +
                           rd_kafka_version_str() + ")",
                       "Print the version (and the librdkafka it runs with) and exit");
}

void add_options(CLI::App& app, Options& opts) {
  add_version_flag(app);
  app.add_option("-b,--brokers", opts.brokers,
                 "Bootstrap brokers host:port[,...] (env KAFKA_BROKERS)")
      ->type_name("LIST");
  app.add_option("-X", opts.properties, "librdkafka property key=value, passed as is (repeatable)")
      ->type_name("KEY=VALUE")
      ->take_all();
  app.add_option("-F", opts.config_files, "Read librdkafka properties (key=value lines) from FILE")
      ->type_name("FILE");
  app.add_flag("--dump-config", opts.dump_config,
               "Print the effective Kafka configuration (secrets hidden) and exit");
}

bool is_secret(std::string_view property) {
  // sasl.oauthbearer.config holds the unsecured JWT's claims (and often a
  // client secret) as one string.
  static const char* markers[] = {"password", "secret", "key.pem", "ssl.key", "token", "jaas",
                                  "sasl.oauthbearer.config"};
  for (const char* m : markers)
    if (property.find(m) != std::string_view::npos) return true;
  return false;
}

void hide_secret_arguments(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    char* a = argv[i];
    if (a[0] == '-' && a[1] == 'X' && a[2]) a += 2;  // -Xkey=value
    char* eq = std::strchr(a, '=');
    if (!eq || eq == a || a[0] == '-') continue;
    std::string_view key(a, static_cast<size_t>(eq - a));
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
    if (!is_secret(key)) continue;
    for (char* v = eq + 1; *v; ++v) *v = '*';
  }
}

namespace {

std::pair<std::string, std::string> split_property(const std::string& kv, const std::string& where) {
  auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0)
    throw UsageError(where + ": expected key=value, got '" + (is_secret(kv) ? "[hidden]" : kv) + "'");
  auto trim = [](std::string s) {
    s.erase(0, s.find_first_not_of(" \t"));
    s.erase(s.find_last_not_of(" \t\r") + 1);
    return s;
  };
  return {trim(kv.substr(0, eq)), trim(kv.substr(eq + 1))};
}

void set(Properties& props, std::string key, std::string value) {
  auto it = std::find_if(props.begin(), props.end(), [&](auto& p) { return p.first == key; });
  if (it != props.end()) it->second = std::move(value);
  else props.emplace_back(std::move(key), std::move(value));
}

std::string get(const Properties& props, const std::string& key) {
  for (const auto& [k, v] : props)
    if (k == key) return v;
  return {};
}

void remove_key(Properties& props, const std::string& key) {
  std::erase_if(props, [&](const auto& p) { return p.first == key; });
}

// `name="value"` (or name=value) in a JAAS line; empty when absent.
std::string jaas_option(const std::string& jaas, const std::string& name) {
  for (size_t at = jaas.find(name); at != std::string::npos; at = jaas.find(name, at + 1)) {
    bool starts_word = at == 0 || std::isspace(static_cast<unsigned char>(jaas[at - 1]));
    size_t i = at + name.size();
    while (i < jaas.size() && std::isspace(static_cast<unsigned char>(jaas[i]))) ++i;
    if (!starts_word || i >= jaas.size() || jaas[i] != '=') continue;
    ++i;
    while (i < jaas.size() && std::isspace(static_cast<unsigned char>(jaas[i]))) ++i;
    if (i < jaas.size() && jaas[i] == '"') {
      std::string out;
      for (++i; i < jaas.size() && jaas[i] != '"'; ++i) {
        if (jaas[i] == '\\' && i + 1 < jaas.size()) ++i;
        out.push_back(jaas[i]);
      }
      return out;
    }
    size_t end = jaas.find_first_of(" \t;", i);
    return jaas.substr(i, end == std::string::npos ? std::string::npos : end - i);
  }
  return {};
}

}  // namespace

void translate_java_properties(Properties& props) {
  // Only for the Java client's deserializers/serializers: NDJSON needs none.
  for (const char* key : {"key.serializer", "value.serializer", "key.deserializer", "value.deserializer"})
    remove_key(props, key);
  if (std::string jaas = get(props, "sasl.jaas.config"); !jaas.empty()) {
    bool scram = jaas.find("ScramLoginModule") != std::string::npos;
    bool plain = jaas.find("PlainLoginModule") != std::string::npos;
    if (!scram && !plain)
      throw UsageError(
          "sasl.jaas.config: only ScramLoginModule and PlainLoginModule can be translated; write librdkafka's "
          "settings instead (e.g. sasl.mechanisms=OAUTHBEARER with sasl.oauthbearer.*, or GSSAPI with "
          "sasl.kerberos.*)");
    std::string user = jaas_option(jaas, "username"), password = jaas_option(jaas, "password");
    if (user.empty())
      throw UsageError("sasl.jaas.config: no username=\"...\" found; write sasl.username and sasl.password instead");
    remove_key(props, "sasl.jaas.config");
    set(props, "sasl.username", user);
    set(props, "sasl.password", password);
    if (get(props, "sasl.mechanism").empty() && get(props, "sasl.mechanisms").empty())
      set(props, "sasl.mechanisms", plain ? "PLAIN" : "SCRAM-SHA-512");
  }
  std::string trust = get(props, "ssl.truststore.location");
  std::string trust_type = get(props, "ssl.truststore.type");
  if (!trust.empty()) {
    bool pem = trust_type == "PEM" || trust.ends_with(".pem") || trust.ends_with(".crt");
    if (!pem)
      throw UsageError("ssl.truststore.location " + trust +
                       ": librdkafka reads CA certificates as PEM; convert the truststore (keytool -exportcert "
                       "-rfc -keystore " + trust + " -file ca.pem) and write ssl.ca.location=ca.pem instead");
    remove_key(props, "ssl.truststore.location");
    remove_key(props, "ssl.truststore.password");
    set(props, "ssl.ca.location", trust);
  }
  if (!trust_type.empty()) remove_key(props, "ssl.truststore.type");
  if (std::string ks_type = get(props, "ssl.keystore.type"); !ks_type.empty()) {
    if (ks_type != "PKCS12")
      throw UsageError("ssl.keystore.type " + ks_type +
                       ": librdkafka reads a PKCS12 keystore (ssl.keystore.location) or PEM files; write "
                       "ssl.certificate.location and ssl.key.location instead");
    remove_key(props, "ssl.keystore.type");
  }
  // The Java client turns host name checks off with an empty value.
  for (auto& [k, v] : props)
    if (k == "ssl.endpoint.identification.algorithm" && v.empty()) v = "none";
}

Properties resolve(const Options& opts, const Properties& tool_defaults) {
  Properties props = tool_defaults;
  for (const auto& file : opts.config_files) {
    std::ifstream in(file);
    if (!in) throw UsageError("cannot read Kafka config file " + file);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      auto start = line.find_first_not_of(" \t");
      if (start == std::string::npos || line[start] == '#') continue;
      auto [k, v] = split_property(line.substr(start), file + ":" + std::to_string(n));
      set(props, k, v);
    }
  }
  if (const char* env = std::getenv("KAFKA_BROKERS"); env && *env) set(props, "bootstrap.servers", env);
  for (const auto& kv : opts.properties) {
    auto [k, v] = split_property(kv, "-X");
    set(props, k, v);
  }
  if (!opts.brokers.empty()) set(props, "bootstrap.servers", opts.brokers);
  translate_java_properties(props);
  return props;
}

rd_kafka_conf_t* make_conf(const Properties& props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      // librdkafka's message may quote the value: never show it for secrets.
      throw UsageError("Kafka property " + k + ": " + (is_secret(k) ? "invalid value" : std::string(err)));
    }
  }
  return conf;
}

std::string dump(const Properties& props) {
  std::map<std::string, std::string> sorted(props.begin(), props.end());
  std::string out;
  for (const auto& [k, v] : sorted) out += k + "=" + (is_secret(k) ? "[hidden]" : v) + "\n";
  return out;
}

std::string dump_conf(rd_kafka_conf_t* conf) {
  size_t n = 0;
  const char** arr = rd_kafka_conf_dump(conf, &n);
  Properties props;
  for (size_t i = 0; i + 1 < n; i += 2) props.emplace_back(arr[i], arr[i + 1]);
  rd_kafka_conf_dump_free(arr, n);
  return dump(props);
}

void HandleDeleter::operator()(rd_kafka_t* rk) const {
  if (rk) rd_kafka_destroy(rk);
}

Handle make_handle(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw UsageError(std::string("cannot create Kafka client: ") + err);
  }
  return Handle(rk);
}

}  // namespace pipekit::kafka
