// docgen: renders facts that live in code into the documentation, so that
// there is one source for each. Build-time only, never installed.
//   docgen exit-status roff       the man pages' EXIT STATUS section
//   docgen exit-status markdown   the README's table (checked by a test)
#include <cstdio>
#include <string>

#include "pipekit/errors.hpp"

namespace {

std::string roff_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '-' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string markdown_code(const std::string& text) {
  // "(--max-rejects)" -> "(`--max-rejects`)": options read as code.
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 2, "--") == 0) {
      size_t end = text.find_first_of(")", i);
      if (end == std::string::npos) end = text.size();
      out += "`" + text.substr(i, end - i) + "`";
      i = end;
    } else {
      out += text[i++];
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string what = argc > 2 ? std::string(argv[1]) + " " + argv[2] : "";
  const auto& table = pipekit::exit_status_table();
  if (what == "exit-status roff") {
    std::printf(".SH EXIT STATUS\n");
    for (const auto& row : table) std::printf(".TP\n.B %d\n%s\n", row.code, roff_escape(row.meaning).c_str());
    std::printf(
        ".PP\nA reader closing the output pipe (\\fBtool | head \\-3\\fR) is a normal, quiet\n"
        "stop. The first SIGINT or SIGTERM stops reading and finishes what is in\n"
        "flight; a second one exits at once.\n");
  } else if (what == "exit-status markdown") {
    std::printf("| code | meaning |\n| --- | --- |\n");
    for (const auto& row : table) std::printf("| %d | %s |\n", row.code, markdown_code(row.meaning).c_str());
  } else {
    std::fprintf(stderr, "usage: docgen exit-status roff|markdown\n");
    return 2;
  }
  return 0;
}
