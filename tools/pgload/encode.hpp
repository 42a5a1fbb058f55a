#pragma once
// One record -> one COPY text-format row, by a fixed column plan.
#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pipekit/envelope.hpp"
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

struct Coord {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
};

struct EncodeResult {
  std::string reason;       // empty: encoded
  bool original_is_json = false;
  std::optional<Coord> coord;  // the envelope's coordinates, when it had them
};

class Encoder {
 public:
  Encoder(bool envelope, bool strict_fields) : envelope_(envelope), strict_(strict_fields) {}
  // Fixes the column plan; `known` are the top-level fields that --strict-fields accepts.
  void set_plan(std::vector<Source> sources, std::vector<std::string> known);
  bool has_plan() const { return planned_; }

  // Parses `line` (padded: followed by >= 64 readable bytes) and, with a plan
  // and `out`, appends its COPY row. Without a plan it only validates.
  EncodeResult encode(std::string_view line, bool padded, std::string* out);

  // The record (the envelope's value in --envelope mode) of a line, for type
  // inference; nullopt when the line would be rejected.
  std::optional<simdjson::dom::element> record_of(std::string_view line);

 private:
  bool parse(std::string_view line, bool padded, EncodeResult& r, simdjson::dom::element& record);
  void put(std::string& out, simdjson::dom::element v, Kind kind);
  void put_env(std::string& out, const Source& s);

  bool envelope_, strict_;
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
  simdjson::dom::parser parser_, value_parser_;
  Envelope env_;
  std::string_view record_view_;  // the record's JSON text (for --jsonb)
  bool needs_record_text_ = true;  // until the plan says no column takes the whole record
  std::string scratch_;
  std::vector<std::optional<simdjson::dom::element>> slots_;
};

}  // namespace pipekit::pgload
