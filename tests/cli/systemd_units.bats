#!/usr/bin/env bats
# The systemd units (packaging/systemd, configured into build/systemd):
# `systemd-analyze verify` accepts them without a word (it checks every
# directive, that ExecStart's binary is executable and that the man page of
# Documentation= exists; it needs no running systemd), their hardening keeps
# an "OK" exposure (systemd-analyze security --offline), the stop timeout
# outlasts pipekit's drain, and the settings file they name parses.
# ExecStart's PREFIX/bin/pipekit is pointed at this build's binary (PREFIX:
# the build's, /usr/local; the package's is /usr, checked by package.bats).
load ../support/common

setup_file() {
  command -v systemd-analyze >/dev/null || {
    echo "systemd-analyze is missing: run scripts/setup (package systemd)" >&2
    return 1
  }
}

setup() {
  U=$BATS_TEST_TMPDIR/units
  mkdir -p "$U"
  local f
  for f in "$PIPEKIT_BUILD"/systemd/*; do
    sed -E "s|^ExecStart=[^ ]*/pipekit |ExecStart=$PIPEKIT_BUILD/bin/pipekit |" "$f" >"$U/${f##*/}"
  done
  [ -f "$U/pipekit-load@.service" ] || fail "no $PIPEKIT_BUILD/systemd/pipekit-load@.service: build first"
}

# value UNIT KEY: the value of KEY= in UNIT (the last one).
value() { sed -n "s/^$2=//p" "$U/$1" | tail -n1; }

@test "systemd-analyze verify accepts the units without a warning" {
  cd "$U"
  run env MANPATH="$PIPEKIT_BUILD/man" systemd-analyze verify \
    ./pipekit-load@.service ./pipekit-ingest@.service ./pipekit-ingest@.timer
  assert_success
  assert_output ""
}

@test "verify catches a bad directive (the check above can fail)" {
  cd "$U"
  sed -i 's/^KillMode=mixed/KillMode=drain-please/' pipekit-load@.service
  run env MANPATH="$PIPEKIT_BUILD/man" systemd-analyze verify ./pipekit-load@.service
  assert_output --partial "kill mode"
}

@test "pipekit-load@: streams pipekit load with the instance's settings, as a dedicated user, hardened" {
  local exec
  exec=$(value pipekit-load@.service ExecStart)
  [[ $exec == *"/pipekit load --config "*"/etc/pipekit/%i.env --state-dir %S/pipekit/%i" ]] || fail "ExecStart: $exec"
  [[ $exec != *--once* ]] || fail "the load unit streams: no --once ($exec)"
  [ "$(value pipekit-load@.service User)" = pipekit ]
  [ "$(value pipekit-load@.service StateDirectory)" = "pipekit/%i" ]
  [ "$(value pipekit-load@.service Restart)" = on-failure ]
  [ -n "$(value pipekit-load@.service StartLimitBurst)" ]
  [ -n "$(value pipekit-load@.service StartLimitIntervalSec)" ]
  [ "$(value pipekit-load@.service ProtectSystem)" = strict ]
  [ "$(value pipekit-load@.service NoNewPrivileges)" = yes ]
  # SIGTERM to pipekit alone: it stops the source and lets the rest drain
  [ "$(value pipekit-load@.service KillMode)" = mixed ]
  # secrets: an optional file systemd reads as root, never the settings file or argv
  [[ $(value pipekit-load@.service EnvironmentFile) == -*/etc/pipekit/%i.credentials ]]
}

@test "the stop timeout outlasts pipekit's drain (grace, then 10 s after SIGTERM to every stage, 2 s of stderr)" {
  local grace stop
  grace=$(value pipekit-load@.service Environment | sed -n 's/^PIPEKIT_STOP_GRACE=//p')
  [ -n "$grace" ] || fail "no PIPEKIT_STOP_GRACE in the unit"
  grep -q 'seconds(10)' "$PIPEKIT_ROOT/tools/pipekit/supervisor.cpp" || fail "the supervisor's 10 s escalation changed: update this test and the units"
  for unit in pipekit-load@.service pipekit-ingest@.service; do
    stop=$(value "$unit" TimeoutStopSec)
    [[ $stop =~ ^([0-9]+)s$ ]] || fail "$unit: TimeoutStopSec=$stop, expected seconds"
    [ "${BASH_REMATCH[1]}" -gt $((grace + 10 + 2)) ] || fail "$unit: TimeoutStopSec=$stop is not longer than the drain ($grace + 12 s)"
  done
}

@test "pipekit-ingest@: a oneshot pipekit ingest --once, started by its timer" {
  [ "$(value pipekit-ingest@.service Type)" = oneshot ]
  [[ $(value pipekit-ingest@.service ExecStart) == *"/pipekit ingest --once --config "*"/etc/pipekit/%i.env --state-dir %S/pipekit/%i" ]]
  [ "$(value pipekit-ingest@.service User)" = pipekit ]
  [ -n "$(value pipekit-ingest@.timer OnCalendar)" ]
  [ "$(value pipekit-ingest@.timer WantedBy)" = timers.target ]
}

@test "the hardening keeps an OK exposure (systemd-analyze security --offline)" {
  cd "$U"
  local unit level
  for unit in pipekit-load pipekit-ingest; do
    cp "$unit@.service" "$unit@users.service"
    run systemd-analyze security --offline=true "./$unit@users.service"
    assert_success
    level=$(grep -oP 'Overall exposure level for \S+: \K[0-9.]+' <<<"$output") || fail "no exposure level: $output"
    echo "# $unit@: exposure $level" >&3
    awk -v l="$level" 'BEGIN { exit !(l <= 2.5) }' || fail "$unit@: exposure $level, above 2.5"
  done
}

@test "the packaged settings file parses, and the unit's command line runs (--dry-run)" {
  run pipekit load --config "$PIPEKIT_ROOT/packaging/systemd/users.env" --state-dir "$BATS_TEST_TMPDIR/state" --dry-run
  assert_success
  assert_output --partial "pgload --table users"
  run pipekit ingest --once --config "$PIPEKIT_ROOT/packaging/systemd/users.env" --state-dir "$BATS_TEST_TMPDIR/state" --dry-run
  assert_success
  assert_output --partial "kpub"
}
