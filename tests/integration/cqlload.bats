#!/usr/bin/env bats
# cqlload against the CQL test peer (tests/support/cql/cqlpeer.py): the cases a
# real server cannot stage on demand (injected OVERLOADED/WRITE_TIMEOUT/
# UNAVAILABLE/UNPREPARED, dropped connections, hangs, slow answers out of order,
# several "nodes" on one host with token checks, server warnings) and the
# peer's own counters. Everything a real server can show runs on Apache
# Cassandra in cqlload_cassandra.bats. Rows are read back with the DataStax
# Python driver (tests/support/cql/cqlread.py).
load ../support/common
load ../support/cql/helpers


setup_file() {
  echo "# engine: CQL test peer (tests/support/cql/cqlpeer.py), protocol v4" >&3
}

setup() {
  # The peer, never a cluster the run may have been given.
  unset CQL_HOSTS CQL_USER CQL_PASSWORD
  KS=$(new_keyspace)
}
teardown() { stop_cqlpeer; }

@test "a write the server refuses (INVALID) is rejected with the server's code and message" {
  start_cqlpeer --fault invalid:1
  run load_users 5 --batch-rows 1 --concurrency 1 --rejects "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_success
  assert_output --partial "out 4, rejected 1"
  run jq -c '[.code, .cql_code, .error, .reason]' "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_output '["cql",8704,"INVALID","Invalid request (cqlpeer fault)"]'
}

@test "numbers JSON allows but no column type here holds (1e400, 2^64): each record rejected with that reason, the others load" {
  # hardening finding 2, on cqlload
  start_cqlpeer
  printf '%s\n' '{"id":"11111111-1111-4111-8111-111111111111","email":"a@x","age":1}' \
    '{"id":"22222222-2222-4222-8222-222222222222","email":"b@x","age":1e400}' \
    '{"id":"33333333-3333-4333-8333-333333333333","email":"c@x","age":18446744073709551616}' \
    '{"id":"44444444-4444-4444-8444-444444444444","email":"d@x","scores":{"a":1e400}}' \
    '{"id":"55555555-5555-4555-8555-555555555555","email":"e@x","age":5}' >"$BATS_TEST_TMPDIR/in.ndjson"
  run cqlload --hosts "$CQL" --keyspace "$KS" --table created_users --create --schema "$CREATED_USERS_SCHEMA" \
    --primary-key id --rejects "$BATS_TEST_TMPDIR/rej.ndjson" "$BATS_TEST_TMPDIR/in.ndjson"
  assert_success
  assert_output --partial "in 5, out 2, rejected 3"
  run jq -r '"\(.line) \(.reason)"' "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_line --index 0 --partial "2 number 1e400 is beyond what this tool represents"
  assert_line --index 1 --partial "3 number 18446744073709551616 is beyond what this tool represents"
  assert_line --index 2 --partial "4 number 1e400 is beyond what this tool represents"
  run jq -sc 'map(.code)' "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_output '["number_out_of_range","number_out_of_range","number_out_of_range"]'
}

@test "a record whose values outgrow one CQL frame (256 MB) is one reject before it is sent; the others load" {
  # hardening finding 9: it used to spend minutes in retries, then exit 3
  start_cqlpeer
  python3 -c '
import sys
w = sys.stdout.write
w("{\"id\":\"11111111-1111-4111-8111-111111111111\",\"email\":\"a@x\"}\n")
w("{\"id\":\"22222222-2222-4222-8222-222222222222\",\"email\":\"b@x\",\"picture\":\"" + "p" * (257 << 20) + "\"}\n")
w("{\"id\":\"33333333-3333-4333-8333-333333333333\",\"email\":\"c@x\"}\n")' >"$BATS_TEST_TMPDIR/big.ndjson"
  run timeout 60 cqlload --hosts "$CQL" --keyspace "$KS" --table created_users --create --schema "$CREATED_USERS_SCHEMA" \
    --primary-key id --max-line-bytes 300M --rejects "$BATS_TEST_TMPDIR/rej.ndjson" "$BATS_TEST_TMPDIR/big.ndjson"
  assert_success
  assert_output --partial "in 3, out 2, rejected 1"
  run jq -r '"\(.line) \(.reason)"' "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_output --partial "2 the record's values take"
  assert_output --partial "over what one CQL frame carries"
  run jq -r .code "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_output "too_large"
  # the peer stored the two others and was never sent the big one
  rows=$(peer_stats | jq '[.nodes[].rows] | add')
  [ "$rows" = 2 ] || fail "the peer stored $rows rows, not 2"
}

