#!/usr/bin/env bats
# SASL_SSL for real: Apache Kafka with SCRAM-SHA-512 users and TLS (a CA made
# by openssl), started by this file on its own port. The right password
# round-trips records; a wrong one is exit 2 at once with the broker's reason;
# a Java client's client.properties works as is; ACLs are enforced (a user
# without group rights reads with ksub without -G).
load ../support/common

setup_file() {
  # Only this file's cluster: KAFKA_BROKERS (the run's plaintext one) would beat -F.
  unset KAFKA_BROKERS KAFKA_CONFIG_FILE
  export SASL_DIR=$BATS_FILE_TMPDIR/kafka-sasl
  export PIPEKIT_KAFKA_PORT=${PIPEKIT_KAFKA_SASL_PORT:-9192}
  # Twice: a node has been seen to exit at once on a loaded machine (log empty).
  "$PIPEKIT_ROOT/scripts/servers" kafka start --brokers 1 --security sasl_ssl --dir "$SASL_DIR" >"$BATS_FILE_TMPDIR/start.out" 2>&1 ||
    "$PIPEKIT_ROOT/scripts/servers" kafka start --brokers 1 --security sasl_ssl --dir "$SASL_DIR" >"$BATS_FILE_TMPDIR/start.out" 2>&1 ||
    { cat "$BATS_FILE_TMPDIR/start.out" >&3; echo "# Kafka (SASL_SSL) did not start: run scripts/setup" >&3; return 1; }
  export SASL_BROKERS=$(tail -n1 "$BATS_FILE_TMPDIR/start.out")
  export SASL_CONF=$SASL_DIR/client.properties
  echo "# engine: Apache Kafka 4.1.1, 1 broker (KRaft), SASL_SSL with SCRAM-SHA-512 at $SASL_BROKERS" >&3
  make_users 1000 "$BATS_FILE_TMPDIR/users.ndjson"
}

teardown_file() {
  if [ -n "${SASL_DIR:-}" ]; then "$PIPEKIT_ROOT/scripts/servers" kafka stop --dir "$SASL_DIR" >/dev/null 2>&1 || true; fi
}

setup() {
  unset KAFKA_BROKERS KAFKA_CONFIG_FILE
  T=sasl_${BATS_TEST_NUMBER}_$RANDOM
}

sasl_topic() { "$PIPEKIT_BUILD/bench/ktopic" -F "$SASL_CONF" create "$1:${2:-1}"; }

# A copy of the client config with another password (never on a command line).
wrong_password_conf() {
  sed 's/^sasl.password=.*/sasl.password=not-the-password/' "$SASL_CONF" >"$BATS_TEST_TMPDIR/wrong.properties"
  echo "$BATS_TEST_TMPDIR/wrong.properties"
}

@test "SASL_SSL + SCRAM-SHA-512: kpub and ksub round-trip 1,000 keyed records exactly" {
  sasl_topic "$T" 4
  run kpub -F "$SASL_CONF" -t "$T" -k login.uuid <"$BATS_FILE_TMPDIR/users.ndjson"
  assert_success
  assert_output --partial "published 1000, rejected 0, failed 0"
  ksub -q -F "$SASL_CONF" -t "$T" -e --envelope >"$BATS_TEST_TMPDIR/out"
  diff <(jq -cS . "$BATS_FILE_TMPDIR/users.ndjson" | sort) <(jq -cS .value "$BATS_TEST_TMPDIR/out" | sort)
  run jq -r 'select(.key != .value.login.uuid) | .offset' "$BATS_TEST_TMPDIR/out"
  assert_output ""
  # and in a group, over the same authenticated, encrypted connection
  run bash -c "timeout 60 ksub -q -F '$SASL_CONF' -t '$T' -G g1 -e | wc -l"
  assert_output 1000
}

@test "a Java client.properties (sasl.jaas.config ScramLoginModule, PEM truststore) works as is" {
  sasl_topic "$T" 1
  cat >"$BATS_TEST_TMPDIR/java.properties" <<EOF2
bootstrap.servers=$SASL_BROKERS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$(sed -n 's/^sasl.username=//p' "$SASL_CONF")" password="$(sed -n 's/^sasl.password=//p' "$SASL_CONF")";
ssl.truststore.type=PEM
ssl.truststore.location=$SASL_DIR/tls/ca.pem
key.serializer=org.apache.kafka.common.serialization.StringSerializer
value.serializer=org.apache.kafka.common.serialization.StringSerializer
EOF2
  run kpub -F "$BATS_TEST_TMPDIR/java.properties" -t "$T" < <(head -50 "$BATS_FILE_TMPDIR/users.ndjson")
  assert_success
  run bash -c "ksub -q -F '$BATS_TEST_TMPDIR/java.properties' -t '$T' -e | wc -l"
  assert_output 50
  # what cannot be translated is refused, saying what to write instead
  sed 's|^ssl.truststore.location=.*|ssl.truststore.location=/etc/trust.jks|; s|^ssl.truststore.type=.*|ssl.truststore.type=JKS|' \
    "$BATS_TEST_TMPDIR/java.properties" >"$BATS_TEST_TMPDIR/jks.properties"
  run kpub -F "$BATS_TEST_TMPDIR/jks.properties" -t "$T" </dev/null
  assert_failure 2
  assert_output --partial "ssl.ca.location"
}

