#!/usr/bin/env python3
"""Check a Parquet file against the rows it should hold, with pyarrow and duckdb.

    verify.py FILE.parquet FILE.ndjson

The NDJSON file's first line is a header object:
    {"schema": [{"name": "id", "type": "int64", "nullable": false}, ...],
     "codec": "SNAPPY" | "ZSTD" | "UNCOMPRESSED",
     "dictionary": true | false,          # expect RLE_DICTIONARY pages or none
     "row_groups": 3,                     # optional: expected number of row groups
     "max_statistics_bytes": 4096}        # string min/max longer than this are left out
and every further line is one row, a JSON array in schema order:
    string/json: a string; int32/int64: an integer; float64: a number, NaN,
    Infinity or -Infinity (-0.0 keeps its sign); boolean: true/false;
    timestamp: microseconds since the epoch (UTC); date: days since 1970-01-01;
    uuid: the canonical text form; null for null.

     "fallback": ["s"]}                   # optional: columns expected to have both
                                          # RLE_DICTIONARY and PLAIN data pages in some row group
Checked: every value and its type (pyarrow and duckdb), row counts overall and
per row group, codec, dictionary encoding, page CRCs (pyarrow verifies them),
and each column chunk's footer statistics (min/max/null_count) against the
rows of its row group. A small Thrift compact decoder of its own also walks
the footer and every page header: sizes, offsets, CRCs, encoding_stats,
nan_count and column_orders. Filters (=, >=, <) on probe values through duckdb
and pyarrow datasets, which skip row groups by statistics, must count what the
expected rows say. Writes nothing. Exit status 0 when all agree.
"""
import json
import math
import struct
import sys
import uuid
import zlib

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

ARROW_TYPES = {
    "string": lambda t: t in (pa.string(), pa.large_string()),
    "json": lambda t: t in (pa.string(), pa.large_string()) or str(t).startswith("extension<arrow.json"),
    "int32": lambda t: t == pa.int32(),
    "int64": lambda t: t == pa.int64(),
    "float64": lambda t: t == pa.float64(),
    "boolean": lambda t: t == pa.bool_(),
    "timestamp": lambda t: pa.types.is_timestamp(t) and t.unit == "us" and t.tz in ("UTC", "+00:00"),
    "date": lambda t: t == pa.date32(),
    "uuid": lambda t: t == pa.binary(16) or str(t).startswith("extension<arrow.uuid"),
}

DUCKDB_TYPES = {
    "string": {"VARCHAR"},
    "json": {"JSON", "VARCHAR"},
    "int32": {"INTEGER"},
    "int64": {"BIGINT"},
    "float64": {"DOUBLE"},
    "boolean": {"BOOLEAN"},
    "timestamp": {"TIMESTAMP WITH TIME ZONE"},
    "date": {"DATE"},
    "uuid": {"UUID"},
}

PHYSICAL = {
    "string": "BYTE_ARRAY", "json": "BYTE_ARRAY", "int32": "INT32", "int64": "INT64",
    "float64": "DOUBLE", "boolean": "BOOLEAN", "timestamp": "INT64", "date": "INT32",
    "uuid": "FIXED_LEN_BYTE_ARRAY",
}


class Checker:
    def __init__(self):
        self.failures = []
        self.checks = 0

    def eq(self, what, got, want):
        self.checks += 1
        if not same(got, want):
            self.failures.append(f"{what}: got {got!r}, want {want!r}")

    def true(self, what, cond):
        self.checks += 1
        if not cond:
            self.failures.append(what)


def same(a, b):
    """Equality that tells NaN from NaN-less values and -0.0 from 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return type(a) is type(b) and a == b or (a is None and b is None)


def expected_cell(kind, v):
    """The expected value in the form both readers' results are mapped to."""
    if v is None:
        return None
    if kind == "uuid":
        return str(uuid.UUID(v))
    if kind == "float64":
        return float(v)
    return v


def arrow_column_values(kind, col):
    if kind == "timestamp":
        return col.cast(pa.int64()).to_pylist()
    if kind == "date":
        return col.cast(pa.int32()).to_pylist()
    values = col.to_pylist()
    if kind == "uuid":  # bytes from fixed_size_binary(16), uuid.UUID from the arrow.uuid extension
        return [None if v is None else str(v if isinstance(v, uuid.UUID) else uuid.UUID(bytes=v)) for v in values]
    return values


def utf8(s):
    return s.encode("utf-8")


