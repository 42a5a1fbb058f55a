#include "pipekit/ndjson.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pipekit/errors.hpp"
#include "pipekit/signals.hpp"

namespace pipekit {
namespace {
constexpr size_t kReadBlock = 1u << 18;  // 256 KiB per read(2)
}

LineReader::LineReader(int fd, size_t max_line_bytes)
    : fd_(fd), max_line_(max_line_bytes), buf_(kReadBlock + kLinePadding) {}

// Reads more bytes into the buffer. Returns false when nothing was added and
// `status` says why (eof, timeout, stopped).
bool LineReader::fill(int timeout_ms, ReadStatus& status) {
  if (eof_) {
    status = ReadStatus::eof;
    return false;
  }
  // Compact, then make room for one more block (plus padding).
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    scan_ = scan_ > begin_ ? scan_ - begin_ : 0;
    begin_ = 0;
  }
  if (buf_.size() < end_ + kReadBlock + kLinePadding) buf_.resize(end_ + kReadBlock + kLinePadding);

  for (;;) {
    if (stop_requested()) {
      status = ReadStatus::stopped;
      return false;
    }
    if (timeout_ms >= 0 || stop_fd() >= 0) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd(), POLLIN, 0}};
      int n = ::poll(fds, stop_fd() >= 0 ? 2 : 1, timeout_ms);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw IoError(errno_message("poll on input", errno));
      }
      if (n == 0) {
        status = ReadStatus::timeout;
        return false;
      }
      if (fds[0].revents == 0) continue;  // only the stop pipe: loop re-checks
    }
    ssize_t got = ::read(fd_, buf_.data() + end_, kReadBlock);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw IoError(errno_message("reading input", errno));
    }
    if (got == 0) {
      eof_ = true;
      status = ReadStatus::eof;
      return false;
    }
    end_ += static_cast<size_t>(got);
    bytes_read_ += static_cast<uint64_t>(got);
    return true;
  }
}

ReadStatus LineReader::next(Line& line, int timeout_ms) {
  for (;;) {
    // Look for the end of the current line in what is buffered.
    const char* base = buf_.data();
    size_t from = begin_ + scan_;
    const void* nl = from < end_ ? std::memchr(base + from, '\n', end_ - from) : nullptr;
    if (nl || (eof_ && end_ > begin_)) {
      size_t stop = nl ? static_cast<size_t>(static_cast<const char*>(nl) - base) : end_;
      size_t len = stop - begin_;
      uint64_t start_offset = consumed_;
      size_t next_begin = nl ? stop + 1 : end_;
      consumed_ += next_begin - begin_;
      ++line_no_;
      if (skipping_) {
        size_t total = skipped_ + len;
        skipping_ = false;
        skipped_ = 0;
        begin_ = next_begin;
        scan_ = 0;
        line = Line{{}, line_no_, start_offset - total + len, true, total};
        return ReadStatus::line;
      }
      if (len > 0 && base[begin_ + len - 1] == '\r') --len;
      std::string_view text(base + begin_, len);
      begin_ = next_begin;
      scan_ = 0;
      // Blank (or whitespace-only) lines are skipped.
      if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      if (len > max_line_) {
        line = Line{{}, line_no_, start_offset, true, len};
        return ReadStatus::line;
      }
      // Padding for simdjson: the bytes after the line are readable (the
      // buffer always keeps kLinePadding spare bytes past end_).
      line = Line{text, line_no_, start_offset, false, len};
      return ReadStatus::line;
    }
    if (eof_) return ReadStatus::eof;
    // No newline yet. An over-long line is dropped as it streams by.
    scan_ = end_ - begin_;
    if (scan_ > max_line_) {
      skipping_ = true;
      skipped_ += scan_;
      consumed_ += scan_;
      begin_ = end_ = scan_ = 0;
    }
    ReadStatus status;
    if (!fill(timeout_ms, status)) {
      if (status == ReadStatus::eof && end_ > begin_) continue;  // last line without \n
      if (status == ReadStatus::eof && skipping_) {
        // The input ended inside an over-long line.
        ++line_no_;
        line = Line{{}, line_no_, consumed_ - skipped_, true, skipped_};
        skipping_ = false;
        skipped_ = 0;
        return ReadStatus::line;
      }
      return status;
    }
  }
}

int open_input(const std::string& path) {
  if (path == "-" || path.empty()) return STDIN_FILENO;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(errno_message("cannot open " + path, errno));
  return fd;
}

OutputWriter::OutputWriter(int fd, size_t buffer_bytes) : fd_(fd), buf_(buffer_bytes) {}

OutputWriter::OutputWriter(OutputWriter&& o) noexcept
    : fd_(o.fd_), owns_fd_(o.owns_fd_), buf_(std::move(o.buf_)), used_(o.used_) {
  o.fd_ = -1;
  o.owns_fd_ = false;
  o.used_ = 0;
}

OutputWriter OutputWriter::open(const std::string& path, bool append) {
  if (path == "-") return OutputWriter(STDOUT_FILENO);
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) throw IoError(errno_message("cannot open " + path + " for writing", errno));
  OutputWriter w(fd);
  w.owns_fd_ = true;
  return w;
}

OutputWriter::~OutputWriter() {
  try {
    flush();
  } catch (...) {
  }
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

void OutputWriter::write(std::string_view bytes) {
  if (bytes.size() > buf_.size() - used_) {
    flush_buffer();
    if (bytes.size() >= buf_.size()) {
      // Large write: skip the buffer.
      const char* p = bytes.data();
      size_t left = bytes.size();
      while (left > 0) {
        ssize_t n = ::write(fd_, p, left);
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno == EPIPE) throw PipeClosed();
          throw IoError(errno_message("writing output", errno));
        }
        p += n;
        left -= static_cast<size_t>(n);
      }
      return;
    }
  }
  std::memcpy(buf_.data() + used_, bytes.data(), bytes.size());
  used_ += bytes.size();
}

void OutputWriter::flush_buffer() {
  size_t done = 0;
  while (done < used_) {
    ssize_t n = ::write(fd_, buf_.data() + done, used_ - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      used_ = 0;
      if (errno == EPIPE) throw PipeClosed();
      throw IoError(errno_message("writing output", errno));
    }
    done += static_cast<size_t>(n);
  }
  used_ = 0;
}

void OutputWriter::flush() {
  if (fd_ >= 0 && used_ > 0) flush_buffer();
}

void OutputWriter::sync() {
  flush();
  struct stat st;
  if (fd_ >= 0 && fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) && ::fdatasync(fd_) != 0)
    throw IoError(errno_message("syncing output", errno));
}

}  // namespace pipekit
