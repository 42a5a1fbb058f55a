#!/usr/bin/env bats
# ksub as a user runs it: real processes, a kmock cluster started per test,
# data written by Debian's kcat, output checked with jq.
load ../support/common

setup() { start_kmock -t t:4 -t one:1; }
teardown() { stop_kmock; }

# kcat -P writes each line as a message to partition $2 (default: random).
produce() {
  local topic=$1; shift
  kcat -P -b "$BROKERS" -t "$topic" "$@"
}

@test "ksub: usage errors exit 2 with a clear message" {
  run ksub -b "$BROKERS" -e
  assert_failure 2; assert_output --partial "no topic"
  run ksub -b "$BROKERS" -t t -G g -p 1
  assert_failure 2; assert_output --partial "does not go with -G"
  run ksub -b "$BROKERS" -t '^t.*' -e
  assert_failure 2; assert_output --partial "regex needs a consumer group"
  run ksub -b "$BROKERS" -t t --commit-acks "$BATS_TEST_TMPDIR/acks" --envelope
  assert_failure 2; assert_output --partial "--commit-acks needs a consumer group"
  run ksub -b "$BROKERS" -t t -G g --commit-acks "$BATS_TEST_TMPDIR/acks"
  assert_failure 2; assert_output --partial "needs --envelope"
  run ksub -b "$BROKERS" -t t --template '%s' --envelope
  assert_failure 2; assert_output --partial "do not go together"
  run ksub -b "$BROKERS" -t t -o sometime
  assert_failure 2; assert_output --partial "expected beginning, end, stored"
  run ksub -b "$BROKERS" -t t -G g -o 5
  assert_failure 2; assert_output --partial "with -G, -o is beginning, end or stored"
  run ksub -b "$BROKERS" -t t -o stored
  assert_failure 2; assert_output --partial "needs a consumer group"
  run ksub -b "$BROKERS" -t t --since 10m -o end
  assert_failure 2
  run ksub -b "$BROKERS" -t t --since soon
  assert_failure 2; assert_output --partial "not a duration"
  run ksub -b "$BROKERS" -t t --template '%z'
  assert_failure 2; assert_output --partial "unknown token %z"
  run ksub -b "$BROKERS" -t t --json
  assert_failure 2
  run ksub -b "$BROKERS" -t t -c 0
  assert_failure 2
  run ksub -b "$BROKERS" -t t -p 9 -e
  assert_failure 2; assert_output --partial "no partition 9"
  [ ! -e "$BATS_TEST_TMPDIR/acks" ]
}

@test "ksub --dump-config: ksub's settings, secrets hidden, exit 0" {
  run ksub -b "$BROKERS" -t t -G g -X sasl.password=s3cret-value --dump-config
  assert_success
  assert_output --partial "enable.auto.offset.store=false"
  assert_output --partial "enable.auto.commit=true"
  assert_output --partial "group.id=g"
  assert_output --partial "sasl.password=[hidden]"
  refute_output --partial "s3cret-value"
  run ksub -b "$BROKERS" -t t -G g --commit-acks /tmp/x --envelope --dump-config
  assert_output --partial "enable.auto.commit=false"
}

@test "ksub: unreachable brokers exit 3" {
  run timeout 20 ksub -b 127.0.0.1:1 -t t -e -X socket.timeout.ms=1000
  assert_failure 3
  assert_output --partial "cannot get metadata"
}

@test "ksub -e: bare values; JSON as is, anything else as a JSON string; never invalid JSON" {
  printf '{"a":1}\nnot json\n42\n"s"\n' | produce one -p 0
  printf 'bin\xff\xfe\x01\x1f"\\end\n' | produce one -p 0
  run timeout 20 ksub -q -b "$BROKERS" -t one -e
  assert_success
  [ "${#lines[@]}" -eq 5 ]
  assert_line --index 0 '{"a":1}'
  assert_line --index 1 '"not json"'
  assert_line --index 2 '42'
  assert_line --index 3 '"s"'
  # Every line parses; the binary one is a string with U+FFFD for bad bytes.
  printf '%s\n' "${lines[@]}" | jq -e . >/dev/null
  run jq -r . <<<"${lines[4]}"
  assert_output $'bin\uFFFD\uFFFD\x01\x1f"\\end'
}

@test "ksub: a pretty-printed JSON payload becomes one line; a tombstone is null" {
  printf '{\n  "a": [1,\n 2]\n}\r\n' | produce one -p 0 -D '@@@'
  printf 'x\n' | produce one -p 0 -Z -K: <<<'k:'
  run timeout 20 ksub -q -b "$BROKERS" -t one -e
  assert_success
  assert_line --index 0 '{"a":[1,2]}'
  assert_line --index 1 'null'
}

