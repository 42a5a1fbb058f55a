#include "pipekit/kafka.hpp"

#include <algorithm>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <map>

#include "pipekit/errors.hpp"

namespace pipekit::kafka {

void add_options(CLI::App& app, Options& opts) {
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

}  // namespace

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
