// common/core: NDJSON reader and writer, JSON helpers, envelope, acks, exit
// table, durations and sizes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "pipekit/acks.hpp"
#include "pipekit/calendar.hpp"
#include "pipekit/cli.hpp"
#include "pipekit/envelope.hpp"
#include "pipekit/errors.hpp"
#include "pipekit/json.hpp"
#include "pipekit/log.hpp"
#include "pipekit/ndjson.hpp"
#include "pipekit/stats.hpp"

using namespace pipekit;

namespace {
// A pipe whose read end is fed `input` by a thread, in chunks of `chunk` bytes.
struct Feeder {
  int fds[2];
  std::thread t;
  Feeder(std::string input, size_t chunk = 7) {
    EXPECT_EQ(pipe(fds), 0);
    t = std::thread([this, input, chunk] {
      for (size_t i = 0; i < input.size(); i += chunk)
        (void)!write(fds[1], input.data() + i, std::min(chunk, input.size() - i));
      close(fds[1]);
    });
  }
  ~Feeder() {
    t.join();
    close(fds[0]);
  }
};

std::vector<Line> read_all(const std::string& input, size_t max = kDefaultMaxLineBytes, size_t chunk = 7,
                           std::vector<std::string>* texts = nullptr) {
  Feeder f(input, chunk);
  LineReader r(f.fds[0], max);
  std::vector<Line> out;
  Line l;
  while (r.next_line(l)) {
    out.push_back(l);
    if (texts) texts->emplace_back(l.text);
  }
  return out;
}
}  // namespace

TEST(LineReader, SplitsLinesAcceptsCrlfSkipsBlanksAndLastLineWithoutNewline) {
  std::vector<std::string> texts;
  auto lines = read_all("{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}", kDefaultMaxLineBytes, 3, &texts);
  ASSERT_EQ(texts.size(), 3u);
  EXPECT_EQ(texts[0], "{\"a\":1}");
  EXPECT_EQ(texts[1], "{\"b\":2}");
  EXPECT_EQ(texts[2], "{\"c\":3}");
  EXPECT_EQ(lines[0].number, 1u);
  EXPECT_EQ(lines[1].number, 4u);  // blank lines still count
  EXPECT_EQ(lines[2].number, 5u);
}

TEST(LineReader, OverLongLineIsReportedAndSkippedWithoutHoldingIt) {
  std::string big(100000, 'x');
  std::vector<std::string> texts;
  auto lines = read_all("short\n" + big + "\nafter\n" + big, 1000, 4096, &texts);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(texts[0], "short");
  EXPECT_TRUE(lines[1].too_long);
  EXPECT_EQ(lines[1].length, big.size());
  EXPECT_EQ(lines[1].number, 2u);
  EXPECT_EQ(texts[2], "after");
  EXPECT_TRUE(lines[3].too_long);  // the input ends inside an over-long line
  EXPECT_EQ(lines[3].length, big.size());
}

TEST(LineReader, LinesArePaddedForSimdjson) {
  Feeder f("{\"k\":[1,2,3]}\n{\"k\":\"v\"}\n");
  LineReader r(f.fds[0]);
  Line l;
  simdjson::dom::parser parser;
  int n = 0;
  while (r.next_line(l)) {
    simdjson::dom::element e;
    ASSERT_EQ(parser.parse(l.text.data(), l.text.size(), false).get(e), simdjson::SUCCESS);
    ++n;
  }
  EXPECT_EQ(n, 2);
}

TEST(LineReader, TimeoutWhenNoData) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  LineReader r(fds[0]);
  Line l;
  EXPECT_EQ(r.next(l, 50), ReadStatus::timeout);
  (void)!write(fds[1], "x\n", 2);
  EXPECT_EQ(r.next(l, 50), ReadStatus::line);
  close(fds[1]);
  EXPECT_EQ(r.next(l, 50), ReadStatus::eof);
  close(fds[0]);
}

TEST(OutputWriter, ClosedPipeIsPipeClosed) {
  signal(SIGPIPE, SIG_IGN);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[0]);
  OutputWriter w(fds[1], 16);
  w.write_line("hello");
  EXPECT_THROW(w.flush(), PipeClosed);
  close(fds[1]);
}

