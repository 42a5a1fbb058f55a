#!/usr/bin/env bats
# examples/cron/pipekit.crontab, its job lines run the way cron runs them
# (tests/support/cron.bash: env -i with only what the crontab sets, $SHELL -c,
# no TTY, stdin from /dev/null, the output captured as cron would mail it),
# against kmock (or KAFKA_BROKERS), a private PostgreSQL and the local
# randomuser stand-in (ru_server.py).
load ../support/common
load ../support/pipeline/helpers
load ../support/ru_server
load ../support/cron
bats_require_minimum_version 1.5.0

TOOLS=(ru-fetch jvalidate kpub ksub pgload psql setsid)

setup_file() {
  [ -z "$(missing_tools "${TOOLS[@]}")" ] || return 0
  echo "# engine: $("$PIPEKIT" --version 2>&1 | head -1) run as cron runs it, ${KAFKA_BROKERS:+Kafka at }${KAFKA_BROKERS:-kmock}, PostgreSQL $(psql -V | awk '{print $3}')" >&3
  start_kmock
  start_postgres
  start_ru_server
  export CRON_DIR=$BATS_FILE_TMPDIR/cron CRON_TOPIC
  CRON_TOPIC=$(unique_topic cron)
  new_topic "$CRON_TOPIC" 2
  cron_install
  # the settings file the crontab names (/etc/pipekit/users.env), no password
  cat >"$CRON_DIR/users.env" <<EOT
KAFKA_BROKERS=$BROKERS
PIPEKIT_TOPIC=$CRON_TOPIC
PIPEKIT_GROUP=cron-postgres
PIPEKIT_SCHEMA=$PIPEKIT_ROOT/examples/schemas/user-flat.schema.json
PIPEKIT_URL=$RU_URL/
PIPEKIT_FETCH_RATE=0
PGHOST=$PGHOST
PGPORT=$PGPORT
PGUSER=$PGUSER
PGDATABASE=$PGDATABASE
PIPEKIT_TABLE=users_cron
PIPEKIT_STATE_DIR=$CRON_DIR/state
EOT
}

teardown_file() {
  stop_ru_server
  stop_kmock
  stop_postgres
}

setup() {
  require_tools "${TOOLS[@]}"
  OUT=$BATS_TEST_TMPDIR/mail
}

@test "the ingest and load lines are silent on success, and load every user (engine: cron-like env -i, \$SHELL -c)" {
  cron_run ingest "$OUT" || { cat "$OUT"; fail "ingest job exit $?"; }
  [ ! -s "$OUT" ] || { cat "$OUT"; fail "cron would mail this on success"; }
  cron_run load "$OUT" || { cat "$OUT"; fail "load job exit $?"; }
  [ ! -s "$OUT" ] || { cat "$OUT"; fail "cron would mail this on success"; }
  [ "$(psql_q 'SELECT count(*) FROM users_cron')" -eq 1000 ]
  [ "$(psql_q 'SELECT count(DISTINCT id) FROM users_cron')" -eq 1000 ]
  # the status line appends to its log, and that log says the group is caught up
  cron_run status "$OUT" || { cat "$CRON_DIR/pipekit-status.log"; fail "status job failed"; }
  [ ! -s "$OUT" ]
  [ "$(tail -1 "$CRON_DIR/pipekit-status.log" | jq .rows)" -eq 1000 ]
}

@test "a failing ingest line prints the stage's error and the summary, and exits non-zero (what cron mails)" {
  # the API answers 404: ru-fetch fails, and -q no longer keeps quiet
  run cron_run ingest "$OUT" PIPEKIT_URL="$RU_URL/mode=404/"
  cat "$OUT"
  [ "$status" -ne 0 ]
  grep -q '^\[ru-fetch\]' "$OUT"
  tail -1 "$OUT" | jq -e ".status == $status" >/dev/null
}

@test "a second run while the first holds the lock exits at once, touches nothing, and says so in one line" {
  # the first run waits 3 s on each request of a slow API, holding its lock
  cron_run ingest "$BATS_TEST_TMPDIR/first" PIPEKIT_URL="$RU_URL/mode=slow/delay=3000/" &
  first=$!
  lock=$CRON_DIR/state/locks/ingest-$CRON_TOPIC.lock
  for i in $(seq 1 100); do
    if [ -e "$lock" ] && ! flock -n "$lock" true; then break; fi
    sleep 0.1
  done
  ! flock -n "$lock" true || fail "the first run never took $lock"
  for i in $(seq 1 100); do grep -q 'mode=slow' "$RU_LOG" && break; sleep 0.1; done
  requests_before=$(requests)
  rows_before=$(find "$CRON_DIR/state" -type f ! -name '*.lock' -exec md5sum {} + | sort)
  start=$(date +%s%N)
  run cron_run ingest "$OUT"
  took_ms=$((($(date +%s%N) - start) / 1000000))
  cat "$OUT"
  echo "second run: status $status in $took_ms ms"
  [ "$status" -ne 0 ]
  [ "$(wc -l <"$OUT")" -eq 1 ]
  grep -q 'another run holds .*ingest' "$OUT"
  [ "$took_ms" -lt 2500 ] || fail "the second run did not exit at once"
  [ "$(requests)" -eq "$requests_before" ]
  [ "$(find "$CRON_DIR/state" -type f ! -name '*.lock' -exec md5sum {} + | sort)" = "$rows_before" ]
  wait "$first" || { cat "$BATS_TEST_TMPDIR/first"; fail "the first run failed"; }
  [ ! -s "$BATS_TEST_TMPDIR/first" ]
}