def expected_stats(kind, values, max_stat_bytes):
    """(null_count, min, max) in the raw/physical form pyarrow's min_raw/max_raw gives, or None bounds."""
    present = [v for v in values if v is not None]
    nulls = len(values) - len(present)
    if kind == "float64":
        present = [float(v) for v in present if not math.isnan(float(v))]
        if not present:
            return nulls, None, None
        lo, hi = min(present), max(present)
        if lo == 0:
            lo = -0.0
        if hi == 0:
            hi = 0.0
        return nulls, lo, hi
    if not present:
        return nulls, None, None
    if kind in ("string", "json"):
        b = [utf8(v) for v in present]
        lo, hi = min(b), max(b)
        if len(lo) > max_stat_bytes or len(hi) > max_stat_bytes:
            return nulls, None, None
        return nulls, lo, hi
    if kind == "uuid":
        b = [uuid.UUID(v).bytes for v in present]
        return nulls, min(b), max(b)
    return nulls, min(present), max(present)


def raw_stat(kind, raw):
    if raw is None:
        return None
    if kind in ("string", "json"):
        return raw if isinstance(raw, bytes) else utf8(raw)
    if kind == "uuid":
        return bytes(raw)
    if kind == "float64":
        return float(raw)
    if kind == "boolean":
        return bool(raw)
    return int(raw)


def check_pyarrow(c, path, header, rows):
    schema = header["schema"]
    pf = pq.ParquetFile(path, page_checksum_verification=True)
    meta = pf.metadata
    c.eq("pyarrow num_rows", meta.num_rows, len(rows))
    c.eq("pyarrow num_columns", meta.num_columns, len(schema))
    c.true(f"created_by {meta.created_by!r} starts with pipekit", (meta.created_by or "").startswith("pipekit"))
    if "row_groups" in header:
        c.eq("pyarrow num_row_groups", meta.num_row_groups, header["row_groups"])
    c.eq("sum of row group rows", sum(meta.row_group(i).num_rows for i in range(meta.num_row_groups)), len(rows))

    arrow_schema = pf.schema_arrow
    for j, col in enumerate(schema):
        f = arrow_schema.field(j)
        c.eq(f"column {j} name", f.name, col["name"])
        c.true(f"column {col['name']}: arrow type {f.type} is not {col['type']}", ARROW_TYPES[col["type"]](f.type))
        c.eq(f"column {col['name']} nullable", f.nullable, col["nullable"])
        c.eq(f"column {col['name']} physical type", pf.schema.column(j).physical_type, PHYSICAL[col["type"]])

    # The whole table in one read, then each row group with its statistics.
    table = pf.read()
    c.eq("pyarrow table rows", table.num_rows, len(rows))
    for j, col in enumerate(schema):
        got = arrow_column_values(col["type"], table.column(j))
        want = [expected_cell(col["type"], r[j]) for r in rows]
        check_values(c, f"pyarrow {col['name']}", got, want)

    max_stat_bytes = header.get("max_statistics_bytes", 4096)
    used_dictionary = False
    offset = 0
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        n = rg.num_rows
        group = rows[offset:offset + n]
        part = pf.read_row_group(i)
        c.eq(f"row group {i} rows read", part.num_rows, n)
        for j, col in enumerate(schema):
            kind = col["type"]
            where = f"row group {i} column {col['name']}"
            cm = rg.column(j)
            c.eq(f"{where} num_values", cm.num_values, n)
            c.eq(f"{where} compression", cm.compression, header["codec"])
            if "RLE_DICTIONARY" in cm.encodings:
                used_dictionary = True
                c.true(f"{where}: dictionary encoding without a dictionary page", cm.has_dictionary_page)
            if not header["dictionary"]:
                c.true(f"{where}: dictionary encoding though disabled", "RLE_DICTIONARY" not in cm.encodings)
            got = arrow_column_values(kind, part.column(j))
            want = [expected_cell(kind, r[j]) for r in group]
            check_values(c, f"pyarrow {where}", got, want)

            st = cm.statistics
            nulls, lo, hi = expected_stats(kind, [r[j] for r in group], max_stat_bytes)
            c.true(f"{where}: no statistics", st is not None)
            if st is None:
                continue
            c.true(f"{where}: no null_count", st.has_null_count)
            c.eq(f"{where} null_count", st.null_count, nulls)
            if lo is None:
                c.true(f"{where}: min/max present, expected none", not st.has_min_max)
            else:
                c.true(f"{where}: min/max missing", st.has_min_max)
                if st.has_min_max:
                    c.eq(f"{where} min", raw_stat(kind, st.min_raw), lo)
                    c.eq(f"{where} max", raw_stat(kind, st.max_raw), hi)
        offset += n
    if header["dictionary"] and len(rows) > 0 and any(col["type"] != "boolean" for col in schema):
        c.true("dictionary enabled but no column chunk is dictionary-encoded", used_dictionary)


