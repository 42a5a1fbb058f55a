// kpub: NDJSON on stdin -> a Kafka topic, one message per line.
#include "cli.hpp"

int main(int argc, char** argv) {
  using namespace pipekit;
  kpub::Options opts;
  auto app = kpub::command_line(opts);
  return run_tool(*app, argc, argv, opts.common, [&](RunContext& ctx) {
    kafka::hide_secret_arguments(argc, argv);  // parsed by now: keep secrets out of ps
    return kpub::run(opts, ctx);
  });
}