TEST(Json, EscapesControlAndInvalidUtf8ToValidJson) {
  EXPECT_EQ(json::quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  EXPECT_EQ(json::quote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  std::string bad = json::quote(std::string("x\xff\xfey", 4));
  EXPECT_EQ(bad, "\"x\xEF\xBF\xBD\xEF\xBF\xBDy\"");
  simdjson::dom::parser p;
  EXPECT_EQ(p.parse(bad).error(), simdjson::SUCCESS);
}

TEST(Json, PathsDottedAndPointer) {
  simdjson::dom::parser p;
  auto root = p.parse(std::string(R"({"login":{"uuid":"u-1","a/b":{"~x":5}},"list":[10,20]})")).value();
  EXPECT_EQ(*json::scalar_text(*json::Path("login.uuid").find(root)), "u-1");
  EXPECT_EQ(*json::scalar_text(*json::Path("/login/a~1b/~0x").find(root)), "5");
  EXPECT_EQ(*json::scalar_text(*json::Path("list.1").find(root)), "20");
  EXPECT_FALSE(json::Path("login.missing").find(root).has_value());
  EXPECT_FALSE(json::Path("list.9").find(root).has_value());
  EXPECT_THROW(json::Path("a..b"), UsageError);
}

TEST(Envelope, RoundTripsAndReadsKcatJson) {
  std::string key = "k1";
  std::string_view key_view = key;
  EnvelopeView v;
  v.topic = "users";
  v.partition = 3;
  v.offset = 1042;
  v.timestamp = 1732147200123;
  v.key = &key_view;
  v.headers = {{"source", "ru-fetch"}};
  v.value = R"({"a":1})";
  v.value_is_json = true;
  std::string line;
  append_envelope(line, v);
  EXPECT_EQ(line,
            R"({"topic":"users","partition":3,"offset":1042,"timestamp":1732147200123,"key":"k1","headers":{"source":"ru-fetch"},"value":{"a":1}})");
  simdjson::dom::parser p;
  Envelope e = parse_envelope(p.parse(line).value());
  EXPECT_EQ(e.topic, "users");
  EXPECT_EQ(e.partition, 3);
  EXPECT_EQ(e.offset, 1042);
  EXPECT_EQ(*e.key, "k1");
  EXPECT_EQ(e.value, R"({"a":1})");
  ASSERT_EQ(e.headers.size(), 1u);

  std::string kcat =
      R"({"topic":"t","partition":0,"offset":7,"tstype":"create","ts":5,"broker":1,"headers":["h","v"],"key":null,"payload":"{\"x\":2}"})";
  Envelope k = parse_envelope(p.parse(kcat).value());
  EXPECT_EQ(k.value, R"({"x":2})");
  EXPECT_TRUE(k.payload_was_string);
  EXPECT_FALSE(k.key.has_value());
  EXPECT_EQ(k.timestamp, 5);
  EXPECT_EQ(k.headers[0].second, "v");
  EXPECT_FALSE(k.value_element.has_value());  // a string payload: parse `value` again

  // Without a copy, the value is read where it was parsed.
  Envelope nc = parse_envelope(p.parse(line).value(), false);
  EXPECT_TRUE(nc.value.empty());
  ASSERT_TRUE(nc.value_element.has_value());
  EXPECT_EQ(simdjson::minify(*nc.value_element), R"({"a":1})");
  EXPECT_EQ(nc.offset, 1042);

  EXPECT_THROW(parse_envelope(p.parse(std::string("[1]")).value()), std::invalid_argument);
  EXPECT_THROW(parse_envelope(p.parse(std::string(R"({"topic":"t"})")).value()), std::invalid_argument);
}

TEST(Envelope, NonJsonValueBecomesString) {
  EnvelopeView v;
  v.topic = "t";
  v.value = std::string_view("plain\xff", 6);
  std::string line;
  append_envelope(line, v);
  simdjson::dom::parser p;
  EXPECT_EQ(p.parse(line).error(), simdjson::SUCCESS);
  EXPECT_NE(line.find(R"("key":null)"), std::string::npos);
}

TEST(Acks, FormatParseAndWriteToFile) {
  EXPECT_EQ(format_ack("users", 2, 99), "{\"topic\":\"users\",\"partition\":2,\"offset\":99}\n");
  auto a = parse_ack(R"({"topic":"users","partition":2,"offset":99})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->offset, 99);
  EXPECT_FALSE(parse_ack("nope"));
  EXPECT_FALSE(parse_ack(R"({"topic":"t","partition":-1,"offset":1})"));
  std::string path = ::testing::TempDir() + "/acks.ndjson";
  unlink(path.c_str());
  {
    AckWriter w(path);
    w.ack("t", 0, 1);
    w.ack("t", 1, 2);
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), format_ack("t", 0, 1) + format_ack("t", 1, 2));
}

// A batch's acks go out packed into writes of whole lines; two writers
// flushing at once on one FIFO never mix their lines.
TEST(Acks, PackedBatchesFromTwoWritersNeverInterleave) {
  std::string path = ::testing::TempDir() + "/acks.fifo";
  unlink(path.c_str());
  AckInbox inbox(path);
  auto writer = [&](std::string topic) {
    AckWriter w(path);
    for (int round = 0; round < 5; ++round) {
      for (int i = 0; i < 1000; ++i) w.add(topic, 7, round * 1000 + i);
      w.flush();
    }
  };
  std::thread a(writer, std::string(60, 'a')), b(writer, std::string(90, 'b'));
  a.join();
  b.join();
  std::string got;
  for (int i = 0; i < 200 && std::count(got.begin(), got.end(), '\n') < 10000; ++i) {
    got += inbox.take();
    if (std::count(got.begin(), got.end(), '\n') < 10000) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::map<std::string, int64_t> next;  // per writer, offsets arrive in order
  std::istringstream lines(got);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto ack = parse_ack(line);
    ASSERT_TRUE(ack) << "a mixed or broken line: " << line.substr(0, 80);
    EXPECT_EQ(ack->offset, next[ack->topic]++);
    ++n;
  }
  EXPECT_EQ(n, 10000);
  unlink(path.c_str());
}

TEST(ExitStatus, OneTableForHelpAndRestarts) {
  std::string help = exit_status_help();
  for (const auto& row : exit_status_table())
    EXPECT_NE(help.find(row.meaning), std::string::npos) << "exit status " << row.code << " missing from --help";
  // What the orchestrator restarts after: a service or I/O failure, a bug.
  std::vector<int> restartable;
  for (const auto& row : exit_status_table())
    if (row.restartable) restartable.push_back(row.code);
  EXPECT_EQ(restartable, (std::vector<int>{3, 4, 5}));
}

TEST(Parse, DurationsAndSizes) {
  EXPECT_EQ(parse_duration_ms("250ms", "--t"), 250);
  EXPECT_EQ(parse_duration_ms("5s", "--t"), 5000);
  EXPECT_EQ(parse_duration_ms("5", "--t"), 5000);
  EXPECT_EQ(parse_duration_ms("10m", "--t"), 600000);
  EXPECT_EQ(parse_duration_ms("1.5h", "--t"), 5400000);
  EXPECT_EQ(parse_duration_ms("0.0015s", "--t"), 1);  // truncated, exactly
  EXPECT_EQ(parse_duration_ms("2d", "--t"), 172800000);
  EXPECT_THROW(parse_duration_ms("soon", "--t"), UsageError);
  EXPECT_EQ(parse_size_bytes("16MiB", "--s"), 16u << 20);
  EXPECT_EQ(parse_size_bytes("64k", "--s"), 64u << 10);
  EXPECT_EQ(parse_size_bytes("1.5k", "--s"), 1536u);
  EXPECT_THROW(parse_size_bytes("lots", "--s"), UsageError);
}

// Hostile values: never a crash (stod/stoul), an overflow or a negative; a
// usage error whose message names the flag.
TEST(Parse, BadNumbersAreUsageErrorsNamingTheFlag) {
  auto message = [](auto f) {
    try {
      f();
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  for (const char* bad : {".", "", "-5s", "1..2s", ".5s", "5 s", "1e3s", "nan", "inf", "0x10", "5ss"})
    EXPECT_EQ(message([&] { parse_duration_ms(bad, "--since"); }).rfind("--since: '", 0), 0u) << bad;
  auto says = [&](auto f, const std::string& text) { return message(f).find(text) != std::string::npos; };
  EXPECT_TRUE(says([] { parse_duration_ms("99999999999d", "--since"); }, "too long"));
  EXPECT_TRUE(says([] { parse_duration_ms("99999999999999999999999999999s", "--since"); }, "too long"));
  EXPECT_TRUE(says([] { parse_duration_ms("3000000s", "--request-timeout", INT32_MAX); },
                   "--request-timeout: '3000000s' is too long"));
  EXPECT_EQ(parse_duration_ms("2000000s", "--request-timeout", INT32_MAX), 2000000000);
  for (const char* bad : {".", "-1", "k", "1.2.3k", "12 MiB", "1e9"})
    EXPECT_EQ(message([&] { parse_size_bytes(bad, "--max-line-bytes"); }).rfind("--max-line-bytes: '", 0), 0u) << bad;
  EXPECT_TRUE(says([] { parse_size_bytes("99999999999999999999999999999G", "--max-line-bytes"); }, "too large"));
  EXPECT_TRUE(says([] { parse_size_bytes("18446744073709551615", "--max-line-bytes"); }, "too large"));
  EXPECT_EQ(parse_size_bytes("1024GiB", "--x"), 1ULL << 40);
  EXPECT_THROW(parse_size_bytes("1025GiB", "--x"), UsageError);
  EXPECT_EQ(parse_count("18446744073709551615", "-n", 0, UINT64_MAX), UINT64_MAX);
  EXPECT_THROW(parse_count("18446744073709551616", "-n", 0, UINT64_MAX), UsageError);
  EXPECT_THROW(parse_count("5", "-n", 6, 10), UsageError);
  EXPECT_THROW(parse_count("5.0", "-n", 0, 10), UsageError);
  EXPECT_DOUBLE_EQ(parse_percent("5%", "--max-reject-rate"), 5.0);
  EXPECT_DOUBLE_EQ(parse_percent("0.5", "--max-reject-rate"), 0.5);
  EXPECT_DOUBLE_EQ(parse_percent("100%", "--max-reject-rate"), 100.0);
  for (const char* bad : {"nan", "inf", "-1", "100.0001", "1e2", "5%%", ""})
    EXPECT_THROW(parse_percent(bad, "--max-reject-rate"), UsageError) << bad;
}

TEST(Calendar, DayNumbersRoundTripAcrossErasAndLeapDays) {
  using namespace pipekit::calendar;
  EXPECT_EQ(format_date(0), "1970-01-01");
  EXPECT_EQ(format_date(-1), "1969-12-31");
  EXPECT_EQ(format_date(-719162), "0001-01-01");
  EXPECT_EQ(days_from_civil(2000, 2, 29), 11016);
  EXPECT_EQ(format_date(11016), "2000-02-29");
  EXPECT_EQ(days_from_civil(2026, 11, 30), 20787);
  for (int64_t d = -800000; d <= 3000000; d += 997) {
    std::string text = format_date(d);
    int64_t y = std::stoll(text.substr(0, text.size() - 6));
    unsigned m = static_cast<unsigned>(std::stoi(text.substr(text.size() - 5, 2)));
    unsigned day = static_cast<unsigned>(std::stoi(text.substr(text.size() - 2)));
    ASSERT_EQ(days_from_civil(y, m, day), d) << text;
    ASSERT_LE(day, days_in_month(y, m)) << text;
  }
  EXPECT_TRUE(is_leap_year(2000));
  EXPECT_FALSE(is_leap_year(1900));
  EXPECT_EQ(days_in_month(2024, 2), 29u);
  EXPECT_EQ(days_in_month(2023, 2), 28u);
}

// A writer that starts before ksub opens the FIFO waits for it, then writes.
TEST(Acks, WriterWaitsForTheFifosReader) {
  std::string path = ::testing::TempDir() + "/acks-late.fifo";
  unlink(path.c_str());
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  std::thread writer([&] {
    AckWriter w(path);
    w.ack("t", 3, 42);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  AckInbox inbox(path);
  writer.join();
  std::string got;
  for (int i = 0; i < 100 && got.empty(); ++i) {
    got = inbox.take();
    if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(got, format_ack("t", 3, 42));
  unlink(path.c_str());
}

// The progress line is drawn by a thread of its own while the run counts and
// logs (scripts/test --tsan runs this): counters, extra counters and log lines
// from the main thread meanwhile; a log line clears the progress line first.
TEST(Stats, ProgressThreadRedrawsWhileTheRunCountsAndLogs) {
  std::string path = ::testing::TempDir() + "/progress.err";
  int saved = dup(STDERR_FILENO);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_GE(dup2(fd, STDERR_FILENO), 0);
  ::close(fd);
  {
    Stats stats;
    stats.start_progress();
    for (int i = 0; i < 120; ++i) {
      stats.records_in++;
      stats.records_out++;
      stats.add("retried");
      if (i % 40 == 0) log::warn("step {}", i);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stats.stop_progress();
  }
  dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::ifstream in(path);
  std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(err.find("\r\033[K"), std::string::npos) << err;  // drawn at least once in 1.2 s
  EXPECT_NE(err.find("retried "), std::string::npos) << err;
  EXPECT_NE(err.find("warning: step 80\n"), std::string::npos) << err;
  unlink(path.c_str());
}
