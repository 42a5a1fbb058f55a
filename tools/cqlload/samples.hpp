#pragma once
// --create without --schema: the first records are read before the table
// exists, to learn its columns from them, and are loaded first once it does.
// The intake has parsed each one (and rejected what is not a record); what is
// kept is a copy of its line and coordinates, parsed again by the intake's
// RecordParser when its turn comes to be bound (these few records only).
#include <deque>
#include <string>
#include <vector>

#include "pipekit/intake.hpp"

namespace pipekit::cqlload {

class Samples {
 public:
  Samples(const IntakeOptions& opts, IntakeRules rules) : parser_(opts, rules) {}
  // Reads up to `max` records: waits for the first, then stops when the
  // input pauses for `pause_ms`. Returns the intake's last status (eof,
  // stopped, timeout, or line when `max` were read).
  ReadStatus collect(Intake& intake, size_t max, int pause_ms = 1000);
  // The records' JSON text (an envelope's value), to learn the columns from.
  const std::vector<std::string>& values() const { return values_; }
  bool empty() const { return kept_.empty(); }
  size_t size() const { return kept_.size(); }
  // The next kept record, parsed again; valid until the next call. False when
  // none is left.
  bool next(Record& record);

 private:
  struct Kept {
    std::string text;
    Line line;  // number and offset; text points into `text` once replayed
    size_t input = 0;
  };
  RecordParser parser_;
  std::deque<Kept> kept_;
  Kept current_;
  std::vector<std::string> values_;
};

}  // namespace pipekit::cqlload
