#pragma once
// Logging to stderr only (stdout carries data). Text: "tool: level: message".
// JSON: one object per line with ts, level, tool, msg. Never log secrets.
#include <fmt/format.h>
#include <string>
#include <string_view>

namespace pipekit::log {

// The default is info; -v adds debug (configuration, connections, batches,
// retries), -vv adds trace (every reject and acknowledgement as it happens).
enum class Level { error = 0, warn = 1, info = 2, debug = 3, trace = 4 };
enum class Format { text, json };

void configure(std::string_view tool, Level level, Format format);
std::string_view tool_name();
bool enabled(Level level);
void write(Level level, std::string_view message);
// Clears a progress line (if one is showing) so a log line starts clean.
void set_progress_clearer(void (*clear)());

template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::error)) write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::warn)) write(Level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::info)) write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::debug)) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
void trace(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::trace)) write(Level::trace, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace pipekit::log
