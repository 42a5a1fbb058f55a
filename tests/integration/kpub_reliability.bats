#!/usr/bin/env bats
# kpub loses nothing it accepted: delivery failures are reported record by
# record (--failed, exit 3) and can be fed back; SIGTERM mid-stream flushes
# what was accepted; envelopes (kcat -J, --failed) are re-published with
# their keys and headers.
load ../support/common

setup_file() {
  kafka_engine
  make_users 2000 "$BATS_FILE_TMPDIR/users.ndjson"
}

setup() {
  start_kmock
  USERS=$BATS_FILE_TMPDIR/users.ndjson
  T=kpubr_${BATS_TEST_NUMBER}_$RANDOM
}

teardown() {
  if [ -n "${GEN_PID:-}" ]; then kill "$GEN_PID" 2>/dev/null || true; fi
  stop_kmock
}

read_back() {
  local topic=$1
  shift
  timeout 60 kcat -C -b "$BROKERS" -t "$topic" -e -q "$@"
}

@test "broker down for the whole message.timeout.ms: every record in --failed, exit 3, then fed back" {
  require_kmock
  new_topic "$T" 4
  head -500 "$USERS" | kpub -q -b "$BROKERS" -t "$T" -k login.uuid   # the metadata is known
  kmock_cmd "broker down 1"
  run kpub -b "$BROKERS" -t "$T" -k login.uuid -H batch=2 -X message.timeout.ms=1500 \
    --failed "$BATS_TEST_TMPDIR/failed" < <(sed -n '501,1000p' "$USERS")
  assert_failure 3
  assert_output --partial "500 record(s) not delivered"
  assert_output --partial "they are in $BATS_TEST_TMPDIR/failed"
  assert_output --partial "published 0, rejected 0, failed 500"
  [ "$(wc -l <"$BATS_TEST_TMPDIR/failed")" -eq 500 ]
  run jq -r '[.error_code, .topic, .headers.batch] | @tsv' "$BATS_TEST_TMPDIR/failed"
  assert_line --index 0 "$(printf '_MSG_TIMED_OUT\t%s\t2' "$T")"
  # every failed record is there, with its key and its line number
  diff <(sed -n '501,1000p' "$USERS" | jq -c .) <(jq -sc 'sort_by(.line)[] | .value' "$BATS_TEST_TMPDIR/failed")
  run jq -sc '[.[] | .key == .value.login.uuid] | all' "$BATS_TEST_TMPDIR/failed"
  assert_output "true"
  run jq -sc '[.[].line] | sort | .[0], .[-1]' "$BATS_TEST_TMPDIR/failed"
  assert_output $'1\n500'

  # the cluster comes back: feed the failures back; keys and headers survive
  kmock_cmd "broker up 1"
  run kpub -b "$BROKERS" -t "$T" --envelope <"$BATS_TEST_TMPDIR/failed"
  assert_success
  assert_output --partial "published 500, rejected 0, failed 0"
  read_back "$T" -J >"$BATS_TEST_TMPDIR/back"
  [ "$(wc -l <"$BATS_TEST_TMPDIR/back")" -eq 1000 ]
  diff <(head -1000 "$USERS" | sort) <(jq -r .payload "$BATS_TEST_TMPDIR/back" | sort)
  run jq -sc '[.[] | .key == (.payload | fromjson | .login.uuid)] | all' "$BATS_TEST_TMPDIR/back"
  assert_output "true"
  run jq -sc '[.[] | select(.headers == ["batch","2"])] | length' "$BATS_TEST_TMPDIR/back"
  assert_output "500"
}

@test "without --failed, undelivered records are counted on stderr and the exit is still 3" {
  require_kmock
  new_topic "$T" 1
  kmock_cmd "broker down 1"
  run kpub -b "$BROKERS" -t "$T" -X message.timeout.ms=1000 < <(head -20 "$USERS")
  assert_failure 3
  assert_output --partial "line 1: not delivered: Local: Message timed out"
  assert_output --partial "20 record(s) not delivered"
}

@test "a record too large for the broker fails alone: exit 1, the others are published" {
  new_topic "$T" 1
  big=$(head -c 5000 /dev/zero | tr '\0' 'a')
  printf '{"n":1}\n{"big":"%s"}\n{"n":3}\n' "$big" >"$BATS_TEST_TMPDIR/in"
  run kpub -b "$BROKERS" -t "$T" -X message.max.bytes=2000 --failed "$BATS_TEST_TMPDIR/failed" <"$BATS_TEST_TMPDIR/in"
  assert_failure 1
  assert_output --partial "published 2, rejected 0, failed 1"
  run jq -c '[.line, .error_code]' "$BATS_TEST_TMPDIR/failed"
  assert_output '[2,"MSG_SIZE_TOO_LARGE"]'
  run read_back "$T"
  assert_output $'{"n":1}\n{"n":3}'
}

