#pragma once
// fileload: NDJSON records (or envelopes) into NDJSON, CSV or Parquet files
// under a folder, rolled by records, size and age, partitioned Hive-style,
// each file made durable (temporary name, fsync, rename, fsync folder) before
// its records are acknowledged.
#include <cstdint>
#include <string>
#include <vector>

#include "pipekit/cli.hpp"
#include "pipekit/intake.hpp"
#include "pipekit/rejects.hpp"

namespace pipekit::fileload {

struct Options {
  CommonOptions common;
  RejectOptions rejects;
  std::vector<std::string> inputs;        // files; empty or "-": stdin
  std::string dir;                        // --dir
  std::string format;                     // --format ndjson|csv|parquet
  std::string schema_file;                // --schema
  std::string nested = "json";            // --nested flatten|json
  std::string compression;                // --compression; default none (parquet: snappy)
  int compression_level = 0;              // 0: the codec's default
  std::vector<std::string> partition_by;  // --partition-by FIELD | day:FIELD
  int64_t roll_records = 1'000'000;
  std::string roll_bytes = "256MiB";
  std::string roll_age = "5m";
  int64_t row_group_rows = 131072;
  std::string row_group_bytes = "64MiB";
  int max_open_files = 64;
  IntakeOptions intake;                   // --max-line-bytes, --envelope, --ack
};

int run(const Options& opts, RunContext& ctx);

}  // namespace pipekit::fileload
