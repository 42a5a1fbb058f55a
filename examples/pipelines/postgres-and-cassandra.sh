#!/usr/bin/env bash
# Load the same topic into PostgreSQL and Cassandra at once: two consumer
# groups, so each sink reads every record at its own pace and commits its
# own offsets; one being down does not hold the other back.
#   KAFKA_BROKERS=... PGHOST=... CQL_PASSWORD=... ./postgres-and-cassandra.sh
# SIGTERM/SIGINT stops both cleanly.
set -euo pipefail
pipekit load --sink postgres --group users-postgres --table users &
pg=$!
pipekit load --sink cassandra --group users-cassandra --table users \
  --cql-hosts "${CQL_HOSTS:-127.0.0.1}" --keyspace "${CQL_KEYSPACE:-pipekit}" &
cql=$!
trap 'kill -TERM $pg $cql 2>/dev/null || true' INT TERM
# `wait` returns early when a signal arrives: wait until each one is gone.
wait_for() { local st; while :; do st=0; wait "$1" || st=$?; kill -0 "$1" 2>/dev/null || return "$st"; done; }
status=0
wait_for $pg || status=$?
wait_for $cql || status=$?
exit $status
