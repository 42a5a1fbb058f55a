#!/usr/bin/env bash
# Mirror a topic to another cluster (or another topic), keys and headers
# included, resuming where it stopped (consumer group "mirror").
#   SRC=kafka-a:9092 DST=kafka-b:9092 ./mirror-topic.sh users [users]
# Delivery: ksub commits what it has written to the pipe, so a crash of kpub
# can lose what was in flight between them; kpub --failed keeps what the
# destination refused (re-publish it with kpub --envelope < failed.ndjson).
# For exactly-the-same partitions add --keep-partition (same partition count).
set -euo pipefail
topic=${1:-users} dest_topic=${2:-$1}
ksub -q -b "$SRC" -t "$topic" -G mirror --envelope \
  | kpub -q -b "$DST" -t "$dest_topic" --envelope --keep-timestamp --failed mirror-failed.ndjson
