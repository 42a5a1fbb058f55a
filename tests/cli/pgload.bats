#!/usr/bin/env bats
# pgload's command line, without a database: bad options are exit 2 before
# any connection is tried (PGHOST points nowhere, so a connection would be 3).
load ../lib/common

setup() {
  export PGHOST=/nonexistent-pgload-test PGPORT=1
}

@test "pgload: --table is required" {
  run pgload </dev/null
  assert_failure 2
  assert_output --partial "--table"
}

@test "pgload: option combinations that make no sense are usage errors" {
  run pgload -t t --key id </dev/null
  assert_failure 2
  assert_output --partial "--key is for --mode upsert or ignore"
  run pgload -t t --schema /dev/null </dev/null
  assert_failure 2
  assert_output --partial "--schema is for --create"
  run pgload -t t --primary-key id </dev/null
  assert_failure 2
  run pgload -t t --mode merge </dev/null
  assert_failure 2
  run pgload -t t --flush-interval soon </dev/null
  assert_failure 2
  assert_output --partial "not a duration"
  run pgload -t t --batch-bytes lots </dev/null
  assert_failure 2
  run pgload -t t --batch-rows 0 </dev/null
  assert_failure 2
}

@test "pgload: bad --map and --table specs are usage errors" {
  for spec in nocolumn =x col= 'col=@nope' 'col=a::varchar(3)'; do
    run pgload -t t --map "$spec" </dev/null
    [ "$status" -eq 2 ] || fail "--map '$spec' exited $status"
  done
  for table in a.b.c '"open' .t; do
    run pgload -t "$table" </dev/null
    [ "$status" -eq 2 ] || fail "-t '$table' exited $status"
  done
}

@test "pgload: a bad --schema file is exit 2" {
  echo 'not json' >"$BATS_TEST_TMPDIR/s.json"
  run pgload -t t --create --schema "$BATS_TEST_TMPDIR/s.json" </dev/null
  assert_failure 2
  assert_output --partial "not valid JSON"
  echo '{"type":"object"}' >"$BATS_TEST_TMPDIR/s.json"
  run pgload -t t --create --schema "$BATS_TEST_TMPDIR/s.json" </dev/null
  assert_failure 2
  assert_output --partial '"properties"'
  run pgload -t t --create --schema /no/such/file </dev/null
  assert_failure 2
}

@test "pgload: no server is exit 3, quickly with --retries 0" {
  run timeout 10 pgload -t t --retries 0 </dev/null
  assert_failure 3
  assert_output --partial "PostgreSQL unavailable"
}
