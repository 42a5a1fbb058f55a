# Shared bats helpers: load with `load ../support/common` from tests/cli or
# tests/integration. Servers are real: kmock for Kafka (or the cluster in
# KAFKA_BROKERS when set), Debian's PostgreSQL started in a temp directory.

bats_load_library bats-support 2>/dev/null || load /usr/lib/bats/bats-support/load
bats_load_library bats-assert 2>/dev/null || load /usr/lib/bats/bats-assert/load

PIPEKIT_ROOT=${PIPEKIT_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
PIPEKIT_BUILD=${PIPEKIT_BUILD:-$PIPEKIT_ROOT/build}
export PATH="$PIPEKIT_BUILD/bin:$PATH"
SAMPLES=$PIPEKIT_ROOT/tests/data

# wait_for_file FILE PID STDERR: waits (up to 5 s) until a server started in
# the background has written FILE (its address or port); if the server dies
# first, shows its STDERR and fails.
wait_for_file() {
  local file=$1 pid=$2 err=$3 i
  for i in $(seq 1 100); do
    [ -s "$file" ] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$err" >&2; return 1; }
    sleep 0.05
  done
  [ -s "$file" ]
}

# ---- Kafka -----------------------------------------------------------------
# start_kmock [kmock args...]: starts kmock (unless KAFKA_BROKERS points at a
# real cluster) and exports BROKERS and KMOCK_CMD (a FIFO taking kmock commands).
start_kmock() {
  if [ -n "${KAFKA_BROKERS:-}" ]; then
    BROKERS=$KAFKA_BROKERS
    export BROKERS
    return 0
  fi
  KMOCK_DIR=$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/kmock.XXXXXX")
  mkfifo "$KMOCK_DIR/cmd"
  kmock -q --commands "$KMOCK_DIR/cmd" --bootstrap-file "$KMOCK_DIR/bootstrap" "$@" \
    >"$KMOCK_DIR/stdout" 2>"$KMOCK_DIR/stderr" 3>&- &
  KMOCK_PID=$!
  wait_for_file "$KMOCK_DIR/bootstrap" "$KMOCK_PID" "$KMOCK_DIR/stderr" || return 1
  BROKERS=$(cat "$KMOCK_DIR/bootstrap")
  KMOCK_CMD=$KMOCK_DIR/cmd
  export BROKERS KMOCK_CMD KMOCK_PID KMOCK_DIR
}

stop_kmock() {
  if [ -n "${KMOCK_PID:-}" ]; then
    kill "$KMOCK_PID" 2>/dev/null || true
    wait "$KMOCK_PID" 2>/dev/null || true
    KMOCK_PID=
  fi
}

# kmock_cmd "broker down 1": sends a fault-injection command to kmock.
kmock_cmd() {
  [ -n "${KMOCK_CMD:-}" ] || skip "needs kmock fault injection (KAFKA_BROKERS is a real cluster)"
  echo "$*" >"$KMOCK_CMD"
  sleep 0.1
}

# new_topic NAME PARTITIONS: a fresh topic (kmock: created; real cluster:
# auto-created on first use, so pick unique names).
new_topic() {
  local name=$1 parts=${2:-1}
  if [ -n "${KMOCK_CMD:-}" ]; then
    echo "topic create $name $parts" >"$KMOCK_CMD"
    sleep 0.2
  fi
}

# Skips a test that needs kmock (fault injection) when on a real cluster.
require_kmock() {
  [ -z "${KAFKA_BROKERS:-}" ] || skip "needs kmock (KAFKA_BROKERS is a real cluster)"
}

# ---- PostgreSQL ------------------------------------------------------------
# start_postgres, restart_postgres, stop_postgres, psql_q, free_port: one
# recipe shared with `pipekit demo`, in scripts/lib/postgres.bash.
source "$PIPEKIT_ROOT/scripts/lib/postgres.bash"

# ---- data --------------------------------------------------------------------
# make_users N FILE: N randomuser-shaped records (~1 KB each), deterministic.
make_users() {
  python3 "$PIPEKIT_ROOT/tests/support/make_users.py" "$1" >"$2"
}
