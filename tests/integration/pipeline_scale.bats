#!/usr/bin/env bats
# Scale-out: a 3-broker kmock cluster, an 8-partition topic, and three
# `pipekit load` pipelines in one consumer group, started and stopped at
# different times (so the group rebalances while records flow). Every
# valid user must land exactly once.
load ../support/common
load ../support/pipeline/helpers
load ../support/pipeline/load
bats_require_minimum_version 1.5.0

TOOLS=("${PIPELINE_TOOLS[@]}")

setup_file() { pipeline_setup_file 30000 -n 3; }

teardown_file() {
  stop_kmock
  stop_postgres
}

setup() {
  require_tools "${TOOLS[@]}"
  W=$BATS_TEST_TMPDIR
  PIDS=()
}

teardown() {
  local p
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  return 0
}

@test "three load pipelines in one group, joining and leaving: every valid user exactly once" {
  scale_out
}
