#pragma once
// The command line of each stage, from the settings. Adding a sink is one
// row of sink_table() (stages.cpp) and its builder.
#include <string>
#include <vector>

#include "settings.hpp"

namespace pipekit::orchestrator {

using Argv = std::vector<std::string>;

// What every builder needs: the settings, the run's switches and where
// the stages write their --stats files.
struct StageContext {
  const Settings& s;
  const CommandLine& cl;
  std::string run_dir;
  bool once() const { return cl.has("once"); }
};

struct Sink {
  const char* name;  // --sink NAME
  const char* tool;  // the stage's name and program
  Argv (*build)(const StageContext& c, const std::string& ack_fifo);
};
const std::vector<Sink>& sink_table();
const Sink& sink_of(const Settings& s);  // the --sink in force (validated before)
std::string sink_names();                // "postgres or cassandra"

Argv fetch_command(const StageContext& c);            // ru-fetch
Argv ingest_validate_command(const StageContext& c);  // jvalidate
Argv publish_command(const StageContext& c);          // kpub
Argv consume_command(const StageContext& c, const std::string& ack_fifo);        // ksub
Argv load_validate_command(const StageContext& c, const std::string& ack_fifo);  // jvalidate
Argv status_offsets_command(const Settings& s);      // ksub --offsets --json

// Shell quoting, for --dry-run: a line a shell reads back as the same argv.
std::string shell_quote(const std::string& word);
std::string shell_line(const Argv& argv);  // each word quoted, then a space

}  // namespace pipekit::orchestrator
