#include "merge_plan.hpp"

#include <algorithm>
#include <set>

namespace pipekit::pgload {

std::string column_list(const std::vector<std::string>& cols) {
  std::string out;
  for (size_t i = 0; i < cols.size(); ++i) out += (i ? ", " : "") + quote_ident(cols[i]);
  return out;
}

MergePlan::MergePlan(Mode mode, const MergeColumns& c) : mode_(mode) {
  const std::string cols = column_list(c.loaded);
  // The staging table's row-order column must not clash with a real column.
  std::string seq = "pgload_seq";
  while (std::find(c.loaded.begin(), c.loaded.end(), seq) != c.loaded.end()) seq += "_";
  const std::string stage = "pg_temp." + quote_ident("pgload_stage");
  direct_copy_ = "COPY " + c.target + " (" + cols + ") FROM STDIN";
  if (!staged()) {
    copy_ = direct_copy_;
    return;
  }
  copy_ = "COPY " + stage + " (" + cols + ") FROM STDIN";
  truncate_ = "TRUNCATE " + stage;
  // Temp tables live as long as the session: made again after a reconnect.
  stage_ = "CREATE TEMP TABLE " + quote_ident("pgload_stage") + " ON COMMIT DELETE ROWS AS SELECT " + cols +
           " FROM " + c.target + " WITH NO DATA; ALTER TABLE " + stage + " ADD COLUMN " + quote_ident(seq) +
           " bigint GENERATED ALWAYS AS IDENTITY";
  if (mode_ == Mode::upsert) {
    build_upsert(c, cols, stage, seq);
    return;
  }
  const std::string keys = column_list(c.key);
  merge_ = "INSERT INTO " + c.target + " (" + cols + ") SELECT " + cols + " FROM " + stage + " ORDER BY " +
           quote_ident(seq) + " ON CONFLICT " + (c.key.empty() ? "" : "(" + keys + ") ") + "DO NOTHING";
}

// In-batch duplicates collapse to the last one (DISTINCT ON, newest first),
// so ON CONFLICT never meets the same key twice in one statement. That sort
// costs, so it only runs for a batch where the client saw a repeated key (or
// the server found one the client's text comparison missed: '01' and '1' in
// an int key). An unchanged row is not rewritten (WHERE ... IS DISTINCT
// FROM): a replay after a crash then costs reads, not new row versions.
void MergePlan::build_upsert(const MergeColumns& c, const std::string& cols, const std::string& stage,
                             const std::string& seq) {
  // Types without an equality operator compare as text.
  static const std::set<std::string> no_eq = {"json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle"};
  const std::string keys = column_list(c.key);
  std::string set, old_vals, new_vals;
  for (size_t i = 0; i < c.loaded.size(); ++i) {
    const std::string& col = c.loaded[i];
    if (std::find(c.key.begin(), c.key.end(), col) != c.key.end()) continue;
    set += (set.empty() ? "" : ", ") + quote_ident(col) + " = EXCLUDED." + quote_ident(col);
    std::string cast = i < c.types.size() && no_eq.count(c.types[i]) ? "::text" : "";
    old_vals += std::string(old_vals.empty() ? "" : ", ") + "pgload_t." + quote_ident(col) + cast;
    new_vals += (new_vals.empty() ? "" : ", ") + std::string("EXCLUDED.") + quote_ident(col) + cast;
  }
  std::string conflict = " ON CONFLICT (" + keys + ") " +
                         (set.empty() ? "DO NOTHING"
                                      : "DO UPDATE SET " + set + " WHERE ROW(" + old_vals + ") IS DISTINCT FROM ROW(" +
                                            new_vals + ")");
  const std::string insert = "INSERT INTO " + c.target + " AS pgload_t (" + cols + ") SELECT " + cols + " FROM ";
  merge_ = insert + stage + conflict;
  merge_distinct_ = insert + "(SELECT DISTINCT ON (" + keys + ") * FROM " + stage + " ORDER BY " + keys + ", " +
                    quote_ident(seq) + " DESC) s" + conflict;
  for (const auto& k : c.key)
    key_pos_.push_back(static_cast<size_t>(std::find(c.loaded.begin(), c.loaded.end(), k) - c.loaded.begin()));
}

const std::string& MergePlan::merge_sql(bool distinct) const {
  return distinct && mode_ == Mode::upsert ? merge_distinct_ : merge_;
}

}  // namespace pipekit::pgload
