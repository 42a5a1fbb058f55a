// Shell completions for bash, zsh and fish, generated at build time from the
// tools' own option definitions: each tool's command_line() (TOOL/cli.cpp)
// and pipekit's option_table() (tools/pipekit/settings.cpp). Nothing here
// lists an option by hand, so a completion cannot drift from --help
// (tests/cli/completions.bats checks both ways).
//
//   gen-completions OUTDIR   writes OUTDIR/bash/NAME, OUTDIR/zsh/_NAME and
//                        OUTDIR/fish/NAME.fish for every tool
//
// Hidden options (CLI11 group "", the deprecated aliases) and pipekit's
// hidden rows are not completed.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "model.hpp"

namespace {

namespace fs = std::filesystem;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: gen-completions OUTDIR\n";
    return 2;
  }
  try {
    fs::path dir = argv[1];
    for (const auto& t : completions::all_tools()) {
      write(dir / "bash" / t.name, completions::bash_script(t));
      write(dir / "zsh" / ("_" + t.name), completions::zsh_script(t));
      write(dir / "fish" / (t.name + ".fish"), completions::fish_script(t));
    }
  } catch (const std::exception& e) {
    std::cerr << "gen-completions: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
