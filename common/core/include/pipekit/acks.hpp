#pragma once
// Acknowledgements (docs/conventions.md): a sink or filter writes
//   {"topic":"users","partition":3,"offset":1042}\n
// once a record is durable or durably rejected; whole lines only, at most
// PIPE_BUF bytes per write(2), so lines from several writers on a FIFO never mix.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <string>
#include <string_view>

namespace pipekit {

struct Ack {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t timestamp_ms = -1;  // the record's Kafka timestamp, for freshness; not sent
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
  // Writes one ack now.
  void ack(std::string_view topic, int32_t partition, int64_t offset);
  // Many acks at once (a committed batch): add() them, then flush(), which
  // writes them packed into as few writes of whole lines as PIPE_BUF allows.
  void add(std::string_view topic, int32_t partition, int64_t offset);
  void flush();

 private:
  void write_all(std::string_view bytes);
  int fd_ = -1;
  std::string path_;
  std::string pending_;  // add()ed, not yet flush()ed
};

// Reads acks from a FIFO on a thread of its own, so that the reader never
// stops draining it. (If the consumer only read acks between its own writes
// to stdout, `ksub | jvalidate | pgload` could deadlock: pgload blocked writing
// a batch's acks into a full FIFO, ksub blocked writing into a full stdout.)
class AckInbox {
 public:
  // Creates PATH as a FIFO (mode 0600) if missing; opens it O_RDWR so that
  // writers coming and going never give EOF. Throws UsageError if PATH is not
  // a FIFO, IoError if it cannot be made or opened.
  explicit AckInbox(const std::string& path);
  ~AckInbox();
  AckInbox(const AckInbox&) = delete;
  AckInbox& operator=(const AckInbox&) = delete;

  // The bytes received since the last call (whole or partial lines).
  std::string take();
  // Readable when take() has something new: add it to poll() sets.
  int notify_fd() const { return notify_[0]; }

 private:
  void read_loop();
  int fd_ = -1;
  int notify_[2] = {-1, -1};
  int wake_[2] = {-1, -1};  // tells the reader thread to stop
  std::mutex mutex_;
  std::string inbox_;
  // Set by the reader after it appended and notified: take() returns at once
  // while nothing came (a consumer calls it once per record), no system call.
  std::atomic<bool> arrived_{false};
  std::thread thread_;
};

}  // namespace pipekit
