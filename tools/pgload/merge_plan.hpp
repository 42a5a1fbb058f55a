#pragma once
// The SQL of a load, fixed for the run once the columns are known: the
// COPYs (into the table, or into the session's staging table), the staging
// table itself, and the merge from it for upsert (ON CONFLICT DO UPDATE,
// with DISTINCT ON when a key repeats in the batch) and ignore (DO NOTHING).
#include <string>
#include <vector>

#include "engine.hpp"

namespace pipekit::pgload {

struct MergeColumns {
  std::string target;                // the table, quoted
  std::vector<std::string> loaded;   // the columns loaded, in COPY order
  std::vector<std::string> types;    // their types (format_type), same order
  std::vector<std::string> key;      // the conflict key (upsert, ignore; may be empty for ignore)
};

class MergePlan {
 public:
  MergePlan() = default;
  MergePlan(Mode mode, const MergeColumns& cols);

  // upsert and ignore go through the staging table (or a direct COPY under a savepoint).
  bool staged() const { return mode_ != Mode::insert; }
  Mode mode() const { return mode_; }
  const std::string& direct_copy_sql() const { return direct_copy_; }  // COPY into the table
  const std::string& copy_sql() const { return copy_; }                // insert: direct; else: the stage
  const std::string& stage_sql() const { return stage_; }              // creates the staging table
  const std::string& truncate_stage_sql() const { return truncate_; }
  // The merge; `distinct`: the batch has a repeated key (upsert keeps its last row).
  const std::string& merge_sql(bool distinct) const;
  // The key columns' positions in a COPY row (upsert).
  const std::vector<size_t>& key_positions() const { return key_pos_; }

 private:
  void build_upsert(const MergeColumns& c, const std::string& cols, const std::string& stage, const std::string& seq);
  Mode mode_ = Mode::insert;
  std::string direct_copy_, copy_, stage_, truncate_, merge_, merge_distinct_;
  std::vector<size_t> key_pos_;
};

// "a", "b" -> "\"a\", \"b\""
std::string column_list(const std::vector<std::string>& cols);

}  // namespace pipekit::pgload
