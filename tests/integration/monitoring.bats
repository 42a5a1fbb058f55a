#!/usr/bin/env bats
# A real Prometheus (Debian's) scrapes `pipekit load --metrics-addr` while it
# streams users from Kafka (the run's Apache Kafka, or kmock) into the
# project's PostgreSQL with the real tools: the record rate moves while the
# stages run, the lag returns to 0, freshness and latency are there, the alert
# rules load, and every expression of the Grafana dashboard runs.
load ../support/common
load ../support/pipeline/helpers
bats_require_minimum_version 1.5.0

TOOLS=("${PIPELINE_TOOLS[@]}" prometheus)

# pipeline_setup_file: the dataset, kafka_engine + start_kmock (the run's Kafka, or kmock), PostgreSQL
setup_file() { pipeline_setup_file 8000; }

teardown_file() {
  stop_kmock
  stop_postgres
}

setup() {
  require_tools "${TOOLS[@]}"
  W=$BATS_TEST_TMPDIR
}

teardown() {
  for pid in ${PUB_PID:-} ${LOAD_PID:-} ${PROM_PID:-}; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in ${PUB_PID:-} ${LOAD_PID:-} ${PROM_PID:-}; do wait "$pid" 2>/dev/null || true; done
  return 0
}

# promql EXPR: the query's result vector (JSON), or fails.
promql() {
  local out
  out=$(curl -sf -G "http://$PROM/api/v1/query" --data-urlencode "query=$1") || return 1
  [ "$(jq -r .status <<<"$out")" = success ] || return 1
  jq -c .data.result <<<"$out"
}
# promql_value EXPR: the first sample's value, or empty.
promql_value() { promql "$1" | jq -r '.[0].value[1] // empty'; }

@test "Prometheus sees the load's record rate move while it streams, no counter go back across a kill -9, the lag return to 0, and the freshness" {
  echo "# engine: Prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}') (Debian), PostgreSQL, ${KAFKA_ENGINE:-kmock}" >&3
  T=$(unique_topic mon); new_topic "$T" 4
  "$PIPEKIT" load -b "$BROKERS" -t "$T" -G mon --table users_mon --schema "$TEST_SCHEMA" --state-dir "$W/state" \
    --metrics-addr 127.0.0.1:0 >"$W/load.out" 2>"$W/load.err" &
  LOAD_PID=$!
  wait_until 20 grep -q 'metrics on ' "$W/load.err"
  target=$(grep -oP 'metrics on http://\K[^/]+' "$W/load.err")
  PROM=127.0.0.1:$(free_port)
  cat >"$W/prometheus.yml" <<CONF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$PIPEKIT_ROOT/examples/prometheus/pipekit-alerts.yml"]
scrape_configs:
  - job_name: pipekit
    static_configs: [{targets: ["$target"]}]
CONF
  prometheus --config.file="$W/prometheus.yml" --storage.tsdb.path="$W/tsdb" --web.listen-address="$PROM" \
    --log.level=warn 2>"$W/prom.err" &
  PROM_PID=$!
  wait_until 30 curl -sf "http://$PROM/-/ready" -o /dev/null || fail "Prometheus not ready: $(cat "$W/prom.err")"

  # 7,600 valid users in 19 bursts of 400, one every 0.5 s: a stream, not a batch.
  split -l 400 -d -a 2 "$DATA/valid.ndjson" "$W/chunk."
  { for c in "$W"/chunk.*; do kpub -q -b "$BROKERS" -t "$T" -k id "$c" || exit 1; sleep 0.5; done; } &
  PUB_PID=$!

  # While the stages stream (none has exited), Prometheus sees pgload's rate.
  rate='sum(rate(pipekit_records_total{job="pipekit",stage="pgload",outcome="out"}[30s]))'
  wait_until 60 '[ "$(promql_value "$rate > 0")" != "" ]' || fail "no pgload rate: $(curl -s "http://$target/metrics" | grep records_total)"
  echo "pgload's rate while streaming: $(promql_value "$rate") records/s"
  [ "$(promql_value 'sum(pipekit_stage_up{job="pipekit"})')" = 3 ]
  [ "$(promql_value 'pipekit_restarts_total{job="pipekit"}')" = 0 ]
  # status --watch shows the running stages' live counts too.
  timeout -s INT 4 "$PIPEKIT" status --watch --interval 1s -b "$BROKERS" -t "$T" -G mon --table users_mon \
    --state-dir "$W/state" >"$W/watch" 2>/dev/null || true
  grep -E ' stage=pgload in=[1-9][0-9]* out=[1-9]' "$W/watch" || fail "no live pgload line: $(cat "$W/watch")"
  # A kill -9 of pgload mid-stream: the load restarts, and no counter goes back.
  kill -KILL "$(cat "$W"/state/run.load.*/pgload.pid)"
  wait_until 30 '[ "$(promql_value "pipekit_restarts_total{job=\"pipekit\"}")" = 1 ]' || fail "no restart seen"

  wait "$PUB_PID"
  PUB_PID=
  wait_rows users_mon 7600 60
  wait_until 60 '[ "$(promql_value "sum(pipekit_consumer_lag{topic=\"$T\"})")" = 0 ]' || fail "the lag did not return to 0"
  [ "$(psql_q 'SELECT count(DISTINCT id) FROM users_mon')" -eq 7600 ]
  # The counts of the killed pgload's last second (after its last live file)
  # are not in the totals; the rest are, and nothing went back.
  out=$(promql_value 'sum(pipekit_records_total{stage="pgload",outcome="out"})')
  latency_count=$(promql_value 'pipekit_sink_commit_latency_seconds_count{stage="pgload"}')
  echo "pgload out: $out, latency observations: $latency_count (7600 rows)"
  [ "${out%.*}" -gt 0 ]
  [ "${latency_count%.*}" -gt 0 ]
  resets=$(promql_value 'sum(resets(pipekit_records_total{job="pipekit"}[5m]))')
  [ "$resets" = 0 ] || fail "a counter went back $resets times across the restart"
  age=$(promql_value 'time() - pipekit_sink_last_committed_record_timestamp_seconds{stage="pgload"}')
  echo "freshness at the end: the newest row is $age s old"
  awk -v a="$age" 'BEGIN { exit !(a >= 0 && a < 120) }'
  p99=$(promql_value 'histogram_quantile(0.99, sum by (le) (pipekit_sink_commit_latency_seconds_bucket{stage="pgload"}))')
  echo "p99 Kafka-to-committed latency: $p99 s"
  [ -n "$p99" ]

  # The alert rules loaded and evaluate; none of them fires on a healthy load.
  rules=$(curl -sf "http://$PROM/api/v1/rules")
  [ "$(jq '[.data.groups[].rules[] | select(.health == "ok")] | length' <<<"$rules")" -eq 7 ]
  [ "$(jq '[.data.groups[].rules[] | select(.state == "firing")] | length' <<<"$rules")" -eq 0 ]

  # Every dashboard expression runs without an error (the instance variable: all).
  n=0
  while IFS= read -r expr; do
    promql "${expr//\$instance/.*}" >/dev/null || fail "the dashboard's expression fails: $expr"
    n=$((n + 1))
  done < <(jq -r '.panels[].targets[].expr' "$PIPEKIT_ROOT/examples/grafana/pipekit-dashboard.json")
  echo "$n dashboard expressions ran"
  [ "$n" -ge 13 ]
}
