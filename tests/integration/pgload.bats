#!/usr/bin/env bats
# pgload against a real PostgreSQL server (Debian's, started in a temp dir).
load ../support/common

SCHEMA=$PIPEKIT_ROOT/tests/data/pgload/users-flat.schema.json

setup_file() {
  start_postgres
  python3 "$PIPEKIT_ROOT/tests/support/make_users.py" 100000 --shape flat >"$BATS_FILE_TMPDIR/flat100k.ndjson"
  head -1000 "$BATS_FILE_TMPDIR/flat100k.ndjson" >"$BATS_FILE_TMPDIR/flat1k.ndjson"
  python3 "$PIPEKIT_ROOT/tests/support/make_users.py" 200 --shape raw >"$BATS_FILE_TMPDIR/raw200.ndjson"
}

teardown_file() { stop_postgres; }

setup() {
  FLAT100K=$BATS_FILE_TMPDIR/flat100k.ndjson
  FLAT1K=$BATS_FILE_TMPDIR/flat1k.ndjson
  RAW200=$BATS_FILE_TMPDIR/raw200.ndjson
  T=$BATS_TEST_TMPDIR
}

# kill_bg: SIGKILL the background pgload ($BG_PID), if any, and reap it.
kill_bg() {
  if [ -n "${BG_PID:-}" ]; then kill -9 "$BG_PID" 2>/dev/null || true; wait "$BG_PID" 2>/dev/null || true; fi
  BG_PID=
}

# kill_at_rows SQL N: once the count that SQL gives reaches N (10 s at most),
# SIGKILL the background pgload; PARTIAL is the count it left behind.
kill_at_rows() {
  local i
  for i in $(seq 100); do
    if [ "$(psql_q "$1")" -ge "$2" ]; then break; fi
    sleep 0.1
  done
  kill_bg
  PARTIAL=$(psql_q "$1")
}

teardown() {
  kill_bg
}

# pgload_backends: how many server processes serve a pgload (application_name).
pgload_backends() { psql_q "select count(*) from pg_stat_activity where application_name = 'pgload'"; }
# input_read: pgload has read everything written so far into its input FIFO $T/in.
input_read() { [ "$(fifo_unread "$T/in")" -eq 0 ]; }
# batch_open: pgload is connected and has read its input so far (into its open batch).
batch_open() {
  if [ "$(pgload_backends)" -ge 1 ]; then input_read; else return 1; fi
}

# The ids of an input file and of a table, sorted the same way.
ids_of_file() { jq -r .id "$1" | LC_ALL=C sort; }
ids_of_table() { psql_q "select id from $1" | LC_ALL=C sort; }

flat_table() {  # flat_table NAME: the flat users table with a primary key
  psql_q "create table $1 (id uuid primary key, first_name text, last_name text, gender text, address text,
          post_code text, email text not null, username text, dob timestamptz, registered_date timestamptz,
          phone text, picture text, nat text check (length(nat) = 2))"
}

@test "insert: --create --schema makes typed columns and loads every row" {
  run pgload --table ins1 --create --schema "$SCHEMA" --primary-key id <"$FLAT1K"
  assert_success
  assert_output --partial "in 1000, out 1000, rejected 0"
  run psql_q "select column_name || ':' || data_type || ':' || is_nullable from information_schema.columns
              where table_name = 'ins1' and column_name in ('id','dob','email','nat') order by column_name"
  assert_output "$(printf 'dob:timestamp with time zone:YES\nemail:text:NO\nid:uuid:NO\nnat:text:YES')"
  diff <(ids_of_file "$FLAT1K") <(ids_of_table ins1)
  # Values arrive intact: compare one record field by field.
  first=$(head -1 "$FLAT1K")
  id=$(jq -r .id <<<"$first")
  run psql_q "select email, address, to_char(dob at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') from ins1 where id = '$id'"
  assert_output "$(jq -r '[.email, .address, .dob] | join("|")' <<<"$first")"
}

@test "insert: --create without a schema infers types from the first batch" {
  printf '%s\n' '{"n":1,"f":1.5,"b":true,"s":"x","o":{"a":[1]},"arr":[1,2],"mix":1}' \
    '{"n":2,"f":2,"b":false,"s":"y","o":null,"arr":[],"mix":"z","late":"only here"}' >"$T/in"
  run pgload --table inf1 --create <"$T/in"
  assert_success
  run psql_q "select column_name || ':' || data_type from information_schema.columns where table_name = 'inf1' order by ordinal_position"
  assert_output "$(printf 'n:bigint\nf:double precision\nb:boolean\ns:text\no:jsonb\narr:jsonb\nmix:text\nlate:text')"
  run psql_q "select n, f, b, s, o::text, arr::text, mix, coalesce(late, '-') from inf1 order by n"
  assert_output "$(printf '1|1.5|t|x|{"a": [1]}|[1, 2]|1|-\n2|2|f|y||[]|z|only here')"
}

