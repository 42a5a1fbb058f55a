#!/usr/bin/env bats
# cqlload against the CQL test peer (tests/support/cql/cqlpeer.py), or against a real
# cluster when CQL_HOSTS is set (fault tests are then skipped, and say so).
# Rows are read back with the DataStax Python driver (tests/support/cql/cqlread.py).
load ../support/common
load ../support/cql/helpers

SCHEMA=$PIPEKIT_ROOT/tests/data/cqlload/created_users.schema.json

setup() {
  KS=$(new_keyspace)
}
teardown() { stop_cqlpeer; }

make_users_flat() { python3 "$PIPEKIT_ROOT/tests/support/make_users.py" "$1" --shape flat >"$2"; }

load_users() {  # load_users N [cqlload args...]: N flat users into $KS.created_users
  local n=$1; shift
  make_users_flat "$n" "$BATS_TEST_TMPDIR/users.ndjson"
  cqlload --hosts "$CQL" $(cql_auth_args) --keyspace "$KS" --table created_users --create --schema "$SCHEMA" \
    --primary-key id "$@" "$BATS_TEST_TMPDIR/users.ndjson"
}

@test "create from a JSON Schema, load, read back the same records with the Python driver" {
  start_cqlpeer
  make_users_flat 50 "$BATS_TEST_TMPDIR/users.ndjson"
  run cqlload --hosts "$CQL" --keyspace "$KS" --table created_users --create --schema "$SCHEMA" --primary-key id \
    --stats "$BATS_TEST_TMPDIR/stats.json" "$BATS_TEST_TMPDIR/users.ndjson"
  assert_success
  assert_output --partial "in 50, out 50, rejected 0"
  run cqlread "$KS.created_users"
  assert_success
  [ "${#lines[@]}" -eq 50 ]
  # Every field came back with its value (timestamps normalised to ms UTC).
  diff <(jq -S -c '{id, email, first_name, nat, dob}' "$BATS_TEST_TMPDIR/users.ndjson" | sort) \
       <(cqlread "$KS.created_users" | jq -S -c '{id, email, first_name, nat, dob}' | sort)
  [ "$(jq .records_out "$BATS_TEST_TMPDIR/stats.json")" -eq 50 ]
}

@test "create from the first records, with stdin input and a composite primary key" {
  start_cqlpeer
  make_users_flat 20 "$BATS_TEST_TMPDIR/users.ndjson"
  run bash -c "cqlload --hosts '$CQL' --table '$KS.by_nat' --create --primary-key '(nat), email' <'$BATS_TEST_TMPDIR/users.ndjson'"
  assert_success
  assert_output --partial "out 20"
  run cqlread "$KS.by_nat"
  [ "${#lines[@]}" -eq 20 ]
}

@test "loading again is idempotent (same key, same row) and --map fills columns from paths" {
  start_cqlpeer
  load_users 10 -q
  python3 "$PIPEKIT_ROOT/tests/support/make_users.py" 10 --shape raw >"$BATS_TEST_TMPDIR/raw.ndjson"
  run cqlload -q --hosts "$CQL" --keyspace "$KS" --table created_users \
    --map id=login.uuid --map first_name=name.first --map post_code=/location/postcode \
    --map registered_date=registered.date --map dob=dob.date "$BATS_TEST_TMPDIR/raw.ndjson"
  assert_success
  run cqlread "$KS.created_users"
  [ "${#lines[@]}" -eq 10 ]
  # The raw shape's postcode is sometimes a number: stored as its text.
  diff <(jq -c '[.login.uuid, .name.first, (.location.postcode|tostring)]' "$BATS_TEST_TMPDIR/raw.ndjson" | sort) \
       <(cqlread "$KS.created_users" | jq -c '[.id, .first_name, .post_code]' | sort)
}

