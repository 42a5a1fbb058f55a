#!/usr/bin/env bats
# Every tool: --help works, --version works, a bad flag is exit 2, and every
# long option of --help appears in the tool's man page (and the page has
# EXAMPLES and the shared EXIT STATUS table).
load ../lib/common

tools() { ls "$PIPEKIT_BUILD/bin"; }

@test "every tool has a man page with EXAMPLES and EXIT STATUS" {
  for t in $(tools); do
    page=$PIPEKIT_BUILD/man/man1/$t.1
    [ -f "$page" ] || fail "no man page for $t"
    grep -q '^\.SH EXAMPLES' "$page" || fail "$t.1 has no EXAMPLES"
    grep -q '^\.SH EXIT STATUS' "$page" || fail "$t.1 has no EXIT STATUS"
  done
}

@test "every long option of --help is in the man page" {
  for t in $(tools); do
    page=$PIPEKIT_BUILD/man/man1/$t.1
    # man source escapes '-' as '\-'; compare on the unescaped text.
    text=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$page")
    for opt in $("$t" --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u); do
      grep -qF -- "$opt" <<<"$text" || fail "$t: $opt is in --help but not in $t.1"
    done
  done
}

@test "every tool: --version, --help exit 0; a bad flag exits 2" {
  for t in $(tools); do
    run "$t" --version
    assert_success
    assert_output --partial "$t "
    run "$t" --help
    assert_success
    assert_output --partial "Exit status:"
    run "$t" --no-such-flag
    [ "$status" -eq 2 ] || fail "$t --no-such-flag exited $status"
  done
}