@test "text survives COPY escaping: tabs, newlines, backslashes, quotes, unicode" {
  psql_q "create table esc (id int primary key, s text, j jsonb)"
  printf '%s\n' '{"id":1,"s":"a\tb\nc\\d \"q\" \u00e9\u4e2d \ud83d\ude00","j":{"k":"v\\\t"}}' '{"id":2,"s":"\\N","j":"str"}' >"$T/in"
  run pgload --table esc <"$T/in"
  assert_success
  run psql_q "select json_build_object('s', s, 'j', j)::text from esc order by id"
  assert_line --index 0 '{"s" : "a\tb\nc\\d \"q\" é中 😀", "j" : {"k": "v\\\t"}}'
  assert_line --index 1 '{"s" : "\\N", "j" : "str"}'
}

@test "upsert: updates existing rows, duplicates in one batch collapse to the last" {
  flat_table ups1
  head -100 "$FLAT1K" | pgload -q --table ups1
  { head -50 "$FLAT1K" | jq -c '.nat = "AA"'; head -50 "$FLAT1K" | jq -c '.nat = "ZZ"'; sed -n 101,120p "$FLAT1K"; } >"$T/in"
  run pgload --table ups1 --mode upsert <"$T/in"
  assert_success
  run psql_q "select count(*), count(*) filter (where nat = 'ZZ'), count(*) filter (where nat = 'AA') from ups1"
  assert_output "120|50|0"
  # A replay of unchanged rows writes nothing; a changed row gets a new version.
  psql_q "select id, xmin from ups1 order by id" >"$T/before"
  { cat "$T/in"; sed -n 101p "$FLAT1K" | jq -c '.nat = "QQ"'; } | pgload -q --table ups1 --mode upsert
  psql_q "select id, xmin from ups1 order by id" >"$T/after"
  [ "$(diff "$T/before" "$T/after" | grep -c '^>')" -eq 1 ]
  [ "$(psql_q "select nat from ups1 where id = '$(sed -n 101p "$FLAT1K" | jq -r .id)'")" = QQ ]
}

@test "upsert: --key picks a unique column other than the primary key" {
  psql_q "create table ups2 (id serial primary key, email text unique, n int)"
  printf '%s\n' '{"email":"a","n":1}' '{"email":"b","n":1}' '{"email":"a","n":2}' | pgload -q --table ups2 --mode upsert --key email
  printf '%s\n' '{"email":"b","n":3}' | pgload -q --table ups2 --mode upsert --key email
  run psql_q "select email, n from ups2 order by email"
  assert_output "$(printf 'a|2\nb|3')"
  run pgload --table ups2 --mode upsert --key nosuch </dev/null
  assert_failure 2
  assert_output --partial "key column 'nosuch' is not loaded"
}

@test "upsert without a key or primary key is a usage error (exit 2)" {
  psql_q "create table nokey (a int, b int)"
  run pgload --table nokey --mode upsert </dev/null
  assert_failure 2
  assert_output --partial "needs a key"
}

@test "ignore: existing rows stay, the first of a duplicated key wins" {
  psql_q "create table ign (k int primary key, v text)"
  echo '{"k":1,"v":"old"}' | pgload -q --table ign
  printf '%s\n' '{"k":1,"v":"new"}' '{"k":2,"v":"first"}' '{"k":2,"v":"second"}' >"$T/in"
  run pgload --table ign --mode ignore --stats "$T/stats" <"$T/in"
  assert_success
  run psql_q "select k, v from ign order by k"
  assert_output "$(printf '1|old\n2|first')"
  [ "$(jq .conflicts "$T/stats")" -eq 2 ]
}

@test "--map nested paths with ::type, --jsonb keeps the whole record" {
  run pgload --table rawu --create --primary-key id --map id=login.uuid::uuid --map city=location.city \
    --map dob=/dob/date::timestamptz --map age=dob.age --jsonb doc --strict-fields < <(jq -c 'del(.id)' "$RAW200")
  assert_success
  run psql_q "select data_type from information_schema.columns where table_name = 'rawu' and column_name in ('id','dob','age','doc','city') order by column_name"
  assert_output "$(printf 'bigint\ntext\ntimestamp with time zone\njsonb\nuuid')"
  run psql_q "select count(*), count(distinct id), count(*) filter (where doc->'login'->>'uuid' = id::text and doc->'location'->>'city' = city) from rawu"
  assert_output "200|200|200"
}

@test "--map with an array index past any size (arr.99999999999999999999) finds nothing: the column is null, no crash" {
  # hardening finding 7: the index used to reach std::stoul's exception (exit 5)
  psql_q "create table hugeidx (id int primary key, v text)"
  run pgload --table hugeidx --map id=id --map v=arr.99999999999999999999 <<<'{"id":1,"arr":[1,2]}'
  assert_success
  refute_output --partial "internal error"
  run psql_q "select id, coalesce(v, 'NULL') from hugeidx"
  assert_output "1|NULL"
}

@test "--strict-fields rejects a record with a field that has no column" {
  psql_q "create table strict1 (a int, b text)"
  printf '%s\n' '{"a":1,"b":"x"}' '{"a":2,"c":"extra"}' '{"a":3}' >"$T/in"
  run pgload --table strict1 --strict-fields --rejects "$T/rej" <"$T/in"
  assert_success
  run psql_q "select a from strict1 order by a"
  assert_output "$(printf '1\n3')"
  run jq -r '[.line, .code, .reason, .record.c] | @tsv' "$T/rej"
  assert_output --partial "2	bad_value	unknown field 'c'"
  # Without the flag, unknown fields are ignored.
  run pgload --table strict1 <"$T/in"
  assert_success
}