@test "an unknown table is exit 2 with its name; a bad --map is exit 2" {
  start_cqlpeer
  echo '{"id":1}' >"$BATS_TEST_TMPDIR/one.ndjson"
  run cqlload --hosts "$CQL" --keyspace "$KS" --table nope "$BATS_TEST_TMPDIR/one.ndjson"
  [ "$status" -eq 2 ]
  assert_output --partial "unknown table $KS.nope"
  load_users 1 -q
  run cqlload --hosts "$CQL" --keyspace "$KS" --table created_users --map nosuch=x "$BATS_TEST_TMPDIR/one.ndjson"
  [ "$status" -eq 2 ]
  assert_output --partial "has no column 'nosuch'"
  run cqlload --hosts "$CQL" --keyspace "$KS" --table created_users --map email=@offset "$BATS_TEST_TMPDIR/one.ndjson"
  [ "$status" -eq 2 ]
  assert_output --partial "@offset needs --envelope"
}

@test "values that do not fit the column type are rejected with the reason; the rest loads" {
  start_cqlpeer
  load_users 3 -q
  cat >"$BATS_TEST_TMPDIR/mixed.ndjson" <<'JSON'
{"id":"11111111-1111-4111-8111-111111111111","email":"ok@example.com","age":30}
{"id":"22222222-2222-4222-8222-222222222222","email":"bad-age@example.com","age":"thirty"}
{"id":"not-a-uuid","email":"bad-id@example.com"}
this is not json
{"email":"no-key@example.com"}
{"id":"33333333-3333-4333-8333-333333333333","dob":"2024-13-45T00:00:00Z"}
{"id":"44444444-4444-4444-8444-444444444444","email":null,"tags":["a","b"],"scores":{"x":1.5}}
JSON
  run cqlload --hosts "$CQL" --keyspace "$KS" --table created_users --rejects "$BATS_TEST_TMPDIR/rej.ndjson" \
    "$BATS_TEST_TMPDIR/mixed.ndjson"
  assert_success
  assert_output --partial "in 7, out 2, rejected 5"
  run jq -r '"\(.line) \(.reason)"' "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_line --partial "2 column age: not a valid int: 'thirty' is not an integer"
  assert_line --partial "3 column id: not a valid uuid"
  assert_line --partial "4 invalid JSON"
  assert_line --partial "5 missing partition key column id"
  assert_line --partial "6 column dob: not a valid timestamp"
  # The record travels with its reject, as JSON, fixable and replayable.
  [ "$(jq -r 'select(.line==2) | .record.email' "$BATS_TEST_TMPDIR/rej.ndjson")" = "bad-age@example.com" ]
  run cqlread "$KS.created_users"
  assert_output --partial '"email": "ok@example.com"'
  assert_output --partial '"tags": ["a", "b"]'
  # Without a rejects file, a reject is exit 1 (docs/conventions.md).
  run cqlload -q --hosts "$CQL" --keyspace "$KS" --table created_users "$BATS_TEST_TMPDIR/mixed.ndjson"
  [ "$status" -eq 1 ]
}

@test "a write the server refuses (INVALID) is rejected with the server's code and message" {
  require_peer
  start_cqlpeer --fault invalid:1
  run load_users 5 --batch-size 1 --concurrency 1 --rejects "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_success
  assert_output --partial "out 4, rejected 1"
  run jq -c '[.code, .error, .reason]' "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_output '[8704,"INVALID","Invalid request (cqlpeer fault)"]'
}

@test "PasswordAuthenticator: right password loads, wrong one is exit 2, the password never shows" {
  require_peer
  echo 's3cret-PW' >"$BATS_TEST_TMPDIR/pw"
  start_cqlpeer --user loader --password-file "$BATS_TEST_TMPDIR/pw"
  run load_users 5 --user loader --password-file "$BATS_TEST_TMPDIR/pw"
  assert_success
  assert_output --partial "out 5"
  CQL_USER=loader CQL_PASSWORD=s3cret-PW run cqlread "$KS.created_users"
  [ "${#lines[@]}" -eq 5 ]
  echo 'wrong-PW' >"$BATS_TEST_TMPDIR/bad"
  run load_users 5 --user loader --password-file "$BATS_TEST_TMPDIR/bad" -v -v
  [ "$status" -eq 2 ]
  assert_output --partial "authentication failed for user 'loader'"
  refute_output --partial "wrong-PW"
  CQL_PASSWORD=s3cret-PW run load_users 2 --user loader
  assert_success
  CQL_PASSWORD=nope-nope run load_users 2 --user loader
  [ "$status" -eq 2 ]
  refute_output --partial "nope-nope"
  run load_users 2
  [ "$status" -eq 2 ]
  assert_output --partial "requires authentication"
}

