#!/usr/bin/env bats
# test-timeout: 1800 (scripts/test's limit for this file: six `airflow dags test`
# runs of the whole DAG, each starting Airflow anew)
# The example DAG (examples/airflow/pipekit_users_dag.py), unchanged, run by
# Apache Airflow 3 (`airflow dags test`, SQLite metadata database) against
# the test servers: kmock (or the cluster in KAFKA_BROKERS), a private
# PostgreSQL that asks for a password, the CQL test peer with
# PasswordAuthenticator, and the local randomuser stand-in (ru_server.py).
# Settings are Airflow Variables and logins Airflow Connections, both given
# as AIRFLOW_VAR_* / AIRFLOW_CONN_* environment variables. A cluster policy
# (tests/support/airflow/airflow_local_settings.py) only shortens retry
# delays and sets test timeouts. The tests build on each other, in order:
# run 1 loads, run 2 finds nothing, run 3 fails and retries, run 4 is killed
# by its timeout and run 5 loads the rest.
# Skipped as a whole, loudly, with PIPEKIT_SKIP_AIRFLOW=1 (never in CI).
load ../support/common
load ../support/pipeline/helpers
load ../support/cql/helpers
load ../support/ru_server
load ../support/airflow/helpers
bats_require_minimum_version 1.5.0

TOOLS=(ru-fetch jvalidate kpub ksub pgload cqlload kmock psql sqlite3 jq)
PG_PASSWORD='S3cr:t/p@ss#pg-1'
CQL_USER=pipekit
CQL_PASSWORD='cql:S3cr/t#2'
KEYSPACE=pipekit_af

setup_file() {
  if [ "${PIPEKIT_SKIP_AIRFLOW:-}" = 1 ]; then return 0; fi
  if [ ! -x "$(airflow_venv 3)/bin/airflow" ] || [ -n "$(missing_tools "${TOOLS[@]}")" ]; then return 0; fi
  W=$BATS_FILE_TMPDIR
  echo "# engine: Apache Airflow $(airflow_version 3) (airflow dags test, SQLite), ${KAFKA_BROKERS:+Kafka at }${KAFKA_BROKERS:-kmock}, PostgreSQL $(psql -V | awk '{print $3}'), CQL test peer, ru_server.py" >&3

  # What the API serves: three batches of 1,000 users, 5% defective.
  mkdir -p "$W/api" "$W/expect"
  for r in 1 2 3; do
    python3 "$AIRFLOW_SUPPORT/make_api_users.py" 1000 "airflow-$r" "$W/api/run$r.json" "$W/expect/defects$r.tsv"
    ru-fetch --url "file://$W/api/run$r.json" --shape flat --count 1000 2>/dev/null \
      | grep -v -F -f <(cut -f1 "$W/expect/defects$r.tsv") >"$W/expect/valid$r.ndjson"
  done
  # and 1,000 users that are all defective: nothing to publish
  python3 "$AIRFLOW_SUPPORT/make_api_users.py" 1000 airflow-none "$W/api/none_valid.json" "$W/expect/defects_none.tsv" 1

  start_kmock
  start_postgres
  pg_require_passwords pipekit "$PG_PASSWORD" users
  printf '%s' "$CQL_PASSWORD" >"$W/cql.password"
  start_cqlpeer --user "$CQL_USER" --password-file "$W/cql.password"
  start_ru_server --data "$W/api"

  # `pipekit` on PATH, as the DAG calls it.
  mkdir -p "$W/bin"
  ln -sf "$PIPEKIT" "$W/bin/pipekit"
  export PATH="$W/bin:$PATH"

  airflow_init 3 "$W/airflow3"
  export AIRFLOW_VAR_PIPEKIT_BROKERS=$BROKERS
  export AIRFLOW_VAR_PIPEKIT_TOPIC
  AIRFLOW_VAR_PIPEKIT_TOPIC=$(unique_topic airflow_users)
  new_topic "$AIRFLOW_VAR_PIPEKIT_TOPIC" 4
  export AIRFLOW_VAR_PIPEKIT_SCHEMA=$PIPEKIT_ROOT/examples/schemas/user-flat.schema.json
  export AIRFLOW_VAR_PIPEKIT_STATE_DIR=$W/state
  export AIRFLOW_VAR_PIPEKIT_PG_HOST=127.0.0.1 AIRFLOW_VAR_PIPEKIT_PG_DATABASE=users
  export AIRFLOW_VAR_PIPEKIT_CQL_HOSTS=$CQL AIRFLOW_VAR_PIPEKIT_CQL_KEYSPACE=$KEYSPACE
  export AIRFLOW_CONN_PIPEKIT_PG="{\"conn_type\": \"postgres\", \"login\": \"pipekit\", \"password\": \"$PG_PASSWORD\"}"
  export AIRFLOW_CONN_PIPEKIT_CQL="{\"conn_type\": \"generic\", \"login\": \"$CQL_USER\", \"password\": \"$CQL_PASSWORD\"}"
  # No retries unless a test asks (the DAG's 3 would triple a failure's time).
  export PIPEKIT_TEST_RETRIES=0
  # Each run names what the API serves; a run that does not gets a 404, never the internet.
  export PIPEKIT_URL=$RU_URL/mode=404/
  export W
}

