#!/usr/bin/env bats
# ksub in consumer groups, through real pipes: commits only what was written
# (or acknowledged), signals and EPIPE mid-stream, rebalances between three
# processes, interop with kcat.
load ../support/common

# kmock's group coordinator waits a session timeout for a member that left
# before it lets a new one in: keep it short so restarts are quick.
GX=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=1000)

setup_file() { kafka_engine; }
setup() { start_kmock -t g8:8 -t acks:2 -t big:8; }
teardown() {
  for p in ${BG_PIDS:-}; do kill "$p" 2>/dev/null || true; done
  stop_kmock
}

# committed TOPIC GROUP: the sum of the group's committed offsets.
committed() {
  ksub -q -b "$BROKERS" -t "$1" -G "$2" --offsets --json | jq -s 'map(.committed // 0) | add'
}

@test "ksub -G -e: reads every record once, commits it, and a rerun finds nothing" {
  seq 1 1000 | kcat -P -b "$BROKERS" -t g8
  run bash -c "timeout 60 ksub -q -b $BROKERS -t g8 -G ge ${GX[*]} -e | sort -n"
  assert_success
  assert_output "$(seq 1 1000)"
  run committed g8 ge
  assert_output 1000
  run ksub -q -b "$BROKERS" -t g8 -G ge --offsets --json
  refute_output --partial '"lag":1'
  run timeout 60 ksub -q -b "$BROKERS" -t g8 -G ge "${GX[@]}" -e
  assert_success
  assert_output ""
}

@test "ksub -G ^regex subscribes by pattern" {
  seq 1 20 | kcat -P -b "$BROKERS" -t g8
  run bash -c "timeout 60 ksub -q -b $BROKERS -t '^g[0-9]\$' -G gr ${GX[*]} -e | sort -n"
  assert_success
  assert_output "$(seq 1 20)"
}

@test "ksub | head -3: quiet exit 0, nothing unwritten committed, a restart reads the rest" {
  make_users 3000 "$BATS_TEST_TMPDIR/users"
  kcat -P -b "$BROKERS" -t big -l "$BATS_TEST_TMPDIR/users"
  run bash -c "timeout 60 ksub -b $BROKERS -t big -G gh ${GX[*]} -e 2>$BATS_TEST_TMPDIR/err | head -3 | wc -l; echo \"rc=\${PIPESTATUS[0]}\""
  assert_output "$(printf '3\nrc=0')"
  run grep -i error "$BATS_TEST_TMPDIR/err"
  assert_failure
  c=$(committed big gh)
  [ "$c" -lt 3000 ]
  # Whatever was committed had been written; the rest comes again.
  run bash -c "timeout 60 ksub -q -b $BROKERS -t big -G gh ${GX[*]} -e | wc -l"
  assert_output "$((3000 - c))"
  run committed big gh
  assert_output 3000
}

@test "three ksub -G processes on 8 partitions share the records: none missing, none twice" {
  # The three join first (so each gets a share), then the records come; each
  # stops after 8 s without records, leaving the group: the rebalances hand
  # its partitions to the others at the committed offsets.
  for i in 1 2 3; do
    timeout 90 ksub -b "$BROKERS" -t g8 -G g3 "${GX[@]}" --idle-timeout 8s >"$BATS_TEST_TMPDIR/out$i" 2>"$BATS_TEST_TMPDIR/err$i" &
    pids[$i]=$!
  done
  BG_PIDS="${pids[*]}"
  # Produce once the group has settled: every member's last assignment is
  # not empty. (kmock refuses commits while a group rebalances, which a real
  # broker allows: a rebalance mid-stream could replay records there.)
  for t in $(seq 400); do   # kmock can take a few join rounds
    settled=1
    for i in 1 2 3; do
      grep "assigned" "$BATS_TEST_TMPDIR/err$i" 2>/dev/null | tail -1 | grep -q "g8\[" || settled=0
    done
    if [ $settled = 1 ]; then break; fi
    sleep 0.1
  done
  [ $settled = 1 ] || fail "the group did not settle: $(cat "$BATS_TEST_TMPDIR"/err[123])"
  # Keyed, so the records spread over all 8 partitions.
  seq 1 4000 | awk '{ print $1 ":" $1 }' | kcat -P -b "$BROKERS" -t g8 -K:
  for i in 1 2 3; do
    wait "${pids[$i]}" || fail "consumer $i exited $? ($(cat "$BATS_TEST_TMPDIR/err$i"))"
  done
  run bash -c "cat $BATS_TEST_TMPDIR/out[123] | sort -n | cmp - <(seq 1 4000)"
  assert_success "$(wc -l "$BATS_TEST_TMPDIR"/out[123]; cat "$BATS_TEST_TMPDIR"/err[123])"
  for i in 1 2 3; do [ -s "$BATS_TEST_TMPDIR/out$i" ] || fail "consumer $i read nothing"; done
  run committed g8 g3
  assert_output 4000
}