@test "PasswordAuthenticator: right password loads, wrong one is exit 2, the password never shows" {
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
  start_cqlpeer --fault overloaded:3 --fault write_timeout:2 --fault unavailable:1 --fault server_error:1
  run load_users 40 --stats "$BATS_TEST_TMPDIR/stats.json"
  assert_success
  assert_output --partial "out 40"
  [ "$(jq .retries "$BATS_TEST_TMPDIR/stats.json")" -ge 7 ]
  run cqlread "$KS.created_users"
  [ "${#lines[@]}" -eq 40 ]
}

@test "a node that stays overloaded: exit 3 after --retries, saying how many were written" {
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
  start_cqlpeer --fault unprepared:3
  run load_users 20 --stats "$BATS_TEST_TMPDIR/stats.json"
  assert_success
  [ "$(jq .reprepared "$BATS_TEST_TMPDIR/stats.json")" -ge 3 ]
  run cqlread "$KS.created_users"
  [ "${#lines[@]}" -eq 20 ]
}

@test "a dropped connection: requests in flight are retried on a new connection" {
  start_cqlpeer --fault drop:1 --delay 1:5
  run load_users 100 --concurrency 16
  assert_success
  assert_output --partial "out 100"
  run cqlread "$KS.created_users"
  [ "${#lines[@]}" -eq 100 ]
  [ "$(peer_stats | jq .connections)" -ge 3 ]
}

@test "no answer within --request-timeout: retried, and no record lost" {
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
  start_cqlpeer --delay 1:40
  run load_users 300 --concurrency 32 --batch-rows 1 --stats "$BATS_TEST_TMPDIR/stats.json"
  assert_success
  assert_output --partial "out 300"
  stats=$(peer_stats)
  [ "$(jq .max_in_flight <<<"$stats")" -ge 24 ]
  [ "$(jq .out_of_order <<<"$stats")" -gt 10 ]
  [ "$(jq .max_in_flight "$BATS_TEST_TMPDIR/stats.json")" -eq 32 ]
  diff <(jq -c '[.id, .email]' "$BATS_TEST_TMPDIR/users.ndjson" | sort) \
       <(cqlread "$KS.created_users" | jq -c '[.id, .email]' | sort)
}

@test "records with the same partition key go in unlogged batches (--batch-rows)" {
  start_cqlpeer
  make_users_flat 200 "$BATS_TEST_TMPDIR/users.ndjson"
  run cqlload --hosts "$CQL" --keyspace "$KS" --table by_nat --create --schema "$CREATED_USERS_SCHEMA" --primary-key '(nat), id' \
    --batch-rows 10 "$BATS_TEST_TMPDIR/users.ndjson"
  assert_success
  assert_output --partial "out 200"
  stats=$(peer_stats)
  [ "$(jq .batches <<<"$stats")" -ge 5 ]
  [ "$(jq .rows_written <<<"$stats")" -eq 200 ]
  run cqlread "$KS.by_nat"
  [ "${#lines[@]}" -eq 200 ]
}

@test "token-aware routing sends each write to the node owning its partition" {
  start_cqlpeer --nodes 3
  run load_users 150 --batch-rows 1
  assert_success
  [ "$(peer_stats | jq .misrouted)" -eq 0 ]
  [ "$(peer_stats | jq .executes)" -ge 150 ]
  run load_users 150 --batch-rows 1 --routing round-robin
  assert_success
  [ "$(peer_stats | jq .misrouted)" -gt 20 ]
}

