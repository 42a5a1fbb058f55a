#!/usr/bin/env bats
# The shell completions (build/completions, generated from the tools' own
# option definitions) against each tool's --help, both ways, in bash, zsh and
# fish: every option --help lists is completed, every completed option is in
# --help (so hidden deprecated aliases are not). pipekit: before a subcommand
# its general options, after one that subcommand's too. bash and fish run
# their own completion code; zsh runs the generated function with
# _arguments replaced by a stub that prints the specs it is given.
load ../support/common

setup_file() {
  for sh in zsh fish; do
    command -v "$sh" >/dev/null || {
      echo "$sh is not installed: run scripts/setup" >&2
      return 1
    }
  done
}

setup() {
  C=$PIPEKIT_BUILD/completions
  [ -d "$C/bash" ] || fail "no $C/bash: build first (scripts/build)"
}

tools() { ls "$PIPEKIT_BUILD/bin"; }

# help_options TOOL [SUB]: the options --help lists (short and long), one a
# line: the names at the start of each option line, up to "Examples:".
help_options() {
  local out
  out=$("$@" --help) || return 1
  awk '/^Examples:/ { exit }
       /^ +-/ {
         n = split($0, w, " ")
         for (i = 1; i <= n; i++) {
           t = w[i]; more = 0
           if (t ~ /,$/) { more = 1; sub(/,$/, "", t) }
           m = split(t, parts, ",")
           for (j = 1; j <= m; j++) if (parts[j] ~ /^--?[A-Za-z0-9][-A-Za-z0-9]*$/) print parts[j]
           if (more) continue
           if (w[i + 1] == "/") { i++; continue }
           break
         }
       }' <<<"$out" | sort -u
}

# expected TOOL [SUB]: what --help says the line may take. pipekit run takes
# the options of ingest and load (its --help says so, listing neither).
expected() {
  if [ "$1" = pipekit ] && [ "${2:-}" = run ]; then
    { help_options pipekit ingest; help_options pipekit load; } | sort -u
  else
    help_options "$@"
  fi
}

# bash_options TOOL [SUB]: what bash offers after "TOOL [SUB] -".
bash_options() {
  local tool=$1
  bash -c 'source "$1"; shift; COMP_WORDS=("$@" -); COMP_CWORD=$#; "_pipekit_complete_${1//-/_}"; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$C/bash/$tool" "$@" | sort -u
}

# zsh_options TOOL [SUB]: the option specs the zsh function hands _arguments.
zsh_options() {
  local tool=$1
  zsh -f -c '_arguments() { print -rl -- "$@" }; f=$1; shift; words=("$@" ""); CURRENT=$(( $# + 1 )); source $f' \
    _ "$C/zsh/_$tool" "$@" | sed -nE 's/^\*(--?[A-Za-z0-9][-A-Za-z0-9]*)\[.*/\1/p' | sort -u
}

# fish_options TOOL [SUB]: what fish offers after "TOOL [SUB] -" and "... --".
fish_options() {
  local tool=$1 line="$*"
  fish -c 'source $argv[1]; complete -C"$argv[2] -"; complete -C"$argv[2] --"' "$C/fish/$tool.fish" "$line" |
    cut -f1 | sort -u
}

# same WHAT EXPECTED ACTUAL: fails with the differences.
same() {
  [ -n "$2" ] || fail "$1: --help lists no options"
  if [ "$2" != "$3" ]; then
    diff <(echo "$2") <(echo "$3") | sed -n 's/^</  in --help, not completed:/p; s/^>/  completed, not in --help:/p'
    fail "$1: the completion and --help disagree (above)"
  fi
}

contexts() {
  local t sub
  for t in $(tools); do
    echo "$t"
    if [ "$t" = pipekit ]; then
      for sub in ingest load run status demo; do echo "$t $sub"; done
    fi
  done
}

@test "every tool has a completion for bash, zsh and fish, each valid for its shell" {
  for t in $(tools); do
    [ -f "$C/bash/$t" ] || fail "no bash completion for $t"
    [ -f "$C/zsh/_$t" ] || fail "no zsh completion for $t"
    [ -f "$C/fish/$t.fish" ] || fail "no fish completion for $t"
    bash -n "$C/bash/$t" || fail "bash: $C/bash/$t does not parse"
    zsh -n "$C/zsh/_$t" || fail "zsh: $C/zsh/_$t does not parse"
    fish --no-execute "$C/fish/$t.fish" || fail "fish: $C/fish/$t.fish does not parse"
    head -n1 "$C/zsh/_$t" | grep -qx "#compdef $t" || fail "zsh: _$t does not start with #compdef $t"
  done
}

