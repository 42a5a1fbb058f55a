#!/usr/bin/env bats
# fileload's command line and files, no server: formats, compression, CSV per
# RFC 4180, rejects with reasons, rolling, partitions, names, temporary files,
# acks only for durable files. (Parquet read back by pyarrow and DuckDB, kill -9
# and memory: tests/integration/fileload.bats.)
load ../support/common

DATA=$SAMPLES/fileload
SCHEMA=$DATA/all-types.schema.json

setup() {
  OUT=$BATS_TEST_TMPDIR/out
}

# complete files under OUT (not the hidden temporary ones), sorted
files() { find "$OUT" -type f ! -name '.*' | sort; }
temps() { find "$OUT" -type f -name '.part-*.tmp' | sort; }
# envelopes TOPIC FILE: each line as the value of an envelope, offsets 0.. (text
# kept as is: jq would round the 64-bit extremes)
envelopes() {
  python3 -c 'import sys
for i, l in enumerate(open(sys.argv[2], encoding="utf-8")):
    sys.stdout.write("{\"topic\":\"%s\",\"partition\":0,\"offset\":%d,\"value\":%s}\n" % (sys.argv[1], i, l.rstrip("\n")))' "$@"
}

@test "ndjson without a schema passes records through, byte for byte" {
  run fileload --dir "$OUT" --format ndjson -q < "$DATA/all-types.ndjson"
  [ "$status" -eq 0 ]
  [ "$(files | wc -l)" -eq 1 ]
  f=$(files)
  [[ "$(basename "$f")" =~ ^part-[0-9]{8}T[0-9]{6}Z-.+-[0-9]+-[0-9a-f]{16}-000001\.ndjson$ ]]
  cmp "$f" "$DATA/all-types.ndjson"
  [ -z "$(temps)" ]
}

@test "csv and parquet without a schema refuse to start: exit 2 naming --schema" {
  for fmt in csv parquet; do
    run fileload --dir "$OUT" --format $fmt < "$DATA/all-types.ndjson"
    [ "$status" -eq 2 ]
    assert_output --partial "--format $fmt needs --schema FILE"
  done
  [ ! -d "$OUT" ] || [ -z "$(files)" ]
}

@test "bad option values: exit 2 with the option named" {
  run fileload --dir "$OUT" --format xml </dev/null
  [ "$status" -eq 2 ]
  assert_output --partial "--format: expected ndjson, csv or parquet"
  run fileload --dir "$OUT" --format csv --schema "$SCHEMA" --compression snappy </dev/null
  [ "$status" -eq 2 ]
  assert_output --partial "snappy is for parquet"
  run fileload --dir "$OUT" --format parquet --schema "$SCHEMA" --compression gzip </dev/null
  [ "$status" -eq 2 ]
  assert_output --partial "gzip is for ndjson and csv"
  run fileload --dir "$OUT" --format ndjson --nested deep </dev/null
  [ "$status" -eq 2 ]
  run fileload --dir "$OUT" --format ndjson --roll-records 0 </dev/null
  [ "$status" -eq 2 ]
  run fileload --dir "$OUT" --format parquet --schema /nonexistent.json </dev/null
  [ "$status" -eq 2 ]
  assert_output --partial "--schema: cannot read"
  run fileload --format ndjson </dev/null
  [ "$status" -eq 2 ]
  assert_output --partial "--dir"
}

@test "gzip and zstd ndjson and csv decompress to the plain files" {
  fileload --dir "$OUT/plain" --format ndjson -q < "$DATA/all-types.ndjson"
  fileload --dir "$OUT/gz" --format ndjson --compression gzip -q < "$DATA/all-types.ndjson"
  fileload --dir "$OUT/zst" --format ndjson --compression zstd --compression-level 19 -q < "$DATA/all-types.ndjson"
  [[ "$(files | grep /gz/)" == *.ndjson.gz ]]
  [[ "$(files | grep /zst/)" == *.ndjson.zst ]]
  gzip -t "$(files | grep /gz/)"
  cmp <(gzip -dc "$(files | grep /gz/)") "$DATA/all-types.ndjson"
  cmp <(zstd -qdc "$(files | grep /zst/)") "$DATA/all-types.ndjson"
  fileload --dir "$OUT/csv" --format csv --schema "$SCHEMA" -q < "$DATA/all-types.ndjson"
  fileload --dir "$OUT/csvz" --format csv --schema "$SCHEMA" --compression zstd -q < "$DATA/all-types.ndjson"
  cmp <(zstd -qdc "$(files | grep /csvz/)") "$(files | grep /csv/)"
}