@test "batches group records by the node owning their partitions (--group-by replica): each on its owner, fewer requests" {
  start_cqlpeer --nodes 3
  run load_users 300 --batch-rows 8 --concurrency 4
  assert_success
  stats=$(peer_stats)
  [ "$(jq .misrouted <<<"$stats")" -eq 0 ]
  [ "$(jq .rows_written <<<"$stats")" -ge 300 ]
  [ "$(jq '.batches + .executes' <<<"$stats")" -lt 150 ]
  # By partition: 300 distinct keys, so 300 requests.
  run load_users 300 --batch-rows 8 --group-by partition
  assert_success
  [ "$(peer_stats | jq .executes)" -ge 300 ]
  run cqlload --hosts "$CQL" --table "$KS.created_users" --group-by node </dev/null
  [ "$status" -eq 2 ]
  assert_output --partial "--group-by: replica or partition"
}

@test "only one contact point of three: the others are found in system.peers_v2 and get their partitions" {
  start_cqlpeer --nodes 3
  first=${CQL%%,*}
  run cqlload --hosts "$first" --keyspace "$KS" --table created_users --create --schema "$CREATED_USERS_SCHEMA" --primary-key id \
    --batch-rows 1 -v -v <(python3 "$PIPEKIT_ROOT/tests/support/make_users.py" 150 --shape flat)
  assert_success
  assert_output --partial "out 150"
  assert_output --partial "connected to 3 of 3 nodes (2 discovered)"
  [ "$(peer_stats | jq .misrouted)" -eq 0 ]
  [ "$(peer_stats | jq .connections)" -ge 3 ]
}

@test "SIGTERM mid-run: stops reading, finishes what is in flight, every ack is a stored row" {
  start_cqlpeer --delay 20:60
  make_users_flat 3000 "$BATS_TEST_TMPDIR/users.ndjson"
  jq -c '{topic:"u", partition:0, offset:input_line_number, value:.}' "$BATS_TEST_TMPDIR/users.ndjson" \
    >"$BATS_TEST_TMPDIR/env.ndjson"
  cqlload -q --hosts "$CQL" --keyspace "$KS" --table created_users --create --schema "$CREATED_USERS_SCHEMA" --primary-key id \
    --envelope --ack "$BATS_TEST_TMPDIR/acks" --concurrency 8 --batch-rows 1 --stats "$BATS_TEST_TMPDIR/stats.json" \
    "$BATS_TEST_TMPDIR/env.ndjson" &
  pid=$!
  wait_until 30 test -s "$BATS_TEST_TMPDIR/acks"   # mid-run: writes acknowledged
  kill -TERM $pid
  rc=0
  wait $pid || rc=$?
  [ "$rc" -eq 0 ]
  acked=$(wc -l <"$BATS_TEST_TMPDIR/acks")
  [ "$acked" -gt 0 ]
  [ "$acked" -lt 3000 ]
  [ "$(jq .records_out "$BATS_TEST_TMPDIR/stats.json")" -eq "$acked" ]
  # Every acknowledged offset's record (line N of the input) is in the table.
  cqlread "$KS.created_users" | jq -r .id | sort >"$BATS_TEST_TMPDIR/stored"
  jq -r .offset "$BATS_TEST_TMPDIR/acks" | while read -r n; do sed -n "${n}p" "$BATS_TEST_TMPDIR/users.ndjson"; done |
    jq -r .id | sort >"$BATS_TEST_TMPDIR/acked_ids"
  [ -z "$(comm -23 "$BATS_TEST_TMPDIR/acked_ids" "$BATS_TEST_TMPDIR/stored")" ]
}

