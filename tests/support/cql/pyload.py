#!/usr/bin/python3
"""pyload: the benchmark's peer loader. Loads flat user NDJSON into a table
with the DataStax Python driver the way its documentation recommends for
bulk writes: one prepared INSERT, execute_concurrent_with_args with N in
flight. Prints records, seconds and records/s as JSON.

  pyload.py HOST:PORT KEYSPACE.TABLE FILE CONCURRENCY
"""
import json
import logging
import sys
import time
import uuid
import warnings

from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.policies import RoundRobinPolicy


def main():
    warnings.simplefilter('ignore')
    logging.basicConfig(level=logging.CRITICAL)
    hostport, table, path, conc = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    host, port = hostport.rsplit(':', 1)
    cluster = Cluster(contact_points=[host], port=int(port), protocol_version=4, schema_metadata_enabled=False,
                      token_metadata_enabled=False, load_balancing_policy=RoundRobinPolicy())
    s = cluster.connect()
    start = time.monotonic()
    cols = None
    params = []
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            if cols is None:
                cols = list(rec.keys())
                ks, t = table.split('.')
                stmt = s.prepare('INSERT INTO "%s"."%s" (%s) VALUES (%s)' % (
                    ks, t, ', '.join('"%s"' % c for c in cols), ', '.join('?' * len(cols))))
            params.append(tuple(uuid.UUID(rec[c]) if c == 'id' else rec.get(c) for c in cols))
    results = execute_concurrent_with_args(s, stmt, params, concurrency=conc, raise_on_first_error=True)
    ok = sum(1 for r in results if r.success)
    secs = time.monotonic() - start
    print(json.dumps(dict(records=ok, seconds=round(secs, 3), records_per_second=round(ok / secs))))
    cluster.shutdown()


if __name__ == '__main__':
    main()
