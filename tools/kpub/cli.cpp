// kpub's command line: every option with its type, default and help, defined
// once. main() parses with it; pipekit builds its kpub stage against it.
#include "cli.hpp"

namespace pipekit::kpub {

std::unique_ptr<CLI::App> command_line(Options& opts) {
  auto parser = std::make_unique<CLI::App>("Publish NDJSON from stdin (or FILE) to a Kafka topic, one message per line.\n"
               "Each line must be valid JSON; bad lines are rejected with their line number.", "kpub");
  CLI::App& app = *parser;
  add_common_options(app, opts.common);
  app.add_option("-t,--topic", opts.topic, "Topic to publish to (required)")->type_name("TOPIC");
  kafka::add_options(app, opts.kafka);
  auto* key = app.add_option_function<std::string>(
                      "-k,--key", [&opts](const std::string& p) { opts.key_path = p; },
                             "Message key from this field of the record: a dotted path (login.uuid) or a "
                             "JSON pointer (/login/uuid); a record without it is rejected")
                  ->type_name("PATH");
  app.add_option_function<std::string>("--key-fixed", [&opts](const std::string& k) { opts.key_fixed = k; },
                                       "The same key for every message")
      ->type_name("STRING")
      ->excludes(key);
  app.add_option("-H,--header", opts.headers, "Add a header to every message (repeatable)")
      ->type_name("NAME=VALUE")
      ->take_all();
  auto* partition = app.add_option("-p,--partition", opts.partition, "Publish to this partition (default: by key, or spread)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-z,--compression", opts.compression, "Compression codec (default: lz4)")
      ->type_name("CODEC")
      ->check(CLI::IsMember({"none", "gzip", "snappy", "lz4", "zstd"}));
  // --envelope reads ksub --envelope, kcat -J and kpub --failed lines: each
  // value is published with its key and headers.
  add_intake_options(app, opts.intake, IntakeFlags{.envelope = true, .ack = false});
  auto* env = app.get_option("--envelope");
  app.add_flag("--keep-topic", opts.keep_topic, "With --envelope: publish to the envelope's topic, not -t")
      ->needs(env);
  app.add_flag("--keep-partition", opts.keep_partition, "With --envelope: publish to the envelope's partition")
      ->needs(env)
      ->excludes(partition);
  app.add_flag("--keep-timestamp", opts.keep_timestamp, "With --envelope: keep the envelope's timestamp")
      ->needs(env);
  add_reject_options(app, opts.rejects);
  app.add_option("--failed", opts.failed_path,
                 "Write messages that finally failed delivery, with the error, to FILE as envelopes "
                 "(feed back with kpub --envelope)")
      ->type_name("FILE");
  app.add_option("FILE", opts.input, "Read NDJSON from FILE instead of stdin (- for stdin)")->type_name("");
  return parser;
}

}  // namespace pipekit::kpub
