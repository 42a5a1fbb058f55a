#pragma once
// What the completion scripts are made from: each tool's options as its own
// definitions give them (model.cpp), and one writer per shell (bash.cpp,
// zsh.cpp, fish.cpp).
#include <string>
#include <vector>

namespace completions {

// What the shell offers after an option.
enum class Value { none, text, file, dir, choice };

struct Opt {
  std::vector<std::string> names;  // "-t", "--topic"
  Value value = Value::none;
  std::string metavar;               // "TOPIC"
  std::vector<std::string> choices;  // Value::choice
  std::string help;                  // the first line of the option's help
};

struct Sub {
  std::string name, help;
  std::vector<Opt> opts;  // besides the tool's own
};

struct Tool {
  std::string name;
  std::vector<Opt> opts;
  bool files = false;     // takes input files as arguments
  std::vector<Sub> subs;  // pipekit's subcommands
};

// Every tool, from its command_line() (pipekit: from option_table()).
std::vector<Tool> all_tools();

std::string bash_script(const Tool& t);
std::string zsh_script(const Tool& t);
std::string fish_script(const Tool& t);

// Helpers the writers share.
std::string join(const std::vector<std::string>& v, const std::string& sep);
std::vector<std::string> names_of(const std::vector<Opt>& opts);
std::vector<Opt> every_opt(const Tool& t);  // the tool's and its subcommands'
// pipekit: the names of every option that takes a value (skipped, with its
// value, when looking for the subcommand on the line), and the subcommands.
std::vector<std::string> valued_names(const Tool& t);
std::vector<std::string> sub_names(const Tool& t);
std::string ident(const std::string& name);  // ru-fetch -> ru_fetch
std::string header(const std::string& shell, const std::string& tool);

}  // namespace completions
