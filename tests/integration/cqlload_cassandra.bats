#!/usr/bin/env bats
# cqlload against a real Apache Cassandra: the node scripts/test starts once per
# run (scripts/servers cassandra start --auth: 5.0, PasswordAuthenticator), or
# the cluster in CQL_HOSTS (+ CQL_USER, CQL_PASSWORD). Rows are read back with
# the DataStax Python driver (tests/support/cql/cqlread.py). The faults a real
# server cannot stage on demand are in cqlload.bats, on the CQL test peer.
load ../support/common
load ../support/cql/helpers


setup_file() {
  echo "# engine: ${CQL_ENGINE:-Cassandra at ${CQL_HOSTS:-(none: CQL_HOSTS is not set)}}" >&3
}

setup() {
  KS=$(new_keyspace)
}

@test "create from a JSON Schema, load, read back the same records with the Python driver" {
  use_cassandra
  make_users_flat 50 "$BATS_TEST_TMPDIR/users.ndjson"
  run cqlload --hosts "$CQL" $(cql_auth_args) --keyspace "$KS" --table created_users --create --schema "$CREATED_USERS_SCHEMA" --primary-key id \
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
  use_cassandra
  make_users_flat 20 "$BATS_TEST_TMPDIR/users.ndjson"
  run bash -c "cqlload --hosts '$CQL' $(cql_auth_args) --table '$KS.by_nat' --create --primary-key '(nat), email' <'$BATS_TEST_TMPDIR/users.ndjson'"
  assert_success
  assert_output --partial "out 20"
  run cqlread "$KS.by_nat"
  [ "${#lines[@]}" -eq 20 ]
}

@test "loading again is idempotent (same key, same row) and --map fills columns from paths" {
  use_cassandra
  load_users 10 -q
  python3 "$PIPEKIT_ROOT/tests/support/make_users.py" 10 --shape raw >"$BATS_TEST_TMPDIR/raw.ndjson"
  run cqlload -q --hosts "$CQL" $(cql_auth_args) --keyspace "$KS" --table created_users \
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
  use_cassandra
  echo '{"id":1}' >"$BATS_TEST_TMPDIR/one.ndjson"
  run cqlload --hosts "$CQL" $(cql_auth_args) --keyspace "$KS" --table nope "$BATS_TEST_TMPDIR/one.ndjson"
  [ "$status" -eq 2 ]
  assert_output --partial "unknown table $KS.nope"
  load_users 1 -q
  run cqlload --hosts "$CQL" $(cql_auth_args) --keyspace "$KS" --table created_users --map nosuch=x "$BATS_TEST_TMPDIR/one.ndjson"
  [ "$status" -eq 2 ]
  assert_output --partial "has no column 'nosuch'"
  run cqlload --hosts "$CQL" $(cql_auth_args) --keyspace "$KS" --table created_users --map email=@offset "$BATS_TEST_TMPDIR/one.ndjson"
  [ "$status" -eq 2 ]
  assert_output --partial "@offset needs --envelope"
}

@test "values that do not fit the column type are rejected with the reason; the rest loads" {
  use_cassandra
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
  run cqlload --hosts "$CQL" $(cql_auth_args) --keyspace "$KS" --table created_users --rejects "$BATS_TEST_TMPDIR/rej.ndjson" \
    "$BATS_TEST_TMPDIR/mixed.ndjson"
  assert_success
  assert_output --partial "in 7, out 2, rejected 5"
  run jq -r '"\(.line) \(.reason)"' "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_line --partial "2 column age: not a valid int: 'thirty' is not an integer"
  assert_line --partial "3 column id: not a valid uuid"
  assert_line --partial "4 invalid JSON"
  assert_line --partial "5 missing partition key column id"
  assert_line --partial "6 column dob: not a valid timestamp"
  run jq -sc 'sort_by(.line) | map([.line, .code, .column])' "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_output '[[2,"bad_value","age"],[3,"bad_value","id"],[4,"not_json",null],[5,"missing_field","id"],[6,"bad_value","dob"]]'
  # The record travels with its reject, as JSON, fixable and replayable.
  [ "$(jq -r 'select(.line==2) | .record.email' "$BATS_TEST_TMPDIR/rej.ndjson")" = "bad-age@example.com" ]
  run cqlread "$KS.created_users"
  assert_output --partial '"email": "ok@example.com"'
  assert_output --partial '"tags": ["a", "b"]'
  # Without a rejects file, a reject is exit 1 (docs/conventions.md).
  run cqlload -q --hosts "$CQL" $(cql_auth_args) --keyspace "$KS" --table created_users "$BATS_TEST_TMPDIR/mixed.ndjson"
  [ "$status" -eq 1 ]
}

