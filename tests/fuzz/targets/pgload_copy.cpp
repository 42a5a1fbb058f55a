// pgload: one input line, parsed as the intake parses it, into a COPY text
// row (every column kind, a path, the envelope's fields, the whole record).
// The row must stay one line of COPY text: escaped tabs, newlines and
// backslashes, whatever the record holds; a refused record leaves no part
// of a row behind.
#include "encode.hpp"
#include "fuzz.hpp"
#include "pipekit/intake.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pipekit;
  using namespace pipekit::pgload;
  if (size == 0) return 0;
  uint8_t mode = data[0];
  std::string line(fuzz::text(data + 1, size - 1));
  line.append(64, '\0');  // the reader's padding (simdjson reads past the end)
  std::string_view view(line.data(), size - 1);
  Encoder encoder(mode & 2);
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
  Source env;
  env.column = "k";
  env.kind = (mode & 4) ? Kind::json : Kind::plain;
  env.from = Source::From::env;
  env.env = (mode & 8) ? EnvField::key : EnvField::timestamp;
  plan.push_back(std::move(env));
  encoder.set_plan(std::move(plan), {"a", "b", "t", "x"});
  IntakeOptions intake;
  intake.envelope = (mode & 1) != 0;
  // With mode bit 16 the envelope's value is not copied: the encoder minifies it.
  RecordParser parser(intake, IntakeRules{.require_object = true, .copy_envelope_value = (mode & 16) == 0});
  Line in;
  in.text = view;
  in.length = view.size();
  Record record;
  if (auto refusal = parser.parse(in, record)) {
    if (refusal->reason.empty()) __builtin_trap();  // a reject always says why
    return 0;
  }
  std::string out = "previous row\n";
  const size_t before = out.size();
  std::string reason = encoder.encode(record, out);
  if (!reason.empty()) {
    if (out.size() != before) __builtin_trap();  // a refused record leaves nothing behind
    return 0;
  }
  // One row: six columns, five tabs, one newline at the end.
  size_t tabs = 0, newlines = 0;
  for (size_t i = before; i < out.size(); ++i) tabs += out[i] == '\t', newlines += out[i] == '\n';
  if (tabs != 5 || newlines != 1 || out.back() != '\n') __builtin_trap();
  return 0;
}
