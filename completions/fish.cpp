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

}  // namespace

std::string fish_script(const Tool& t) {
  std::string out = header("fish", t.name);
  // Files only where the tool takes them as arguments.
  if (!t.files) out += fmt::format("complete -c {} -f\n", t.name);
  out += lines(t.name, "", t.opts);
  for (const auto& s : t.subs)
    out += fmt::format("complete -c {} -n __fish_use_subcommand -a {} -d {}\n", t.name, s.name, quote(s.help));
  for (const auto& s : t.subs) {
    if (s.opts.empty()) continue;
    out += lines(t.name, " -n " + quote("__fish_seen_subcommand_from " + s.name), s.opts);
  }
  return out;
}

}  // namespace completions
