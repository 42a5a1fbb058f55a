// pipekit's settings table, config file, shell quoting and restart rule.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "pipekit/errors.hpp"
#include "settings.hpp"
#include "stages.hpp"
#include "supervisor.hpp"

using namespace pipekit;
using namespace pipekit::orchestrator;

namespace {

std::string temp_file(const std::string& text) {
  char name[] = "/tmp/pipekit-settings-XXXXXX";
  int fd = mkstemp(name);
  close(fd);
  std::ofstream(name) << text;
  return name;
}

}  // namespace

TEST(PipekitSettings, EveryFlagAndSettingIsUnique) {
  std::set<std::string> names, keys;
  for (const auto& row : option_table()) {
    for (const std::string& n : {std::string(row.names), std::string(row.off_names)}) {
      size_t start = 0;
      while (start < n.size()) {
        size_t comma = n.find(',', start);
        if (comma == std::string::npos) comma = n.size();
        EXPECT_TRUE(names.insert(n.substr(start, comma - start)).second) << n;
        start = comma + 1;
      }
    }
    EXPECT_TRUE(keys.insert(row.key).second) << row.key;
  }
}

TEST(PipekitSettings, ParsesFlagsSubcommandAnywhereAndEqualsForm) {
  CommandLine cl = parse_command_line({"-q", "load", "-t", "people", "--group=g1", "--no-create", "--once"});
  EXPECT_EQ(cl.command, "load");
  EXPECT_EQ(cl.flags.at("PIPEKIT_TOPIC"), "people");
  EXPECT_EQ(cl.flags.at("PIPEKIT_GROUP"), "g1");
  EXPECT_EQ(cl.flags.at("PIPEKIT_CREATE"), "0");
  EXPECT_TRUE(cl.has("once"));
  EXPECT_TRUE(cl.has("quiet"));
  EXPECT_THROW(parse_command_line({"load", "--bogus"}), UsageError);
  EXPECT_THROW(parse_command_line({"load", "-t"}), UsageError);
  EXPECT_THROW(parse_command_line({"load", "ingest"}), UsageError);
  EXPECT_THROW(parse_command_line({"load", "--empty-exit", "300"}), UsageError);
  EXPECT_THROW(parse_command_line({"load", "--log-format", "xml"}), UsageError);
}

TEST(PipekitSettings, DurationsTakeUnitsAndOldSpellingsStillWork) {
  Settings s;
  s.values["PIPEKIT_LOCK_WAIT"] = "1m";
  EXPECT_EQ(lock_wait_ms(s), 60'000);
  s.values["PIPEKIT_LOCK_WAIT"] = "60";  // a bare number is seconds, as every duration
  EXPECT_EQ(lock_wait_ms(s), 60'000);
  s.values["PIPEKIT_LOCK_WAIT"] = "soon";
  EXPECT_THROW(lock_wait_ms(s), UsageError);
  s.values["PIPEKIT_SESSION_TIMEOUT"] = "6s";
  EXPECT_EQ(session_timeout_ms(s), 6'000);
  s.values["PIPEKIT_SESSION_TIMEOUT"] = "6000";  // milliseconds, as before units (warned)
  EXPECT_EQ(session_timeout_ms(s), 6'000);
  s.values["PIPEKIT_SESSION_TIMEOUT"] = "500ms";
  EXPECT_THROW(session_timeout_ms(s), UsageError);
  // -n was --count's short name; -c is now, as in ksub and ru-fetch.
  EXPECT_EQ(parse_command_line({"ingest", "-c", "5"}).flags.at("PIPEKIT_COUNT"), "5");
  EXPECT_EQ(parse_command_line({"ingest", "-n", "7"}).flags.at("PIPEKIT_COUNT"), "7");
}

TEST(PipekitSettings, ConfigFileIsDataAndRefusesSecretsAndUnknownKeys) {
  auto ok = temp_file("# c\n\n  export PIPEKIT_TOPIC=\"t 1\"\nPIPEKIT_GROUP='g'\r\nPGHOST=/tmp/x\nPIPEKIT_URL=$(rm -rf /)\n");
  auto pairs = read_config_file(ok);
  ASSERT_EQ(pairs.size(), 4u);
  EXPECT_EQ(pairs[0].second, "t 1");
  EXPECT_EQ(pairs[1].second, "g");
  EXPECT_EQ(pairs[3].second, "$(rm -rf /)");
  auto secret = temp_file("PIPEKIT_TOPIC=u\nPGPASSWORD=hunter2\n");
  try {
    read_config_file(secret);
    FAIL() << "a password was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(":2: PGPASSWORD"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos);
  }
  EXPECT_THROW(read_config_file(temp_file("PIPEKIT_TOPC=users\n")), UsageError);
  EXPECT_THROW(read_config_file(temp_file("not a setting\n")), UsageError);
  EXPECT_THROW(read_config_file("/nonexistent/pipekit.env"), UsageError);
}

TEST(PipekitSettings, HelpNamesEveryFlagAndEveryVariable) {
  std::string all;
  for (const char* c : {"", "ingest", "load", "status", "demo"}) all += help_text(c);
  for (const auto& row : option_table()) {
    if (row.section == Section::hidden) continue;
    if (*row.names) EXPECT_NE(all.find(std::string(row.names).substr(std::string(row.names).rfind(',') + 1)), std::string::npos) << row.names;
    if (row.kind == Kind::setting || row.kind == Kind::toggle) EXPECT_NE(all.find(std::string("[") + row.key + "]"), std::string::npos) << row.key;
  }
}

TEST(PipekitStages, ShellQuotingReadsBackAsTheSameWords) {
  EXPECT_EQ(shell_quote("plain-word_1.json"), "plain-word_1.json");
  EXPECT_EQ(shell_quote("$RUN_DIR/acks"), "'$RUN_DIR/acks'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_line({"ksub", "-t", "a b"}), "ksub -t 'a b' ");
}

TEST(PipekitStages, EverySinkHasAToolAndABuilder) {
  for (const auto& sink : sink_table()) {
    EXPECT_TRUE(sink.build != nullptr) << sink.name;
    EXPECT_STRNE(sink.tool, "");
  }
  EXPECT_EQ(sink_names(), "postgres, cassandra or files");
}

TEST(PipekitSupervisor, RestartsAfterExactlyTheTablesRestartableStatuses) {
  for (const auto& row : exit_status_table()) EXPECT_EQ(restartable(row.code), row.restartable) << row.code;
  EXPECT_TRUE(restartable(128 + 9));
  EXPECT_TRUE(restartable(128 + 15));
  EXPECT_FALSE(restartable(127));
}
