#!/usr/bin/env bats
# One vocabulary: every option that two or more tools define has one row in
# docs/conventions.md ("One vocabulary"), naming exactly the tools that define
# it, and a short option means the same long option in every tool.
load ../support/common

tools() { ls "$PIPEKIT_BUILD/bin"; }

# help_of TOOL: its --help, and for pipekit each subcommand's too.
help_of() {
  "$1" --help
  if [ "$1" = pipekit ]; then
    local sub
    for sub in ingest load run status demo; do pipekit "$sub" --help; done
  fi
}

# defined TOOL: "SHORT LONG" for each option TOOL defines (SHORT is - when it
# has none): the lines of --help that start with an option.
defined() {
  help_of "$1" | grep -oE -- '^ +(-[a-zA-Z0-9], ?)?--[a-z][a-z0-9-]+' |
    sed -E 's/^ +//; s/, ?/ /' | awk 'NF == 1 { print "-", $1; next } { print $1, $2 }' | sort -u
}

# The table's rows: "--option tool tool ...".
documented() {
  awk '/^## One vocabulary/ { on = 1; next } /^## / { on = 0 } on && /^\| `-/' "$PIPEKIT_ROOT/docs/conventions.md" |
    awk -F'|' '{ gsub(/[` ]/, "", $2); split($2, names, ","); opt = names[length(names)]; gsub(/^ +| +$/, "", $3); print opt, $3 }' |
    sed -E 's/, ?/ /g' | sort
}

@test "every option two or more tools define is in the vocabulary table, with exactly those tools" {
  local t all
  all=$(for t in $(tools); do defined "$t" | awk -v t="$t" '{ print $2, t }'; done | sort -u)
  run bash -c "awk '{ tools[\$1] = tools[\$1] \" \" \$2; n[\$1]++ } END { for (o in n) if (n[o] > 1) print o tools[o] }' <<<'$all' | sort"
  assert_success
  local actual=$output
  run documented
  assert_success
  local doc=$output
  [ -n "$doc" ] || fail "no table under '## One vocabulary' in docs/conventions.md"
  if [ "$actual" != "$doc" ]; then
    diff <(echo "$doc") <(echo "$actual") | sed 's/^</docs: /; s/^>/tools:/'
    fail "docs/conventions.md's vocabulary table and the tools' --help disagree (above)"
  fi
}

@test "a short option means the same long option in every tool that has it" {
  local t pairs
  pairs=$(for t in $(tools); do defined "$t"; done | awk '$1 != "-"' | sort -u)
  run bash -c "awk '{ print \$1 }' <<<'$pairs' | uniq -d"
  assert_success
  assert_output ""
}
