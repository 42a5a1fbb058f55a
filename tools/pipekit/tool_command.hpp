#pragma once
// A stage's command line, built against the tool's own parser (the
// command_line() each tool defines in its cli.cpp): naming an option the tool
// does not define is an error when the stage is built, and finish() runs the
// whole command line through the tool's parser, so a value the tool would
// refuse (a bad duration in a setting) stops pipekit before any stage starts,
// with --dry-run too.
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace pipekit::orchestrator {

using Argv = std::vector<std::string>;

class ToolCommand {
 public:
  // ToolCommand::of<kpub::Options>("kpub", kpub::command_line)
  template <class Options, class Define>
  static ToolCommand of(std::string tool, Define define) {
    auto options = std::make_shared<Options>();
    std::unique_ptr<CLI::App> parser = define(*options);
    return ToolCommand(std::move(tool), std::move(options), std::move(parser));
  }

  ToolCommand& flag(const std::string& name);                              // --envelope
  ToolCommand& option(const std::string& name, const std::string& value);  // --topic users
  ToolCommand& option_if(const std::string& name, const std::string& value);  // skipped when value is empty
  ToolCommand& positional(const std::string& value);

  // The argv (tool name first), once the tool's parser has accepted it.
  // Throws UsageError naming the tool and what it refused.
  Argv finish() const;

 private:
  ToolCommand(std::string tool, std::shared_ptr<void> options, std::unique_ptr<CLI::App> parser);
  // The option NAME as the tool defines it; `takes_value` says how it is used.
  void check_defined(const std::string& name, bool takes_value) const;

  std::string tool_;
  std::shared_ptr<void> options_;  // what the parser fills; outlives it
  std::shared_ptr<CLI::App> parser_;
  Argv args_;
};

}  // namespace pipekit::orchestrator
