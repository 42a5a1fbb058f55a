# bats helpers for cqlload's tests: a real Cassandra (CQL_HOSTS, started by
# scripts/test) or the CQL test peer (tests/support/cql/cqlpeer.py). Load
# after ../lib/common.

CQL_TOOLS=$PIPEKIT_ROOT/tests/support/cql

# use_cassandra: the cluster in CQL_HOSTS (CQL_USER/CQL_PASSWORD when it has
# PasswordAuthenticator) becomes CQL, the --hosts value. Fails, saying how to
# get one, when there is none.
use_cassandra() {
  if [ -z "${CQL_HOSTS:-}" ]; then
    echo "no Cassandra: run through scripts/test (it starts one with scripts/servers cassandra start --auth)," \
      "or set CQL_HOSTS (and CQL_USER, CQL_PASSWORD) to a cluster" >&2
    return 1
  fi
  CQL=$CQL_HOSTS
  export CQL
}

# Extra cqlload flags for a cluster with PasswordAuthenticator (CQL_USER set;
# cqlload takes the password from CQL_PASSWORD).
cql_auth_args() {
  if [ -n "${CQL_USER:-}" ]; then echo "--user $CQL_USER"; fi
}

# start_cqlpeer [peer args...]: exports CQL (the --hosts value), and with the
# peer PEER_DIR, PEER_PID, PEER_CMD (a FIFO of peer commands).
start_cqlpeer() {
  PEER_DIR=$(mktemp -d "${BATS_TEST_TMPDIR:-/tmp}/cqlpeer.XXXXXX")
  mkfifo "$PEER_DIR/cmd"
  /usr/bin/python3 "$CQL_TOOLS/cqlpeer.py" --port-file "$PEER_DIR/ports" --commands "$PEER_DIR/cmd" "$@" \
    >"$PEER_DIR/stdout" 2>"$PEER_DIR/stderr" 3>&- &
  PEER_PID=$!
  wait_for_file "$PEER_DIR/ports" "$PEER_PID" "$PEER_DIR/stderr" || return 1
  CQL=$(tr ',' '\n' <"$PEER_DIR/ports" | sed 's/^/127.0.0.1:/' | paste -sd, -)
  PEER_CMD=$PEER_DIR/cmd
  export CQL PEER_DIR PEER_PID PEER_CMD
}

stop_cqlpeer() {
  if [ -n "${PEER_PID:-}" ]; then
    kill "$PEER_PID" 2>/dev/null || true
    wait "$PEER_PID" 2>/dev/null || true
    PEER_PID=
  fi
}

# peer_stats: prints the peer's counters as JSON.
peer_stats() {
  rm -f "$PEER_DIR/stats.json"
  echo "stats $PEER_DIR/stats.json" >"$PEER_CMD"
  local i
  for i in $(seq 1 100); do if [ -s "$PEER_DIR/stats.json" ]; then break; fi; sleep 0.05; done
  cat "$PEER_DIR/stats.json"
}

peer_cmd() {
  echo "$*" >"$PEER_CMD"
  sleep 0.2
}

# cqlread KS.TABLE: the table's rows as NDJSON, read by the Python driver.
cqlread() {
  /usr/bin/python3 "$CQL_TOOLS/cqlread.py" "$CQL" "$1"
}

# A keyspace name unique to this test (real clusters keep their keyspaces).
new_keyspace() {
  echo "pk_t$(date +%s%N | tail -c 9)_$RANDOM"
}

# The users table the cqlload tests create (--create --schema), and its rows.
CREATED_USERS_SCHEMA=$PIPEKIT_ROOT/tests/data/cqlload/created_users.schema.json

make_users_flat() {  # make_users_flat N FILE: N flat randomuser-shaped users
  python3 "$PIPEKIT_ROOT/tests/support/make_users.py" "$1" --shape flat >"$2"
}

load_users() {  # load_users N [cqlload args...]: N flat users into $KS.created_users at $CQL
  local n=$1; shift
  make_users_flat "$n" "$BATS_TEST_TMPDIR/users.ndjson"
  cqlload --hosts "$CQL" $(cql_auth_args) --keyspace "$KS" --table created_users --create \
    --schema "$CREATED_USERS_SCHEMA" --primary-key id "$@" "$BATS_TEST_TMPDIR/users.ndjson"
}
