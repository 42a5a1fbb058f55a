// cqlload: NDJSON records into a Cassandra table (CQL native protocol v4).
#include "cli.hpp"

int main(int argc, char** argv) {
  using namespace pipekit;
  cqlload::Options o;
  auto app = cqlload::command_line(o);
  return run_tool(*app, argc, argv, o.common, [&](RunContext& ctx) { return cqlload::run(o, ctx); });
}