@test "rows the database refuses are rejected with message and SQLSTATE, the rest loaded" {
  flat_table rej1
  head -1 "$FLAT1K" | pgload -q --table rej1
  {
    sed -n 2,400p "$FLAT1K"
    head -1 "$FLAT1K"                                  # 23505 duplicate key
    sed -n 401p "$FLAT1K" | jq -c '.id = "not-a-uuid"'   # 22P02 bad uuid
    sed -n 402p "$FLAT1K" | jq -c 'del(.email)'          # 23502 not null
    sed -n 403p "$FLAT1K" | jq -c '.nat = "XYZ"'         # 23514 check
    sed -n 404p "$FLAT1K" | jq -c '.dob = "yesterday-ish"'  # 22007 bad timestamp
    echo 'not json at all'
    sed -n 405,1000p "$FLAT1K"
  } >"$T/in"
  run pgload --table rej1 --rejects "$T/rej" <"$T/in"
  assert_success
  assert_output --partial "rejected 6"
  run jq -r '[.line, .code, (.sqlstate // "-")] | @tsv' "$T/rej"
  assert_output "$(printf '405\tnot_json\t-\n400\tsql\t23505\n401\tsql\t22P02\n402\tsql\t23502\n403\tsql\t23514\n404\tsql\t22007')"
  run jq -r 'select(.sqlstate == "22P02") | .reason' "$T/rej"
  assert_output --partial 'invalid input syntax for type uuid: "not-a-uuid"'
  # The rejected record is embedded as JSON, ready to fix and feed back.
  [ "$(jq -r 'select(.sqlstate == "23514") | .record.nat' "$T/rej")" = XYZ ]
  run psql_q "select count(*) from rej1"
  assert_output 996
}

@test "rejects decide the exit status: none allowed without a file, --max-rejects" {
  psql_q "create table rej2 (n int)"
  printf '%s\n' '{"n":1}' '{"n":"x"}' '{"n":3}' >"$T/in"
  run pgload --table rej2 <"$T/in"
  assert_failure 1
  assert_output --partial "rejected: database refused the row"
  run pgload --table rej2 --rejects "$T/r" --max-rejects 0 <"$T/in"
  assert_failure 1
  run pgload --table rej2 --rejects "$T/r" --max-rejects 1 <"$T/in"
  assert_success
  run psql_q "select count(*) from rej2"
  assert_output 6
}

@test "upsert mode also bisects: a NOT NULL violation rejects one row only" {
  flat_table rej3
  { head -300 "$FLAT1K"; sed -n 301p "$FLAT1K" | jq -c '.email = null'; sed -n 302,500p "$FLAT1K"; } >"$T/in"
  run pgload --table rej3 --mode upsert --rejects "$T/rej" <"$T/in"
  assert_success
  [ "$(jq -r .sqlstate "$T/rej")" = 23502 ]
  [ "$(jq -r .code "$T/rej")" = sql ]
  run psql_q "select count(*) from rej3"
  assert_output 499
}

@test "over-long lines, CRLF and blank lines" {
  psql_q "create table lines1 (a int, s text)"
  { printf '{"a":1,"s":"crlf"}\r\n\n\n'; printf '{"a":2,"s":"%s"}\n' "$(head -c 3000 /dev/zero | tr '\0' x)"; printf '{"a":3}'; } >"$T/in"
  run pgload --table lines1 --max-line-bytes 1KiB --rejects "$T/rej" <"$T/in"
  assert_success
  run psql_q "select a, coalesce(s, '-') from lines1 order by a"
  assert_output "$(printf '1|crlf\n3|-')"
  run jq -r '[.line, .code, .reason] | @tsv' "$T/rej"
  assert_output --partial "4	line_too_long	line too long: "
  assert_output --partial "bytes or more, over --max-line-bytes 1024"
}

@test "hostile identifiers are quoted: no SQL injection through table, schema, column or key names" {
  psql_q "create table victim (x int); insert into victim values (42)"
  psql_q 'create schema "s.""x"; create table "s.""x"."t""; drop table victim; --" ("we""ird col" int primary key, "select" text, "a b" text)'
  printf '%s\n' '{"we\"ird col":1,"select":"a","a b":"c"}' '{"we\"ird col":1,"select":"b","a b":"d"}' >"$T/in"
  run pgload --table '"s.""x"."t""; drop table victim; --"' --mode upsert <"$T/in"
  assert_success
  run psql_q 'select "we""ird col", "select", "a b" from "s.""x"."t""; drop table victim; --"'
  assert_output "1|b|d"
  run pgload --table 'bobby"; drop table victim; --' --create --primary-key 'id"); drop table victim; --' \
    --map 'id"); drop table victim; --=id' <<<'{"id":7}'
  assert_success
  run psql_q 'select "id""); drop table victim; --" from "bobby""; drop table victim; --"'
  assert_output 7
  run psql_q "select x from victim"
  assert_output 42
}

