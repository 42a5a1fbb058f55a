#!/usr/bin/env bats
# test-timeout: 1800 (scripts/test's limit for this file: a 3-broker cluster to start,
# up to 420 s of leader kills, then reads bounded at 180 s; the default 600 s is too short)
# Faults on a real 3-broker Apache Kafka cluster (KRaft, RF=3), started once
# by this file on loopback 127.0.0.1-3 (port PIPEKIT_KAFKA_CLUSTER_PORT, 9292):
# partition leaders SIGKILLed 20 times and restarted while kpub publishes
# 200,000 users, a broker restart while ksub -G, --offsets and --since run,
# and the pipeline's crash and scale-out tests (tests/support/pipeline/load.bash)
# with a broker SIGKILLed mid-load. Bounded: the fault test takes 3-6 minutes
# (with the machine's load), the others under a minute each.
load ../support/common
load ../support/pipeline/helpers
load ../support/pipeline/load
bats_require_minimum_version 1.5.0

setup_file() {
  export CL_DIR=$BATS_FILE_TMPDIR/kafka-cluster
  export PIPEKIT_KAFKA_PORT=${PIPEKIT_KAFKA_CLUSTER_PORT:-9292}
  "$PIPEKIT_ROOT/scripts/servers" kafka start --brokers 3 --dir "$CL_DIR" >"$BATS_FILE_TMPDIR/start.out" 2>&1 ||
    "$PIPEKIT_ROOT/scripts/servers" kafka start --brokers 3 --dir "$CL_DIR" >"$BATS_FILE_TMPDIR/start.out" 2>&1 ||
    { cat "$BATS_FILE_TMPDIR/start.out" >&3; echo "# Kafka (3 brokers) did not start: run scripts/setup" >&3; return 1; }
  export CB=$(tail -n1 "$BATS_FILE_TMPDIR/start.out")
  echo "# engine: Apache Kafka 4.1.1, 3 brokers (KRaft, PLAINTEXT) at $CB" >&3
  # the pipeline tests: a dataset (5% defective) and a private PostgreSQL
  [ -z "$(missing_tools "${PIPELINE_TOOLS[@]}")" ] || return 0
  export DATA=$BATS_FILE_TMPDIR/data BROKERS=$CB
  make_dataset 30000 "$DATA"
  start_postgres
}

teardown_file() {
  stop_postgres
  if [ -n "${CL_DIR:-}" ]; then "$PIPEKIT_ROOT/scripts/servers" kafka stop --dir "$CL_DIR" >/dev/null 2>&1 || true; fi
}

setup() {
  T=faults_${BATS_TEST_NUMBER}_$RANDOM
  W=$BATS_TEST_TMPDIR
  PIDS=()
}

