#!/usr/bin/env bats
# Every tool: --help works, --version works, a bad flag is exit 2, and its
# man page and --help name the same options both ways. The exit statuses in
# the README come from the one table in common/core (pipekit restarts after
# the statuses it marks restartable: tools/pipekit's unit tests check that).
load ../support/common

tools() { ls "$PIPEKIT_BUILD/bin"; }

# The page's text with roff escapes undone ('\-' -> '-', font changes gone).
man_text() { sed 's/\\-/-/g; s/\\f[BIRP]//g' "$PIPEKIT_BUILD/man/man1/$1.1"; }

# Long options the page defines: the tags (.B/.BI/.BR lines) of its OPTIONS
# section and its subsections, up to the next .SH.
man_options() {
  man_text "$1" | awk '/^\.SH /{ opts = ($0 ~ /^\.SH OPTIONS/) } opts && /^\.B[IR]? /' |
    grep -oE -- '--[a-z][a-z0-9-]+' | sort -u
}

# --help, and for pipekit each subcommand's --help too.
help_text() {
  "$1" --help
  if [ "$1" = pipekit ]; then
    local sub
    for sub in ingest load run status demo; do pipekit "$sub" --help; done
  fi
}
help_options() { help_text "$1" | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u; }

@test "every tool has a man page with OPTIONS, EXAMPLES and EXIT STATUS" {
  for t in $(tools); do
    page=$PIPEKIT_BUILD/man/man1/$t.1
    [ -f "$page" ] || fail "no man page for $t"
    grep -q '^\.SH OPTIONS' "$page" || fail "$t.1 has no OPTIONS"
    grep -q '^\.SH EXAMPLES' "$page" || fail "$t.1 has no EXAMPLES"
    grep -q '^\.SH EXIT STATUS' "$page" || fail "$t.1 has no EXIT STATUS"
  done
}

@test "every long option of --help is in the man page" {
  for t in $(tools); do
    text=$(man_text "$t")
    for opt in $(help_options "$t"); do
      grep -qF -- "$opt" <<<"$text" || fail "$t: $opt is in --help but not in $t.1"
    done
  done
}

@test "every option the man page defines is in --help" {
  for t in $(tools); do
    help=$(help_options "$t")
    [ -n "$(man_options "$t")" ] || fail "$t.1: no options found in its OPTIONS section"
    for opt in $(man_options "$t"); do
      grep -qxF -- "$opt" <<<"$help" || fail "$t: $opt is in $t.1 OPTIONS but not in --help"
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

@test "the man pages' EXIT STATUS is the table in code" {
  expected=$("$PIPEKIT_BUILD/docgen" exit-status roff)
  for code in 0 1 2 3 4 5 99; do grep -qx ".B $code" <<<"$expected" || fail "no status $code"; done
  for t in $(tools); do
    page=$(cat "$PIPEKIT_BUILD/man/man1/$t.1")
    [[ "$page" == *"$expected"* ]] || fail "$t.1: EXIT STATUS differs from the code's table"
  done
}

@test "the README's exit-status table is the table in code" {
  while IFS= read -r row; do
    grep -qxF -- "$row" "$PIPEKIT_ROOT/README.md" || fail "README.md lacks the row: $row"
  done < <("$PIPEKIT_BUILD/docgen" exit-status markdown)
}

# The command lines of the page's EXAMPLES (its .nf blocks), escapes undone.
man_example_commands() {
  man_text "$1" | awk '/^\.SH /{ ex = ($0 == ".SH EXAMPLES") } ex && /^\.nf/{ c = 1; next } ex && /^\.fi/{ c = 0 }
                       ex && c && !/^\.(RS|RE)/' | sed 's/^ *//; s/\\\\/\\/g; s/\\e/\\/g'
}
# The command lines of --help's Examples (indented four or more).
help_example_commands() {
  "$1" --help | awk '/^Examples:/{ ex = 1; next } /^[A-Z]/{ ex = 0 } ex && /^    /' | sed 's/^ *//'
}

@test "every tool's --help shows the man page's EXAMPLES, command for command" {
  for t in $(tools); do
    man=$(man_example_commands "$t")
    [ -n "$man" ] || fail "$t.1: no example commands found"
    help=$(help_example_commands "$t")
    [ "$man" = "$help" ] || fail "$t: --help's examples differ from $t.1's: $(diff <(echo "$man") <(echo "$help") | head -5)"
  done
}

# A build tree can link another librdkafka than the headers it compiled
# against (a stale cached path): the tools would then run without the fixes
# the build requires. --version names the library actually loaded.
@test "the Kafka tools run on the librdkafka the build requires (>= 2.6.1), named by --version" {
  for t in kpub ksub kmock; do
    run "$t" --version
    assert_success
    version=$(grep -oP '\(librdkafka \K[0-9]+\.[0-9]+\.[0-9]+' <<<"$output") || fail "$t --version names no librdkafka: $output"
    printf '%s\n' 2.6.1 "$version" | sort -V -C || fail "$t runs on librdkafka $version, older than 2.6.1"
  done
}
