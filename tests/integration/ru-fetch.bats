#!/usr/bin/env bats
# ru-fetch against a real local HTTP server (tests/support/ru_server.py) that
# serves API-shaped responses and misbehaves on demand.
load ../support/common
load ../support/ru_server
bats_require_minimum_version 1.5.0

setup() { start_ru_server; }
teardown() {
  if [ -n "${RF_PID:-}" ]; then
    kill -9 "$RF_PID" 2>/dev/null || true
    wait "$RF_PID" 2>/dev/null || true
  fi
  stop_ru_server
}

FIX=$PIPEKIT_ROOT/tests/data/rufetch
# Retries in tests: quick.
RF=(ru-fetch --retry-delay 20ms)

@test "one request: --results N users, one per line, as the API sent them" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/api/" --results 3
  assert_success
  [ "${#lines[@]}" -eq 3 ]
  for l in "${lines[@]}"; do jq -e '.login.uuid and .name.first' <<<"$l" >/dev/null; done
  run cat "$RU_LOG"
  assert_output "/api/?results=3"
}

@test "--count pages with one seed across several requests; the same seed gives the same users" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/api/" --count 12 --results 5 --seed s1
  assert_success
  [ "${#lines[@]}" -eq 12 ]
  first=$output
  run cat "$RU_LOG"
  assert_output "/api/?results=5&page=1&seed=s1
/api/?results=5&page=2&seed=s1
/api/?results=5&page=3&seed=s1"
  [ "$(jq -r .login.uuid <<<"$first" | sort -u | wc -l)" -eq 12 ]
  run --separate-stderr "${RF[@]}" --url "$RU_URL/api/" --count 12 --results 5 --seed s1
  [ "$output" = "$first" ]
  # and --page starts further on: page 2 is users 6..10 of the same seed
  run --separate-stderr "${RF[@]}" --url "$RU_URL/api/" --results 5 --seed s1 --page 2
  [ "$output" = "$(sed -n 6,10p <<<"$first")" ]
}

@test "--count without a seed makes one up, logs it, and pages never repeat" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/api/" --count 5 --results 2
  assert_success
  [ "${#lines[@]}" -eq 5 ]
  [[ "$stderr" == *"paging with seed "* ]]
  seed=$(grep -oE 'seed=[0-9a-f]{16}' "$RU_LOG" | sort -u)
  [ "$(wc -l <<<"$seed")" -eq 1 ]
  [ "$(grep -c 'page=' "$RU_LOG")" -eq 3 ]
  [ "$(printf '%s\n' "${lines[@]}" | jq -r .login.uuid | sort -u | wc -l)" -eq 5 ]
}

@test "--count alone asks for that many users in one request" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/api/" --count 7
  assert_success
  [ "${#lines[@]}" -eq 7 ]
  [ "$(requests)" -eq 1 ]
  grep -q 'results=7' "$RU_LOG"
}

@test "query flags reach the API as parameters; --api-version is a path segment" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/api/" -n 2 --gender FEMALE --nat us,gb --nat fr \
    --inc gender,name,login --password upper,number,8-16 --api-version 1.3
  assert_success
  run cat "$RU_LOG"
  assert_output "/api/1.3/?results=2&gender=female&nat=US,GB,FR&inc=gender,name,login&password=upper,number,8-16"
}

@test "--shape flat over HTTP: numeric and string postcodes, a null id.value" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/file=mixed.json/" --results 3 --shape flat
  assert_success
  diff <(echo "$output") "$FIX/mixed.flat.ndjson"
}

@test "raw shape: each results[] element unchanged (the server pretty-prints; ru-fetch writes one line each)" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/pretty/api/" --results 4 --seed p
  assert_success
  [ "${#lines[@]}" -eq 4 ]
  diff <(echo "$output" | jq -S -c .) \
       <(python3 "$PIPEKIT_ROOT/tests/support/make_response.py" 4 --seed p | jq -S -c '.results[]')
}

@test "--meta adds the response's info and the fetch time under _meta, and nothing else changes" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/api/" --results 2 --seed m --page 3 --meta
  assert_success
  for l in "${lines[@]}"; do
    jq -e '._meta.seed == "m" and ._meta.page == 3 and ._meta.results == 2 and ._meta.version == "1.4"
           and (._meta.fetched_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"))' <<<"$l" >/dev/null
  done
  diff <(echo "$output" | jq -c 'del(._meta)') \
       <(python3 "$PIPEKIT_ROOT/tests/support/make_response.py" 2 --seed m --page 3 | jq -c '.results[]')
  run --separate-stderr "${RF[@]}" --url "$RU_URL/api/" --results 1 --shape flat --meta
  jq -e 'keys | length == 14' <<<"$output" >/dev/null
}

