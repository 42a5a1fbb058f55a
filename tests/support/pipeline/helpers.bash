# Helpers for tests/integration/pipeline*.bats (after `load ../support/common`):
# the end-to-end runs need every tool; they fail, saying which is missing,
# when one is not on PATH.
PIPELINE_DATA=$PIPEKIT_ROOT/tests/data/pipeline
PIPELINE_SUPPORT=$PIPEKIT_ROOT/tests/support/pipeline
TEST_SCHEMA=$PIPELINE_DATA/user-flat.test.schema.json
PIPEKIT=$PIPEKIT_BUILD/bin/pipekit

missing_tools() {
  local t missing=()
  for t in "$@"; do command -v "$t" >/dev/null || missing+=("$t"); done
  echo "${missing[*]}"
}

# In setup(): fails the test, saying how to get them, when a tool is missing.
require_tools() {
  local m
  m=$(missing_tools "$@")
  [ -z "$m" ] || fail "needs $m on PATH: run scripts/setup && scripts/build, or put build/bin on PATH"
}

# make_dataset N DIR: DIR/input.ndjson (5% defective), valid.ndjson, defects.tsv
make_dataset() {
  python3 "$PIPELINE_SUPPORT/make_dataset.py" "$1" "$2"
}

# table_rows TABLE FILE: every row as JSON, one per line
table_rows() {
  psql -X -q -A -t -v ON_ERROR_STOP=1 -c "SELECT row_to_json(t) FROM $1 t" >"$2"
}

# check_pipeline DIR TABLE REJECT_FILES...: table == DIR/valid.ndjson by key
# and content; every defect of DIR/defects.tsv in the rejects with a reason.
check_pipeline() {
  local dir=$1 table=$2; shift 2
  table_rows "$table" "$dir/rows.ndjson"
  python3 "$PIPELINE_SUPPORT/check_pipeline.py" --valid "$dir/valid.ndjson" --rows "$dir/rows.ndjson" \
    --defects "$dir/defects.tsv" --rejects "$@"
}

# wait_rows TABLE N SECONDS: until the table has N rows
wait_rows() {
  local i n=""
  for ((i = 0; i < $3 * 5; i++)); do
    n=$(psql_q "SELECT count(*) FROM $1" 2>/dev/null || echo 0)
    if [ "$n" = "$2" ]; then return 0; fi
    sleep 0.2
  done
  echo "table $1 has ${n:-?} rows after $3 s, want $2" >&2
  return 1
}

# A unique topic name (new_topic creates it).
unique_topic() { echo "$1_$(date +%s)_$$_$RANDOM"; }

# wait_settled TABLE SECONDS: until the row count is > 0 and has not changed
# for 3 s (streaming loads have no end to wait for).
wait_settled() {
  local i n last=-1 same=0
  for ((i = 0; i < $2 * 2; i++)); do
    n=$(psql_q "SELECT count(*) FROM $1" 2>/dev/null || echo 0)
    if [ "$n" = "$last" ] && [ "$n" -gt 0 ]; then same=$((same + 1)); else same=0; fi
    if [ "$same" -ge 6 ]; then return 0; fi
    last=$n
    sleep 0.5
  done
  echo "table $1 still changing after $2 s ($n rows)" >&2
  return 1
}

# The tools every pipeline test needs.
PIPELINE_TOOLS=(kmock jvalidate kpub ksub pgload psql)

# pipeline_setup_file USERS [kmock args...]: a dataset of USERS users (5%
# defective) in $DATA, a kmock cluster and a private PostgreSQL; nothing when
# a tool is missing (each test then fails, saying which).
pipeline_setup_file() {
  [ -z "$(missing_tools "${PIPELINE_TOOLS[@]}")" ] || return 0
  export DATA=$BATS_FILE_TMPDIR/data
  make_dataset "$1" "$DATA"
  shift
  kafka_engine
  start_kmock "$@"
  start_postgres
}
