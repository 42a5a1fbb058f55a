#!/usr/bin/env bats
# pipekit, the orchestrator (tools/pipekit): options, configuration precedence,
# secrets, and the supervision logic (wiring, pipefail, stderr prefixes,
# restarts, signals, lock, exit 99). The stages here are test doubles
# (tests/support/pipeline/fakebin: pass lines through, fail on demand), so that
# these tests need no Kafka or PostgreSQL; tests/integration/pipeline*.bats
# runs the real tools end to end.
load ../support/common
bats_require_minimum_version 1.5.0

setup() {
  FAKEBIN=$PIPEKIT_ROOT/tests/support/pipeline/fakebin
  W=$BATS_TEST_TMPDIR
  mkdir -p "$W/log"
  echo '{"type":"object"}' >"$W/schema.json"
  export FAKE_LOG=$W/log
  # Only the doubles and the system: never the real tools in build/bin.
  FAKEPATH=$FAKEBIN:/usr/local/bin:/usr/bin:/bin
  PK=$PIPEKIT_BUILD/bin/pipekit
  ARGS=(-b 127.0.0.1:9 --schema "$W/schema.json" --state-dir "$W/state")
}

pk() { PATH=$FAKEPATH "$PK" "$@"; }
last_json() { tail -1 <<<"$output" | jq -r "$1"; }

@test "pipekit --version matches the project version" {
  run pk --version
  assert_success
  want=$(grep -oP 'project\(pipekit VERSION \K[0-9.]+' "$PIPEKIT_ROOT/CMakeLists.txt")
  assert_output --regexp "^pipekit $want \\(.*\\) \\(built with librdkafka [0-9]+\\.[0-9]+\\.[0-9]+\\)\$"
}

@test "usage errors exit 2 with a message" {
  run pk
  [ "$status" -eq 2 ]; assert_output --partial "no subcommand"
  run pk load --bogus
  [ "$status" -eq 2 ]; assert_output --partial "unknown option: --bogus"
  run pk load "${ARGS[@]}" --sink mysql
  [ "$status" -eq 2 ]; assert_output --partial "--sink"
  run env -u KAFKA_BROKERS PATH=$FAKEPATH "$PK" load --schema "$W/schema.json"
  [ "$status" -eq 2 ]; assert_output --partial "no brokers"
  run pk load "${ARGS[@]}" --restarts many
  [ "$status" -eq 2 ]
  run pk load -b x:1 --schema "$W/nope.json"
  [ "$status" -eq 2 ]; assert_output --partial "nope.json"
  run pk load "${ARGS[@]}" --sink cassandra
  [ "$status" -eq 2 ]; assert_output --partial "--cql-hosts"
}

@test "subcommand --help works for every subcommand" {
  for c in ingest load run status demo; do
    run pk "$c" --help
    assert_success
    assert_output --partial "Usage: pipekit $c"
    assert_output --partial "Exit status:"
  done
}

@test "load --dry-run wires the acks of jvalidate and pgload to ksub" {
  run pk load --dry-run "${ARGS[@]}" -t people -G g1 --table people
  assert_success
  ksub=$(grep '^ksub: ' <<<"$output"); jv=$(grep '^jvalidate: ' <<<"$output"); pg=$(grep '^pgload: ' <<<"$output")
  [[ $ksub == *"--topic people --group g1 --envelope --commit-acks "* ]]
  to_ksub=$(grep -oP -- '--commit-acks \K\S+' <<<"$ksub")
  from_sinks=$(grep -oP -- '--ack \K\S+' <<<"$jv")
  [ "$from_sinks" = "$to_ksub" ]
  [[ $pg == *"--table people --envelope --mode upsert --key id --ack $from_sinks "* ]]
  [[ $jv == *"--rejects "* ]]
  # streaming unless --once
  [[ $ksub != *" --exit-at-end "* ]]
  run pk load --dry-run --once --empty-exit 99 "${ARGS[@]}"
  grep -q -- '^ksub: .* --exit-at-end --empty-exit 99 ' <<<"$output"
}

@test "settings: flag > environment > config file > default" {
  cat >"$W/p.env" <<'EOT'
# a comment
PIPEKIT_TOPIC=from_file
export PIPEKIT_GROUP="file-group"
PIPEKIT_TABLE='file_table'
PGHOST=/tmp/from-file
EOT
  run pk load --dry-run "${ARGS[@]}" --config "$W/p.env"
  assert_success
  assert_output --partial "--topic from_file --group file-group"
  assert_output --partial "pgload --table file_table"
  run env PIPEKIT_TOPIC=from_env PATH=$FAKEPATH "$PK" load --dry-run "${ARGS[@]}" --config "$W/p.env"
  assert_output --partial "--topic from_env --group file-group"
  run env PIPEKIT_TOPIC=from_env PATH=$FAKEPATH "$PK" load --dry-run "${ARGS[@]}" --config "$W/p.env" -t from_flag
  assert_output --partial "--topic from_flag --group file-group"
  run pk load --dry-run "${ARGS[@]}"
  assert_output --partial "--topic users --group pipekit-load"
}

