#!/usr/bin/env bats
# jvalidate as a user runs it: real processes in real pipes, bad input,
# schema errors, envelopes and acks, signals.
load ../support/common
bats_require_minimum_version 1.5.0

D=$PIPEKIT_ROOT/tests/data/jvalidate
FLAT=$PIPEKIT_ROOT/examples/schemas/user-flat.schema.json
RAW=$PIPEKIT_ROOT/examples/schemas/randomuser.schema.json

setup() {
  T=$BATS_TEST_TMPDIR
  python3 "$PIPEKIT_ROOT/tests/support/make_users.py" 5 --shape flat >"$T/flat5.ndjson"
  # line 1 valid, 2 invalid (gender), 3 malformed, 4 valid, 5 invalid (required), 6 valid
  {
    sed -n 1p "$T/flat5.ndjson"
    sed -n 2p "$T/flat5.ndjson" | jq -c '.gender = "other"'
    echo '{"id": "broken",'
    sed -n 3p "$T/flat5.ndjson"
    sed -n 4p "$T/flat5.ndjson" | jq -c 'del(.email)'
    sed -n 5p "$T/flat5.ndjson"
  } >"$T/mixed.ndjson"
}

teardown() {
  if [ -n "${BG_PID:-}" ]; then
    kill "$BG_PID" 2>/dev/null || true
    wait "$BG_PID" 2>/dev/null || true
  fi
  BG_PID=
}

@test "mixed input: valid lines out unchanged and in order, invalid and malformed to --rejects, exit 0" {
  run jvalidate -q -s "$FLAT" --rejects "$T/rej.ndjson" "$T/mixed.ndjson"
  assert_success
  expected=$(sed -n '1p;4p;6p' "$T/mixed.ndjson")
  [ "$output" = "$expected" ] || fail "stdout differs: $output"
  run jq -c '[.line, (.errors // [] | map(.keyword))]' "$T/rej.ndjson"
  assert_output $'[2,["enum"]]\n[3,[]]\n[5,["required"]]'
}

@test "reject lines carry the record, the reason and every error with locations" {
  jvalidate -q -s "$FLAT" --rejects "$T/rej.ndjson" "$T/mixed.ndjson" >/dev/null
  run jq -c 'select(.line == 2) | .errors[0]' "$T/rej.ndjson"
  assert_output '{"instanceLocation":"/gender","keywordLocation":"#/properties/gender/enum","keyword":"enum","message":"must be one of: \"male\", \"female\""}'
  run jq -r 'select(.line == 2) | .record.gender' "$T/rej.ndjson"
  assert_output other
  run jq -r 'select(.line == 5) | .reason' "$T/rej.ndjson"
  assert_output '(root): required: missing required property "email"'
  # malformed: the original text as a string, the byte position in the reason
  run jq -r 'select(.line == 3) | .record, .reason' "$T/rej.ndjson"
  assert_line --index 0 '{"id": "broken",'
  assert_line --index 1 --regexp '^invalid JSON at byte [0-9]+: '
}

@test "every error of a record is reported, capped by --max-errors" {
  echo '{"id":1,"first_name":"","gender":"x","username":"ab","extra":true}' >"$T/bad.ndjson"
  jvalidate -q -s "$FLAT" --rejects "$T/rej.ndjson" "$T/bad.ndjson" || true
  run jq -r '.errors[] | "\(.instanceLocation) \(.keyword)"' "$T/rej.ndjson"
  assert_line '/id type'
  assert_line '/first_name minLength'
  assert_line '/gender enum'
  assert_line '/username minLength'
  assert_line '/extra additionalProperties'
  assert_line ' required'
  jvalidate -q -s "$FLAT" --max-errors 2 --rejects "$T/rej2.ndjson" "$T/bad.ndjson" || true
  run jq -c '[(.errors | length), .errors_total > 2]' "$T/rej2.ndjson"
  assert_output '[2,true]'
}

@test "without --rejects: reasons on stderr, valid records still out, exit 1" {
  run --separate-stderr jvalidate -s "$FLAT" "$T/mixed.ndjson"
  [ "$status" -eq 1 ]
  [ "$(wc -l <<<"$output")" -eq 3 ]
  grep -q 'line 2: rejected: /gender: enum' <<<"$stderr"
  grep -q 'line 3: rejected: invalid JSON at byte' <<<"$stderr"
}

