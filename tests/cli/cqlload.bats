#!/usr/bin/env bats
# cqlload's command line: usage errors are exit 2, local I/O errors exit 4,
# before any server is contacted; secrets are never taken from argv.
load ../support/common

@test "no hosts: exit 2 naming --hosts and CQL_HOSTS" {
  run env -u CQL_HOSTS cqlload --table ks.t </dev/null
  [ "$status" -eq 2 ]
  assert_output --partial "give --hosts or set CQL_HOSTS"
}

@test "no table or no keyspace: exit 2" {
  run cqlload --hosts 127.0.0.1 </dev/null
  [ "$status" -eq 2 ]
  assert_output --partial "--table"
  run cqlload --hosts 127.0.0.1 --table t </dev/null
  [ "$status" -eq 2 ]
  assert_output --partial "--keyspace"
}

@test "there is no --password flag: a password on argv is a usage error" {
  run cqlload --hosts 127.0.0.1 --table ks.t --user u --password hunter2 </dev/null
  [ "$status" -eq 2 ]
}

@test "--user without any password: exit 2 before connecting" {
  run env -u CQL_PASSWORD cqlload --hosts 127.0.0.1:1 --table ks.t --user u </dev/null
  [ "$status" -eq 2 ]
  assert_output --partial "no password"
  run cqlload --hosts 127.0.0.1:1 --table ks.t --user u --password-file /nonexistent/pw </dev/null
  [ "$status" -eq 2 ]
  assert_output --partial "cannot read --password-file"
}

@test "bad option values: exit 2 with the option named" {
  run cqlload --hosts 127.0.0.1 --table ks.t --consistency MOST </dev/null
  [ "$status" -eq 2 ]
  assert_output --partial "--consistency: unknown level 'MOST'"
  run cqlload --hosts 127.0.0.1 --table ks.t --batch-rows 0 </dev/null
  [ "$status" -eq 2 ]
  run cqlload --hosts 127.0.0.1 --table ks.t --concurrency 0 </dev/null
  [ "$status" -eq 2 ]
  run cqlload --hosts 127.0.0.1 --table ks.t --routing random </dev/null
  [ "$status" -eq 2 ]
  run cqlload --hosts 127.0.0.1 --table ks.t --request-timeout soon </dev/null
  [ "$status" -eq 2 ]
}

@test "a missing input file is exit 4, before connecting" {
  run cqlload --hosts 127.0.0.1:1 --table ks.t /nonexistent/input.ndjson
  [ "$status" -eq 4 ]
  assert_output --partial "/nonexistent/input.ndjson"
}

@test "--help lists the connection, target and write options" {
  run cqlload --help
  assert_success
  for opt in --hosts --keyspace --table --map --envelope --create --schema --primary-key --replication \
             --consistency --ttl --concurrency --batch-rows --rejects --ack --retries --tls --ca-file \
             --connect-timeout --request-timeout --password-file --user; do
    assert_output --partial -- "$opt"
  done
}

@test "cqlload: -t for the table still works, deprecated once on stderr" {
  run env -u CQL_HOSTS cqlload -t ks.t </dev/null
  [ "$status" -eq 2 ]
  assert_output --partial "-t is deprecated, use --table"
  assert_output --partial "give --hosts or set CQL_HOSTS"
  [ "$(grep -c deprecated <<<"$output")" -eq 1 ]
}
