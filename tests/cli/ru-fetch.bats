#!/usr/bin/env bats
# ru-fetch flag checks (exit 2 before any request) and saved responses read
# through file:// URLs (no server needed).
load ../support/common
bats_require_minimum_version 1.5.0

FIX=$PIPEKIT_ROOT/tests/data/rufetch
# A URL nothing listens on: a flag check must fail before any request.
NOWHERE=http://127.0.0.1:9/api/

usage_error() {  # usage_error "message part" ru-fetch args...
  local want=$1; shift
  run --separate-stderr ru-fetch --url "$NOWHERE" --retry-delay 1ms "$@"
  [ "$status" -eq 2 ] || fail "exit $status for $*: $stderr"
  [ -z "$output" ] || fail "stdout not empty"
  [[ "$stderr" == *"$want"* ]] || fail "stderr lacks '$want': $stderr"
  [[ "$stderr" != *"Failed to connect"* ]] || fail "a request was made for $*"
}

@test "--results out of range: exit 2, no request (the API would silently send 1)" {
  usage_error "--results must be 1..5000 (got 0)" --results 0
  usage_error "--results must be 1..5000 (got 5001)" --results 5001
  usage_error "--results must be 1..5000" --results -3
}

@test "--gender with --seed: exit 2 (the API ignores gender under a seed)" {
  usage_error "the API ignores gender when a seed is given" --gender female --seed abc
  usage_error "--gender must be male or female" --gender other
}

@test "--page needs --seed; pages start at 1" {
  usage_error "--page needs --seed" --page 2
  usage_error "--page must be at least 1" --page 0 --seed s
}

@test "unknown nationality, unknown field, --inc with --exc: exit 2" {
  usage_error "unknown nationality 'XX'" --nat us,xx
  usage_error "unknown field 'age'" --inc name,age
  usage_error "use either --inc or --exc, not both" --inc name --exc email
}

@test "--shape flat needs the fields it reads" {
  usage_error "--shape flat needs the 'login' field" --shape flat --exc login
  usage_error "--shape flat needs the 'picture' field" --shape flat --inc gender,name,location,email,login,registered,dob,phone,nat
  run ru-fetch --shape wide
  assert_failure 2
}

@test "bad --password, --api-version, --url, durations, --count, --rate, --retries: exit 2" {
  usage_error "'symbols' is neither a charset" --password upper,symbols
  usage_error "bad length range '16-8'" --password upper,16-8
  usage_error "--api-version must look like 1.4" --api-version latest
  usage_error "--every: 'soon' is not a duration" --every soon
  usage_error "--every must be more than 0" --every 0s
  usage_error "--timeout must be more than 0" --timeout 0
  usage_error "--count must be at least 1" --count 0
  usage_error "--rate must be 0 (no limit) or more" --rate -1
  usage_error "--retries must be 0..100" --retries 1000
  run --separate-stderr ru-fetch --url ftp://example.com/api/
  assert_failure 2
  [[ "$stderr" == *"--url must be an https://, http:// or file:// URL"* ]]
}

@test "file:// saved response, flat: numeric and string postcodes, a null id.value, ISO dates" {
  run --separate-stderr ru-fetch --url "file://$FIX/mixed.json" --shape flat
  assert_success
  diff <(echo "$output") "$FIX/mixed.flat.ndjson"
  [[ "$stderr" == *"in 3, out 3"* ]]
}

@test "file:// saved response, raw: each element as sent, minified to one line" {
  run --separate-stderr ru-fetch --url "file://$FIX/mixed.json"
  assert_success
  [ "${#lines[@]}" -eq 3 ]
  diff <(echo "$output") <(jq -c '.results[]' "$FIX/mixed.json")
  # the null id.value and the escaped password survive untouched
  [ "$(jq -c '.id' <<<"${lines[2]}")" = '{"name":"CPR","value":null}' ]
  [ "$(jq -r '.login.password' <<<"${lines[1]}")" = '"quoted"\slash' ]
}