@test "--envelope with --ack: one ack per offset once written or rejected, coordinates in columns" {
  use_cassandra
  cat >"$BATS_TEST_TMPDIR/schema.json" <<'JSON'
{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"email":{"type":"string"},
 "kafka_partition":{"type":"integer"},"kafka_offset":{"type":"integer"},"kafka_ts":{"type":"string","format":"date-time"}}}
JSON
  make_users_flat 30 "$BATS_TEST_TMPDIR/users.ndjson"
  jq -c '{topic:"users", partition:(input_line_number % 3), offset:input_line_number, timestamp:1732147200123, key:.id, value:.}' \
    "$BATS_TEST_TMPDIR/users.ndjson" >"$BATS_TEST_TMPDIR/env.ndjson"
  echo '{"topic":"users","partition":0,"offset":999,"value":{"id":"broken"}}' >>"$BATS_TEST_TMPDIR/env.ndjson"
  run cqlload --hosts "$CQL" $(cql_auth_args) --keyspace "$KS" --table evts --create --schema "$BATS_TEST_TMPDIR/schema.json" \
    --primary-key id --envelope --map kafka_partition=@partition --map kafka_offset=@offset \
    --map kafka_ts=@timestamp --ack "$BATS_TEST_TMPDIR/acks" --rejects "$BATS_TEST_TMPDIR/rej.ndjson" \
    --concurrency 8 "$BATS_TEST_TMPDIR/env.ndjson"
  assert_success
  assert_output --partial "in 31, out 30, rejected 1"
  run jq -c '[.line, .code, .column]' "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_output '[31,"bad_value","id"]'
  [ "$(wc -l <"$BATS_TEST_TMPDIR/acks")" -eq 31 ]
  [ "$(jq -s 'map(.offset) | sort == ([range(1;31)] + [999])' "$BATS_TEST_TMPDIR/acks")" = true ]
  run cqlread "$KS.evts"
  [ "${#lines[@]}" -eq 30 ]
  assert_output --partial '"kafka_ts": "2024-11-21T00:00:00.123Z"'
  [ "$(cqlread "$KS.evts" | jq -s 'map(.kafka_offset) | sort == [range(1;31)]')" = true ]
}

