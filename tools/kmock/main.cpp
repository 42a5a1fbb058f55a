// kmock: a local Kafka-protocol cluster (librdkafka's mock) for tests and demos.
#include "cli.hpp"

int main(int argc, char** argv) {
  using namespace pipekit;
  kmock::Options opts;
  auto app = kmock::command_line(opts);
  return run_tool(*app, argc, argv, opts.common,
                  [&](RunContext& ctx) { return kmock::run(opts, ctx); });
}