@test "OVERLOADED, WRITE_TIMEOUT, UNAVAILABLE and SERVER_ERROR are retried; every record lands" {
  require_peer
  start_cqlpeer --fault overloaded:3 --fault write_timeout:2 --fault unavailable:1 --fault server_error:1
  run load_users 40 --stats "$BATS_TEST_TMPDIR/stats.json"
  assert_success
  assert_output --partial "out 40"
  [ "$(jq .retries "$BATS_TEST_TMPDIR/stats.json")" -ge 7 ]
  run cqlread "$KS.created_users"
  [ "${#lines[@]}" -eq 40 ]
}

@test "a node that stays overloaded: exit 3 after --retries, saying how many were written" {
  require_peer
  start_cqlpeer
  load_users 1 -q
  peer_cmd fault overloaded 100000
  make_users_flat 30 "$BATS_TEST_TMPDIR/more.ndjson"
  run cqlload --hosts "$CQL" --keyspace "$KS" --table created_users --retries 2 "$BATS_TEST_TMPDIR/more.ndjson"
  [ "$status" -eq 3 ]
  assert_output --partial "giving up after 2 retries"
  assert_output --partial "OVERLOADED"
  assert_output --partial "0 records written, 30 not written"
}

@test "UNPREPARED: the statement is prepared again and the write retried" {
  require_peer
  start_cqlpeer --fault unprepared:3
  run load_users 20 --stats "$BATS_TEST_TMPDIR/stats.json"
  assert_success
  [ "$(jq .reprepared "$BATS_TEST_TMPDIR/stats.json")" -ge 3 ]
  run cqlread "$KS.created_users"
  [ "${#lines[@]}" -eq 20 ]
}

@test "a dropped connection: requests in flight are retried on a new connection" {
  require_peer
  start_cqlpeer --fault drop:1 --delay 1:5
  run load_users 100 --concurrency 16
  assert_success
  assert_output --partial "out 100"
  run cqlread "$KS.created_users"
  [ "${#lines[@]}" -eq 100 ]
  [ "$(peer_stats | jq .connections)" -ge 3 ]
}

@test "no answer within --request-timeout: retried, and no record lost" {
  require_peer
  start_cqlpeer --fault hang:2
  run load_users 10 --request-timeout 300ms
  assert_success
  assert_output --partial "out 10"
  run cqlread "$KS.created_users"
  [ "${#lines[@]}" -eq 10 ]
}

@test "an unreachable host is exit 3 at once" {
  port=$(free_port)
  echo '{}' >"$BATS_TEST_TMPDIR/one.ndjson"
  run timeout 20 cqlload --hosts "127.0.0.1:$port" --table ks.t "$BATS_TEST_TMPDIR/one.ndjson"
  [ "$status" -eq 3 ]
  assert_output --partial "cannot connect"
}

@test "--concurrency 32: many requests in flight, answers out of order, all rows right" {
  require_peer
  start_cqlpeer --delay 1:40
  run load_users 300 --concurrency 32 --batch-size 1 --stats "$BATS_TEST_TMPDIR/stats.json"
  assert_success
  assert_output --partial "out 300"
  stats=$(peer_stats)
  [ "$(jq .max_in_flight <<<"$stats")" -ge 24 ]
  [ "$(jq .out_of_order <<<"$stats")" -gt 10 ]
  [ "$(jq .max_in_flight "$BATS_TEST_TMPDIR/stats.json")" -eq 32 ]
  diff <(jq -c '[.id, .email]' "$BATS_TEST_TMPDIR/users.ndjson" | sort) \
       <(cqlread "$KS.created_users" | jq -c '[.id, .email]' | sort)
}

@test "records with the same partition key go in unlogged batches (--batch-size)" {
  require_peer
  start_cqlpeer
  make_users_flat 200 "$BATS_TEST_TMPDIR/users.ndjson"
  run cqlload --hosts "$CQL" --keyspace "$KS" --table by_nat --create --schema "$SCHEMA" --primary-key '(nat), id' \
    --batch-size 10 "$BATS_TEST_TMPDIR/users.ndjson"
  assert_success
  assert_output --partial "out 200"
  stats=$(peer_stats)
  [ "$(jq .batches <<<"$stats")" -ge 5 ]
  [ "$(jq .rows_written <<<"$stats")" -eq 200 ]
  run cqlread "$KS.by_nat"
  [ "${#lines[@]}" -eq 200 ]
}

