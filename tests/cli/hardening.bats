#!/usr/bin/env bats
# Hostile input as a user would try it (issue #14): bad option values, numbers
# JSON allows but the tools cannot hold, secrets in argv and URLs, a full disk.
# Each case was a crash (exit 5), a silent loss or a leak before.
load ../support/common
bats_require_minimum_version 1.5.0

setup_file() {
  echo "# engine: local processes only (kmock for the Kafka argv checks)" >&3
}

setup() {
  T=$BATS_TEST_TMPDIR
}

teardown() {
  if [ -n "${BG_PID:-}" ]; then
    kill "$BG_PID" 2>/dev/null || true
    wait "$BG_PID" 2>/dev/null || true
  fi
  BG_PID=
  stop_kmock
}

# --- every user-supplied number: parsed once, range-checked, exit 2 naming the flag

@test "bad or overflowing option values are usage errors (exit 2) that name the flag" {
  echo '{}' >"$T/s.json"
  run jvalidate -s "$T/s.json" --max-line-bytes . </dev/null
  assert_failure 2
  assert_output --partial "--max-line-bytes: '.'"
  run jvalidate -s "$T/s.json" --max-line-bytes 99999999999999999999999999999G </dev/null
  assert_failure 2
  assert_output --partial "--max-line-bytes"
  assert_output --partial "too large"
  run ksub -b 127.0.0.1:9 -t x --since . </dev/null
  assert_failure 2
  assert_output --partial "--since: '.'"
  run ksub -b 127.0.0.1:9 -t x --since 99999999999d </dev/null
  assert_failure 2
  assert_output --partial "--since: '99999999999d' is too long"
  run ru-fetch --every . --results 1
  assert_failure 2
  assert_output --partial "--every: '.'"
  run cqlload --connect-timeout . --keyspace ks --table t </dev/null
  assert_failure 2
  assert_output --partial "--connect-timeout: '.'"
  run cqlload --request-timeout 3000000s --keyspace ks --table t </dev/null
  assert_failure 2
  assert_output --partial "--request-timeout: '3000000s' is too long"
  run pgload --table t --flush-interval 1e3s </dev/null
  assert_failure 2
  assert_output --partial "--flush-interval: '1e3s'"
  for rate in nan inf -1 101 5%% 1e2; do
    run jvalidate -s "$T/s.json" --max-reject-rate "$rate" </dev/null
    assert_failure 2
    assert_output --partial "--max-reject-rate: '$rate'"
  done
  refute_output --partial "internal error"
}

@test "a field path with a huge array index finds nothing instead of crashing" {
  # kpub -k arr.99999999999999999999 used to be std::stoul's exception: exit 5.
  start_kmock
  new_topic hard-idx 1
  run kpub -q -b "$BROKERS" -t hard-idx -k arr.99999999999999999999 --rejects "$T/rej.ndjson" \
    <<<'{"arr":[1,2]}'
  refute_output --partial "internal error"
  [ "$status" -ne 5 ] || fail "exit 5"
}

@test "an unknown flag's message names the flag" {
  for tool in jvalidate kpub ksub pgload cqlload ru-fetch; do
    run "$tool" --no-such-flag </dev/null
    assert_failure 2
    assert_output --partial "--no-such-flag"
  done
}

# --- numbers JSON allows but the tools cannot hold: a reject with a true reason

@test "jvalidate: 1e400 and 2^64 are rejects with a true reason, the run goes on (was exit 5)" {
  printf '{"a":1}\n{"x":[1e400]}\n{"a":3}\n{"n":18446744073709551616}\n{"a":5}\n' >"$T/in.ndjson"
  run jvalidate -q -s <(echo '{}') --rejects "$T/r.ndjson" "$T/in.ndjson"
  assert_success
  assert_output $'{"a":1}\n{"a":3}\n{"a":5}'
  run jq -r '[.line, .reason] | @tsv' "$T/r.ndjson"
  assert_line --partial $'2\tnumber 1e400 is beyond what this tool represents'
  assert_line --partial $'4\tnumber 18446744073709551616 is beyond'
  refute_output --partial "invalid JSON"
}

@test "jvalidate: a schema with {\"maximum\": 1e400} is a bad schema (exit 2), not a crash" {
  run jvalidate -s <(echo '{"maximum":1e400}') </dev/null
  assert_failure 2
  refute_output --partial "internal error"
}

