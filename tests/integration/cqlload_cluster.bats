#!/usr/bin/env bats
# test-timeout: 1800 (scripts/test's limit for this file: a 3-node cluster to start,
# a node down 30 s and one frozen 40 s, loads bounded at 120 + 240 + 150 s)
# cqlload on a three-node Apache Cassandra 5.0 cluster (127.0.0.1-3, port 9043,
# started once for this file by scripts/servers cassandra start --nodes 3): a
# node SIGKILLed (or frozen) mid-load at RF=3, QUORUM, the load completes and
# the table is exact, read back at QUORUM with the DataStax Python driver.
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
  # 200,000 users for the long test; the others take the first 30,000.
  export USERS200K=$BATS_FILE_TMPDIR/users200k.ndjson
  python3 "$PIPEKIT_ROOT/tests/support/make_users.py" 200000 --shape flat >"$USERS200K"
}

teardown_file() {
  "$PIPEKIT_ROOT/scripts/servers" cassandra stop --dir "$C3_DIR" >/dev/null 2>&1 || true
}

setup() {
  unset CQL_USER CQL_PASSWORD
  KS=$(new_keyspace)
  CQL=$C3_HOSTS
  head -n 30000 "$USERS200K" >"$BATS_TEST_TMPDIR/users.ndjson"
}

# A node a test killed comes back whatever the test's outcome: the next test
# needs all three.
teardown() {
  if [ -n "${DOWN_NODE:-}" ]; then servers3 restart "$DOWN_NODE" >/dev/null || true; DOWN_NODE=; fi
}

servers3() { "$PIPEKIT_ROOT/scripts/servers" cassandra "$@" --dir "$C3_DIR"; }

# exact_at_quorum HOSTS: the table holds exactly the input's records (count
# and content: every text column).
exact_at_quorum() {
  local cols='[.id, .email, .first_name, .last_name, .address, .phone, .username] | @tsv'
  CQL=$1 CQL_READ_CONSISTENCY=QUORUM cqlread "$KS.created_users" | jq -r "$cols" | sort >"$BATS_TEST_TMPDIR/stored"
  jq -r "$cols" "$BATS_TEST_TMPDIR/users.ndjson" | sort >"$BATS_TEST_TMPDIR/expected"
  diff -q "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/stored"
}

# load_finished SECONDS [RECORDS]: the background cqlload ($pid) ended within
# SECONDS, exit 0, every one of the RECORDS (30,000) written.
load_finished() {
  local rc=0
  timeout "$1" tail --pid="$pid" -f /dev/null || rc=$?
  wait "$pid" || rc=$?
  tail -n 20 "$BATS_TEST_TMPDIR/err"
  [ "$rc" -eq 0 ] || { echo "cqlload: status $rc" >&2; return 1; }
  [ "$(jq .records_out "$BATS_TEST_TMPDIR/stats.json")" -eq "${2:-30000}" ]
}

# written_so_far: the records the background cqlload has written, by its last
# progress line (--progress: every 0.5 s on stderr, in $BATS_TEST_TMPDIR/err).
written_so_far() {
  tr '\r' '\n' <"$BATS_TEST_TMPDIR/err" | sed -n 's/^.*cqlload: in [0-9]*, out \([0-9]*\).*$/\1/p' | tail -n1
}
# writing [N]: cqlload has written more than N records (0), or has ended (the
# kill -0 after the wait says which).
writing() {
  local n
  if ! kill -0 "$pid" 2>/dev/null; then return 0; fi
  n=$(written_so_far)
  [ "${n:-0}" -gt "${1:-0}" ]
}

@test "SIGKILL of the only contact point mid-load: the other nodes, found in system.peers_v2, take the load; table exact" {
  cqlload --hosts 127.0.0.1:9043 --keyspace "$KS" --table created_users --create --schema "$CREATED_USERS_SCHEMA" \
    --primary-key id --replication "$RF3" --consistency QUORUM --concurrency 32 --progress \
    --stats "$BATS_TEST_TMPDIR/stats.json" "$BATS_TEST_TMPDIR/users.ndjson" 2>"$BATS_TEST_TMPDIR/err" &
  pid=$!
  wait_until 60 writing   # connected, the table made, rows going in
  kill -0 "$pid"   # still loading
  # --wait-down: until the others have convicted it (~20 s), a QUORUM read
  # they coordinate may still wait on the dead node and time out.
  DOWN_NODE=1
  servers3 kill 1 --wait-down
  load_finished 120
  exact_at_quorum 127.0.0.2:9043,127.0.0.3:9043
}

