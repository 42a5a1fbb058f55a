#!/usr/bin/env bats
# examples/: the Airflow DAG compiles and keeps its promises, and every
# command the examples run exists and takes the options they give it.
load ../support/common

CHECK=$PIPEKIT_ROOT/tests/support/pipeline/check_commands.py
EX=$PIPEKIT_ROOT/examples

@test "the Airflow DAG compiles, and each task's command exists, parses and passes --dry-run" {
  # Debian's python3 (no Airflow: the checker stubs its modules)
  run /usr/bin/python3 -m py_compile "$EX/airflow/pipekit_users_dag.py"
  assert_success
  run /usr/bin/python3 "$CHECK" --dag "$EX/airflow/pipekit_users_dag.py" \
    --schema "$PIPEKIT_ROOT/tests/data/pipeline/user-flat.test.schema.json"
  assert_success
  assert_output --partial "4 tasks checked"
}

@test "the DAG check fails on a flag pipekit does not have" {
  sed 's/--lock-wait 60/--lock-wiat 60/' "$EX/airflow/pipekit_users_dag.py" >"$BATS_TEST_TMPDIR/bad_dag.py"
  run /usr/bin/python3 "$CHECK" --dag "$BATS_TEST_TMPDIR/bad_dag.py" \
    --schema "$PIPEKIT_ROOT/tests/data/pipeline/user-flat.test.schema.json"
  assert_failure
  assert_output --partial "pipekit ingest has no option --lock-wiat"
}

@test "the crontab mails, and runs pipekit commands that parse" {
  grep -q '^MAILTO=' "$EX/cron/pipekit.crontab"
  grep -q 'pipekit -q' "$EX/cron/pipekit.crontab"
  run python3 "$CHECK" "$EX/cron/pipekit.crontab"
  assert_success
  assert_output --partial "3 tool commands checked"
}

@test "the pipeline recipes are valid bash" {
  for f in "$EX"/pipelines/*.sh; do
    bash -n "$f" || fail "$f does not parse"
    [ -x "$f" ] || fail "$f is not executable"
  done
}

@test "the pipeline recipes use options the tools have" {
  for t in ksub kpub pgload; do
    command -v "$t" >/dev/null || fail "needs $t on PATH: run scripts/setup && scripts/build"
  done
  run python3 "$CHECK" "$EX"/pipelines/*.sh
  assert_success
}

@test "the example settings file is accepted by pipekit --config" {
  run env -i PATH="$PATH" HOME="$BATS_TEST_TMPDIR" pipekit load --dry-run --config "$EX/pipelines/users.env" \
    --schema "$PIPEKIT_ROOT/tests/data/pipeline/user-flat.test.schema.json"
  assert_success
  assert_output --partial "ksub: ksub --brokers localhost:9092 --topic users --group users-postgres"
}