@test "a partition that does not exist: exit 2, the records in --failed" {
  new_topic "$T" 2
  head -1 "$USERS" | kpub -q -b "$BROKERS" -t "$T"
  run kpub -b "$BROKERS" -t "$T" -p 7 -X message.timeout.ms=3000 --failed "$BATS_TEST_TMPDIR/failed" < <(head -5 "$USERS")
  assert_failure 2
  assert_output --partial "5 record(s) not delivered"
  [ "$(wc -l <"$BATS_TEST_TMPDIR/failed")" -eq 5 ]
  run jq -r .partition "$BATS_TEST_TMPDIR/failed"
  assert_line --index 0 "7"
}

@test "SIGTERM mid-stream: kpub stops reading, flushes everything it accepted, exits 0" {
  # kmock keeps ~5 MB per partition: 16 partitions hold what 2 s can bring.
  new_topic "$T" 16
  mkfifo "$BATS_TEST_TMPDIR/in"
  # An endless, slow producer (~2,000 records/s): kpub is always mid-stream.
  python3 -c '
import sys, time
lines = open(sys.argv[1]).read().splitlines()
i = 0
while True:
    sys.stdout.write(lines[i % len(lines)] + "\n"); sys.stdout.flush()
    i += 1
    if i % 20 == 0:
        open(sys.argv[2], "w").write(str(i)); time.sleep(0.01)
' "$USERS" "$BATS_TEST_TMPDIR/written" >"$BATS_TEST_TMPDIR/in" 2>/dev/null &
  GEN_PID=$!
  kpub -b "$BROKERS" -t "$T" -X linger.ms=500 --stats "$BATS_TEST_TMPDIR/stats.json" \
    <"$BATS_TEST_TMPDIR/in" 2>"$BATS_TEST_TMPDIR/err" &
  pid=$!
  # Mid-stream, however loaded the machine: the generator blocks on the FIFO,
  # so 400 lines written means kpub has read most of them (bounded: 60 s).
  for _ in $(seq 600); do
    if [ "$(cat "$BATS_TEST_TMPDIR/written" 2>/dev/null || echo 0)" -ge 400 ]; then break; fi
    sleep 0.1
  done
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  kill "$GEN_PID" 2>/dev/null; GEN_PID=
  [ "$rc" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/err"; fail "exit $rc"; }
  run cat "$BATS_TEST_TMPDIR/err"
  assert_output --partial "stopping on signal"
  published=$(jq .records_out "$BATS_TEST_TMPDIR/stats.json")
  read_in=$(jq .records_in "$BATS_TEST_TMPDIR/stats.json")
  [ "$published" -gt 100 ]
  [ "$published" -eq "$read_in" ] || fail "read $read_in, published $published"
  [ "$(jq .failed "$BATS_TEST_TMPDIR/stats.json")" -eq 0 ]
  [ "$(read_back "$T" | wc -l)" -eq "$published" ]
}

@test "--envelope re-publishes kcat -J output exactly: payload bytes, keys, headers" {
  new_topic "$T" 4
  new_topic "${T}_copy" 4
  { head -300 "$USERS"; echo 'plain text, not JSON'; echo '{"spaced": 1 }'; } >"$BATS_TEST_TMPDIR/src"
  # kcat -P carries no headers per line: give them via kpub, keyed
  kcat -P -b "$BROKERS" -t "$T" -K '|' < <(awk '{print "k" NR "|" $0}' "$BATS_TEST_TMPDIR/src")
  read_back "$T" -J | kpub -b "$BROKERS" -t "${T}_copy" --envelope -H via=kpub
  diff <(read_back "$T" -J | jq -c '[.key, .payload]' | sort) \
       <(read_back "${T}_copy" -J | jq -c '[.key, .payload]' | sort)
  run bash -c "kcat -C -b $BROKERS -t ${T}_copy -e -q -J | jq -c .headers | sort -u"
  assert_output '["via","kpub"]'
}

@test "--envelope with pipekit envelopes: value JSON or text, null is a tombstone, --keep-* coordinates" {
  new_topic "$T" 4
  new_topic other 2
  cat >"$BATS_TEST_TMPDIR/env" <<JSON
{"topic":"other","partition":1,"offset":5,"timestamp":1700000000000,"key":"k1","headers":{"h":"1"},"value":{"a":[1,2]}}
{"topic":"other","partition":0,"offset":6,"timestamp":1700000000001,"key":null,"headers":{},"value":"text payload"}
{"topic":"other","partition":1,"offset":7,"timestamp":1700000000002,"key":"k3","value":null}
{"no":"value here"}
JSON
  run kpub -b "$BROKERS" -t "$T" --envelope --keep-partition --keep-timestamp --rejects "$BATS_TEST_TMPDIR/rej" <"$BATS_TEST_TMPDIR/env"
  assert_success
  assert_output --partial "published 3, rejected 1"
  run jq -r .reason "$BATS_TEST_TMPDIR/rej"
  assert_output --partial "not an envelope"
  run bash -c "kcat -C -b $BROKERS -t $T -e -q -f '%p|%T|%k|%h|%s|%S\n' | sort"
  assert_line --index 0 '0|1700000000001|||text payload|12'
  assert_line --index 1 '1|1700000000000|k1|h=1|{"a":[1,2]}|11'
  assert_line --index 2 '1|1700000000002|k3|||-1'
  # --keep-topic sends to the envelope's topic
  head -1 "$BATS_TEST_TMPDIR/env" | kpub -q -b "$BROKERS" -t "$T" --envelope --keep-topic
  run read_back other
  assert_output '{"a":[1,2]}'
}

@test "undelivered records that cannot be written to --failed are not silently dropped (exit 4)" {
  require_kmock
  new_topic "$T" 1
  kmock_cmd "broker down 1"
  run kpub -b "$BROKERS" -t "$T" -X message.timeout.ms=1000 --failed /dev/full < <(head -20 "$USERS")
  assert_failure 4
  assert_output --partial "No space left on device"
}

# generated_and_read: the generator ($GEN_PID) has written its records (it is
# now the sleep it execs) and its reader has taken them all from the FIFO.
generated_and_read() {
  if [ "$(cat "/proc/$GEN_PID/comm" 2>/dev/null)" != sleep ]; then return 1; fi
  [ "$(fifo_unread "$BATS_TEST_TMPDIR/in")" -eq 0 ]
}

@test "a second SIGTERM while kpub waits on an unreachable broker exits at once" {
  require_kmock
  new_topic "$T" 1
  head -1 "$USERS" | kpub -q -b "$BROKERS" -t "$T"
  kmock_cmd "broker down 1"
  mkfifo "$BATS_TEST_TMPDIR/in"
  { head -10 "$USERS"; exec sleep 30; } >"$BATS_TEST_TMPDIR/in" &
  GEN_PID=$!
  kpub -b "$BROKERS" -t "$T" -X message.timeout.ms=60000 <"$BATS_TEST_TMPDIR/in" 2>"$BATS_TEST_TMPDIR/err" &
  pid=$!
  wait_until 10 generated_and_read   # kpub has read the 10 records
  kill -TERM "$pid"
  wait_until 10 grep -q "delivering the 10 message(s) in flight" "$BATS_TEST_TMPDIR/err"
  kill -0 "$pid"   # still waiting for the broker: the first signal does not drop anything
  start=$SECONDS
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 143 ]
  [ $((SECONDS - start)) -le 2 ]
  run cat "$BATS_TEST_TMPDIR/err"
  assert_output --partial "delivering the 10 message(s) in flight"
}

@test "transient produce errors are retried by the idempotent producer: nothing lost, doubled or reordered" {
  require_kmock
  new_topic "$T" 1
  head -1 "$USERS" >"$BATS_TEST_TMPDIR/in"
  kpub -q -b "$BROKERS" -t "$T" <"$BATS_TEST_TMPDIR/in"
  kmock_cmd "error Produce NOT_LEADER_FOR_PARTITION 3"
  kmock_cmd "error Produce REQUEST_TIMED_OUT 2"
  sed -n '2,1500p' "$USERS" >>"$BATS_TEST_TMPDIR/in"
  run kpub -b "$BROKERS" -t "$T" -X linger.ms=1 < <(sed -n '2,1500p' "$USERS")
  assert_success
  assert_output --partial "published 1499, rejected 0, failed 0"
  cmp "$BATS_TEST_TMPDIR/in" <(read_back "$T")
}