@test "unknown table without --create: exit 2; bad --map column: exit 2" {
  run pgload --table no_such_table <<<'{"a":1}'
  assert_failure 2
  assert_output --partial "table no_such_table does not exist (use --create)"
  psql_q "create table m1 (a int)"
  run pgload --table m1 --map nope=a <<<'{"a":1}'
  assert_failure 2
  assert_output --partial "has no column 'nope'"
  run pgload --table m1 --map a=@offset <<<'{"a":1}'
  assert_failure 2
  assert_output --partial "need --envelope"
}

@test "schema-qualified tables and search_path" {
  psql_q "create schema app; create table app.sq (a int); create table public.sq (a int)"
  echo '{"a":1}' | pgload -q --table app.sq
  echo '{"a":2}' | pgload -q --table sq
  run psql_q "select (select a from app.sq), (select a from public.sq)"
  assert_output "1|2"
}

@test "--envelope: loads value, maps @fields, acks every envelope after commit (rejects once written)" {
  psql_q "create table env1 (id text primary key, n int, topic text, part int, off bigint, k text, ts timestamptz)"
  {
    echo '{"topic":"users","partition":0,"offset":10,"timestamp":1732147200123,"key":"k1","value":{"id":"a","n":1}}'
    echo '{"topic":"users","partition":1,"offset":11,"timestamp":1732147200456,"key":null,"value":{"id":"b","n":"bad"}}'
    echo '{"topic":"users","partition":0,"offset":12,"timestamp":1732147200789,"key":"k3","value":"not an object"}'
    echo '{"topic":"users","partition":1,"offset":13,"key":"k4","value":{"id":"c","n":3}}'
    echo '{"topic":"users","partition":0,"offset":14,"key":"k5","payload":"{\"id\":\"d\",\"n\":4}"}'
  } >"$T/in"
  run pgload --table env1 --envelope --map topic=@topic --map part=@partition --map off=@offset --map k=@key \
    --map ts=@timestamp --ack "$T/acks" --rejects "$T/rej" <"$T/in"
  assert_success
  run psql_q "select id, n, topic, part, off, coalesce(k, '-'), coalesce(to_char(ts at time zone 'UTC', 'HH24:MI:SS.MS'), '-') from env1 order by id"
  assert_output "$(printf 'a|1|users|0|10|k1|00:00:00.123\nc|3|users|1|13|k4|-\nd|4|users|0|14|k5|-')"
  # The envelope the intake rejects (not an object) is acknowledged once its
  # reject is written, ahead of the batch; the rest after the COMMIT, in order.
  run cat "$T/acks"
  assert_output "$(printf '%s\n' '{"topic":"users","partition":0,"offset":12}' '{"topic":"users","partition":0,"offset":10}' \
    '{"topic":"users","partition":1,"offset":11}' '{"topic":"users","partition":1,"offset":13}' '{"topic":"users","partition":0,"offset":14}')"
  run jq -r '[.line, .code, (.sqlstate // "-")] | @tsv' "$T/rej"
  assert_output "$(printf '3\tnot_object\t-\n2\tsql\t22P02')"
}

@test "--ack without --rejects: rejected envelopes are not acknowledged (they would be lost)" {
  psql_q "create table env2 (id text primary key, n int)"
  printf '%s\n' '{"topic":"u","partition":0,"offset":1,"value":{"id":"a","n":1}}' \
    '{"topic":"u","partition":0,"offset":2,"value":{"id":"b","n":"bad"}}' \
    '{"topic":"u","partition":0,"offset":3,"value":[1]}' \
    '{"topic":"u","partition":0,"offset":4,"value":{"id":"c","n":4}}' >"$T/in"
  run pgload --table env2 --envelope --ack "$T/acks" <"$T/in"
  assert_failure 1
  assert_output --partial "--ack without --rejects"
  run jq -r .offset "$T/acks"
  assert_output "$(printf '1\n4')"
  run psql_q "select id from env2 order by id"
  assert_output "$(printf 'a\nc')"
}

@test "batches back to back (the next read while one commits): keys across batches, refused rows; last per key wins, acks in order" {
  psql_q "create table b2b (id int primary key, n int not null)"
  # 600 envelopes over 150 keys in batches of 50: each batch repeats keys of
  # the ones before (the direct COPY meets 23505, then the staged upsert), and
  # batches 3 and 9 hold a row the database refuses
  for o in $(seq 0 599); do
    if [ "$o" -eq 120 ] || [ "$o" -eq 430 ]; then v="{\"id\":$((1000 + o)),\"n\":null}"; else v="{\"id\":$((o % 150)),\"n\":$o}"; fi
    echo "{\"topic\":\"t\",\"partition\":0,\"offset\":$o,\"value\":$v}"
  done >"$T/in"
  run pgload --table b2b --mode upsert --envelope --batch-rows 50 --ack "$T/acks" --rejects "$T/rej" --stats "$T/stats" <"$T/in"
  assert_success
  [ "$(jq .batches "$T/stats")" -eq 12 ]
  run psql_q "select count(*), sum(n) from b2b"
  assert_output "150|$(seq 450 599 | paste -sd+ | bc)"
  run jq -r .sqlstate "$T/rej"
  assert_output "$(printf '23502\n23502')"
  # every envelope acknowledged once, in input order
  run jq -r .offset "$T/acks"
  assert_output "$(seq 0 599)"
}

