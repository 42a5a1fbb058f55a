#!/usr/bin/env bats
# Faults on a real 3-broker Apache Kafka cluster (KRaft, RF=3), started once
# by this file on loopback 127.0.0.1-3 (port PIPEKIT_KAFKA_CLUSTER_PORT, 9292):
# partition leaders SIGKILLed and restarted while kpub publishes, and a broker
# restart while ksub -G, --offsets and --since run. Bounded: about 2 minutes
# per test.
load ../support/common

setup_file() {
  export CL_DIR=$BATS_FILE_TMPDIR/kafka-cluster
  export PIPEKIT_KAFKA_PORT=${PIPEKIT_KAFKA_CLUSTER_PORT:-9292}
  "$PIPEKIT_ROOT/scripts/servers" kafka start --brokers 3 --dir "$CL_DIR" >"$BATS_FILE_TMPDIR/start.out" 2>&1 ||
    "$PIPEKIT_ROOT/scripts/servers" kafka start --brokers 3 --dir "$CL_DIR" >"$BATS_FILE_TMPDIR/start.out" 2>&1 ||
    { cat "$BATS_FILE_TMPDIR/start.out" >&3; echo "# Kafka (3 brokers) did not start: run scripts/setup" >&3; return 1; }
  export CB=$(tail -n1 "$BATS_FILE_TMPDIR/start.out")
  echo "# engine: Apache Kafka 4.1.1, 3 brokers (KRaft, PLAINTEXT) at $CB" >&3
}

teardown_file() {
  [ -n "${CL_DIR:-}" ] && "$PIPEKIT_ROOT/scripts/servers" kafka stop --dir "$CL_DIR" >/dev/null 2>&1 || true
}

setup() { T=faults_${BATS_TEST_NUMBER}_$RANDOM; }

teardown() {
  for p in ${BG_PIDS:-}; do kill "$p" 2>/dev/null || true; done
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
    [ "$(ksub -q -b "$CB" -t "$1" --list --json | jq '[.topics[0].partitions[] | select((.isrs | length) < 3)] | length')" = 0 ] &&
      return 0
    sleep 0.5
  done
  return 1
}

# Users numbered by "seq", in input order.
numbered_users() {
  make_users "$1" "$BATS_TEST_TMPDIR/raw"
  awk '{ print "{\"seq\":" NR "," substr($0, 2) }' "$BATS_TEST_TMPDIR/raw" >"$2"
}

@test "kpub to RF=3, min.insync.replicas=2 while partition leaders are SIGKILLed and restarted: every record once, order per key kept" {
  n=${PIPEKIT_FAULT_USERS:-50000}
  numbered_users "$n" "$BATS_TEST_TMPDIR/users"
  topic "$T:6:3" min.insync.replicas=2
  split -n l/20 "$BATS_TEST_TMPDIR/users" "$BATS_TEST_TMPDIR/chunk."
  # paced input (20 chunks, 2 s apart), keyed by nationality: many records per key
  { for f in "$BATS_TEST_TMPDIR"/chunk.*; do cat "$f"; sleep 2; done; } |
    timeout 300 kpub -b "$CB" -t "$T" -k nat --failed "$BATS_TEST_TMPDIR/failed" >"$BATS_TEST_TMPDIR/kpub.out" 2>&1 &
  kp=$!
  BG_PIDS=$kp
  kills=0
  while kill -0 "$kp" 2>/dev/null && [ "$kills" -lt 20 ]; do
    all_in_sync "$T" || fail "replicas not back in sync within 30 s"
    leader=$(leader_of "$T" $((kills % 6)))
    case $leader in 1 | 2 | 3) ;; *) sleep 0.5; continue ;; esac
    node kill "$leader"
    kills=$((kills + 1))
    sleep 1
    node start "$leader"
  done
  rc=0
  wait "$kp" || rc=$?
  BG_PIDS=
  cat "$BATS_TEST_TMPDIR/kpub.out"
  echo "# $kills partition leaders SIGKILLed and restarted while kpub published $n users" >&3
  [ "$kills" -ge 3 ]
  # read back: no record twice; with --failed, every record is in exactly one place
  timeout 120 ksub -q -b "$CB" -t "$T" -e --envelope >"$BATS_TEST_TMPDIR/out"
  jq -r .value.seq "$BATS_TEST_TMPDIR/out" | sort -n >"$BATS_TEST_TMPDIR/seen"
  run bash -c "uniq -d '$BATS_TEST_TMPDIR/seen' | wc -l"
  assert_output 0
  touch "$BATS_TEST_TMPDIR/failed"
  jq -r .value.seq "$BATS_TEST_TMPDIR/failed" | sort -n >"$BATS_TEST_TMPDIR/failed.seq"
  run bash -c "sort -n -m '$BATS_TEST_TMPDIR/seen' '$BATS_TEST_TMPDIR/failed.seq' | uniq | wc -l"
  assert_output "$n"
  if [ "$rc" -eq 0 ]; then [ ! -s "$BATS_TEST_TMPDIR/failed" ]; fi
  # order per key: within each key (one partition), seq only grows
  run jq -rs 'group_by(.key) | map(map(.value.seq) | . == sort) | all' "$BATS_TEST_TMPDIR/out"
  assert_output true
}

@test "a broker SIGKILLed and restarted while ksub -G, --offsets and --since run: none hangs, every record once, offsets right" {
  numbered_users 12000 "$BATS_TEST_TMPDIR/users"
  topic "$T:3:3"
  head -5000 "$BATS_TEST_TMPDIR/users" | kpub -q -b "$CB" -t "$T" -k login.uuid
  timeout 120 ksub -b "$CB" -t "$T" -G "g$T" -c 12000 --envelope >"$BATS_TEST_TMPDIR/member" 2>"$BATS_TEST_TMPDIR/member.err" &
  member=$!
  BG_PIDS=$member
  for _ in $(seq 100); do [ "$(wc -l <"$BATS_TEST_TMPDIR/member")" -ge 5000 ] && break; sleep 0.2; done
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
    [ "$(jq -s '[.[] | select(.committed != .high)] | length' <<<"$output")" = 0 ] && break
    sleep 0.5
  done
  echo "$output"
  run jq -s '[.[] | select(.committed != .high)] | length' <<<"$output"
  assert_output 0
}