@test "ksub -G -e with more members than partitions: the member assigned nothing exits too" {
  seq 1 300 | awk '{ print $1 ":" $1 }' | kcat -P -b "$BROKERS" -t acks -K:
  for i in 1 2 3; do
    timeout 60 ksub -b "$BROKERS" -t acks -G gx "${GX[@]}" -e >"$BATS_TEST_TMPDIR/out$i" 2>"$BATS_TEST_TMPDIR/err$i" &
    pids[$i]=$!
  done
  BG_PIDS="${pids[*]}"
  for i in 1 2 3; do
    wait "${pids[$i]}" || fail "member $i exited $? ($(cat "$BATS_TEST_TMPDIR/err$i"))"
  done
  run bash -c "cat $BATS_TEST_TMPDIR/out[123] | sort -n"
  assert_output "$(seq 1 300)"
  # A member that read nothing was assigned nothing (or joined after the
  # others had read everything, as happens on a real broker) and still exited.
  for i in 1 2 3; do
    [ -s "$BATS_TEST_TMPDIR/out$i" ] || grep -q 'assigned nothing\|nothing to read\|at the end' "$BATS_TEST_TMPDIR/err$i" ||
      echo "# member $i read nothing: $(tail -1 "$BATS_TEST_TMPDIR/err$i")" >&3
  done
}

@test "--commit-acks: only acknowledged records are committed; a restart resumes at the lowest unacked offset" {
  seq 0 9 | kcat -P -b "$BROKERS" -t acks -p 0
  seq 100 109 | kcat -P -b "$BROKERS" -t acks -p 1
  fifo=$BATS_TEST_TMPDIR/acks.fifo
  mkfifo "$fifo"
  # A downstream that acknowledges everything but partition 0, offsets 3 and 6.
  run bash -c "timeout 60 ksub -b $BROKERS -t acks -G ga ${GX[*]} -e --envelope --commit-acks $fifo --ack-timeout 2s \
      | jq -c --unbuffered 'select(.partition != 0 or (.offset != 3 and .offset != 6)) | {topic,partition,offset}' >$fifo;
      echo \"rc=\${PIPESTATUS[0]}\""
  assert_output --partial "2 record(s) written but not acknowledged"
  assert_line "rc=1"
  run ksub -q -b "$BROKERS" -t acks -G ga --offsets --json
  assert_line --index 0 --partial '"partition":0,"low":0,"high":10,"group":"ga","committed":3,"lag":7'
  assert_line --index 1 --partial '"partition":1,"low":0,"high":10,"group":"ga","committed":10,"lag":0'
  # Replayed from offset 3 (the lowest unacked), none skipped.
  run timeout 60 ksub -q -b "$BROKERS" -t acks -G ga "${GX[@]}" -e
  assert_output "$(seq 3 9)"
}

