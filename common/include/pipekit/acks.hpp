#pragma once
// Acknowledgements (CONVENTIONS.md): a sink or filter writes
//   {"topic":"users","partition":3,"offset":1042}\n
// once a record is durable or durably rejected; each line with one write(2)
// (well under PIPE_BUF, so lines from several writers on a FIFO never mix).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pipekit {

struct Ack {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
};

std::string format_ack(std::string_view topic, int32_t partition, int64_t offset);
// nullopt when the line is not an ack.
std::optional<Ack> parse_ack(std::string_view line);

class AckWriter {
 public:
  AckWriter() = default;
  // Opens PATH for writing: a FIFO (blocks until a reader opens it) or a
  // regular file (created, appended). Throws IoError.
  explicit AckWriter(const std::string& path);
  ~AckWriter();
  AckWriter(const AckWriter&) = delete;
  AckWriter& operator=(const AckWriter&) = delete;
  AckWriter(AckWriter&& o) noexcept;
  AckWriter& operator=(AckWriter&& o) noexcept;

  bool enabled() const { return fd_ >= 0; }
  void ack(std::string_view topic, int32_t partition, int64_t offset);

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace pipekit