@test "upsert split over two connections: last per key wins (keys written two ways too), refused rows, acks in order" {
  # engine: PostgreSQL (Debian's). A staged batch of 1000 rows or more is
  # split by key over a second connection; 6000 envelopes over 700 keys in
  # batches of 1000 (each batch repeats keys: staged from the first on).
  psql_q "create table split1 (id int primary key, n int not null)"
  # offset 2500: refused (NOT NULL) inside a split batch; 3100 to 3400: one
  # key written four ways ("0100000" ...), the server's equal, the client's not
  awk 'BEGIN {
    for (o = 0; o < 6000; o++) {
      if (o == 2500) v = "{\"id\":100001,\"n\":null}"
      else if (o >= 3100 && o <= 3400 && o % 100 == 0) {
        k = "100000"; for (i = 0; i < (o - 3000) / 100; i++) k = "0" k
        v = "{\"id\":\"" k "\",\"n\":" o "}"; last[100000] = o
      } else { v = "{\"id\":" o % 700 ",\"n\":" o "}"; last[o % 700] = o }
      printf "{\"topic\":\"t\",\"partition\":0,\"offset\":%d,\"value\":%s}\n", o, v
    }
    for (k in last) sum += last[k]
    print sum > "/dev/stderr"
  }' >"$T/in" 2>"$T/sum"
  sum=$(cat "$T/sum")
  run pgload -vv --table split1 --mode upsert --envelope --batch-rows 1000 --ack "$T/acks" --rejects "$T/rej" \
    --stats "$T/stats" <"$T/in"
  assert_success
  [ "$(grep -c 'split over two connections' <<<"$output")" -ge 4 ] || fail "no split batches: $output"
  [ "$(jq .batches "$T/stats")" -eq 6 ]
  run psql_q "select count(*), sum(n), max(n) filter (where id = 100000) from split1"
  assert_output "701|$sum|3400"
  run jq -r .sqlstate "$T/rej"
  assert_output 23502
  run jq -r .offset "$T/acks"
  assert_output "$(seq 0 5999)"
}

@test "upsert split over two connections: both backends killed mid-load, then kill -9 and a re-run: every row changed once" {
  # engine: PostgreSQL (Debian's)
  flat_table split2
  pgload -q --table split2 <"$FLAT100K"
  sed 's/"phone":"\([^"]*\)"/"phone":"\1-2"/' "$FLAT100K" >"$T/changed"
  mkfifo "$T/in"
  pgload --table split2 --mode upsert --batch-rows 5000 --flush-interval 30s -vv <"$T/in" 2>"$T/err" &
  BG_PID=$!
  exec 7>"$T/in"
  head -30000 "$T/changed" >&7
  # both connections open (the second is opened by the first split batch)
  wait_until 30 '[ "$(pgload_backends)" -ge 2 ]'
  psql_q "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'pgload'" >/dev/null
  sed -n 30001,60000p "$T/changed" >&7
  kill_at_rows "select count(*) from split2 where phone like '%-2'" 50000
  exec 7>&-
  grep -q 'split over two connections' "$T/err" || fail "no split batches: $(cat "$T/err")"
  grep -q 'reconnected' "$T/err" || fail "no reconnect: $(cat "$T/err")"
  [ "$PARTIAL" -ge 50000 ]
  [ "$PARTIAL" -lt 100000 ]
  run pgload --table split2 --mode upsert <"$T/changed"
  assert_success
  run psql_q "select count(*), count(distinct id), count(*) filter (where phone like '%-2' and phone not like '%-2-2') from split2"
  assert_output "100000|100000|100000"
}

@test "--ack: nothing is acknowledged before its batch commits" {
  psql_q "create table ack2 (id int primary key)"
  mkfifo "$T/in"
  pgload --table ack2 --envelope --ack "$T/acks" --flush-interval 30s --flush-idle 0 --batch-rows 1000 <"$T/in" 2>"$T/err" &
  BG_PID=$!
  exec 7>"$T/in"
  for i in 1 2 3; do echo "{\"topic\":\"t\",\"partition\":0,\"offset\":$i,\"value\":{\"id\":$i}}" >&7; done
  wait_until 10 input_read
  sleep 1   # the thing tested: for 1 s after reading them, pgload acknowledges nothing
  [ ! -s "$T/acks" ]
  [ "$(psql_q 'select count(*) from ack2')" -eq 0 ]
  exec 7>&-
  wait "$BG_PID"
  BG_PID=
  [ "$(wc -l <"$T/acks")" -eq 3 ]
  [ "$(psql_q 'select count(*) from ack2')" -eq 3 ]
}