@test "TLS with --ca-file; an untrusted certificate is refused" {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=cqlpeer" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$BATS_TEST_TMPDIR/key.pem" -out "$BATS_TEST_TMPDIR/cert.pem" 2>/dev/null
  start_cqlpeer --tls "$BATS_TEST_TMPDIR/cert.pem" "$BATS_TEST_TMPDIR/key.pem"
  run load_users 10 --ca-file "$BATS_TEST_TMPDIR/cert.pem"
  assert_success
  assert_output --partial "out 10"
  CQL_CA_FILE=$BATS_TEST_TMPDIR/cert.pem run cqlread "$KS.created_users"
  [ "${#lines[@]}" -eq 10 ]
  # Not trusted: a configuration error (exit 2), not a passing one.
  run load_users 1 --tls
  [ "$status" -eq 2 ]
  assert_output --partial "certificate is not trusted"
}

@test "the test peer itself, checked with the Python driver as its client" {
  echo 'peer-PW' >"$BATS_TEST_TMPDIR/pw"
  start_cqlpeer --user checker --password-file "$BATS_TEST_TMPDIR/pw"
  run timeout 60 /usr/bin/python3 "$CQL_TOOLS/check_peer.py" "$CQL" checker peer-PW "$PEER_CMD"
  assert_success
  assert_output --partial "checked with the Python driver: ok"
}

@test "kill -9 mid-run: every acknowledged record is stored (at-least-once, idempotent replay)" {
  start_cqlpeer --delay 10:40
  make_users_flat 3000 "$BATS_TEST_TMPDIR/users.ndjson"
  jq -c '{topic:"u", partition:0, offset:input_line_number, value:.}' "$BATS_TEST_TMPDIR/users.ndjson" \
    >"$BATS_TEST_TMPDIR/env.ndjson"
  cqlload -q --hosts "$CQL" --keyspace "$KS" --table created_users --create --schema "$CREATED_USERS_SCHEMA" --primary-key id \
    --envelope --ack "$BATS_TEST_TMPDIR/acks" --concurrency 16 --batch-rows 1 "$BATS_TEST_TMPDIR/env.ndjson" &
  pid=$!
  wait_until 30 test -s "$BATS_TEST_TMPDIR/acks"   # mid-run: writes acknowledged
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
  start_cqlpeer
  make_users_flat 10 "$BATS_TEST_TMPDIR/a.ndjson"
  python3 "$PIPEKIT_ROOT/tests/support/make_users.py" 20 --shape flat | tail -n 10 >"$BATS_TEST_TMPDIR/b.ndjson"
  run cqlload --hosts "$CQL" --keyspace "$KS" --table created_users --create --schema "$CREATED_USERS_SCHEMA" --primary-key id \
    --ttl 3600 --consistency local_one "$BATS_TEST_TMPDIR/a.ndjson" "$BATS_TEST_TMPDIR/b.ndjson"
  assert_success
  assert_output --partial "in 20, out 20"
  stats=$(peer_stats)
  [[ "$(jq -r .last_prepare <<<"$stats")" == *"USING TTL 3600 AND TIMESTAMP ?" ]]
  [ "$(jq .consistency <<<"$stats")" -eq 10 ]   # LOCAL_ONE
  [ "$(cqlread "$KS.created_users" | wc -l)" -eq 20 ]
}

@test "a server warning attached to every answer is logged once" {
  start_cqlpeer --warn "Batch for [ks.t] is of size 6.2KiB, exceeding specified threshold"
  run load_users 30 --concurrency 4
  assert_success
  assert_output --partial "out 30"
  [ "$(grep -c 'server warning: Batch for' <<<"$output")" -eq 1 ]
}