@test "token-aware routing sends each write to the node owning its partition" {
  require_peer
  start_cqlpeer --nodes 3
  run load_users 150 --batch-size 1
  assert_success
  [ "$(peer_stats | jq .misrouted)" -eq 0 ]
  [ "$(peer_stats | jq .executes)" -ge 150 ]
  run load_users 150 --batch-size 1 --routing round-robin
  assert_success
  [ "$(peer_stats | jq .misrouted)" -gt 20 ]
}

@test "--envelope with --ack: one ack per offset once written or rejected, coordinates in columns" {
  require_peer
  start_cqlpeer
  cat >"$BATS_TEST_TMPDIR/schema.json" <<'JSON'
{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"email":{"type":"string"},
 "kafka_partition":{"type":"integer"},"kafka_offset":{"type":"integer"},"kafka_ts":{"type":"string","format":"date-time"}}}
JSON
  make_users_flat 30 "$BATS_TEST_TMPDIR/users.ndjson"
  jq -c '{topic:"users", partition:(input_line_number % 3), offset:input_line_number, timestamp:1732147200123, key:.id, value:.}' \
    "$BATS_TEST_TMPDIR/users.ndjson" >"$BATS_TEST_TMPDIR/env.ndjson"
  echo '{"topic":"users","partition":0,"offset":999,"value":{"id":"broken"}}' >>"$BATS_TEST_TMPDIR/env.ndjson"
  run cqlload --hosts "$CQL" --keyspace "$KS" --table evts --create --schema "$BATS_TEST_TMPDIR/schema.json" \
    --primary-key id --envelope --map kafka_partition=@partition --map kafka_offset=@offset \
    --map kafka_ts=@timestamp --ack "$BATS_TEST_TMPDIR/acks" --rejects "$BATS_TEST_TMPDIR/rej.ndjson" \
    --concurrency 8 "$BATS_TEST_TMPDIR/env.ndjson"
  assert_success
  assert_output --partial "in 31, out 30, rejected 1"
  [ "$(wc -l <"$BATS_TEST_TMPDIR/acks")" -eq 31 ]
  [ "$(jq -s 'map(.offset) | sort == ([range(1;31)] + [999])' "$BATS_TEST_TMPDIR/acks")" = true ]
  run cqlread "$KS.evts"
  [ "${#lines[@]}" -eq 30 ]
  assert_output --partial '"kafka_ts": "2024-11-21T00:00:00.123Z"'
  [ "$(cqlread "$KS.evts" | jq -s 'map(.kafka_offset) | sort == [range(1;31)]')" = true ]
}

@test "SIGTERM mid-run: stops reading, finishes what is in flight, every ack is a stored row" {
  require_peer
  start_cqlpeer --delay 20:60
  make_users_flat 3000 "$BATS_TEST_TMPDIR/users.ndjson"
  jq -c '{topic:"u", partition:0, offset:input_line_number, value:.}' "$BATS_TEST_TMPDIR/users.ndjson" \
    >"$BATS_TEST_TMPDIR/env.ndjson"
  cqlload -q --hosts "$CQL" --keyspace "$KS" --table created_users --create --schema "$SCHEMA" --primary-key id \
    --envelope --ack "$BATS_TEST_TMPDIR/acks" --concurrency 8 --stats "$BATS_TEST_TMPDIR/stats.json" \
    "$BATS_TEST_TMPDIR/env.ndjson" &
  pid=$!
  sleep 2
  kill -TERM $pid
  rc=0
  wait $pid || rc=$?
  [ "$rc" -eq 0 ]
  acked=$(wc -l <"$BATS_TEST_TMPDIR/acks")
  [ "$acked" -gt 0 ] && [ "$acked" -lt 3000 ]
  [ "$(jq .records_out "$BATS_TEST_TMPDIR/stats.json")" -eq "$acked" ]
  # Every acknowledged offset's record (line N of the input) is in the table.
  cqlread "$KS.created_users" | jq -r .id | sort >"$BATS_TEST_TMPDIR/stored"
  jq -r .offset "$BATS_TEST_TMPDIR/acks" | while read -r n; do sed -n "${n}p" "$BATS_TEST_TMPDIR/users.ndjson"; done |
    jq -r .id | sort >"$BATS_TEST_TMPDIR/acked_ids"
  [ -z "$(comm -23 "$BATS_TEST_TMPDIR/acked_ids" "$BATS_TEST_TMPDIR/stored")" ]
}

