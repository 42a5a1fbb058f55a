#!/usr/bin/python3
"""cqlread: print every row of a table as NDJSON (sorted keys), read with the
DataStax Python driver (python3-cassandra): the independent client that checks
what cqlload wrote, against the test peer or a real cluster.

  cqlread.py HOST:PORT[,HOST:PORT...] KEYSPACE.TABLE
  cqlread.py HOST:PORT[,HOST:PORT...] 'SELECT ...'     the rows of that query
  env: CQL_USER and CQL_PASSWORD for PasswordAuthenticator; CQL_CA_FILE for TLS
  (CQL_CLIENT_CERT, CQL_CLIENT_KEY for mutual TLS);
  CQL_READ_CONSISTENCY (e.g. ALL) for the reads (default: the driver's).
"""
import base64
import warnings
import datetime
import decimal
import ipaddress
import json
import logging
import os
import ssl
import sys
import uuid

from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster
from cassandra.policies import RoundRobinPolicy


def to_json(v):
    if v is None or isinstance(v, (bool, int, str)): return v
    if isinstance(v, float): return v if v == v and abs(v) != float('inf') else str(v)
    if isinstance(v, (bytes, bytearray)): return base64.b64encode(v).decode()
    if isinstance(v, datetime.datetime):
        return v.replace(tzinfo=None).isoformat(timespec='milliseconds') + 'Z'
    if isinstance(v, (uuid.UUID, decimal.Decimal, datetime.date, datetime.time)) or \
            type(v).__name__ in ('Date', 'Time', 'Duration') or isinstance(v, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(v)
    if isinstance(v, dict) or hasattr(v, 'items'):
        return {str(to_json(k)): to_json(x) for k, x in v.items()}
    if isinstance(v, (set, frozenset)) or type(v).__name__ == 'SortedSet':
        return sorted((to_json(x) for x in v), key=str)
    if hasattr(v, '_fields'): return {f: to_json(getattr(v, f)) for f in v._fields}
    if isinstance(v, (list, tuple)): return [to_json(x) for x in v]
    return str(v)


def main():
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.CRITICAL)
    hosts, table = sys.argv[1], sys.argv[2]
    points, port = [], 9042
    for h in hosts.split(','):
        host, _, p = h.rpartition(':') if ':' in h else (h, '', '')
        points.append(host or h)
        if p: port = int(p)
    kw = dict(contact_points=points, port=port, protocol_version=4, schema_metadata_enabled=False,
              token_metadata_enabled=False, load_balancing_policy=RoundRobinPolicy(), connect_timeout=5,
              control_connection_timeout=5)
    if os.environ.get('CQL_USER'):
        kw['auth_provider'] = PlainTextAuthProvider(os.environ['CQL_USER'], os.environ.get('CQL_PASSWORD', ''))
    if os.environ.get('CQL_CA_FILE'):
        ctx = ssl.create_default_context(cafile=os.environ['CQL_CA_FILE'])
        if os.environ.get('CQL_CLIENT_CERT'):
            ctx.load_cert_chain(os.environ['CQL_CLIENT_CERT'], os.environ.get('CQL_CLIENT_KEY'))
        kw['ssl_context'] = ctx
    cluster = Cluster(**kw)
    session = cluster.connect()
    session.default_timeout = 120  # counting a large table takes a while
    if os.environ.get('CQL_READ_CONSISTENCY'):
        from cassandra import ConsistencyLevel
        session.default_consistency_level = getattr(ConsistencyLevel, os.environ['CQL_READ_CONSISTENCY'].upper())
    if ' ' in table.strip():
        rows = session.execute(table)
    else:
        ks, _, name = table.partition('.')
        rows = session.execute('SELECT * FROM "%s"."%s"' % (ks, name))
    out = []
    for r in rows:
        d = r._asdict()
        out.append(json.dumps({k: to_json(v) for k, v in d.items() if v is not None}, sort_keys=True))
    for line in sorted(out): print(line)
    cluster.shutdown()


if __name__ == '__main__':
    main()
