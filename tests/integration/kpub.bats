#!/usr/bin/env bats
# kpub against a real Kafka-protocol server (kmock, or KAFKA_BROKERS), read
# back with Debian's kcat: what kpub writes, kcat reads exactly.
load ../support/common

setup_file() {
  kafka_engine
  make_users 3000 "$BATS_FILE_TMPDIR/users.ndjson"
}

setup() {
  start_kmock
  USERS=$BATS_FILE_TMPDIR/users.ndjson
  T=kpub_${BATS_TEST_NUMBER}_$RANDOM
}

teardown() { stop_kmock; }

# read_back TOPIC [kcat args]: every message of TOPIC, to stdout.
read_back() {
  local topic=$1
  shift
  timeout 60 kcat -C -b "$BROKERS" -t "$topic" -e -q "$@"
}

@test "every line is published byte for byte, in order, and kcat reads it exactly" {
  new_topic "$T" 1
  run kpub -b "$BROKERS" -t "$T" --stats "$BATS_TEST_TMPDIR/stats.json" <"$USERS"
  assert_success
  assert_output --partial "published 3000, rejected 0, failed 0"
  read_back "$T" >"$BATS_TEST_TMPDIR/back"
  cmp "$USERS" "$BATS_TEST_TMPDIR/back"
  run jq -r '[.records_in, .records_out, .rejected, .failed, .exit_code] | @tsv' "$BATS_TEST_TMPDIR/stats.json"
  assert_output "$(printf '3000\t3000\t0\t0\t0')"
}

@test "over many partitions nothing is lost or doubled (sorted compare)" {
  new_topic "$T" 8
  # The sticky partitioner may put a fast, unkeyed input into one partition:
  # spread message by message so that several partitions are really used.
  run kpub -b "$BROKERS" -t "$T" -X sticky.partitioning.linger.ms=0 <"$USERS"
  assert_success
  diff <(sort "$USERS") <(read_back "$T" | sort)
  run bash -c "kcat -C -b $BROKERS -t $T -e -q -f '%p\n' | sort -u | wc -l"
  [ "$output" -gt 1 ]
}

@test "-k login.uuid: every message is keyed by its record's uuid" {
  new_topic "$T" 8
  run kpub -b "$BROKERS" -t "$T" -k login.uuid <"$USERS"
  assert_success
  diff <(jq -r '.login.uuid + " " + (.|tojson)' "$USERS" | sort) \
       <(read_back "$T" -J | jq -r '.key + " " + .payload' | sort)
}

@test "-k as a JSON pointer, numbers as written; same key, same partition" {
  new_topic "$T" 8
  for i in $(seq 200); do echo "{\"n\":{\"id\":$((i % 5))},\"i\":$i}"; done | kpub -b "$BROKERS" -t "$T" -k /n/id
  read_back "$T" -J >"$BATS_TEST_TMPDIR/back"
  run jq -r .key "$BATS_TEST_TMPDIR/back"
  assert_line "0"
  assert_line "4"
  [ "$(wc -l <"$BATS_TEST_TMPDIR/back")" -eq 200 ]
  # each key lands in exactly one partition
  run bash -c "jq -r '\"\\(.key) \\(.partition)\"' $BATS_TEST_TMPDIR/back | sort -u | wc -l"
  assert_output "5"
}

@test "invalid JSON, missing keys and over-long lines are rejected with line numbers" {
  new_topic "$T" 1
  { cat "$SAMPLES/kpub/mixed.ndjson"; echo; head -c 3000 /dev/zero | tr '\0' 'x'; echo; echo '{"id":7,"login":{"uuid":"e"}}'; } \
    >"$BATS_TEST_TMPDIR/in"
  run kpub -b "$BROKERS" -t "$T" -k login.uuid --max-line-bytes 2k --rejects "$BATS_TEST_TMPDIR/rej" <"$BATS_TEST_TMPDIR/in"
  assert_success
  assert_output --partial "published 4, rejected 7, failed 0"
  run jq -c '[.line, .reason]' "$BATS_TEST_TMPDIR/rej"
  assert_line --index 0 --regexp '^\[4,"invalid JSON'
  assert_line --index 1 '[5,"key field '"'"'login.uuid'"'"' is missing"]'
  assert_line --index 2 '[6,"key field '"'"'login.uuid'"'"' is null"]'
  assert_line --index 3 '[7,"key field '"'"'login.uuid'"'"' is missing"]'
  assert_line --index 4 --regexp '^\[8,"invalid JSON'
  assert_line --index 5 '[9,"key field '"'"'login.uuid'"'"' is missing"]'
  assert_line --index 6 '[11,"line too long: 3000 bytes or more, over --max-line-bytes 2048"]'
  run jq -r .code "$BATS_TEST_TMPDIR/rej"
  assert_output "$(printf '%s\n' not_json missing_field missing_field missing_field not_json missing_field line_too_long)"
  # the original record comes back: as JSON when it parses, else as a string
  run jq -c .record "$BATS_TEST_TMPDIR/rej"
  assert_line --index 0 '"not json at all"'
  assert_line --index 1 '{"id":3}'
  run read_back "$T" -J
  assert_output --partial '"key":"a"'
  assert_output --partial '"key":"e"'
  [ "${#lines[@]}" -eq 4 ]
}