@test "TLS with --ca-file; an untrusted certificate is refused" {
  require_peer
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=cqlpeer" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$BATS_TEST_TMPDIR/key.pem" -out "$BATS_TEST_TMPDIR/cert.pem" 2>/dev/null
  start_cqlpeer --tls "$BATS_TEST_TMPDIR/cert.pem" "$BATS_TEST_TMPDIR/key.pem"
  run load_users 10 --ca-file "$BATS_TEST_TMPDIR/cert.pem"
  assert_success
  assert_output --partial "out 10"
  CQL_CA_FILE=$BATS_TEST_TMPDIR/cert.pem run cqlread "$KS.created_users"
  [ "${#lines[@]}" -eq 10 ]
  run load_users 1 --tls
  [ "$status" -eq 3 ]
  assert_output --partial "TLS handshake failed"
}

@test "real cluster (CQL_HOSTS): load and read back" {
  [ -n "${CQL_HOSTS:-}" ] || skip "CQL_HOSTS is not set: no real Cassandra cluster to test against"
  start_cqlpeer
  run load_users 20
  assert_success
  run cqlread "$KS.created_users"
  [ "${#lines[@]}" -eq 20 ]
}

@test "the test peer itself, checked with the Python driver as its client" {
  require_peer
  echo 'peer-PW' >"$BATS_TEST_TMPDIR/pw"
  start_cqlpeer --user checker --password-file "$BATS_TEST_TMPDIR/pw"
  run timeout 60 /usr/bin/python3 "$CQL_TOOLS/check_peer.py" "$CQL" checker peer-PW "$PEER_CMD"
  assert_success
  assert_output --partial "checked with the Python driver: ok"
}

@test "a null or missing field is sent as unset: the stored value stays, no tombstone" {
  start_cqlpeer
  load_users 1 -q
  id=$(jq -r .id "$BATS_TEST_TMPDIR/users.ndjson")
  email=$(jq -r .email "$BATS_TEST_TMPDIR/users.ndjson")
  echo "{\"id\":\"$id\",\"email\":null,\"nat\":\"XX\"}" >"$BATS_TEST_TMPDIR/update.ndjson"
  run cqlload -q --hosts "$CQL" $(cql_auth_args) --keyspace "$KS" --table created_users "$BATS_TEST_TMPDIR/update.ndjson"
  assert_success
  run cqlread "$KS.created_users"
  [ "$(jq -r .email <<<"$output")" = "$email" ]
  [ "$(jq -r .nat <<<"$output")" = "XX" ]
}

@test "kcat -J output is read as envelopes (payload as a JSON string)" {
  start_cqlpeer
  load_users 1 -q
  printf '%s\n' '{"topic":"users","partition":2,"offset":7,"tstype":"create","ts":1732147200123,"broker":1,"key":null,"payload":"{\"id\":\"55555555-5555-4555-8555-555555555555\",\"email\":\"kcat@example.com\"}"}' \
    >"$BATS_TEST_TMPDIR/kcat.ndjson"
  run cqlload --hosts "$CQL" $(cql_auth_args) --keyspace "$KS" --table created_users --envelope \
    --ack "$BATS_TEST_TMPDIR/acks" "$BATS_TEST_TMPDIR/kcat.ndjson"
  assert_success
  assert_output --partial "out 1"
  run cat "$BATS_TEST_TMPDIR/acks"
  assert_output '{"topic":"users","partition":2,"offset":7}'
  run cqlread "$KS.created_users"
  assert_output --partial "kcat@example.com"
}