@test "wrong password: kpub exits 2 at once with the broker's reason, every record in --failed" {
  sasl_topic "$T" 1
  conf=$(wrong_password_conf)
  start=$SECONDS
  run timeout 60 kpub -F "$conf" -t "$T" --failed "$BATS_TEST_TMPDIR/failed" < <(head -100 "$BATS_FILE_TMPDIR/users.ndjson")
  assert_failure 2
  [ $((SECONDS - start)) -le 10 ]
  assert_output --partial "Authentication failed"
  assert_output --partial "SCRAM-SHA-512"
  refute_output --partial "not-the-password"
  # nothing was delivered, so every record read is in --failed (none lost)
  run ksub -q -F "$SASL_CONF" -t "$T" -e
  assert_output ""
  n=$(wc -l <"$BATS_TEST_TMPDIR/failed")
  [ "$n" -le 100 ]
  run jq -r .line "$BATS_TEST_TMPDIR/failed"
  assert_output "$(seq 1 "$n")"
}

@test "wrong password: ksub (with and without -G) exits 2 at once with the broker's reason" {
  sasl_topic "$T" 1
  conf=$(wrong_password_conf)
  start=$SECONDS
  run timeout 60 ksub -F "$conf" -t "$T" -e
  assert_failure 2
  assert_output --partial "Authentication failed"
  run timeout 60 ksub -F "$conf" -t "$T" -G g2 -e
  assert_failure 2
  assert_output --partial "Authentication failed"
  refute_output --partial "not-the-password"
  [ $((SECONDS - start)) -le 20 ]
}

@test "ksub without -G needs no group rights: user reader (ACLs: read topics only) reads every record; no group.id, no FindCoordinator" {
  # engine: Apache Kafka 4.1.1, SASL_SSL, StandardAuthorizer (ACLs enforced)
  sasl_topic "$T" 3
  kpub -q -F "$SASL_CONF" -t "$T" -k login.uuid <"$BATS_FILE_TMPDIR/users.ndjson"
  reader=$SASL_DIR/reader.properties
  run ksub -F "$reader" -t "$T" --dump-config
  assert_success
  refute_output --partial group.id
  timeout 60 ksub -vv -F "$reader" -t "$T" -e -X debug=protocol >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
  diff <(jq -cS . "$BATS_FILE_TMPDIR/users.ndjson" | sort) <(jq -cS . "$BATS_TEST_TMPDIR/out" | sort)
  grep -q 'Sent FetchRequest' "$BATS_TEST_TMPDIR/err"  # the protocol log is there ...
  run grep -c FindCoordinator "$BATS_TEST_TMPDIR/err"  # ... and names no group coordinator
  assert_output 0
  # the other ways to start without a group, and --offsets
  run bash -c "timeout 60 ksub -q -F '$reader' -t '$T' -o -2 -e | wc -l"
  assert_output 6
  run bash -c "timeout 60 ksub -q -F '$reader' -t '$T' --since 1h -e | wc -l"
  assert_output 1000
  run timeout 60 ksub -q -F "$reader" -t "$T" --offsets --json
  assert_success
  [ "$(jq -s 'map(.high) | add' <<<"$output")" -eq 1000 ]
  # the ACLs do bite: the same user in a group is refused at once, exit 2
  run timeout 60 ksub -F "$reader" -t "$T" -G "g$T" -e
  assert_failure 2
  assert_output --partial "Group authorization failed"
}

@test "--version names the librdkafka the tools run with (>= 2.6.1: SCRAM logins to Kafka 4.x)" {
  for t in kpub ksub kmock; do
    run "$t" --version
    assert_success
    v=$(grep -oP 'librdkafka \K[0-9.]+' <<<"$output")
    [ -n "$v" ]
    [ "$(printf '%s\n2.6.1\n' "$v" | sort -V | head -1)" = 2.6.1 ]
  done
}
