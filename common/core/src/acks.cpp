#include "pipekit/acks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <simdjson.h>

#include "pipekit/errors.hpp"
#include "pipekit/json.hpp"
#include "pipekit/log.hpp"
#include "pipekit/signals.hpp"

namespace pipekit {

std::string format_ack(std::string_view topic, int32_t partition, int64_t offset) {
  std::string line = "{\"topic\":";
  json::append_string(line, topic);
  line += ",\"partition\":" + std::to_string(partition) + ",\"offset\":" + std::to_string(offset) + "}\n";
  return line;
}

std::optional<Ack> parse_ack(std::string_view line) {
  thread_local simdjson::dom::parser parser;  // one per thread, not one per line
  simdjson::dom::element root;
  if (parser.parse(line.data(), line.size()).get(root) != simdjson::SUCCESS) return std::nullopt;
  Ack ack;
  std::string_view topic;
  int64_t partition, offset;
  if (root["topic"].get_string().get(topic) != simdjson::SUCCESS) return std::nullopt;
  if (root["partition"].get_int64().get(partition) != simdjson::SUCCESS) return std::nullopt;
  if (root["offset"].get_int64().get(offset) != simdjson::SUCCESS) return std::nullopt;
  if (partition < 0 || partition > INT32_MAX || offset < 0) return std::nullopt;
  ack.topic = topic;
  ack.partition = static_cast<int32_t>(partition);
  ack.offset = offset;
  return ack;
}

AckWriter::AckWriter(const std::string& path) : path_(path) {
  struct stat st;
  bool fifo = ::stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
  if (!fifo) {
    do {
      fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_CREAT | O_APPEND, 0644);
    } while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0) throw IoError(errno_message("cannot open --ack " + path, errno));
    return;
  }
  // A FIFO opens for writing only once its reader (ksub --commit-acks) has
  // it open. A blocking open() would wait forever if that reader died first,
  // deaf to SIGTERM: poll for the reader instead. Nothing has been read yet,
  // so a stop signal, or a piped stdin whose writer is gone with nothing left
  // in the pipe (ksub ended without a record), ends the run cleanly.
  struct stat in;
  bool watch_stdin = ::fstat(STDIN_FILENO, &in) == 0 && S_ISFIFO(in.st_mode);
  const auto try_open = [&] { return (fd_ = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC)) >= 0; };
  const auto start = std::chrono::steady_clock::now();
  bool said = false;
  for (;;) {
    if (try_open()) break;
    if (errno != ENXIO && errno != EINTR) throw IoError(errno_message("cannot open --ack " + path, errno));
    if (stop_requested())
      throw StoppedBeforeStart("stopped before the --ack FIFO " + path + " had a reader: nothing was read");
    if (!said && std::chrono::steady_clock::now() - start > std::chrono::seconds(5)) {
      log::warn("waiting for a reader of the --ack FIFO {} (ksub --commit-acks)", path);
      said = true;
    }
    struct pollfd p[2] = {{stop_fd(), POLLIN, 0}, {watch_stdin ? STDIN_FILENO : -1, 0, 0}};
    ::poll(p, 2, 20);
    if (p[1].revents & POLLHUP) {
      // The reader may have come and the writer gone within that poll: ksub
      // opens the FIFO before it emits a record, and a fast upstream can hand
      // every record over and exit in one go. Records still in the pipe need
      // their acks, so keep waiting for the reader (a stop signal still ends
      // the wait); only an empty pipe means there is nothing to acknowledge.
      if (try_open()) break;
      int pending = 0;
      if (::ioctl(STDIN_FILENO, FIONREAD, &pending) == 0 && pending > 0)
        watch_stdin = false;
      else
        throw StoppedBeforeStart("input ended before the --ack FIFO " + path + " had a reader: nothing to acknowledge");
    }
  }
  // Writes block again once open: acks are never dropped on a full pipe.
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
}

AckWriter::~AckWriter() {
  if (fd_ >= 0) ::close(fd_);
}

AckWriter::AckWriter(AckWriter&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }

AckWriter& AckWriter::operator=(AckWriter&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

void AckWriter::ack(std::string_view topic, int32_t partition, int64_t offset) {
  if (fd_ < 0) return;
  write_all(format_ack(topic, partition, offset));
}

void AckWriter::add(std::string_view topic, int32_t partition, int64_t offset) {
  if (fd_ >= 0) pending_ += format_ack(topic, partition, offset);
}

void AckWriter::flush() {
  std::string_view rest = pending_;
  while (!rest.empty()) {
    // the longest run of whole lines that fits one atomic write
    size_t cut = rest.size() <= PIPE_BUF ? rest.size() : rest.rfind('\n', PIPE_BUF - 1) + 1;
    if (cut == 0) cut = rest.find('\n') + 1;  // a line longer than PIPE_BUF: alone
    write_all(rest.substr(0, cut));
    rest.remove_prefix(cut);
  }
  pending_.clear();
}

// One write(2): a FIFO takes up to PIPE_BUF bytes whole, never interleaved.
void AckWriter::write_all(std::string_view bytes) {
  for (;;) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n == static_cast<ssize_t>(bytes.size())) return;
    if (n < 0 && errno == EINTR) continue;
    throw IoError(errno_message("writing ack to " + path_, n < 0 ? errno : EIO));
  }
}

AckInbox::AckInbox(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT || ::mkfifo(path.c_str(), 0600) != 0)
      throw IoError(errno_message("cannot create the ack FIFO " + path, errno));
  } else if (!S_ISFIFO(st.st_mode)) {
    throw UsageError(path + " exists and is not a FIFO");
  }
  fd_ = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) throw IoError(errno_message("cannot open the ack FIFO " + path, errno));
  if (pipe2(notify_, O_CLOEXEC | O_NONBLOCK) != 0 || pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    ::close(fd_);
    throw IoError(errno_message("pipe", errno));
  }
  thread_ = std::thread([this] {
    block_stop_signals_in_this_thread();
    read_loop();
  });
}

AckInbox::~AckInbox() {
  char c = 1;
  (void)!::write(wake_[1], &c, 1);
  if (thread_.joinable()) thread_.join();
  for (int fd : {fd_, notify_[0], notify_[1], wake_[0], wake_[1]})
    if (fd >= 0) ::close(fd);
}

void AckInbox::read_loop() {
  char buf[65536];
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    bool got = false;
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      std::lock_guard lock(mutex_);
      inbox_.append(buf, static_cast<size_t>(n));
      got = true;
    }
    if (got) {
      char c = 1;
      (void)!::write(notify_[1], &c, 1);  // a full notify pipe is fine: it is already readable
      // After the notify byte: a take() that drains the pipe has seen the
      // flag set first, so the pipe is never left readable with nothing to take.
      arrived_.store(true, std::memory_order_release);
    }
  }
}

std::string AckInbox::take() {
  if (!arrived_.exchange(false, std::memory_order_acquire)) return {};
  char drain[256];
  while (::read(notify_[0], drain, sizeof drain) > 0) {
  }
  std::lock_guard lock(mutex_);
  std::string out;
  out.swap(inbox_);
  return out;
}

}  // namespace pipekit