@test "kill -9 mid-run: every acknowledged record is stored (at-least-once, idempotent replay)" {
  require_peer
  start_cqlpeer --delay 10:40
  make_users_flat 3000 "$BATS_TEST_TMPDIR/users.ndjson"
  jq -c '{topic:"u", partition:0, offset:input_line_number, value:.}' "$BATS_TEST_TMPDIR/users.ndjson" \
    >"$BATS_TEST_TMPDIR/env.ndjson"
  cqlload -q --hosts "$CQL" --keyspace "$KS" --table created_users --create --schema "$SCHEMA" --primary-key id \
    --envelope --ack "$BATS_TEST_TMPDIR/acks" --concurrency 16 "$BATS_TEST_TMPDIR/env.ndjson" &
  pid=$!
  sleep 1.5
  kill -KILL $pid
  wait $pid || true
  acked=$(wc -l <"$BATS_TEST_TMPDIR/acks")
  [ "$acked" -gt 0 ]
  cqlread "$KS.created_users" | jq -r .id | sort >"$BATS_TEST_TMPDIR/stored"
  jq -r .offset "$BATS_TEST_TMPDIR/acks" | while read -r n; do sed -n "${n}p" "$BATS_TEST_TMPDIR/users.ndjson"; done |
    jq -r .id | sort >"$BATS_TEST_TMPDIR/acked_ids"
  [ -z "$(comm -23 "$BATS_TEST_TMPDIR/acked_ids" "$BATS_TEST_TMPDIR/stored")" ]
  # Replaying everything (what ksub does after the crash) leaves one row per record.
  run cqlload -q --hosts "$CQL" --keyspace "$KS" --table created_users --envelope "$BATS_TEST_TMPDIR/env.ndjson"
  assert_success
  [ "$(cqlread "$KS.created_users" | wc -l)" -eq 3000 ]
}

@test "--ttl and --consistency reach the server; several input files load in order" {
  require_peer
  start_cqlpeer
  make_users_flat 10 "$BATS_TEST_TMPDIR/a.ndjson"
  python3 "$PIPEKIT_ROOT/tests/support/make_users.py" 20 --shape flat | tail -n 10 >"$BATS_TEST_TMPDIR/b.ndjson"
  run cqlload --hosts "$CQL" --keyspace "$KS" --table created_users --create --schema "$SCHEMA" --primary-key id \
    --ttl 3600 --consistency local_one "$BATS_TEST_TMPDIR/a.ndjson" "$BATS_TEST_TMPDIR/b.ndjson"
  assert_success
  assert_output --partial "in 20, out 20"
  stats=$(peer_stats)
  [[ "$(jq -r .last_prepare <<<"$stats")" == *"USING TTL 3600" ]]
  [ "$(jq .consistency <<<"$stats")" -eq 10 ]   # LOCAL_ONE
  [ "$(cqlread "$KS.created_users" | wc -l)" -eq 20 ]
}

@test "a line longer than --max-line-bytes is a reject, not a crash; stdout stays empty" {
  start_cqlpeer
  load_users 2 -q
  { head -n 1 "$BATS_TEST_TMPDIR/users.ndjson"
    printf '{"id":"66666666-6666-4666-8666-666666666666","email":"%s"}\n' "$(head -c 3000 /dev/zero | tr '\0' x)"
  } >"$BATS_TEST_TMPDIR/long.ndjson"
  cqlload --hosts "$CQL" $(cql_auth_args) --keyspace "$KS" --table created_users --max-line-bytes 1KiB \
    --rejects "$BATS_TEST_TMPDIR/rej.ndjson" "$BATS_TEST_TMPDIR/long.ndjson" >"$BATS_TEST_TMPDIR/stdout" 2>"$BATS_TEST_TMPDIR/stderr"
  [ ! -s "$BATS_TEST_TMPDIR/stdout" ]
  run cat "$BATS_TEST_TMPDIR/stderr"
  assert_output --partial "in 2, out 1, rejected 1"
  run jq -r .reason "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_output --partial "line too long"
}

@test "a server warning attached to every answer is logged once" {
  require_peer
  start_cqlpeer --warn "Batch for [ks.t] is of size 6.2KiB, exceeding specified threshold"
  run load_users 30 --concurrency 4
  assert_success
  assert_output --partial "out 30"
  [ "$(grep -c 'server warning: Batch for' <<<"$output")" -eq 1 ]
}
