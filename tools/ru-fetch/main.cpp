// ru-fetch: randomuser.me API -> NDJSON users on stdout.
#include "cli.hpp"

int main(int argc, char** argv) {
  using namespace pipekit;
  rufetch::Options o;
  auto app = rufetch::command_line(o);
  return run_tool(*app, argc, argv, o.common, [&](RunContext& ctx) { return rufetch::run(o, ctx); });
}
