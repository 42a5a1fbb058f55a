#!/usr/bin/python3
"""cqlpeer: a small CQL native protocol v4 server for pipekit's tests.

Not Cassandra: it speaks enough of v4 on 127.0.0.1 for a loader and for the
DataStax Python driver (OPTIONS, STARTUP, PasswordAuthenticator over SASL
PLAIN, QUERY for system.local/system.peers/system_schema and CREATE KEYSPACE/
TABLE, PREPARE, EXECUTE, BATCH, SELECT * of a table), keeps rows in memory,
checks every bound value with the driver's own deserializers, and injects
faults on demand. Several "nodes" (one port each, one token each) can share
the storage, so that token-aware routing can be checked (misrouted count).

Run with Debian's /usr/bin/python3 (python3-cassandra).

  cqlpeer.py --port-file F [--nodes N] [--spare N] [--user U --password-file P]
             [--tls CERT KEY] [--auth-challenge] [--fault KIND:COUNT]... [--delay MIN:MAX]
             [--commands FIFO] [--dump FILE]

Faults (the next COUNT EXECUTE/BATCH requests): overloaded, write_timeout,
unavailable, unprepared, invalid, server_error, drop (close the connection
without answering), hang (never answer). --delay answers each request after
a random MIN..MAX ms, so answers come back out of order.
--auth-challenge answers each connection's first AUTH_RESPONSE with an empty
AUTH_CHALLENGE (the credentials come in the second).
Commands (one per line on --commands): fault KIND COUNT; delay MIN MAX;
authfail N (the next N logins are refused);
forget (nodes forget prepared statements); drop (close every connection);
dump FILE; stats FILE; quit.
Cluster events (sent to the connections that REGISTERed, as a real cluster's
other nodes would; K is a node's index, 0-based):
  join K    a --spare node joins the ring (TOPOLOGY_CHANGE NEW_NODE): listed
            in system.peers_v2, owns its token range from now on
  remove K  the node leaves the ring (TOPOLOGY_CHANGE REMOVED_NODE): its
            connections are closed; it still accepts new ones (counted), as a
            decommissioned process may, but owns nothing
  down K    STATUS_CHANGE DOWN: its connections are closed and its port stops
            listening
  up K      it listens again on the same port, then STATUS_CHANGE UP
--spare N: N more nodes listen from the start but are not in the ring (not in
system.peers_v2, own no tokens) until `join`. Their ports are not in the port
file; `stats` lists every node (port, state, rows written through it,
connections accepted).
"""
import argparse
import asyncio
import base64
import datetime
import decimal
import hashlib
import ipaddress
import json
import os
import random
import re
import signal
import ssl
import struct
import sys
import uuid

from cassandra import cqltypes
from cassandra.murmur3 import murmur3

# ---- protocol constants (v4 spec) ----------------------------------------
OP_ERROR, OP_STARTUP, OP_READY, OP_AUTHENTICATE = 0x00, 0x01, 0x02, 0x03
OP_OPTIONS, OP_SUPPORTED, OP_QUERY, OP_RESULT = 0x05, 0x06, 0x07, 0x08
OP_PREPARE, OP_EXECUTE, OP_REGISTER, OP_EVENT, OP_BATCH = 0x09, 0x0A, 0x0B, 0x0C, 0x0D
OP_AUTH_CHALLENGE, OP_AUTH_RESPONSE, OP_AUTH_SUCCESS = 0x0E, 0x0F, 0x10

TYPE_IDS = {
    'ascii': 0x01, 'bigint': 0x02, 'blob': 0x03, 'boolean': 0x04, 'counter': 0x05,
    'decimal': 0x06, 'double': 0x07, 'float': 0x08, 'int': 0x09, 'timestamp': 0x0B,
    'uuid': 0x0C, 'text': 0x0D, 'varchar': 0x0D, 'varint': 0x0E, 'timeuuid': 0x0F,
    'inet': 0x10, 'date': 0x11, 'time': 0x12, 'smallint': 0x13, 'tinyint': 0x14,
    'list': 0x20, 'map': 0x21, 'set': 0x22, 'tuple': 0x31,
}


# ---- encoding helpers ------------------------------------------------------
def w_short(n): return struct.pack('>H', n)
def w_int(n): return struct.pack('>i', n)
def w_string(s): b = s.encode(); return w_short(len(b)) + b
def w_long_string(s): b = s.encode(); return w_int(len(b)) + b
def w_bytes(b): return w_int(-1) if b is None else w_int(len(b)) + b
def w_short_bytes(b): return w_short(len(b)) + b
def w_string_list(items): return w_short(len(items)) + b''.join(w_string(i) for i in items)