@test "csv follows RFC 4180: header, CRLF, quotes doubled, embedded newlines, null vs empty, UTF-8" {
  fileload --dir "$OUT" --format csv --schema "$SCHEMA" -q < "$DATA/all-types.ndjson"
  f=$(files)
  [[ "$f" == *.csv ]]
  [ "$(head -1 "$f" | tail -c 2 | od -An -c | tr -d ' ')" = '\r\n' ]
  # Python's csv module (an RFC 4180 reader) gets every value back.
  run python3 - "$f" "$DATA/all-types.ndjson" <<'PY'
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8"), strict=True))
recs = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
assert rows[0] == ["id","seq","small","name","score","active","registered","birthday","gender","login","tags"], rows[0]
assert len(rows) == 1 + len(recs), len(rows)
for row, rec in zip(rows[1:], recs):
    assert row[0] == rec["id"], (row[0], rec["id"])
    assert int(row[1]) == rec["seq"]
    name = rec.get("name")
    assert row[3] == (name if name is not None else ""), (row[3], name)
    if rec.get("login") is not None:
        assert json.loads(row[9]) == rec["login"], row[9]
    else:
        assert row[9] == ""
raw = open(sys.argv[1], "rb").read()
assert b',"",' in raw, "an empty string is written as \"\""
assert b'"Zo\xc3\xab ""Ziggy"" \xc3\x98deg\xc3\xa5rd, \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x9a\x80\nsecond line\r\nthird"' in raw
print("csv ok", len(rows) - 1)
PY
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  assert_output "csv ok 6"
}

@test "ndjson with a schema: the columns, in order, typed; --nested flatten names leaves by path" {
  fileload --dir "$OUT" --format ndjson --schema "$SCHEMA" --nested flatten -q < "$DATA/all-types.ndjson"
  run jq -c 'keys_unsorted' "$(files)"
  [ "${lines[0]}" = '["id","seq","small","name","score","active","registered","birthday","gender","login_username","login_age","tags"]' ]
  run jq -c '[.login_username, .login_age, .tags]' "$(files)"
  [ "${lines[0]}" = '["happycat1",36,["a","b"]]' ]
  [ "${lines[1]}" = '["",null,[]]' ]
  [ "${lines[2]}" = '[null,null,null]' ]
  # the 64-bit extremes as written (jq would round them)
  sed -n 2p "$(files)" | grep -qF '"seq":-9223372036854775808,"small":-2147483648,'
  sed -n 3p "$(files)" | grep -qF '"seq":9223372036854775807,"small":2147483647,'
}

@test "a record that does not fit is a reject with the column and the reason; the rest are written" {
  run fileload --dir "$OUT" --format parquet --schema "$SCHEMA" --rejects "$BATS_TEST_TMPDIR/rej.ndjson" \
      --stats "$BATS_TEST_TMPDIR/stats.json" < <(cat "$DATA/bad.ndjson" "$DATA/all-types.ndjson")
  [ "$status" -eq 0 ]
  run jq -r '.reason' "$BATS_TEST_TMPDIR/rej.ndjson"
  [ "${#lines[@]}" -eq 10 ]
  [ "${lines[0]}" = "'id' is required and missing" ]
  [ "${lines[1]}" = "'seq' should be an integer, not a string" ]
  [ "${lines[2]}" = "'small' is out of the 32-bit integer range the schema gives" ]
  [ "${lines[3]}" = "'registered' is not an RFC 3339 date-time" ]
  [ "${lines[4]}" = "'birthday' is not a date (YYYY-MM-DD)" ]
  [ "${lines[5]}" = "'id' is not a uuid" ]
  [ "${lines[6]}" = "'active' should be a boolean, not a string" ]
  [[ "${lines[7]}" == "invalid JSON at byte "* ]]
  [ "${lines[8]}" = "the record is not a JSON object" ]
  [ "${lines[9]}" = "'seq' is out of the 64-bit integer range" ]
  [ "$(jq -c '.record' "$BATS_TEST_TMPDIR/rej.ndjson" | head -1)" = '{"seq":7}' ]
  run jq -r '.code' "$BATS_TEST_TMPDIR/rej.ndjson"
  assert_output "$(printf '%s\n' missing_field bad_value number_out_of_range bad_value bad_value bad_value bad_value \
    not_json not_object number_out_of_range)"
  [ "$(jq '[.records_in, .records_out, .rejected, .files]' -c "$BATS_TEST_TMPDIR/stats.json")" = "[16,6,10,1]" ]
  # Without --rejects: reasons on stderr and exit 1; --max-rejects allows them.
  run fileload --dir "$OUT" --format csv --schema "$SCHEMA" < "$DATA/bad.ndjson"
  [ "$status" -eq 1 ]
  assert_output --partial "'small' is out of the 32-bit integer range"
  run fileload --dir "$OUT" --format csv --schema "$SCHEMA" --max-rejects 10 -q < "$DATA/bad.ndjson"
  [ "$status" -eq 0 ]
}