@test "config file: unknown keys and secrets are refused, the secret is not echoed" {
  echo "PIPEKIT_TOPC=users" >"$W/typo.env"
  run pk load --dry-run "${ARGS[@]}" --config "$W/typo.env"
  [ "$status" -eq 2 ]; assert_output --partial "typo.env:1: unknown setting PIPEKIT_TOPC"
  printf 'PIPEKIT_TOPIC=u\nPGPASSWORD=hunter2\n' >"$W/secret.env"
  run pk load --dry-run "${ARGS[@]}" --config "$W/secret.env"
  [ "$status" -eq 2 ]; assert_output --partial "secret.env:2: PGPASSWORD"
  refute_output --partial hunter2
  run pk load --dry-run "${ARGS[@]}" --config "$W/missing.env"
  [ "$status" -eq 2 ]
}

@test "a DSN holding a password is refused; passwords never reach argv" {
  run pk load --dry-run "${ARGS[@]}" -d "host=db password=hunter2"
  [ "$status" -eq 2 ]; refute_output --partial hunter2
  run pk load --dry-run "${ARGS[@]}" -d "postgresql://loader:hunter2@db/users"
  [ "$status" -eq 2 ]; refute_output --partial hunter2
  run pk load --dry-run "${ARGS[@]}" -d "postgresql://loader@db/users"
  assert_success
  run env CQL_PASSWORD=hunter2 PATH=$FAKEPATH "$PK" load --dry-run "${ARGS[@]}" --sink cassandra --cql-hosts h1 --keyspace ks
  assert_success
  assert_output --partial "cqlload: cqlload --hosts h1 --keyspace ks --table users --envelope --ack"
  refute_output --partial hunter2
}

@test "load --once runs the three stages, prefixes their stderr, ends with a JSON line" {
  run --separate-stderr pk load --once "${ARGS[@]}"
  assert_success
  [ "$(wc -l <<<"$output")" -eq 1 ]
  [ "$(last_json .status)" = 0 ]
  [ "$(last_json .consumed)" = 3 ]
  [ "$(last_json .written)" = 3 ]
  [ "$(last_json .stages.pgload)" = 0 ]
  grep -q '^\[ksub\] fake ksub done: 3 lines$' <<<"$stderr"
  grep -q '^\[jvalidate\] fake jvalidate done: 3 lines$' <<<"$stderr"
  grep -q '^\[pgload\] fake pgload done: 3 lines$' <<<"$stderr"
  # the FIFOs and run files are gone
  [ -z "$(ls -d "$W"/state/run.* 2>/dev/null)" ]
}

@test "a failing stage stops the pipeline with its status (pipefail)" {
  FAKE_FAIL_jvalidate=4 run --separate-stderr pk load --once --restarts 0 "${ARGS[@]}"
  [ "$status" -eq 4 ]
  [ "$(last_json .failed_stage)" = jvalidate ]
  [ "$(last_json .status)" = 4 ]
  grep -q '^\[jvalidate\] fake jvalidate: failing with status 4' <<<"$stderr"
  grep -q 'pipekit: warning: jvalidate failed with status 4' <<<"$stderr"
  FAKE_FAIL_kpub=3 run pk ingest --once "${ARGS[@]}"
  [ "$status" -eq 3 ]
  [ "$(last_json .failed_stage)" = kpub ]
}

@test "a crashed load restarts with a fresh ack FIFO; config errors do not restart" {
  FAKE_FAIL_ONCE_pgload=$W/once run --separate-stderr pk load --once "${ARGS[@]}"
  assert_success
  [ "$(last_json .restarts)" = 1 ]
  [ "$(wc -l <"$W/log/ksub.argv")" -eq 2 ]
  a=$(grep -oP -- '--commit-acks \K\S+' "$W/log/ksub.argv" | sort -u | wc -l)
  [ "$a" -eq 2 ]
  grep -q 'restarting the load (1 of at most 5) after pgload ended with status 3' <<<"$stderr"

  rm -f "$W/log/ksub.argv"
  FAKE_FAIL_pgload=2 run pk load --once "${ARGS[@]}"
  [ "$status" -eq 2 ]
  [ "$(wc -l <"$W/log/ksub.argv")" -eq 1 ]

  rm -f "$W/log/ksub.argv"
  FAKE_FAIL_pgload=3 run pk load --once --restarts 2 "${ARGS[@]}"
  [ "$status" -eq 3 ]
  [ "$(wc -l <"$W/log/ksub.argv")" -eq 3 ]
}

