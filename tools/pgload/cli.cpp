// pgload's command line: every option with its type, default and help, defined
// once. main() parses with it; pipekit builds its pgload stage against it.
#include "cli.hpp"

namespace pipekit::pgload {

std::unique_ptr<CLI::App> command_line(Options& opts) {
  auto parser = std::make_unique<CLI::App>("Load newline-delimited JSON from stdin into a PostgreSQL table with COPY, one transaction per batch.\n"
               "Connection by libpq's conventions: --dsn, else PG* variables and ~/.pgpass.", "pgload");
  CLI::App& app = *parser;
  add_common_options(app, opts.common);
  app.add_option("-d,--dsn", opts.dsn, "libpq connection string or URI (no password here: use PGPASSWORD or ~/.pgpass)")
      ->type_name("CONNINFO");
  auto* table = app.add_option("--table", opts.table,
                               "Target table, [schema.]name (names taken literally; \"quote\" a dot)")
                    ->type_name("TABLE")
                    ->required();
  add_deprecated_alias(app, "-t", table, opts.table);  // -t is a topic in every tool
  app.add_option("--map", opts.maps,
                 "Column from a JSON path or envelope field: col=location.city, col=/a/b, col=@offset; "
                 "append ::type for --create (repeatable)")
      ->type_name("COL=PATH[::TYPE]");
  app.add_option("--jsonb", opts.jsonb_column, "Store the whole record in this jsonb column")->type_name("COL");
  app.add_flag("--strict-fields", opts.strict_fields, "Reject records with a top-level field that has no column");
  app.add_flag("--create", opts.create, "Create the table if missing (types from --schema, else from the first batch)");
  app.add_option("--schema", opts.schema_file, "JSON Schema giving the column types for --create")->type_name("FILE");
  app.add_option("--primary-key", opts.primary_key, "Primary key for --create")->type_name("COL[,COL]");
  app.add_option_function<std::string>(
         "--mode", [&opts](const std::string& m) { opts.mode = pgload::parse_mode(m); },
         "insert (COPY), upsert (ON CONFLICT DO UPDATE) or ignore (DO NOTHING)")
      ->check(CLI::IsMember({"insert", "upsert", "ignore"}))
      ->default_str("insert");
  app.add_option("--key", opts.key, "Conflict key for upsert/ignore (default: the table's primary key)")
      ->type_name("COL[,COL]");
  app.add_option("--batch-rows", opts.batch_rows, "Commit after this many rows")->capture_default_str();
  app.add_option_function<std::string>(
         "--batch-bytes", [&opts](const std::string& v) { opts.batch_bytes = parse_size_bytes(v, "--batch-bytes"); },
         "Commit after this much input")
      ->type_name("SIZE")
      ->default_str("32MiB");
  app.add_option_function<std::string>(
         "--flush-interval",
         [&opts](const std::string& v) { opts.flush_interval_ms = parse_duration_ms(v, "--flush-interval"); },
         "Commit a batch at most this long after its first record")
      ->type_name("DURATION")
      ->default_str("1s");
  app.add_option_function<std::string>(
         "--flush-idle", [&opts](const std::string& v) { opts.flush_idle_ms = parse_duration_ms(v, "--flush-idle"); },
         "Commit the open batch once input has been quiet this long (0: never)")
      ->type_name("DURATION")
      ->default_str("10ms");
  add_intake_options(app, opts.intake);
  add_reject_options(app, opts.rejects);
  app.add_option("--retries", opts.retries, "Reconnect attempts (with backoff) before giving up with exit 3")
      ->capture_default_str();
  return parser;
}

}  // namespace pipekit::pgload