@test "HTTP 500 twice, then users: retried with backoff, exit 0" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/mode=500/times=2/api/" --results 3 --retries 3
  assert_success
  [ "${#lines[@]}" -eq 3 ]
  [ "$(requests)" -eq 3 ]
  [[ "$stderr" == *"HTTP 500 Internal Server Error (text/html); body: <html><body><h1>500 Server Error"*"retry 1/3"* ]]
  [[ "$stderr" == *"retry 2/3"* ]]
  [[ "$stderr" == *"failed_requests 2, requests 3"* ]]
}

@test "HTTP 503 for good: exit 3 after the retries, nothing on stdout, the summary counts the failures" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/mode=503/api/" --results 3 --retries 2
  assert_failure 3
  assert_output ""
  [ "$(requests)" -eq 3 ]
  [[ "$stderr" == *"error: GET $RU_URL/mode=503/api/?results=3: HTTP 503 Service Unavailable"*"(gave up after 3 attempts)"* ]]
  [[ "$stderr" == *"failed_requests 3, requests 3"* ]]
}

@test "--count: the API fails on page 2 for good; page 1 stays written, exit 3, the summary counts the failures" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/mode=500/after=1/api/" --count 6 --results 3 --seed f --retries 1
  assert_failure 3
  [ "${#lines[@]}" -eq 3 ]
  diff <(echo "$output") <(python3 "$PIPEKIT_ROOT/tests/support/make_response.py" 3 --seed f | jq -c '.results[]')
  [[ "$stderr" == *"page=2&seed=f: HTTP 500"*"(gave up after 2 attempts)"* ]]
  [[ "$stderr" == *"in 3, out 3, rejected 0, failed_requests 2, requests 3"* ]]
}

@test "429 with Retry-After: waits what the server asks, not the backoff" {
  start=$(date +%s%N)
  run --separate-stderr "${RF[@]}" --url "$RU_URL/mode=429/retry_after=1/times=1/api/" --results 2
  assert_success
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "${#lines[@]}" -eq 2 ]
  [ "$elapsed" -ge 1000 ]
  [[ "$stderr" == *"HTTP 429 Too Many Requests"*'Rate limit exceeded'*"retry 1/4 in 1.0 s"* ]]
}

@test "429 with an HTTP-date Retry-After is honoured too" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/mode=429/retry_after=date/times=1/api/" --results 2
  assert_success
  [ "${#lines[@]}" -eq 2 ]
  [[ "$stderr" =~ retry\ 1/4\ in\ [12]\.[0-9]\ s ]]
}

@test "200 with {\"error\": ...}: a failed request, retried, never written as users" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/mode=error/api/" --results 2 --retries 1
  assert_failure 3
  assert_output ""
  [ "$(requests)" -eq 2 ]
  [[ "$stderr" == *"the API answered with an error: Uh oh, something has gone wrong"*"(HTTP 200"* ]]
}

@test "200 with {\"error\"} once, then users: exit 0" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/mode=error/times=1/api/" --results 2
  assert_success
  [ "${#lines[@]}" -eq 2 ]
}

@test "empty results[]: nothing to fetch, not retried: exit 0, or --empty-exit's code" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/mode=empty/api/" --results 2 --retries 3
  assert_success
  assert_output ""
  [[ "$stderr" == *"the API answered with no users: nothing more to fetch"* ]]
  [[ "$stderr" == *"failed_requests 0, requests 1"* ]]
  [[ "$stderr" != *retry* ]]
  run --separate-stderr "${RF[@]}" --url "$RU_URL/mode=empty/api/" --count 20 --results 5 --empty-exit 99
  [ "$status" -eq 99 ]
  assert_output ""
  # users written before the API ran dry: exit 0 even with --empty-exit
  run --separate-stderr "${RF[@]}" --url "$RU_URL/mode=error/times=1/api/" --results 2 --empty-exit 99
  assert_success
  [ "${#lines[@]}" -eq 2 ]
}

@test "a short page: a failed request, retried, then the full page" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/mode=short/times=1/api/" --results 3
  assert_success
  [ "${#lines[@]}" -eq 3 ]
  [[ "$stderr" == *"short page: 2 users for 3 asked"* ]]
}