@test "without --rejects, reasons go to stderr and any reject exits 1; --max-rejects decides" {
  new_topic "$T" 1
  run kpub -b "$BROKERS" -t "$T" <"$SAMPLES/kpub/mixed.ndjson"
  assert_failure 1
  assert_output --partial "line 4: rejected: invalid JSON"
  assert_output --partial "line 8: rejected: invalid JSON"
  assert_output --partial "published 7, rejected 2, failed 0"
  run kpub -b "$BROKERS" -t "$T" --max-rejects 2 <"$SAMPLES/kpub/mixed.ndjson"
  assert_success
  run kpub -b "$BROKERS" -t "$T" --max-rejects 1 --rejects "$BATS_TEST_TMPDIR/r" <"$SAMPLES/kpub/mixed.ndjson"
  assert_failure 1
  assert_output --partial "over the limit (--max-rejects 1)"
  run kpub -b "$BROKERS" -t "$T" --max-reject-rate 10% --rejects "$BATS_TEST_TMPDIR/r" <"$SAMPLES/kpub/mixed.ndjson"
  assert_failure 1
  run kpub -b "$BROKERS" -t "$T" --max-reject-rate 25% --rejects "$BATS_TEST_TMPDIR/r" <"$SAMPLES/kpub/mixed.ndjson"
  assert_success
  # CRLF stripped, blank line skipped, last line without newline published
  [ "$(read_back "$T" | grep -c $'\r')" -eq 0 ]
  [ "$(read_back "$T" | wc -l)" -eq 35 ]
}

@test "--key-fixed and repeated -H: every message has them (kcat -J)" {
  new_topic "$T" 4
  head -50 "$USERS" | kpub -b "$BROKERS" -t "$T" --key-fixed tenant-1 -H source=ru-fetch -H "trace=a=b" -H empty=
  read_back "$T" -J >"$BATS_TEST_TMPDIR/back"
  run jq -c '[.key, .headers]' "$BATS_TEST_TMPDIR/back"
  [ "${#lines[@]}" -eq 50 ]
  for l in "${lines[@]}"; do
    [ "$l" = '["tenant-1",["source","ru-fetch","trace","a=b","empty",""]]' ] || fail "got $l"
  done
  # a fixed key means one partition
  [ "$(jq .partition "$BATS_TEST_TMPDIR/back" | sort -u | wc -l)" -eq 1 ]
}

@test "-p N publishes every message to partition N" {
  new_topic "$T" 4
  head -100 "$USERS" | kpub -b "$BROKERS" -t "$T" -p 2
  run bash -c "kcat -C -b $BROKERS -t $T -e -q -f '%p\n' | sort | uniq -c"
  assert_output --regexp '^ *100 2$'
}

@test "-z gzip|snappy|lz4|zstd|none: compressed batches read back exactly" {
  for codec in gzip snappy lz4 zstd none; do
    t=${T}_$codec
    new_topic "$t" 1
    head -300 "$USERS" | kpub -q -b "$BROKERS" -t "$t" -z "$codec" || fail "kpub -z $codec failed"
    diff <(head -300 "$USERS") <(read_back "$t") || fail "codec $codec differs"
  done
}

@test "a full queue is waited out, never dropped" {
  new_topic "$T" 2
  run kpub -b "$BROKERS" -t "$T" -X queue.buffering.max.messages=10 -X linger.ms=1 <"$USERS"
  assert_success
  assert_output --partial "published 3000, rejected 0, failed 0"
  [ "$(read_back "$T" | wc -l)" -eq 3000 ]
}

@test "empty input: nothing published, exit 0" {
  new_topic "$T" 1
  run kpub -b "$BROKERS" -t "$T" </dev/null
  assert_success
  assert_output --partial "published 0, rejected 0, failed 0"
}

@test "kpub FILE reads the file instead of stdin; a missing FILE is exit 4" {
  new_topic "$T" 1
  run kpub -b "$BROKERS" -t "$T" "$USERS" </dev/null
  assert_success
  assert_output --partial "published 3000"
  cmp "$USERS" <(read_back "$T")
  run kpub -b "$BROKERS" -t "$T" "$BATS_TEST_TMPDIR/nonexistent"
  assert_failure 4
  assert_output --partial "cannot open"
}