teardown_file() {
  stop_ru_server
  stop_cqlpeer
  stop_kmock
  stop_postgres
}

setup() {
  if [ "${PIPEKIT_SKIP_AIRFLOW:-}" = 1 ]; then
    [ -z "${CI:-}" ] || fail "PIPEKIT_SKIP_AIRFLOW=1 is for quick local runs, never in CI"
    skip "PIPEKIT_SKIP_AIRFLOW=1: Apache Airflow tests NOT run"
  fi
  require_airflow 3
  require_tools "${TOOLS[@]}"
  [ -n "${AIRFLOW_HOME:-}" ] || fail "setup_file did not finish (see the lines above)"
  T=$AIRFLOW_VAR_PIPEKIT_TOPIC
  LOG=$BATS_TEST_TMPDIR/dags_test.log
}

teardown() {
  if [ -n "${DAG_PID:-}" ]; then  # a test that stopped midway: end its dags test (Airflow may ignore SIGTERM)
    pkill -KILL -P "$DAG_PID" 2>/dev/null || true
    kill "$DAG_PID" 2>/dev/null || true
  fi
  [ -z "${LOG:-}" ] || [ ! -s "$LOG" ] || cp "$LOG" "$W/$(basename "$BATS_TEST_FILENAME" .bats)-$BATS_TEST_NUMBER.log"
}

# run_dag: one `airflow dags test` of the DAG into $LOG, while every process's
# command line is watched for the passwords; sets DAG_STATUS and ARGV_LEAKS.
run_dag() {
  local pid
  dags_test "$LOG" &
  pid=$!
  DAG_PID=$pid
  ARGV_LEAKS=0
  # the passwords come from a file, so that this grep's own command line holds neither
  printf '%s\n' "$PG_PASSWORD" "$CQL_PASSWORD" >"$BATS_TEST_TMPDIR/secrets"
  while kill -0 "$pid" 2>/dev/null; do
    grep -salF -f "$BATS_TEST_TMPDIR/secrets" /proc/[0-9]*/cmdline >"$BATS_TEST_TMPDIR/leaks" || true
    if [ -s "$BATS_TEST_TMPDIR/leaks" ]; then
      ARGV_LEAKS=$((ARGV_LEAKS + 1))
      sed 's|/cmdline$||' "$BATS_TEST_TMPDIR/leaks" | while read -r p; do
        echo "a password in the command line of pid ${p#/proc/} ($(cat "$p/comm" 2>/dev/null))"
      done
    fi
    sleep 0.2
  done
  wait "$pid" && DAG_STATUS=0 || DAG_STATUS=$?
  DAG_PID=
  echo "dags test exit $DAG_STATUS; run $(run_state); tasks:"
  task_states
}

