// pgload: one input line into a COPY text row (every column kind, a path, the
// envelope's fields). The row must stay one line of COPY text: escaped tabs,
// newlines and backslashes, whatever the record holds.
#include "encode.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pipekit;
  using namespace pipekit::pgload;
  if (size == 0) return 0;
  uint8_t mode = data[0];
  std::string line(fuzz::text(data + 1, size - 1));
  line.append(64, '\0');  // the reader's padding
  std::string_view view(line.data(), size - 1);
  Encoder encoder(mode & 1, mode & 2);
  std::vector<Source> plan;
  auto add = [&](std::string column, Kind kind, Source::From from, std::string field) {
    Source s;
    s.column = std::move(column);
    s.kind = kind;
    s.from = from;
    if (from == Source::From::path) s.path = json::Path(field);
    else s.field = std::move(field);
    plan.push_back(std::move(s));
  };
  add("a", Kind::plain, Source::From::field, "a");
  add("b", Kind::json, Source::From::field, "b");
  add("t", Kind::timestamp, Source::From::field, "t");
  add("p", Kind::plain, Source::From::path, "x.0.y");
  add("r", Kind::json, Source::From::record, "");
  encoder.set_plan(std::move(plan), {"a", "b", "t", "x"});
  std::string out;
  EncodeResult r = encoder.encode(view, true, &out);
  if (r.reason.empty()) {
    // One row: five columns, four tabs, one newline at the end.
    size_t tabs = 0, newlines = 0;
    for (char c : out) tabs += c == '\t', newlines += c == '\n';
    if (tabs != 4 || newlines != 1 || out.back() != '\n') __builtin_trap();
  }
  return 0;
}
