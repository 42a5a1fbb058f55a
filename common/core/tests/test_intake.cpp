// The intake: one way in for records (lines, limits, parse, envelopes,
// rejects with codes, acks after rejects), and its code table against the
// one in docs/conventions.md.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "pipekit/errors.hpp"
#include "pipekit/intake.hpp"

using namespace pipekit;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string write_file(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::trunc) << text;
  return path;
}

// Runs an Intake over `input` and returns the records it handed over (their
// line numbers); rejects go to `rejects_path`, acks to `acks_path` if set.
struct IntakeRun {
  std::vector<uint64_t> lines;
  std::vector<std::string> values;  // each record's value, re-serialised
  uint64_t malformed = 0;
};

IntakeRun run_intake(const std::string& input, IntakeOptions opts, IntakeRules rules, const std::string& rejects_path,
               Stats& stats) {
  RejectOptions ro;
  ro.path = rejects_path;
  RejectSink rejects(ro, stats);
  Intake intake({write_file("intake-input.ndjson", input)}, opts, rules, rejects, stats);
  IntakeRun run;
  Record r;
  while (intake.next(r) == ReadStatus::line) {
    run.lines.push_back(r.line.number);
    run.values.push_back(simdjson::minify(r.value));
  }
  run.malformed = intake.malformed();
  return run;
}

// The codes of a rejects file, in order.
std::vector<std::string> codes_of(const std::string& path) {
  std::vector<std::string> codes;
  simdjson::dom::parser p;
  std::istringstream lines(slurp(path));
  for (std::string l; std::getline(lines, l);) {
    std::string_view code;
    EXPECT_EQ(p.parse(l)["code"].get(code), simdjson::SUCCESS) << l;
    codes.emplace_back(code);
  }
  return codes;
}

}  // namespace

TEST(Intake, HandsOverRecordsAndRejectsTheRestWithOneCodeEach) {
  Stats stats;
  std::string rejects = ::testing::TempDir() + "/intake-rejects.ndjson";
  std::string input = "{\"a\":1}\n"
                      "\n"                               // blank: skipped, not a record
                      "{not json\n"                      // not_json
                      "{\"n\":1e999}\n"                  // number_out_of_range
                      "[1,2]\n"                          // not_object (require_object)
                      + std::string(100, 'x') + "\n"     // line_too_long
                      "{\"b\":2}";                        // last line without \n
  IntakeOptions opts;
  opts.max_line_bytes = 64;
  IntakeRun run = run_intake(input, opts, IntakeRules{.require_object = true}, rejects, stats);
  EXPECT_EQ(run.lines, (std::vector<uint64_t>{1, 7}));
  EXPECT_EQ(run.values, (std::vector<std::string>{R"({"a":1})", R"({"b":2})"}));
  EXPECT_EQ(run.malformed, 4u);
  EXPECT_EQ(stats.records_in.load(), 6u);
  EXPECT_EQ(codes_of(rejects),
            (std::vector<std::string>{"not_json", "number_out_of_range", "not_object", "line_too_long"}));
  std::string text = slurp(rejects);
  EXPECT_NE(text.find("\"reason\":\"line too long: 100 bytes or more, over --max-line-bytes 64\""), std::string::npos)
      << text;
  EXPECT_NE(text.find("\"record\":[1,2]"), std::string::npos) << "a JSON line is embedded as JSON: " << text;
}

TEST(Intake, UnwrapsEnvelopesAndAcksARejectOnlyAfterItIsWritten) {
  Stats stats;
  std::string dir = ::testing::TempDir();
  std::string rejects = dir + "/env-rejects.ndjson", acks = dir + "/env-acks.ndjson";
  ::unlink(acks.c_str());
  std::string input =
      R"({"topic":"users","partition":0,"offset":7,"value":{"id":1}})" "\n"
      R"({"topic":"users","partition":0,"offset":8,"value":[1]})" "\n"       // not_object, acked
      R"({"topic":"users","partition":1,"offset":9,"value_x":1})" "\n"       // not_envelope, acked
      R"({"topic":"t","partition":2,"offset":3,"payload":"{\"id\":2}"})" "\n";  // kcat -J
  IntakeOptions opts;
  opts.envelope = true;
  opts.ack_path = acks;
  IntakeRun run = run_intake(input, opts, IntakeRules{.require_object = true}, rejects, stats);
  EXPECT_EQ(run.values, (std::vector<std::string>{R"({"id":1})", R"({"id":2})"}));
  EXPECT_EQ(codes_of(rejects), (std::vector<std::string>{"not_object", "not_envelope"}));
  EXPECT_EQ(slurp(acks), "{\"topic\":\"users\",\"partition\":0,\"offset\":8}\n"
                         "{\"topic\":\"users\",\"partition\":1,\"offset\":9}\n");
}

