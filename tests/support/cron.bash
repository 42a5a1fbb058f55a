# Helpers for tests/integration/cron.bats: a line of examples/cron/pipekit.crontab
# run the way cron runs it.
CRONTAB=$PIPEKIT_ROOT/examples/cron/pipekit.crontab

# crontab_env: the VAR=value lines of the crontab, one per line.
crontab_env() { grep -E '^[A-Z_]+=' "$CRONTAB"; }

# crontab_command WORD: the command part of the (first) job line that runs
# `pipekit ... WORD` (the five time fields dropped).
crontab_command() {
  grep -E '^[^#A-Z_ ]' "$CRONTAB" | grep -E "pipekit .* $1( |\$)" | head -1 \
    | sed -E 's/^[[:space:]]*([^[:space:]]+[[:space:]]+){5}//'
}

# cron_run WORD OUT [VAR=value...]: runs that job's command as cron does:
# an environment holding only what the crontab sets (plus HOME, LOGNAME and
# USER, which cron adds, and the VAR=value given), `$SHELL -c` (cron's
# SHELL: the crontab's, /bin/sh by default), in a new session (no
# controlling TTY), stdin from /dev/null, stdout and stderr captured in OUT
# (what cron would mail). The site-specific paths are the test's own:
# /etc/pipekit/users.env -> $CRON_DIR/users.env,
# /var/log/pipekit-status.log -> $CRON_DIR/pipekit-status.log, and the
# crontab's PATH gets $CRON_DIR/bin (where pipekit is "installed") in front,
# as its comment tells the user. Returns the job's exit status.
cron_run() {
  local word=$1 out=$2 cmd line shell=/bin/sh
  shift 2
  local envs=("HOME=$CRON_DIR/home" "LOGNAME=$(id -un)" "USER=$(id -un)")
  while IFS= read -r line; do
    case $line in
      PATH=*) line="PATH=$CRON_DIR/bin:${line#PATH=}" ;;
      SHELL=*) shell=${line#SHELL=} ;;
    esac
    envs+=("$line")
  done < <(crontab_env)
  cmd=$(crontab_command "$word")
  [ -n "$cmd" ] || { echo "no job line running 'pipekit ... $word' in $CRONTAB" >&2; return 2; }
  cmd=${cmd//\/etc\/pipekit\/users.env/$CRON_DIR/users.env}
  cmd=${cmd//\/var\/log\/pipekit-status.log/$CRON_DIR/pipekit-status.log}
  timeout 300 env -i "${envs[@]}" "$@" setsid -w "$shell" -c "$cmd" </dev/null >"$out" 2>&1
}

# cron_install: pipekit and the tools it runs in $CRON_DIR/bin, as a user
# would install them.
cron_install() {
  local t
  mkdir -p "$CRON_DIR/bin" "$CRON_DIR/home"
  ln -sf "$PIPEKIT" "$CRON_DIR/bin/pipekit"
  for t in ru-fetch jvalidate kpub ksub pgload cqlload; do
    ln -sf "$(command -v "$t")" "$CRON_DIR/bin/$t"
  done
}