@test "truncated JSON: reported with status and first bytes, nothing written, exit 3" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/mode=truncated/api/" --results 3 --retries 1
  assert_failure 3
  assert_output ""
  [[ "$stderr" == *"not valid JSON"*"(HTTP 200, application/json"*'body: {"results":[{"gender"'* ]]
}

@test "an HTML page with 200: reported with the content type and the first bytes" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/mode=html/api/" --results 3 --retries 0
  assert_failure 3
  assert_output ""
  [[ "$stderr" == *"not valid JSON"*"(HTTP 200, text/html)"*"body: <!DOCTYPE html><html><head><title>Maintenance"* ]]
}

@test "JSON of the wrong shape: reported, nothing written" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/mode=shape/api/" --results 3 --retries 0
  assert_failure 3
  assert_output ""
  [[ "$stderr" == *"unexpected JSON: no results[] array"*'body: {"users":'* ]]
}

@test "a slow server: --timeout cuts the request and it is retried; a patient timeout succeeds" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/mode=slow/delay=1500/api/" --results 1 --timeout 300ms --retries 1
  assert_failure 3
  [[ "$stderr" == *"Operation timed out"* ]]
  [ "$(requests)" -eq 2 ]
  run --separate-stderr "${RF[@]}" --url "$RU_URL/mode=slow/delay=300/api/" --results 1 --timeout 5s
  assert_success
  [ "${#lines[@]}" -eq 1 ]
}

@test "HTTP 404: a configuration error, not retried, exit 2" {
  run --separate-stderr "${RF[@]}" --url "$RU_URL/mode=404/api/" --results 1
  assert_failure 2
  [ "$(requests)" -eq 1 ]
  [[ "$stderr" == *"HTTP 404 Not Found"* ]]
}

@test "nothing listening: connection errors are retried, then exit 3" {
  port=$(free_port)
  run --separate-stderr "${RF[@]}" --url "http://127.0.0.1:$port/api/" --retries 2
  assert_failure 3
  [[ "$stderr" == *"retry 2/2"* ]]
  [[ "$stderr" == *"Failed to connect"*"(gave up after 3 attempts)"* ]]
}

@test "a closed stdout stops ru-fetch quietly (exit 0)" {
  run bash -c 'set -o pipefail; ru-fetch --url "$RU_URL/api/" --count 3000 --results 500 --rate 0 2>"$BATS_TEST_TMPDIR/err" | head -2 | wc -l'
  assert_success
  assert_output "2"
  run grep -c error "$BATS_TEST_TMPDIR/err"
  assert_output "0"
  [ "$(requests)" -lt 6 ]
}

@test "--every produces records over time and stops cleanly on SIGTERM, whole lines only" {
  out=$BATS_TEST_TMPDIR/out
  ru-fetch --url "$RU_URL/api/" --every 300ms --results 2 >"$out" 2>"$BATS_TEST_TMPDIR/err" &
  RF_PID=$!
  for i in $(seq 50); do if [ "$(wc -l <"$out")" -ge 2 ]; then break; fi; sleep 0.1; done
  n1=$(wc -l <"$out")
  sleep 1
  n2=$(wc -l <"$out")
  [ "$n1" -ge 2 ]
  [ "$n2" -ge $((n1 + 4)) ]
  kill -TERM "$RF_PID"
  rc=0; wait "$RF_PID" || rc=$?
  RF_PID=
  [ "$rc" -eq 0 ]
  [ $(( $(wc -l <"$out") % 2 )) -eq 0 ]
  jq -e .login.uuid "$out" >/dev/null
  grep -q "stopped by signal 15" "$BATS_TEST_TMPDIR/err"
  grep -q "requests" "$BATS_TEST_TMPDIR/err"
}

@test "SIGTERM during a slow request stops at once, exit 0" {
  ru-fetch --url "$RU_URL/mode=slow/delay=10000/api/" --every 1s >"$BATS_TEST_TMPDIR/out" 2>/dev/null &
  RF_PID=$!
  sleep 0.5
  start=$(date +%s%N)
  kill -TERM "$RF_PID"
  rc=0; wait "$RF_PID" || rc=$?
  RF_PID=
  [ "$rc" -eq 0 ]
  [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 3000 ]
  [ ! -s "$BATS_TEST_TMPDIR/out" ]
}

