#pragma once
// Which column gets what, fixed for the run: from the table's columns, the
// --map specs and --jsonb; the conflict key; the columns --create makes
// (from --schema, or from the types seen in the first batch).
#include <simdjson.h>

#include <string>
#include <vector>

#include "encode.hpp"
#include "engine.hpp"
#include "table.hpp"

namespace pipekit::pgload {

struct ColumnPlan {
  std::vector<Source> sources;     // one per loaded column, in COPY order
  std::vector<std::string> known;  // top-level fields --strict-fields accepts
  std::vector<std::string> loaded; // the loaded columns' names
  std::vector<std::string> types;  // and their types
};
// Throws UsageError for a --map or --jsonb column the table lacks or cannot load.
ColumnPlan plan_columns(const TableInfo& info, const std::vector<MapSpec>& maps, const std::string& jsonb_column);

// The conflict key of upsert/ignore: --key, else the table's primary key
// (upsert needs one); every key column must be loaded. Empty for insert.
std::vector<std::string> conflict_key(Mode mode, const std::vector<std::string>& key_option, const TableInfo& info,
                                      const std::vector<std::string>& loaded);

// The column type --create gives an envelope field.
std::string env_type(EnvField f);

// The columns --create makes: `cols` (from --schema or inferred) joined by
// the --map and --jsonb columns, the primary key NOT NULL. Throws UsageError.
std::vector<ColumnDef> columns_to_create(std::vector<ColumnDef> cols, const std::vector<MapSpec>& maps,
                                         const std::string& jsonb_column, const std::vector<std::string>& primary_key);

// The types of a table to create, inferred from the first batch's records.
class FirstBatchTypes {
 public:
  FirstBatchTypes(const std::vector<MapSpec>& maps, const std::string& jsonb_column);
  void observe(simdjson::dom::element record);
  std::vector<ColumnDef> columns() const { return inference_.columns(); }

 private:
  TypeInference inference_;
  std::vector<std::string> mapped_;  // columns named by --map or --jsonb: not inferred from fields
  std::vector<std::pair<std::string, json::Path>> paths_;  // --map paths without a type
};

}  // namespace pipekit::pgload
