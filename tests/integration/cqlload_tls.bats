#!/usr/bin/env bats
# cqlload over TLS to a real Apache Cassandra 5.0 node that requires client
# certificates (mutual TLS) and a password: started once for this file by
# scripts/servers cassandra start --auth --client-cert (CA, node and client
# certificates made by openssl), on 127.0.0.1:${CQL_TLS_PORT:-9044}. Read back
# with the DataStax Python driver over the same TLS.
load ../support/common
load ../support/cql/helpers

TLS_PORT=${CQL_TLS_PORT:-9044}

setup_file() {
  echo "# engine: Apache Cassandra 5.0.6, 1 node, client TLS with require_client_auth, PasswordAuthenticator (127.0.0.1:$TLS_PORT)" >&3
  export TLS_DIR=$PIPEKIT_BUILD/cassandra-tls
  "$PIPEKIT_ROOT/scripts/servers" cassandra start --auth --client-cert --port "$TLS_PORT" \
    --storage-port "${CQL_TLS_STORAGE_PORT:-7200}" --dir "$TLS_DIR" >/dev/null 2>"$PIPEKIT_BUILD/cassandra-tls-start.log" ||
    { echo "# the TLS node did not start (scripts/setup installs Java, the jars, openssl); see $PIPEKIT_BUILD/cassandra-tls-start.log" >&3; return 1; }
  # A second CA that signed nothing the node shows.
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TLS_DIR/other-ca.key" -out "$TLS_DIR/other-ca.pem" \
    -days 2 -subj "/CN=some other CA" >/dev/null 2>&1
  # A role whose password is distinctive enough to look for in the logs.
  CQL=127.0.0.1:$TLS_PORT CQL_USER=cassandra CQL_PASSWORD=cassandra CQL_CA_FILE=$TLS_DIR/ca.pem \
    CQL_CLIENT_CERT=$TLS_DIR/client.pem CQL_CLIENT_KEY=$TLS_DIR/client.key \
    /usr/bin/python3 "$PIPEKIT_ROOT/tests/support/cql/cqlread.py" "127.0.0.1:$TLS_PORT" \
    "CREATE ROLE IF NOT EXISTS tlsloader WITH PASSWORD = 'Zq7-tls-secret-91' AND LOGIN = true" >/dev/null &&
  CQL_USER=cassandra CQL_PASSWORD=cassandra CQL_CA_FILE=$TLS_DIR/ca.pem \
    CQL_CLIENT_CERT=$TLS_DIR/client.pem CQL_CLIENT_KEY=$TLS_DIR/client.key \
    /usr/bin/python3 "$PIPEKIT_ROOT/tests/support/cql/cqlread.py" "127.0.0.1:$TLS_PORT" \
    "GRANT ALL PERMISSIONS ON ALL KEYSPACES TO tlsloader" >/dev/null
}

teardown_file() {
  "$PIPEKIT_ROOT/scripts/servers" cassandra stop --dir "$TLS_DIR" >/dev/null 2>&1 || true
}

setup() {
  KS=$(new_keyspace)
  export CQL_USER=tlsloader CQL_PASSWORD=Zq7-tls-secret-91
  python3 "$PIPEKIT_ROOT/tests/support/make_users.py" 300 --shape flat >"$BATS_TEST_TMPDIR/users.ndjson"
  printf '%s\n' "$CQL_PASSWORD" >"$BATS_TEST_TMPDIR/pass"
  chmod 600 "$BATS_TEST_TMPDIR/pass"
}

teardown() {
  if [ -n "${FWD_PID:-}" ]; then kill "$FWD_PID" 2>/dev/null || true; wait "$FWD_PID" 2>/dev/null || true; fi
}

mtls_args() { echo "--ca-file $TLS_DIR/ca.pem --cert-file $TLS_DIR/client.pem --key-file $TLS_DIR/client.key"; }

tls_read() {
  CQL_CA_FILE=$TLS_DIR/ca.pem CQL_CLIENT_CERT=$TLS_DIR/client.pem CQL_CLIENT_KEY=$TLS_DIR/client.key \
    /usr/bin/python3 "$PIPEKIT_ROOT/tests/support/cql/cqlread.py" "$1" "$2"
}

# forward ADDR: a TCP relay from ADDR:TLS_PORT to the node, so that the
# client reaches it by an address its certificate does not list.
forward() {
  /usr/bin/python3 - "$1" "$TLS_PORT" <<'PY' 3>&- &
import socket, sys, threading
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2]))); srv.listen(16)
def pipe(a, b):
    try:
        while (d := a.recv(65536)): b.sendall(d)
    except OSError: pass
    finally:
        for s in (a, b):
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
while True:
    c, _ = srv.accept()
    u = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
PY
  FWD_PID=$!
  local i
  for i in $(seq 1 50); do (exec 3<>"/dev/tcp/$1/$TLS_PORT") 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

