#include "samples.hpp"

#include <stdexcept>

namespace pipekit::cqlload {

ReadStatus Samples::collect(Intake& intake, size_t max, int pause_ms) {
  Record record;
  while (kept_.size() < max) {
    ReadStatus st = intake.next(record, kept_.empty() ? -1 : pause_ms);
    if (st != ReadStatus::line) return st;
    Kept k{std::string(record.line.text), record.line, record.input};
    k.line.text = {};
    values_.push_back(record.envelope ? simdjson::minify(record.value) : k.text);
    kept_.push_back(std::move(k));
  }
  return ReadStatus::line;
}

bool Samples::next(Record& record) {
  if (kept_.empty()) {
    values_.clear();
    values_.shrink_to_fit();
    return false;
  }
  current_ = std::move(kept_.front());
  kept_.pop_front();
  current_.line.text = current_.text;
  // It was a record when it was read: the same parser says the same.
  if (auto refusal = parser_.parse(current_.line, record, false))
    throw std::logic_error("a kept record no longer parses: " + refusal->reason);
  record.input = current_.input;
  return true;
}

}  // namespace pipekit::cqlload
