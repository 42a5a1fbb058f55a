#!/usr/bin/env bats
# jvalidate on records that really went through Kafka (kmock, or the cluster
# in KAFKA_BROKERS): kcat produces, kcat -J consumes into jvalidate --envelope,
# and each rejected record is acknowledged with its real coordinates.
load ../support/common

FLAT=$PIPEKIT_ROOT/examples/schemas/user-flat.schema.json

setup_file() { kafka_engine; }
setup() { start_kmock -t "jv-users:3"; }
teardown() { stop_kmock; }

@test "kcat -J envelopes from a 3-partition topic: valid out, invalid rejected and acked with their offsets" {
  T=$BATS_TEST_TMPDIR
  topic=jv-users
  if [ -n "${KAFKA_BROKERS:-}" ]; then topic=jv-users-$$-$RANDOM; fi
  new_topic "$topic" 3
  python3 "$PIPEKIT_ROOT/tests/support/make_users.py" 60 --shape flat \
    | awk 'NR % 10 == 0 { sub(/"username":"[^"]*"/, "\"username\":\"x\"") } { print }' >"$T/in.ndjson"
  # keyed by line number so records spread over the partitions
  awk '{ print NR "\t" $0 }' "$T/in.ndjson" | kcat -P -b "$BROKERS" -t "$topic" -K $'\t'
  kcat -C -b "$BROKERS" -t "$topic" -J -e -q -o beginning >"$T/envelopes.ndjson"
  [ "$(wc -l <"$T/envelopes.ndjson")" -eq 60 ]
  jvalidate -q --envelope -s "$FLAT" --rejects "$T/rej.ndjson" --ack "$T/acks.ndjson" "$T/envelopes.ndjson" \
    >"$T/valid.ndjson"
  [ "$(wc -l <"$T/valid.ndjson")" -eq 54 ]
  [ "$(wc -l <"$T/rej.ndjson")" -eq 6 ]
  # every reject is about the username, and its ack names exactly its coordinates
  run jq -r '.errors[0] | "\(.instanceLocation) \(.keyword)"' "$T/rej.ndjson"
  [ "$(sort -u <<<"$output")" = "/username minLength" ]
  diff <(jq -c '{topic: .record.topic, partition: .record.partition, offset: .record.offset}' "$T/rej.ndjson" | sort) \
       <(jq -c . "$T/acks.ndjson" | sort)
  # the valid ones are the whole envelopes, untouched
  run jq -r '.key' "$T/valid.ndjson"
  ! grep -qE '^(10|20|30|40|50|60)$' <<<"$output"
}