class Buf:
    def __init__(self, data): self.d, self.p = data, 0
    def take(self, n):
        if self.p + n > len(self.d): raise ValueError('truncated message')
        v = self.d[self.p:self.p + n]; self.p += n; return v
    def byte(self): return self.take(1)[0]
    def short(self): return struct.unpack('>H', self.take(2))[0]
    def int(self): return struct.unpack('>i', self.take(4))[0]
    def string(self): return self.take(self.short()).decode()
    def long_string(self): return self.take(self.int()).decode()
    def short_bytes(self): return self.take(self.short())
    def value(self):  # [value]: bytes, None (null) or UNSET
        n = self.int()
        if n == -1: return None
        if n == -2: return UNSET
        if n < -2: raise ValueError('bad value length %d' % n)
        return self.take(n)
    def string_map(self):
        return {self.string(): self.string() for _ in range(self.short())}


UNSET = object()


# ---- CQL types as text <-> the driver's types ------------------------------
def split_top(s, sep=','):
    out, depth, cur = [], 0, ''
    for ch in s:
        if ch in '<(': depth += 1
        if ch in '>)': depth -= 1
        if ch == sep and depth == 0:
            out.append(cur.strip()); cur = ''
        else:
            cur += ch
    if cur.strip(): out.append(cur.strip())
    return out


def parse_type(text):
    """'map<text, frozen<list<int>>>' -> (name, [params])"""
    text = text.strip().lower()
    m = re.match(r'^(\w+)\s*<(.*)>$', text, re.S)
    if not m:
        if text not in TYPE_IDS: raise ValueError('unknown type %s' % text)
        return (text, [])
    name, inner = m.group(1), m.group(2)
    if name == 'frozen': return parse_type(inner)
    if name not in ('list', 'set', 'map', 'tuple'): raise ValueError('unknown type %s' % text)
    return (name, [parse_type(p) for p in split_top(inner)])


def type_text(t):
    name, params = t
    if name == 'varchar': name = 'text'
    return name if not params else '%s<%s>' % (name, ', '.join(type_text(p) for p in params))


def type_option(t):
    name, params = t
    out = w_short(TYPE_IDS[name])
    if name == 'tuple': out += w_short(len(params))
    return out + b''.join(type_option(p) for p in params)


def driver_type(t):
    name, params = t
    cls = cqltypes._cqltypes['text' if name == 'varchar' else name]
    return cls.apply_parameters([driver_type(p) for p in params]) if params else cls


def to_json(v):
    if isinstance(v, (bytes, bytearray)): return base64.b64encode(v).decode()
    if isinstance(v, (uuid.UUID, decimal.Decimal)): return str(v)
    if isinstance(v, datetime.datetime):
        return v.replace(tzinfo=None).isoformat(timespec='milliseconds') + 'Z'
    if isinstance(v, (datetime.date, datetime.time)): return v.isoformat()
    if hasattr(v, 'date') and hasattr(v, 'days_from_epoch'): return str(v)  # cassandra.util.Date
    if hasattr(v, 'nanosecond_time'): return str(v)  # cassandra.util.Time
    if isinstance(v, float) and (v != v or v in (float('inf'), float('-inf'))): return str(v)
    if isinstance(v, (set, frozenset)) or type(v).__name__ in ('SortedSet',):
        return [to_json(x) for x in sorted(v, key=lambda x: str(x))]
    if isinstance(v, (list, tuple)): return [to_json(x) for x in v]
    if isinstance(v, dict) or type(v).__name__ == 'OrderedMapSerializedKey':
        return {str(to_json(k)): to_json(x) for k, x in v.items()}
    return v


# ---- storage -----------------------------------------------------------------
class Table:
    def __init__(self, ks, name, columns, partition, clustering):
        self.ks, self.name = ks, name
        self.columns = columns            # [(name, type)] in order
        self.types = dict(columns)
        self.partition, self.clustering = partition, clustering
        self.rows = {}                    # key tuple -> {col: bytes}
        self.stamps = {}                  # key tuple -> {col: write timestamp} (client-given)

    def clear(self):
        self.rows.clear()
        self.stamps.clear()

    def kind(self, col):
        if col in self.partition: return 'partition_key', self.partition.index(col)
        if col in self.clustering: return 'clustering', self.clustering.index(col)
        return 'regular', -1


class CqlError(Exception):
    def __init__(self, code, message, extra=b''):
        super().__init__(message)
        self.code, self.message, self.extra = code, message, extra


def ident(s):
    s = s.strip()
    if s.startswith('"') and s.endswith('"'): return s[1:-1].replace('""', '"')
    return s.lower()


NAME = r'(?:"(?:[^"]|"")+"|\w+)'


