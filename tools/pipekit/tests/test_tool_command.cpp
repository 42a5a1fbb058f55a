// Stage command lines built against the tools' own parsers.
#include <gtest/gtest.h>

#include <functional>

#include "kpub/cli.hpp"
#include "pgload/cli.hpp"
#include "pipekit/errors.hpp"
#include "tool_command.hpp"

using namespace pipekit;
using namespace pipekit::orchestrator;

namespace {

ToolCommand pgload_stage() { return ToolCommand::of<pgload::Options>("pgload", pgload::command_line); }
ToolCommand kpub_stage() { return ToolCommand::of<kpub::Options>("kpub", kpub::command_line); }

ExitCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return ExitCode::ok;
}

}  // namespace

TEST(ToolCommand, BuildsTheArgvTheToolAccepts) {
  ToolCommand a = pgload_stage();
  a.option("--table", "users").flag("--envelope").option("--flush-interval", "2s").option_if("--dsn", "");
  EXPECT_EQ(a.finish(), (Argv{"pgload", "--table", "users", "--envelope", "--flush-interval", "2s"}));
}

TEST(ToolCommand, RepeatableOptionsTakeOneValueEach) {
  ToolCommand a = kpub_stage();
  a.option("--topic", "t").option("-X", "a=b").option("-X", "c=d").positional("in.ndjson");
  EXPECT_EQ(a.finish(), (Argv{"kpub", "--topic", "t", "-X", "a=b", "-X", "c=d", "in.ndjson"}));
}

TEST(ToolCommand, AnOptionTheToolDoesNotDefineIsABug) {
  ToolCommand a = pgload_stage();
  EXPECT_EQ(code_of([&] { a.option("--no-such-option", "x"); }), ExitCode::internal);
  // A deprecated spelling is still parsed, but pipekit writes the current one.
  EXPECT_EQ(code_of([&] { a.option("-t", "users"); }), ExitCode::internal);
}

TEST(ToolCommand, ASwitchWithAValueOrAnOptionWithoutOneIsABug) {
  ToolCommand a = pgload_stage();
  EXPECT_EQ(code_of([&] { a.option("--envelope", "yes"); }), ExitCode::internal);
  EXPECT_EQ(code_of([&] { a.flag("--table"); }), ExitCode::internal);
}

TEST(ToolCommand, AValueTheToolRefusesIsAUsageErrorNamingTheStage) {
  ToolCommand a = pgload_stage();
  a.option("--table", "users").option("--flush-interval", "soon");
  try {
    a.finish();
    FAIL() << "accepted --flush-interval soon";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::usage);
    EXPECT_NE(std::string(e.what()).find("the pgload stage: --flush-interval"), std::string::npos) << e.what();
  }
}

TEST(ToolCommand, AMissingRequiredOptionIsAUsageError) {
  ToolCommand a = pgload_stage();  // pgload requires --table
  a.flag("--envelope");
  EXPECT_EQ(code_of([&] { a.finish(); }), ExitCode::usage);
}
