# Shared bats helpers: load with `load ../support/common` from tests/cli or
# tests/integration. Servers are real: the Kafka cluster in KAFKA_BROKERS
# (scripts/test starts Apache Kafka), else kmock, Debian's PostgreSQL started in a temp directory.

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
    if [ -s "$file" ]; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { cat "$err" >&2; return 1; }
    sleep 0.05
  done
  [ -s "$file" ]
}

# wait_until SECONDS COMMAND [ARGS...]: runs COMMAND every 0.1 s until it
# succeeds (returns 0 at once) or SECONDS (may be fractional) have passed
# (says so on stderr, returns 1). It takes the place of a fixed sleep before a
# step that needs some state: it waits no longer than that state takes, and
# fails rather than going on without it. With one argument, that argument is
# shell code evaluated each time, so that $(...) in it runs again:
#   wait_until 10 '[ "$(psql_q "select count(*) from t")" -ge 3 ]'
#   wait_until 5 test -s "$file"
wait_until() {
  local limit=$1 deadline now
  shift
  now=${EPOCHREALTIME/[.,]/}
  deadline=$((now + $(awk -v s="$limit" 'BEGIN { printf "%d", s * 1000000 }')))
  while :; do
    if [ $# -eq 1 ]; then
      if eval "$1"; then return 0; fi
    elif "$@"; then
      return 0
    fi
    now=${EPOCHREALTIME/[.,]/}
    if [ "$now" -ge "$deadline" ]; then
      echo "wait_until: not true within $limit s: $*" >&2
      return 1
    fi
    sleep 0.1
  done
}

# fifo_unread FIFO: the bytes written into the named pipe FIFO that its reader
# has not taken yet (0: it has read everything written so far), e.g.
#   wait_until 10 '[ "$(fifo_unread "$T/in")" -eq 0 ]'
# It opens the pipe read-write for a moment, which neither blocks nor ends the
# reader's input.
fifo_unread() {
  python3 -c 'import array, fcntl, os, sys, termios
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NONBLOCK)
n = array.array("i", [0])
fcntl.ioctl(fd, termios.FIONREAD, n, True)
print(n[0])' "$1"
}

# ---- Kafka -----------------------------------------------------------------
# The Kafka tests run on a real cluster when KAFKA_BROKERS is set (scripts/test
# starts Apache Kafka and sets it, with KAFKA_CONFIG_FILE and KAFKA_ENGINE),
# else on a kmock per test. Tests that inject faults (kmock_cmd) always run on
# kmock: require_kmock starts one for them.

# kafka_engine: the "# engine:" line of a bats file (call it in setup_file).
kafka_engine() {
  if [ -n "${KAFKA_BROKERS:-}" ]; then
    echo "# engine: ${KAFKA_ENGINE:-Kafka cluster at $KAFKA_BROKERS (KAFKA_BROKERS)}" >&3
  else
    echo "# engine: kmock (librdkafka's mock cluster), one per test" >&3
  fi
}

# start_kmock [kmock args...]: starts kmock and exports BROKERS and KMOCK_CMD
# (a FIFO taking kmock commands). On a real cluster (KAFKA_BROKERS): BROKERS is
# that cluster and each -t NAME:PARTITIONS[:RF] is created afresh (emptied).
start_kmock() {
  if [ -n "${KAFKA_BROKERS:-}" ]; then
    BROKERS=$KAFKA_BROKERS
    export BROKERS
    while [ $# -gt 0 ]; do
      case $1 in
        -t) ktopic recreate "$(cut -d: -f1,2 <<<"$2")" || return 1; shift 2 ;;
        *) shift ;;
      esac
    done
    return 0
  fi
  start_private_kmock "$@"
}

start_private_kmock() {
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

# ktopic create|recreate|delete NAME[:PARTITIONS[:RF]] [key=value...]: topic
# admin on the real cluster (build/bench/ktopic, librdkafka's admin API).
ktopic() {
  local cfg=()
  if [ -n "${KAFKA_CONFIG_FILE:-}" ]; then cfg=(-F "$KAFKA_CONFIG_FILE"); fi
  "$PIPEKIT_BUILD/bench/ktopic" "${cfg[@]}" -b "${KAFKA_BROKERS:?}" "$@"
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
  [ -n "${KMOCK_CMD:-}" ] || { echo "kmock_cmd needs kmock: call require_kmock first" >&2; return 1; }
  echo "$*" >"$KMOCK_CMD"
  sleep 0.1
}

# new_topic NAME PARTITIONS: a fresh, empty topic (kmock or the real cluster).
new_topic() {
  local name=$1 parts=${2:-1}
  if [ -n "${KMOCK_CMD:-}" ]; then
    echo "topic create $name $parts" >"$KMOCK_CMD"
    sleep 0.2
  elif [ -n "${KAFKA_BROKERS:-}" ]; then
    ktopic recreate "$name:$parts"
  fi
}

# A test that injects faults runs on kmock even when the others run on a real
# cluster: on one, this starts a private kmock for the test (stop_kmock ends it).
require_kmock() {
  [ -z "${KMOCK_CMD:-}" ] || return 0
  echo "# engine of this test: kmock (fault injection)" >&3
  start_private_kmock
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
