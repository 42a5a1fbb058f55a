// fileload's pieces: date-time parsing, cells from records, CSV fields, Hive
// folder names, file names, the durable commit and the stale-temp cleanup.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "files.hpp"
#include "output.hpp"
#include "pipekit/calendar.hpp"
#include "pipekit/errors.hpp"
#include "row.hpp"

namespace fs = std::filesystem;
using namespace pipekit::fileload;
using pipekit::jsonschema::ColumnKind;

TEST(DateTime, ParsesRfc3339InUtc) {
  EXPECT_EQ(parse_date_time_us("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_date_time_us("1970-01-01T00:00:01.5Z"), 1'500'000);
  EXPECT_EQ(parse_date_time_us("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(parse_date_time_us("1969-12-31T23:59:59.999999Z"), -1);
  EXPECT_EQ(parse_date_time_us("1969-12-31 19:00:00-05:00"), 0);
  EXPECT_EQ(parse_date_time_us("2026-11-30T12:34:56.1234567Z"), 1796042096123456LL);
  EXPECT_EQ(parse_date_time_us("1900-01-01T00:00:00Z"), -2208988800LL * 1'000'000);
}

TEST(DateTime, RefusesWhatIsNotOne) {
  for (const char* bad : {"", "2026-11-30", "2026-11-30T12:00:00", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                          "2026-11-30T24:00:00Z", "2026-11-30T12:00:00.Z", "2026-11-30T12:00:00Zjunk",
                          "2026-11-30T12:00:00+0100", "x026-11-30T12:00:00Z"})
    EXPECT_FALSE(parse_date_time_us(bad)) << bad;
}

TEST(Date, ParsesAndFormats) {
  EXPECT_EQ(parse_date_days("1970-01-01"), 0);
  EXPECT_EQ(parse_date_days("1969-12-31"), -1);
  EXPECT_EQ(parse_date_days("2024-02-29"), 19782);
  EXPECT_FALSE(parse_date_days("2023-02-29"));
  EXPECT_FALSE(parse_date_days("2023-02-2"));
  for (int64_t d : {-719162LL, -1LL, 0LL, 19782LL, 2932896LL}) EXPECT_EQ(parse_date_days(pipekit::calendar::format_date(d)), d);
}

class Rows : public ::testing::Test {
 protected:
  std::vector<SchemaColumn> cols() {
    auto col = [](std::string name, ColumnKind kind, bool required = false, bool int32 = false) {
      SchemaColumn c;
      c.name = name;
      c.path = {name};
      c.kind = kind;
      c.required = required;
      c.int32 = int32;
      return c;
    };
    return {col("id", ColumnKind::uuid, true), col("n", ColumnKind::integer), col("small", ColumnKind::integer, false, true),
            col("x", ColumnKind::number), col("b", ColumnKind::boolean), col("ts", ColumnKind::date_time),
            col("d", ColumnKind::date), col("s", ColumnKind::string), col("j", ColumnKind::json)};
  }
  std::string build(const std::string& json) {
    doc = parser.parse(json);
    return rows.build(doc, cells);
  }
  RowBuilder rows{cols()};
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::vector<Cell> cells;
};

TEST_F(Rows, FillsEveryType) {
  ASSERT_EQ(build(R"({"id":"123e4567-e89b-12d3-a456-426614174000","n":-9223372036854775808,"small":2147483647,)"
                  R"("x":1.5,"b":true,"ts":"1960-01-01T00:00:00Z","d":"1960-01-01","s":"","j":{"a":[1, 2]},"extra":1})"),
            "");
  EXPECT_EQ(cells[0].uuid[0], 0x12);
  EXPECT_EQ(cells[1].integer, INT64_MIN);
  EXPECT_EQ(cells[2].integer, INT32_MAX);
  EXPECT_EQ(cells[3].number, 1.5);
  EXPECT_TRUE(cells[4].boolean);
  EXPECT_EQ(cells[5].integer, -315619200LL * 1'000'000);
  EXPECT_EQ(cells[6].integer, -3653);
  EXPECT_FALSE(cells[7].null);
  EXPECT_EQ(cells[7].text, "");
  EXPECT_EQ(cells[8].text, R"({"a":[1,2]})");
}

TEST_F(Rows, NullsAndMissingFieldsAreNull) {
  ASSERT_EQ(build(R"({"id":"123e4567e89b12d3a456426614174000","n":null})"), "");
  for (size_t i = 1; i < cells.size(); ++i) EXPECT_TRUE(cells[i].null) << i;
}

TEST_F(Rows, WhatDoesNotFitIsAReasonNamingTheColumn) {
  const std::string id = R"("id":"123e4567-e89b-12d3-a456-426614174000")";
  EXPECT_EQ(build("{}"), "'id' is required and missing");
  EXPECT_EQ(build(R"({"id":null})"), "'id' is required and null");
  EXPECT_EQ(build(R"({"id":"nope"})"), "'id' is not a uuid");
  EXPECT_EQ(build("{" + id + R"(,"n":"1"})"), "'n' should be an integer, not a string");
  EXPECT_EQ(build("{" + id + R"(,"n":18446744073709551615})"), "'n' is out of the 64-bit integer range");
  EXPECT_EQ(build("{" + id + R"(,"n":1.5})"), "'n' should be an integer, not 1.5");
  EXPECT_EQ(build("{" + id + R"(,"n":2.0})"), "");
  EXPECT_EQ(build("{" + id + R"(,"small":2147483648})"), "'small' is out of the 32-bit integer range the schema gives");
  EXPECT_EQ(build("{" + id + R"(,"b":1})"), "'b' should be a boolean, not a number");
  EXPECT_EQ(build("{" + id + R"(,"ts":"2026-11-30"})"), "'ts' is not an RFC 3339 date-time");
  EXPECT_EQ(build("{" + id + R"(,"s":{}})"), "'s' should be a string, not an object");
}

TEST(Csv, QuotesOnlyWhatRfc4180Needs) {
  std::string out;
  append_csv_field(out, "plain");
  EXPECT_EQ(out, "plain");
  out.clear();
  append_csv_field(out, "a,\"b\"\r\nc");
  EXPECT_EQ(out, "\"a,\"\"b\"\"\r\nc\"");
  out.clear();
  append_csv_field(out, "");
  EXPECT_EQ(out, "\"\"");  // an empty string, unlike a null (nothing)
  out.clear();
  Cell null_cell;
  append_csv_cell(out, ColumnKind::string, null_cell);
  EXPECT_EQ(out, "");
}

TEST(Hive, EscapesLikeHiveAndNamesNulls) {
  std::string v = "a/b=c%";
  EXPECT_EQ(hive_segment("nat", &v), "nat=a%2Fb%3Dc%25");
  EXPECT_EQ(hive_segment("nat", nullptr), "nat=__HIVE_DEFAULT_PARTITION__");
  std::string u = "Zürich é";
  EXPECT_EQ(hive_segment("city", &u), "city=Zürich é");
}

TEST(Names, NeverRepeatAcrossNamersAndAreRecognisedAsTempWhenHidden) {
  FileNamer a(".parquet"), b(".parquet");
  EXPECT_NE(a.run_id(), b.run_id());
  std::string first = a.next(), second = a.next();
  EXPECT_NE(first, second);
  EXPECT_NE(first, b.next());
  EXPECT_TRUE(first.rfind("part-", 0) == 0);
  EXPECT_TRUE(first.find("-000001.parquet") != std::string::npos) << first;
  EXPECT_FALSE(is_temp_name(first));
  EXPECT_TRUE(is_temp_name(temp_name(first)));
}

// Decompressed in process, with the libraries' own decoders.
std::string gunzip(const std::string& packed) {
  z_stream zs{};
  inflateInit2(&zs, 15 + 16);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
  zs.avail_in = static_cast<uInt>(packed.size());
  std::string out;
  char buf[1 << 16];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  } while (rc == Z_OK);
  inflateEnd(&zs);
  EXPECT_EQ(rc, Z_STREAM_END);
  return out;
}

std::string unzstd(const std::string& packed) {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZSTD_inBuffer in{packed.data(), packed.size(), 0};
  std::string out;
  char buf[1 << 16];
  size_t rc = 1;
  while (in.pos < in.size) {
    ZSTD_outBuffer o{buf, sizeof buf, 0};
    rc = ZSTD_decompressStream(d, &o, &in);
    EXPECT_FALSE(ZSTD_isError(rc));
    if (ZSTD_isError(rc)) break;
    out.append(buf, o.pos);
  }
  ZSTD_freeDCtx(d);
  EXPECT_EQ(rc, 0u);  // the frame ended
  return out;
}

class Folder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("fileload-test-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "a=1");
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
};

TEST_F(Folder, CommitRenamesAndNeverReplaces) {
  int fd = create_locked_temp(dir / ".part-x.tmp");
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "hi\n", 3), 3);
  commit_file(fd, dir / ".part-x.tmp", dir / "part-x");
  ::close(fd);
  EXPECT_TRUE(fs::exists(dir / "part-x"));
  EXPECT_FALSE(fs::exists(dir / ".part-x.tmp"));
  fd = create_locked_temp(dir / ".part-y.tmp");
  EXPECT_THROW(commit_file(fd, dir / ".part-y.tmp", dir / "part-x"), pipekit::IoError);
  ::close(fd);
  EXPECT_EQ(fs::file_size(dir / "part-x"), 3u);
}

TEST_F(Folder, StaleTempsGoButHeldOnesStay) {
  int held = create_locked_temp(dir / "a=1" / ".part-held.tmp");
  ASSERT_GE(held, 0);
  std::ofstream(dir / "a=1" / ".part-dead.tmp") << "partial";
  std::ofstream(dir / "a=1" / "part-done.parquet") << "complete";
  std::ofstream(dir / "a=1" / ".other.tmp") << "not ours";
  EXPECT_EQ(remove_stale_temps(dir), 1u);
  EXPECT_TRUE(fs::exists(dir / "a=1" / ".part-held.tmp"));
  EXPECT_FALSE(fs::exists(dir / "a=1" / ".part-dead.tmp"));
  EXPECT_TRUE(fs::exists(dir / "a=1" / "part-done.parquet"));
  EXPECT_TRUE(fs::exists(dir / "a=1" / ".other.tmp"));
  // A second holder of the same name cannot take it.
  EXPECT_EQ(create_locked_temp(dir / "a=1" / ".part-held.tmp"), -1);
  ::close(held);
  EXPECT_EQ(remove_stale_temps(dir), 1u);
}

TEST_F(Folder, GzipAndZstdStreamsComplete) {
  for (auto c : {Compression::gzip, Compression::zstd}) {
    fs::path p = dir / (c == Compression::gzip ? "x.gz" : "x.zst");
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    {
      ByteSink sink(fd, c, 0);
      for (int i = 0; i < 100000; ++i) sink.write("{\"a\":1}\n");
      sink.finish();
      EXPECT_GT(sink.bytes_out(), 10u);
      EXPECT_LT(sink.bytes_out(), 100000u);
    }
    ::close(fd);
    std::ifstream in(p, std::ios::binary);
    std::string packed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string text = c == Compression::gzip ? gunzip(packed) : unzstd(packed);
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 100000);
  }
}
