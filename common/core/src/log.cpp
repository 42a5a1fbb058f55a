#include "pipekit/log.hpp"

#include <unistd.h>

#include <chrono>
#include <mutex>
#include <string>

#include "pipekit/json.hpp"

namespace pipekit::log {
namespace {
std::string g_tool = "pipekit";
Level g_level = Level::info;
Format g_format = Format::text;
std::mutex g_mutex;
void (*g_clear_progress)() = nullptr;

const char* level_name(Level l) {
  switch (l) {
    case Level::error: return "error";
    case Level::warn: return "warning";
    case Level::info: return "info";
    case Level::debug: return "debug";
    case Level::trace: return "trace";
  }
  return "info";
}
}  // namespace

void configure(std::string_view tool, Level level, Format format) {
  g_tool = tool;
  g_level = level;
  g_format = format;
}

std::string_view tool_name() { return g_tool; }
bool enabled(Level level) { return static_cast<int>(level) <= static_cast<int>(g_level); }
void set_progress_clearer(void (*clear)()) { g_clear_progress = clear; }

void write(Level level, std::string_view message) {
  std::string line;
  if (g_format == Format::json) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
    line = fmt::format("{{\"ts\":{},\"level\":\"{}\",\"tool\":", now, level_name(level));
    json::append_string(line, g_tool);
    line += ",\"msg\":";
    json::append_string(line, message);
    line += "}\n";
  } else if (level == Level::info) {
    line = fmt::format("{}: {}\n", g_tool, message);
  } else {
    line = fmt::format("{}: {}: {}\n", g_tool, level_name(level), message);
  }
  std::lock_guard lock(g_mutex);
  if (g_clear_progress) g_clear_progress();
  // One write(2) per line so lines from concurrent stages do not interleave.
  ssize_t rc = ::write(STDERR_FILENO, line.data(), line.size());
  (void)rc;
}

}  // namespace pipekit::log
