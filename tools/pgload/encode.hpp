#pragma once
// One record (parsed by the intake) -> one COPY text-format row, by a fixed column plan.
#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pipekit/envelope.hpp"
#include "pipekit/intake.hpp"
#include "pipekit/json.hpp"
#include "engine.hpp"
#include "table.hpp"

namespace pipekit::pgload {

// Where a loaded column's value comes from.
struct Source {
  enum class From { field, path, env, record };
  std::string column;
  Kind kind = Kind::plain;
  From from = From::field;
  std::string field;  // From::field: a top-level field
  json::Path path;    // From::path
  EnvField env = EnvField::none;
};

class Encoder {
 public:
  explicit Encoder(bool strict_fields) : strict_(strict_fields) {}
  // Fixes the column plan; `known` are the top-level fields that --strict-fields accepts.
  void set_plan(std::vector<Source> sources, std::vector<std::string> known);
  bool has_plan() const { return planned_; }
  // Whether a column takes the whole record (--jsonb): then an envelope's
  // value must come with its text (IntakeRules::copy_envelope_value).
  bool needs_record_text() const { return needs_record_text_; }

  // Appends the record's COPY row to `out` (the record is an object: the
  // intake's require_object). Returns the reason when the record cannot be
  // loaded (reject code bad_value: --strict-fields), `out` then unchanged.
  std::string encode(const Record& record, std::string& out);

 private:
  void put(std::string& out, simdjson::dom::element v, Kind kind);
  void put_env(std::string& out, const Source& s, const Envelope* env);
  void put_text(std::string& out, std::string_view t, Kind kind);
  std::string_view record_text(const Record& record);
  bool fill_slots(simdjson::dom::object obj, std::string& reason);

  bool strict_;
  bool planned_ = false;
  std::vector<Source> sources_;
  // Top-level field name -> index of its Source (-1: known, not loaded).
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int, Hash, std::equal_to<>> fields_;
  static constexpr int kUnknown = -2;  // not a field of fields_
  static constexpr int kNotSeen = -3;  // no record had a field at this position yet
  // The previous record's fields by position: name and what fields_ said.
  std::vector<std::pair<std::string, int>> order_;
  bool needs_record_text_ = false;  // a column takes the whole record
  std::string scratch_, record_text_;
  std::vector<std::optional<simdjson::dom::element>> slots_;
};

}  // namespace pipekit::pgload