@test "--commit-acks: out-of-order and duplicate acks from two writers; the FIFO is created" {
  seq 1 200 | kcat -P -b "$BROKERS" -t g8
  fifo=$BATS_TEST_TMPDIR/made-by-ksub
  out=$BATS_TEST_TMPDIR/out
  timeout 90 ksub -b "$BROKERS" -t g8 -G go "${GX[@]}" -e --envelope --commit-acks "$fifo" >"$out" 2>"$BATS_TEST_TMPDIR/err" &
  pid=$!
  BG_PIDS=$pid
  for i in $(seq 100); do
    if [ -p "$fifo" ] && [ "$(wc -l <"$out")" -eq 200 ]; then break; fi
    sleep 0.2
  done
  [ -p "$fifo" ]
  # Nothing acked yet: nothing committed.
  run committed g8 go
  assert_output 0
  echo 'not an ack' >"$fifo"
  head -5 "$out" | jq -c '{topic,partition,offset}' >"$fifo"   # acked twice
  # Two concurrent writers, each writing whole lines (jq --unbuffered: one
  # write per line, as the tools do; a 4 KiB stdio block would split lines).
  tac "$out" | awk 'NR % 2 == 0' | jq --unbuffered -c '{topic,partition,offset}' >"$fifo" &
  tac "$out" | awk 'NR % 2 == 1' | jq --unbuffered -c '{topic,partition,offset}' >"$fifo" &
  wait $pid || fail "ksub exited $?: $(cat "$BATS_TEST_TMPDIR/err")"
  run committed g8 go
  assert_output 200
  run cat "$BATS_TEST_TMPDIR/err"
  assert_output --partial "not an ack"
  assert_output --partial "in 200, out 200"
}

# A reader that stays away for a while: ksub fills the pipe and blocks.
slow_reader() { { sleep "$1"; cat; } <"$2" >"$3"; }

@test "SIGTERM mid-stream with --commit-acks: stdout closed, acks awaited, exactly the acked records committed" {
  make_users 3000 "$BATS_TEST_TMPDIR/users"
  kcat -P -b "$BROKERS" -t big -l "$BATS_TEST_TMPDIR/users"
  data=$BATS_TEST_TMPDIR/data fifo=$BATS_TEST_TMPDIR/acks out=$BATS_TEST_TMPDIR/out
  mkfifo "$data"
  slow_reader 6 "$data" "$out" &
  reader=$!
  ksub -q -b "$BROKERS" -t big -G gt "${GX[@]}" --envelope --commit-acks "$fifo" --ack-timeout 20s >"$data" &
  pid=$!
  BG_PIDS="$pid $reader"
  sleep 5
  kill -TERM $pid
  wait $reader   # EOF: ksub closed stdout although it is still running
  kill -0 $pid
  n=$(wc -l <"$out")
  [ "$n" -gt 0 ]
  [ "$n" -lt 3000 ]
  jq -c '{topic,partition,offset}' "$out" >"$fifo"
  rc=0; wait $pid || rc=$?
  [ "$rc" -eq 0 ]
  run committed big gt
  assert_output "$n"
  run bash -c "timeout 60 ksub -q -b $BROKERS -t big -G gt ${GX[*]} -e | wc -l"
  assert_output "$((3000 - n))"
}

@test "SIGTERM mid-stream without acks: what was written is committed, nothing more" {
  make_users 3000 "$BATS_TEST_TMPDIR/users"
  kcat -P -b "$BROKERS" -t big -l "$BATS_TEST_TMPDIR/users"
  data=$BATS_TEST_TMPDIR/data out=$BATS_TEST_TMPDIR/out
  mkfifo "$data"
  slow_reader 6 "$data" "$out" &
  reader=$!
  ksub -q -b "$BROKERS" -t big -G gn "${GX[@]}" >"$data" &
  pid=$!
  BG_PIDS="$pid $reader"
  sleep 5
  kill -TERM $pid
  rc=0; wait $pid || rc=$?
  [ "$rc" -eq 0 ]
  wait $reader
  n=$(wc -l <"$out")
  [ "$n" -gt 0 ]
  [ "$n" -lt 3000 ]
  run committed big gn
  assert_output "$n"
  run bash -c "cat $out - < <(timeout 60 ksub -q -b $BROKERS -t big -G gn ${GX[*]} -e) | sort | uniq | wc -l"
  assert_output 3000
}