# expect_tables N...: PostgreSQL's and Cassandra's users tables hold exactly
# the valid users of API batches N... (by key and content), and the ingest
# rejects every defective user of the last batch, with a reason.
expect_tables() {
  local r valid=$BATS_TEST_TMPDIR/valid.ndjson last
  : >"$valid"
  for r in "$@"; do cat "$W/expect/valid$r.ndjson" >>"$valid"; last=$r; done
  PGDATABASE=users table_rows users "$BATS_TEST_TMPDIR/pg_rows.ndjson"
  python3 "$PIPELINE_SUPPORT/check_pipeline.py" --valid "$valid" --rows "$BATS_TEST_TMPDIR/pg_rows.ndjson" \
    --defects "$W/expect/defects$last.tsv" --rejects "$W/state/rejects/$T.ingest.ndjson" \
    || fail "PostgreSQL table or rejects differ from what the API served"
  CQL_USER=$CQL_USER CQL_PASSWORD=$CQL_PASSWORD cqlread "$KEYSPACE.users" >"$BATS_TEST_TMPDIR/cql_rows.ndjson"
  python3 "$PIPELINE_SUPPORT/check_pipeline.py" --valid "$valid" --rows "$BATS_TEST_TMPDIR/cql_rows.ndjson" \
    || fail "Cassandra table differs from what the API served"
}

# no_secrets: neither password in the console of the run, Airflow's database
# or pipekit's state directory, nor in any process's command line meanwhile.
no_secrets() {
  [ "$ARGV_LEAKS" -eq 0 ] || fail "a password was seen in a command line ($ARGV_LEAKS times)"
  ! grep -qF -e "$PG_PASSWORD" -e "$CQL_PASSWORD" "$LOG" || fail "a password is in the dags test output"
  ! grep -aqF -e "$PG_PASSWORD" -e "$CQL_PASSWORD" "$AIRFLOW_HOME/airflow.db" || fail "a password is in airflow.db"
  ! grep -raqF -e "$PG_PASSWORD" -e "$CQL_PASSWORD" "$W/state" || fail "a password is in pipekit's state directory"
}

# stages_gone: no pipekit stage of this topic is left running. Up to 40 s:
# on SIGTERM ksub waits for outstanding acks (--ack-timeout, default 30 s)
# from a sink that was killed too, then commits what was acknowledged.
stages_gone() {
  local i
  for i in $(seq 1 200); do
    pgrep -f -- "$T" >/dev/null || return 0
    sleep 0.2
  done
  pgrep -a -f -- "$T" >&2
  fail "stages still running after the task ended"
}

@test "the DAG imports with no deprecation warning on Airflow 3 (engine: Airflow $(airflow_version 3)); the check catches the old import path" {
  run strict_import 3
  echo "$output"
  assert_success
  assert_output --partial "airflow.sdk"
  assert_output --partial "['ingest', 'load_cassandra', 'load_postgres', 'status']"
  # without the standard provider's path the DAG falls back to airflow.operators.bash: Airflow 3 warns, the check fails
  sed 's/airflow.providers.standard.operators.bash/airflow.providers.none.operators.bash/' "$EXAMPLE_DAG" >"$BATS_TEST_TMPDIR/old.py"
  run strict_import 3 "$BATS_TEST_TMPDIR/old.py"
  assert_failure
  assert_output --partial "airflow.operators.bash"
}

@test "the DAG still imports on Airflow 2.10 (engine: Airflow $(airflow_version 2)), from airflow.operators.bash" {
  require_airflow 2
  run strict_import 2
  echo "$output"
  assert_success
  assert_output --partial "airflow.models.dag"
  assert_output --partial "['ingest', 'load_cassandra', 'load_postgres', 'status']"
}

