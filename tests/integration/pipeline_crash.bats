#!/usr/bin/env bats
# Crash safety: a streaming `pipekit load` of 50,000 users (5% defective,
# published unvalidated so that load rejects them too) while ksub, jvalidate
# and pgload are killed with SIGKILL at random moments, at least 6 times.
# pipekit restarts the load each time; afterwards the table holds exactly
# the valid users (none missing, none doubled) and the rejects every
# defective one.
load ../support/common
load ../support/pipeline/helpers
load ../support/pipeline/load
load ../support/cql/helpers
bats_require_minimum_version 1.5.0

TOOLS=("${PIPELINE_TOOLS[@]}")

setup_file() { pipeline_setup_file 50000; }

teardown_file() {
  if [ -n "${LOAD_PID:-}" ]; then kill -KILL "$LOAD_PID" 2>/dev/null || true; fi
  stop_kmock
  stop_postgres
}

setup() {
  require_tools "${TOOLS[@]}"
  W=$BATS_TEST_TMPDIR
}

teardown() {
  if [ -n "${LOAD_PID:-}" ] && kill -0 "$LOAD_PID" 2>/dev/null; then
    kill -TERM "$LOAD_PID"
    wait_until 5 '! kill -0 "$LOAD_PID" 2>/dev/null' || kill -KILL "$LOAD_PID" 2>/dev/null
  fi
  return 0
}

@test "SIGKILL of ksub, jvalidate and pgload at random moments: still exactly the valid users" {
  crash_to_postgres users_crash
}

# files_rows DIR OUT: the users in DIR's Parquet files as JSON rows, one per
# id (a replay may write a record again: each copy must equal the first);
# prints the number of extra copies.
files_rows() {
  "$PIPEKIT_BUILD/venv/bin/python" - "$1" "$2" <<'PY'
import datetime, glob, json, sys, uuid
import pyarrow.parquet as pq

def plain(v):
    if isinstance(v, (datetime.datetime, datetime.date)):
        return v.isoformat()
    if isinstance(v, bytes) and len(v) == 16:
        return str(uuid.UUID(bytes=v))
    if isinstance(v, uuid.UUID):
        return str(v)
    return v

rows, extra = {}, 0
for f in glob.glob(sys.argv[1] + "/**/*.parquet", recursive=True):
    for r in pq.read_table(f).to_pylist():
        r = {k: plain(v) for k, v in r.items()}
        k = str(r["id"]).lower()
        if k in rows:
            extra += 1
            if rows[k] != r:
                sys.exit(f"{k}: two different copies in the files: {rows[k]} / {r}")
        rows[k] = r
with open(sys.argv[2], "w") as out:
    for r in rows.values():
        out.write(json.dumps(r) + "\n")
print(extra)
PY
}

@test "--sink files: SIGKILL of ksub, jvalidate and fileload at random moments: every valid user in complete Parquet files, none lost" {
  # engine: kmock; fileload writing Parquet, read back with pyarrow
  [ -x "$PIPEKIT_BUILD/venv/bin/python" ] || fail "no $PIPEKIT_BUILD/venv: run scripts/setup (pyarrow reads the files back)"
  publish_unvalidated crashfiles
  # Small files, so that many are completed (and acknowledged) between kills.
  start_streaming_load -G crashfiles --sink files --dir "$W/lake" --format parquet --roll-records 2000 \
    --roll-age 2s --schema "$TEST_SCHEMA"
  kill_stages_twice ksub jvalidate fileload
  stop_streaming_load

  # A batch run loads what was never acknowledged, and removes the
  # temporary files the killed fileloads left.
  run --separate-stderr "$PIPEKIT" load --once -b "$BROKERS" -t "$T" -G crashfiles --sink files --dir "$W/lake" \
    --format parquet --schema "$TEST_SCHEMA" --state-dir "$W/state"
  echo "$stderr" | tail -5
  assert_success
  [ -z "$(find "$W/lake" -name '.*.tmp')" ] || fail "temporary files left in $W/lake"

  extra=$(files_rows "$W/lake" "$W/rows.ndjson")
  echo "# copies written again by replays (at-least-once): $extra" >&3
  python3 "$PIPELINE_SUPPORT/check_pipeline.py" --valid "$DATA/valid.ndjson" --rows "$W/rows.ndjson" \
    --defects "$DATA/defects.tsv" --rejects "$W"/state/rejects/*.ndjson

  run "$PIPEKIT" load --once --empty-exit 99 -b "$BROKERS" -t "$T" -G crashfiles --sink files --dir "$W/lake" \
    --format parquet --schema "$TEST_SCHEMA" --state-dir "$W/state"
  [ "$status" -eq 99 ]
}

@test "--sink cassandra: SIGKILL of ksub, jvalidate and cqlload at random moments: still exactly the valid users" {
  # engine: the Cassandra node of the run (CQL_HOSTS), Kafka as the file's other tests
  use_cassandra
  KS=$(new_keyspace)
  publish_unvalidated crashcql
  # The password reaches cqlload through the environment (CQL_PASSWORD).
  CQL_ARGS=(--sink cassandra --cql-hosts "$CQL" --keyspace "$KS" --table users ${CQL_USER:+--cql-user "$CQL_USER"})
  start_streaming_load -G crashcql "${CQL_ARGS[@]}" --schema "$TEST_SCHEMA"
  kill_stages_twice ksub jvalidate cqlload
  stop_streaming_load

  run --separate-stderr "$PIPEKIT" load --once -b "$BROKERS" -t "$T" -G crashcql "${CQL_ARGS[@]}" \
    --schema "$TEST_SCHEMA" --state-dir "$W/state"
  echo "$stderr" | tail -5
  assert_success

  cqlread "$KS.users" >"$W/rows.ndjson"
  python3 "$PIPELINE_SUPPORT/check_pipeline.py" --valid "$DATA/valid.ndjson" --rows "$W/rows.ndjson" \
    --defects "$DATA/defects.tsv" --rejects "$W"/state/rejects/*.ndjson
}
