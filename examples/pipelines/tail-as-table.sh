#!/usr/bin/env bash
# Tail a topic as a table: new users as they arrive, one aligned row each.
#   KAFKA_BROKERS=localhost:9092 ./tail-as-table.sh [TOPIC]
# No group: nothing is committed, any number of people can watch.
set -euo pipefail
topic=${1:-users}
printf '%-36s  %-12s  %-12s  %-3s  %s\n' ID FIRST LAST NAT EMAIL
ksub -q -t "$topic" -o end \
  | jq --unbuffered -r '[.id, .first_name, .last_name, .nat, .email] | @tsv' \
  | awk -F'\t' '{ printf "%-36s  %-12s  %-12s  %-3s  %s\n", $1, $2, $3, $4, $5; fflush() }'