@test "--max-rejects and --max-reject-rate decide exit 1, every record still routed" {
  run jvalidate -q -s "$FLAT" --rejects "$T/r.ndjson" --max-rejects 3 "$T/mixed.ndjson"
  assert_success
  run jvalidate -q -s "$FLAT" --rejects "$T/r.ndjson" --max-rejects 2 "$T/mixed.ndjson"
  [ "$status" -eq 1 ]
  [ "$(wc -l <"$T/r.ndjson")" -eq 3 ]
  [ "$(jvalidate -q -s "$FLAT" --rejects "$T/r.ndjson" --max-rejects 2 "$T/mixed.ndjson" | wc -l)" -eq 3 ]
  run jvalidate -q -s "$FLAT" --rejects "$T/r.ndjson" --max-reject-rate 60% "$T/mixed.ndjson"
  assert_success
  run jvalidate -q -s "$FLAT" --rejects "$T/r.ndjson" --max-reject-rate 40% "$T/mixed.ndjson"
  [ "$status" -eq 1 ]
}

@test "summary counts valid, invalid, malformed and the top error keyword; --stats too" {
  run --separate-stderr jvalidate -s "$FLAT" --rejects "$T/r.ndjson" --stats "$T/stats.json" "$T/mixed.ndjson"
  assert_success
  grep -q 'in 6, out 3, rejected 3' <<<"$stderr"
  grep -q 'invalid 2' <<<"$stderr"
  grep -q 'invalid.enum 1' <<<"$stderr"
  grep -q 'invalid.required 1' <<<"$stderr"
  grep -q 'malformed 1' <<<"$stderr"
  run jq -c '[.valid, .invalid, .malformed]' "$T/stats.json"
  assert_output '[3,2,1]'
}

@test "the valid count is exact past its steps of 4096, on a pipe that pauses and at the end" {
  # engine: none (jvalidate alone). 10,000 valid records and 1 invalid: the
  # count is added to the summary in steps, the rest when input pauses or ends.
  echo '{"properties":{"n":{"type":"integer","maximum":10000}},"required":["n"]}' >"$T/n.json"
  run --separate-stderr bash -c 'seq 1 10001 | sed "s/.*/{\"n\":&}/" | jvalidate -s "$1/n.json" --rejects "$1/r.ndjson" --stats "$1/stats.json" | wc -l' _ "$T"
  assert_success
  assert_output 10000
  grep -q 'in 10001, out 10000, rejected 1' <<<"$stderr"
  run jq -c '[.valid, .invalid]' "$T/stats.json"
  assert_output '[10000,1]'
  # a pause after 5,000 records: the count published on idle input is the same
  run --separate-stderr bash -c '{ seq 1 5000; sleep 0.3; seq 5001 10001; } | sed -u "s/.*/{\"n\":&}/" | jvalidate -s "$1/n.json" --rejects "$1/r.ndjson" --stats "$1/stats.json" >/dev/null' _ "$T"
  assert_success
  run jq -c '[.valid, .invalid]' "$T/stats.json"
  assert_output '[10000,1]'
}

@test "order is preserved over 3000 records with scattered rejects" {
  python3 "$PIPEKIT_ROOT/tests/support/make_users.py" 3000 --shape flat >"$T/big.ndjson"
  awk 'NR % 7 == 0 { sub(/"gender":"[a-z]*"/, "\"gender\":\"n/a\"") } { print }' "$T/big.ndjson" >"$T/in.ndjson"
  awk 'NR % 7 != 0' "$T/big.ndjson" >"$T/expected.ndjson"
  jvalidate -q -s "$FLAT" --rejects "$T/r.ndjson" <"$T/in.ndjson" >"$T/out.ndjson"
  cmp "$T/out.ndjson" "$T/expected.ndjson"
  [ "$(wc -l <"$T/r.ndjson")" -eq 428 ]
  run jq -s -c 'map(.line) | . == (. | sort) and all(. % 7 == 0)' "$T/r.ndjson"
  assert_output true
}