@test "a contact point that accepts TCP but never answers (a frozen node) does not stall the writes to the live one" {
  start_cqlpeer
  # A listener that never accepts: the kernel completes the TCP handshake,
  # nothing ever answers STARTUP, as with a SIGSTOPped node.
  /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(300)' "$BATS_TEST_TMPDIR/hole.port" 3>&- &
  hole=$!
  wait_for_file "$BATS_TEST_TMPDIR/hole.port" "$hole" /dev/null
  make_users_flat 300 "$BATS_TEST_TMPDIR/users.ndjson"
  # The input trickles in over ~6 s; reconnection to the black hole is tried
  # again and again meanwhile. Each attempt may take the whole connect
  # timeout (30 s): a blocking attempt would hold up the load for that long.
  SECONDS=0
  run bash -c "{ head -n 100 '$BATS_TEST_TMPDIR/users.ndjson'; sleep 3; sed -n 101,200p '$BATS_TEST_TMPDIR/users.ndjson'; \
    sleep 3; tail -n 100 '$BATS_TEST_TMPDIR/users.ndjson'; } |
    timeout 100 cqlload -v --hosts '$CQL,127.0.0.1:$(cat "$BATS_TEST_TMPDIR/hole.port")' --keyspace '$KS' \
      --table created_users --create --schema '$CREATED_USERS_SCHEMA' --primary-key id --connect-timeout 30s --batch-rows 1"
  elapsed=$SECONDS
  kill "$hole" 2>/dev/null || true
  wait "$hole" 2>/dev/null || true
  assert_success
  assert_output --partial "out 300"
  [ "$elapsed" -lt 25 ]
  [ "$(cqlread "$KS.created_users" | wc -l)" -eq 300 ]
}

@test "an authenticator that opens with a challenge instead of taking the credentials at once: logs in, loads" {
  echo 'chal-PW-7' >"$BATS_TEST_TMPDIR/pw"
  start_cqlpeer --user loader --password-file "$BATS_TEST_TMPDIR/pw" --auth-challenge
  CQL_PASSWORD=chal-PW-7 run load_users 20 --user loader
  assert_success
  assert_output --partial "out 20"
  refute_output --partial "chal-PW-7"
  [ "$(peer_stats | jq .challenges)" -ge 1 ]
  [ "$(peer_stats | jq .auth_failures)" -eq 0 ]
}

@test "a login refused while reconnecting (a passing auth failure) is retried, not fatal: every record lands" {
  echo 'pw-R-5' >"$BATS_TEST_TMPDIR/pw"
  start_cqlpeer --user loader --password-file "$BATS_TEST_TMPDIR/pw"
  make_users_flat 300 "$BATS_TEST_TMPDIR/users.ndjson"
  # Mid-load every connection drops and the next 2 logins are refused (the
  # reconnection backs off 1 s, then 2 s: within the default --retries).
  { head -n 100 "$BATS_TEST_TMPDIR/users.ndjson"; sleep 2; peer_cmd authfail 2; peer_cmd drop
    sed -n 101,200p "$BATS_TEST_TMPDIR/users.ndjson"; sleep 2; tail -n 100 "$BATS_TEST_TMPDIR/users.ndjson"; } |
    CQL_PASSWORD=pw-R-5 timeout 100 cqlload --hosts "$CQL" --user loader --keyspace "$KS" --table created_users \
      --create --schema "$CREATED_USERS_SCHEMA" --primary-key id --batch-rows 1 --stats "$BATS_TEST_TMPDIR/stats.json" \
      2>"$BATS_TEST_TMPDIR/err"
  cat "$BATS_TEST_TMPDIR/err"
  grep -q "authentication failed for user 'loader'.*will try again" "$BATS_TEST_TMPDIR/err"
  ! grep -q "pw-R-5" "$BATS_TEST_TMPDIR/err" || false
  [ "$(jq .records_out "$BATS_TEST_TMPDIR/stats.json")" -eq 300 ]
  [ "$(peer_stats | jq .auth_failures)" -eq 2 ]
  [ "$(CQL_USER=loader CQL_PASSWORD=pw-R-5 cqlread "$KS.created_users" | wc -l)" -eq 300 ]
}

