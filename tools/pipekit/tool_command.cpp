#include "tool_command.hpp"


#include "pipekit/cli.hpp"
#include "pipekit/errors.hpp"

namespace pipekit::orchestrator {

ToolCommand::ToolCommand(std::string tool, std::shared_ptr<void> options, std::unique_ptr<CLI::App> parser)
    : tool_(std::move(tool)), options_(std::move(options)), parser_(std::move(parser)) {
  one_value_per_occurrence(*parser_);  // as run_tool parses
}

void ToolCommand::check_defined(const std::string& name, bool takes_value) const {
  const CLI::Option* opt = parser_->get_option_no_throw(name);
  // A hidden option (group "") is a deprecated spelling: pipekit writes the current one.
  if (opt == nullptr || opt->get_group().empty())
    throw Error(ExitCode::internal,
                "pipekit builds its " + tool_ + " stage with " + name + ", which " + tool_ + " does not define");
  bool is_flag = opt->get_expected_max() == 0;
  if (is_flag == takes_value)
    throw Error(ExitCode::internal, "pipekit builds its " + tool_ + " stage with " + name +
                                        (takes_value ? " VALUE" : "") + ", but " + tool_ + "'s " + name +
                                        (is_flag ? " is a switch" : " takes a value"));
}

ToolCommand& ToolCommand::flag(const std::string& name) {
  check_defined(name, false);
  args_.push_back(name);
  return *this;
}

ToolCommand& ToolCommand::option(const std::string& name, const std::string& value) {
  check_defined(name, true);
  args_.insert(args_.end(), {name, value});
  return *this;
}

ToolCommand& ToolCommand::option_if(const std::string& name, const std::string& value) {
  if (!value.empty()) option(name, value);
  return *this;
}

ToolCommand& ToolCommand::positional(const std::string& value) {
  args_.push_back(value);
  return *this;
}

Argv ToolCommand::finish() const {
  std::vector<std::string> reversed(args_.rbegin(), args_.rend());  // CLI11 takes them last first
  try {
    parser_->clear();
    parser_->parse(reversed);
  } catch (const CLI::ParseError& e) {
    throw UsageError("the " + tool_ + " stage: " + e.what());
  } catch (const Error& e) {
    throw Error(e.code(), "the " + tool_ + " stage: " + e.what());
  }
  Argv argv{tool_};
  argv.insert(argv.end(), args_.begin(), args_.end());
  return argv;
}

}  // namespace pipekit::orchestrator