@test "a trickle (one record per 0.3 s) lands within --flush-interval; application_name is pgload" {
  psql_q "create table trickle (n int, at timestamptz default clock_timestamp())"
  mkfifo "$T/in"
  pgload --table trickle --flush-interval 1s <"$T/in" 2>"$T/err" &
  BG_PID=$!
  exec 7>"$T/in"
  for n in 1 2 3 4 5 6 7 8; do
    echo "{\"n\":$n}" >&7
    date +%s.%N >"$T/sent.$n"
    sleep 0.3   # the pace is the thing tested
  done
  # Every record is in while pgload still runs, each within ~1 s of being sent
  # (the lags below; the wait only ends early).
  wait_until 5 '[ "$(psql_q "select count(*) from trickle")" -eq 8 ]'
  run psql_q "select count(*) from pg_stat_activity where application_name = 'pgload'"
  assert_output 1
  for n in 1 2 3 4 5 6 7 8; do
    lag=$(psql_q "select extract(epoch from at) - $(cat "$T/sent.$n") from trickle where n = $n")
    awk -v l="$lag" 'BEGIN { exit !(l < 1.6) }' || fail "record $n landed after ${lag}s"
  done
  exec 7>&-
  wait "$BG_PID"
  BG_PID=
}

@test "--flush-idle: a burst followed by silence is committed at once, acks after the commit; the stream goes on" {
  psql_q "create table idle1 (id int primary key, at timestamptz default clock_timestamp())"
  mkfifo "$T/in"
  # Neither --batch-rows nor --flush-interval can end these batches: only the idle time.
  pgload --table idle1 --envelope --ack "$T/acks" --flush-interval 60s --batch-rows 100000 --flush-idle 50ms \
    --stats "$T/stats" <"$T/in" 2>"$T/err" &
  BG_PID=$!
  exec 7>"$T/in"
  for burst in 0 1 2; do
    lines=$(for n in $(seq $((burst * 5 + 1)) $((burst * 5 + 5))); do
      echo "{\"topic\":\"t\",\"partition\":0,\"offset\":$n,\"value\":{\"id\":$n}}"
    done)
    printf '%s\n' "$lines" >&7  # one write: the burst never looks idle halfway
    date +%s.%N >"$T/sent.$burst"
    for i in $(seq 100); do
      if [ "$(psql_q 'select count(*) from idle1')" -ge $(((burst + 1) * 5)) ]; then break; fi
      sleep 0.05
    done
    [ "$(psql_q 'select count(*) from idle1')" -eq $(((burst + 1) * 5)) ] || fail "burst $burst not committed: $(cat "$T/err")"
    # each acknowledged, once committed
    for i in $(seq 50); do if [ "$(wc -l <"$T/acks")" -ge $(((burst + 1) * 5)) ]; then break; fi; sleep 0.05; done
    [ "$(wc -l <"$T/acks")" -eq $(((burst + 1) * 5)) ]
    lag=$(psql_q "select extract(epoch from max(at)) - $(cat "$T/sent.$burst") from idle1")
    awk -v l="$lag" 'BEGIN { exit !(l < 2) }' || fail "burst $burst committed after ${lag}s (--flush-interval is 60s)"
  done
  exec 7>&-
  wait "$BG_PID"
  BG_PID=
  [ "$(jq .batches "$T/stats")" -eq 3 ]
  [ "$(psql_q 'select count(*) from idle1')" -eq 15 ]
}

@test "SIGTERM mid-stream commits the open batch and exits 0" {
  psql_q "create table term1 (n int)"
  mkfifo "$T/in"
  pgload --table term1 --flush-interval 60s --flush-idle 0 <"$T/in" 2>"$T/err" &
  BG_PID=$!
  exec 7>"$T/in"
  for n in $(seq 1 500); do echo "{\"n\":$n}"; done >&7
  wait_until 10 input_read   # all 500 read before the signal
  kill -TERM "$BG_PID"
  rc=0
  wait "$BG_PID" || rc=$?
  BG_PID=
  exec 7>&-
  [ "$rc" -eq 0 ] || { cat "$T/err"; fail "exit $rc"; }
  [ "$(psql_q 'select count(*) from term1')" -eq 500 ]
}

@test "a server restart in the middle of a 100,000-row load: the table equals the input" {
  psql_q "create table restart1 (id text primary key, first_name text, last_name text, gender text, address text,
          post_code text, email text, username text, dob text, registered_date text, phone text, picture text, nat text)"
  # The restart once pgload has read the first half: two batches committed, the
  # third open (10,000 rows, partly sent), so it hits an uncommitted batch.
  mkfifo "$T/in"
  pgload --table restart1 --batch-rows 20000 --flush-interval 30s --flush-idle 0 <"$T/in" 2>"$T/err" &
  BG_PID=$!
  exec 7>"$T/in"
  head -50000 "$FLAT100K" >&7
  wait_until 30 input_read
  restart_postgres 3>&- 7>&-   # the server must not hold pgload's input open
  tail -n +50001 "$FLAT100K" >&7
  exec 7>&-
  wait "$BG_PID"
  rc=$?
  BG_PID=
  [ "$rc" -eq 0 ] || { cat "$T/err"; fail "exit $rc"; }
  grep -q "reconnecting" "$T/err" || fail "the restart did not hit the load: $(cat "$T/err")"
  # Exact content: every row, once, with every field as in the input.
  psql -X -q -A -t -c "copy (select row_to_json(r) from restart1 r) to stdout" | jq -cS . | LC_ALL=C sort >"$T/table"
  jq -cS . "$FLAT100K" | LC_ALL=C sort >"$T/input"
  cmp "$T/table" "$T/input"
}