TEST(Intake, NeverAcksARejectThatWasNotWrittenAnywhere) {
  Stats stats;
  std::string acks = ::testing::TempDir() + "/noacks.ndjson";
  ::unlink(acks.c_str());
  IntakeOptions opts;
  opts.envelope = true;
  opts.ack_path = acks;
  IntakeRun run = run_intake(R"({"topic":"u","partition":0,"offset":1,"value":2})" "\n", opts,
                       IntakeRules{.require_object = true}, "", stats);
  EXPECT_TRUE(run.lines.empty());
  EXPECT_EQ(stats.rejected.load(), 1u);
  EXPECT_EQ(slurp(acks), "") << "no --rejects file: the record would be lost if acknowledged";
}

TEST(Intake, SeveralInputsNameTheFileInEachReject) {
  Stats stats;
  std::string a = write_file("in-a.ndjson", "{\"a\":1}\nbad\n");
  std::string b = write_file("in-b.ndjson", "bad\n{\"b\":1}\n");
  std::string rejects = ::testing::TempDir() + "/multi-rejects.ndjson";
  RejectOptions ro;
  ro.path = rejects;
  IntakeOptions opts;
  {
    RejectSink sink(ro, stats);
    Intake intake({a, b}, opts, IntakeRules{}, sink, stats);
    Record r;
    int n = 0;
    while (intake.next(r) == ReadStatus::line) ++n;
    EXPECT_EQ(n, 2);
    EXPECT_EQ(intake.bytes_read(), 24u);
  }
  std::string text = slurp(rejects);
  EXPECT_NE(text.find("{\"line\":2,\"code\":\"not_json\",\"reason\":"), std::string::npos) << text;
  EXPECT_NE(text.find("\"input\":\"" + a + "\""), std::string::npos) << text;
  EXPECT_NE(text.find("{\"line\":1,\"code\":\"not_json\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"input\":\"" + b + "\""), std::string::npos) << text;
}

TEST(Intake, AcknowledgesABatchAfterTheRejectsBeforeIt) {
  Stats stats;
  std::string dir = ::testing::TempDir();
  std::string acks = dir + "/batch-acks.ndjson";
  ::unlink(acks.c_str());
  RejectOptions ro;
  ro.path = dir + "/batch-rejects.ndjson";
  IntakeOptions opts;
  opts.envelope = true;
  opts.ack_path = acks;
  RejectSink sink(ro, stats);
  Intake intake({write_file("batch.ndjson", "")}, opts, IntakeRules{}, sink, stats);
  intake.reject(KeptRecord{5, 0, R"({"x":1})", true, Ack{"t", 0, 4}}, RejectCode::sql, "refused",
                R"("sqlstate":"23505")");
  intake.acknowledge({Ack{"t", 0, 5}, Ack{"t", 1, 6}});
  EXPECT_EQ(slurp(ro.path),
            "{\"line\":5,\"code\":\"sql\",\"reason\":\"refused\",\"sqlstate\":\"23505\",\"record\":{\"x\":1}}\n");
  EXPECT_EQ(slurp(acks), "{\"topic\":\"t\",\"partition\":0,\"offset\":4}\n"
                         "{\"topic\":\"t\",\"partition\":0,\"offset\":5}\n"
                         "{\"topic\":\"t\",\"partition\":1,\"offset\":6}\n");
}

TEST(Intake, MaxLineBytesIsParsedOnceIntoBytes) {
  IntakeOptions opts;
  CLI::App app;
  add_intake_options(app, opts);
  app.parse(std::vector<std::string>{"64KiB", "--max-line-bytes"});  // CLI11 takes argv reversed
  EXPECT_EQ(opts.max_line_bytes, 64u * 1024);
  EXPECT_THROW(app.parse(std::vector<std::string>{"0", "--max-line-bytes"}), UsageError);
  CLI::App bare;
  IntakeOptions defaults;
  add_intake_options(bare, defaults);
  EXPECT_EQ(defaults.max_line_bytes, kDefaultMaxLineBytes);
}

// docs/conventions.md has the table of reject codes; each code in the code
// appears there with its meaning, and nothing else does.
TEST(RejectCodes, AgreeWithConventionsMd) {
  std::string doc = slurp(std::string(PIPEKIT_SOURCE_DIR) + "/docs/conventions.md");
  ASSERT_FALSE(doc.empty());
  std::istringstream lines(doc);
  std::vector<std::string> documented;
  bool in_table = false;
  for (std::string l; std::getline(lines, l);) {
    if (l.rfind("| reject code |", 0) == 0) {
      in_table = true;
      continue;
    }
    if (in_table && l.rfind("| ---", 0) == 0) continue;
    if (in_table && l.rfind("| `", 0) != 0) in_table = false;
    if (in_table) documented.push_back(l);
  }
  ASSERT_EQ(documented.size(), reject_code_table().size()) << "rows of the reject code table in docs/conventions.md";
  for (size_t i = 0; i < documented.size(); ++i) {
    const auto& c = reject_code_table()[i];
    EXPECT_EQ(static_cast<size_t>(c.code), i);
    EXPECT_EQ(documented[i], "| `" + std::string(c.name) + "` | " + std::string(c.meaning) + " |");
  }
}