@test "old API format (1.0): street and dates as strings become the flat record" {
  run --separate-stderr ru-fetch --url "file://$FIX/api-1.0.json" --shape flat
  assert_success
  [ "$(jq -r '.address, .post_code, .dob, .registered_date, .id' <<<"$output")" = "1861 jan pieterszoon coenstraat, maasdriel, zeeland
69217
1983-07-14T07:29:45Z
2010-09-24T02:10:42Z
null" ]
}

@test "flat records agree with the project's own flat definition (make_users.py --shape flat)" {
  run --separate-stderr ru-fetch --url "file://$PIPEKIT_ROOT/examples/sample/randomuser-500.json" --shape flat
  assert_success
  diff <(echo "$output") <(python3 "$PIPEKIT_ROOT/tests/support/make_users.py" 500 --seed demo --shape flat)
}

@test "the demo sample is what tests/support/make_response.py makes (regenerable)" {
  diff <(python3 "$PIPEKIT_ROOT/tests/support/make_response.py" 500 --seed demo) "$PIPEKIT_ROOT/examples/sample/randomuser-500.json"
}

@test "the demo sample: 500 users, --count cuts it" {
  run --separate-stderr ru-fetch --url "file://$PIPEKIT_ROOT/examples/sample/randomuser-500.json" --shape flat
  assert_success
  [ "${#lines[@]}" -eq 500 ]
  run --separate-stderr ru-fetch --url "file://$PIPEKIT_ROOT/examples/sample/randomuser-500.json" --count 20
  [ "${#lines[@]}" -eq 20 ]
}

@test "file:// that cannot be read: exit 4, not retried" {
  run --separate-stderr ru-fetch --url "file://$BATS_TEST_TMPDIR/nope.json"
  assert_failure 4
  [[ "$stderr" == *"nope.json"* ]]
  [[ "$stderr" != *retry* ]]
}

@test "--stats writes the run's counters" {
  run --separate-stderr ru-fetch -q --url "file://$FIX/mixed.json" --stats "$BATS_TEST_TMPDIR/s.json"
  assert_success
  [ -z "$stderr" ]
  jq -e '.records_out == 3 and .exit_code == 0' "$BATS_TEST_TMPDIR/s.json" >/dev/null
}

@test "stdout that cannot be written: exit 4 with a message" {
  [ -w /dev/full ] || fail "no /dev/full on this machine"
  run --separate-stderr bash -c "ru-fetch --url 'file://$FIX/mixed.json' >/dev/full"
  assert_failure 4
  [[ "$stderr" == *"writing output"* ]]
}

@test "file:// is read once: --count only cuts it, and says when the file holds fewer" {
  run --separate-stderr ru-fetch --url "file://$FIX/mixed.json" --count 10
  assert_success
  [ "${#lines[@]}" -eq 3 ]
  [[ "$stderr" == *"holds 3 users, fewer than --count 10"* ]]
}

@test "file:// with no usable response: exit 4 at once, nothing written, the first bytes shown" {
  printf '<html><body>saved the wrong page</body></html>\n' >"$BATS_TEST_TMPDIR/bad.json"
  run --separate-stderr ru-fetch --url "file://$BATS_TEST_TMPDIR/bad.json"
  assert_failure 4
  assert_output ""
  [[ "$stderr" == *"bad.json: not valid JSON"*"body: <html><body>saved the wrong page"* ]]
  [[ "$stderr" != *retry* ]]
}

@test "file:// with an empty results[]: nothing to fetch, exit 0, or --empty-exit's code" {
  printf '{"results":[]}' >"$BATS_TEST_TMPDIR/empty.json"
  run --separate-stderr ru-fetch --url "file://$BATS_TEST_TMPDIR/empty.json"
  assert_success
  assert_output ""
  [[ "$stderr" == *"the API answered with no users"* ]]
  run --separate-stderr ru-fetch --url "file://$BATS_TEST_TMPDIR/empty.json" --empty-exit 99
  [ "$status" -eq 99 ]
}