@test "run 1 (engine: Airflow $(airflow_version 3)): every task succeeds, both tables hold exactly the valid users, the rejects say why, each summary is the task's XCom, passwords only in the environment" {
  PIPEKIT_URL=$RU_URL/file=run1.json/ run_dag
  cat "$LOG" | grep -E '^\[|Command exited|ERROR' | tail -30
  [ "$DAG_STATUS" -eq 0 ] || fail "dags test exit $DAG_STATUS"
  [ "$(run_state)" = success ]
  [ "$(task_states)" = "$(printf '%s\n' 'ingest success 1' 'load_cassandra success 1' 'load_postgres success 1' 'status success 1')" ]
  expect_tables 1
  ndef=$(wc -l <"$W/expect/defects1.tsv")
  nvalid=$(wc -l <"$W/expect/valid1.ndjson")
  # every reject carries a reason
  [ "$(jq -c 'select((.reason // .error // "") == "")' "$W/state/rejects/$T.ingest.ndjson" | wc -l)" -eq 0 ]
  # XCom: the JSON summary each task printed last
  sum=$(xcom ingest); echo "ingest XCom: $sum"
  [ "$(jq .published <<<"$sum")" -eq "$nvalid" ]
  [ "$(jq .rejected <<<"$sum")" -eq "$ndef" ]
  for t in load_postgres load_cassandra; do
    sum=$(xcom $t); echo "$t XCom: $sum"
    [ "$(jq .consumed <<<"$sum")" -eq "$nvalid" ]
    [ "$(jq .status <<<"$sum")" -eq 0 ]
  done
  sum=$(xcom status); echo "status XCom: $sum"
  [ "$(jq .rows <<<"$sum")" -eq "$nvalid" ]
  # the password did reach pgload (PostgreSQL asks pipekit for one), and nowhere else
  [ "$(PGDATABASE=users psql_q "SELECT tableowner FROM pg_tables WHERE tablename='users'")" = pipekit ]
  no_secrets
}

@test "run 2 (engine: Airflow $(airflow_version 3)): nothing to do (the API has no users; then no valid user; nothing new in the topic): ingest and loads skip on 99, none fails" {
  # First the API answers no users at all (results: []): nothing to fetch.
  PIPEKIT_URL=$RU_URL/mode=empty/ run_dag
  [ "$DAG_STATUS" -eq 0 ] || fail "dags test exit $DAG_STATUS"
  [ "$(run_state)" = success ]
  [ "$(task_states)" = "$(printf '%s\n' 'ingest skipped 1' 'load_cassandra skipped 1' 'load_postgres skipped 1' 'status success 1')" ]
  grep -q 'the API answered with no users' "$LOG" || fail "the ingest log does not say why it skipped"
  [ -z "$(xcom ingest)" ]
  [ -z "$(xcom load_postgres)" ]
  [ -z "$(xcom load_cassandra)" ]
  PGDATABASE=users table_rows users "$BATS_TEST_TMPDIR/rows.ndjson"
  python3 "$PIPELINE_SUPPORT/check_pipeline.py" --valid "$W/expect/valid1.ndjson" --rows "$BATS_TEST_TMPDIR/rows.ndjson"
  no_secrets
  # Then the API answers 1,000 users, every one defective: ingest rejects
  # them all and publishes nothing.
  PIPEKIT_URL=$RU_URL/file=none_valid.json/ run_dag
  grep -E 'Command exited|Skipping|ERROR' "$LOG" | sort | uniq -c
  [ "$DAG_STATUS" -eq 0 ] || fail "dags test exit $DAG_STATUS"
  [ "$(run_state)" = success ]
  [ "$(task_states)" = "$(printf '%s\n' 'ingest skipped 1' 'load_cassandra skipped 1' 'load_postgres skipped 1' 'status success 1')" ]
  [ "$(grep -c 'Command exited with return code 99' "$LOG")" -ge 3 ]
  [ -z "$(xcom ingest)" ]
  [ -z "$(xcom load_postgres)" ]
  [ -z "$(xcom load_cassandra)" ]
  # the 1,000 rejects, each with a reason; the tables as run 1 left them
  expect_tables 1
  PGDATABASE=users table_rows users "$BATS_TEST_TMPDIR/rows.ndjson"
  python3 "$PIPELINE_SUPPORT/check_pipeline.py" --valid "$W/expect/valid1.ndjson" --rows "$BATS_TEST_TMPDIR/rows.ndjson" \
    --defects "$W/expect/defects_none.tsv" --rejects "$W/state/rejects/$T.ingest.ndjson"
  no_secrets
}

# A PostgreSQL fault for the next two runs: a trigger on the users table.
pg_trigger() {
  PGDATABASE=users psql_q "CREATE SEQUENCE IF NOT EXISTS fault_rows;
    CREATE OR REPLACE FUNCTION fault() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS \$\$
    BEGIN $1 RETURN NEW; END \$\$;
    DROP TRIGGER IF EXISTS fault ON users;
    CREATE TRIGGER fault BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION fault();" >/dev/null
}