@test "rolling by records: 10 files of 100, unique names with a sequence, nothing lost" {
  seq 1 1000 | sed 's/.*/{"n":&}/' | fileload --dir "$OUT" --format ndjson --roll-records 100 -q
  [ "$(files | wc -l)" -eq 10 ]
  [ "$(files | xargs -n1 basename | sed 's/.*-\([0-9]*\)\.ndjson/\1/' | sort -u | wc -l)" -eq 10 ]
  [ "$(cat $(files) | jq -s 'map(.n) | sort == [range(1;1001)]')" = true ]
  for f in $(files); do [ "$(wc -l < "$f")" -eq 100 ]; done
}

@test "rolling by size: a new file once one reaches --roll-bytes" {
  seq 1 2000 | sed 's/.*/{"n":&,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}/' |
    fileload --dir "$OUT" --format ndjson --roll-bytes 16k -q
  n=$(files | wc -l)
  [ "$n" -ge 8 ]
  [ "$(cat $(files) | wc -l)" -eq 2000 ]
}

@test "rolling by age: a file completes while input is still open" {
  mkfifo "$BATS_TEST_TMPDIR/in"
  fileload --dir "$OUT" --format ndjson --roll-age 300ms -q < "$BATS_TEST_TMPDIR/in" &
  pid=$!
  exec 5>"$BATS_TEST_TMPDIR/in"
  echo '{"n":1}' >&5
  for i in $(seq 1 50); do if [ -n "$(files)" ]; then break; fi; sleep 0.1; done
  [ "$(files | wc -l)" -eq 1 ]
  kill -0 $pid   # still running, input still open
  echo '{"n":2}' >&5
  exec 5>&-
  wait $pid
  [ "$(files | wc -l)" -eq 2 ]
}

@test "rolling by age with a steady trickle of records: files still complete on time" {
  # a record every 100 ms for 2 s, --roll-age 400ms: about 5 files, not 1
  (for i in $(seq 1 20); do echo "{\"n\":$i}"; sleep 0.1; done) |
    fileload --dir "$OUT" --format ndjson --roll-age 400ms -q
  [ "$(files | wc -l)" -ge 3 ]
  [ "$(cat $(files) | wc -l)" -eq 20 ]
}

@test "partitions: FIELD=value folders, day:FIELD in UTC, Hive escapes, nulls in __HIVE_DEFAULT_PARTITION__" {
  fileload --dir "$OUT" --format ndjson --schema "$SCHEMA" --partition-by gender \
      --partition-by day:registered -q < "$DATA/all-types.ndjson"
  run bash -c "cd '$OUT' && find . -type f ! -name '.*' | xargs -n1 dirname | sort"
  [ "${lines[0]}" = "./gender=__HIVE_DEFAULT_PARTITION__/registered_day=1900-01-01" ]
  [ "${lines[1]}" = "./gender=__HIVE_DEFAULT_PARTITION__/registered_day=1961-03-01" ]
  [ "${lines[2]}" = "./gender=__HIVE_DEFAULT_PARTITION__/registered_day=__HIVE_DEFAULT_PARTITION__" ]
  [ "${lines[3]}" = "./gender=female/registered_day=2026-11-30" ]
  [ "${lines[4]}" = "./gender=female/registered_day=2262-04-11" ]
  [ "${lines[5]}" = "./gender=male/registered_day=1969-12-31" ]
  echo '{"k":"a/b=c"}' | fileload --dir "$OUT/esc" --format ndjson --partition-by k -q
  [ -d "$OUT/esc/k=a%2Fb%3Dc" ]
  run fileload --dir "$OUT/bad" --format ndjson --partition-by day:k <<<'{"k":"yesterday"}'
  [ "$status" -eq 1 ]
  assert_output --partial "--partition-by day:k: not an RFC 3339 date-time or a date"
}