# ---- cluster events (TOPOLOGY_CHANGE, STATUS_CHANGE) staged by the peer ----
# A fixed real cluster cannot add, remove or bring back a node on demand; the
# peer sends the events a cluster's nodes would. Each test feeds 3,000 users,
# changes the cluster once they are stored, and feeds 3,000 more once cqlload
# has acted on the event (its -v log says so), so that the second half shows
# where writes go afterwards.

# wait_for_line FILE PATTERN SECONDS
wait_for_line() {
  local i
  for i in $(seq 1 $(($3 * 10))); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "not seen within $3 s in $1: $2" >&2
  return 1
}

# paced_load PATTERN: loads $BATS_TEST_TMPDIR/users.ndjson (6,000 users) in the
# background ($pid, log in $BATS_TEST_TMPDIR/err): the first 3,000, then the
# rest once PATTERN is in the log (or after 30 s), then 2 s more before the end
# of the input (time for a reconnection that should not happen).
paced_load() {
  make_users_flat 6000 "$BATS_TEST_TMPDIR/users.ndjson"
  head -n 3000 "$BATS_TEST_TMPDIR/users.ndjson" >"$BATS_TEST_TMPDIR/part1"
  tail -n +3001 "$BATS_TEST_TMPDIR/users.ndjson" >"$BATS_TEST_TMPDIR/part2"
  : >"$BATS_TEST_TMPDIR/err"
  { cat "$BATS_TEST_TMPDIR/part1"; wait_for_line "$BATS_TEST_TMPDIR/err" "$1" 30 2>/dev/null || true
    cat "$BATS_TEST_TMPDIR/part2"; sleep 2; } |
    cqlload -v --hosts "$CQL" --keyspace "$KS" --table created_users --create --schema "$CREATED_USERS_SCHEMA" \
      --primary-key id --batch-rows 4 --stats "$BATS_TEST_TMPDIR/stats.json" 2>"$BATS_TEST_TMPDIR/err" &
  pid=$!
  # the first half stored
  local i
  for i in $(seq 1 300); do if [ "$(peer_stats | jq .rows_written)" -ge 3000 ]; then return 0; fi; sleep 0.1; done
  echo "the first 3,000 users were not stored within 30 s" >&2
  return 1
}

# paced_load_done: cqlload exited 0 with 6,000 written.
paced_load_done() {
  local rc=0
  timeout 60 tail --pid="$pid" -f /dev/null || rc=$?
  wait "$pid" || rc=$?
  grep -E "cluster event|reconnected|in the ring|written through" "$BATS_TEST_TMPDIR/err" || true
  [ "$rc" -eq 0 ]
  [ "$(jq .records_out "$BATS_TEST_TMPDIR/stats.json")" -eq 6000 ]
}

# ids_exact: the table holds exactly the input's ids (read by the driver
# through the nodes in $CQL).
ids_exact() {
  cqlread "$KS.created_users" | jq -r .id | sort >"$BATS_TEST_TMPDIR/stored"
  jq -r .id "$BATS_TEST_TMPDIR/users.ndjson" | sort | diff -q - "$BATS_TEST_TMPDIR/stored"
}

node_stat() {  # node_stat INDEX FIELD: the peer's counter for that node
  peer_stats | jq ".nodes[$1].$2"
}

@test "a node announced mid-load (TOPOLOGY_CHANGE NEW_NODE) is connected to, its tokens learned, its range's writes sent to it" {
  start_cqlpeer --nodes 2 --spare 1
  paced_load "in the ring with"
  [ "$(node_stat 2 connections)" -eq 0 ]   # not in system.peers_v2 at the start
  peer_cmd join 2
  port=$(peer_stats | jq .nodes[2].port)
  paced_load_done
  ids_exact
  grep -q "cluster event: TOPOLOGY_CHANGE NEW_NODE 127.0.0.1:$port" "$BATS_TEST_TMPDIR/err"
  [ "$(node_stat 2 connections)" -ge 1 ]
  # It owns a third of the ring: about 1,000 of the second 3,000 (none of the first).
  rows=$(node_stat 2 rows)
  echo "rows written through the new node: $rows"
  [ "$rows" -ge 600 ]
  [ "$rows" -le 1500 ]
  [ "$(peer_stats | jq .misrouted)" -eq 0 ]
}

