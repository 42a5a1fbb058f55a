#!/usr/bin/env python3
"""Write NDJSON records to stdout at a steady rate and note when each was sent.

    feed.py RECORDS.ndjson RATE SENT.tsv [--count N]

Writes one line every 1/RATE s (paced against the start, so a late line does
not shift the ones after it), flushing each, and appends "id<TAB>epoch" to
SENT.tsv for each line at the moment it was written. Stops after --count
lines or at the end of the file.
"""
import argparse
import json
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("records")
ap.add_argument("rate", type=float)
ap.add_argument("sent")
ap.add_argument("--count", type=int, default=0)
a = ap.parse_args()
out = sys.stdout.buffer
start = time.monotonic()
n = 0
with open(a.records, "rb") as src, open(a.sent, "w") as sent:
    for line in src:
        if a.count and n >= a.count:
            break
        due = start + n / a.rate
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        out.write(line)
        out.flush()
        sent.write(f"{json.loads(line)['id']}\t{time.time():.6f}\n")
        n += 1
