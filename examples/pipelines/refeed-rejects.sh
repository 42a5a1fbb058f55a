#!/usr/bin/env bash
# Re-feed the rejects after a fix. A reject line is
#   {"line":12,"reason":"...","record":<the original line>}
# (for load, the record is the envelope, with the user under "value").
# 1) see why records were rejected, 2) fix them (here: lower-case the
# gender, the commonest defect in our feed), 3) publish them again through
# ingest, which validates them again: what is still wrong is rejected again,
# with a reason, into the ingest rejects file.
#   ./refeed-rejects.sh ~/.local/state/pipekit/rejects/users.load.ndjson
set -euo pipefail
rejects=${1:?rejects file}
jq -r .reason "$rejects" | sed 's/ at .*//' | sort | uniq -c | sort -rn | head
fixed=$(mktemp)
jq -c '.record
       | if type == "object" and has("value") then .value else . end
       | select(type == "object")
       | if (.gender | type) == "string" then .gender |= ascii_downcase else . end' \
   "$rejects" >"$fixed"
echo "re-publishing $(wc -l <"$fixed") records"
pipekit ingest --once --input "$fixed"
# keep the old rejects for the record, start a new file
mv "$rejects" "$rejects.$(date +%Y%m%dT%H%M%S)"
rm -f "$fixed"
