#!/usr/bin/env bats
# Crash safety: a streaming `pipekit load` of 50,000 users (5% defective,
# published unvalidated so that load rejects them too) while ksub, jvalidate
# and pgload are killed with SIGKILL at random moments, at least 6 times.
# pipekit restarts the load each time; afterwards the table holds exactly
# the valid users (none missing, none doubled) and the rejects every
# defective one.
load ../support/common
load ../support/pipeline/helpers
load ../support/cql/helpers
bats_require_minimum_version 1.5.0

TOOLS=("${PIPELINE_TOOLS[@]}")

setup_file() { pipeline_setup_file 50000; }

teardown_file() {
  [ -n "${LOAD_PID:-}" ] && kill -KILL "$LOAD_PID" 2>/dev/null
  stop_kmock
  stop_postgres
}

setup() {
  require_tools "${TOOLS[@]}"
  W=$BATS_TEST_TMPDIR
}

teardown() {
  if [ -n "${LOAD_PID:-}" ] && kill -0 "$LOAD_PID" 2>/dev/null; then
    kill -TERM "$LOAD_PID"; sleep 2; kill -KILL "$LOAD_PID" 2>/dev/null
  fi
  return 0
}

# stage_pid STAGE: the PID pipekit wrote for the stage's current attempt
stage_pid() { cat "$W"/state/run.load.*/"$1".pid 2>/dev/null || true; }

# kill_stages_twice STAGE...: SIGKILL each stage of the running load twice,
# in a random order, each at a random moment once that stage's current
# attempt is up, waiting for pipekit to restart it; fails below 2 kills each.
kill_stages_twice() {
  local victims=("$@" "$@") n=$((2 * $#)) i j t v pid kills=0
  for ((i = n - 1; i > 0; i--)); do j=$((RANDOM % (i + 1))); t=${victims[i]}; victims[i]=${victims[j]}; victims[j]=$t; done
  for v in "${victims[@]}"; do
    for _ in $(seq 100); do
      pid=$(stage_pid "$v")
      [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && break
      sleep 0.1
    done
    sleep "0.$((RANDOM % 9 + 1))"
    if kill -KILL "$pid" 2>/dev/null; then
      kills=$((kills + 1))
      echo "# killed $v ($pid) after $SECONDS s" >&3
    fi
    # wait for the restart: a new PID for that stage
    for _ in $(seq 150); do
      [ "$(stage_pid "$v")" != "$pid" ] && [ -n "$(stage_pid "$v")" ] && break
      sleep 0.1
    done
  done
  [ "$kills" -ge "$n" ] || { echo "only $kills of $n kills landed" >&2; return 1; }
}

# publish_unvalidated PREFIX: a new 8-partition topic $T holding the dataset
# as is (defective records too, so that the load rejects them).
publish_unvalidated() {
  T=$(unique_topic "$1"); new_topic "$T" 8
  run --separate-stderr "$PIPEKIT" ingest --once --no-validate --input "$DATA/input.ndjson" -b "$BROKERS" -t "$T" \
    --state-dir "$W/state"
  echo "$stderr" | tail -5
  assert_success
}

# start_streaming_load ARGS...: `pipekit load` of $T (no --once) in the
# background, restarting its stages after a crash; LOAD_PID.
start_streaming_load() {
  "$PIPEKIT" load -b "$BROKERS" -t "$T" "$@" --state-dir "$W/state" --restarts 100 \
    >"$W/load.out" 2>"$W/load.err" &
  LOAD_PID=$!
}

# stop_streaming_load: SIGTERM; a clean exit (0) after at least 6 restarts.
stop_streaming_load() {
  local st=0
  kill -TERM "$LOAD_PID"
  wait "$LOAD_PID" || st=$?
  LOAD_PID=
  tail -15 "$W/load.err"
  [ "$st" -eq 0 ] || { echo "pipekit load exited $st" >&2; return 1; }
  tail -1 "$W/load.out"
  [ "$(tail -1 "$W/load.out" | jq .restarts)" -ge 6 ]
}

@test "SIGKILL of ksub, jvalidate and pgload at random moments: still exactly the valid users" {
  publish_unvalidated crash
  start_streaming_load -G crash --table users_crash --schema "$TEST_SCHEMA" --batch-rows 1000
  kill_stages_twice ksub jvalidate pgload
  wait_settled users_crash 150 || { tail -30 "$W/load.err"; false; }
  stop_streaming_load
  grep -q 'killed by signal 9' "$W/load.err"

  # A batch run finishes what the streaming one left: whatever a stage still
  # held when it was stopped was never acknowledged, so it is read again.
  run --separate-stderr "$PIPEKIT" load --once -b "$BROKERS" -t "$T" -G crash --table users_crash \
    --schema "$TEST_SCHEMA" --state-dir "$W/state"
  echo "$stderr" | tail -5
  assert_success

  run check_pipeline "$DATA" users_crash "$W"/state/rejects/*.ndjson
  echo "$output" | tail -25
  assert_success

  # Everything was acknowledged and committed: nothing left for the group.
  run "$PIPEKIT" load --once --empty-exit 99 -b "$BROKERS" -t "$T" -G crash --table users_crash \
    --schema "$TEST_SCHEMA" --state-dir "$W/state"
  [ "$status" -eq 99 ]
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