def check_values(c, what, got, want):
    c.eq(f"{what} count", len(got), len(want))
    bad = [k for k, (g, w) in enumerate(zip(got, want)) if not same(g, w)]
    c.checks += 1
    if bad:
        k = bad[0]
        c.failures.append(f"{what}: {len(bad)} values differ, first at row {k}: got {got[k]!r}, want {want[k]!r}")


def check_duckdb(c, path, header, rows):
    schema = header["schema"]
    con = duckdb.connect()
    src = "read_parquet(?)"
    described = con.execute(f"DESCRIBE SELECT * FROM {src}", [path]).fetchall()
    c.eq("duckdb column count", len(described), len(schema))
    for (name, dtype, *_), col in zip(described, schema):
        c.eq(f"duckdb column name", name, col["name"])
        c.true(f"duckdb column {name}: type {dtype} is not {col['type']}", dtype in DUCKDB_TYPES[col["type"]])

    def expr(col):
        q = '"' + col["name"].replace('"', '""') + '"'
        kind = col["type"]
        if kind == "timestamp":
            return f"epoch_us({q})"
        if kind == "date":
            return f"({q} - DATE '1970-01-01')::BIGINT"
        if kind in ("uuid", "json"):
            return f"{q}::VARCHAR"
        return q

    select = ", ".join(expr(col) for col in schema)
    got_rows = con.execute(
        f"SELECT {select} FROM read_parquet(?, file_row_number = true) ORDER BY file_row_number", [path]
    ).fetchall()
    c.eq("duckdb row count", len(got_rows), len(rows))
    c.eq("duckdb count(*)", con.execute(f"SELECT count(*) FROM {src}", [path]).fetchone()[0], len(rows))
    for j, col in enumerate(schema):
        got = [r[j] for r in got_rows]
        want = [expected_cell(col["type"], r[j]) for r in rows]
        check_values(c, f"duckdb {col['name']}", got, want)

    # The footer as duckdb reads it: rows per row group, null counts, codec.
    md = con.execute(
        "SELECT row_group_id, row_group_num_rows, path_in_schema, stats_null_count, compression "
        "FROM parquet_metadata(?) ORDER BY row_group_id, column_id", [path]
    ).fetchall()
    c.eq("duckdb metadata entries", len(md), len(schema) * (pq.ParquetFile(path).metadata.num_row_groups))
    offset = 0
    by_group = {}
    for g, nrows, name, nulls, codec in md:
        by_group.setdefault(g, []).append((nrows, name, nulls, codec))
    for g in sorted(by_group):
        cols = by_group[g]
        nrows = cols[0][0]
        for j, (n, name, nulls, codec) in enumerate(cols):
            c.eq(f"duckdb row group {g} {name} rows", n, nrows)
            want_nulls = sum(1 for r in rows[offset:offset + nrows] if r[j] is None)
            c.eq(f"duckdb row group {g} {name} null_count", nulls, want_nulls)
            c.eq(f"duckdb row group {g} {name} codec", codec, header["codec"])
        offset += nrows
    c.eq("duckdb rows over row groups", offset, len(rows))


# ---- filters: readers skip row groups by their statistics, so wrong ones lose rows ----

def probe_key(kind, v):
    if kind in ("string", "json"):
        return utf8(v)
    if kind == "uuid":
        return uuid.UUID(v).bytes
    return v


def sql_literal(kind, v):
    if kind in ("string", "json"):
        lit = "'" + v.replace("'", "''") + "'"
        return lit if kind == "string" else lit + "::JSON"
    if kind == "uuid":
        return f"'{v}'::UUID"
    if kind == "timestamp":
        return f"make_timestamp({int(v)}::BIGINT)::TIMESTAMPTZ"
    if kind == "date":
        return f"(DATE '1970-01-01' + {int(v)})"
    if kind == "float64":
        return f"'{float(v)!r}'::DOUBLE"
    if kind == "boolean":
        return "true" if v else "false"
    return f"CAST('{int(v)}' AS BIGINT)"


def arrow_scalar(kind, v):
    types = {"int32": pa.int32(), "int64": pa.int64(), "float64": pa.float64(), "boolean": pa.bool_(),
             "timestamp": pa.timestamp("us", tz="UTC"), "date": pa.date32(), "string": pa.string()}
    return pa.scalar(v, types[kind]) if kind in types else None


