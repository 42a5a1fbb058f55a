#!/usr/bin/env bats
# test-timeout: 2700 (a first run builds the Release package, ~15 min on 2 busy cores, and both clean roots)
# The Debian package installed for real. scripts/package builds it (its own
# Release build tree, build-package/: a rerun rebuilds only what changed;
# PIPEKIT_PACKAGE=FILE.deb reuses one built earlier instead), then, in a clean
# Debian 12 root (mmdebstrap --variant=apt, cached per week, see
# tests/support/clean_root.bash), as a user would:
#   apt-get install ./pipekit_*.deb   (timed; only Debian 12's archive is known there)
#   pipekit demo --offline            (with Debian's postgresql, which it suggests)
#   --version of every tool, a man page, the completions, the units
#   apt-get remove: only the conffiles are left; apt-get purge: nothing
# and in a clean Debian 13 root: it installs and the demo runs, or the test
# is skipped saying which Debian 12 libraries Debian 13 lacks.
# Every command in a root runs chrooted in a mount namespace of its own
# (/proc, /dev/shm, apt's cache mounted there): its mounts end with it, even
# when a test fails; teardown kills what is left and removes the roots.
load ../support/common
load ../support/clean_root

setup_file() {
  [ "$(id -u)" -eq 0 ] || { echo "package.bats needs root (chroot, mounts)" >&2; return 1; }
  local t
  for t in mmdebstrap unshare dpkg-deb; do
    command -v "$t" >/dev/null || { echo "$t is missing: run scripts/setup" >&2; return 1; }
  done
  export DEB=${PIPEKIT_PACKAGE:-}
  local start=$SECONDS
  if [ -z "$DEB" ]; then
    PACKAGE_OUT="${PIPEKIT_PACKAGE_BUILD:-$PIPEKIT_ROOT/build-package}" \
      PACKAGE_BUILD_DIR="${PIPEKIT_PACKAGE_BUILD:-$PIPEKIT_ROOT/build-package}" \
      "$PIPEKIT_ROOT/scripts/package" >"$BATS_FILE_TMPDIR/package.out" 2>"$BATS_FILE_TMPDIR/package.log" ||
      { grep -v '^\[' "$BATS_FILE_TMPDIR/package.log" | tail -40 >&2; echo "scripts/package failed" >&2; return 1; }
    DEB=$(tail -n1 "$BATS_FILE_TMPDIR/package.out")
    echo "# scripts/package: $((SECONDS - start)) s, $(stat -c %s "$DEB") bytes: $DEB" >&3
  fi
  [ -f "$DEB" ] || { echo "no package at $DEB" >&2; return 1; }
  export VERSION
  VERSION=$(dpkg-deb -f "$DEB" Version)

  # Debian 12: the user's `apt install ./pipekit_*.deb`, timed.
  export R12=$BATS_FILE_TMPDIR/bookworm R13=$BATS_FILE_TMPDIR/trixie
  start=$SECONDS
  unpack_root bookworm "$R12" || return 1
  echo "# clean Debian 12 root ready in $((SECONDS - start)) s" >&3
  cp "$DEB" "$R12/tmp/"
  export DEB_IN_ROOT=/tmp/${DEB##*/}
  in_root "$R12" apt-get -q update >"$BATS_FILE_TMPDIR/apt12.log" 2>&1 ||
    { cat "$BATS_FILE_TMPDIR/apt12.log" >&2; return 1; }
  start=$SECONDS
  in_root "$R12" apt-get install -y -q "$DEB_IN_ROOT" >>"$BATS_FILE_TMPDIR/apt12.log" 2>&1 ||
    { tail -40 "$BATS_FILE_TMPDIR/apt12.log" >&2; echo "apt-get install of the package failed" >&2; return 1; }
  echo "# Debian 12: apt-get install ./${DEB##*/} took $((SECONDS - start)) s ($(grep -E '^[0-9]+ upgraded, [0-9]+ newly installed|^Need to get' "$BATS_FILE_TMPDIR/apt12.log" | paste -sd';' -))" >&3
  in_root "$R12" dpkg -L pipekit >"$BATS_FILE_TMPDIR/pipekit.files"
}

teardown_file() {
  remove_root "${R12:-}"
  remove_root "${R13:-}"
}

# files ROOT: every path in the root, but the kernel's, the temporary ones and
# logs and caches (which apt and dpkg grow by themselves).
files() {
  in_root "$1" find / -xdev \( -path /proc -o -path /dev -o -path /sys -o -path /run -o -path /tmp \
    -o -path /var/log -o -path /var/cache \) -prune -o -print | sort
}

@test "Debian 12: the package installed with apt, pulling only Debian 12's packages" {
  run in_root "$R12" dpkg-query -W -f '${Status} ${Version}' pipekit
  assert_success
  assert_output "install ok installed $VERSION"
  # apt knows only Debian 12's archive there: everything installed but
  # pipekit itself came from it ("local": installed, found in no archive)
  run in_root "$R12" sh -c 'cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | grep -v "^#" | grep .'
  refute_output --regexp 'trixie|sid|unstable|testing'
  run in_root "$R12" apt list --installed
  assert_success
  run grep -F ',local]' <<<"$output"
  assert_output --regexp '^pipekit/[^ ]+ '"$VERSION"' amd64 \[installed,local\]$'
}

@test "Debian 12: pipekit demo --offline runs, with Debian's postgresql" {
  in_root "$R12" apt-get install -y -q --no-install-recommends postgresql >"$BATS_TEST_TMPDIR/apt.log" 2>&1 ||
    { tail -20 "$BATS_TEST_TMPDIR/apt.log"; fail "apt-get install postgresql failed"; }
  run in_root "$R12" pipekit demo --offline
  echo "$output" | sed 's/^/#   /' | tail -25 >&3
  assert_success
  assert_output --partial "fetched 500 users from the bundled sample"
  assert_output --partial "rows in table users: 500"
  assert_output --partial "3 rejected"
  assert_output --partial "== done"
}

@test "Debian 12: every tool runs, its --version names librdkafka >= 2.6.1, the private one is loaded" {
  local t v
  for t in cqlload fileload jvalidate kmock kpub ksub pgload pipekit ru-fetch; do
    run in_root "$R12" "$t" --version
    assert_success
    v=$(grep -oP 'librdkafka \K[0-9]+\.[0-9]+\.[0-9]+' <<<"$output") || fail "$t --version names no librdkafka: $output"
    printf '%s\n' 2.6.1 "$v" | sort -V -C || fail "$t: librdkafka $v is older than 2.6.1"
    [[ $output == "$t $VERSION "* ]] || fail "$t --version: $output"
  done
  for t in kpub ksub kmock; do
    run in_root "$R12" sh -c "ldd /usr/bin/$t | grep librdkafka"
    assert_output --regexp '=> /usr/lib/pipekit/librdkafka\.so\.1 '
  done
  # Debian's own librdkafka (2.0.2) is not what they run on, installed or not
  run in_root "$R12" dpkg-query -W librdkafka1
  assert_failure
}

@test "Debian 12: the man pages, the completions and the units are where man, the shells and systemd look" {
  local t
  for t in cqlload fileload jvalidate kmock kpub ksub pgload pipekit ru-fetch; do
    run in_root "$R12" sh -c "zcat /usr/share/man/man1/$t.1.gz | head -n 20"
    assert_output --partial ".TH"
    in_root "$R12" test -f "/usr/share/bash-completion/completions/$t"
    in_root "$R12" test -f "/usr/share/zsh/vendor-completions/_$t"
    in_root "$R12" test -f "/usr/share/fish/vendor_completions.d/$t.fish"
  done
  # the bash completion works in the root's bash
  run in_root "$R12" bash -c 'source /usr/share/bash-completion/completions/kpub; COMP_WORDS=(kpub --compr); COMP_CWORD=1; _pipekit_complete_kpub; echo "${COMPREPLY[@]}"'
  assert_output "--compression"
  # the units as installed, verified against the installed tree: its pipekit
  # and its man pages (the root has no systemd of its own to run the check)
  local u=$BATS_TEST_TMPDIR/units
  mkdir -p "$u"
  for f in pipekit-load@.service pipekit-ingest@.service pipekit-ingest@.timer; do
    sed "s|^ExecStart=/usr/bin/pipekit |ExecStart=$R12/usr/bin/pipekit |" "$R12/lib/systemd/system/$f" >"$u/$f"
  done
  run env MANPATH="$R12/usr/share/man" systemd-analyze verify "$u/pipekit-load@.service" \
    "$u/pipekit-ingest@.service" "$u/pipekit-ingest@.timer"
  assert_success
  assert_output ""
  run grep -h '^ExecStart=' "$R12/lib/systemd/system/pipekit-load@.service"
  assert_output "ExecStart=/usr/bin/pipekit load --config /etc/pipekit/%i.env --state-dir %S/pipekit/%i"
  # the units' user, made by the postinst
  run in_root "$R12" getent passwd pipekit
  assert_success
  assert_output --regexp '^pipekit:x:[0-9]+:[0-9]+:.*:/var/lib/pipekit:/usr/sbin/nologin$'
}

@test "Debian 12: apt remove leaves only the conffiles, apt purge leaves nothing of the package" {
  local conffiles before after
  conffiles=$(in_root "$R12" dpkg-query -W -f '${Conffiles}' pipekit | awk 'NF { print $1 }')
  [ "$conffiles" = /etc/pipekit/users.env ] || fail "conffiles: $conffiles"
  # First round: install (setup_file) and purge; nothing of the package may stay.
  in_root "$R12" apt-get purge -y -q pipekit >/dev/null
  while read -r f; do
    if [ "$f" = /. ]; then continue; fi
    if [ -d "$R12$f" ]; then continue; fi  # folders (/lib, /usr/bin...) other packages share; its own: below
    [ ! -e "$R12$f" ] || fail "purge left $f"
  done <"$BATS_FILE_TMPDIR/pipekit.files"
  for d in /etc/pipekit /var/lib/pipekit /usr/lib/pipekit /usr/share/pipekit /usr/share/doc/pipekit; do
    [ ! -e "$R12$d" ] || fail "purge left $d"
  done
  # Second round, compared file list by file list with the purged root.
  before=$(files "$R12")
  in_root "$R12" apt-get install -y -q "$DEB_IN_ROOT" >/dev/null
  [ "$(files "$R12")" != "$before" ] || fail "the install changed no file?"
  in_root "$R12" apt-get remove -y -q pipekit >/dev/null
  run in_root "$R12" dpkg-query -W -f '${Status}' pipekit
  assert_output "deinstall ok config-files"
  after=$(files "$R12")
  # new: the conffile and its folder, and dpkg's own record of a removed
  # package (its file list, and the postrm that purge runs)
  run comm -13 <(echo "$before") <(echo "$after")
  assert_output "$(printf '%s\n' /etc/pipekit /etc/pipekit/users.env /var/lib/dpkg/info/pipekit.list /var/lib/dpkg/info/pipekit.postrm)"
  run comm -23 <(echo "$before") <(echo "$after")
  assert_output ""
  # What a unit's run leaves (systemd makes StateDirectory= as the pipekit user)
  in_root "$R12" sh -c 'mkdir -p /var/lib/pipekit/users/locks && echo x >/var/lib/pipekit/users/locks/load.lock && chown -R pipekit: /var/lib/pipekit/users'
  in_root "$R12" apt-get purge -y -q pipekit >/dev/null
  run in_root "$R12" dpkg-query -W -f '${Status}' pipekit
  refute_output --partial "config-files"
  run diff <(echo "$before") <(files "$R12")
  assert_success
  assert_output ""
}

@test "Debian 13: the Debian 12 package installs and the demo runs, or this says why not" {
  unpack_root trixie "$R13"
  cp "$DEB" "$R13/tmp/"
  in_root "$R13" apt-get -q update >"$BATS_TEST_TMPDIR/apt.log" 2>&1 || { tail -20 "$BATS_TEST_TMPDIR/apt.log"; fail "apt-get update failed in the trixie root"; }
  local start=$SECONDS missing
  if ! in_root "$R13" apt-get install -y -q "$DEB_IN_ROOT" >"$BATS_TEST_TMPDIR/install.log" 2>&1; then
    # apt's own words: "pipekit : Depends: libfmt9 (>= 9.1.0+ds1) but it is not installable"
    missing=$(grep -oP 'Depends: \K\S+(?= .*but it is not installable)' "$BATS_TEST_TMPDIR/install.log" | sort -u | paste -sd' ' -)
    [ -n "$missing" ] || { cat "$BATS_TEST_TMPDIR/install.log"; fail "apt-get install failed on Debian 13, not for a missing library"; }
    skip "the Debian 12 package does not install on Debian 13: trixie has none of $missing (it ships newer sonames of these libraries); a package built on Debian 13 would"
  fi
  echo "# Debian 13: apt-get install took $((SECONDS - start)) s" >&3
  in_root "$R13" apt-get install -y -q --no-install-recommends postgresql >/dev/null 2>&1 || fail "apt-get install postgresql failed in the trixie root"
  run in_root "$R13" pipekit demo --offline
  assert_success
  assert_output --partial "rows in table users: 500"
}
