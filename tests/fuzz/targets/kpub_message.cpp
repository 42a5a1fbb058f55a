// kpub: one input line into a Kafka message, in each shape (key from a path,
// envelope with headers/topic/partition/timestamp kept).
#include "fuzz.hpp"
#include "message.hpp"
#include "pipekit/intake.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pipekit::kpub;
  if (size == 0) return 0;
  uint8_t mode = data[0];
  std::string line(pipekit::fuzz::text(data + 1, size - 1));
  line.append(64, '\0');  // the reader's padding (simdjson reads past the end)
  std::string_view view(line.data(), size - 1);
  BuilderConfig config;
  if (mode & 1) config.key_path = (mode & 2) ? "/a/0/b" : "login.uuid";
  pipekit::IntakeOptions intake{.envelope = (mode & 4) != 0};
  pipekit::RecordParser parser(intake, pipekit::IntakeRules{.copy_envelope_value = true});
  config.keep_topic = mode & 8;
  config.keep_partition = mode & 16;
  config.keep_timestamp = mode & 32;
  MessageBuilder builder(config);
  Message msg;
  std::string reason;
  pipekit::RejectCode code;
  pipekit::Line in;
  in.text = view;
  in.length = view.size();
  pipekit::Record record;
  if (auto refusal = parser.parse(in, record)) {
    if (refusal->reason.empty()) __builtin_trap();  // a reject always says why
    return 0;
  }
  if (builder.build(record, msg, reason, code)) {
    // Views into the line or the parser: touch every byte (ASan checks them).
    size_t sum = 0;
    for (char c : msg.value) sum += static_cast<unsigned char>(c);
    for (char c : msg.key) sum += static_cast<unsigned char>(c);
    if (msg.headers)
      for (const auto& [k, v] : *msg.headers) sum += k.size() + v.size();
    (void)sum;
  } else if (reason.empty()) {
    __builtin_trap();  // a reject always says why
  }
  return 0;
}
