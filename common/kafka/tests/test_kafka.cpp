// common/kafka: configuration precedence (flag > environment > file > default)
// and secrets masked when the configuration is printed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <vector>

#include "pipekit/errors.hpp"
#include "pipekit/kafka.hpp"

using namespace pipekit;

TEST(KafkaConfig, PrecedenceAndSecretsMasked) {
  std::string file = ::testing::TempDir() + "/k.properties";
  std::ofstream(file) << "# comment\nbootstrap.servers=file:9092\nsasl.password = s3cret\nlinger.ms=7\n";
  setenv("KAFKA_BROKERS", "env:9092", 1);
  kafka::Options o;
  o.config_files = {file};
  auto props = kafka::resolve(o, {{"linger.ms", "5"}, {"acks", "all"}});
  auto get = [&](const std::string& k) {
    for (auto& [kk, v] : props)
      if (kk == k) return v;
    return std::string();
  };
  EXPECT_EQ(get("bootstrap.servers"), "env:9092");  // env beats file
  EXPECT_EQ(get("linger.ms"), "7");                 // file beats default
  o.properties = {"linger.ms=9"};
  o.brokers = "flag:9092";
  props = kafka::resolve(o, {});
  EXPECT_EQ(get("bootstrap.servers"), "flag:9092");
  EXPECT_EQ(get("linger.ms"), "9");
  std::string dumped = kafka::dump(props);
  EXPECT_EQ(dumped.find("s3cret"), std::string::npos);
  EXPECT_NE(dumped.find("sasl.password=[hidden]"), std::string::npos);
  o.properties = {"novalue"};
  EXPECT_THROW(kafka::resolve(o, {}), UsageError);
  EXPECT_THROW(kafka::make_conf({{"no.such.property", "1"}}), UsageError);
  unsetenv("KAFKA_BROKERS");
}

// A Java client's client.properties works as is, or is refused with what to
// write instead.
TEST(KafkaConfig, JavaClientPropertiesTranslated) {
  auto get = [](const kafka::Properties& props, const std::string& k) {
    for (auto& [kk, v] : props)
      if (kk == k) return v;
    return std::string("<unset>");
  };
  kafka::Properties p = {
      {"security.protocol", "SASL_SSL"},
      {"sasl.mechanism", "SCRAM-SHA-512"},
      {"sasl.jaas.config",
       "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"alice\" password=\"p;w \\\"x\";"},
      {"ssl.truststore.type", "PEM"},
      {"ssl.truststore.location", "/etc/ca.pem"},
      {"ssl.endpoint.identification.algorithm", ""},
      {"value.serializer", "org.apache.kafka.common.serialization.StringSerializer"},
  };
  kafka::translate_java_properties(p);
  EXPECT_EQ(get(p, "sasl.username"), "alice");
  EXPECT_EQ(get(p, "sasl.password"), "p;w \"x");
  EXPECT_EQ(get(p, "sasl.jaas.config"), "<unset>");
  EXPECT_EQ(get(p, "ssl.ca.location"), "/etc/ca.pem");
  EXPECT_EQ(get(p, "ssl.truststore.location"), "<unset>");
  EXPECT_EQ(get(p, "ssl.truststore.type"), "<unset>");
  EXPECT_EQ(get(p, "value.serializer"), "<unset>");
  EXPECT_EQ(get(p, "ssl.endpoint.identification.algorithm"), "none");
  rd_kafka_conf_destroy(kafka::make_conf(p));  // librdkafka takes every one

  kafka::Properties plain = {
      {"sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=bob password=secret;"}};
  kafka::translate_java_properties(plain);
  EXPECT_EQ(get(plain, "sasl.username"), "bob");
  EXPECT_EQ(get(plain, "sasl.password"), "secret");
  EXPECT_EQ(get(plain, "sasl.mechanisms"), "PLAIN");

  auto refused = [](kafka::Properties props) -> std::string {
    try {
      kafka::translate_java_properties(props);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "";
  };
  std::string jks = refused({{"ssl.truststore.location", "/etc/trust.jks"}, {"ssl.truststore.password", "changeit"}});
  EXPECT_NE(jks.find("ssl.ca.location"), std::string::npos) << jks;
  EXPECT_EQ(jks.find("changeit"), std::string::npos);
  std::string oauth = refused({{"sasl.jaas.config",
                                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;"}});
  EXPECT_NE(oauth.find("OAUTHBEARER"), std::string::npos) << oauth;
}

// Issue #14: secret -X values stayed in /proc/PID/cmdline for the whole run.
TEST(KafkaConfig, SecretArgumentsAreBlankedInPlace) {
  std::vector<std::string> args = {"kpub", "-X", "sasl.password=hunter2", "-Xssl.key.password=pw",
                                   "-X", "linger.ms=5", "-t", "topic=x", "-X",
                                   "sasl.oauthbearer.config=principal=a secret=b"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  kafka::hide_secret_arguments(static_cast<int>(argv.size()), argv.data());
  EXPECT_STREQ(argv[2], "sasl.password=*******");
  EXPECT_STREQ(argv[3], "-Xssl.key.password=**");
  EXPECT_STREQ(argv[5], "linger.ms=5");
  EXPECT_STREQ(argv[7], "topic=x");
  EXPECT_STREQ(argv[9], "sasl.oauthbearer.config=********************");
  EXPECT_TRUE(kafka::is_secret("sasl.oauthbearer.config"));
  EXPECT_TRUE(kafka::is_secret("sasl.oauthbearer.client.secret"));
  EXPECT_FALSE(kafka::is_secret("sasl.mechanism"));
}
