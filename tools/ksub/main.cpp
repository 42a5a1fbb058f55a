// ksub: consume Kafka topics to NDJSON on stdout.
#include "cli.hpp"

int main(int argc, char** argv) {
  using namespace pipekit;
  ksub::Options o;
  auto app = ksub::command_line(o);
  return run_tool(*app, argc, argv, o.common, [&](RunContext& ctx) {
    kafka::hide_secret_arguments(argc, argv);  // parsed by now: keep secrets out of ps
    return ksub::run(o, ctx);
  });
}
