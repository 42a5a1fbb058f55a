#!/usr/bin/env python3
"""check_pipeline.py --valid valid.ndjson --rows rows.ndjson
                     [--defects defects.tsv --rejects FILE...]
Compares what landed in the table (rows.ndjson: `SELECT row_to_json(t)`)
with the valid records that were sent, by key and by content, and checks
that every defective record is in a rejects file with a reason. Prints each
problem (at most 20 of a kind) and exits 1 if there is any."""
import argparse, datetime, json, sys
from collections import Counter


def norm(field, v):
    """The table may type a column (timestamptz, uuid): compare values, not spellings."""
    if v is None:
        return None
    if field in ("dob", "registered_date") and isinstance(v, str):
        try:
            return datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).astimezone(datetime.timezone.utc)
        except ValueError:
            return v
    return str(v).lower() if field == "id" else str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--valid", required=True)
    ap.add_argument("--rows", required=True)
    ap.add_argument("--defects")
    ap.add_argument("--rejects", nargs="*", default=[])
    ap.add_argument("--key", default="id")
    a = ap.parse_args()
    problems = Counter()

    def problem(kind, msg):
        problems[kind] += 1
        if problems[kind] <= 20:
            print(f"{kind}: {msg}")

    sent = {}
    for line in open(a.valid):
        r = json.loads(line)
        sent[str(r[a.key]).lower()] = r
    seen = Counter()
    rows = {}
    for line in open(a.rows):
        if not line.strip():
            continue
        r = json.loads(line)
        k = str(r.get(a.key)).lower()
        seen[k] += 1
        rows[k] = r
    for k, n in seen.items():
        if n > 1:
            problem("duplicate", f"{k} is in the table {n} times")
        if k not in sent:
            problem("unexpected", f"{k} is in the table but is not a valid record that was sent")
    for k, r in sent.items():
        if k not in rows:
            problem("missing", f"{k} was sent, valid, and is not in the table")
            continue
        for f, v in r.items():
            if f not in rows[k]:
                problem("column", f"{k}: no column {f}")
            elif norm(f, rows[k][f]) != norm(f, v):
                problem("content", f"{k}: {f} is {rows[k][f]!r}, sent {v!r}")
    print(f"table: {len(rows)} keys, {sum(seen.values())} rows; sent {len(sent)} valid records")

    if a.defects:
        text = []
        reasons = 0
        for path in a.rejects:
            try:
                for line in open(path, errors="replace"):
                    text.append(line)
                    try:
                        if json.loads(line).get("reason"):
                            reasons += 1
                    except (ValueError, AttributeError):
                        problem("reject_format", f"{path}: a reject line is not a JSON object: {line[:80]!r}")
            except FileNotFoundError:
                pass
        blob = "".join(text)
        n_def = 0
        for line in open(a.defects):
            uid, kind = line.rstrip("\n").split("\t")
            n_def += 1
            hit = [l for l in text if uid in l] if uid in blob else []
            if not hit:
                problem("unrejected", f"{uid} ({kind}) is not in any rejects file")
            elif not any('"reason"' in l for l in hit):
                problem("no_reason", f"{uid} ({kind}) is rejected without a reason")
            if uid.lower() in rows:
                problem("loaded_defect", f"{uid} ({kind}) is in the table")
        print(f"rejects: {len(text)} lines ({reasons} with a reason) for {n_def} defective records")
    if problems:
        print("FAILED: " + ", ".join(f"{k} {n}" for k, n in sorted(problems.items())))
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