@test "interop: ksub -e reads exactly what kcat -P wrote; --envelope keeps kcat's keys and headers" {
  make_users 2000 "$BATS_TEST_TMPDIR/users"
  kcat -P -b "$BROKERS" -t big -l "$BATS_TEST_TMPDIR/users"
  run bash -c "timeout 60 ksub -q -b $BROKERS -t big -e | sort | cmp - <(sort $BATS_TEST_TMPDIR/users)"
  assert_success
  awk '{ print "key-" NR "\t" $0 }' "$BATS_TEST_TMPDIR/users" | head -500 \
    | kcat -P -b "$BROKERS" -t g8 -K $'\t' -H origin=kcat -H seq=1
  run bash -c "timeout 60 ksub -q -b $BROKERS -t g8 -e --envelope | jq -c '[.key, .headers, .value]' | sort"
  expected=$(awk '{ print "key-" NR "\t" $0 }' "$BATS_TEST_TMPDIR/users" | head -500 \
    | jq -R -c 'split("\t") | [.[0], {"origin":"kcat","seq":"1"}, (.[1] | fromjson)]' | sort)
  [ "$output" = "$expected" ] || fail "envelopes differ from what kcat wrote"
  # And kcat -J output is a well-formed sibling: the same payload text.
  run bash -c "kcat -C -b $BROKERS -t g8 -e -q -J | jq -r .payload | sort | cmp - <(head -500 $BATS_TEST_TMPDIR/users | sort)"
  assert_success
}

@test "--commit-acks: a signal while waiting for acks stops the wait and commits what was acknowledged" {
  seq 0 9 | kcat -P -b "$BROKERS" -t acks -p 0
  fifo=$BATS_TEST_TMPDIR/acks.fifo out=$BATS_TEST_TMPDIR/out
  ksub -b "$BROKERS" -t acks -G gw "${GX[@]}" -e --envelope --commit-acks "$fifo" --ack-timeout 60s \
    >"$out" 2>"$BATS_TEST_TMPDIR/err" &
  pid=$!
  BG_PIDS=$pid
  for i in $(seq 100); do if [ "$(wc -l <"$out")" -eq 10 ]; then break; fi; sleep 0.2; done
  head -4 "$out" | jq -c '{topic,partition,offset}' >"$fifo"
  sleep 0.5
  start=$(date +%s)
  kill -TERM $pid
  rc=0; wait $pid || rc=$?
  [ $(( $(date +%s) - start )) -lt 10 ]
  [ "$rc" -eq 1 ]
  run ksub -q -b "$BROKERS" -t acks -G gw --offsets --json
  assert_line --index 0 --partial '"partition":0,"low":0,"high":10,"group":"gw","committed":4'
}

@test "--commit-acks: a downstream that writes acks in big bursts never deadlocks ksub" {
  # The downstream reads 5,000 envelopes, then writes their 5,000 acks (over
  # 200 KB, more than a FIFO holds) before it reads on. ksub must keep
  # draining the ack FIFO even while its stdout is full.
  make_users 20000 "$BATS_TEST_TMPDIR/users.ndjson"
  kpub -q -b "$BROKERS" -t big --key login.uuid "$BATS_TEST_TMPDIR/users.ndjson"
  fifo=$BATS_TEST_TMPDIR/acks
  mkfifo "$fifo"
  cat >"$BATS_TEST_TMPDIR/bursty.py" <<'PY'
import json, sys
pending = []
with open(sys.argv[1], "w") as ack:
    def flush():
        for e in pending:
            ack.write(json.dumps({"topic": e["topic"], "partition": e["partition"], "offset": e["offset"]}) + "\n")
        ack.flush()
        pending.clear()
    for line in sys.stdin:
        pending.append(json.loads(line))
        if len(pending) >= 5000:
            flush()
    flush()
PY
  # (timeout wraps the whole pipe: wrapping ksub alone would hold its stdout open.)
  run timeout 90 bash -c "ksub -q -b $BROKERS -t big -G gb ${GX[*]} -e --envelope --commit-acks $fifo \
               | python3 $BATS_TEST_TMPDIR/bursty.py $fifo"
  assert_success
  run committed big gb
  assert_output 20000
}