teardown() {
  for p in ${BG_PIDS:-}; do kill "$p" 2>/dev/null || true; done
  # pipekit loads stop their stages on SIGTERM
  local loads=(${LOAD_PID:-} "${PIDS[@]}")
  if [ ${#loads[@]} -gt 0 ]; then
    kill -TERM "${loads[@]}" 2>/dev/null || true
    sleep 2
    kill -KILL "${loads[@]}" 2>/dev/null || true
  fi
  # every node up again for the next test
  for n in 1 2 3; do node start "$n" 2>/dev/null || true; done
}

node() { "$PIPEKIT_ROOT/scripts/servers" kafka node "$1" "$2" --dir "$CL_DIR"; }
topic() { "$PIPEKIT_BUILD/bench/ktopic" -b "$CB" create "$@"; }
leader_of() { # topic partition
  ksub -q -b "$CB" -t "$1" --list --json | jq -r --argjson p "$2" '.topics[0].partitions[] | select(.partition == $p) | .leader'
}
# Wait (at most 30 s) until every partition of the topic has all 3 replicas in sync.
all_in_sync() {
  for _ in $(seq 60); do
    if [ "$(ksub -q -b "$CB" -t "$1" --list --json | jq '[.topics[0].partitions[] | select((.isrs | length) < 3)] | length')" = 0 ]; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}

# Users numbered by "seq", in input order.
numbered_users() {
  make_users "$1" "$BATS_TEST_TMPDIR/raw"
  awk '{ print "{\"seq\":" NR "," substr($0, 2) }' "$BATS_TEST_TMPDIR/raw" >"$2"
}

# The input is paced by the kills: chunk i of 40 goes to kpub once i/2 - 1/2
# leaders were killed, and stdin closes only after the 20th, so that every
# kill lands while kpub publishes (a fixed pace let the input end after 6-8).
paced_by_kills() { # FILE KILLS_FILE KILLS CHUNKS
  local i w
  split -n l/"$4" -d -a 3 "$1" "$BATS_TEST_TMPDIR/chunk."
  for ((i = 0; i <= $4; i++)); do
    for ((w = 0; w < 600; w++)); do # at most 60 s per step
      if [ "$(cat "$2" 2>/dev/null || echo 0)" -ge $((i * $3 / $4)) ]; then break; fi
      sleep 0.1
    done
    if [ "$i" -lt "$4" ]; then cat "$BATS_TEST_TMPDIR/chunk.$(printf %03d "$i")"; fi
  done
  return 0
}

@test "kpub of 200,000 keyed users to RF=3, min.insync.replicas=2 while partition leaders are SIGKILLed 20 times and restarted: every record once, order per key kept" {
  # engine: Apache Kafka 4.1.1, 3 brokers (KRaft) started by this file
  n=${PIPEKIT_FAULT_USERS:-200000} want=20
  numbered_users "$n" "$BATS_TEST_TMPDIR/users"
  topic "$T:6:3" min.insync.replicas=2
  echo 0 >"$BATS_TEST_TMPDIR/kills"
  # keyed by nationality: many records per key
  paced_by_kills "$BATS_TEST_TMPDIR/users" "$BATS_TEST_TMPDIR/kills" "$want" 40 |
    timeout 400 kpub -b "$CB" -t "$T" -k nat --failed "$BATS_TEST_TMPDIR/failed" >"$BATS_TEST_TMPDIR/kpub.out" 2>&1 &
  kp=$!
  BG_PIDS=$kp
  kills=0 start=$SECONDS
  while kill -0 "$kp" 2>/dev/null && [ "$kills" -lt "$want" ] && [ $((SECONDS - start)) -lt 420 ]; do
    all_in_sync "$T" || fail "replicas not back in sync within 30 s"
    leader=$(leader_of "$T" $((kills % 6)))
    case $leader in 1 | 2 | 3) ;; *) sleep 0.5; continue ;; esac
    node kill "$leader"
    kills=$((kills + 1))
    echo "$kills" >"$BATS_TEST_TMPDIR/kills.new" && mv "$BATS_TEST_TMPDIR/kills.new" "$BATS_TEST_TMPDIR/kills"
    sleep 1
    node start "$leader"
  done
  echo "# $kills partition leaders SIGKILLed and restarted in $((SECONDS - start)) s while kpub published $n users" >&3
  rc=0
  wait "$kp" || rc=$?
  BG_PIDS=
  tail -20 "$BATS_TEST_TMPDIR/kpub.out"
  [ "$kills" -eq "$want" ] || fail "only $kills of $want leaders killed while kpub ran"
  grep -qi 'fatal' "$BATS_TEST_TMPDIR/kpub.out" && fail "kpub reported a fatal producer error"
  # read back: no record twice; with --failed, every record is in exactly one place
  timeout 180 ksub -q -b "$CB" -t "$T" -e --envelope | jq -r '[.key, .value.seq] | @tsv' >"$BATS_TEST_TMPDIR/out"
  cut -f2 "$BATS_TEST_TMPDIR/out" | sort -n >"$BATS_TEST_TMPDIR/seen"
  run bash -c "uniq -d '$BATS_TEST_TMPDIR/seen' | wc -l"
  assert_output 0
  touch "$BATS_TEST_TMPDIR/failed"
  jq -r .value.seq "$BATS_TEST_TMPDIR/failed" | sort -n >"$BATS_TEST_TMPDIR/failed.seq"
  run bash -c "sort -n -m '$BATS_TEST_TMPDIR/seen' '$BATS_TEST_TMPDIR/failed.seq' | uniq -d | wc -l"
  assert_output 0
  run bash -c "sort -n -m '$BATS_TEST_TMPDIR/seen' '$BATS_TEST_TMPDIR/failed.seq' | uniq | wc -l"
  assert_output "$n"
  if [ "$rc" -eq 0 ]; then [ ! -s "$BATS_TEST_TMPDIR/failed" ]; fi
  echo "# kpub exit $rc, $(wc -l <"$BATS_TEST_TMPDIR/failed") records in --failed" >&3
  # order per key: within each key (one partition), seq only grows
  run awk -F'\t' '$1 in last && $2 + 0 <= last[$1] { bad++ } { last[$1] = $2 + 0 } END { print bad + 0 }' "$BATS_TEST_TMPDIR/out"
  assert_output 0
}

