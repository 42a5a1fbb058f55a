#!/usr/bin/env bats
# pipekit's monitoring without servers: the example alert rules (promtool's
# own unit tests), the dashboard's metric names, and an endpoint that slow or
# hostile clients cannot blind. The stages are test doubles (fakebin);
# tests/integration/monitoring.bats scrapes real tools with a real Prometheus.
load ../support/common
bats_require_minimum_version 1.5.0

setup() {
  # engine: the test doubles (fakebin); promtool from Debian's prometheus package
  command -v promtool >/dev/null || fail "needs promtool: run scripts/setup (Debian package prometheus)"
  FAKEBIN=$PIPEKIT_ROOT/tests/support/pipeline/fakebin
  W=$BATS_TEST_TMPDIR
  echo '{"type":"object"}' >"$W/schema.json"
  FAKEPATH=$FAKEBIN:/usr/local/bin:/usr/bin:/bin
  PK=$PIPEKIT_BUILD/bin/pipekit
  EX=$PIPEKIT_ROOT/examples
}

teardown() {
  if [ -n "${PK_PID:-}" ]; then kill -TERM "$PK_PID" 2>/dev/null; wait "$PK_PID" 2>/dev/null || true; fi
  if [ -n "${SLOW_PID:-}" ]; then kill "$SLOW_PID" 2>/dev/null; wait "$SLOW_PID" 2>/dev/null || true; fi
  return 0
}

# start_load: a streaming load of doubles with --metrics-addr; sets URL.
start_load() {
  FAKE_HANG_ksub=1 PATH=$FAKEPATH "$PK" load --metrics-addr 127.0.0.1:0 -b 127.0.0.1:9 --schema "$W/schema.json" \
    --state-dir "$W/state" >"$W/out" 2>"$W/err" &
  PK_PID=$!
  wait_until 10 grep -q 'metrics on ' "$W/err"
  URL=$(grep -oP 'metrics on \K\S+' "$W/err")
  HOSTPORT=${URL#http://}
  HOSTPORT=${HOSTPORT%/metrics}
}

# The families pipekit exposes, from the # TYPE lines of a scrape.
exposed_names() { curl -sf "$URL" | awk '/^# TYPE/ { print $3 }' | sort -u; }

@test "the example alert rules pass promtool's checks and their unit tests" {
  run promtool check rules "$EX/prometheus/pipekit-alerts.yml"
  assert_success
  cd "$EX/prometheus"
  run promtool test rules pipekit-alerts.test.yml
  assert_success
  assert_output --partial SUCCESS
}

@test "every metric the dashboard and the alert rules use is one pipekit exposes and docs/monitoring.md explains" {
  start_load
  exposed=$(exposed_names)
  grep -qx pipekit_sink_commit_latency_seconds <<<"$exposed"
  used=$( { jq -r '.panels[].targets[].expr' "$EX/grafana/pipekit-dashboard.json"; grep -E '^\s+(expr:|  )' "$EX/prometheus/pipekit-alerts.yml"; } |
    grep -oE '\b(pipekit|process)_[a-z_]+' | sed -E 's/_(bucket|sum|count)$//' | sort -u)
  [ "$(wc -l <<<"$used")" -ge 9 ]
  for name in $used; do
    grep -qx "$name" <<<"$exposed" || fail "$name is used but not exposed"
    grep -q "\`$name" "$PIPEKIT_ROOT/docs/monitoring.md" || fail "$name is not in docs/monitoring.md"
  done
  run promtool check metrics < <(curl -sf "$URL")
  assert_success
}

@test "the endpoint: a client sending a byte every 1.5 s, 80 idle connections and an oversized request blind nobody" {
  start_load
  # A slow client: one byte of a request every 1.5 s.
  python3 -c '
import socket, sys, time
h, p = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((h, int(p)))
for b in b"GET /metrics HTTP/1.1\r\n":
    s.send(bytes([b])); time.sleep(1.5)
' "$HOSTPORT" &
  SLOW_PID=$!
  # 80 connections that never send anything (more than the endpoint keeps).
  python3 -c '
import socket, sys, time
h, p = sys.argv[1].rsplit(":", 1)
conns = [socket.create_connection((h, int(p))) for _ in range(80)]
time.sleep(30)
' "$HOSTPORT" &
  IDLE_PID=$!
  sleep 0.5   # the thing tested: both hold their connections while curl asks
  start=$EPOCHREALTIME
  run curl -s -m 5 -o "$W/m" -w '%{http_code}' "$URL"
  kill "$IDLE_PID" 2>/dev/null || true
  assert_output 200
  grep -q '^pipekit_stage_up{stage="ksub"} 1' "$W/m"
  took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
  echo "answered in $took ms with a slow client and 80 idle ones connected"
  [ "$took" -lt 2000 ]
  # An oversized request is refused, not buffered.
  run python3 -c '
import socket, sys
h, p = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((h, int(p))); s.settimeout(5)
s.sendall(b"GET /metrics HTTP/1.1\r\nX-Big: " + b"b" * 9000)
print(s.recv(100).split(b"\r\n")[0].decode())
' "$HOSTPORT"
  assert_output "HTTP/1.1 431 Request Header Fields Too Large"
  # The silent client's connection is closed at its deadline (5 s), not kept.
  python3 -c '
import socket, sys, time
h, p = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((h, int(p))); s.settimeout(10)
t = time.time(); data = s.recv(100)
print("closed after %.1f s" % (time.time() - t)); sys.exit(0 if data == b"" and time.time() - t < 8 else 1)
' "$HOSTPORT"
}
