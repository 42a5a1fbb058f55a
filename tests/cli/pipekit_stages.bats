#!/usr/bin/env bats
# The command lines pipekit builds for its stages are run through each tool's
# own parser (PIPEKIT_PARSE_ONLY=1: parse into typed options, then exit 0), so
# a flag that pipekit writes and a tool no longer takes, or a value it cannot
# parse, fails here rather than in a user's pipeline. No server is needed.
load ../support/common

setup() {
  W=$BATS_TEST_TMPDIR
  echo '{"type":"object","properties":{"id":{"type":"string"}}}' >"$W/schema.json"
  echo secret >"$W/pw"
  chmod 600 "$W/pw"
  COMMON=(-b 127.0.0.1:9 --schema "$W/schema.json" --state-dir "$W/state")
}

# check_stages SUBCOMMAND ARGS...: every stage line of `pipekit SUBCOMMAND
# --dry-run ARGS` parses with its tool. Prints the stages it checked.
check_stages() {
  run pipekit "$@" --dry-run
  assert_success
  local line stage cmd checked=()
  while IFS= read -r line; do
    stage=${line%%: *}
    cmd=${line#*: }
    case $stage in ru-fetch | jvalidate | kpub | ksub | pgload | cqlload | fileload) ;; *) continue ;; esac
    # $RUN_DIR is the run's own folder, filled in when pipekit starts a stage.
    RUN_DIR=$W/run
    run env PIPEKIT_PARSE_ONLY=1 bash -c "RUN_DIR=$W/run; $cmd"
    if [ "$status" -ne 0 ]; then
      echo "pipekit $1: the $stage stage does not parse: $cmd"
      echo "$output"
      return 1
    fi
    checked+=("$stage")
  done <<<"$output"
  echo "${checked[*]}"
}

@test "ingest: ru-fetch, jvalidate and kpub take what pipekit gives them" {
  run check_stages ingest "${COMMON[@]}"
  assert_success
  assert_output "ru-fetch jvalidate kpub"
}

@test "load into PostgreSQL: ksub, jvalidate and pgload take what pipekit gives them" {
  run check_stages load "${COMMON[@]}" --sink postgres --once
  assert_success
  assert_output "ksub jvalidate pgload"
}

@test "load into Cassandra: cqlload takes what pipekit gives it" {
  run check_stages load "${COMMON[@]}" --sink cassandra --cql-hosts 127.0.0.1 --keyspace ks --cql-user u \
    --cql-password-file "$W/pw"
  assert_success
  assert_output "ksub jvalidate cqlload"
}

@test "load into files: fileload takes what pipekit gives it, in every format" {
  local format
  for format in ndjson csv parquet; do
    run check_stages load "${COMMON[@]}" --sink files --dir "$W/out" --format "$format"
    assert_success
    assert_output "ksub jvalidate fileload"
  done
}

@test "a stage line a tool does not take fails the check (the check can fail)" {
  run env PIPEKIT_PARSE_ONLY=1 pgload --table t --no-such-flag
  assert_failure 2
  run env PIPEKIT_PARSE_ONLY=1 pgload --table t --max-line-bytes lots
  assert_failure 2
  run env PIPEKIT_PARSE_ONLY=1 pgload --table t --envelope --max-line-bytes 1MiB
  assert_success
}