@test "mutual TLS with the right CA, client certificate and password file: loads, read back exact; no secret in argv or logs" {
  unset CQL_PASSWORD
  cqlload -vv --hosts "127.0.0.1:$TLS_PORT" --user tlsloader --password-file "$BATS_TEST_TMPDIR/pass" \
    $(mtls_args) --keyspace "$KS" --table created_users --create --schema "$CREATED_USERS_SCHEMA" --primary-key id \
    "$BATS_TEST_TMPDIR/users.ndjson" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
  pid=$!
  # Its command line, while it runs, holds no password.
  tr '\0' ' ' <"/proc/$pid/cmdline" >"$BATS_TEST_TMPDIR/argv" 2>/dev/null || true
  rc=0; wait "$pid" || rc=$?
  cat "$BATS_TEST_TMPDIR/err"
  [ "$rc" -eq 0 ]
  grep -q "in 300, out 300, rejected 0" "$BATS_TEST_TMPDIR/err"
  ! grep -q "Zq7-tls-secret-91" "$BATS_TEST_TMPDIR/argv" "$BATS_TEST_TMPDIR/err" "$BATS_TEST_TMPDIR/out" || false
  CQL_USER=tlsloader CQL_PASSWORD=Zq7-tls-secret-91 tls_read "127.0.0.1:$TLS_PORT" "$KS.created_users" |
    jq -r '[.id, .email] | @tsv' | sort >"$BATS_TEST_TMPDIR/stored"
  diff <(jq -r '[.id, .email] | @tsv' "$BATS_TEST_TMPDIR/users.ndjson" | sort) "$BATS_TEST_TMPDIR/stored"
}

@test "a CA that did not sign the node's certificate: exit 2 at once, saying the certificate is not trusted" {
  run timeout 60 cqlload --hosts "127.0.0.1:$TLS_PORT" --user tlsloader --ca-file "$TLS_DIR/other-ca.pem" \
    --cert-file "$TLS_DIR/client.pem" --key-file "$TLS_DIR/client.key" --table "$KS.t" "$BATS_TEST_TMPDIR/users.ndjson"
  [ "$status" -eq 2 ]
  assert_output --partial "certificate is not trusted"
  assert_output --partial "other-ca.pem"
  refute_output --partial "Zq7-tls-secret-91"
  # The system trust store does not know the test CA either.
  run timeout 60 cqlload --hosts "127.0.0.1:$TLS_PORT" --user tlsloader --tls \
    --cert-file "$TLS_DIR/client.pem" --key-file "$TLS_DIR/client.key" --table "$KS.t" "$BATS_TEST_TMPDIR/users.ndjson"
  [ "$status" -eq 2 ]
  assert_output --partial "give its CA with --ca-file"
}

@test "an address the certificate does not name: exit 2; --no-verify-hostname loads (the chain is still checked)" {
  forward 127.0.0.5
  run timeout 60 cqlload --hosts "127.0.0.5:$TLS_PORT" --user tlsloader $(mtls_args) --table "$KS.t" \
    "$BATS_TEST_TMPDIR/users.ndjson"
  [ "$status" -eq 2 ]
  assert_output --partial "does not name 127.0.0.5"
  run timeout 120 cqlload --hosts "127.0.0.5:$TLS_PORT" --user tlsloader $(mtls_args) --no-verify-hostname \
    --keyspace "$KS" --table created_users --create --schema "$CREATED_USERS_SCHEMA" --primary-key id "$BATS_TEST_TMPDIR/users.ndjson"
  assert_success
  assert_output --partial "out 300"
  run timeout 60 cqlload --hosts "127.0.0.5:$TLS_PORT" --user tlsloader --no-verify-hostname \
    --ca-file "$TLS_DIR/other-ca.pem" --cert-file "$TLS_DIR/client.pem" --key-file "$TLS_DIR/client.key" \
    --table "$KS.created_users" "$BATS_TEST_TMPDIR/users.ndjson"
  [ "$status" -eq 2 ]
  assert_output --partial "not trusted"
}

@test "the node requires a client certificate: without one exit 2 naming --cert-file; a key that is not the certificate's is exit 2" {
  run timeout 60 cqlload --hosts "127.0.0.1:$TLS_PORT" --user tlsloader --ca-file "$TLS_DIR/ca.pem" \
    --table "$KS.t" "$BATS_TEST_TMPDIR/users.ndjson"
  [ "$status" -eq 2 ]
  assert_output --partial "client certificate"
  assert_output --partial "--cert-file"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$BATS_TEST_TMPDIR/other.key" 2>/dev/null
  run timeout 60 cqlload --hosts "127.0.0.1:$TLS_PORT" --user tlsloader --ca-file "$TLS_DIR/ca.pem" \
    --cert-file "$TLS_DIR/client.pem" --key-file "$BATS_TEST_TMPDIR/other.key" --table "$KS.t" "$BATS_TEST_TMPDIR/users.ndjson"
  [ "$status" -eq 2 ]
  assert_output --partial "does not match the certificate"
  run cqlload --hosts "127.0.0.1:$TLS_PORT" --cert-file "$TLS_DIR/client.pem" --table "$KS.t" </dev/null
  [ "$status" -eq 2 ]
  assert_output --partial "both --cert-file and --key-file"
}
