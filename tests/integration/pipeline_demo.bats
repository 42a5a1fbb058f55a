#!/usr/bin/env bats
# The README's first command, offline: scripts/demo --offline. Its output
# must show the counts, rows and rejects, and it must clean up after itself.
load ../support/common
load ../support/pipeline/helpers

setup() {
  require_tools kmock ru-fetch jvalidate kpub ksub pgload psql
  [ -r "$PIPEKIT_ROOT/examples/sample/randomuser-500.json" ] || fail "needs examples/sample/randomuser-500.json (in the repository)"
  [ -r "$PIPEKIT_ROOT/examples/schemas/user-flat.schema.json" ] || fail "needs examples/schemas/user-flat.schema.json (in the repository)"
}

@test "scripts/demo --offline: 500 users in, 500 rows, 3 rejects with reasons, cleaned up" {
  before_pg=$(ls -d /tmp/pipekit-pg.* 2>/dev/null | wc -l)
  run timeout 170 "$PIPEKIT_ROOT/scripts/demo" --offline
  echo "$output" | tail -40
  assert_success
  assert_output --partial "fetched 500 users from the bundled sample"
  assert_output --partial "rows in table users: 500"
  assert_output --partial "3 rejected"
  assert_output --regexp '"published":500'
  assert_output --regexp '"consumed":500'
  # a few rows are shown, and the rejects' reasons
  [ "$(grep -cE '^ [0-9a-f]{8}-[0-9a-f]{4}-' <<<"$output")" -ge 5 ]
  [ "$(grep -c '"reason"' <<<"$output")" -ge 3 ]
  assert_output --partial "cleaning up"
  # nothing left behind: the demo's kmock, PostgreSQL and temp directory
  [ "$(ls -d /tmp/pipekit-pg.* 2>/dev/null | wc -l)" -le "$before_pg" ]
  [ -z "$(ls -d /tmp/pipekit-demo.* 2>/dev/null)" ]
}

# The demo's set-up is the tools' only (scripts/setup tools): once those are
# installed it needs no network, even for a new build folder (the test
# engines, venvs and jars are the test command's: scripts/setup all).
@test "scripts/demo --offline runs with no network at all, and its set-up makes nothing for the tests" {
  command -v unshare >/dev/null || fail "unshare (util-linux) is missing"
  local fresh=$BATS_TEST_TMPDIR/fresh-build
  run timeout 120 unshare --net -- env BUILD_DIR="$fresh" "$PIPEKIT_ROOT/scripts/setup" tools
  assert_success
  assert_output --partial "setup: done (tools)"
  [ ! -e "$fresh/venv" ] || fail "scripts/setup tools made a venv"
  [ ! -e "$fresh/venv-airflow3" ] || fail "scripts/setup tools made an Airflow venv"
  run timeout 300 unshare --net -- sh -c 'ip link set lo up && exec "$0" --offline' "$PIPEKIT_ROOT/scripts/demo"
  echo "$output" | tail -20
  assert_success
  assert_output --partial "rows in table users: 500"
  assert_output --partial "3 rejected"
}