class Peer:
    def __init__(self, args):
        self.args = args
        self.keyspaces = {'system': {}, 'system_schema': {}}
        self.tables = {}                  # (ks, name) -> Table
        self.statements = {}              # id -> (kind, table, cols, query)
        self.faults = []                  # [kind, count]
        self.delay = None
        self.nodes = []
        self.conns = set()
        self.loop = None
        self.schema_version = uuid.uuid4()
        self.stats = dict(connections=0, executes=0, batches=0, rows_written=0, queries=0,
                          prepares=0, max_in_flight=0, out_of_order=0, misrouted=0,
                          faults_injected=0, unprepared_sent=0, auth_failures=0, challenges=0)
        self.auth_challenge = args.auth_challenge
        self.auth_fail = 0  # the next N logins are refused (command authfail N)
        for f in args.fault or []:
            kind, _, count = f.partition(':')
            self.faults.append([kind, int(count or 1)])
        if args.delay:
            lo, _, hi = args.delay.partition(':')
            self.delay = (int(lo), int(hi or lo))
        self.credentials = None
        if args.user:
            with open(args.password_file) as f:
                self.credentials = (args.user, f.readline().rstrip('\r\n'))

    # -- faults
    def next_fault(self):
        if not self.faults: return None
        f = self.faults[0]
        f[1] -= 1
        if f[1] <= 0: self.faults.pop(0)
        self.stats['faults_injected'] += 1
        return f[0]

    # -- tokens
    def ring(self):
        return [n for n in self.nodes if n.state in ('up', 'down')]

    def owner(self, token):
        ring = self.ring()
        for n in ring:
            if token <= n.token: return n.index
        return ring[0].index

    # -- statements
    def create_keyspace(self, q):
        m = re.match(r'^\s*create\s+keyspace\s+(if\s+not\s+exists\s+)?(%s)\s+with\s+(.*)$' % NAME, q, re.I | re.S)
        if not m: raise CqlError(0x2000, 'line 1:0 cannot parse CREATE KEYSPACE')
        ks = ident(m.group(2))
        if ks in self.keyspaces:
            if m.group(1): return w_int(1)
            raise CqlError(0x2400, 'Keyspace %s already exists' % ks, w_string(ks) + w_string(''))
        if 'replication' not in m.group(3).lower(): raise CqlError(0x2000, 'missing replication')
        self.keyspaces[ks] = {}
        self.schema_version = uuid.uuid4()
        return w_int(5) + w_string('CREATED') + w_string('KEYSPACE') + w_string(ks)

    def create_table(self, q):
        m = re.match(r'^\s*create\s+table\s+(if\s+not\s+exists\s+)?(?:(%s)\.)?(%s)\s*\((.*)\)\s*(with\s+.*)?$'
                     % (NAME, NAME), q, re.I | re.S)
        if not m: raise CqlError(0x2000, 'line 1:0 cannot parse CREATE TABLE')
        ks = ident(m.group(2) or '') or self.args.default_keyspace
        name = ident(m.group(3))
        if ks not in self.keyspaces: raise CqlError(0x2200, 'Keyspace %s does not exist' % ks)
        if (ks, name) in self.tables:
            if m.group(1): return w_int(1)
            raise CqlError(0x2400, 'Object %s.%s already exists' % (ks, name), w_string(ks) + w_string(name))
        columns, partition, clustering = [], [], []
        for part in split_top(m.group(4)):
            pk = re.match(r'^primary\s+key\s*\((.*)\)$', part, re.I | re.S)
            if pk:
                items = split_top(pk.group(1))
                first = items[0]
                if first.startswith('('):
                    partition = [ident(x) for x in split_top(first[1:-1])]
                else:
                    partition = [ident(first)]
                clustering = [ident(x) for x in items[1:]]
                continue
            cm = re.match(r'^(%s)\s+(.+?)(\s+primary\s+key)?$' % NAME, part, re.I | re.S)
            if not cm: raise CqlError(0x2000, 'cannot parse column definition %r' % part)
            try:
                t = parse_type(cm.group(2))
            except ValueError as e:
                raise CqlError(0x2000, str(e))
            columns.append((ident(cm.group(1)), t))
            if cm.group(3): partition = [ident(cm.group(1))]
        names = [c for c, _ in columns]
        if not partition: raise CqlError(0x2200, 'No PRIMARY KEY specifed (exactly one required)')
        for k in partition + clustering:
            if k not in names: raise CqlError(0x2200, 'Unknown definition %s referenced in PRIMARY KEY' % k)
        self.tables[(ks, name)] = Table(ks, name, columns, partition, clustering)
        self.schema_version = uuid.uuid4()
        return w_int(5) + w_string('CREATED') + w_string('TABLE') + w_string(ks) + w_string(name)

    def table(self, ks, name):
        t = self.tables.get((ks, name))
        if not t: raise CqlError(0x2200, 'unconfigured table %s' % name)
        return t

    def rows_result(self, names, types, rows, ks='system', table='local'):
        meta = w_int(1) + w_int(len(names)) + w_string(ks) + w_string(table)
        for n, t in zip(names, types): meta += w_string(n) + type_option(t)
        body = w_int(2) + meta + w_int(len(rows))
        for r in rows: body += b''.join(w_bytes(c) for c in r)
        return body

    def system_query(self, ql, values):
        if 'from system.local' in ql:
            node = self.current_node
            cols = [('key', 'text', b'local'), ('release_version', 'text', b'4.0.0-pipekit-cqlpeer'),
                    ('cluster_name', 'text', b'cqlpeer'), ('cql_version', 'text', b'3.4.5'),
                    ('native_protocol_version', 'text', b'4'),
                    ('partitioner', 'text', b'org.apache.cassandra.dht.Murmur3Partitioner'),
                    ('data_center', 'text', b'datacenter1'), ('rack', 'text', b'rack1'),
                    ('host_id', 'uuid', node.host_id.bytes),
                    ('rpc_address', 'inet', ipaddress.ip_address('127.0.0.1').packed),
                    ('broadcast_address', 'inet', ipaddress.ip_address('127.0.0.1').packed),
                    ('listen_address', 'inet', ipaddress.ip_address('127.0.0.1').packed),
                    ('schema_version', 'uuid', self.schema_version.bytes),
                    ('tokens', 'set<text>', driver_type(parse_type('set<text>')).serialize({str(node.token)}, 4))]
            return self.rows_result([c[0] for c in cols], [parse_type(c[1]) for c in cols], [[c[2] for c in cols]])
        if 'from system.peers_v2' in ql:
            # The other nodes, each on its own port (peers_v2 has native_port).
            cols = ['peer', 'native_address', 'native_port', 'data_center', 'rack']
            types = ['inet', 'inet', 'int', 'text', 'text']
            lo = ipaddress.ip_address('127.0.0.1').packed
            rows = [[lo, lo, w_int(n.port), b'datacenter1', b'rack1']
                    for n in self.ring() if n is not self.current_node]
            return self.rows_result(cols, [parse_type(t) for t in types], rows, 'system', 'peers_v2')
        if 'from system.peers' in ql:
            cols = ['peer', 'data_center', 'host_id', 'rack', 'release_version', 'rpc_address', 'schema_version', 'tokens']
            types = ['inet', 'text', 'uuid', 'text', 'text', 'inet', 'uuid', 'set<text>']
            return self.rows_result(cols, [parse_type(t) for t in types], [], 'system', 'peers')
        if 'from system_schema.columns' in ql:
            ks = table = None
            m = re.search(r"keyspace_name\s*=\s*'([^']*)'", ql)
            if m: ks = m.group(1)
            m = re.search(r"table_name\s*=\s*'([^']*)'", ql)
            if m: table = m.group(1)
            if ks is None and values: ks = values[0].decode()
            if table is None and len(values) > 1: table = values[1].decode()
            rows = []
            for (tks, tname), t in self.tables.items():
                if (ks is None or ks == tks) and (table is None or table == tname):
                    for name, typ in t.columns:
                        kind, pos = t.kind(name)
                        rows.append([tks.encode(), tname.encode(), name.encode(), b'none', kind.encode(),
                                     struct.pack('>i', pos), type_text(typ).encode()])
            cols = ['keyspace_name', 'table_name', 'column_name', 'clustering_order', 'kind', 'position', 'type']
            types = ['text'] * 5 + ['int', 'text']
            # Return only the requested columns, in the order asked.
            sel = re.match(r'^\s*select\s+(.*?)\s+from', ql, re.S).group(1)
            if sel.strip() != '*':
                want = [s.strip() for s in sel.split(',')]
                idx = [cols.index(w) for w in want]
                cols, types = [cols[i] for i in idx], [types[i] for i in idx]
                rows = [[r[i] for i in idx] for r in rows]
            return self.rows_result(cols, [parse_type(t) for t in types], rows, 'system_schema', 'columns')
        if 'from system_schema.' in ql or 'from system.' in ql:
            return self.rows_result(['keyspace_name'], [parse_type('text')], [], 'system_schema', 'x')
        return None

    def select_all(self, q):
        m = re.match(r'^\s*select\s+\*\s+from\s+(?:(%s)\.)?(%s)\s*(?:limit\s+\d+)?\s*;?\s*$' % (NAME, NAME), q, re.I | re.S)
        if not m: return None
        ks = ident(m.group(1) or '') or self.current_keyspace
        t = self.table(ks, ident(m.group(2)))
        names = [c for c, _ in t.columns]
        rows = [[row.get(n) for n in names] for row in t.rows.values()]
        return self.rows_result(names, [ty for _, ty in t.columns], rows, t.ks, t.name)

    def query(self, q, values):
        self.stats['queries'] += 1
        ql = q.strip().lower()
        r = self.system_query(ql, values)
        if r is not None: return r
        if re.match(r'^create\s+keyspace', ql): return self.create_keyspace(q)
        if re.match(r'^create\s+table', ql): return self.create_table(q)
        m = re.match(r'^use\s+(%s)\s*;?$' % NAME, q.strip(), re.I)
        if m:
            ks = ident(m.group(1))
            if ks not in self.keyspaces: raise CqlError(0x2200, 'Keyspace \'%s\' does not exist' % ks)
            self.current_keyspace = ks
            return w_int(3) + w_string(ks)
        m = re.match(r'^truncate\s+(?:table\s+)?(?:(%s)\.)?(%s)\s*;?$' % (NAME, NAME), q.strip(), re.I)
        if m:
            self.table(ident(m.group(1) or '') or self.current_keyspace, ident(m.group(2))).clear()
            return w_int(1)
        r = self.select_all(q)
        if r is not None: return r
        raise CqlError(0x2000, 'line 1:0 no viable alternative at input %r (cqlpeer knows little CQL)' % q[:40])

    def prepare(self, q):
        self.stats['prepares'] += 1
        self.stats['last_prepare'] = q
        m = re.match(r'^\s*insert\s+into\s+(?:(%s)\.)?(%s)\s*\((.*?)\)\s*values\s*\(([?,\s]*)\)\s*(using\s+(?:ttl\s+\d+\s+and\s+timestamp\s+\?|ttl\s+\d+|timestamp\s+\?))?\s*;?\s*$'
                     % (NAME, NAME), q, re.I | re.S)
        if m:
            ks = ident(m.group(1) or '') or self.current_keyspace
            t = self.table(ks, ident(m.group(2)))
            cols = [ident(c) for c in split_top(m.group(3))]
            for c in cols:
                if c not in t.types: raise CqlError(0x2200, 'Undefined column name %s' % c)
            if m.group(4).count('?') != len(cols): raise CqlError(0x2200, 'Unmatched column names/values')
            # USING TIMESTAMP ?: one more marker, named as Cassandra names it.
            markers = cols + (['[timestamp]'] if m.group(5) and 'timestamp' in m.group(5).lower() else [])
            sid = hashlib.md5(q.encode()).digest()
            self.statements[sid] = ('insert', t, markers, q)
            pk = [cols.index(k) for k in t.partition] if all(k in cols for k in t.partition) else []
            meta = w_int(1) + w_int(len(markers)) + w_int(len(pk)) + b''.join(w_short(i) for i in pk)
            meta += w_string(t.ks) + w_string(t.name)
            for c in cols: meta += w_string(c) + type_option(t.types[c])
            if len(markers) > len(cols): meta += w_string('[timestamp]') + type_option(('bigint', []))
            return sid, w_int(4) + w_short_bytes(sid) + meta + w_int(4) + w_int(0)
        m = re.match(r'^\s*select\s+\*\s+from\s+(?:(%s)\.)?(%s)\s*;?\s*$' % (NAME, NAME), q, re.I | re.S)
        if m:
            ks = ident(m.group(1) or '') or self.current_keyspace
            t = self.table(ks, ident(m.group(2)))
            sid = hashlib.md5(q.encode()).digest()
            self.statements[sid] = ('select', t, [], q)
            meta = w_int(1) + w_int(0) + w_int(0) + w_string(t.ks) + w_string(t.name)
            res = w_int(1) + w_int(len(t.columns)) + w_string(t.ks) + w_string(t.name)
            for c, ty in t.columns: res += w_string(c) + type_option(ty)
            return sid, w_int(4) + w_short_bytes(sid) + meta + res
        raise CqlError(0x2000, 'cqlpeer prepares INSERT INTO t (...) VALUES (?, ...) and SELECT * FROM t only')

    def check_values(self, t, cols, values):
        if len(values) != len(cols):
            raise CqlError(0x2200, 'There were %d markers(?) in CQL but %d bound variables' % (len(cols), len(values)))
        for c, v in zip(cols, values):
            if c == '[timestamp]':
                if v is None or v is UNSET or len(v) != 8:
                    raise CqlError(0x2200, 'Invalid null or unset value for timestamp')
                continue
            if v is UNSET or v is None:
                if c in t.partition or c in t.clustering:
                    raise CqlError(0x2200, 'Invalid %s value for %s key column %s'
                                   % ('unset' if v is UNSET else 'null',
                                      'partition' if c in t.partition else 'clustering', c))
                continue
            try:
                driver_type(t.types[c]).deserialize(v, 4)
            except Exception as e:
                raise CqlError(0x2200, 'Invalid value for column %s of type %s: %s' % (c, type_text(t.types[c]), e))
            if t.types[c][0] in ('text', 'varchar'):
                try:
                    v.decode('utf-8')
                except UnicodeDecodeError:
                    raise CqlError(0x2200, 'Invalid UTF-8 bytes for column %s' % c)

    def apply(self, t, cols, values):
        vals = dict(zip(cols, values))
        ts = vals.pop('[timestamp]', None)
        ts = struct.unpack('>q', ts)[0] if ts is not None else None
        key = tuple(vals[k] for k in t.partition + t.clustering)
        row = t.rows.setdefault(key, {})
        stamps = t.stamps.setdefault(key, {})
        for c, v in vals.items():
            if v is UNSET: continue
            # Last write wins per cell, as in Cassandra, when the client gives timestamps.
            if ts is not None and c in stamps and stamps[c] > ts: continue
            if ts is not None: stamps[c] = ts
            if v is None: row.pop(c, None)
            else: row[c] = v
        self.stats['rows_written'] += 1

    def token_of(self, t, cols, values):
        parts = [values[cols.index(k)] for k in t.partition]
        if len(parts) == 1: key = parts[0]
        else: key = b''.join(w_short(len(p)) + p + b'\x00' for p in parts)
        return murmur3(key)

    def dump(self, path):
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            for (ks, name), t in sorted(self.tables.items()):
                for row in t.rows.values():
                    out = {'_table': '%s.%s' % (ks, name)}
                    for c, ty in t.columns:
                        if c in row: out[c] = to_json(driver_type(ty).deserialize(row[c], 4))
                    f.write(json.dumps(out, sort_keys=True) + '\n')
        os.replace(tmp, path)

    def write_stats(self, path):
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            nodes = [dict(port=n.port, state=n.state, rows=n.rows, connections=n.connections) for n in self.nodes]
            json.dump(dict(self.stats, nodes=nodes), f)
        os.replace(tmp, path)

    def command(self, line):
        words = line.split()
        if not words: return
        try:
            if words[0] == 'fault': self.faults.append([words[1], int(words[2]) if len(words) > 2 else 1])
            elif words[0] == 'delay': self.delay = (int(words[1]), int(words[2])) if int(words[2]) > 0 else None
            elif words[0] == 'forget':
                for n in self.nodes: n.prepared.clear()
            elif words[0] == 'authfail': self.auth_fail = int(words[1])
            elif words[0] == 'drop':
                for c in list(self.conns): c.transport.abort()
            elif words[0] == 'dump': self.dump(words[1])
            elif words[0] == 'stats': self.write_stats(words[1])
            elif words[0] in ('join', 'remove', 'down', 'up'): self.cluster_change(words[0], self.nodes[int(words[1])])
            elif words[0] == 'quit': asyncio.get_running_loop().stop()
            else: print('cqlpeer: unknown command %r' % words[0], file=sys.stderr)
        except Exception as e:
            print('cqlpeer: command %r failed: %s' % (line, e), file=sys.stderr)


    # -- cluster events
    def event(self, kind, change, node):
        body = w_string(kind) + w_string(change) + bytes([4]) + ipaddress.ip_address('127.0.0.1').packed + w_int(node.port)
        for c in list(self.conns):
            if c.registered and c.node is not node: c.send(-1, OP_EVENT, body)

    def close_connections(self, node):
        for c in list(self.conns):
            if c.node is node: c.transport.abort()

    def cluster_change(self, what, node):
        if what == 'join':
            if node.state != 'spare': raise ValueError('node %d is not a spare' % node.index)
            node.state = 'up'
            self.event('TOPOLOGY_CHANGE', 'NEW_NODE', node)
        elif what == 'remove':
            node.state = 'removed'
            self.event('TOPOLOGY_CHANGE', 'REMOVED_NODE', node)
            self.close_connections(node)
        elif what == 'down':
            node.state = 'down'
            self.event('STATUS_CHANGE', 'DOWN', node)
            node.server.close()
            self.close_connections(node)
        elif what == 'up':
            if node.state != 'down': raise ValueError('node %d is not down' % node.index)
            self.loop.create_task(self.reopen(node))

    async def reopen(self, node):
        node.server = await self.listen(node, node.port)
        node.state = 'up'
        self.event('STATUS_CHANGE', 'UP', node)

    def listen(self, node, port=0):
        return self.loop.create_server(lambda: Conn(self, node), '127.0.0.1', port, ssl=self.sslctx)