@test "a server crash mid-COPY (pg_ctl stop -m immediate): reconnect and replay with --retries, nothing lost" {
  # engine: PostgreSQL (Debian's). Issue #14: the broken COPY had no SQLSTATE and
  # was taken for a fatal error (exit 3 in 50 ms). A first version of this test
  # hung: the restarted server inherited the write end of pgload's input FIFO
  # (fd 7), so pgload never saw the end of its input. The restart closes it.
  # --flush-idle 0: the first 3,000 rows stay in the open COPY when the server
  # dies. (With the default 10 ms they were committed before the crash, and the
  # throwaway server, which runs with synchronous_commit=off, lost that commit:
  # the server's loss, not pgload's.) The table itself is committed durably
  # for the same reason; the restarted server commits durably anyway.
  psql_q "set synchronous_commit = on; create table crash1 (n int primary key)"
  mkfifo "$T/in"
  timeout 120 pgload --table crash1 --flush-interval 30s --flush-idle 0 --batch-rows 100000 --retries 20 <"$T/in" 2>"$T/err" &
  BG_PID=$!
  exec 7>"$T/in"
  seq 1 3000 | sed 's/.*/{"n":&}/' >&7
  wait_until 10 batch_open
  as_pg_owner "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null
  seq 3001 6000 | sed 's/.*/{"n":&}/' >&7
  wait_until 10 input_read   # read while the server is down
  as_pg_owner "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
    -o "-p $PGPORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null 3>&- 7>&-
  seq 6001 9000 | sed 's/.*/{"n":&}/' >&7
  exec 7>&-
  rc=0
  wait "$BG_PID" || rc=$?
  BG_PID=
  [ "$rc" -ne 124 ] || fail "pgload did not finish within 120 s: $(cat "$T/err")"
  [ "$rc" -eq 0 ] || { cat "$T/err"; fail "exit $rc"; }
  grep -q "reconnected" "$T/err" || fail "no reconnect: $(cat "$T/err")"
  run psql_q "select count(*), count(distinct n), min(n), max(n) from crash1"
  assert_output "9000|9000|1|9000"
}

@test "kill -9 mid-load, then a re-run in upsert mode: exact row set, no duplicates" {
  flat_table kill1
  # 30,000 rows and an input that stays open (fd 7), so the last batch stays open
  mkfifo "$T/in"
  pgload --table kill1 --batch-rows 5000 --flush-interval 30s <"$T/in" 2>"$T/err" &
  BG_PID=$!
  exec 7>"$T/in"
  head -30000 "$FLAT100K" >&7
  kill_at_rows 'select count(*) from kill1' 25000
  exec 7>&-
  [ "$PARTIAL" -ge 25000 ]
  [ "$PARTIAL" -lt 100000 ]
  run pgload --table kill1 --mode upsert <"$FLAT100K"
  assert_success
  run psql_q "select count(*), count(distinct id) from kill1"
  assert_output "100000|100000"
  diff <(ids_of_file "$FLAT100K") <(ids_of_table kill1)
}

@test "the database unreachable: exit 3 after --retries, saying what was committed" {
  run env PGHOST=/nonexistent pgload --table x --retries 2 <<<'{"a":1}'
  assert_failure 3
  assert_output --partial "after 2 retries"
  assert_output --partial "0 record(s) committed"
}

@test "a password never shows in errors or logs" {
  run pgload -d "host=/nonexistent dbname=x password=s3cretpw" --table x --retries 0 <<<'{"a":1}'
  assert_failure 3
  refute_output --partial s3cretpw
  assert_output --partial "process list"
  run pgload -d "host=/nonexistent password=s3cretpw brokenword" --table x <<<'{"a":1}'
  assert_failure 2
  refute_output --partial s3cretpw
  run pgload -d "postgresql://postgres:s3cretpw@/nosuchdb?host=$PGHOST&port=$PGPORT" --table x <<<'{"a":1}'
  assert_failure 2
  refute_output --partial s3cretpw
  assert_output --partial 'database "nosuchdb" does not exist'
  # A password in -d is blanked in the process list once pgload runs.
  psql_q "create table nopw (a int)"
  mkfifo "$T/in"
  pgload -q -d "dbname=postgres password=s3cretpw" --table nopw <"$T/in" 2>/dev/null &
  BG_PID=$!
  exec 7>"$T/in"
  wait_until 10 'tr "\0" " " </proc/$BG_PID/cmdline | grep -qF "password=********"'
  run cat /proc/$BG_PID/cmdline
  refute_output --partial s3cretpw
  assert_output --partial "password=********"
  exec 7>&-
  wait "$BG_PID" || true
  BG_PID=
}

