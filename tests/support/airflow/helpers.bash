# Helpers for tests/integration/airflow.bats (after ../support/common,
# ../support/pipeline/helpers, ../support/cql/helpers, ../support/ru_server):
# Apache Airflow from the venvs scripts/setup makes in the build tree, an
# AIRFLOW_HOME in a temp dir (SQLite), and the example DAG run unchanged with
# `airflow dags test`.
AIRFLOW_SUPPORT=$PIPEKIT_ROOT/tests/support/airflow
EXAMPLE_DAG=$PIPEKIT_ROOT/examples/airflow/pipekit_users_dag.py
DAG_ID=pipekit_users

# airflow_venv 3|2: the venv's directory.
airflow_venv() { echo "$PIPEKIT_BUILD/venv-airflow$1"; }

# require_airflow 3|2: fails the test, saying how to get it, when the venv is missing.
require_airflow() {
  [ -x "$(airflow_venv "$1")/bin/airflow" ] \
    || fail "needs Apache Airflow in $(airflow_venv "$1"): run scripts/setup (or PIPEKIT_SKIP_AIRFLOW=1 scripts/test for a quick local run without it)"
}

# airflow_version 3|2: e.g. 3.3.2
airflow_version() {
  grep -m1 '^apache-airflow==' "$PIPEKIT_ROOT/tests/support/requirements-airflow$1.txt" | cut -d= -f3
}

# airflow_init 3|2 DIR: a fresh AIRFLOW_HOME in DIR holding a copy of the
# example DAG (so no __pycache__ lands in examples/) and the test cluster
# policy (retries without delay, test timeouts); the SQLite database migrated.
# Exports AIRFLOW_HOME, AIRFLOW_BIN and the AIRFLOW__* settings.
airflow_init() {
  local v=$1
  export AIRFLOW_HOME=$2 AIRFLOW_BIN
  AIRFLOW_BIN=$(airflow_venv "$v")/bin/airflow
  mkdir -p "$AIRFLOW_HOME/dags" "$AIRFLOW_HOME/config"
  cp "$EXAMPLE_DAG" "$AIRFLOW_HOME/dags/"
  cp "$AIRFLOW_SUPPORT/airflow_local_settings.py" "$AIRFLOW_HOME/config/"
  export AIRFLOW__CORE__DAGS_FOLDER=$AIRFLOW_HOME/dags AIRFLOW__CORE__LOAD_EXAMPLES=False
  export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False PYTHONDONTWRITEBYTECODE=1
  timeout 300 "$AIRFLOW_BIN" db migrate >"$AIRFLOW_HOME/migrate.log" 2>&1 \
    || { tail -30 "$AIRFLOW_HOME/migrate.log" >&2; return 1; }
}

# strict_import 3|2 [DAG_FILE]: imports the example DAG (or DAG_FILE, as
# pipekit_users_dag.py) with deprecation warnings (DeprecationWarning, and
# FutureWarning, which Airflow 3 uses for moved modules) made errors.
strict_import() {
  local home dir
  home=$(mktemp -d "$BATS_TEST_TMPDIR/home.XXXXXX")
  dir=$(mktemp -d "$BATS_TEST_TMPDIR/dag.XXXXXX")
  cp "${2:-$EXAMPLE_DAG}" "$dir/pipekit_users_dag.py"
  (cd "$dir" && AIRFLOW_HOME=$home PYTHONDONTWRITEBYTECODE=1 \
    "$(airflow_venv "$1")/bin/python" -W error::DeprecationWarning -W error::FutureWarning \
    -c 'import pipekit_users_dag as m, sys; print(type(m.dag).__module__, sorted(m.dag.task_ids))')
}

# dags_test LOG: runs the DAG once (`airflow dags test`, bounded), its whole
# console (every task's output: plain `dags test` writes no task log file) in
# LOG. Returns the CLI's status.
dags_test() {
  timeout 600 "$AIRFLOW_BIN" dags test "$DAG_ID" >"$1" 2>&1 </dev/null
}

# db_q SQL: a query on Airflow's metadata database.
db_q() { sqlite3 -readonly "$AIRFLOW_HOME/airflow.db" "$1"; }

LAST_RUN="(SELECT run_id FROM dag_run WHERE dag_id='$DAG_ID' ORDER BY id DESC LIMIT 1)"

# task_states: "task state try_number" per task of the last run, sorted.
task_states() {
  db_q "SELECT task_id || ' ' || state || ' ' || try_number FROM task_instance
        WHERE dag_id='$DAG_ID' AND run_id=$LAST_RUN ORDER BY task_id"
}

run_state() { db_q "SELECT state FROM dag_run WHERE dag_id='$DAG_ID' AND run_id=$LAST_RUN"; }

# xcom TASK: the task's XCom return_value of the last run (the line
# BashOperator pushed: pipekit's JSON summary), decoded once.
xcom() {
  db_q "SELECT json_extract(CAST(x.value AS TEXT), '\$') FROM xcom x JOIN dag_run r ON r.id = x.dag_run_id
        WHERE r.dag_id='$DAG_ID' AND r.run_id=$LAST_RUN AND x.task_id='$1' AND x.key='return_value'"
}

# pg_require_passwords ROLE PASSWORD DATABASE: the private PostgreSQL asks
# every role but postgres for a password over TCP and the socket; ROLE owns
# DATABASE.
pg_require_passwords() {
  local hba=$PG_DIR/data/pg_hba.conf
  psql_q "CREATE ROLE $1 LOGIN PASSWORD '$2'" >/dev/null
  psql_q "CREATE DATABASE $3 OWNER $1" >/dev/null
  as_pg_owner sh -c "printf '%s\n' 'local all postgres trust' 'host all postgres 127.0.0.1/32 trust' \
    'local all all scram-sha-256' 'host all all 127.0.0.1/32 scram-sha-256' >'$hba'"
  as_pg_owner "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" reload >/dev/null
}