@test "bash completes exactly the options of --help (pipekit: per subcommand)" {
  while read -r -a ctx; do
    same "bash: ${ctx[*]}" "$(expected "${ctx[@]}")" "$(bash_options "${ctx[@]}")"
  done < <(contexts)
}

@test "zsh completes exactly the options of --help (pipekit: per subcommand)" {
  while read -r -a ctx; do
    same "zsh: ${ctx[*]}" "$(expected "${ctx[@]}")" "$(zsh_options "${ctx[@]}")"
  done < <(contexts)
}

@test "fish completes exactly the options of --help (pipekit: per subcommand)" {
  while read -r -a ctx; do
    same "fish: ${ctx[*]}" "$(expected "${ctx[@]}")" "$(fish_options "${ctx[@]}")"
  done < <(contexts)
}

@test "hidden deprecated aliases are not completed, though the tools still take them" {
  # kmock -n (--broker-count), ksub --format (--template), cqlload --batch-size (--batch-rows)
  run kmock -n 1 --help
  assert_success
  for pair in "kmock -n" "ksub --format" "cqlload --batch-size"; do
    set -- $pair
    grep -qE -- "(^|[ '|])$2([ '|\[]|$)" "$C/bash/$1" "$C/zsh/_$1" && fail "$1 $2 is completed"
    grep -qE -- "-[ls] ${2#-}( |$)" "$C/fish/$1.fish" && fail "fish completes $1 $2"
    [ -z "$(help_options "$1" | grep -x -- "$2")" ] || fail "$1 --help lists $2"
  done
}

@test "pipekit: the subcommands are completed before one is given, not after" {
  run bash -c 'source "$1"; COMP_WORDS=(pipekit -t users ""); COMP_CWORD=3; _pipekit_complete_pipekit; printf "%s\n" "${COMPREPLY[@]}"' _ "$C/bash/pipekit"
  assert_success
  assert_output "$(printf '%s\n' ingest load run status demo)"
  run bash -c 'source "$1"; COMP_WORDS=(pipekit load ""); COMP_CWORD=2; _pipekit_complete_pipekit; printf "%s\n" "${COMPREPLY[@]}"' _ "$C/bash/pipekit"
  assert_success
  assert_output ""
  run fish -c 'source $argv[1]; complete -C"pipekit "' "$C/fish/pipekit.fish"
  assert_success
  [ "$(cut -f1 <<<"$output" | sort | paste -sd' ')" = "demo ingest load run status" ] || fail "fish offers: $output"
}

@test "values: a fixed set is offered, files where an option takes a file" {
  # kpub -z: CLI11's IsMember; pipekit --sink: the table's metavar; --stats FILE
  run bash -c 'source "$1"; COMP_WORDS=(kpub --compression ""); COMP_CWORD=2; _pipekit_complete_kpub; printf "%s\n" "${COMPREPLY[@]}"' _ "$C/bash/kpub"
  assert_output "$(printf '%s\n' none gzip snappy lz4 zstd)"
  run bash -c 'source "$1"; COMP_WORDS=(pipekit --sink = ca); COMP_CWORD=3; _pipekit_complete_pipekit; printf "%s\n" "${COMPREPLY[@]}"' _ "$C/bash/pipekit"
  assert_output cassandra
  run fish -c 'source $argv[1]; complete -C"pipekit -t load load --format "' "$C/fish/pipekit.fish"
  [ "$(cut -f1 <<<"$output" | sort | paste -sd' ')" = "csv ndjson parquet" ] || fail "fish offers: $output"
  cd "$BATS_TEST_TMPDIR"
  touch stats-here.json
  run bash -c 'source "$1"; COMP_WORDS=(jvalidate --stats stats-h); COMP_CWORD=2; _pipekit_complete_jvalidate; printf "%s\n" "${COMPREPLY[@]}"' _ "$C/bash/jvalidate"
  assert_output stats-here.json
  grep -qE -- "^  '\*--stats\[.*\]:FILE:_files'$" "$C/zsh/_kpub" || fail "zsh: kpub --stats does not complete files"
}

@test "cmake --install puts each completion where its shell looks" {
  local dest=$BATS_TEST_TMPDIR/root
  run env DESTDIR="$dest" cmake --install "$PIPEKIT_BUILD" --prefix /usr
  assert_success
  for t in $(tools); do
    [ -f "$dest/usr/share/bash-completion/completions/$t" ] || fail "bash: $t not installed"
    [ -f "$dest/usr/share/zsh/vendor-completions/_$t" ] || fail "zsh: _$t not installed"
    [ -f "$dest/usr/share/fish/vendor_completions.d/$t.fish" ] || fail "fish: $t.fish not installed"
  done
}