@test "kpub rejects 1e400 with a true reason and publishes the rest" {
  start_kmock
  new_topic hard-num 1
  printf '{"a":1}\n{"n":1e400}\n{"a":3}\n' >"$T/in.ndjson"
  run kpub -q -b "$BROKERS" -t hard-num --rejects "$T/k.ndjson" <"$T/in.ndjson"
  assert_success
  run jq -r '[.line, .reason] | @tsv' "$T/k.ndjson"
  assert_output --partial $'2\tnumber 1e400 is beyond what this tool represents'
}

# --- secrets

@test "kpub and ksub blank secret -X values in the process list once parsed" {
  start_kmock
  new_topic hard-secret 1
  for tool in kpub ksub; do
    if [ "$tool" = kpub ]; then
      # kpub waits on an open, empty stdin (the FIFO held open by fd 7).
      mkfifo "$T/in-$tool"
      kpub -q -b "$BROKERS" -t hard-secret -X sasl.password=hunter2 -Xssl.key.password=s3cr3t \
        <"$T/in-$tool" 2>"$T/err" &
      BG_PID=$!
      exec 7>"$T/in-$tool"
    else
      # ksub reads no stdin: it waits for records on the topic.
      ksub -q -b "$BROKERS" -t hard-secret -X sasl.password=hunter2 -Xssl.key.password=s3cr3t \
        </dev/null >/dev/null 2>"$T/err" &
      BG_PID=$!
      exec 7>/dev/null
    fi
    for i in $(seq 1 50); do
      tr '\0' ' ' </proc/$BG_PID/cmdline 2>/dev/null | grep -q 'sasl.password=\*' && break
      sleep 0.1
    done
    kill -0 "$BG_PID" || fail "$tool exited early: $(cat "$T/err")"
    run bash -c "tr '\0' ' ' </proc/$BG_PID/cmdline"
    refute_output --partial hunter2
    refute_output --partial s3cr3t
    assert_output --partial "sasl.password=*******"
    assert_output --partial "-Xssl.key.password=******"
    exec 7>&-
    # kpub may already have ended on the end of its input (fd 7 closed)
    kill "$BG_PID" 2>/dev/null || true
    wait "$BG_PID" || true
    BG_PID=
  done
}

@test "--dump-config hides sasl.oauthbearer.config" {
  run kpub --dump-config -b h:1 -X 'sasl.oauthbearer.config=principal=admin scope=x secret=abc'
  assert_success
  assert_line "sasl.oauthbearer.config=[hidden]"
  refute_output --partial "secret=abc"
}

@test "ru-fetch does not log ?token= values" {
  run ru-fetch -v --results 1 --retries 0 --timeout 1s --url "http://127.0.0.1:9/api/?token=t0psecret"
  refute_output --partial t0psecret
  assert_output --partial "token=***"
}

# --- a full disk

@test "--stats to a full device fails the run (exit 4), not exit 0" {
  [ -w /dev/full ] || fail "needs /dev/full"
  run jvalidate -s <(echo '{}') --stats /dev/full <<<'{"a":1}'
  assert_failure 4
  assert_output --partial "cannot write --stats file /dev/full"
}

@test "an --ack FIFO nobody reads (ksub died first): SIGTERM, or the end of a piped input, stops the writer at once, saying why (exit 0: nothing was read)" {
  mkfifo "$T/acks"
  echo '{}' >"$T/schema.json"
  local tool
  for tool in jvalidate fileload; do
    case $tool in
      jvalidate) cmd=(jvalidate --envelope -s "$T/schema.json" --ack "$T/acks") ;;
      fileload) cmd=(fileload --envelope --dir "$T/out" --format ndjson --ack "$T/acks") ;;
    esac
    "${cmd[@]}" </dev/null >/dev/null 2>"$T/$tool.err" &
    BG_PID=$!
    sleep 1
    kill -0 "$BG_PID" || fail "$tool exited before the signal: $(cat "$T/$tool.err")"
    start=$SECONDS
    kill -TERM "$BG_PID"
    st=0
    wait "$BG_PID" || st=$?
    BG_PID=
    cat "$T/$tool.err"
    [ $((SECONDS - start)) -le 3 ] || fail "$tool took $((SECONDS - start)) s to stop"
    [ "$st" -eq 0 ] || fail "$tool exited $st"
    grep -q "stopped before the --ack FIFO .* had a reader: nothing was read" "$T/$tool.err"
    # upstream gone (its pipe's writer closed) while waiting: the same, unasked
    start=$SECONDS
    st=0
    (sleep 1) | timeout 20 "${cmd[@]}" >/dev/null 2>"$T/$tool.err" || st=$?
    cat "$T/$tool.err"
    [ "$st" -eq 0 ] || fail "$tool exited $st when its input ended"
    [ $((SECONDS - start)) -le 4 ] || fail "$tool took $((SECONDS - start)) s after its input ended"
    grep -q "input ended before the --ack FIFO .* had a reader" "$T/$tool.err"
  done
}

