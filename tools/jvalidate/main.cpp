// jvalidate: a streaming JSON Schema filter for NDJSON.
#include "cli.hpp"

int main(int argc, char** argv) {
  using namespace pipekit;
  jvalidate::Options opts;
  auto app = jvalidate::command_line(opts);
  return run_tool(*app, argc, argv, opts.common, [&](RunContext& ctx) { return jvalidate::run(opts, ctx); });
}
