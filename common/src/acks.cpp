#include "pipekit/acks.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <simdjson.h>

#include "pipekit/errors.hpp"
#include "pipekit/json.hpp"

namespace pipekit {

std::string format_ack(std::string_view topic, int32_t partition, int64_t offset) {
  std::string line = "{\"topic\":";
  json::append_string(line, topic);
  line += ",\"partition\":" + std::to_string(partition) + ",\"offset\":" + std::to_string(offset) + "}\n";
  return line;
}

std::optional<Ack> parse_ack(std::string_view line) {
  simdjson::dom::parser parser;
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
  int flags = O_WRONLY | O_CLOEXEC | (fifo ? 0 : (O_CREAT | O_APPEND));
  do {
    fd_ = ::open(path.c_str(), flags, 0644);
  } while (fd_ < 0 && errno == EINTR);
  if (fd_ < 0) throw IoError(errno_message("cannot open --ack " + path, errno));
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
  std::string line = format_ack(topic, partition, offset);
  for (;;) {
    ssize_t n = ::write(fd_, line.data(), line.size());
    if (n == static_cast<ssize_t>(line.size())) return;
    if (n < 0 && errno == EINTR) continue;
    throw IoError(errno_message("writing ack to " + path_, n < 0 ? errno : EIO));
  }
}

}  // namespace pipekit
