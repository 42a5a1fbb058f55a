#!/usr/bin/env python3
"""Reads the Parquet files fileload wrote back with pyarrow and with DuckDB and
checks them against the records that went in, value by value and type by type.

    fileload_readback.py --schema S.json --expected IN.ndjson [--flatten] FILE.parquet...

The columns and their expected types come from the schema (the mapping of
fileload(1)); each record of IN.ndjson must be in the files exactly once (as a
multiset: the files may be partitions). Also checked per row group: the
footer's row counts and, for every column, null_count and min/max against the
row group's values. Prints one line per reader; exit 1 on the first mismatch.
Run it with the test venv's Python (scripts/setup makes build/venv)."""
import argparse
import datetime as dt
import json
import math
import sys
import uuid

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

UTC = dt.timezone.utc


def columns(schema, flatten):
    out = []

    def walk(obj, path, required_so_far):
        req = set(obj.get("required", []))
        for name, prop in obj["properties"].items():
            t = prop.get("type")
            if isinstance(t, list):
                alts = [a for a in t if a != "null"]
                t = alts[0] if len(set(alts)) == 1 else "union"
            r = required_so_far and name in req
            if flatten and t in ("object", None) and prop.get("properties"):
                walk(prop, path + [name], r)
                continue
            fmt = prop.get("format")
            if t == "union" or t in ("object", "array") or (t is None and ("properties" in prop or "items" in prop)):
                kind = "json"
            elif t == "string":
                kind = {"date-time": "date_time", "date": "date", "uuid": "uuid"}.get(fmt, "string")
            elif t == "integer":
                lo, hi = prop.get("minimum"), prop.get("maximum")
                kind = "int32" if lo is not None and hi is not None and lo >= -2**31 and hi < 2**31 else "int64"
            elif t in ("number", "boolean"):
                kind = t
            else:
                kind = "string"
            out.append(("_".join(path + [name]), path + [name], kind, r))

    walk(schema, [], True)
    return out


def parse_time(text):
    return dt.datetime.fromisoformat(text.replace("z", "Z").replace(" ", "T", 1)).astimezone(UTC)


def expected_value(kind, v):
    if v is None:
        return None
    if kind == "date_time":
        return parse_time(v)
    if kind == "date":
        return dt.date.fromisoformat(v)
    if kind == "uuid":
        return uuid.UUID(v)
    if kind == "json":
        return json.dumps(v)  # as the file holds it; both sides are compared after json.loads
    if kind == "number":
        return float(v)
    return v


def normal(kind, v):
    """A reader's value in the form expected_value gives."""
    if v is None:
        return None
    if kind == "uuid":
        if isinstance(v, uuid.UUID):
            return v
        if isinstance(v, (bytes, bytearray)):
            return uuid.UUID(bytes=bytes(v))
        return uuid.UUID(str(v))
    if kind == "json":
        return json.loads(v) if isinstance(v, str) else v
    if kind == "date_time" and isinstance(v, dt.datetime):
        return v.astimezone(UTC) if v.tzinfo else v.replace(tzinfo=UTC)
    return v


def lookup(record, path):
    for p in path:
        if not isinstance(record, dict) or p not in record:
            return None
        record = record[p]
    return record


ARROW_TYPES = {
    "string": ("string", "large_string"), "int32": ("int32",), "int64": ("int64",), "number": ("double",),
    "boolean": ("bool",), "date_time": ("timestamp[us, tz=UTC]",), "date": ("date32[day]",),
    "uuid": ("extension<arrow.uuid>", "fixed_size_binary[16]"), "json": ("string", "large_string", "extension<arrow.json>"),
}
DUCK_TYPES = {
    "string": ("VARCHAR",), "int32": ("INTEGER",), "int64": ("BIGINT",), "number": ("DOUBLE",), "boolean": ("BOOLEAN",),
    "date_time": ("TIMESTAMP WITH TIME ZONE",), "date": ("DATE",), "uuid": ("UUID",), "json": ("VARCHAR", "JSON"),
}


def fail(msg):
    print("MISMATCH: " + msg, file=sys.stderr)
    sys.exit(1)


def key(row):
    return json.dumps([str(v) if not isinstance(v, (dict, list)) else json.dumps(v, sort_keys=True) for v in row])