@test "ksub --envelope: coordinates, key and headers from kcat -k/-H, value embedded or a string" {
  printf '{"id":1}\n' | produce one -p 0 -k user-1 -H source=test -H trace=abc
  printf 'plain\xff\n' | produce one -p 0
  run timeout 20 ksub -q -b "$BROKERS" -t one -e --envelope
  assert_success
  [ "${#lines[@]}" -eq 2 ]
  run jq -c '{topic,partition,offset,key,headers,value,ts:(.timestamp>0)}' <<<"${lines[0]}"
  assert_output '{"topic":"one","partition":0,"offset":0,"key":"user-1","headers":{"source":"test","trace":"abc"},"value":{"id":1},"ts":true}'
  run timeout 20 ksub -q -b "$BROKERS" -t one -e --envelope
  run jq -c '{offset,key,headers,value}' <<<"${lines[1]}"
  assert_output $'{"offset":1,"key":null,"headers":{},"value":"plain\uFFFD"}'
}

@test "ksub --template: kcat-like tokens and escapes" {
  printf 'k1:{"v":1}\n' | produce one -p 0 -K: -H h=1
  run timeout 20 ksub -q -b "$BROKERS" -t one -e --template '%t|%p|%o|%k|%K|%s|%S|%h|%%\t%T\n'
  assert_success
  assert_output --regexp $'^one\\|0\\|0\\|k1\\|2\\|\\{"v":1\\}\\|7\\|h=1\\|%\t[0-9]{13}$'
}

@test "ksub -p, -o N, -o -N, -o end, -o @TIMESTAMP, --since" {
  seq 1 5 | produce t -p 0
  seq 11 15 | produce t -p 1
  run timeout 20 ksub -q -b "$BROKERS" -t t -p 1 -e
  assert_output "$(seq 11 15)"
  run timeout 20 ksub -q -b "$BROKERS" -t t -p 0 -o 3 -e
  assert_output "$(seq 4 5)"
  run bash -c "timeout 20 ksub -q -b $BROKERS -t t -p 0 -p 1 -o -2 -e | sort -n"
  assert_output "$(printf '4\n5\n14\n15')"
  run timeout 20 ksub -q -b "$BROKERS" -t t -o end -e
  assert_success; assert_output ""
  # kmock's ListOffsets does not look up timestamps (it answers "no such
  # offset", which ksub reads as: start at the end); a real cluster does.
  ts=$(( $(date +%s%3N) + 1 ))
  sleep 0.05
  seq 6 7 | produce t -p 0
  run timeout 20 ksub -q -b "$BROKERS" -t t -o "@$ts" -e
  assert_success
  if [ -n "${KAFKA_BROKERS:-}" ]; then assert_output "$(seq 6 7)"; else assert_output ""; fi
  run timeout 20 ksub -q -b "$BROKERS" -t t --since 1h -e
  assert_success
  if [ -n "${KAFKA_BROKERS:-}" ]; then [ "${#lines[@]}" -eq 12 ]; fi
  run timeout 20 ksub -q -b "$BROKERS" -t t -o "@$(( $(date +%s%3N) + 60000 ))" -e
  assert_success
  assert_output ""
}

@test "ksub -o N past the end says so and starts at the end, never from the beginning" {
  # engine: kmock (or KAFKA_BROKERS). Issue #14: -o 99999999 used to replay from offset 0.
  seq 1 5 | produce t -p 0
  run timeout 20 ksub -b "$BROKERS" -t t -p 0 -o 99999999 -e
  assert_success
  refute_line 1
  assert_output --partial "t partition 0: offset 99999999 is past its end (5): starting at the end"
  # the end is where new records arrive
  timeout 20 ksub -q -b "$BROKERS" -t t -p 0 -o 99999999 -c 1 >"$BATS_TEST_TMPDIR/out" &
  reader=$!
  sleep 1
  echo 6 | produce t -p 0
  wait "$reader"
  [ "$(cat "$BATS_TEST_TMPDIR/out")" = 6 ]
}

@test "ksub --since / -o @TIMESTAMP: a partition with no record at or after the time is said; on kmock, why" {
  # engine: kmock (librdkafka's mock cluster does not look up offsets by time)
  seq 1 3 | produce t -p 0
  run timeout 20 ksub -b "$BROKERS" -t t -p 0 --since 1h -e
  assert_success
  if [ -z "${KAFKA_BROKERS:-}" ]; then
    assert_output --partial "t partition 0: no record at or after"
    assert_output --partial "the broker is a mock cluster (kmock), which does not look up offsets by time"
  else
    assert_output --partial "$(printf '1\n2\n3')"
  fi
}

