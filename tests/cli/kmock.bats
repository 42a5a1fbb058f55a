#!/usr/bin/env bats
load ../support/common

teardown() { stop_kmock; }

@test "kmock prints one bootstrap line on stdout and serves the Kafka protocol" {
  out=$BATS_TEST_TMPDIR/out
  kmock -q -t demo:3 >"$out" 2>/dev/null &
  pid=$!
  for i in $(seq 50); do if [ -s "$out" ]; then break; fi; sleep 0.1; done
  run cat "$out"
  assert_output --regexp '^127\.0\.0\.1:[0-9]+$'
  addr=$(cat "$out")
  run kcat -L -b "$addr" -t demo
  assert_output --partial "3 partitions"
  kill $pid; wait $pid
}

@test "kmock --broker-count 3 starts three brokers" {
  start_kmock --broker-count 3 -t t:6:3
  run kcat -L -b "$BROKERS"
  assert_output --partial "3 brokers"
  assert_output --partial "6 partitions"
}

@test "kmock --exit-on-eof stops when stdin closes" {
  run bash -c 'echo | timeout 10 kmock -q --exit-on-eof'
  assert_success
}

@test "kmock stops cleanly on SIGTERM, exit 0" {
  kmock -q --bootstrap-file "$BATS_TEST_TMPDIR/addr" >/dev/null &
  pid=$!
  for i in $(seq 50); do if [ -s "$BATS_TEST_TMPDIR/addr" ]; then break; fi; sleep 0.1; done
  kill -TERM $pid
  rc=0
  wait $pid || rc=$?
  [ "$rc" -eq 0 ]
}

@test "kmock commands: broker down makes a produce fail, broker up heals it" {
  start_kmock -t f:1
  kmock_cmd "broker down 1"
  run timeout 20 bash -c "echo x | kcat -P -b $BROKERS -t f -X message.timeout.ms=1500 2>&1"
  assert_output --partial "failed"
  kmock_cmd "broker up 1"
  run timeout 20 bash -c "echo y | kcat -P -b $BROKERS -t f"
  assert_success
  run timeout 20 kcat -C -b "$BROKERS" -t f -e -q
  assert_output "y"
}

@test "kmock reports a bad command and keeps serving" {
  start_kmock
  kmock_cmd "frobnicate 1"
  kmock_cmd "broker down 9"
  sleep 0.2
  run cat "$KMOCK_DIR/stderr"
  assert_output --partial "unknown command 'frobnicate'"
  assert_output --partial "no broker 9"
  run kcat -L -b "$BROKERS"
  assert_success
}

@test "kmock rejects bad topic specs with exit 2" {
  run kmock -t "x:zero"
  assert_failure 2
  assert_output --partial "not a number"
  run kmock -t "x:2:5"
  assert_failure 2
  assert_output --partial "replication exceeds"
}
