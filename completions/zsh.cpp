// The zsh completion of one tool: an autoloaded function (#compdef) that
// hands _arguments one spec per option name, with its help, its value's
// name and what to offer for it (files, folders, a fixed set).
#include <fmt/format.h>

#include "model.hpp"

namespace completions {

namespace {

// Text inside '...' and inside an _arguments [description] or :message:.
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else if (c == '[' || c == ']' || c == ':' || c == '\\') out += std::string("\\") + c;
    else out += c;
  }
  return out;
}

std::string action(const Opt& o) {
  switch (o.value) {
    case Value::file: return "_files";
    case Value::dir: return "_files -/";
    case Value::choice: return "(" + join(o.choices, " ") + ")";
    default: return " ";
  }
}

// One spec per name ('*-t[...]:TOPIC: ' '*--topic[...]:TOPIC: '): every
// option may be given again (-v -v, -H a -H b), as the tools accept.
std::string specs(const std::vector<Opt>& opts) {
  std::string out;
  for (const auto& o : opts) {
    std::string rest = "[" + escape(o.help) + "]";
    if (o.value != Value::none) rest += ":" + escape(o.metavar) + ":" + escape(action(o));
    for (const auto& n : o.names) out += fmt::format("  '*{}{}'\n", n, rest);
  }
  return out;
}

std::string subcommand_spec(const Tool& t) {
  std::string out = "'1:subcommand:((";
  for (const auto& s : t.subs) out += fmt::format(" {}\\:{}", s.name, escape("\"" + s.help + "\""));
  return out + "))'";
}

// pipekit: the subcommand on the line so far (an option's value is skipped).
std::string find_subcommand(const Tool& t) {
  std::vector<std::string> valued = valued_names(t), subs = sub_names(t);
  return fmt::format(
      "local i sub=\n"
      "for ((i = 2; i < CURRENT; i++)); do\n"
      "  case ${{words[i]}} in\n"
      "    ({}) ((i++)) ;;\n"
      "    ({}) sub=${{words[i]}} ;;\n"
      "  esac\n"
      "done\n",
      join(valued, "|"), join(subs, "|"));
}

}  // namespace

std::string zsh_script(const Tool& t) {
  std::string out = "#compdef " + t.name + "\n" + header("zsh", t.name);
  out += "local -a opts\nopts=(\n" + specs(t.opts) + ")\n";
  if (t.subs.empty()) {
    std::string args = t.files ? " '*:file:_files'" : "";
    return out + "_arguments -s -S : $opts" + args + "\n";
  }
  out += find_subcommand(t);
  out += "case $sub in\n";
  for (const auto& s : t.subs) {
    if (s.opts.empty()) continue;
    out += fmt::format("  ({}) opts+=(\n{}  ) ;;\n", s.name, specs(s.opts));
  }
  out += "esac\n";
  return out + "_arguments -s -S : $opts " + subcommand_spec(t) + "\n";
}

}  // namespace completions