@test "--batch-rows and --stats: one transaction per batch" {
  psql_q "create table b1 (id uuid, email text)"
  run pgload --table b1 --batch-rows 300 --stats "$T/stats" <"$FLAT1K"
  assert_success
  [ "$(jq .batches "$T/stats")" -eq 4 ]
  [ "$(jq .records_out "$T/stats")" -eq 1000 ]
  run psql_q "select count(*) from b1"
  assert_output 1000
}

@test "credentials by libpq's conventions: PGPASSFILE works, a wrong password is exit 2 and never echoed" {
  psql_q "create role loader login password 'right-horse-battery'; create table cred (a int); grant insert, select on cred to loader"
  # Password auth for this role over TCP, ahead of the trust lines.
  hba=$PG_DIR/data/pg_hba.conf
  { echo "host all loader 127.0.0.1/32 scram-sha-256"; cat "$hba"; } >"$T/hba" && cat "$T/hba" >"$hba"
  psql_q "select pg_reload_conf()" >/dev/null
  # The reload is asynchronous: wait until the server asks loader for a password.
  wait_until 10 "! PGPASSWORD= PGPASSFILE=/dev/null psql -X -w -q -h 127.0.0.1 -U loader -c 'select 1' >/dev/null 2>&1"
  echo "127.0.0.1:$PGPORT:*:loader:right-horse-battery" >"$T/pgpass"
  chmod 600 "$T/pgpass"
  run env PGPASSFILE="$T/pgpass" pgload -d "host=127.0.0.1 user=loader" --table cred <<<'{"a":1}'
  assert_success
  run env PGPASSWORD=wrong-horse-staple pgload -d "host=127.0.0.1 user=loader" --table cred <<<'{"a":2}'
  assert_failure 2
  assert_output --partial "password authentication failed"
  refute_output --partial "wrong-horse-staple"
  run psql_q "select count(*) from cred"
  assert_output 1
}

@test "--batch-bytes cuts batches by input size" {
  psql_q "create table bb (id uuid, email text)"
  # ~426 bytes a line: 64KiB holds about 150 lines, so 1000 lines make 7 batches.
  run pgload --table bb --batch-bytes 64KiB --stats "$T/stats" <"$FLAT1K"
  assert_success
  [ "$(jq .batches "$T/stats")" -ge 6 ]
  [ "$(jq .batches "$T/stats")" -le 8 ]
  [ "$(psql_q 'select count(*) from bb')" -eq 1000 ]
}

@test "reject options: --rejects-append, --max-reject-rate, --quiet-rejects" {
  psql_q "create table ro (n int)"
  printf '%s\n' '{"n":1}' '{"n":"x"}' '{"n":3}' '{"n":4}' >"$T/in"
  pgload -q --table ro --rejects "$T/rej" <"$T/in"
  pgload -q --table ro --rejects "$T/rej" --rejects-append <"$T/in"
  [ "$(wc -l <"$T/rej")" -eq 2 ]
  run pgload --table ro --rejects "$T/rej" --max-reject-rate 20% <"$T/in"
  assert_failure 1
  run pgload --table ro --rejects "$T/rej" --max-reject-rate 30% <"$T/in"
  assert_success
  run pgload --table ro --quiet-rejects --max-rejects 5 <"$T/in"
  assert_success
  refute_output --partial "rejected: database refused"
  [ "$(psql_q 'select count(*) from ro')" -eq 15 ]
}

@test "a backend killed mid-batch (pg_terminate_backend): reconnect, replay, nothing lost or doubled" {
  psql_q "create table term2 (n int)"
  mkfifo "$T/in"
  pgload --table term2 --flush-interval 30s --flush-idle 0 --batch-rows 100000 <"$T/in" 2>"$T/err" &
  BG_PID=$!
  exec 7>"$T/in"
  seq 1 3000 | sed 's/.*/{"n":&}/' >&7
  wait_until 10 batch_open   # connected, the 3,000 in its batch
  [ "$(psql_q "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'pgload'")" = t ]
  seq 3001 6000 | sed 's/.*/{"n":&}/' >&7
  exec 7>&-
  wait "$BG_PID"
  rc=$?
  BG_PID=
  [ "$rc" -eq 0 ] || { cat "$T/err"; fail "exit $rc"; }
  grep -q "reconnected" "$T/err" || fail "no reconnect: $(cat "$T/err")"
  run psql_q "select count(*), count(distinct n), min(n), max(n) from term2"
  assert_output "6000|6000|1|6000"
}

@test "a COMMIT whose reply is lost is checked with txid_status: committed once, not replayed" {
  psql_q "create table doubt (n int)"  # no key: a replay would double the rows
  port=$(free_port)
  python3 "$PIPEKIT_ROOT/tests/support/commit_cutter.py" "$port" 127.0.0.1 "$PGPORT" >"$T/proxy" 2>&1 &
  BG_PID=$!
  for i in $(seq 50); do grep -q ready "$T/proxy" && break; sleep 0.1; done
  run bash -c "seq 1 500 | sed 's/.*/{\"n\":&}/' | pgload -d 'host=127.0.0.1 port=$port sslmode=disable' --table doubt -v"
  assert_success
  assert_output --partial "the interrupted COMMIT did commit"
  run psql_q "select count(*), count(distinct n) from doubt"
  assert_output "500|500"
}
