# The crash and scale-out scenarios of `pipekit load`, shared by
# tests/integration/pipeline_crash.bats and pipeline_scale.bats (kmock or the
# run's cluster) and kafka_cluster.bats (the real 3-broker cluster, with a
# broker SIGKILLed mid-load). Load after ../support/pipeline/helpers; they
# use $W (the test's directory), $DATA, $BROKERS and set $T.

# pipeline_topic NAME: the 8-partition topic a scenario loads from (a file
# may redefine it, e.g. with RF=3).
pipeline_topic() { new_topic "$1" 8; }

# run_beside PID_VAR CMD...: CMD in the background (a broker bounce beside
# the scenario); PID_VAR gets its PID. Nothing without CMD.
run_beside() {
  local var=$1; shift
  printf -v "$var" ''
  [ $# -gt 0 ] || return 0
  "$@" >"$W/beside.out" 2>&1 &
  printf -v "$var" %s $!
}

# wait_beside PID: its exit status (0 when nothing ran); shows its output.
wait_beside() {
  [ -n "$1" ] || return 0
  local st=0
  wait "$1" || st=$?
  cat "$W/beside.out"
  [ "$st" -eq 0 ] || { echo "the command beside the load failed ($st)" >&2; return 1; }
}

# ---- crash: stages SIGKILLed while a streaming load runs -------------------

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
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then break; fi
      sleep 0.1
    done
    sleep "0.$((RANDOM % 9 + 1))"
    if kill -KILL "$pid" 2>/dev/null; then
      kills=$((kills + 1))
      echo "# killed $v ($pid) after $SECONDS s" >&3
    fi
    # wait for the restart: a new PID for that stage
    for _ in $(seq 150); do
      if [ "$(stage_pid "$v")" != "$pid" ] && [ -n "$(stage_pid "$v")" ]; then break; fi
      sleep 0.1
    done
  done
  [ "$kills" -ge "$n" ] || { echo "only $kills of $n kills landed" >&2; return 1; }
}

# publish_unvalidated PREFIX: a new topic $T (pipeline_topic) holding the
# dataset as is (defective records too, so that the load rejects them).
publish_unvalidated() {
  T=$(unique_topic "$1"); pipeline_topic "$T"
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

# crash_to_postgres TABLE [CMD...]: the crash scenario with pgload: the
# dataset published unvalidated, a streaming load into TABLE while ksub,
# jvalidate and pgload are each SIGKILLed twice (and CMD runs beside it),
# then a batch run; the table must hold exactly the valid users, the rejects
# every defective one, and nothing be left for the group.
crash_to_postgres() {
  local table=$1 beside; shift
  publish_unvalidated "$table"
  start_streaming_load -G "$table" --table "$table" --schema "$TEST_SCHEMA" --batch-rows 1000
  run_beside beside "$@"
  kill_stages_twice ksub jvalidate pgload
  wait_beside "$beside"
  wait_settled "$table" 150 || { tail -30 "$W/load.err"; false; }
  stop_streaming_load
  grep -q 'killed by signal 9' "$W/load.err"

  # A batch run finishes what the streaming one left: whatever a stage still
  # held when it was stopped was never acknowledged, so it is read again.
  run --separate-stderr "$PIPEKIT" load --once -b "$BROKERS" -t "$T" -G "$table" --table "$table" \
    --schema "$TEST_SCHEMA" --state-dir "$W/state"
  echo "$stderr" | tail -5
  assert_success

  run check_pipeline "$DATA" "$table" "$W"/state/rejects/*.ndjson
  echo "$output" | tail -25
  assert_success

  # Everything was acknowledged and committed: nothing left for the group.
  run "$PIPEKIT" load --once --empty-exit 99 -b "$BROKERS" -t "$T" -G "$table" --table "$table" \
    --schema "$TEST_SCHEMA" --state-dir "$W/state"
  [ "$status" -eq 99 ]
}

# ---- scale-out: three load pipelines in one group --------------------------

start_load() { # start_load N: pipeline N in the background (PIDS[N])
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

# scale_out [CMD...]: pipelines 1-3 start one after another in group
# "scale" while the dataset arrives in five batches (CMD runs beside them
# once all three are up), 1 leaves and a fourth comes; then a batch run.
# Every valid user must be in users_scale exactly once, the rejects hold
# every defective one, and more than one member read records.
scale_out() {
  local beside ingest b n c busy=0 total=0 want
  T=$(unique_topic scale); pipeline_topic "$T"
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
  run_beside beside "$@"
  sleep 2
  stop_load 1              # leaves mid-stream: its partitions move to 2 and 3
  wait "$ingest" || { tail -20 "$W/ingest.err"; false; }
  start_load 4             # and comes back (as a fourth process)
  wait_beside "$beside"
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
  for n in 1 2 3 4 5; do
    c=$(tail -1 "$W/load$n.out" | jq .consumed)
    echo "# pipeline $n consumed $c" >&3
    echo "pipeline $n consumed $c"
    total=$((total + c))
    if [ "$c" -gt 0 ]; then busy=$((busy + 1)); fi
  done
  want=$(wc -l <"$DATA/valid.ndjson")
  [ "$total" -ge "$want" ] || { echo "only $total of $want valid users consumed" >&2; return 1; }
  [ "$busy" -ge 2 ]
}
