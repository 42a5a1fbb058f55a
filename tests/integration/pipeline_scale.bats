#!/usr/bin/env bats
# Scale-out: a 3-broker kmock cluster, an 8-partition topic, and three
# `pipekit load` pipelines in one consumer group, started and stopped at
# different times (so the group rebalances while records flow). Every
# valid user must land exactly once.
load ../support/common
load ../support/pipeline/helpers
bats_require_minimum_version 1.5.0

TOOLS=("${PIPELINE_TOOLS[@]}")

setup_file() { pipeline_setup_file 30000 -n 3; }

teardown_file() {
  stop_kmock
  stop_postgres
}

setup() {
  require_tools "${TOOLS[@]}"
  W=$BATS_TEST_TMPDIR
  PIDS=()
}

teardown() {
  local p
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  return 0
}

start_load() { # start_load N: pipeline N in the background
  "$PIPEKIT" load --no-lock -b "$BROKERS" -t "$T" -G scale --table users_scale --schema "$TEST_SCHEMA" \
    --state-dir "$W/s$1" --rejects "$W/rejects.$1.ndjson" >"$W/load$1.out" 2>"$W/load$1.err" &
  PIDS[$1]=$!
}
stop_load() { # SIGTERM, then its exit status must be 0
  local st=0
  kill -TERM "${PIDS[$1]}"
  wait "${PIDS[$1]}" || st=$?
  [ "$st" -eq 0 ] || { echo "pipeline $1 exited $st"; tail -20 "$W/load$1.err"; return 1; }
}

@test "three load pipelines in one group, joining and leaving: every valid user exactly once" {
  T=$(unique_topic scale); new_topic "$T" 8
  start_load 1
  sleep 2
  # records arrive while the group changes: five batches, 1.5 s apart (one
  # batch at once was seen read whole by the first member before the
  # others had joined)
  split -n l/5 -d "$DATA/input.ndjson" "$W/batch."
  (
    for b in "$W"/batch.*; do
      "$PIPEKIT" ingest --once --input "$b" -b "$BROKERS" -t "$T" --schema "$TEST_SCHEMA" \
        --state-dir "$W/s0.${b##*.}" || exit 1
      sleep 1.5
    done
  ) >"$W/ingest.out" 2>"$W/ingest.err" &
  ingest=$!
  start_load 2
  sleep 2
  start_load 3
  sleep 2
  stop_load 1              # leaves mid-stream: its partitions move to 2 and 3
  wait "$ingest" || { tail -20 "$W/ingest.err"; false; }
  start_load 4             # and comes back (as a fourth process)
  wait_settled users_scale 120 || { tail -20 "$W"/load*.err; false; }
  for n in 2 3 4; do stop_load "$n"; done
  PIDS=()
  # one batch run in the same group finishes what the streaming ones left
  # in flight when they were stopped (unacknowledged, so read again)
  run "$PIPEKIT" load --once -b "$BROKERS" -t "$T" -G scale --table users_scale --schema "$TEST_SCHEMA" \
    --state-dir "$W/s5" --rejects "$W/rejects.5.ndjson"
  assert_success
  echo "$output" | tail -1 >"$W/load5.out"

  run check_pipeline "$DATA" users_scale "$W"/s0.*/rejects/*.ndjson "$W"/rejects.*.ndjson
  echo "$output" | tail -25
  assert_success
  # every record was read at least once, by more than one member
  busy=0 total=0
  for n in 1 2 3 4 5; do
    c=$(tail -1 "$W/load$n.out" | jq .consumed)
    echo "# pipeline $n consumed $c" >&3
    echo "pipeline $n consumed $c"
    total=$((total + c))
    [ "$c" -gt 0 ] && busy=$((busy + 1))
  done
  [ "$total" -ge 28500 ]
  [ "$busy" -ge 2 ]
}
