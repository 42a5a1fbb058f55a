// fileload: NDJSON records into NDJSON, CSV or Parquet files under a folder.
#include "cli.hpp"

int main(int argc, char** argv) {
  using namespace pipekit;
  fileload::Options o;
  auto app = fileload::command_line(o);
  return run_tool(*app, argc, argv, o.common, [&](RunContext& ctx) { return fileload::run(o, ctx); });
}
