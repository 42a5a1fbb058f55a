// Bytes from a Cassandra server: frame header, RESULT and ERROR bodies, type
// descriptions and values decoded to JSON. A malformed body is a cql::ProtocolError
// (the connection is dropped), never a crash or an over-read.
#include "fuzz.hpp"
#include "pipekit/cql/protocol.hpp"
#include "pipekit/cql/types.hpp"
#include "pipekit/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pipekit::cql;
  std::string_view body = pipekit::fuzz::text(data, size);
  if (size >= kHeaderSize) (void)parse_header(data);
  auto guarded = [](auto f) {
    try {
      f();
    } catch (const std::exception&) {
      // every decoder reports a malformed input by an exception
    }
  };
  guarded([&] { (void)decode_result(body); });
  guarded([&] { (void)decode_error(body); });
  guarded([&] {
    Reader r(body);
    Type t = read_type(r);
    (void)type_name(t);
    auto value = r.bytes();
    if (value) (void)decode_to_json(t, *value);
  });
  return 0;
}