@test "--every with --count stops at the count; with --seed each poll is the next page" {
  run --separate-stderr ru-fetch --url "$RU_URL/api/" --every 100ms --results 2 --count 5 --seed ev
  assert_success
  [ "${#lines[@]}" -eq 5 ]
  run cat "$RU_LOG"
  assert_output "/api/?results=2&page=1&seed=ev
/api/?results=2&page=2&seed=ev
/api/?results=2&page=3&seed=ev"
}

@test "--every with --duration stops on time" {
  start=$(date +%s%N)
  run --separate-stderr ru-fetch --url "$RU_URL/api/" --every 200ms --duration 1s
  assert_success
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "$elapsed" -ge 900 ]
  [ "$elapsed" -lt 2500 ]
  [ "${#lines[@]}" -ge 3 ]
  [ "${#lines[@]}" -le 6 ]
}

@test "--every keeps polling after failed polls and counts them" {
  run --separate-stderr ru-fetch --url "$RU_URL/mode=500/times=2/api/" --every 100ms --retries 0 --count 4 --results 2
  assert_success
  [ "${#lines[@]}" -eq 4 ]
  [[ "$stderr" == *"polling again in 0.1 s"* ]]
  [[ "$stderr" == *"failed_polls 2"* ]]
}

@test "--every --max-failures N: exit 3 once N polls have failed" {
  run --separate-stderr ru-fetch --url "$RU_URL/mode=500/api/" --every 50ms --retries 1 --retry-delay 10ms --max-failures 3
  assert_failure 3
  [ "$(requests)" -eq 6 ]
  [[ "$stderr" == *"3 polls failed (--max-failures 3)"* ]]
}

@test "--rate caps requests per second" {
  start=$(date +%s%N)
  run --separate-stderr ru-fetch --url "$RU_URL/api/" --rate 5 --count 10 --results 2
  assert_success
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "${#lines[@]}" -eq 10 ]
  [ "$(requests)" -eq 5 ]
  [ "$elapsed" -ge 800 ]
}

@test "http_proxy is honoured, and NO_PROXY bypasses it" {
  port=$(free_port)
  run --separate-stderr env http_proxy="http://127.0.0.1:$port" ru-fetch --url "$RU_URL/api/" --retries 0
  assert_failure 3
  [ "$(requests)" -eq 0 ]
  run --separate-stderr env http_proxy="http://127.0.0.1:$port" NO_PROXY=127.0.0.1 ru-fetch --url "$RU_URL/api/" --retries 0
  assert_success
  [ "$(requests)" -eq 1 ]
}

@test "https: an unknown CA is refused (exit 2, not retried); CURL_CA_BUNDLE makes it trusted; HTTPS_PROXY/NO_PROXY apply" {
  command -v openssl >/dev/null || fail "needs openssl: run scripts/setup"
  stop_ru_server
  d=$BATS_TEST_TMPDIR
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
  start_ru_server --tls-cert "$d/cert.pem" --tls-key "$d/key.pem"
  url=${RU_URL/http:/https:}
  run --separate-stderr env -u CURL_CA_BUNDLE -u SSL_CERT_FILE ru-fetch --url "$url/api/" --results 2
  assert_failure 2
  [[ "$stderr" == *"certificate"* ]]
  run --separate-stderr env CURL_CA_BUNDLE="$d/cert.pem" ru-fetch --url "$url/api/" --results 2
  assert_success
  [ "${#lines[@]}" -eq 2 ]
  # HTTPS_PROXY is honoured for https URLs (a dead proxy: nothing reaches the
  # server), and NO_PROXY bypasses it.
  : >"$RU_LOG"
  proxy=http://127.0.0.1:$(free_port)
  run --separate-stderr env CURL_CA_BUNDLE="$d/cert.pem" HTTPS_PROXY="$proxy" ru-fetch --url "$url/api/" --retries 0
  assert_failure 3
  [ "$(requests)" -eq 0 ]
  run --separate-stderr env CURL_CA_BUNDLE="$d/cert.pem" HTTPS_PROXY="$proxy" NO_PROXY=127.0.0.1 ru-fetch --url "$url/api/"
  assert_success
  [ "$(requests)" -eq 1 ]
}

@test "credentials in the URL never appear in messages" {
  run --separate-stderr ru-fetch --url "http://user:s3cret@127.0.0.1:$(free_port)/api/" --retries 0 -v
  assert_failure 3
  [[ "$stderr" != *s3cret* ]]
  [[ "$stderr" == *"http://***@127.0.0.1"* ]]
}

