#!/usr/bin/env bats
# One intake for every tool that reads records: the same defective lines fed to
# jvalidate, kpub, pgload, cqlload and fileload give the same reject code and
# the same reason in each (docs/conventions.md, "Rejects" and "The intake").
# Engines: Kafka as scripts/test gives it (Apache Kafka, or kmock outside
# scripts/test), PostgreSQL 15 (scripts/lib/postgres.bash), Apache Cassandra
# (CQL_HOSTS, started by scripts/test).
load ../support/common
load ../support/cql/helpers

SCHEMA=$PIPEKIT_ROOT/tests/data/rejects/record.schema.json

setup_file() {
  kafka_engine
  echo "# engines: PostgreSQL 15 (scripts/lib/postgres.bash); ${CQL_ENGINE:-Cassandra at CQL_HOSTS}" >&3
  start_postgres
  local d=$BATS_FILE_TMPDIR
  # Line 1 and 5 are records; 2 is not JSON, 3 holds a number no tool
  # represents, 4 is over --max-line-bytes 200.
  {
    echo '{"id":1,"name":"a"}'
    echo '{"id":2,"name":'
    echo '{"id":3,"name":"c","n":1e999}'
    printf '{"id":4,"name":"%s"}\n' "$(printf 'x%.0s' $(seq 300))"
    echo '{"id":5,"name":"e"}'
  } >"$d/plain.ndjson"
  # Envelopes: 2 is not one (no value), 3's value is not an object.
  {
    echo '{"topic":"rc","partition":0,"offset":1,"value":{"id":1,"name":"a"}}'
    echo '{"topic":"rc","partition":0,"offset":2,"valu":{"id":2,"name":"b"}}'
    echo '{"topic":"rc","partition":0,"offset":3,"value":[3]}'
  } >"$d/envelopes.ndjson"
}

teardown_file() { stop_postgres; }

setup() {
  T=$BATS_TEST_TMPDIR
  use_cassandra
  KS=$(new_keyspace)
  start_kmock -t rc:1
}

teardown() { stop_kmock; }

kafka_args() {
  if [ -n "${KAFKA_CONFIG_FILE:-}" ]; then echo "-F $KAFKA_CONFIG_FILE"; fi
}

# each_tool INPUT [--envelope]: runs every tool that rejects on INPUT with
# --rejects $T/TOOL.rej, each expected to exit 0.
each_tool() {
  local input=$1 env=${2:-}
  run jvalidate $env -s "$SCHEMA" --max-line-bytes 200 --rejects "$T/jvalidate.rej" "$input"
  assert_success
  run kpub $env -b "$BROKERS" $(kafka_args) -t rc --max-line-bytes 200 --rejects "$T/kpub.rej" "$input"
  assert_success
  run pgload $env --table "rc_${BATS_TEST_NUMBER}" --create --max-line-bytes 200 --rejects "$T/pgload.rej" <"$input"
  assert_success
  run cqlload $env --hosts "$CQL_HOSTS" $(cql_auth_args) --keyspace "$KS" --table rc --create --schema "$SCHEMA" \
    --primary-key id --max-line-bytes 200 --rejects "$T/cqlload.rej" <"$input"
  assert_success
  run fileload $env --dir "$T/files" --format ndjson --max-line-bytes 200 --rejects "$T/fileload.rej" "$input"
  assert_success
}

# rejects TOOL: [line, code, reason] of each of TOOL's rejects.
rejects() { jq -c '[.line, .code, .reason]' "$T/$1.rej"; }

@test "the same defective lines get the same code and reason from every tool" {
  each_tool "$BATS_FILE_TMPDIR/plain.ndjson"
  run jq -c '[.line, .code]' "$T/jvalidate.rej"
  assert_output "$(printf '%s\n' '[2,"not_json"]' '[3,"number_out_of_range"]' '[4,"line_too_long"]')"
  run jq -r 'select(.code == "line_too_long") | .reason' "$T/jvalidate.rej"
  assert_output --regexp '^line too long: [0-9]+ bytes or more, over --max-line-bytes 200$'
  local tool
  for tool in kpub pgload cqlload fileload; do
    run diff <(rejects jvalidate) <(rejects "$tool")
    if [ "$status" -ne 0 ]; then
      echo "$tool differs from jvalidate: $output"
      return 1
    fi
  done
}

NOT_ENVELOPE="[2,\"not_envelope\",\"not an envelope: envelope has no 'value' (or kcat 'payload') field\"]"
NOT_OBJECT="[3,\"not_object\",\"the envelope's value is not a JSON object\"]"

@test "envelopes: not an envelope everywhere; a value that is not an object in every sink" {
  each_tool "$BATS_FILE_TMPDIR/envelopes.ndjson" --envelope
  run rejects jvalidate
  assert_line --index 0 "$NOT_ENVELOPE"
  assert_line --index 1 --partial '[3,"schema",'
  run rejects kpub
  assert_output "$NOT_ENVELOPE"
  local tool
  for tool in pgload cqlload fileload; do
    run rejects "$tool"
    assert_output "$(printf '%s\n' "$NOT_ENVELOPE" \
      "$NOT_OBJECT")"
  done
}
