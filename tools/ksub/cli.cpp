// ksub's command line: every option with its type, default and help, defined
// once. main() parses with it; pipekit builds its ksub stage against it.
#include "cli.hpp"

namespace pipekit::ksub {

std::unique_ptr<CLI::App> command_line(Options& o) {
  auto parser = std::make_unique<CLI::App>("Read Kafka topics and write the records to stdout as NDJSON: bare values by default,\n"
               "envelopes (topic, partition, offset, timestamp, key, headers, value) with --envelope.", "ksub");
  CLI::App& app = *parser;
  add_common_options(app, o.common);
  kafka::add_options(app, o.kafka);
  app.add_option("-t,--topic", o.topics, "Topic to read (repeatable); with -G, ^REGEX subscribes by pattern")
      ->type_name("TOPIC")
      ->allow_extra_args(false);
  app.add_option("-p,--partition", o.partitions, "Read only partition N (repeatable; not with -G)")
      ->type_name("N")
      ->allow_extra_args(false);
  app.add_option("-o,--offset", o.offset,
                 "Start at beginning|end|stored|N|-N (N from the end)|@TIMESTAMP_MS; with -G: beginning|end "
                 "when the group has no committed offset")
      ->type_name("OFFSET");
  app.add_option("--since", o.since, "Start at the first record of the last DURATION (e.g. 10m; not with -G)")
      ->type_name("DURATION");
  app.add_option("-G,--group", o.group, "Consume as member NAME of a consumer group (committed offsets, rebalancing)")
      ->type_name("NAME");
  app.add_flag("-e,--exit-at-end", o.exit_at_end,
               "Exit once every assigned partition reached the end it had when assigned (works with -G)");
  app.add_option("-c,--count", o.count, "Exit after N records")->type_name("N")->check(CLI::PositiveNumber);
  app.add_option("--idle-timeout", o.idle_timeout, "Exit when no record came for DURATION (e.g. 30s)")
      ->type_name("DURATION");
  app.add_flag("--envelope", o.envelope,
               "Write envelopes: topic, partition, offset, timestamp, key, headers, value");
  auto* templ = app.add_option("--template", o.format,
                 "Write each record as FMT (kcat-like): %t topic, %p partition, %o offset, %k key, %K key "
                 "length, %s payload, %S payload length, %T timestamp, %h headers, %%; \\n \\t escapes. "
                 "No newline is added")
      ->type_name("FMT");
  // --format names a file format in fileload and pipekit; ksub's was a template.
  add_deprecated_alias(app, "--format", templ, o.format);
  app.add_option("--commit-acks", o.commit_acks,
                 "Commit only what downstream acknowledged on PATH (a FIFO, created if missing; needs -G and "
                 "--envelope)")
      ->type_name("PATH");
  app.add_option("--ack-timeout", o.ack_timeout,
                 "At the end, wait at most DURATION for the outstanding acks")
      ->type_name("DURATION")
      ->capture_default_str();
  app.add_option("--empty-exit", o.empty_exit, "Exit with CODE (e.g. 99) when no record was read")
      ->type_name("CODE")
      ->check(CLI::Range(1, 255));
  app.add_flag("--list", o.list, "List brokers, topics, partitions and leaders (-t: only these topics), then exit");
  app.add_flag("--offsets", o.offsets,
               "Print low and high watermarks per partition (with -G: committed offset and lag), then exit");
  app.add_flag("--json", o.json, "With --list or --offsets: JSON output");
  return parser;
}

}  // namespace pipekit::ksub
