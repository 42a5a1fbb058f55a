#pragma once
// Newline-delimited JSON on file descriptors: a bounded line reader and a
// buffered writer. The reader never allocates more than max_line_bytes plus
// one read block; a longer line is reported (too_long) and skipped.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pipekit {

inline constexpr size_t kDefaultMaxLineBytes = 16u << 20;
// Every Line::text is followed by at least this many readable bytes, so that
// simdjson can parse it in place (its SIMDJSON_PADDING).
inline constexpr size_t kLinePadding = 64;

struct Line {
  std::string_view text;   // without the trailing \n or \r\n
  uint64_t number = 0;     // 1-based line number in the input, blank lines included
  uint64_t offset = 0;     // byte offset of the line's start in the input
  bool too_long = false;   // text is empty; length says how long it was (at least)
  size_t length = 0;       // the line's length in bytes
};

enum class ReadStatus { line, eof, timeout, stopped };

class LineReader {
 public:
  explicit LineReader(int fd, size_t max_line_bytes = kDefaultMaxLineBytes);
  // Next non-blank line. timeout_ms < 0 waits forever; a stop request (signal)
  // returns `stopped`. The returned text stays valid until the next call.
  ReadStatus next(Line& line, int timeout_ms = -1);
  // Convenience: true with a line, false at EOF or stop.
  bool next_line(Line& line) { return next(line) == ReadStatus::line; }
  uint64_t bytes_read() const { return bytes_read_; }
  // Throws IoError on a read error other than EINTR.
 private:
  bool fill(int timeout_ms, ReadStatus& status);
  int fd_;
  size_t max_line_;
  std::vector<char> buf_;
  size_t begin_ = 0, end_ = 0;   // unconsumed bytes are buf_[begin_, end_)
  size_t scan_ = 0;              // bytes of the current line already scanned for \n
  bool eof_ = false;
  bool skipping_ = false;        // inside an over-long line
  size_t skipped_ = 0;
  uint64_t line_no_ = 0;
  uint64_t bytes_read_ = 0;
  uint64_t consumed_ = 0;        // input offset of buf_[begin_]
};

// Open a path for reading ("-" is stdin); returns the fd. Throws IoError.
int open_input(const std::string& path);

class OutputWriter {
 public:
  explicit OutputWriter(int fd, size_t buffer_bytes = 1u << 16);
  ~OutputWriter();  // flushes, swallowing errors; call flush() to see them
  OutputWriter(const OutputWriter&) = delete;
  OutputWriter& operator=(const OutputWriter&) = delete;
  // Opens (creates/truncates, or appends) a file for writing; "-" is stdout.
  static OutputWriter open(const std::string& path, bool append = false);
  OutputWriter(OutputWriter&& other) noexcept;

  void write(std::string_view bytes);
  void write_line(std::string_view line) { write(line); put('\n'); }
  void put(char c) {
    if (used_ == buf_.size()) flush_buffer();
    buf_[used_++] = c;
  }
  // Writes everything buffered. Throws PipeClosed on EPIPE, IoError otherwise.
  void flush();
  // flush() and fsync()/fdatasync() for files that must be durable.
  void sync();
  bool empty() const { return used_ == 0; }
  int fd() const { return fd_; }

 private:
  void flush_buffer();
  int fd_;
  bool owns_fd_ = false;
  std::vector<char> buf_;
  size_t used_ = 0;
};

}  // namespace pipekit