@test "CRLF, blank lines, a last line without newline; over-long lines are rejects" {
  printf '%s\r\n\r\n\n%s' "$(sed -n 1p "$T/flat5.ndjson")" "$(sed -n 2p "$T/flat5.ndjson")" >"$T/crlf.ndjson"
  run jvalidate -q -s "$FLAT" "$T/crlf.ndjson"
  assert_success
  [ "${#lines[@]}" -eq 2 ]
  [[ "${lines[0]}" != *$'\r'* ]] || fail "CR kept"
  { sed -n 1p "$T/flat5.ndjson"; printf '{"pad":"%s"}\n' "$(head -c 5000 /dev/zero | tr '\0' x)"; sed -n 2p "$T/flat5.ndjson"; } >"$T/long.ndjson"
  run --separate-stderr jvalidate -q -s "$FLAT" --max-line-bytes 1KiB --rejects "$T/r.ndjson" "$T/long.ndjson"
  assert_success
  [ "${#lines[@]}" -eq 2 ]
  run jq -r '"\(.line) \(.reason)"' "$T/r.ndjson"
  assert_output --regexp '^2 line too long: [0-9]+ bytes or more, over --max-line-bytes 1024'
}

@test "--assert-formats: formats are annotations by default, assertions when asked" {
  sed -n 1p "$T/flat5.ndjson" | jq -c '.email = "not-an-email" | .dob = "yesterday" | .id = "1234"' >"$T/fmt.ndjson"
  run jvalidate -q -s "$FLAT" "$T/fmt.ndjson"
  assert_success
  jvalidate -q -s "$FLAT" --assert-formats --rejects "$T/r.ndjson" "$T/fmt.ndjson" >/dev/null
  run jq -r '.errors[] | "\(.instanceLocation) \(.message)"' "$T/r.ndjson"
  assert_output $'/id not a valid uuid\n/email not a valid email\n/dob not a valid date-time'
}

@test "the raw randomuser schema accepts generated records and catches the classic faults" {
  python3 "$PIPEKIT_ROOT/tests/support/make_users.py" 200 >"$T/raw.ndjson"
  run jvalidate -q --assert-formats -s "$RAW" "$T/raw.ndjson"
  assert_success
  [ "${#lines[@]}" -eq 200 ]
  head -1 "$T/raw.ndjson" | jq -c '.login.username = "ab" | .dob.date = "1989-02-30T00:00:00Z" | .login.uuid = "x" | del(.nat)' >"$T/bad.ndjson"
  jvalidate -q --assert-formats -s "$RAW" --rejects "$T/r.ndjson" "$T/bad.ndjson" || true
  run jq -r '.errors[] | "\(.instanceLocation) \(.keyword)"' "$T/r.ndjson"
  assert_line ' required'
  assert_line '/login/uuid format'
  assert_line '/login/username minLength'
  assert_line '/dob/date format'
}

@test "\$ref across documents: --ref-dir by \$id, and a second --schema" {
  printf '%s\n' '{"id":1,"ship_to":{"city":"Oslo","zip":"01234"},"bill_to":"short"}' \
    '{"id":2,"ship_to":{"zip":"1"}}' '{"id":3,"ship_to":{"city":"X"},"bill_to":"far too long a string"}' >"$T/orders.ndjson"
  run jvalidate -q -s "$D/order.schema.json" --ref-dir "$D/refs" --rejects "$T/r.ndjson" "$T/orders.ndjson"
  assert_success
  assert_output '{"id":1,"ship_to":{"city":"Oslo","zip":"01234"},"bill_to":"short"}'
  run jq -r '.errors[] | "\(.line // "") \(.instanceLocation) \(.keyword) \(.keywordLocation)"' "$T/r.ndjson"
  assert_line --partial '/ship_to required https://example.com/schemas/address.json#/required'
  assert_line --partial '/ship_to/zip pattern https://example.com/schemas/address.json#/properties/zip/pattern'
  assert_line --partial '/bill_to maxLength https://example.com/schemas/address.json#/$defs/short/maxLength'
  run jvalidate -q -s "$D/order.schema.json" -s "$D/refs/schemas/address.json" --rejects "$T/r2.ndjson" "$T/orders.ndjson"
  assert_success
  [ "${#lines[@]}" -eq 1 ]
}

