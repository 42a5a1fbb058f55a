// common/kafka: configuration precedence (flag > environment > file > default)
// and secrets masked when the configuration is printed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

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
