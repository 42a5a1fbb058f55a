#!/usr/bin/env bats
# cqlload on a three-node Apache Cassandra 5.0 cluster (127.0.0.1-3, port 9043,
# started once for this file by scripts/servers cassandra start --nodes 3): a
# node SIGKILLed mid-load at RF=3, QUORUM, the load completes and the table is
# exact, read back at QUORUM with the DataStax Python driver.
load ../support/common
load ../support/cql/helpers

RF3="{'class': 'SimpleStrategy', 'replication_factor': 3}"

setup_file() {
  echo "# engine: Apache Cassandra 5.0.6, 3 nodes (scripts/servers cassandra start --nodes 3 --port 9043)" >&3
  export C3_DIR=$PIPEKIT_BUILD/cassandra3
  local hosts
  hosts=$("$PIPEKIT_ROOT/scripts/servers" cassandra start --nodes 3 --port 9043 --storage-port 7100 \
            --dir "$C3_DIR" 2>"$PIPEKIT_BUILD/cassandra3-start.log" | tail -n1) ||
    { echo "# the 3-node cluster did not start (scripts/setup installs Java and the jars); see $PIPEKIT_BUILD/cassandra3-start.log" >&3; return 1; }
  export C3_HOSTS=$hosts
}

teardown_file() {
  "$PIPEKIT_ROOT/scripts/servers" cassandra stop --dir "$C3_DIR" >/dev/null 2>&1 || true
}

setup() {
  unset CQL_USER CQL_PASSWORD
  KS=$(new_keyspace)
  CQL=$C3_HOSTS
  python3 "$PIPEKIT_ROOT/tests/support/make_users.py" 30000 --shape flat >"$BATS_TEST_TMPDIR/users.ndjson"
}

# A node a test killed comes back whatever the test's outcome: the next test
# needs all three.
teardown() {
  if [ -n "${DOWN_NODE:-}" ]; then servers3 restart "$DOWN_NODE" >/dev/null || true; DOWN_NODE=; fi
}

servers3() { "$PIPEKIT_ROOT/scripts/servers" cassandra "$@" --dir "$C3_DIR"; }

# exact_at_quorum HOSTS: the table holds exactly the input's ids and emails.
exact_at_quorum() {
  CQL=$1 CQL_READ_CONSISTENCY=QUORUM cqlread "$KS.created_users" |
    jq -r '[.id, .email] | @tsv' | sort >"$BATS_TEST_TMPDIR/stored"
  jq -r '[.id, .email] | @tsv' "$BATS_TEST_TMPDIR/users.ndjson" | sort >"$BATS_TEST_TMPDIR/expected"
  diff -q "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/stored"
}

# load_finished SECONDS: the background cqlload ($pid) ended within SECONDS,
# exit 0, every one of the 30,000 records written.
load_finished() {
  local rc=0
  timeout "$1" tail --pid="$pid" -f /dev/null || rc=$?
  wait "$pid" || rc=$?
  tail -n 20 "$BATS_TEST_TMPDIR/err"
  [ "$rc" -eq 0 ] || { echo "cqlload: status $rc" >&2; return 1; }
  [ "$(jq .records_out "$BATS_TEST_TMPDIR/stats.json")" -eq 30000 ]
}

@test "SIGKILL of the only contact point mid-load: the other nodes, found in system.peers_v2, take the load; table exact" {
  cqlload --hosts 127.0.0.1:9043 --keyspace "$KS" --table created_users --create --schema "$CREATED_USERS_SCHEMA" \
    --primary-key id --replication "$RF3" --consistency QUORUM --concurrency 32 \
    --stats "$BATS_TEST_TMPDIR/stats.json" "$BATS_TEST_TMPDIR/users.ndjson" 2>"$BATS_TEST_TMPDIR/err" &
  pid=$!
  sleep 2
  kill -0 "$pid"   # still loading
  # --wait-down: until the others have convicted it (~20 s), a QUORUM read
  # they coordinate may still wait on the dead node and time out.
  DOWN_NODE=1
  servers3 kill 1 --wait-down
  load_finished 120
  exact_at_quorum 127.0.0.2:9043,127.0.0.3:9043
}

@test "a replica SIGKILLed mid-load (RF=3, QUORUM), restarted after: table exact, read through every node" {
  cqlload --hosts "$CQL" --keyspace "$KS" --table created_users --create --schema "$CREATED_USERS_SCHEMA" \
    --primary-key id --replication "$RF3" --consistency QUORUM --concurrency 32 \
    --stats "$BATS_TEST_TMPDIR/stats.json" "$BATS_TEST_TMPDIR/users.ndjson" 2>"$BATS_TEST_TMPDIR/err" &
  pid=$!
  sleep 2
  DOWN_NODE=3
  servers3 kill 3
  load_finished 120
  servers3 restart 3 >/dev/null
  DOWN_NODE=
  exact_at_quorum "$C3_HOSTS"
}

@test "a replica frozen (SIGSTOP) for 40 s mid-load (RF=3, QUORUM): load completes, the DOWN event is heard, table exact" {
  head -n 15000 "$BATS_TEST_TMPDIR/users.ndjson" >"$BATS_TEST_TMPDIR/part1"
  tail -n +15001 "$BATS_TEST_TMPDIR/users.ndjson" >"$BATS_TEST_TMPDIR/part2"
  # The second half comes after the freeze has been noticed: writes go on
  # while reconnections to the frozen node (TCP accepted, no answer) are tried.
  { cat "$BATS_TEST_TMPDIR/part1"; sleep 30; cat "$BATS_TEST_TMPDIR/part2"; } |
    cqlload -v --hosts "$CQL" --keyspace "$KS" --table created_users --create --schema "$CREATED_USERS_SCHEMA" \
      --primary-key id --replication "$RF3" --consistency QUORUM --concurrency 32 --request-timeout 5s \
      --stats "$BATS_TEST_TMPDIR/stats.json" 2>"$BATS_TEST_TMPDIR/err" &
  pid=$!
  sleep 3
  kill -0 "$pid"
  DOWN_NODE=2
  servers3 kill 2 --signal STOP
  { sleep 40; servers3 kill 2 --signal CONT; } 3>&- &
  thaw=$!
  load_finished 150
  wait "$thaw"
  # REGISTER worked: the cluster told cqlload that the node went down.
  grep -q "cluster event: STATUS_CHANGE DOWN 127.0.0.2:9043" "$BATS_TEST_TMPDIR/err"
  DOWN_NODE=
  exact_at_quorum "$C3_HOSTS"
}
