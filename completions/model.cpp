// Each tool's options, walked from its own definitions: the CLI::App that
// TOOL/cli.cpp's command_line() builds, and pipekit's option_table().
#include "model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "cqlload/cli.hpp"
#include "fileload/cli.hpp"
#include "jvalidate/cli.hpp"
#include "kmock/cli.hpp"
#include "kpub/cli.hpp"
#include "ksub/cli.hpp"
#include "pgload/cli.hpp"
#include "pipekit/settings.hpp"
#include "ru-fetch/cli.hpp"

namespace completions {

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// A value's kind from its metavar ("FILE", "DIR", "a|b|c"), the sets of its
// validators (CLI::IsMember: "{a,b}") and its help.
void classify(Opt& o, const std::string& metavar, const std::vector<std::string>& sets, const std::string& help) {
  o.metavar = metavar.empty() ? "VALUE" : metavar;
  o.value = Value::text;
  for (const auto& set : sets)  // "{a,b}"; a map "{a->x,b->y}" takes a or b
    for (const auto& c : split(set.substr(1, set.size() - 2), ',')) o.choices.push_back(c.substr(0, c.find("->")));
  if (o.choices.empty() && metavar.find('|') != std::string::npos) o.choices = split(metavar, '|');
  std::string lower = help;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!o.choices.empty()) o.value = Value::choice;
  else if (metavar.rfind("FILE", 0) == 0) o.value = Value::file;
  else if (metavar == "DIR") o.value = Value::dir;
  // PATH is a file (a FIFO, a commands file) or a field of a record (kpub -k): the help says which.
  else if (metavar == "PATH" && (lower.find("fifo") != std::string::npos || lower.find("file") != std::string::npos))
    o.value = Value::file;
}

// CLI11 shows an option's value as its type name, then ":" and each
// validator's description: the metavar is what comes before those.
void classify_cli(Opt& o, CLI::Option& opt) {
  std::string metavar = opt.get_type_name();
  std::vector<std::string> sets;
  for (int i = 0;; ++i) {
    const CLI::Validator* v = nullptr;
    try {
      v = opt.get_validator(i);
    } catch (const CLI::OptionNotFound&) {
      break;
    }
    std::string desc = v->get_description();
    if (desc.empty()) continue;
    std::string suffix = ":" + desc;
    if (size_t at = metavar.rfind(suffix); at != std::string::npos) metavar.erase(at, suffix.size());
    if (desc.front() == '{' && desc.back() == '}') sets.push_back(desc);
  }
  classify(o, metavar, sets, o.help);
}

Tool from_cli(const std::string& name, CLI::App& app) {
  Tool t{name, {}, false, {}};
  for (CLI::Option* opt : app.get_options()) {
    if (opt->get_group().empty()) continue;  // hidden: a deprecated alias
    if (!opt->nonpositional()) {
      t.files = true;  // FILE / FILE...: input files
      continue;
    }
    Opt o;
    for (const auto& s : opt->get_snames()) o.names.push_back("-" + s);
    for (const auto& l : opt->get_lnames()) o.names.push_back("--" + l);
    o.help = first_line(opt->get_description());
    if (opt->get_expected_max() > 0) classify_cli(o, *opt);  // a flag expects no value
    t.opts.push_back(std::move(o));
  }
  return t;
}

template <typename Options, typename Make>
Tool from_tool(const std::string& name, Make make) {
  Options opts;
  auto app = make(opts);
  return from_cli(name, *app);
}

// pipekit: the general rows are its own options, each section's rows a subcommand's.
Tool pipekit_tool() {
  using pipekit::orchestrator::Kind;
  using pipekit::orchestrator::Section;
  Tool t{"pipekit", {}, false, {}};
  struct Named {
    const char* name;
    const char* help;
    std::vector<Section> sections;
  };
  const std::vector<Named> subs = {
      {"ingest", "ru-fetch | jvalidate | kpub (API -> Kafka)", {Section::ingest}},
      {"load", "ksub -G | jvalidate | pgload, cqlload or fileload (Kafka -> database)", {Section::load}},
      {"run", "ingest and load together", {Section::ingest, Section::load}},
      {"status", "offsets, lag and rows", {Section::status}},
      {"demo", "the whole pipeline on this machine, then clean up", {Section::demo}},
  };
  auto rows_of = [](Section section) {
    std::vector<Opt> out;
    for (const auto& row : pipekit::orchestrator::option_table()) {
      if (row.section != section) continue;
      Opt on;
      on.names = split(row.names, ',');
      on.help = row.help;
      if (row.kind == Kind::setting || row.kind == Kind::option) classify(on, row.metavar, {}, row.help);
      if (!on.names.empty()) out.push_back(on);
      if (*row.off_names) out.push_back(Opt{split(row.off_names, ','), Value::none, "", {}, row.help + std::string(" (off)")});
    }
    return out;
  };
  t.opts = rows_of(Section::general);
  for (const auto& s : subs) {
    Sub sub{s.name, s.help, {}};
    for (Section section : s.sections)
      for (auto& o : rows_of(section)) sub.opts.push_back(o);
    t.subs.push_back(std::move(sub));
  }
  return t;
}

}  // namespace

std::vector<Tool> all_tools() {
  using namespace pipekit;
  return {
      from_tool<rufetch::Options>("ru-fetch", rufetch::command_line),
      from_tool<kpub::Options>("kpub", kpub::command_line),
      from_tool<ksub::Options>("ksub", ksub::command_line),
      from_tool<jvalidate::Options>("jvalidate", jvalidate::command_line),
      from_tool<pgload::Options>("pgload", pgload::command_line),
      from_tool<cqlload::Options>("cqlload", cqlload::command_line),
      from_tool<fileload::Options>("fileload", fileload::command_line),
      from_tool<kmock::Options>("kmock", kmock::command_line),
      pipekit_tool(),
  };
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::vector<std::string> names_of(const std::vector<Opt>& opts) {
  std::vector<std::string> out;
  for (const auto& o : opts)
    for (const auto& n : o.names) out.push_back(n);
  return out;
}

// Every option of the tool and of its subcommands, each once.
std::vector<Opt> every_opt(const Tool& t) {
  std::vector<Opt> all = t.opts;
  std::vector<std::string> seen = names_of(t.opts);
  for (const auto& s : t.subs)
    for (const auto& o : s.opts) {
      if (std::find(seen.begin(), seen.end(), o.names.front()) != seen.end()) continue;
      seen.insert(seen.end(), o.names.begin(), o.names.end());
      all.push_back(o);
    }
  return all;
}

std::vector<std::string> valued_names(const Tool& t) {
  std::vector<std::string> out;
  for (const auto& o : every_opt(t))
    if (o.value != Value::none) out.insert(out.end(), o.names.begin(), o.names.end());
  return out;
}

std::vector<std::string> sub_names(const Tool& t) {
  std::vector<std::string> out;
  for (const auto& s : t.subs) out.push_back(s.name);
  return out;
}

std::string ident(const std::string& name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

std::string header(const std::string& shell, const std::string& tool) {
  return fmt::format("# {} completion for {}: generated at build time from its option definitions\n"
                     "# (completions/generate.cpp in pipekit's sources); do not edit.\n",
                     shell, tool);
}

}  // namespace completions