@test "draft-07 and 2020-12 unevaluatedProperties are chosen by \$schema" {
  printf '%s\n' '{"n":1,"tags":["a"]}' '{"n":0,"tags":["a"]}' '{"n":2}' '{"tags":["a","b"]}' >"$T/d7.ndjson"
  run jvalidate -q -s "$D/draft7.schema.json" --rejects "$T/r.ndjson" "$T/d7.ndjson"
  assert_success
  assert_output '{"n":1,"tags":["a"]}'
  run jq -r '"\(.line) \(.errors[0].keyword)"' "$T/r.ndjson"
  assert_output $'2 minimum\n3 dependencies\n4 additionalItems'
  printf '%s\n' '{"kind":"a","x":1}' '{"kind":"a","y":"s"}' '{"kind":"b","y":"s"}' '{"kind":"b","x":1}' >"$T/u.ndjson"
  run jvalidate -q -s "$D/unevaluated.schema.json" --rejects "$T/r.ndjson" "$T/u.ndjson"
  assert_success
  assert_output $'{"kind":"a","x":1}\n{"kind":"b","y":"s"}'
  run jq -r '"\(.line) \(.errors[0].instanceLocation) \(.errors[0].keyword)"' "$T/r.ndjson"
  assert_output $'2 /y unevaluatedProperties\n4 /x unevaluatedProperties'
}

@test "schema errors exit 2 with a pointer to the problem, before reading any input" {
  # stdin stays open for 30 s: reading it would hang until the timeout (124),
  # so exit 2 proves the schema was refused before any input was read
  run timeout 5 jvalidate -s "$D/bad-regex.schema.json" < <(sleep 30)
  [ "$status" -eq 2 ]
  assert_output --partial '#/properties/name/pattern: invalid regular expression "^(abc"'
  run timeout 5 jvalidate -s "$D/bad-ref.schema.json" < <(sleep 30)
  [ "$status" -eq 2 ]
  assert_output --partial '#/properties/addr/$ref: cannot resolve $ref "https://example.com/schemas/nowhere.json"'
  assert_output --partial 'never fetches URLs'
  run timeout 5 jvalidate -s "$D/bad-draft.schema.json" < <(sleep 30)
  [ "$status" -eq 2 ]
  assert_output --partial 'unknown draft "http://json-schema.org/draft-03/schema#"'
  run timeout 5 jvalidate -s "$D/not-json.schema.json" < <(sleep 30)
  [ "$status" -eq 2 ]
  assert_output --partial 'not-json.schema.json: not valid JSON (at byte'
  run timeout 5 jvalidate -s "$T/missing.json" < <(sleep 30)
  [ "$status" -eq 2 ]
  assert_output --partial "cannot read schema $T/missing.json"
  run jvalidate
  [ "$status" -eq 2 ]
  run jvalidate -s "$FLAT" --max-line-bytes lots
  [ "$status" -eq 2 ]
}

@test "several input files are read in order; rejects name their file" {
  run jvalidate -q -s "$FLAT" --rejects "$T/r.ndjson" "$T/mixed.ndjson" - "$T/flat5.ndjson" <"$T/flat5.ndjson"
  assert_success
  [ "${#lines[@]}" -eq 13 ]
  [ "${lines[3]}" = "$(sed -n 1p "$T/flat5.ndjson")" ]
  run jq -r '"\(.input) \(.line)"' "$T/r.ndjson"
  assert_output "$(printf '%s 2\n%s 3\n%s 5' "$T/mixed.ndjson" "$T/mixed.ndjson" "$T/mixed.ndjson")"
}

@test "a missing input file is exit 4" {
  run jvalidate -q -s "$FLAT" "$T/nope.ndjson"
  [ "$status" -eq 4 ]
  assert_output --partial "cannot open $T/nope.ndjson"
}

@test "--envelope: values validated, whole envelopes out and rejected; --ack acks only rejected envelopes" {
  : >"$T/env.ndjson"
  for n in 1 2 4 5 6; do
    sed -n "${n}p" "$T/mixed.ndjson" | jq -c --argjson o "$((100 + n))" '{topic:"users",partition:2,offset:$o,key:"k",value:.}' >>"$T/env.ndjson"
  done
  echo '{"topic":"users","partition":2,"offset":' >>"$T/env.ndjson"  # malformed: no ack possible
  echo '{"topic":"users","partition":2,"offset":107}' >>"$T/env.ndjson"  # no value, but coordinates: acked
  run jvalidate -q --envelope -s "$FLAT" --rejects "$T/r.ndjson" --ack "$T/acks" "$T/env.ndjson"
  assert_success
  run jq -c '[.offset, .value.first_name != null]' <<<"$output"
  assert_output $'[101,true]\n[104,true]\n[106,true]'
  run jq -c '[.line, (.record | objects | .offset), (.errors // [] | map(.instanceLocation))]' "$T/r.ndjson"
  assert_output $'[2,102,["/gender"]]\n[4,105,[""]]\n[6,[]]\n[7,107,[]]'
  run cat "$T/acks"
  assert_output $'{"topic":"users","partition":2,"offset":102}\n{"topic":"users","partition":2,"offset":105}\n{"topic":"users","partition":2,"offset":107}'
}

