// fileload's command line: every option with its type, default and help, defined
// once. main() parses with it; pipekit builds its fileload stage against it.
#include "cli.hpp"

namespace pipekit::fileload {

std::unique_ptr<CLI::App> command_line(Options& o) {
  auto parser = std::make_unique<CLI::App>("Write NDJSON records (or envelopes) into NDJSON, CSV or Parquet files under a folder:\n"
               "columns from a JSON Schema, gzip/zstd/snappy, files rolled by records, size and age,\n"
               "Hive-style partitions, each file durable (fsync, rename) before its records are acknowledged.", "fileload");
  CLI::App& app = *parser;
  add_common_options(app, o.common);
  app.add_option("inputs", o.inputs, "NDJSON input files (default: stdin)")->type_name("FILE...");
  auto* out = "Output";
  app.add_option("--dir", o.dir, "Write the files under DIR (created if missing)")->required()->group(out)
      ->type_name("DIR");
  app.add_option("--format", o.format, "ndjson, csv or parquet")->required()->group(out)->type_name("FORMAT");
  app.add_option("--schema", o.schema_file,
                 "Columns and types from this JSON Schema (needed by csv and parquet; ndjson without it "
                 "passes records through)")
      ->group(out)->type_name("FILE");
  app.add_option("--nested", o.nested, "Nested objects of the schema: flatten (a column per path, a_b) or json (text)")
      ->capture_default_str()->group(out)->type_name("MODE");
  app.add_option("--compression", o.compression,
                 "none, gzip or zstd (ndjson, csv; default none); snappy, zstd or none (parquet; default snappy)")
      ->group(out)->type_name("CODEC");
  app.add_option("--compression-level", o.compression_level, "gzip 1-9, zstd 1-22 (0: the codec's default)")
      ->capture_default_str()->group(out)->type_name("N");
  app.add_option("--partition-by", o.partition_by,
                 "A folder level FIELD=value, or FIELD_day=YYYY-MM-DD with day:FIELD (UTC); repeatable")
      ->group(out)->type_name("FIELD")->allow_extra_args(false);
  auto* roll = "Rolling";
  app.add_option("--roll-records", o.roll_records, "Start a new file after N records")->capture_default_str()
      ->group(roll)->type_name("N");
  app.add_option("--roll-bytes", o.roll_bytes, "Start a new file once one reaches SIZE (Parquet: at a row group)")
      ->capture_default_str()->group(roll)->type_name("SIZE");
  app.add_option("--roll-age", o.roll_age, "Complete a file (and acknowledge its records) at most DURATION after it opened")
      ->capture_default_str()->group(roll)->type_name("DURATION");
  app.add_option("--row-group-rows", o.row_group_rows, "Parquet: rows per row group (memory is bounded by one)")
      ->capture_default_str()->group(roll)->type_name("N");
  app.add_option("--row-group-bytes", o.row_group_bytes, "Parquet: a row group is written once its pages reach SIZE")
      ->capture_default_str()->group(roll)->type_name("SIZE");
  app.add_option("--max-open-files", o.max_open_files,
                 "Partitions written at once; the least recently used file is completed beyond N")
      ->capture_default_str()->group(roll)->type_name("N");
  add_intake_options(app, o.intake);
  add_reject_options(app, o.rejects);
  return parser;
}

}  // namespace pipekit::fileload