class Node:
    def __init__(self, index, count):
        span = 2 ** 64 // count
        self.token = -2 ** 63 + span * (index + 1) - 1 if index + 1 < count else 2 ** 63 - 1
        self.index = index
        self.prepared = set()
        self.host_id = uuid.uuid4()
        self.port = None
        self.server = None
        self.state = 'up'      # up, down, spare (not yet in the ring), removed
        self.rows = 0          # rows written through it (as coordinator)
        self.connections = 0   # connections it accepted


class Conn(asyncio.Protocol):
    def __init__(self, peer, node):
        self.peer, self.node = peer, node
        self.buf = b''
        self.ready = False
        self.authenticated = peer.credentials is None
        self.pending = 0
        self.seq_in = 0
        self.last_answered = -1
        self.registered = False

    def connection_made(self, transport):
        self.transport = transport
        self.peer.conns.add(self)
        self.peer.stats['connections'] += 1
        self.node.connections += 1

    def connection_lost(self, exc):
        self.peer.conns.discard(self)

    def data_received(self, data):
        self.buf += data
        while len(self.buf) >= 9:
            version, flags, stream, opcode, length = struct.unpack('>BBhBi', self.buf[:9])
            if len(self.buf) < 9 + length: break
            body = self.buf[9:9 + length]
            self.buf = self.buf[9 + length:]
            if version != 4:
                self.send(stream, OP_ERROR, w_int(0x000A) + w_string(
                    'Invalid or unsupported protocol version (%d); supported versions are (3/v3, 4/v4)' % version),
                    seq=None)
                continue
            self.frame(stream, opcode, body)

    def send(self, stream, opcode, body, seq=None):
        if self.transport.is_closing(): return
        if seq is not None:
            self.pending -= 1
            if seq < self.last_answered: self.peer.stats['out_of_order'] += 1
            self.last_answered = max(self.last_answered, seq)
        flags = 0
        if self.peer.args.warn and opcode == OP_RESULT and self.ready and self.authenticated:
            flags, body = 0x08, w_string_list([self.peer.args.warn]) + body  # the warning flag
        self.transport.write(struct.pack('>BBhBi', 0x84, flags, stream, opcode, len(body)) + body)

    def error(self, stream, code, message, extra=b'', seq=None):
        self.send(stream, OP_ERROR, w_int(code) + w_string(message) + extra, seq)

    def frame(self, stream, opcode, body):
        peer = self.peer
        peer.current_node = self.node
        seq = self.seq_in
        self.seq_in += 1
        self.pending += 1
        peer.stats['max_in_flight'] = max(peer.stats['max_in_flight'], self.pending)
        try:
            result = self.handle(opcode, Buf(body))
        except CqlError as e:
            self.error(stream, e.code, e.message, e.extra, seq)
            return
        except (ValueError, struct.error, UnicodeDecodeError) as e:
            self.error(stream, 0x000A, 'malformed %s: %s' % (opcode, e), b'', seq)
            return
        if result == 'drop':
            self.transport.abort()
            return
        if result == 'hang':
            return
        op, out = result
        if peer.delay and opcode in (OP_EXECUTE, OP_BATCH):
            lo, hi = peer.delay
            asyncio.get_running_loop().call_later(random.uniform(lo, hi) / 1000.0, self.send, stream, op, out, seq)
        else:
            self.send(stream, op, out, seq)

    def handle(self, opcode, b):
        peer = self.peer
        if opcode == OP_OPTIONS:
            return OP_SUPPORTED, w_short(3) + w_string('CQL_VERSION') + w_string_list(['3.4.5']) + \
                w_string('COMPRESSION') + w_string_list([]) + \
                w_string('PROTOCOL_VERSIONS') + w_string_list(['3/v3', '4/v4'])
        if opcode == OP_STARTUP:
            opts = b.string_map()
            if 'CQL_VERSION' not in opts: raise CqlError(0x000A, 'CQL_VERSION is mandatory')
            if opts.get('COMPRESSION'): raise CqlError(0x000A, 'Unknown compression algorithm')
            self.ready = True
            if peer.credentials:
                return OP_AUTHENTICATE, w_string('org.apache.cassandra.auth.PasswordAuthenticator')
            return OP_READY, b''
        if opcode == OP_AUTH_RESPONSE:
            n = b.int()
            token = b.take(n) if n >= 0 else b''
            parts = token.split(b'\x00')
            if peer.auth_challenge and not getattr(self, 'challenged', False):
                # Opens with a challenge whatever the first response said.
                self.challenged = True
                peer.stats['challenges'] += 1
                return OP_AUTH_CHALLENGE, w_int(0)
            if peer.auth_fail > 0:
                peer.auth_fail -= 1
                peer.stats['auth_failures'] += 1
                raise CqlError(0x0100, 'Provided username and/or password are incorrect (cqlpeer authfail)')
            if len(parts) == 3 and peer.credentials and \
                    (parts[1].decode(errors='replace'), parts[2].decode(errors='replace')) == peer.credentials:
                self.authenticated = True
                return OP_AUTH_SUCCESS, w_int(-1)
            peer.stats['auth_failures'] += 1
            user = parts[1].decode(errors='replace') if len(parts) == 3 else '?'
            raise CqlError(0x0100, 'Provided username %s and/or password are incorrect' % user)
        if opcode == OP_REGISTER:
            self.registered = True
            return OP_READY, b''
        if not self.ready: raise CqlError(0x000A, 'STARTUP must come first')
        if not self.authenticated: raise CqlError(0x000A, 'authentication required first')
        if opcode == OP_QUERY:
            q = b.long_string()
            values = self.query_values(b)
            return OP_RESULT, peer.query(q, values)
        if opcode == OP_PREPARE:
            sid, out = peer.prepare(b.long_string())
            self.node.prepared.add(sid)
            return OP_RESULT, out
        if opcode == OP_EXECUTE:
            peer.stats['executes'] += 1
            sid = b.short_bytes()
            values = self.query_values(b)
            fault = self.fault(sid, 'SIMPLE')
            if fault: return fault
            st = peer.statements.get(sid)
            if st[0] == 'select':
                return OP_RESULT, self.select(st[1])
            _, t, cols, _q = st
            peer.check_values(t, cols, values)
            self.check_route(t, [(cols, values)])
            peer.apply(t, cols, values)
            self.node.rows += 1
            return OP_RESULT, w_int(1)
        if opcode == OP_BATCH:
            peer.stats['batches'] += 1
            kind = b.byte()
            n = b.short()
            entries = []
            for _ in range(n):
                k = b.byte()
                if k != 1: raise CqlError(0x2200, 'cqlpeer only runs prepared statements in batches')
                sid = b.short_bytes()
                vals = [b.value() for _ in range(b.short())]
                entries.append((sid, vals))
            peer.stats['consistency'] = b.short()
            for sid, _ in entries:
                fault = self.fault(sid, 'UNLOGGED_BATCH' if kind == 1 else 'BATCH')
                if fault: return fault
            applied = []
            for sid, vals in entries:
                _, t, cols, _q = peer.statements[sid]
                peer.check_values(t, cols, vals)
                applied.append((t, cols, vals))
            if applied: self.check_route(applied[0][0], [(c, v) for _, c, v in applied])
            for t, cols, vals in applied: peer.apply(t, cols, vals)
            self.node.rows += len(applied)
            return OP_RESULT, w_int(1)
        raise CqlError(0x000A, 'unsupported opcode 0x%02x' % opcode)

    def select(self, t):
        names = [c for c, _ in t.columns]
        rows = [[row.get(n) for n in names] for row in t.rows.values()]
        return self.peer.rows_result(names, [ty for _, ty in t.columns], rows, t.ks, t.name)

    def check_route(self, t, entries):
        if len(self.peer.nodes) < 2: return
        for cols, vals in entries:
            if any(k not in cols for k in t.partition): return
            if self.peer.owner(self.peer.token_of(t, cols, vals)) != self.node.index:
                self.peer.stats['misrouted'] += 1

    def fault(self, sid, write_type):
        if sid not in self.node.prepared:
            self.peer.stats['unprepared_sent'] += 1
            raise CqlError(0x2500, 'Prepared query with ID %s not found' % sid.hex(), w_short_bytes(sid))
        kind = self.peer.next_fault()
        if not kind: return None
        if kind == 'overloaded': raise CqlError(0x1001, 'Server is overloaded (cqlpeer fault)')
        if kind == 'write_timeout':
            raise CqlError(0x1100, 'Operation timed out - received only 0 responses. (cqlpeer fault)',
                           w_short(6) + w_int(0) + w_int(1) + w_string(write_type))
        if kind == 'unavailable':
            raise CqlError(0x1000, 'Cannot achieve consistency level LOCAL_QUORUM (cqlpeer fault)',
                           w_short(6) + w_int(2) + w_int(1))
        if kind == 'server_error': raise CqlError(0x0000, 'java.lang.RuntimeException (cqlpeer fault)')
        if kind == 'invalid': raise CqlError(0x2200, 'Invalid request (cqlpeer fault)')
        if kind == 'unprepared':
            self.node.prepared.discard(sid)
            self.peer.stats['unprepared_sent'] += 1
            raise CqlError(0x2500, 'Prepared query with ID %s not found' % sid.hex(), w_short_bytes(sid))
        if kind in ('drop', 'hang'): return kind
        raise CqlError(0x0000, 'unknown fault %s' % kind)

    def query_values(self, b):
        if b.p >= len(b.d): return []
        self.peer.stats['consistency'] = b.short()
        flags = b.byte()
        values = []
        if flags & 0x01:
            n = b.short()
            for _ in range(n):
                if flags & 0x40: b.string()
                values.append(b.value())
        return values


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--port-file', required=True, help='write the first node\'s port here once listening')
    ap.add_argument('--nodes', type=int, default=1, help='nodes (ports), each owning one token range')
    ap.add_argument('--spare', type=int, default=0, help='more nodes, listening but outside the ring until `join K`')
    ap.add_argument('--user')
    ap.add_argument('--password-file')
    ap.add_argument('--tls', nargs=2, metavar=('CERT', 'KEY'))
    ap.add_argument('--auth-challenge', action='store_true',
                    help='answer the first AUTH_RESPONSE of each connection with an empty AUTH_CHALLENGE')
    ap.add_argument('--fault', action='append', help='KIND:COUNT for the next COUNT writes')
    ap.add_argument('--delay', help='MIN:MAX ms before each write is answered (out of order)')
    ap.add_argument('--commands', help='a FIFO or file of commands')
    ap.add_argument('--dump', help='write every row as NDJSON to FILE at exit')
    ap.add_argument('--default-keyspace', default='')
    ap.add_argument('--warn', help='attach this warning to every RESULT (the frame warning flag)')
    args = ap.parse_args()
    peer = Peer(args)
    peer.current_keyspace = args.default_keyspace
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    sslctx = None
    if args.tls:
        sslctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sslctx.load_cert_chain(args.tls[0], args.tls[1])
    peer.loop, peer.sslctx = loop, sslctx
    ports = []
    total = args.nodes + args.spare
    for i in range(total):
        node = Node(i, total)
        peer.nodes.append(node)
        node.server = loop.run_until_complete(peer.listen(node))
        node.port = node.server.sockets[0].getsockname()[1]
        if i < args.nodes: ports.append(str(node.port))
        else: node.state = 'spare'
    peer.current_node = peer.nodes[0]
    if args.commands:
        fd = os.open(args.commands, os.O_RDWR | os.O_NONBLOCK)  # RDWR: EOF never comes from a FIFO
        pending = [b'']

        def on_command():
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                return
            pending[0] += data
            *lines, pending[0] = pending[0].split(b'\n')
            for line in lines: peer.command(line.decode())
        loop.add_reader(fd, on_command)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    tmp = args.port_file + '.tmp'
    with open(tmp, 'w') as f:
        f.write(','.join(ports) + '\n')
    os.replace(tmp, args.port_file)
    try:
        loop.run_forever()
    finally:
        if args.dump: peer.dump(args.dump)


if __name__ == '__main__':
    main()