@test "--empty-exit 99 when there is nothing to load or publish" {
  FAKE_LINES=0 run pk load --once --empty-exit 99 "${ARGS[@]}"
  [ "$status" -eq 99 ]
  [ "$(last_json .consumed)" = 0 ]
  : >"$W/empty.ndjson"
  run pk ingest --once --input "$W/empty.ndjson" --empty-exit 99 "${ARGS[@]}"
  [ "$status" -eq 99 ]
  FAKE_LINES=0 run pk load --once "${ARGS[@]}"
  assert_success
}

@test "-q: silent on success, the summary still printed on failure" {
  run pk -q load --once "${ARGS[@]}"
  assert_success
  assert_output ""
  grep -q -- ' --quiet ' "$W/log/pgload.argv"
  FAKE_FAIL_pgload=2 run --separate-stderr pk -q load --once "${ARGS[@]}"
  [ "$status" -eq 2 ]
  [ "$(last_json .status)" = 2 ]
}

@test "the lock keeps two runs from overlapping" {
  mkdir -p "$W/state/locks"
  lock=$W/state/locks/load-users-pipekit-load-postgres.lock
  # the holder is one process (sleep, after exec), so killing it frees the lock
  ( exec 9>>"$lock"; flock 9; exec sleep 30 ) 3>&- &
  holder=$!
  sleep 0.3
  run pk load --once "${ARGS[@]}"
  [ "$status" -eq 3 ]; assert_output --partial "another run holds"
  run pk load --once --empty-exit 99 "${ARGS[@]}"
  [ "$status" -eq 99 ]
  run pk load --once --no-lock "${ARGS[@]}"
  assert_success
  run pk load --once --lock "$W/other.lock" "${ARGS[@]}"
  assert_success
  kill "$holder"; wait "$holder" || true
  run pk load --once "${ARGS[@]}"
  assert_success
}

@test "a stage that cannot even start stops a streaming load at once, with its status" {
  FAKE_HANG_ksub=1 FAKE_EARLY_jvalidate=127 run -127 --separate-stderr timeout 20 env PATH=$FAKEPATH "$PK" load --restarts 3 "${ARGS[@]}"
  [ "$status" -eq 127 ]
  [ "$(last_json .failed_stage)" = jvalidate ]
  [ "$(last_json .restarts)" = 0 ]
  grep -q 'jvalidate failed with status 127' <<<"$stderr"
}

@test "streaming load: SIGTERM stops the source first and the rest drains, exit 0" {
  FAKE_HANG_ksub=1 PATH=$FAKEPATH "$PK" load "${ARGS[@]}" >"$W/out" 2>"$W/err" &
  pid=$!
  for i in $(seq 50); do grep -q 'fake pgload started' "$W/err" 2>/dev/null && break; sleep 0.1; done
  kill -TERM "$pid"
  wait "$pid"
  grep -q '^\[ksub\] fake ksub stopping on SIGTERM' "$W/err"
  grep -q '^\[pgload\] fake pgload done: 3 lines' "$W/err"
  [ "$(tail -1 "$W/out" | jq .status)" = 0 ]
}

@test "streaming load: a stage killed with SIGKILL is restarted" {
  FAKE_HANG_ksub=1 PATH=$FAKEPATH "$PK" load "${ARGS[@]}" >"$W/out" 2>"$W/err" &
  pid=$!
  for i in $(seq 50); do ls "$W"/state/run.load.*/jvalidate.pid >/dev/null 2>&1 && break; sleep 0.1; done
  sleep 0.3
  kill -KILL "$(cat "$W"/state/run.load.*/jvalidate.pid)"
  for i in $(seq 50); do if [ "$(grep -c 'fake pgload started' "$W/err")" -ge 2 ]; then break; fi; sleep 0.1; done
  kill -TERM "$pid"
  wait "$pid"
  grep -q 'jvalidate was killed by signal 9' "$W/err"
  [ "$(tail -1 "$W/out" | jq .restarts)" = 1 ]
  [ "$(tail -1 "$W/out" | jq .status)" = 0 ]
}

