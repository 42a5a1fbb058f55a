#!/usr/bin/env bats
# fileload against the real readers of its files and a real kill -9:
# Parquet read back by pyarrow and DuckDB (from PyPI, build/venv made by
# scripts/setup) equal to the input value by value and type by type; a kill -9
# mid-run leaves only complete files plus temporary ones the next run removes,
# no acknowledged record missing, and a replay duplicates exactly what
# fileload(1) says; memory bounded by the row group, not the input.
load ../support/common

DATA=$SAMPLES/fileload
SCHEMA=$DATA/all-types.schema.json
PY=$PIPEKIT_BUILD/venv/bin/python
READBACK=$PIPEKIT_ROOT/tests/support/fileload_readback.py

setup_file() {
  if [ ! -x "$PY" ] || ! "$PY" -c 'import pyarrow, duckdb'; then
    echo "no pyarrow/duckdb in $PIPEKIT_BUILD/venv: run scripts/setup" >&2
    return 1
  fi
  echo "# engine: fileload's own Parquet writer, read by pyarrow $("$PY" -c 'import pyarrow; print(pyarrow.__version__)') and DuckDB $("$PY" -c 'import duckdb; print(duckdb.__version__)') (PyPI, build/venv); local file system $(stat -f -c %T "$BATS_FILE_TMPDIR")" >&3
  # 20,000 flat users, and the same as envelopes of topic users, partition 0, offsets 0..
  python3 "$PIPEKIT_ROOT/tests/support/make_users.py" 20000 --shape flat --seed fileload >"$BATS_FILE_TMPDIR/users.ndjson"
  python3 -c '
import sys
for i, line in enumerate(open(sys.argv[1])):
    sys.stdout.write("{\"topic\":\"users\",\"partition\":0,\"offset\":%d,\"value\":%s}\n" % (i, line.rstrip("\n")))
' "$BATS_FILE_TMPDIR/users.ndjson" >"$BATS_FILE_TMPDIR/envelopes.ndjson"
}

setup() { OUT=$BATS_TEST_TMPDIR/out; }
files() { find "$OUT" -type f -name '*.parquet' ! -name '.*' ! -path "$OUT/one/*" | sort; }
temps() { find "$OUT" -type f -name '.part-*.tmp' | sort; }

@test "parquet (snappy, zstd, none; json and flatten) reads back equal in pyarrow and DuckDB: nulls, empty strings, unicode, int extremes, pre-1970" {
  for codec in snappy zstd none; do
    for nested in json flatten; do
      d=$OUT/$codec-$nested
      fileload --dir "$d" --format parquet --schema "$SCHEMA" --compression $codec --nested $nested -q \
        < "$DATA/all-types.ndjson"
      flag=; if [ $nested = flatten ]; then flag=--flatten; fi
      run "$PY" "$READBACK" --schema "$SCHEMA" --expected "$DATA/all-types.ndjson" $flag $(find "$d" -name '*.parquet')
      [ "$status" -eq 0 ] || { echo "$codec $nested: $output"; false; }
      assert_output --partial "pyarrow 26"
    done
  done
}

@test "20,000 users in several files and row groups, partitioned by nat: every value back, footers agree" {
  fileload --dir "$OUT" --format parquet --schema "$PIPEKIT_ROOT/examples/schemas/user-flat.schema.json" \
    --roll-records 7000 --row-group-rows 1500 --partition-by nat -q < "$BATS_FILE_TMPDIR/users.ndjson"
  [ "$(files | wc -l)" -ge 6 ]
  run "$PY" "$READBACK" --schema "$PIPEKIT_ROOT/examples/schemas/user-flat.schema.json" \
    --expected "$BATS_FILE_TMPDIR/users.ndjson" $(files)
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  assert_output --partial "20000 rows"
  # one file, row groups of 12,000: the unique columns (id, email, ...) leave the dictionary after 10,000 values
  fileload --dir "$OUT/one" --format parquet --schema "$PIPEKIT_ROOT/examples/schemas/user-flat.schema.json" \
    --row-group-rows 12000 -q < "$BATS_FILE_TMPDIR/users.ndjson"
  run "$PY" "$READBACK" --schema "$PIPEKIT_ROOT/examples/schemas/user-flat.schema.json" \
    --expected "$BATS_FILE_TMPDIR/users.ndjson" "$OUT"/one/*.parquet
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run "$PY" -c "import pyarrow.parquet as pq,sys; m=pq.read_metadata(sys.argv[1]).row_group(0); print(m.column(0).encodings, m.column(12).encodings)" "$OUT"/one/*.parquet
  [[ "$output" == *"'PLAIN'"*"'RLE_DICTIONARY'"* ]] || { echo "$output"; false; }
  # DuckDB reads the folder as a Hive-partitioned dataset
  run "$PY" -c "import duckdb,sys; print(duckdb.sql(\"SELECT count(*), count(DISTINCT nat) FROM read_parquet('$OUT/nat=*/*.parquet', hive_partitioning=false)\").fetchall()[0])"
  [ "$output" = "(20000, 6)" ]
}

