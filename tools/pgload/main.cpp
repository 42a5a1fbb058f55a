// pgload: NDJSON (or Kafka envelopes) from stdin into a PostgreSQL table.
#include "cli.hpp"

int main(int argc, char** argv) {
  using namespace pipekit;
  pgload::Options opts;
  auto app = pgload::command_line(opts);
  return run_tool(*app, argc, argv, opts.common, [&](RunContext& ctx) {
    pgload::hide_dsn_password(argc, argv);  // parsed by now: keep it out of ps
    return pgload::run(opts, ctx);
  });
}