def check_filters(c, path, header, rows):
    import pyarrow.dataset as pads
    schema = header["schema"]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    dataset = pads.dataset(path, format="parquet")
    for j, col in enumerate(schema):
        kind, name = col["type"], col["name"]
        if kind == "json":  # JSON equality is not byte equality in duckdb
            continue
        present = [r[j] for r in rows if r[j] is not None]
        if kind == "float64":
            present = [float(v) for v in present if not math.isnan(float(v))]
        if not present:
            continue
        keyed = sorted(present, key=lambda v: probe_key(kind, v))
        probes = {0: keyed[0], 1: keyed[-1], 2: keyed[len(keyed) // 2]}
        q = '"' + name.replace('"', '""') + '"'
        nans = len([r for r in rows if r[j] is not None]) - len(present) if kind == "float64" else 0
        real = [probe_key(kind, x) for x in present]
        for v in probes.values():
            k = probe_key(kind, v)
            want = {"=": sum(1 for x in real if x == k), ">=": sum(1 for x in real if x >= k),
                    "<": sum(1 for x in real if x < k)}
            for op, n in want.items():
                duck_n = n + (nans if op == ">=" else 0)  # duckdb orders NaN above every number
                got = con.execute(f"SELECT count(*) FROM read_parquet(?) WHERE {q} {op} {sql_literal(kind, v)}",
                                  [path]).fetchone()[0]
                c.eq(f"duckdb filter {name} {op} {v!r}", got, duck_n)
                s = arrow_scalar(kind, v)
                if s is not None:
                    field = pads.field(name)
                    expr = {"=": field == s, ">=": field >= s, "<": field < s}[op]
                    c.eq(f"pyarrow filter {name} {op} {v!r}", dataset.count_rows(filter=expr), n)


# ---- an independent look at the bytes: footer and page headers ----------------

class Compact:
    """Decodes Thrift compact protocol structs into {field id: value} dicts."""

    def __init__(self, buf, pos=0):
        self.buf, self.pos = buf, pos

    def byte(self):
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def varint(self):
        v = shift = 0
        while True:
            b = self.byte()
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v
            shift += 7

    def zigzag(self):
        v = self.varint()
        return (v >> 1) ^ -(v & 1)

    def value(self, t):
        if t in (1, 2):
            return t == 1
        if t == 3:
            return struct.unpack("b", bytes([self.byte()]))[0]
        if t in (4, 5, 6):
            return self.zigzag()
        if t == 7:
            v = struct.unpack("<d", self.buf[self.pos:self.pos + 8])[0]
            self.pos += 8
            return v
        if t == 8:
            n = self.varint()
            v = bytes(self.buf[self.pos:self.pos + n])
            self.pos += n
            return v
        if t in (9, 10):
            h = self.byte()
            n, et = h >> 4, h & 0x0F
            if n == 15:
                n = self.varint()
            if et in (1, 2):
                return [self.byte() == 1 for _ in range(n)]
            return [self.value(et) for _ in range(n)]
        if t == 12:
            return self.struct()
        raise ValueError(f"thrift type {t} at {self.pos}")

    def struct(self):
        fields, last = {}, 0
        while True:
            b = self.byte()
            if b == 0:
                return fields
            t, delta = b & 0x0F, b >> 4
            fid = last + delta if delta else self.zigzag()
            fields[fid] = self.value(t)
            last = fid


CODECS = {0: "UNCOMPRESSED", 1: "SNAPPY", 6: "ZSTD"}
ENCODINGS = {0: "PLAIN", 3: "RLE", 8: "RLE_DICTIONARY"}


def check_bytes(c, path, header, rows):
    schema = header["schema"]
    with open(path, "rb") as f:
        buf = f.read()
    c.eq("leading magic", buf[:4], b"PAR1")
    c.eq("trailing magic", buf[-4:], b"PAR1")
    flen = struct.unpack("<I", buf[-8:-4])[0]
    dec = Compact(buf, len(buf) - 8 - flen)
    meta = dec.struct()
    c.eq("footer fully consumed", dec.pos, len(buf) - 8)
    c.eq("footer version", meta[1], 1)
    c.eq("footer num_rows", meta[3], len(rows))
    c.eq("footer schema size", len(meta[2]), len(schema) + 1)
    c.eq("footer root num_children", meta[2][0].get(5), len(schema))
    c.eq("column_orders", meta.get(7), [{1: {}}] * len(schema))
    offset = 0
    fallback_seen = set()
    expected_next = 4  # column chunks follow each other from just after the magic
    for i, rg in enumerate(meta[4]):
        n = rg[3]
        group = rows[offset:offset + n]
        c.eq(f"row group {i} ordinal", rg.get(7), i)
        c.eq(f"row group {i} file_offset", rg.get(5), expected_next)
        sum_unc = sum_comp = 0
        for j, cc in enumerate(rg[1]):
            col = schema[j]
            where = f"bytes: row group {i} column {col['name']}"
            md = cc[3]
            c.eq(f"{where} path", md[3], [col["name"].encode()])
            c.eq(f"{where} codec", CODECS.get(md[4]), header["codec"])
            c.eq(f"{where} num_values", md[5], n)
            start = md.get(11, md[9])
            c.eq(f"{where} chunk start", start, expected_next)
            pos, data_values, counts, unc = start, 0, {}, 0
            page_kinds = []
            while pos < start + md[7]:
                d = Compact(buf, pos)
                ph = d.struct()
                hsize = d.pos - pos
                body = buf[d.pos:d.pos + ph[3]]
                if 4 in ph:
                    c.eq(f"{where} page crc at {pos}", ph[4] & 0xFFFFFFFF, zlib.crc32(body))
                if ph[1] == 2:  # dictionary page
                    c.eq(f"{where} dictionary page first", pos, start)
                    c.eq(f"{where} dictionary_page_offset", md.get(11), pos)
                    kind = (2, ph[7][2])
                else:
                    c.eq(f"{where} data page type", ph[1], 0)
                    if not page_kinds or page_kinds[-1][0] == 2:
                        c.eq(f"{where} data_page_offset", md[9], pos)
                    data_values += ph[5][1]
                    kind = (0, ph[5][2])
                page_kinds.append(kind)
                counts[kind] = counts.get(kind, 0) + 1
                unc += hsize + ph[2]
                pos = d.pos + ph[3]
            c.eq(f"{where} pages end at chunk end", pos, start + md[7])
            c.eq(f"{where} total_uncompressed_size", md[6], unc)
            c.eq(f"{where} data page values", data_values, n)
            c.eq(f"{where} encoding_stats", {(s[1], s[2]): s[3] for s in md.get(13, [])}, counts)
            data_encodings = {ENCODINGS[e] for (t, e) in counts if t == 0}
            if data_encodings == {"PLAIN", "RLE_DICTIONARY"}:
                fallback_seen.add(col["name"])
            if "RLE_DICTIONARY" in data_encodings:
                c.true(f"{where}: dictionary pages must come before PLAIN pages",
                       page_kinds[1:] == sorted(page_kinds[1:], key=lambda k: k[1] != 8))
            st = md[12]
            if col["type"] == "float64":
                nans = sum(1 for r in group if r[j] is not None and math.isnan(float(r[j])))
                c.eq(f"{where} nan_count", st.get(9), nans)
            c.true(f"{where}: min/max flagged exact", (5 not in st) or (st.get(7) is True and st.get(8) is True))
            expected_next = start + md[7]
            sum_unc += md[6]
            sum_comp += md[7]
        c.eq(f"row group {i} total_byte_size", rg[2], sum_unc)
        c.eq(f"row group {i} total_compressed_size", rg.get(6), sum_comp)
        offset += n
    c.eq("footer right after the last column chunk", expected_next, len(buf) - 8 - flen)
    for name in header.get("fallback", []):
        c.true(f"column {name}: no chunk with both RLE_DICTIONARY and PLAIN data pages", name in fallback_seen)


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, expected_path = argv[1], argv[2]
    with open(expected_path, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    header = json.loads(lines[0])
    rows = [json.loads(line) for line in lines[1:]]
    for k, r in enumerate(rows):
        if len(r) != len(header["schema"]):
            print(f"verify: expected row {k} has {len(r)} values", file=sys.stderr)
            return 2
    c = Checker()
    for name, check in (("pyarrow", check_pyarrow), ("duckdb", check_duckdb), ("bytes", check_bytes),
                        ("filters", check_filters)):
        try:
            check(c, path, header, rows)
        except Exception as e:  # a reader refusing the file is a failure, not a crash
            c.failures.append(f"{name} raised {type(e).__name__}: {e}")
    if c.failures:
        for f in c.failures[:50]:
            print(f"FAIL {f}", file=sys.stderr)
        print(f"verify: {path}: {len(c.failures)} of {c.checks} checks failed", file=sys.stderr)
        return 1
    print(f"verify: {path}: {len(rows)} rows, {c.checks} checks ok (pyarrow {pa.__version__}, duckdb {duckdb.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