@test "a null or missing field is sent as unset: the stored value stays, no tombstone" {
  use_cassandra
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
  use_cassandra
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

@test "a line longer than --max-line-bytes is a reject, not a crash; stdout stays empty" {
  use_cassandra
  load_users 2 -q
  { head -n 1 "$BATS_TEST_TMPDIR/users.ndjson"
    printf '{"id":"66666666-6666-4666-8666-666666666666","email":"%s"}\n' "$(head -c 3000 /dev/zero | tr '\0' x)"
  } >"$BATS_TEST_TMPDIR/long.ndjson"
  cqlload --hosts "$CQL" $(cql_auth_args) --keyspace "$KS" --table created_users --max-line-bytes 1KiB \
    --rejects "$BATS_TEST_TMPDIR/rej.ndjson" "$BATS_TEST_TMPDIR/long.ndjson" >"$BATS_TEST_TMPDIR/stdout" 2>"$BATS_TEST_TMPDIR/stderr"
  [ ! -s "$BATS_TEST_TMPDIR/stdout" ]
  run cat "$BATS_TEST_TMPDIR/stderr"
  assert_output --partial "in 2, out 1, rejected 1"
  run jq -c '[.line, .code, .record]' "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_output '[2,"line_too_long",""]'
  run jq -r .reason "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_output --regexp '^line too long: [0-9]+ bytes or more, over --max-line-bytes 1024$'
}

@test "records of one key resolve in input order: 1,000 updates at batch sizes 1 and 8, WRITETIME increasing" {
  use_cassandra
  # One partition: every record lands in it. n counts up, m counts down: a row
  # mixing two records (server timestamps shared inside a batch) shows at once.
  python3 -c '
for i in range(1000): print("{\"id\": 7, \"seq\": %d, \"n\": %d, \"m\": %d}" % (i % 50, i, 1000 - i))' \
    >"$BATS_TEST_TMPDIR/updates.ndjson"
  for bs in 1 8; do
    run cqlload --hosts "$CQL" $(cql_auth_args) --keyspace "$KS" --table "one_$bs" --create --primary-key id \
      --batch-rows "$bs" --concurrency 64 "$BATS_TEST_TMPDIR/updates.ndjson"
    assert_success
    assert_output --partial "in 1000, out 1000"
    run cqlread "SELECT n, m, WRITETIME(n) AS wn, WRITETIME(m) AS wm FROM $KS.one_$bs"
    assert_success
    [ "$(jq -c '[.n, .m]' <<<"$output")" = "[999,1]" ]
    [ "$(jq '.wn == .wm' <<<"$output")" = true ]
    # Per record: 50 clustering rows of one partition, each written 20 times;
    # the stored versions are the last of each (seq 0..49 = records 950..999),
    # and their write times increase with the input order.
    run cqlload --hosts "$CQL" $(cql_auth_args) --keyspace "$KS" --table "rows_$bs" --create \
      --primary-key '(id), seq' --batch-rows "$bs" "$BATS_TEST_TMPDIR/updates.ndjson"
    assert_success
    cqlread "SELECT seq, n, WRITETIME(n) AS wn FROM $KS.rows_$bs" >"$BATS_TEST_TMPDIR/rows"
    [ "$(jq -s 'sort_by(.seq) | map(.n) == [range(950;1000)]' "$BATS_TEST_TMPDIR/rows")" = true ]
    [ "$(jq -s 'sort_by(.seq) | map(.wn) | . as $w | [range(1;length)] | all($w[.] > $w[. - 1])' \
         "$BATS_TEST_TMPDIR/rows")" = true ]
  done
}

@test "PasswordAuthenticator on the real server: right password loads, wrong or none is exit 2, the password never shows" {
  use_cassandra
  [ -n "${CQL_USER:-}" ] || fail "this cluster has no CQL_USER: start it with scripts/servers cassandra start --auth"
  run load_users 5
  assert_success
  assert_output --partial "out 5"
  echo 'wrong-PW-123' >"$BATS_TEST_TMPDIR/bad"
  SECONDS=0
  run cqlload --hosts "$CQL" --user "$CQL_USER" --password-file "$BATS_TEST_TMPDIR/bad" -v -v \
    --keyspace "$KS" --table created_users "$BATS_TEST_TMPDIR/users.ndjson"
  [ "$status" -eq 2 ]
  [ "$SECONDS" -lt 10 ]
  assert_output --partial "authentication failed for user '$CQL_USER'"
  refute_output --partial "wrong-PW-123"
  run env -u CQL_PASSWORD cqlload --hosts "$CQL" --keyspace "$KS" --table created_users "$BATS_TEST_TMPDIR/users.ndjson"
  [ "$status" -eq 2 ]
  assert_output --partial "requires authentication"
  [ "$(cqlread "$KS.created_users" | wc -l)" -eq 5 ]
}

@test "SERIAL and LOCAL_SERIAL are refused for plain writes (exit 2, nothing sent)" {
  use_cassandra
  echo '{"id":"11111111-1111-4111-8111-111111111111"}' >"$BATS_TEST_TMPDIR/one.ndjson"
  for c in serial LOCAL_SERIAL; do
    run cqlload --hosts "$CQL" $(cql_auth_args) --keyspace "$KS" --table t --consistency "$c" "$BATS_TEST_TMPDIR/one.ndjson"
    [ "$status" -eq 2 ]
    assert_output --partial "is for lightweight transactions"
  done
}


@test "--create replication: NetworkTopologyStrategy in the node's datacenter by default, DC:N and simple:N when asked" {
  use_cassandra
  replication() {  # the keyspace's replication map as sorted JSON
    cqlread "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = '$1'" | jq -S -c .replication
  }
  dc=$(cqlread "SELECT data_center FROM system.local" | jq -r .data_center)
  [ -n "$dc" ]
  nts1=$(jq -S -c -n --arg dc "$dc" '{class: "org.apache.cassandra.locator.NetworkTopologyStrategy", ($dc): "1"}')
  run load_users 3
  assert_success
  # One node: min(3, 1) replica in its datacenter.
  [ "$(replication "$KS")" = "$nts1" ]
  KS2=${KS}_dc
  run cqlload --hosts "$CQL" $(cql_auth_args) --table "$KS2.t" --create --primary-key id --replication "$dc:1" \
    "$BATS_TEST_TMPDIR/users.ndjson"
  assert_success
  [ "$(replication "$KS2")" = "$nts1" ]
  KS3=${KS}_simple
  run cqlload --hosts "$CQL" $(cql_auth_args) --table "$KS3.t" --create --primary-key id --replication simple:1 \
    "$BATS_TEST_TMPDIR/users.ndjson"
  assert_success
  [ "$(replication "$KS3")" = '{"class":"org.apache.cassandra.locator.SimpleStrategy","replication_factor":"1"}' ]
  [ "$(cqlread "$KS3.t" | wc -l)" -eq 3 ]
  # A malformed spec is exit 2 before anything is created.
  run cqlload --hosts "$CQL" $(cql_auth_args) --table "${KS}_bad.t" --create --primary-key id --replication "$dc:x" \
    "$BATS_TEST_TMPDIR/users.ndjson"
  [ "$status" -eq 2 ]
  assert_output --partial "replication factor is a number"
  [ -z "$(cqlread "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = '${KS}_bad'")" ]
}

@test "Cassandra 5.0 types: vector<float, 3>, vector<double, 2> and duration load, read back by the driver from build/venv" {
  use_cassandra
  venv_py=$PIPEKIT_BUILD/venv/bin/python
  [ -x "$venv_py" ] || fail "no $venv_py (cassandra-driver 3.30, which reads vectors): run scripts/setup"
  cat >"$BATS_TEST_TMPDIR/schema.json" <<'JSON'
{"type":"object","properties":{"id":{"type":"string","format":"uuid"},
 "emb":{"type":"array","x-cql-type":"vector<float, 3>"},
 "embd":{"type":"array","x-cql-type":"vector<double, 2>"},
 "wait":{"type":"string","x-cql-type":"duration"}}}
JSON
  cat >"$BATS_TEST_TMPDIR/v.ndjson" <<'JSON'
{"id":"11111111-1111-4111-8111-111111111111","emb":[0.5,-1.25,3],"embd":[0.001,2.5],"wait":"1h30m"}
{"id":"22222222-2222-4222-8222-222222222222","emb":[1,2,3],"wait":"P1Y2M3DT4H5M6S"}
{"id":"33333333-3333-4333-8333-333333333333","emb":[1,2],"wait":"2d"}
{"id":"44444444-4444-4444-8444-444444444444","wait":"-1mo2w3ms"}
{"id":"55555555-5555-4555-8555-555555555555","wait":"soon"}
{"id":"66666666-6666-4666-8666-666666666666","emb":["a",2,3]}
JSON
  run cqlload --hosts "$CQL" $(cql_auth_args) --table "$KS.v" --create --schema "$BATS_TEST_TMPDIR/schema.json" \
    --primary-key id --rejects "$BATS_TEST_TMPDIR/rej.ndjson" "$BATS_TEST_TMPDIR/v.ndjson"
  assert_success
  assert_output --partial "in 6, out 3, rejected 3"
  run jq -r '"\(.line) \(.reason)"' "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_line --partial "3 column emb: not a valid"
  assert_line --partial "2 items for a vector of 3"
  assert_line --partial "5 column wait: not a valid"
  assert_line --partial "'soon' is not a duration"
  assert_line --partial "6 column emb: not a valid"
  run jq -sc 'sort_by(.line) | map([.line, .code, .column])' "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_output '[[3,"bad_value","emb"],[5,"bad_value","wait"],[6,"bad_value","emb"]]'
  "$venv_py" "$CQL_TOOLS/cqlread.py" "$CQL" "$KS.v" >"$BATS_TEST_TMPDIR/rows"
  cat "$BATS_TEST_TMPDIR/rows"
  diff <(jq -c '[.id, .emb, .embd, .wait]' "$BATS_TEST_TMPDIR/rows") - <<'EOF2'
["11111111-1111-4111-8111-111111111111",[0.5,-1.25,3],[0.001,2.5],"0mo0d5400000000000ns"]
["22222222-2222-4222-8222-222222222222",[1,2,3],null,"14mo3d14706000000000ns"]
["44444444-4444-4444-8444-444444444444",null,null,"-1mo14d3000000ns"]
EOF2
}