# engine: Apache Cassandra 5.0.6, 3 nodes. The issue's fault at its size.
@test "a replica SIGKILLed for 30 s in a paced load of 200,000 users (RF=3, QUORUM), restarted while it runs: UP heard, writes to it again, table exact" {
  local input=$BATS_TEST_TMPDIR/users.ndjson
  cp "$USERS200K" "$input"
  split -l 10000 -d -a 2 "$input" "$BATS_TEST_TMPDIR/chunk."
  # 160,000 records paced (one chunk of 10,000 every 2 s), then the last
  # 40,000 only once cqlload has heard that the restarted node is UP: the
  # node comes back in the middle of the load, whatever the machine's speed.
  {
    for c in "$BATS_TEST_TMPDIR"/chunk.0* "$BATS_TEST_TMPDIR"/chunk.1[0-5]; do cat "$c"; sleep 2; done
    for i in $(seq 1 300); do grep -q "STATUS_CHANGE UP 127.0.0.3:9043" "$BATS_TEST_TMPDIR/err" && break; sleep 0.5; done
    for c in "$BATS_TEST_TMPDIR"/chunk.1[6-9]; do cat "$c"; sleep 1; done
  } | cqlload -v --hosts "$CQL" --keyspace "$KS" --table created_users --create --schema "$CREATED_USERS_SCHEMA" \
      --primary-key id --replication "$RF3" --consistency QUORUM --concurrency 32 --progress \
      --stats "$BATS_TEST_TMPDIR/stats.json" 2>"$BATS_TEST_TMPDIR/err" &
  pid=$!
  wait_until 60 writing 20000   # two paced chunks written
  kill -0 "$pid"   # still loading
  DOWN_NODE=3
  servers3 kill 3
  local killed_at=$SECONDS
  sleep 30   # the thing tested: the node stays down for 30 s while the load goes on
  servers3 restart 3 >/dev/null
  DOWN_NODE=
  echo "node 3 down for $((SECONDS - killed_at)) s (restart included)"
  kill -0 "$pid"   # the load still runs
  load_finished 240 200000
  # The cluster said the node was back, cqlload reconnected to it and wrote
  # through it again.
  grep -q "cluster event: STATUS_CHANGE UP 127.0.0.3:9043" "$BATS_TEST_TMPDIR/err"
  grep -q "127.0.0.3:9043: reconnected" "$BATS_TEST_TMPDIR/err"
  grep -q "127.0.0.3:9043: writes acknowledged again since it reconnected" "$BATS_TEST_TMPDIR/err"
  grep "records written through this node" "$BATS_TEST_TMPDIR/err"
  exact_at_quorum "$C3_HOSTS"
}

@test "a replica frozen (SIGSTOP) for 40 s mid-load (RF=3, QUORUM): load completes, the DOWN event is heard, table exact" {
  head -n 15000 "$BATS_TEST_TMPDIR/users.ndjson" >"$BATS_TEST_TMPDIR/part1"
  tail -n +15001 "$BATS_TEST_TMPDIR/users.ndjson" >"$BATS_TEST_TMPDIR/part2"
  # The second half comes once the freeze has been noticed (the DOWN event in
  # cqlload's log, 60 s at most): writes go on while reconnections to the
  # frozen node (TCP accepted, no answer) are tried.
  { cat "$BATS_TEST_TMPDIR/part1"
    wait_until 60 grep -q "STATUS_CHANGE DOWN 127.0.0.2:9043" "$BATS_TEST_TMPDIR/err" 2>/dev/null || true
    cat "$BATS_TEST_TMPDIR/part2"; } |
    cqlload -v --hosts "$CQL" --keyspace "$KS" --table created_users --create --schema "$CREATED_USERS_SCHEMA" \
      --primary-key id --replication "$RF3" --consistency QUORUM --concurrency 32 --request-timeout 5s --progress \
      --stats "$BATS_TEST_TMPDIR/stats.json" 2>"$BATS_TEST_TMPDIR/err" &
  pid=$!
  wait_until 60 writing   # connected, the table made, rows going in
  kill -0 "$pid"
  DOWN_NODE=2
  servers3 kill 2 --signal STOP
  # the thing tested: the node stays frozen for 40 s
  { sleep 40; servers3 kill 2 --signal CONT; } 3>&- &
  thaw=$!
  load_finished 150
  wait "$thaw"
  # REGISTER worked: the cluster told cqlload that the node went down.
  grep -q "cluster event: STATUS_CHANGE DOWN 127.0.0.2:9043" "$BATS_TEST_TMPDIR/err"
  DOWN_NODE=
  exact_at_quorum "$C3_HOSTS"
}