@test "--envelope reads kcat -J output (payload as a string)" {
  sed -n 2p "$T/mixed.ndjson" | jq -c '{topic:"users",partition:0,offset:7,tstype:"create",ts:1,key:null,payload:(.|tojson)}' >"$T/kcat.ndjson"
  sed -n 1p "$T/mixed.ndjson" | jq -c '{topic:"users",partition:0,offset:8,tstype:"create",ts:1,key:null,payload:(.|tojson)}' >>"$T/kcat.ndjson"
  run jvalidate -q --envelope -s "$FLAT" --rejects "$T/r.ndjson" "$T/kcat.ndjson"
  assert_success
  run jq -r .offset <<<"$output"
  assert_output 8
  run jq -r '.errors[0].instanceLocation' "$T/r.ndjson"
  assert_output /gender
}

@test "--ack on a FIFO: an ack arrives only after its reject line is in the rejects file" {
  : >"$T/env.ndjson"
  for n in 1 2 4 5 6; do
    sed -n "${n}p" "$T/mixed.ndjson" | jq -c --argjson o "$n" '{topic:"t",partition:0,offset:$o,value:.}' >>"$T/env.ndjson"
  done
  mkfifo "$T/acks"
  # the reader checks, for each ack, that the rejects file already holds that offset
  (while IFS= read -r ack; do
     off=$(jq -r .offset <<<"$ack")
     seen=$(jq -s --argjson o "$off" 'any(.[]; .record.offset == $o)' "$T/r.ndjson")
     if [ "$seen" = true ]; then echo "ok $off"; else echo "early $off"; fi
   done <"$T/acks" >"$T/ackcheck") &
  BG_PID=$!
  jvalidate -q --envelope -s "$FLAT" --rejects "$T/r.ndjson" --ack "$T/acks" "$T/env.ndjson" >/dev/null
  wait "$BG_PID"; BG_PID=
  run cat "$T/ackcheck"
  assert_output $'ok 2\nok 5'
}

@test "downstream closing the pipe is a quiet, successful stop" {
  python3 "$PIPEKIT_ROOT/tests/support/make_users.py" 20000 --shape flat >"$T/big.ndjson"
  run bash -c "jvalidate -s '$FLAT' '$T/big.ndjson' 2>'$T/err' | head -2; echo \"rc=\${PIPESTATUS[0]}\""
  assert_line rc=0
  [ "${#lines[@]}" -eq 3 ]
  run grep -i error "$T/err"
  assert_failure
}

@test "SIGTERM mid-stream: flushes what it validated and exits 0" {
  mkfifo "$T/in"
  jvalidate -q -s "$FLAT" --rejects "$T/r.ndjson" <"$T/in" >"$T/out.ndjson" &
  BG_PID=$!
  exec 7>"$T/in"
  cat "$T/mixed.ndjson" >&7
  sleep 0.5
  kill -TERM "$BG_PID"
  rc=0
  wait "$BG_PID" || rc=$?
  BG_PID=
  exec 7>&-
  [ "$rc" -eq 0 ] || fail "exit $rc"
  [ "$(wc -l <"$T/out.ndjson")" -eq 3 ]
  [ "$(wc -l <"$T/r.ndjson")" -eq 3 ]
}

@test "a trickle is passed on at once: output is flushed whenever the input is idle" {
  echo '{"type":"object"}' >"$BATS_TEST_TMPDIR/s.json"
  out=$BATS_TEST_TMPDIR/out
  { echo '{"a":1}'; sleep 3; echo '{"b":2}'; } | jvalidate -q -s "$BATS_TEST_TMPDIR/s.json" >"$out" &
  pid=$!
  for i in $(seq 20); do if [ -s "$out" ]; then break; fi; sleep 0.1; done
  run cat "$out"
  assert_output '{"a":1}'   # the first record, while the input is still open
  wait $pid
  run cat "$out"
  assert_output $'{"a":1}\n{"b":2}'
}