# The acknowledged offsets: whole ack lines only (a reader cut short may leave half a line).
ACKED_PY='
def acked_offsets(path):
    out = []
    for l in open(path):
        try:
            out.append(json.loads(l)["offset"])
        except ValueError:
            pass
    return out
'

# after_kill ACKS: fileload was killed -9 while writing $OUT with acks to ACKS.
# Checks that every final-named file is complete and holds every acknowledged
# record, replays from the committed position (the lowest unacknowledged
# offset, as ksub --commit-acks would), checks that the run removed the
# temporary files, that all 20,000 records are there, and that the duplicates
# are exactly the records of files complete before the kill at offsets >= the
# committed position. Sets dups.
after_kill() {
  local acks=$1
  # every file with a final name is complete: pyarrow reads each footer
  for f in $(files); do "$PY" -c "import pyarrow.parquet as pq,sys; pq.read_metadata(sys.argv[1])" "$f"; done
  # the offsets in complete files; acknowledged ones must all be among them
  "$PY" -c "
import pyarrow.parquet as pq, json, sys, uuid
$ACKED_PY
def text(u):  # the uuid column as pyarrow gives it: bytes or a UUID
    return str(uuid.UUID(bytes=u) if isinstance(u, bytes) else u)
ids = set()
for f in sys.argv[1:]:
    ids.update(text(u) for u in pq.read_table(f, columns=['id']).column(0).to_pylist())
users = [json.loads(l)['id'] for l in open('$BATS_FILE_TMPDIR/users.ndjson')]
acked = acked_offsets('$acks')
present = ids
missing = [o for o in acked if users[o] not in present]
assert not missing, f'acknowledged but in no complete file: {missing[:5]}'
json.dump(sorted(o for o, u in enumerate(users) if u in present), open('$BATS_TEST_TMPDIR/before.json', 'w'))
" $(files) >/dev/null
  n_temps=$(temps | wc -l)
  # the next run (the replay from ksub's committed position: the lowest unacknowledged offset) removes the temporaries
  committed=$("$PY" -c "
import json
$ACKED_PY
acked = set(acked_offsets('$acks'))
o = 0
while o in acked: o += 1
print(o)")
  tail -n +$((committed + 1)) "$BATS_FILE_TMPDIR/envelopes.ndjson" |
    fileload --dir "$OUT" --format parquet --schema "$PIPEKIT_ROOT/examples/schemas/user-flat.schema.json" \
      --envelope --ack "$acks" --roll-records 1000 --stats "$BATS_TEST_TMPDIR/stats.json" -q
  [ -z "$(temps)" ]
  [ "$(jq '.stale_temps_removed // 0' "$BATS_TEST_TMPDIR/stats.json")" -eq "$n_temps" ]
  # all 20,000 present; the duplicates are exactly the records of files completed
  # before the kill at offsets >= the committed position
  run "$PY" -c "
import pyarrow.parquet as pq, json, sys, collections, uuid
def text(u):
    return str(uuid.UUID(bytes=u) if isinstance(u, bytes) else u)
users = {json.loads(l)['id']: i for i, l in enumerate(open('$BATS_FILE_TMPDIR/users.ndjson'))}
count = collections.Counter()
for f in sys.argv[1:]:
    for i in pq.read_table(f, columns=['id']).column(0).to_pylist():
        count[users[text(i)]] += 1
assert set(count) == set(range(20000)), 'missing offsets: %s' % sorted(set(range(20000)) - set(count))[:5]
dups = sorted(o for o, c in count.items() if c > 1)
assert all(c <= 2 for c in count.values())
# exactly the records of files complete before the kill at offsets the replay re-read
expected = sorted(o for o in json.load(open('$BATS_TEST_TMPDIR/before.json')) if o >= $committed)
assert dups == expected, f'duplicates {dups[:5]}... ({len(dups)}), expected {expected[:5]}... ({len(expected)})'
print(len(dups))
" $(files)
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  dups=$output
  echo "# kill -9 left $n_temps temporary file(s); replay from offset $committed duplicated $dups record(s)" >&3
}

@test "kill -9 mid-run: only complete files and temporary ones; the next run removes those; nothing acknowledged is missing; a replay duplicates exactly the unacknowledged records of complete files" {
  acks=$BATS_TEST_TMPDIR/acks
  # slow the input so the kill lands mid-file: 20,000 envelopes over ~2 s
  ( while IFS= read -r l; do printf '%s\n' "$l"; done < "$BATS_FILE_TMPDIR/envelopes.ndjson" ) |
    fileload --dir "$OUT" --format parquet --schema "$PIPEKIT_ROOT/examples/schemas/user-flat.schema.json" \
      --envelope --ack "$acks" --roll-records 1000 --row-group-rows 300 -q &
  pid=$!
  for i in $(seq 1 200); do if [ "$(files | wc -l)" -ge 3 ]; then break; fi; sleep 0.05; done
  sleep 0.13
  kill -9 $pid
  wait $pid 2>/dev/null || true
  [ "$(files | wc -l)" -ge 3 ]
  [ "$(files | wc -l)" -lt 20 ]   # the kill landed mid-run
  after_kill "$acks"
}

@test "kill -9 while acks are stuck (a full FIFO): the complete but unacknowledged files, and only they, are written twice by the replay" {
  acks=$BATS_TEST_TMPDIR/acks
  mkfifo "$BATS_TEST_TMPDIR/ackfifo"
  # a consumer that reads 20,000 bytes of acks, then stops reading but keeps the FIFO open
  ( head -c 20000 > "$acks"; exec sleep 60 ) < "$BATS_TEST_TMPDIR/ackfifo" &
  reader=$!
  fileload --dir "$OUT" --format parquet --schema "$PIPEKIT_ROOT/examples/schemas/user-flat.schema.json" \
    --envelope --ack "$BATS_TEST_TMPDIR/ackfifo" --roll-records 1000 --row-group-rows 300 -q \
    < "$BATS_FILE_TMPDIR/envelopes.ndjson" &
  pid=$!
  # wait until fileload is blocked on the full FIFO: the complete files stop changing
  last=-1
  for i in $(seq 1 100); do
    n=$(files | wc -l)
    if [ "$n" -ge 2 ] && [ "$n" -eq "$last" ]; then break; fi
    last=$n
    sleep 0.3
  done
  kill -9 $pid
  wait $pid 2>/dev/null || true
  kill $reader; wait $reader 2>/dev/null || true
  [ "$(files | wc -l)" -ge 2 ]
  [ "$(files | wc -l)" -lt 20 ]
  after_kill "$acks"
  [ "$dups" -gt 0 ]   # this time some complete files were never acknowledged
}

@test "memory is bounded by the row group: 4x the input, the same peak RSS" {
  for i in 1 2 3 4; do cat "$BATS_FILE_TMPDIR/users.ndjson"; done >"$BATS_TEST_TMPDIR/x4.ndjson"
  for input in users.ndjson x4; do
    f=$BATS_FILE_TMPDIR/users.ndjson; if [ $input = x4 ]; then f=$BATS_TEST_TMPDIR/x4.ndjson; fi
    /usr/bin/time -f %M -o "$BATS_TEST_TMPDIR/rss.$input" fileload --dir "$OUT/$input" --format parquet \
      --schema "$PIPEKIT_ROOT/examples/schemas/user-flat.schema.json" --row-group-rows 5000 --roll-records 1000000 -q < "$f"
  done
  one=$(cat "$BATS_TEST_TMPDIR/rss.users.ndjson"); four=$(cat "$BATS_TEST_TMPDIR/rss.x4")
  echo "# peak RSS: $one KiB for 20,000 records, $four KiB for 80,000 (one file each, row groups of 5,000)" >&3
  [ "$four" -lt $(( one * 5 / 4 )) ]
  [ "$four" -lt 65536 ]
}