@test "a broker SIGKILLed and restarted while ksub -G, --offsets and --since run: none hangs, every record once, offsets right" {
  numbered_users 12000 "$BATS_TEST_TMPDIR/users"
  topic "$T:3:3"
  head -5000 "$BATS_TEST_TMPDIR/users" | kpub -q -b "$CB" -t "$T" -k login.uuid
  timeout 120 ksub -b "$CB" -t "$T" -G "g$T" -c 12000 --envelope >"$BATS_TEST_TMPDIR/member" 2>"$BATS_TEST_TMPDIR/member.err" &
  member=$!
  BG_PIDS=$member
  for _ in $(seq 100); do if [ "$(wc -l <"$BATS_TEST_TMPDIR/member")" -ge 5000 ]; then break; fi; sleep 0.2; done
  node kill 1
  # one broker down: publishing, --offsets and --since still answer
  sed -n 5001,10000p "$BATS_TEST_TMPDIR/users" | timeout 120 kpub -q -b "$CB" -t "$T" -k login.uuid
  run timeout 60 ksub -q -b "$CB" -t "$T" -G "g$T" --offsets --json
  assert_success
  run bash -c "timeout 60 ksub -q -b '$CB' -t '$T' --since 1h -e | wc -l"
  assert_output 10000
  node start 1
  sed -n '10001,$p' "$BATS_TEST_TMPDIR/users" | timeout 120 kpub -q -b "$CB" -t "$T" -k login.uuid
  rc=0
  wait "$member" || rc=$?
  BG_PIDS=
  cat "$BATS_TEST_TMPDIR/member.err"
  [ "$rc" -eq 0 ]
  # every record exactly once, and the group committed the end of every partition
  run bash -c "jq -r .value.seq '$BATS_TEST_TMPDIR/member' | sort -u | wc -l"
  assert_output 12000
  for _ in $(seq 20); do
    run timeout 60 ksub -q -b "$CB" -t "$T" -G "g$T" --offsets --json
    if [ "$(jq -s '[.[] | select(.committed != .high)] | length' <<<"$output")" = 0 ]; then break; fi
    sleep 0.5
  done
  echo "$output"
  run jq -s '[.[] | select(.committed != .high)] | length' <<<"$output"
  assert_output 0
}

# The pipeline tests load from topics as users run them: RF=3, min.insync.replicas=2.
pipeline_topic() { topic "$1:8:3" min.insync.replicas=2; }

# bounce_broker: after 1-4 s, SIGKILL a random broker, and start it again 3 s later.
bounce_broker() {
  local n=$((RANDOM % 3 + 1))
  sleep $((RANDOM % 4 + 1))
  node kill "$n"
  echo "# broker $n SIGKILLed after $SECONDS s" >&3
  sleep 3
  node start "$n"
  echo "# broker $n up again after $SECONDS s" >&3
}

@test "pipekit load (ksub -G | jvalidate | pgload) with its stages SIGKILLed at random moments and a broker SIGKILLed and restarted mid-load: table exact" {
  # engine: Apache Kafka 4.1.1, 3 brokers (KRaft) started by this file; RF=3, min.insync.replicas=2; PostgreSQL
  require_tools "${PIPELINE_TOOLS[@]}"
  crash_to_postgres users_crash bounce_broker
}

@test "three load pipelines in one group, joining and leaving, and a broker SIGKILLed and restarted mid-load: every valid user exactly once" {
  # engine: Apache Kafka 4.1.1, 3 brokers (KRaft) started by this file; RF=3, min.insync.replicas=2; PostgreSQL
  require_tools "${PIPELINE_TOOLS[@]}"
  scale_out bounce_broker
}
