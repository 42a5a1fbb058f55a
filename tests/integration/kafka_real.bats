#!/usr/bin/env bats
# What a real Kafka cluster does that kmock did not: topics are never
# auto-created (a missing one is exit 2 at once), consumer groups commit on
# every partition after a rebalance, a stop signal does not wait
# message.timeout.ms for a broker that cannot be reached. Needs the cluster
# scripts/test starts (or KAFKA_BROKERS): kmock cannot show these.
load ../support/common

setup_file() {
  [ -n "${KAFKA_BROKERS:-}" ] ||
    { echo "# needs a real Kafka cluster: run scripts/test integration kafka_real (it starts one) or set KAFKA_BROKERS" >&3; return 1; }
  kafka_engine
  make_users 3000 "$BATS_FILE_TMPDIR/users.ndjson"
}

setup() {
  BROKERS=$KAFKA_BROKERS
  T=real_${BATS_TEST_NUMBER}_$RANDOM
}

teardown() {
  for p in ${BG_PIDS:-}; do kill "$p" 2>/dev/null || true; done
}

topic_exists() { ksub -q -b "$BROKERS" --list --json | jq -e --arg t "$1" '.topics | any(.topic == $t)' >/dev/null; }

@test "kpub to a missing topic: exit 2 at once, saying so; the topic is not created" {
  start=$SECONDS
  run timeout 60 kpub -b "$BROKERS" -t "$T" --failed "$BATS_TEST_TMPDIR/failed" < <(head -10 "$BATS_FILE_TMPDIR/users.ndjson")
  assert_failure 2
  assert_output --partial "topic $T does not exist"
  [ $((SECONDS - start)) -le 10 ]
  run topic_exists "$T"
  assert_failure
  # even when the client asks the broker to create topics, kpub does not
  run timeout 60 kpub -b "$BROKERS" -t "$T" </dev/null
  assert_failure 2
}

@test "ksub on a missing topic: exit 2 at once (with and without -G)" {
  run timeout 60 ksub -b "$BROKERS" -t "$T" -e
  assert_failure 2
  assert_output --partial "topic $T not found"
  run timeout 60 ksub -b "$BROKERS" -t "$T" -G g -e
  assert_failure 2
  run topic_exists "$T"
  assert_failure
}

@test "three ksub -G -e members on 8 partitions: every record once, committed offsets = end offsets on every partition" {
  ktopic create "$T:8"
  kpub -q -b "$BROKERS" -t "$T" -k login.uuid <"$BATS_FILE_TMPDIR/users.ndjson"
  for i in 1 2 3; do
    timeout 90 ksub -q -b "$BROKERS" -t "$T" -G "g$T" -e >"$BATS_TEST_TMPDIR/m$i" 2>"$BATS_TEST_TMPDIR/e$i" &
    BG_PIDS="$BG_PIDS $!"
  done
  for p in $BG_PIDS; do wait "$p"; done
  BG_PIDS=
  cat "$BATS_TEST_TMPDIR"/m? | sort >"$BATS_TEST_TMPDIR/all"
  [ "$(sort -u "$BATS_TEST_TMPDIR/all" | wc -l)" -eq 3000 ]
  run ksub -q -b "$BROKERS" -t "$T" -G "g$T" --offsets --json
  assert_success
  echo "$output"
  # every partition: committed == high watermark (lag 0)
  [ "$(jq -s 'length' <<<"$output")" -eq 8 ]
  run jq -s '[.[] | select(.committed != .high)] | length' <<<"$output"
  assert_output 0
}

@test "SIGTERM while no broker answers: kpub stops within seconds, every record in --failed, exit 3" {
  # a port nobody listens on: every record waits for a broker
  mkfifo "$BATS_TEST_TMPDIR/in"
  { head -20 "$BATS_FILE_TMPDIR/users.ndjson"; exec sleep 60; } >"$BATS_TEST_TMPDIR/in" &
  BG_PIDS=$!
  kpub -b 127.0.0.1:1 -t "$T" --failed "$BATS_TEST_TMPDIR/failed" <"$BATS_TEST_TMPDIR/in" 2>"$BATS_TEST_TMPDIR/err" &
  pid=$!
  sleep 3   # the records are read and wait for a broker
  start=$SECONDS
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  [ $((SECONDS - start)) -le 8 ]
  [ "$rc" -eq 3 ]
  [ "$(wc -l <"$BATS_TEST_TMPDIR/failed")" -eq 20 ]
  run jq -r .line "$BATS_TEST_TMPDIR/failed"
  assert_output "$(seq 1 20)"
}