@test "a node removed mid-load (TOPOLOGY_CHANGE REMOVED_NODE) is dropped: not reconnected, no more writes, its range routed to the others" {
  start_cqlpeer --nodes 3
  paced_load "TOPOLOGY_CHANGE REMOVED_NODE"
  peer_cmd remove 2
  wait_for_line "$BATS_TEST_TMPDIR/err" "TOPOLOGY_CHANGE REMOVED_NODE" 10   # cqlload has heard it
  conns=$(node_stat 2 connections)
  rows=$(node_stat 2 rows)
  [ "$rows" -gt 0 ]   # it had its share before
  paced_load_done
  # The peer still accepts connections on the removed node's port: none came.
  [ "$(node_stat 2 connections)" -eq "$conns" ]
  [ "$(node_stat 2 rows)" -eq "$rows" ]
  [ "$(peer_stats | jq .misrouted)" -eq 0 ]
  CQL=$(cut -d, -f1,2 <<<"$CQL") ids_exact   # the driver, too, only through the nodes left
}

@test "STATUS_CHANGE UP: a node that went DOWN is reconnected at once (not after the 30 s back-off) and gets writes again" {
  start_cqlpeer --nodes 3
  port1=$(cut -d, -f2 <<<"$CQL"); port1=${port1##*:}
  paced_load "127.0.0.1:$port1: reconnected"
  peer_cmd down 1
  wait_for_line "$BATS_TEST_TMPDIR/err" "STATUS_CHANGE DOWN 127.0.0.1:$port1" 10
  wait_until 5 '[ "$(node_stat 1 state)" = "\"down\"" ]'
  rows=$(node_stat 1 rows)
  peer_cmd up 1
  # The DOWN event put the next attempt 30 s away; UP brings it forward.
  wait_for_line "$BATS_TEST_TMPDIR/err" "127.0.0.1:$port1: reconnected" 8
  paced_load_done
  ids_exact
  grep -q "cluster event: STATUS_CHANGE UP 127.0.0.1:$port1" "$BATS_TEST_TMPDIR/err"
  grep -q "127.0.0.1:$port1: writes acknowledged again since it reconnected" "$BATS_TEST_TMPDIR/err"
  after=$(( $(node_stat 1 rows) - rows ))
  echo "rows written through the node after UP: $after"
  [ "$after" -ge 600 ]
  [ "$(peer_stats | jq .misrouted)" -eq 0 ]
}

@test "a node down when the load starts (left out of the ring then) gets its range's writes once it is back" {
  start_cqlpeer --nodes 3
  port1=$(cut -d, -f2 <<<"$CQL"); port1=${port1##*:}
  peer_cmd down 1
  paced_load "127.0.0.1:$port1: reconnected"
  [ "$(node_stat 1 rows)" -eq 0 ]
  # Its range went to the others while it was down (the peer counts those).
  misrouted=$(peer_stats | jq .misrouted)
  peer_cmd up 1
  wait_for_line "$BATS_TEST_TMPDIR/err" "127.0.0.1:$port1: reconnected" 8
  paced_load_done
  ids_exact
  grep -q "127.0.0.1:$port1: in the ring with" "$BATS_TEST_TMPDIR/err"
  grep -q "127.0.0.1:$port1: writes acknowledged again since it reconnected" "$BATS_TEST_TMPDIR/err"
  # It owns a third of the ring: about 1,000 of the second 3,000.
  rows=$(node_stat 1 rows)
  echo "rows written through the node once back: $rows; misrouted while down: $misrouted"
  [ "$rows" -ge 600 ]
  [ "$(peer_stats | jq .misrouted)" -eq "$misrouted" ]
}
