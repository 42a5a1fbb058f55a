#!/usr/bin/env bats
# kpub -> Kafka -> ksub, with keys and headers, checked as exact sets; and
# interop with kcat both ways. Runs against kmock, or KAFKA_BROKERS if set.
load ../support/common

setup_file() {
  kafka_engine
  start_kmock -t rt:8 -t rt_kcat_in:4 -t rt_kcat_out:4 -t rt_replay:4
  export BROKERS
  make_users 20000 "$BATS_FILE_TMPDIR/users.ndjson"
}
teardown_file() { stop_kmock; }

@test "20,000 records round trip kpub -> kmock -> ksub -e with keys and headers, exactly" {
  in=$BATS_FILE_TMPDIR/users.ndjson
  run kpub -q -b "$BROKERS" -t rt --key login.uuid -H source=ru-fetch -H batch=7 <"$in"
  assert_success
  ksub -q -b "$BROKERS" -t rt -o beginning -e --envelope >"$BATS_TEST_TMPDIR/out.ndjson"
  # Values: the same set of records (compared after normalising with jq).
  diff <(jq -cS . "$in" | sort) <(jq -cS .value "$BATS_TEST_TMPDIR/out.ndjson" | sort)
  # Keys are each record's login.uuid, headers arrive as sent.
  run jq -r 'select(.key != .value.login.uuid) | .offset' "$BATS_TEST_TMPDIR/out.ndjson"
  assert_output ""
  run jq -c '.headers' "$BATS_TEST_TMPDIR/out.ndjson"
  [ "$(sort -u <<<"$output")" = '{"source":"ru-fetch","batch":"7"}' ]
  [ "$(wc -l <"$BATS_TEST_TMPDIR/out.ndjson")" -eq 20000 ]
}

@test "what kpub writes, kcat reads exactly (values, keys, headers)" {
  head -500 "$BATS_FILE_TMPDIR/users.ndjson" >"$BATS_TEST_TMPDIR/in.ndjson"
  kpub -q -b "$BROKERS" -t rt_kcat_out --key login.uuid -H h=v <"$BATS_TEST_TMPDIR/in.ndjson"
  kcat -C -b "$BROKERS" -t rt_kcat_out -o beginning -e -q -J >"$BATS_TEST_TMPDIR/kcat.json"
  diff <(jq -cS . "$BATS_TEST_TMPDIR/in.ndjson" | sort) \
       <(jq -r .payload "$BATS_TEST_TMPDIR/kcat.json" | jq -cS . | sort)
  run jq -r 'select(.key != (.payload|fromjson|.login.uuid)) | .offset' "$BATS_TEST_TMPDIR/kcat.json"
  assert_output ""
  run jq -c '.headers' "$BATS_TEST_TMPDIR/kcat.json"
  [ "$(sort -u <<<"$output")" = '["h","v"]' ]
}

@test "what kcat writes, ksub reads exactly (values, keys, headers)" {
  head -500 "$BATS_FILE_TMPDIR/users.ndjson" | jq -r '"\(.login.uuid)\t\(tojson)"' >"$BATS_TEST_TMPDIR/keyed.tsv"
  kcat -P -b "$BROKERS" -t rt_kcat_in -K $'\t' -H origin=kcat -l "$BATS_TEST_TMPDIR/keyed.tsv"
  ksub -q -b "$BROKERS" -t rt_kcat_in -o beginning -e --envelope >"$BATS_TEST_TMPDIR/out.ndjson"
  diff <(cut -f2- "$BATS_TEST_TMPDIR/keyed.tsv" | jq -cS . | sort) \
       <(jq -cS .value "$BATS_TEST_TMPDIR/out.ndjson" | sort)
  run jq -r 'select(.key != .value.login.uuid or .headers.origin != "kcat") | .offset' "$BATS_TEST_TMPDIR/out.ndjson"
  assert_output ""
}

@test "kcat -J output replays through kpub --envelope with keys and headers" {
  kcat -C -b "$BROKERS" -t rt_kcat_in -o beginning -e -q -J >"$BATS_TEST_TMPDIR/kcat.json"
  run kpub -q -b "$BROKERS" -t rt_replay --envelope <"$BATS_TEST_TMPDIR/kcat.json"
  assert_success
  ksub -q -b "$BROKERS" -t rt_replay -o beginning -e --envelope >"$BATS_TEST_TMPDIR/replayed.ndjson"
  diff <(jq -c '[.key, (.payload|fromjson)] ' "$BATS_TEST_TMPDIR/kcat.json" | jq -cS . | sort) \
       <(jq -c '[.key, .value]' "$BATS_TEST_TMPDIR/replayed.ndjson" | jq -cS . | sort)
}
