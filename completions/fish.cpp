// The fish completion of one tool: one `complete` line per option (pipekit:
// its subcommands, and each subcommand's options once it is on the line).
#include <fmt/format.h>

#include "model.hpp"

namespace completions {

namespace {

// A fish word in single quotes (only \ and ' are special there).
std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string names(const Opt& o) {
  std::string out;
  for (const auto& n : o.names) {
    if (n.rfind("--", 0) == 0) out += " -l " + n.substr(2);
    else if (n.size() == 2) out += " -s " + n.substr(1);
    else out += " -o " + n.substr(1);  // an old-style long option (-name)
  }
  return out;
}

std::string value(const Opt& o) {
  switch (o.value) {
    case Value::none: return "";
    case Value::file: return " -r -F";
    case Value::dir: return " -x -a '(__fish_complete_directories)'";
    case Value::choice: return " -x -a " + quote(join(o.choices, " "));
    case Value::text: return " -x";
  }
  return "";
}

std::string lines(const std::string& tool, const std::string& condition, const std::vector<Opt>& opts) {
  std::string out;
  for (const auto& o : opts)
    out += fmt::format("complete -c {}{}{}{} -d {}\n", tool, condition, names(o), value(o), quote(o.help));
  return out;
}

// pipekit: __pipekit_subcommand prints the subcommand on the line so far
// (an option's value is skipped, so `pipekit -t load` has none).
std::string subcommand_function(const Tool& t) {
  std::vector<std::string> valued = valued_names(t), subs = sub_names(t);
  return fmt::format(
      "function __pipekit_subcommand\n"
      "    set -l words (commandline -opc)\n"
      "    set -l skip 1\n"
      "    for w in $words\n"
      "        if test $skip = 1\n"
      "            set skip 0\n"
      "            continue\n"
      "        end\n"
      "        switch $w\n"
      "            case {}\n"
      "                set skip 1\n"
      "            case {}\n"
      "                echo $w\n"
      "                return 0\n"
      "        end\n"
      "    end\n"
      "    return 1\n"
      "end\n",
      join(valued, " "), join(subs, " "));
}

}  // namespace

std::string fish_script(const Tool& t) {
  std::string out = header("fish", t.name);
  // Files only where the tool takes them as arguments.
  if (!t.files) out += fmt::format("complete -c {} -f\n", t.name);
  out += lines(t.name, "", t.opts);
  if (t.subs.empty()) return out;
  out += subcommand_function(t);
  for (const auto& s : t.subs)
    out += fmt::format("complete -c {} -n 'not __pipekit_subcommand' -a {} -d {}\n", t.name, s.name, quote(s.help));
  for (const auto& s : t.subs)
    if (!s.opts.empty()) out += lines(t.name, " -n " + quote("test \"$(__pipekit_subcommand)\" = " + s.name), s.opts);
  return out;
}

}  // namespace completions
