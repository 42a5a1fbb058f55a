#!/usr/bin/env bats
# End to end, with the real tools, kmock (or KAFKA_BROKERS) and a private
# PostgreSQL: 50,000 users, 5% of them defective in six ways, through
# `pipekit ingest` and `pipekit load`. The table must hold exactly the valid
# users (by key and content) and the rejects every defective one, with a
# reason.
load ../support/common
load ../support/pipeline/helpers
bats_require_minimum_version 1.5.0

TOOLS=("${PIPELINE_TOOLS[@]}")

setup_file() { pipeline_setup_file 50000; }

teardown_file() {
  stop_kmock
  stop_postgres
}

setup() {
  require_tools "${TOOLS[@]}"
  W=$BATS_TEST_TMPDIR
}

@test "50,000 users with 5% defects: ingest validates and publishes, load lands exactly the valid ones" {
  T=$(unique_topic e2e); new_topic "$T" 8
  run --separate-stderr "$PIPEKIT" ingest --once --input "$DATA/input.ndjson" -b "$BROKERS" -t "$T" \
    --schema "$TEST_SCHEMA" --state-dir "$W/state"
  echo "$stderr" | tail -20
  assert_success
  sum=$(tail -1 <<<"$output")
  [ "$(jq .read <<<"$sum")" -eq 50000 ]
  [ "$(jq .published <<<"$sum")" -eq 47500 ]
  [ "$(jq .rejected <<<"$sum")" -eq 2500 ]

  run --separate-stderr "$PIPEKIT" load --once -b "$BROKERS" -t "$T" -G e2e --table users_e2e \
    --schema "$TEST_SCHEMA" --state-dir "$W/state"
  echo "$stderr" | tail -20
  assert_success
  sum=$(tail -1 <<<"$output")
  [ "$(jq .consumed <<<"$sum")" -eq 47500 ]
  [ "$(jq .restarts <<<"$sum")" -eq 0 ]

  run check_pipeline "$DATA" users_e2e "$W"/state/rejects/*.ndjson
  echo "$output" | tail -25
  assert_success

  # The group is at the end: nothing to do (Airflow skips on 99), nothing changes.
  run "$PIPEKIT" load --once --empty-exit 99 -b "$BROKERS" -t "$T" -G e2e --table users_e2e \
    --schema "$TEST_SCHEMA" --state-dir "$W/state"
  [ "$status" -eq 99 ]
  [ "$(psql_q 'SELECT count(*) FROM users_e2e')" -eq 47500 ]

  run "$PIPEKIT" status -b "$BROKERS" -t "$T" -G e2e --table users_e2e
  assert_success
  [ "$(tail -1 <<<"$output" | jq .rows)" -eq 47500 ]
}

@test "defects that reach Kafka are rejected by load, with reasons, and acknowledged" {
  T=$(unique_topic raw); new_topic "$T" 4
  mkdir -p "$W/d"
  python3 "$PIPELINE_SUPPORT/make_dataset.py" 10000 "$W/d"
  run --separate-stderr "$PIPEKIT" ingest --once --no-validate --input "$W/d/input.ndjson" -b "$BROKERS" -t "$T" \
    --state-dir "$W/state"
  echo "$stderr" | tail -20
  assert_success
  run --separate-stderr "$PIPEKIT" load --once -b "$BROKERS" -t "$T" -G raw --table users_raw \
    --schema "$TEST_SCHEMA" --state-dir "$W/state"
  echo "$stderr" | tail -20
  assert_success
  run check_pipeline "$W/d" users_raw "$W"/state/rejects/*.ndjson
  echo "$output" | tail -25
  assert_success
  # every record was acknowledged, rejects included: a second load finds nothing
  run "$PIPEKIT" load --once --empty-exit 99 -b "$BROKERS" -t "$T" -G raw --table users_raw \
    --schema "$TEST_SCHEMA" --state-dir "$W/state"
  [ "$status" -eq 99 ]
}

@test "a database that is down fails the load with status 3, the stage named" {
  T=$(unique_topic down); new_topic "$T" 1
  mkdir -p "$W/d"
  python3 "$PIPELINE_SUPPORT/make_dataset.py" 100 "$W/d"
  "$PIPEKIT" ingest -q --once --input "$W/d/input.ndjson" -b "$BROKERS" -t "$T" --schema "$TEST_SCHEMA" --state-dir "$W/state"
  run --separate-stderr "$PIPEKIT" load --once --restarts 1 --sink-retries 1 -b "$BROKERS" -t "$T" -G down \
    --schema "$TEST_SCHEMA" --state-dir "$W/state" -d "host=127.0.0.1 port=1 connect_timeout=2"
  echo "$stderr" | tail -20
  [ "$status" -eq 3 ]
  [ "$(tail -1 <<<"$output" | jq -r .failed_stage)" = pgload ]
  grep -q '^\[pgload\] ' <<<"$stderr"
}

@test "load --sink files: exactly the valid users in complete Parquet files, no temporary file left" {
  PY=$PIPEKIT_BUILD/venv/bin/python
  [ -x "$PY" ] || fail "no $PY: run scripts/setup (pyarrow from PyPI reads the files back)"
  T=$(unique_topic files); new_topic "$T" 4
  run --separate-stderr "$PIPEKIT" ingest --once --input "$DATA/input.ndjson" -b "$BROKERS" -t "$T" \
    --schema "$TEST_SCHEMA" --state-dir "$W/state"
  assert_success
  run --separate-stderr "$PIPEKIT" load --once -b "$BROKERS" -t "$T" -G files --sink files \
    --dir "$W/lake" --format parquet --schema "$TEST_SCHEMA" --state-dir "$W/state"
  echo "$stderr" | tail -20
  assert_success
  [ "$(tail -1 <<<"$output" | jq -r .sink)" = files ]
  [ -z "$(find "$W/lake" -name '.*.tmp')" ] || fail "temporary files left in $W/lake"
  # Every valid user once, by id (a replay may only duplicate whole files; a
  # clean run has none).
  "$PY" -c '
import sys, glob, pyarrow.parquet as pq
ids = []
for f in glob.glob(sys.argv[1] + "/**/*.parquet", recursive=True):
    ids += pq.read_table(f, columns=["id"]).column("id").to_pylist()
print(len(ids), len(set(map(str, ids))))' "$W/lake" >"$W/counts"
  read -r total distinct <"$W/counts"
  valid=$(wc -l <"$DATA/valid.ndjson")
  [ "$total" -eq "$valid" ] || fail "$total ids in the files, $valid valid users"
  [ "$distinct" -eq "$valid" ] || fail "$distinct distinct ids, $valid valid users"
}