@test "meta-schemas are bundled: a schema that \$refs draft-07, 2019-09 or 2020-12 validates schemas offline" {
  # engine: none (no network; the meta-schemas are in the binary)
  printf '%s\n' '{"type":"object"}' '{"type":"nope"}' '{"minLength":-1}' >"$T/schemas.ndjson"
  for meta in 'http://json-schema.org/draft-07/schema#' 'https://json-schema.org/draft/2019-09/schema' \
              'https://json-schema.org/draft/2020-12/schema'; do
    printf '{"$ref":"%s"}' "$meta" >"$T/meta.json"
    run --separate-stderr jvalidate -q -s "$T/meta.json" --rejects "$T/rej" "$T/schemas.ndjson"
    assert_success
    assert_output '{"type":"object"}'
    [ "$(wc -l <"$T/rej")" -eq 2 ] || fail "$meta: $(cat "$T/rej")"
  done
}

@test "\$ref to a file outside the schemas' directories and --ref-dir: exit 2 unless --allow-file-refs" {
  mkdir -p "$T/s" "$T/elsewhere"
  echo '{"type":"string"}' >"$T/elsewhere/str.json"
  echo '{"type":"string"}' >"$T/s/near.json"
  echo '{"$ref":"../elsewhere/str.json"}' >"$T/s/up.json"
  echo '{"$ref":"file:///etc/passwd"}' >"$T/s/abs.json"
  echo '{"$ref":"near.json"}' >"$T/s/sibling.json"
  run jvalidate -s "$T/s/up.json" <<<'"x"'
  assert_failure 2
  assert_output --partial "outside the schemas' directories and --ref-dir; jvalidate reads it only with --allow-file-refs"
  run jvalidate -s "$T/s/abs.json" <<<'"x"'
  assert_failure 2
  assert_output --partial 'file:///etc/passwd: outside'
  # allowed: beside the schema, under a --ref-dir, or with the flag
  run jvalidate -q -s "$T/s/sibling.json" <<<'"x"'
  assert_success
  run jvalidate -q -s "$T/s/up.json" --ref-dir "$T/elsewhere" <<<'"x"'
  assert_success
  run jvalidate -q -s "$T/s/up.json" --allow-file-refs <<<'"x"'
  assert_success
  assert_output '"x"'
}

@test "a backtracking pattern that explodes: the record is rejected after a step budget; SIGTERM ends the run at once" {
  # engine: none. A backreference needs std::regex (RE2 refuses it): bounded by steps, interrupted by a signal.
  printf '%s' '{"type":"string","pattern":"^(a|a)*\\1b$"}' >"$T/bt.json"
  stall="\"$(printf 'a%.0s' $(seq 40))\""
  printf '"aab"\n%s\n"aab"\n' "$stall" >"$T/in"
  run --separate-stderr timeout 60 jvalidate -s "$T/bt.json" --rejects "$T/rej" "$T/in"
  assert_success
  assert_output "$(printf '"aab"\n"aab"')"
  run jq -r .reason "$T/rej"
  assert_output --partial "pattern matching gave up after"
  # 50 such records are over a minute of work: a stop signal must not wait for them
  { echo '"aab"'; for _ in $(seq 50); do echo "$stall"; done; } >"$T/many"
  timeout 120 jvalidate -s "$T/bt.json" --rejects "$T/rej2" "$T/many" >"$T/out" 2>"$T/err" &
  pid=$!
  # Signalled once jvalidate has spent a second of CPU (the stalling records
  # take about 0.7 s each): it is matching one, however slow its start was.
  local child ticks=0
  for _ in $(seq 300); do
    child=$(pgrep -P "$pid" -x jvalidate) && ticks=$(awk '{print $14}' "/proc/$child/stat" 2>/dev/null || echo 0)
    if [ "${ticks:-0}" -ge "$(( $(getconf CLK_TCK) ))" ]; then break; fi
    sleep 0.1
  done
  [ "${ticks:-0}" -ge "$(getconf CLK_TCK)" ] || fail "jvalidate did not get to work within 30 s: $(cat "$T/err")"
  start=$(date +%s%3N)
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  elapsed=$(( $(date +%s%3N) - start ))
  [ "$rc" -ne 124 ] || fail "still running after 120 s"
  [ "$elapsed" -lt 3000 ] || fail "took $elapsed ms to stop: $(cat "$T/err")"
  grep -q "interrupted by a stop signal" "$T/err" || fail "status $rc, stderr: $(cat "$T/err")"
  [ "$(cat "$T/out")" = '"aab"' ]
}
