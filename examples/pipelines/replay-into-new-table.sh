#!/usr/bin/env bash
# Replay a whole topic into a new table (after a schema change, for a
# backfill, for a test copy), keeping each row's Kafka coordinates.
#   ./replay-into-new-table.sh users users_v2 schema.json
# No consumer group: the topic is read from the beginning to its current
# end (-e) and nothing is committed; run it again and the upsert makes it
# a no-op for rows already there.
set -euo pipefail
topic=${1:-users} table=${2:-users_replay} schema=${3:-examples/schemas/user-flat.schema.json}
ksub -q -t "$topic" -o beginning -e --envelope \
  | pgload --table "$table" --envelope --create --schema "$schema" --primary-key id \
      --mode upsert --key id \
      --map kafka_partition=@partition --map kafka_offset=@offset \
      --map id=id --map first_name=first_name --map last_name=last_name --map gender=gender \
      --map address=address --map post_code=post_code --map email=email --map username=username \
      --map dob=dob --map registered_date=registered_date --map phone=phone \
      --map picture=picture --map nat=nat
psql -X -c "SELECT count(*) AS rows, max(kafka_offset) AS last_offset FROM $table"