@test "--every: a reader that goes away between polls ends ru-fetch quietly, without waiting for the next poll" {
  start=$(date +%s%N)
  run bash -c 'set -o pipefail; ru-fetch -q --url "$RU_URL/api/" --every 20s | head -1 | wc -l'
  assert_success
  assert_output "1"
  [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 5000 ]
}

@test "mirror credentials come from a netrc file, never argv; a 401 is not retried (exit 2)" {
  run --separate-stderr env NETRC=/dev/null ru-fetch --url "$RU_URL/auth=user:pw/api/"
  assert_failure 2
  [ "$(requests)" -eq 1 ]
  [[ "$stderr" == *"HTTP 401 Unauthorized"* ]]
  printf 'machine 127.0.0.1\nlogin user\npassword pw\n' >"$BATS_TEST_TMPDIR/netrc"
  run --separate-stderr env NETRC="$BATS_TEST_TMPDIR/netrc" ru-fetch --url "$RU_URL/auth=user:pw/api/" --results 2 -v
  assert_success
  [ "${#lines[@]}" -eq 2 ]
}

@test "SIGINT during a retry's backoff stops at once, exit 0; a second signal is not needed" {
  ru-fetch --url "$RU_URL/mode=500/api/" --retry-delay 20s >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
  RF_PID=$!
  for i in $(seq 50); do grep -q "retry 1/4" "$BATS_TEST_TMPDIR/err" && break; sleep 0.1; done
  start=$(date +%s%N)
  kill -INT "$RF_PID"
  rc=0; wait "$RF_PID" || rc=$?
  RF_PID=
  [ "$rc" -eq 0 ]
  [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 2000 ]
  grep -q "stopped by signal 2" "$BATS_TEST_TMPDIR/err"
  [ "$(requests)" -eq 1 ]
}

@test "HTTP/2 over TLS when the server offers it (nghttpd)" {
  command -v nghttpd >/dev/null || fail "needs nghttpd (Debian nghttp2-server): run scripts/setup"
  command -v openssl >/dev/null || fail "needs openssl: run scripts/setup"
  d=$BATS_TEST_TMPDIR
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
  port=$(free_port)
  nghttpd -a 127.0.0.1 -d "$FIX" "$port" "$d/key.pem" "$d/cert.pem" >/dev/null 2>&1 3>&- &
  h2=$!
  for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  run --separate-stderr env CURL_CA_BUNDLE="$d/cert.pem" ru-fetch --url "https://127.0.0.1:$port/mixed.json" --shape flat -vv
  kill "$h2"; wait "$h2" 2>/dev/null || true
  assert_success
  diff <(echo "$output") "$FIX/mixed.flat.ndjson"
  [[ "$stderr" == *"HTTP/2 200"* ]]
}

@test "a gzip bomb and an endless chunked body: refused at the 32 MiB cap, memory near the cap; a 5,000-user page fits" {
  # engine: ru_server.py (local). Issue #14: memory reached ~2x a 512 MiB cap.
  # maxrss in KiB of one ru-fetch run, by GNU time (the package `time`)
  maxrss() { /usr/bin/time -f '%M' -o "$BATS_TEST_TMPDIR/rss" "${RF[@]}" --retries 0 "$@" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" || true; cat "$BATS_TEST_TMPDIR/rss" | tail -1; }
  base=$(maxrss --url "$RU_URL/api/" --results 1)
  big=$(maxrss --url "$RU_URL/api/" --results 5000)
  [ "$(wc -l <"$BATS_TEST_TMPDIR/out")" -eq 5000 ] || fail "5,000-user page: $(cat "$BATS_TEST_TMPDIR/err")"
  cap_kib=$((32 * 1024))
  for mode in gzipbomb endless; do
    rss=$(maxrss --url "$RU_URL/mode=$mode/api/" --results 1)
    grep -q "response larger than 33554432 bytes" "$BATS_TEST_TMPDIR/err" || fail "$mode: $(cat "$BATS_TEST_TMPDIR/err")"
    [ ! -s "$BATS_TEST_TMPDIR/out" ] || fail "$mode: output written"
    # the body's own memory above a one-user run: at most the cap and a quarter
    echo "# $mode: maxrss $rss KiB, one-user run $base KiB, 5,000 users $big KiB" >&3
    [ $((rss - base)) -le $((cap_kib * 5 / 4)) ] || fail "$mode: maxrss $rss KiB, baseline $base KiB, cap $cap_kib KiB"
  done
}