@test "ksub -c N stops after N records; --idle-timeout stops a quiet consumer" {
  seq 1 100 | produce one -p 0
  run timeout 20 ksub -q -b "$BROKERS" -t one -c 7
  assert_success
  assert_output "$(seq 1 7)"
  start=$(date +%s%3N)
  run timeout 20 ksub -q -b "$BROKERS" -t one -o end --idle-timeout 700ms
  assert_success
  assert_output ""
  elapsed=$(( $(date +%s%3N) - start ))
  [ "$elapsed" -ge 700 ]
  [ "$elapsed" -lt 10000 ]
}

@test "ksub --empty-exit 99: exit 99 when nothing was read, 0 otherwise" {
  run timeout 20 ksub -q -b "$BROKERS" -t one -e --empty-exit 99
  assert_failure 99
  echo '{}' | produce one -p 0
  run timeout 20 ksub -q -b "$BROKERS" -t one -e --empty-exit 99
  assert_success
  assert_output '{}'
}

@test "ksub flushes stdout when the consumer goes idle (a pipe never holds records back)" {
  out=$BATS_TEST_TMPDIR/out
  ksub -q -b "$BROKERS" -t one -o end >"$out" &
  pid=$!
  sleep 1
  echo '{"live":1}' | produce one -p 0
  for i in $(seq 50); do if [ -s "$out" ]; then break; fi; sleep 0.1; done
  kill -TERM $pid; wait $pid
  run cat "$out"
  assert_output '{"live":1}'
}

@test "ksub --list and --list --json: brokers, topics, partitions, leaders" {
  run ksub -b "$BROKERS" --list -t t
  assert_success
  assert_output --partial '1 brokers:'
  assert_output --partial 'topic "t" with 4 partitions:'
  assert_output --partial 'partition 3, leader 1, replicas: 1, isrs: 1'
  run bash -c "ksub -q -b $BROKERS --list --json | jq -c '.topics[] | select(.topic==\"t\") | [.topic, (.partitions|length), .partitions[0].leader]'"
  assert_output '["t",4,1]'
  run bash -c "ksub -q -b $BROKERS --list --json | jq -e '.brokers[0].port > 0'"
  assert_success
}

@test "ksub --offsets: watermarks; with -G committed offset and lag (text and --json)" {
  seq 1 5 | produce t -p 2
  run ksub -q -b "$BROKERS" --offsets -t t --json
  assert_success
  assert_line --index 2 '{"topic":"t","partition":2,"low":0,"high":5}'
  run ksub -q -b "$BROKERS" --offsets -t t
  assert_output --regexp 't +2 +0 +5 +5'
  run timeout 30 ksub -q -b "$BROKERS" -t t -G og -c 3 -X session.timeout.ms=6000
  assert_success
  run ksub -q -b "$BROKERS" --offsets -t t -G og --json
  assert_line --index 2 '{"topic":"t","partition":2,"low":0,"high":5,"group":"og","committed":3,"lag":2}'
  assert_line --index 0 '{"topic":"t","partition":0,"low":0,"high":0,"group":"og","committed":null,"lag":0}'
  run ksub -q -b "$BROKERS" --offsets -t t -G og
  assert_output --regexp 't +2 +0 +5 +3 +2'
}

@test "ksub: the summary goes to stderr, stdout carries data only" {
  echo '{"x":1}' | produce one -p 0
  run bash -c "timeout 20 ksub -b $BROKERS -t one -e 2>/dev/null"
  assert_output '{"x":1}'
  run bash -c "timeout 20 ksub -b $BROKERS -t one -e 2>&1 >/dev/null"
  assert_output --partial "in 1, out 1"
}

@test "ksub: binary keys and header values still give valid JSON envelopes" {
  printf 'k\xff\x00y:{"ok":true}\n' | produce one -p 0 -K: -H $'bin=\xfe\x01'
  run bash -c "timeout 20 ksub -q -b $BROKERS -t one -e --envelope | jq -c '[.key, .headers.bin, .value]'"
  assert_success
  assert_output $'["k\uFFFD\\u0000y","\uFFFD\\u0001",{"ok":true}]'
}

@test "ksub: a stdout that cannot be written is exit 4, with the reason" {
  echo '{"x":1}' | produce one -p 0
  run bash -c "timeout 20 ksub -b $BROKERS -t one -e >/dev/full"
  assert_failure 4
  assert_output --partial "writing output: No space left on device"
}