@test "run 3 (engine: Airflow $(airflow_version 3)): the database drops pgload's connection: the task fails with status 3 in its log, Airflow's retry re-runs it, no duplicates" {
  # the 301st row inserted ends its connection, once; pgload may not reconnect
  # nor pipekit restart it, so the task fails and Airflow retries it.
  pg_trigger "IF nextval('fault_rows') = 301 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;"
  PIPEKIT_URL=$RU_URL/file=run2.json/ PIPEKIT_TEST_RETRIES=1 PIPEKIT_RESTARTS=0 PIPEKIT_SINK_RETRIES=0 \
    PIPEKIT_BATCH_ROWS=100 run_dag
  grep -E 'Command exited|\[pgload\]|up_for_retry|UP_FOR_RETRY' "$LOG" | head -20
  PGDATABASE=users psql_q "DROP TRIGGER fault ON users"
  [ "$DAG_STATUS" -eq 0 ] || fail "dags test exit $DAG_STATUS"
  [ "$(task_states)" = "$(printf '%s\n' 'ingest success 1' 'load_cassandra success 1' 'load_postgres success 2' 'status success 1')" ]
  # attempt 1: pipekit's summary says status 3 (pgload), then Airflow's line
  grep -q 'Command exited with return code 3' "$LOG"
  grep -F '"status":3' "$LOG" | grep -q pgload
  expect_tables 1 2
  [ "$(PGDATABASE=users psql_q 'SELECT count(*) - count(DISTINCT id) FROM users')" -eq 0 ]
  no_secrets
}

@test "run 4 and 5 (engine: Airflow $(airflow_version 3)): execution_timeout kills a slow load (SIGTERM to its process group): the stages stop, what was committed stays, the next run loads the rest exactly" {
  # about 50 s of work for a 15 s timeout
  pg_trigger "PERFORM pg_sleep(0.05);"
  PIPEKIT_URL=$RU_URL/file=run3.json/ PIPEKIT_TEST_TIMEOUT_LOAD_POSTGRES=15 PIPEKIT_BATCH_ROWS=50 run_dag
  # every stage's lines (a failure here once showed pgload reading nothing and ending at once)
  grep -E 'Command exited|Timeout|SIGTERM|\[pgload\]|\[ksub\]|\[jvalidate\]|pipekit: ' "$LOG" | head -40
  PGDATABASE=users psql_q "DROP TRIGGER fault ON users"
  [ "$DAG_STATUS" -ne 0 ] || fail "a run with a failed load must fail (status is a teardown)"
  [ "$(run_state)" = failed ]
  [ "$(task_states)" = "$(printf '%s\n' 'ingest success 1' 'load_cassandra success 1' 'load_postgres failed 1' 'status success 1')" ]
  grep -qi 'timed out\|AirflowTaskTimeout' "$LOG"
  stages_gone
  before=$(PGDATABASE=users psql_q 'SELECT count(*) FROM users')
  n12=$(cat "$W"/expect/valid[12].ndjson | wc -l)
  echo "rows after the timeout: $before (runs 1-2: $n12)"
  [ "$before" -gt "$n12" ] || fail "the killed load committed nothing (too slow a machine for this test?)"
  [ "$before" -lt "$((n12 + $(wc -l <"$W/expect/valid3.ndjson")))" ] || fail "the load finished before its timeout"

  # run 5: nothing new from the API (ingest skips); the load picks up where the killed one stopped
  PIPEKIT_URL=$RU_URL/file=none_valid.json/ run_dag
  grep -E 'Command exited|\[pgload\]' "$LOG" | head
  [ "$DAG_STATUS" -eq 0 ] || fail "dags test exit $DAG_STATUS"
  [ "$(task_states)" = "$(printf '%s\n' 'ingest skipped 1' 'load_cassandra skipped 1' 'load_postgres success 1' 'status success 1')" ]
  expect_tables 1 2 3
  no_secrets
}
