// The bash completion of one tool: a function that offers the options (the
// subcommand's too, for pipekit), the values of an option that has a fixed set,
// files or folders where an option takes one, and input files as arguments.
// Plain bash (COMP_WORDS, compgen): no helper of the bash-completion package.
#include <fmt/format.h>

#include "model.hpp"

namespace completions {

namespace {

// "case" patterns: -t|--topic
std::string pattern(const std::vector<std::string>& names) { return join(names, "|"); }

// The case arms for the word after an option that takes a value.
std::string value_arms(const Tool& t) {
  std::vector<std::string> file, dir, text;
  std::string out;
  for (const auto& o : every_opt(t)) {
    switch (o.value) {
      case Value::none: break;
      case Value::file: file.insert(file.end(), o.names.begin(), o.names.end()); break;
      case Value::dir: dir.insert(dir.end(), o.names.begin(), o.names.end()); break;
      case Value::text: text.insert(text.end(), o.names.begin(), o.names.end()); break;
      case Value::choice:
        out += fmt::format("    {}) COMPREPLY=($(compgen -W '{}' -- \"$cur\")); return 0 ;;\n", pattern(o.names),
                           join(o.choices, " "));
        break;
    }
  }
  if (!file.empty())
    out += fmt::format("    {}) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")); return 0 ;;\n",
                       pattern(file));
  if (!dir.empty())
    out += fmt::format("    {}) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\")); return 0 ;;\n",
                       pattern(dir));
  if (!text.empty()) out += fmt::format("    {}) return 0 ;;  # a value: nothing to offer\n", pattern(text));
  return out;
}

// pipekit: which subcommand the line has so far (an option's value is skipped).
std::string find_subcommand(const Tool& t) {
  std::vector<std::string> valued = valued_names(t), subs = sub_names(t);
  return fmt::format(
      "  local i sub=\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    case ${{COMP_WORDS[i]}} in\n"
      "      {}) if [[ ${{COMP_WORDS[i+1]}} == = ]]; then ((i += 2)); else ((i++)); fi ;;\n"
      "      {}) sub=${{COMP_WORDS[i]}} ;;\n"
      "    esac\n"
      "  done\n",
      pattern(valued), pattern(subs));
}

std::string option_words(const Tool& t) {
  if (t.subs.empty()) return fmt::format("  local opts='{}'\n", join(names_of(t.opts), " "));
  std::string out = fmt::format("  local opts='{}'\n  case $sub in\n", join(names_of(t.opts), " "));
  for (const auto& s : t.subs)
    if (!s.opts.empty()) out += fmt::format("    {}) opts+=' {}' ;;\n", s.name, join(names_of(s.opts), " "));
  return out + "  esac\n";
}

std::string arguments(const Tool& t) {
  if (!t.subs.empty()) {
    std::vector<std::string> subs;
    for (const auto& s : t.subs) subs.push_back(s.name);
    return fmt::format("  [[ -n $sub ]] || COMPREPLY=($(compgen -W '{}' -- \"$cur\"))\n", join(subs, " "));
  }
  if (t.files) return "  compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\"))\n";
  return "";
}

}  // namespace

std::string bash_script(const Tool& t) {
  std::string fn = "_pipekit_complete_" + ident(t.name);
  std::string out = header("bash", t.name);
  out += fn + "() {\n";
  out += "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n";
  out += "  COMPREPLY=()\n";
  out += "  # --option=value: bash splits the line at '='\n";
  out += "  if [[ $cur == = ]]; then cur=\n";
  out += "  elif [[ $prev == = && $COMP_CWORD -ge 2 ]]; then prev=${COMP_WORDS[COMP_CWORD-2]}; fi\n";
  out += "  case $prev in\n" + value_arms(t) + "  esac\n";
  if (!t.subs.empty()) out += find_subcommand(t);
  out += "  if [[ $cur == -* ]]; then\n" + option_words(t);
  out += "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n    return 0\n  fi\n";
  out += arguments(t);
  out += "}\n";
  out += fmt::format("complete -F {} {}\n", fn, t.name);
  return out;
}

}  // namespace completions