@test "ingest: ru-fetch | jvalidate | kpub, or --input FILE, keyed by id" {
  run pk ingest --once -n 25 --seed s1 "${ARGS[@]}"
  assert_success
  grep -q -- '--shape flat --count 25 --seed s1' "$W/log/ru-fetch.argv"
  grep -q -- '--topic users --key id' "$W/log/kpub.argv"
  [ "$(last_json .published)" = 3 ]
  printf '{"id":"a"}\n{"id":"b"}\n' >"$W/in.ndjson"
  run pk ingest --once --no-validate --input "$W/in.ndjson" "${ARGS[@]}"
  assert_success
  [ "$(last_json .published)" = 2 ]
  [ "$(last_json .stages.jvalidate)" = null ]
}

@test "run --once: ingest, then load, one summary with both" {
  run --separate-stderr pk run --once "${ARGS[@]}"
  assert_success
  [ "$(last_json .ingest.published)" = 3 ]
  [ "$(last_json .load.consumed)" = 3 ]
  grep -q '^\[ingest\] \[kpub\] fake kpub done' <<<"$stderr"
  grep -q '^\[load\] \[pgload\] fake pgload done' <<<"$stderr"
}

@test "every setting's variable in --help is in the man page, and every option the table has" {
  # engine: none (the settings table, --help and man/pipekit.1)
  page=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$PIPEKIT_BUILD/man/man1/pipekit.1")
  help=$(for c in "" ingest load status demo; do "$PK" $c --help; done)
  vars=$(grep -oE '\[[A-Z_]+\]' <<<"$help" | tr -d '[]' | sort -u)
  [ "$(wc -l <<<"$vars")" -ge 35 ]
  for v in $vars; do grep -qF -- "$v" <<<"$page" || fail "$v is in --help but not in pipekit.1"; done
}

@test "--metrics-addr: Prometheus text on /metrics while a streaming load runs (promtool check metrics)" {
  # engine: the test doubles (fakebin); promtool from Debian's prometheus package
  command -v promtool >/dev/null || fail "needs promtool: run scripts/setup (Debian package prometheus)"
  FAKE_HANG_ksub=1 PATH=$FAKEPATH "$PK" load --metrics-addr 127.0.0.1:0 "${ARGS[@]}" >"$W/out" 2>"$W/err" &
  pid=$!
  for i in $(seq 50); do grep -q 'fake pgload started' "$W/err" 2>/dev/null && break; sleep 0.1; done
  url=$(grep -oP 'metrics on \K\S+' "$W/err")
  [ -n "$url" ] || { cat "$W/err"; false; }
  curl -sf "$url" >"$W/m1"
  grep -qx 'pipekit_stage_up{stage="ksub"} 1' "$W/m1"
  grep -q '^process_cpu_seconds_total ' "$W/m1"
  grep -q '^process_resident_memory_bytes [1-9]' "$W/m1"
  # a crash: the attempt's counts and the restart show up
  kill -KILL "$(cat "$W"/state/run.load.*/jvalidate.pid)"
  for i in $(seq 50); do if [ "$(grep -c 'fake pgload started' "$W/err")" -ge 2 ]; then break; fi; sleep 0.1; done
  curl -sf "$url" >"$W/m2"
  grep -qx 'pipekit_restarts_total 1' "$W/m2"
  grep -qx 'pipekit_records_total{stage="ksub",outcome="out"} 3' "$W/m2"
  run promtool check metrics <"$W/m2"
  assert_success
  [ "$(curl -s -o /dev/null -w '%{http_code}' "${url%/metrics}/other")" = 404 ]
  kill -TERM "$pid"
  wait "$pid"
  [ "$(tail -1 "$W/out" | jq .restarts)" = 1 ]
}

@test "status --watch: plain lines when stdout is not a terminal, until SIGINT" {
  # engine: a stand-in ksub printing two partitions' offsets
  mkdir -p "$W/bin"
  cat >"$W/bin/ksub" <<'EOT'
#!/bin/sh
echo '{"topic":"users","partition":0,"low":0,"high":10,"group":"g","committed":4,"lag":6}'
echo '{"topic":"users","partition":1,"low":0,"high":5,"group":"g","committed":5,"lag":0}'
EOT
  chmod +x "$W/bin/ksub"
  PATH=$W/bin:/usr/bin:/bin "$PK" status --watch --interval 1 --sink cassandra -b x:1 >"$W/out" 2>"$W/err" &
  pid=$!
  for i in $(seq 50); do if [ "$(grep -c 'total lag=' "$W/out")" -ge 2 ]; then break; fi; sleep 0.1; done
  kill -INT "$pid"
  wait "$pid"
  grep -q 'users/0 high=10 committed=4 lag=6' "$W/out"
  grep -q 'total lag=6 rows=null' "$W/out"
  ! grep -q $'\e' "$W/out"
}
