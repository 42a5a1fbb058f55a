#!/usr/bin/python3
"""Checks the CQL test peer with an independent client, the DataStax Python
driver: handshake and authentication, schema statements, prepared INSERTs,
batches, SELECT, and that each injected fault reaches the driver as the
matching server error. Exits non-zero with a message on the first mismatch.

  check_peer.py HOST:PORT USER PASSWORD COMMANDS_FIFO
"""
import logging
import sys
import time
import uuid
import warnings

from cassandra import ConsistencyLevel, OperationTimedOut, Unavailable, WriteTimeout
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable
from cassandra.policies import RoundRobinPolicy, RetryPolicy
from cassandra.protocol import ServerError
from cassandra.query import BatchStatement, BatchType


class NoRetry(RetryPolicy):
    def on_write_timeout(self, *a, **k): return self.RETHROW, None
    def on_unavailable(self, *a, **k): return self.RETHROW, None
    def on_request_error(self, *a, **k): return self.RETHROW, None


def connect(host, port, user, password):
    return Cluster(contact_points=[host], port=port, protocol_version=4, schema_metadata_enabled=False,
                   token_metadata_enabled=False, load_balancing_policy=RoundRobinPolicy(),
                   default_retry_policy=NoRetry(),
                   auth_provider=PlainTextAuthProvider(user, password), connect_timeout=5)


def expect_error(session, stmt, params, kind, fifo, fault):
    with open(fifo, 'w') as f:
        f.write('fault %s 1\n' % fault)
    time.sleep(0.2)
    try:
        session.execute(stmt, params)
    except kind:
        return
    except Exception as e:  # the driver wraps some errors
        if kind.__name__ in repr(e) or kind.__name__.replace('Error', '') in repr(e):
            return
        raise AssertionError('fault %s: expected %s, got %r' % (fault, kind.__name__, e))
    raise AssertionError('fault %s: no error' % fault)


def main():
    warnings.simplefilter('ignore')
    logging.basicConfig(level=logging.CRITICAL)
    hostport, user, password, fifo = sys.argv[1:5]
    host, port = hostport.rsplit(':', 1)
    port = int(port)
    # Wrong password: the driver sees an authentication failure.
    bad = connect(host, port, user, password + 'x')
    try:
        bad.connect()
        raise AssertionError('a wrong password was accepted')
    except NoHostAvailable as e:
        assert 'password are incorrect' in str(e) or 'Bad credentials' in str(e) or 'AuthenticationFailed' in str(e), e
    cluster = connect(host, port, user, password)
    s = cluster.connect()
    s.execute("CREATE KEYSPACE IF NOT EXISTS chk WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
    s.execute('CREATE TABLE IF NOT EXISTS chk.t (k uuid, c int, v text, tags list<text>, m map<text, int>, '
              'PRIMARY KEY ((k), c))')
    ins = s.prepare('INSERT INTO chk.t (k, c, v, tags, m) VALUES (?, ?, ?, ?, ?)')
    assert list(ins.routing_key_indexes) == [0], ins.routing_key_indexes
    k = uuid.uuid4()
    s.execute(ins, (k, 1, 'one', ['a', 'b'], {'x': 1}))
    b = BatchStatement(batch_type=BatchType.UNLOGGED, consistency_level=ConsistencyLevel.LOCAL_QUORUM)
    for c in (2, 3):
        b.add(ins, (k, c, 'n%d' % c, None, None))
    s.execute(b)
    rows = sorted(s.execute('SELECT * FROM chk.t'), key=lambda r: r.c)
    assert [(r.k, r.c, r.v) for r in rows] == [(k, 1, 'one'), (k, 2, 'n2'), (k, 3, 'n3')], rows
    assert list(rows[0].tags) == ['a', 'b'] and dict(rows[0].m) == {'x': 1}, rows[0]
    params = (k, 9, 'x', None, None)
    expect_error(s, ins, params, WriteTimeout, fifo, 'write_timeout')
    expect_error(s, ins, params, Unavailable, fifo, 'unavailable')
    expect_error(s, ins, params, ServerError, fifo, 'server_error')
    # UNPREPARED is handled inside the driver: it prepares again and succeeds.
    with open(fifo, 'w') as f:
        f.write('fault unprepared 1\n')
    time.sleep(0.2)
    s.execute(ins, (k, 10, 'after unprepared', None, None))
    assert any(r.c == 10 for r in s.execute('SELECT * FROM chk.t')), 'UNPREPARED was not recovered'
    cluster.shutdown()
    print('cqlpeer checked with the Python driver: ok')


if __name__ == '__main__':
    main()
