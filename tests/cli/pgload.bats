#!/usr/bin/env bats
# pgload's command line, without a database: bad options are exit 2 before
# any connection is tried (PGHOST points nowhere, so a connection would be 3).
load ../support/common

setup() {
  export PGHOST=/nonexistent-pgload-test PGPORT=1
}

@test "pgload: --table is required" {
  run pgload </dev/null
  assert_failure 2
  assert_output --partial "--table"
}

@test "pgload: option combinations that make no sense are usage errors" {
  run pgload --table t --key id </dev/null
  assert_failure 2
  assert_output --partial "--key is for --mode upsert or ignore"
  run pgload --table t --schema /dev/null </dev/null
  assert_failure 2
  assert_output --partial "--schema is for --create"
  run pgload --table t --primary-key id </dev/null
  assert_failure 2
  run pgload --table t --mode merge </dev/null
  assert_failure 2
  run pgload --table t --flush-interval soon </dev/null
  assert_failure 2
  assert_output --partial "not a duration"
  run pgload --table t --flush-idle soon </dev/null
  assert_failure 2
  assert_output --partial "--flush-idle: 'soon'"
  run pgload --table t --batch-bytes lots </dev/null
  assert_failure 2
  run pgload --table t --batch-rows 0 </dev/null
  assert_failure 2
  run pgload --table t --max-line-bytes 0 </dev/null
  assert_failure 2
  assert_output --partial "--max-line-bytes: must be at least 1 byte"
  run pgload --table t --max-line-bytes lots </dev/null
  assert_failure 2
}

@test "pgload: bad --map and --table specs are usage errors" {
  for spec in nocolumn =x col= 'col=@nope' 'col=a::varchar(3)'; do
    run pgload --table t --map "$spec" </dev/null
    [ "$status" -eq 2 ] || fail "--map '$spec' exited $status"
  done
  for table in a.b.c '"open' .t; do
    run pgload --table "$table" </dev/null
    [ "$status" -eq 2 ] || fail "--table '$table' exited $status"
  done
}

@test "pgload: a bad --schema file is exit 2" {
  echo 'not json' >"$BATS_TEST_TMPDIR/s.json"
  run pgload --table t --create --schema "$BATS_TEST_TMPDIR/s.json" </dev/null
  assert_failure 2
  assert_output --partial "not valid JSON"
  echo '{"type":"object"}' >"$BATS_TEST_TMPDIR/s.json"
  run pgload --table t --create --schema "$BATS_TEST_TMPDIR/s.json" </dev/null
  assert_failure 2
  assert_output --partial '"properties"'
  run pgload --table t --create --schema /no/such/file </dev/null
  assert_failure 2
}

@test "pgload: no server is exit 3, quickly with --retries 0" {
  run timeout 10 pgload --table t --retries 0 </dev/null
  assert_failure 3
  assert_output --partial "PostgreSQL unavailable"
}

@test "pgload: a server that accepts but never answers: the connection attempt gives up (10 s), exit 3" {
  # engine: none (a listening socket that never speaks)
  python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$BATS_TEST_TMPDIR/port" &
  silent=$!
  for _ in $(seq 50); do if [ -s "$BATS_TEST_TMPDIR/port" ]; then break; fi; sleep 0.1; done
  start=$SECONDS
  run env -u PGCONNECT_TIMEOUT timeout 40 pgload -d "host=127.0.0.1 port=$(cat "$BATS_TEST_TMPDIR/port")" \
    --table t --retries 0 </dev/null
  kill "$silent"; wait "$silent" 2>/dev/null || true
  assert_failure 3
  assert_output --partial "PostgreSQL unavailable"
  [ $((SECONDS - start)) -lt 20 ] || fail "took $((SECONDS - start)) s"
}

@test "pgload: -t for the table still works, deprecated once on stderr" {
  run pgload -t 'a.b.c' </dev/null
  assert_failure 2
  assert_output --partial "-t is deprecated, use --table"
  run pgload </dev/null
  assert_failure 2
  assert_output --partial "--table is required"
  # not among the options (the examples use ksub's -t)
  run bash -c "pgload --help | sed '/^Examples:/,\$d'"
  assert_success
  assert_output --partial "--table"
  refute_output --partial " -t"
}