@test "records left in a piped input whose writer has exited are read and acked once the --ack FIFO gets its reader (upstream faster than the reader's start)" {
  # engine: none (the FIFO wait is core's, shared by every sink)
  # The race seen in a pipeline: ksub opens its FIFO, emits everything, the
  # stage between hands it all over and exits, all before the sink's next look
  # at the FIFO. The sink must not take the hang-up for "nothing to ack".
  for i in $(seq 0 499); do
    echo "{\"topic\":\"users\",\"partition\":0,\"offset\":$i,\"value\":{\"seq\":$i}}"
  done >"$T/env.ndjson"
  echo '{"required":["missing"]}' >"$T/schema.json"   # every record rejected, so every one acked
  local tool
  for tool in jvalidate fileload; do
    rm -f "$T/acks" && mkfifo "$T/acks"
    case $tool in
      jvalidate) cmd=(jvalidate -q --envelope -s "$T/schema.json" --rejects "$T/rejects" --ack "$T/acks") ;;
      fileload) cmd=(fileload -q --envelope --dir "$T/out" --format ndjson --ack "$T/acks") ;;
    esac
    cat "$T/env.ndjson" | timeout 20 "${cmd[@]}" >/dev/null 2>"$T/$tool.err" &
    BG_PID=$!
    sleep 1   # the writer (cat) is long gone; 500 records wait in the pipe
    kill -0 "$BG_PID" || fail "$tool gave up on records still in its input: $(cat "$T/$tool.err")"
    timeout 20 cat "$T/acks" >"$T/acks.out"
    st=0
    wait "$BG_PID" || st=$?
    BG_PID=
    cat "$T/$tool.err"
    [ "$st" -eq 0 ] || fail "$tool exited $st"
    [ "$(wc -l <"$T/acks.out")" -eq 500 ] || fail "$tool acked $(wc -l <"$T/acks.out") of 500"
    [ "$(tail -1 "$T/acks.out")" = '{"topic":"users","partition":0,"offset":499}' ]
  done
  [ "$(wc -l <"$T/rejects")" -eq 500 ]
  [ "$(cat "$T"/out/* | wc -l)" -eq 500 ]
}

@test "a full stdout: the summary's out counts only records that were written (jvalidate, ru-fetch)" {
  [ -w /dev/full ] || fail "needs /dev/full"
  seq 1 20000 | sed 's/.*/{"a":&}/' >"$T/in"
  echo '{}' >"$T/s.json"
  run bash -c 'jvalidate -s "$1/s.json" --stats "$1/st.json" "$1/in" >/dev/full' _ "$T"
  assert_failure 4
  assert_output --partial "No space left on device"
  run jq -r '"\(.records_out) \(.valid)"' "$T/st.json"
  # records were validated, none reached the device
  [ "${output%% *}" = 0 ] || fail "records_out: $output"
  # a pipe that takes everything: out is everything
  jvalidate -q -s "$T/s.json" --stats "$T/st.json" "$T/in" >/dev/null
  [ "$(jq .records_out "$T/st.json")" = 20000 ]
  run bash -c 'ru-fetch --url "file://$1" --stats "$2" >/dev/full' _ "$PIPEKIT_ROOT/tests/data/rufetch/mixed.json" "$T/st.json"
  assert_failure 4
  [ "$(jq .records_out "$T/st.json")" = 0 ] || fail "ru-fetch records_out: $(cat "$T/st.json")"
}