@test "a group member whose stdout stalls longer than max.poll.interval.ms stays in the group: nothing lost or doubled, offsets right" {
  # 13 MB of users: more than ksub queues for stdout (8 MiB), so reading pauses twice
  make_users 12000 "$BATS_TEST_TMPDIR/users.ndjson"
  ktopic create "$T:4"
  kpub -q -b "$BROKERS" -t "$T" -k login.uuid <"$BATS_TEST_TMPDIR/users.ndjson"
  mkfifo "$BATS_TEST_TMPDIR/out.fifo"
  timeout 120 ksub -b "$BROKERS" -t "$T" -G "g$T" -e --envelope \
    -X session.timeout.ms=6000 -X max.poll.interval.ms=6000 >"$BATS_TEST_TMPDIR/out.fifo" 2>"$BATS_TEST_TMPDIR/err" &
  BG_PIDS=$!
  # the reader stops twice, each time for longer than max.poll.interval.ms
  { head -c 1000000; sleep 10; head -c 3000000; sleep 8; cat; } <"$BATS_TEST_TMPDIR/out.fifo" >"$BATS_TEST_TMPDIR/out"
  rc=0
  wait "$BG_PIDS" || rc=$?
  BG_PIDS=
  cat "$BATS_TEST_TMPDIR/err"
  [ "$rc" -eq 0 ]
  # every user exactly once, each partition in offset order without a gap
  diff <(jq -cS . "$BATS_TEST_TMPDIR/users.ndjson" | sort) <(jq -cS .value "$BATS_TEST_TMPDIR/out" | sort)
  run jq -rs 'group_by(.partition) | map(. as $p | [range(0; $p | length)] == ($p | map(.offset))) | all' "$BATS_TEST_TMPDIR/out"
  assert_output true
  # never evicted: one assignment, no rebalance, no poll-interval warning; the bottleneck said once
  [ "$(grep -c "group g$T: assigned" "$BATS_TEST_TMPDIR/err")" -eq 1 ]
  run grep -ci -E "poll interval|unknown member|rebalance" "$BATS_TEST_TMPDIR/err"
  assert_output 0
  [ "$(grep -c 'downstream is the bottleneck' "$BATS_TEST_TMPDIR/err")" -eq 1 ]
  run ksub -q -b "$BROKERS" -t "$T" -G "g$T" --offsets --json
  run jq -s '[.[] | select(.committed != .high)] | length' <<<"$output"
  assert_output 0
}

@test "compacted topic: a record without a key fails alone, rejected with the broker's reason; the others are delivered" {
  ktopic create "$T:2" cleanup.policy=compact
  for i in $(seq 1 10); do
    case $i in
      5) echo "{\"value\":{\"n\":$i}}" ;;              # no key
      8) echo "{\"key\":null,\"value\":{\"n\":$i}}" ;;  # a null key
      *) echo "{\"key\":\"k$i\",\"value\":{\"n\":$i}}" ;;
    esac
  done >"$BATS_TEST_TMPDIR/in"
  run timeout 60 kpub -b "$BROKERS" -t "$T" --envelope --rejects "$BATS_TEST_TMPDIR/rejects" \
    --failed "$BATS_TEST_TMPDIR/failed" <"$BATS_TEST_TMPDIR/in"
  echo "$output"
  assert_output --partial "published 8, rejected 2, failed 0"
  run jq -r '"\(.line) \(.reason)"' "$BATS_TEST_TMPDIR/rejects"
  assert_line --index 0 --partial "5 no key, and topic $T is compacted (cleanup.policy=compact)"
  assert_line --index 1 --partial "8 no key"
  assert_output --partial INVALID_RECORD
  [ ! -s "$BATS_TEST_TMPDIR/failed" ]
  run bash -c "timeout 60 ksub -q -b $BROKERS -t $T -e --envelope | jq -r .key | sort -V | paste -sd ' '"
  assert_output "k1 k2 k3 k4 k6 k7 k9 k10"
  # a plain topic takes keyless records as before
  ktopic create "${T}_plain:1"
  run timeout 60 kpub -b "$BROKERS" -t "${T}_plain" --envelope <"$BATS_TEST_TMPDIR/in"
  assert_success
  assert_output --partial "published 10, rejected 0"
}

@test "transactional topic (read_committed): -e ends and counts exactly; a group's committed offsets reach the end, past the markers" {
  ktopic create "$T:3"
  # 3,000 records in transactions of ~100 ms, written by Kafka's own producer
  "$PIPEKIT_ROOT/scripts/servers" kafka tool org.apache.kafka.tools.ProducerPerformance --topic "$T" \
    --num-records 3000 --record-size 64 --throughput -1 --transactional-id "tx$T" --transaction-duration-ms 100 \
    --producer-props "bootstrap.servers=$BROKERS" >"$BATS_TEST_TMPDIR/perf" 2>&1 ||
    { cat "$BATS_TEST_TMPDIR/perf"; fail "the transactional producer failed"; }
  run ksub -q -b "$BROKERS" -t "$T" --offsets --json
  offsets=$(jq -s 'map(.high - .low) | add' <<<"$output")
  [ "$offsets" -gt 3000 ]  # commit markers take offsets too
  for g in "" "-G g$T"; do
    run bash -c "timeout 60 ksub -q -b $BROKERS -t $T $g -e | wc -l"
    assert_output 3000
  done
  run bash -c "timeout 60 ksub -q -b $BROKERS -t $T -e --envelope | jq -r '\"\(.partition) \(.offset)\"' | sort -u | wc -l"
  assert_output 3000
  # the group read everything: lag 0, committed = high on every partition written to
  run ksub -q -b "$BROKERS" -t "$T" -G "g$T" --offsets --json
  echo "$output"
  run jq -s '[.[] | select(.lag != 0 or (.high > .low and .committed != .high))] | length' <<<"$output"
  assert_output 0
}
