// kmock's command line: every option with its type, default and help, defined
// once. main() parses with it; the shell completions are generated from it.
#include "cli.hpp"

namespace pipekit::kmock {

std::unique_ptr<CLI::App> command_line(Options& opts) {
  auto parser = std::make_unique<CLI::App>(
      "Run a local, in-memory Kafka-protocol cluster on loopback and print its bootstrap address.\n"
      "For tests and demos only: not durable (~5 MB kept per partition), not secure.",
      "kmock");
  CLI::App& app = *parser;
  add_common_options(app, opts.common);
  kafka::add_version_flag(app);
  auto* brokers = app.add_option("--broker-count", opts.broker_count, "Number of brokers")->capture_default_str();
  add_deprecated_alias(app, "-n", brokers, opts.broker_count);  // -n: no one meaning across the tools
  app.add_option("-t,--topic", opts.topics, "Create topic NAME[:PARTITIONS[:REPLICATION]] (repeatable)")
      ->type_name("SPEC");
  app.add_option("--commands", opts.commands,
                 "Read fault-injection commands from PATH (a FIFO or file; - for stdin)")
      ->type_name("PATH");
  app.add_flag("--exit-on-eof", opts.exit_on_eof, "Stop when stdin reaches end of file");
  app.add_option("--bootstrap-file", opts.bootstrap_file,
                 "Also write the bootstrap address to FILE (atomically)")
      ->type_name("FILE");
  return parser;
}

}  // namespace pipekit::kmock