def compare(reader, cols, got_rows, want_rows):
    if len(got_rows) != len(want_rows):
        fail(f"{reader}: {len(got_rows)} rows, expected {len(want_rows)}")
    got = sorted(got_rows, key=key)
    want = sorted(want_rows, key=key)
    for g, w in zip(got, want):
        for (name, _, kind, _), gv, wv in zip(cols, g, w):
            if kind == "number" and gv is not None and wv is not None:
                same = gv == wv or (math.isnan(gv) and math.isnan(wv))
            else:
                same = gv == wv and type(gv) is type(wv)
            if not same:
                fail(f"{reader}: column {name}: got {gv!r} ({type(gv).__name__}), expected {wv!r} ({type(wv).__name__})")


def check_statistics(path, cols):
    meta = pq.ParquetFile(path).metadata
    table = pq.read_table(path)
    start = 0
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        part = table.slice(start, rg.num_rows)
        start += rg.num_rows
        for c, (name, _, kind, _) in enumerate(cols):
            stats = rg.column(c).statistics
            values = part.column(c).to_pylist()
            nulls = sum(v is None for v in values)
            if stats is None or stats.null_count != nulls:
                fail(f"{path} row group {g} column {name}: null_count {stats and stats.null_count}, data has {nulls}")
            present = [normal(kind, v) for v in values if v is not None]
            if kind in ("int32", "int64", "number", "string", "date_time", "date", "boolean") and present:
                if not stats.has_min_max:
                    if kind == "string":
                        continue  # long strings leave min/max out
                    fail(f"{path} row group {g} column {name}: no min/max")
                lo, hi = normal(kind, stats.min), normal(kind, stats.max)
                if kind == "string":
                    want_lo = min(present, key=lambda s: s.encode())
                    want_hi = max(present, key=lambda s: s.encode())
                else:
                    want_lo, want_hi = min(present), max(present)
                if (lo, hi) != (want_lo, want_hi):
                    fail(f"{path} row group {g} column {name}: min/max {lo!r}/{hi!r}, data {want_lo!r}/{want_hi!r}")
    if start != meta.num_rows or table.num_rows != meta.num_rows:
        fail(f"{path}: footer says {meta.num_rows} rows, row groups {start}, read {table.num_rows}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--schema", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--flatten", action="store_true")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    cols = columns(json.load(open(a.schema)), a.flatten)
    want = []
    for line in open(a.expected, encoding="utf-8"):
        if line.strip():
            rec = json.loads(line)
            want.append([normal(kind, expected_value(kind, lookup(rec, path))) for _, path, kind, _ in cols])

    # pyarrow: the schema's types and nullability, then every value.
    rows = []
    for f in a.files:
        t = pq.read_table(f)
        if [fld.name for fld in t.schema] != [c[0] for c in cols]:
            fail(f"pyarrow {f}: columns {t.schema.names}")
        for fld, (name, _, kind, required) in zip(t.schema, cols):
            if str(fld.type) not in ARROW_TYPES[kind]:
                fail(f"pyarrow {f}: column {name} is {fld.type}, expected {ARROW_TYPES[kind]}")
            if fld.nullable == required:
                fail(f"pyarrow {f}: column {name} nullable={fld.nullable}, required={required}")
        columns_py = [t.column(i).to_pylist() for i in range(t.num_columns)]
        for r in range(t.num_rows):
            rows.append([normal(cols[i][2], columns_py[i][r]) for i in range(len(cols))])
        check_statistics(f, cols)
    compare("pyarrow", cols, rows, want)
    print(f"pyarrow {pa.__version__}: {len(rows)} rows in {len(a.files)} files equal the input, types and statistics match")

    # DuckDB: its own reader, its own types.
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    rel = con.execute("SELECT * FROM read_parquet(?)", [a.files])
    described = [(d[0], str(d[1]).upper()) for d in rel.description]
    for (dname, dtype), (name, _, kind, _) in zip(described, cols):
        if dname != name or dtype not in DUCK_TYPES[kind]:
            fail(f"duckdb: column {dname} is {dtype}, expected {name} {DUCK_TYPES[kind]}")
    rows = [[normal(cols[i][2], v) for i, v in enumerate(r)] for r in rel.fetchall()]
    compare("duckdb", cols, rows, want)
    print(f"duckdb {duckdb.__version__}: {len(rows)} rows equal the input, types match")


if __name__ == "__main__":
    main()