@test "--max-open-files: the least recently used partition file is completed, nothing lost" {
  seq 1 60 | awk '{printf "{\"n\":%d,\"p\":%d}\n", $1, $1 % 3}' |
    fileload --dir "$OUT" --format ndjson --partition-by p --max-open-files 2 -q
  [ "$(cat $(files) | wc -l)" -eq 60 ]
  [ "$(files | wc -l)" -gt 3 ]
}

@test "leftover temporary files are removed at start unless a live process holds them" {
  mkdir -p "$OUT/p=1"
  echo partial > "$OUT/p=1/.part-dead.ndjson.tmp"
  echo partial > "$OUT/.part-held.ndjson.tmp"
  echo keep > "$OUT/.not-ours.tmp"
  # flock(1) holds the lock a live fileload would hold
  flock "$OUT/.part-held.ndjson.tmp" sleep 30 3>&- &
  holder=$!
  sleep 0.2
  run fileload --dir "$OUT" --format ndjson --stats "$BATS_TEST_TMPDIR/stats.json" </dev/null
  kill $holder; wait $holder 2>/dev/null || true
  [ "$status" -eq 0 ]
  assert_output --partial "removed $OUT/p=1/.part-dead.ndjson.tmp, left by an interrupted run"
  [ ! -e "$OUT/p=1/.part-dead.ndjson.tmp" ]
  [ -e "$OUT/.part-held.ndjson.tmp" ]
  [ -e "$OUT/.not-ours.tmp" ]
  [ "$(jq .stale_temps_removed "$BATS_TEST_TMPDIR/stats.json")" -eq 1 ]
}

@test "envelopes: values written, acks only once the file is durable, rejects acked once written" {
  mkfifo "$BATS_TEST_TMPDIR/in"
  acks=$BATS_TEST_TMPDIR/acks
  fileload --dir "$OUT" --format parquet --schema "$SCHEMA" --envelope --ack "$acks" \
      --roll-records 3 --rejects "$BATS_TEST_TMPDIR/rej" -q < "$BATS_TEST_TMPDIR/in" &
  pid=$!
  exec 5>"$BATS_TEST_TMPDIR/in"
  envelopes users "$DATA/all-types.ndjson" | head -2 >&5
  echo '{"topic":"users","partition":1,"offset":7,"value":{"seq":1}}' >&5
  sleep 0.5
  # two records in an open file: not acknowledged; the reject is
  [ "$(cat "$acks")" = '{"topic":"users","partition":1,"offset":7}' ]
  [ -z "$(files)" ]
  envelopes users "$DATA/all-types.ndjson" | sed -n 3,6p >&5
  exec 5>&-
  wait $pid
  [ "$(files | wc -l)" -eq 2 ]
  run grep -c '"partition":0' "$acks"
  [ "$output" -eq 6 ]
  [ "$(jq -s 'map(.offset) | sort' -c "$acks")" = "[0,1,2,3,4,5,7]" ]
}

@test "SIGTERM: the open file is completed and acknowledged, exit 0" {
  mkfifo "$BATS_TEST_TMPDIR/in"
  fileload --dir "$OUT" --format csv --schema "$SCHEMA" --envelope --ack "$BATS_TEST_TMPDIR/acks" -q \
      < "$BATS_TEST_TMPDIR/in" &
  pid=$!
  exec 5>"$BATS_TEST_TMPDIR/in"
  envelopes t "$DATA/all-types.ndjson" >&5
  sleep 0.5
  kill -TERM $pid
  st=0
  wait $pid || st=$?
  exec 5>&-
  [ "$st" -eq 0 ]
  [ "$(files | wc -l)" -eq 1 ]
  [ "$(wc -l < "$BATS_TEST_TMPDIR/acks")" -eq 6 ]
  [ -z "$(temps)" ]
}
