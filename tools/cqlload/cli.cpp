// cqlload's command line: every option with its type, default and help, defined
// once. main() parses with it; pipekit builds its cqlload stage against it.
#include "cli.hpp"

#include <cstdint>

namespace pipekit::cqlload {

std::unique_ptr<CLI::App> command_line(Options& o) {
  auto parser = std::make_unique<CLI::App>("Load NDJSON records into a Cassandra (or ScyllaDB) table over CQL native protocol v4:\n"
               "prepared INSERTs, many requests in flight, unlogged batches per partition key,\n"
               "retries with backoff, rejects with the server's reason, acknowledgements.", "cqlload");
  CLI::App& app = *parser;
  add_common_options(app, o.common);
  app.add_option("inputs", o.inputs, "NDJSON input files (default: stdin)")->type_name("FILE...");
  auto* conn = "Connection";
  app.add_option("--hosts", o.hosts, "Contact points h1,h2[:port] (env CQL_HOSTS)")->group(conn)->type_name("HOSTS");
  app.add_option("--port", o.port, "Native protocol port")->capture_default_str()->group(conn);
  app.add_option("--user", o.user, "User for PasswordAuthenticator (SASL PLAIN)")->group(conn)->type_name("NAME");
  app.add_option("--password-file", o.password_file,
                 "Read the password from the first line of FILE (else env CQL_PASSWORD)")
      ->group(conn)->type_name("FILE");
  app.add_flag("--tls", o.tls, "Connect with TLS, verifying the server's certificate")->group(conn);
  app.add_option("--ca-file", o.ca_file, "Trust the CA certificates in FILE (PEM; implies --tls)")
      ->group(conn)->type_name("FILE");
  app.add_option("--cert-file", o.cert_file, "Client certificate (PEM) for mutual TLS (with --key-file; implies --tls)")
      ->group(conn)->type_name("FILE");
  app.add_option("--key-file", o.key_file, "The client certificate's private key (unencrypted PEM)")
      ->group(conn)->type_name("FILE");
  app.add_flag("--no-verify-hostname", o.no_verify_hostname,
               "With TLS: trust a certificate from the CA even if it names another host")
      ->group(conn);
  app.add_option_function<std::string>(
         "--connect-timeout",
         [&o](const std::string& t) { o.connect_timeout_ms = parse_duration_ms(t, "--connect-timeout", INT32_MAX); },
         "Time allowed to connect and authenticate")
      ->default_str("5s")->group(conn)->type_name("DURATION");
  app.add_option_function<std::string>(
         "--request-timeout",
         [&o](const std::string& t) { o.request_timeout_ms = parse_duration_ms(t, "--request-timeout", INT32_MAX); },
         "Time allowed for one request before it is retried")
      ->default_str("12s")->group(conn)->type_name("DURATION");
  auto* tgt = "Target";
  app.add_option("--keyspace", o.keyspace, "Keyspace")->group(tgt)->type_name("NAME");
  auto* table = app.add_option("--table", o.table, "Table (or keyspace.table)")->group(tgt)->type_name("NAME");
  add_deprecated_alias(app, "-t", table, o.table);  // -t is a topic in every tool
  app.add_option("--map", o.maps,
                 "Fill COLUMN from PATH (a.b or /a/b, or @topic @partition @offset @key @timestamp with "
                 "--envelope); repeatable. Default: same-named top-level fields")
      ->group(tgt)->type_name("COLUMN=PATH")->allow_extra_args(false);
  app.add_flag("--create", o.create, "Create the keyspace and table if missing (needs --primary-key)")->group(tgt);
  app.add_option("--schema", o.schema_file, "With --create: column types from this JSON Schema")
      ->group(tgt)->type_name("FILE");
  app.add_option("--primary-key", o.primary_key, "With --create: PRIMARY KEY, e.g. id or \"(nat, id), ts\"")
      ->group(tgt)->type_name("KEY");
  app.add_option("--replication", o.replication,
                 "With --create: DC:N[,DC:N] (NetworkTopologyStrategy), simple:N (SimpleStrategy) or a CQL map. "
                 "Default: the local datacenter with min(3, its nodes)")
      ->group(tgt)->type_name("SPEC");
  app.add_option("--infer-records", o.infer_records,
                 "With --create and no --schema: learn the columns from up to N first records")
      ->capture_default_str()->group(tgt);
  auto* wr = "Writes";
  app.add_option("--consistency", o.consistency, "Consistency level of the writes")
      ->capture_default_str()->group(wr)->type_name("LEVEL");
  app.add_option("--ttl", o.ttl, "Rows expire after SECONDS (0: never)")->capture_default_str()->group(wr)
      ->type_name("SECONDS");
  app.add_option("--concurrency", o.concurrency, "Requests in flight at once")->capture_default_str()->group(wr);
  auto* batch_rows = app.add_option("--batch-rows", o.batch_size,
                                    "Up to N records per unlogged BATCH, grouped as --group-by says (1: no batches)")
                         ->capture_default_str()->group(wr);
  add_deprecated_alias(app, "--batch-size", batch_rows, o.batch_size);  // pgload's word is --batch-rows
  app.add_option("--group-by", o.group_by,
                 "What the records of one batch share: replica (the node owning their partitions) or partition")
      ->capture_default_str()->group(wr)->type_name("replica|partition");
  app.add_option("--routing", o.routing, "token (to the node owning the partition) or round-robin")
      ->capture_default_str()->group(wr)->type_name("POLICY");
  app.add_option("--retries", o.retries, "Retries of a failing request (backoff) before exit 3")
      ->capture_default_str()->group(wr);
  add_intake_options(app, o.intake);
  add_reject_options(app, o.rejects);
  return parser;
}

}  // namespace pipekit::cqlload
