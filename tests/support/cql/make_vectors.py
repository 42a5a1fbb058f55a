#!/usr/bin/python3
"""Byte-exact CQL v4 vectors from an independent implementation: the DataStax
Python driver (Debian's python3-cassandra). Requests are encoded by the
driver's message classes (ProtocolHandler.encode_message); response bodies are
built here from the spec's notations and decoded by the driver's recv_body,
whose reading is what the vectors record; values are serialized by the
driver's cqltypes; tokens come from the driver's murmur3.

  /usr/bin/python3 tests/support/cql/make_vectors.py > tests/data/cqlload/vectors.json

tests/unit/test_cql_codec.cpp checks pipekit's codec against the file both
ways (our encoding == the driver's bytes; our decoding == the driver's reading).
"""
import datetime
import decimal
import io
import ipaddress
import json
import struct
import sys
import uuid

from cassandra import ConsistencyLevel, cqltypes
from cassandra.murmur3 import murmur3
from cassandra.protocol import (AuthResponseMessage, BatchMessage, ErrorMessage, ExecuteMessage,
                                OptionsMessage, PrepareMessage, ProtocolHandler, QueryMessage,
                                RegisterMessage, ResultMessage, StartupMessage, SupportedMessage,
                                AuthenticateMessage, AuthSuccessMessage, _UNSET_VALUE)
from cassandra.policies import WriteType
from cassandra.query import BatchType

V4 = 4


def encode(msg, stream):
    return ProtocolHandler.encode_message(msg, stream, V4, None, False)


def requests():
    out = []

    def add(name, msg, stream, spec):
        spec.update(name=name, stream=stream, hex=encode(msg, stream).hex())
        out.append(spec)

    add('startup', StartupMessage(cqlversion='3.0.0', options={}), 0,
        dict(op='startup', options=[['CQL_VERSION', '3.0.0']]))
    add('startup_with_driver_name', StartupMessage(cqlversion='3.0.0', options={'DRIVER_NAME': 'pipekit'}), 1,
        dict(op='startup', options=[['DRIVER_NAME', 'pipekit'], ['CQL_VERSION', '3.0.0']]))
    add('options', OptionsMessage(), 2, dict(op='options'))
    add('auth_response_plain', AuthResponseMessage(b'\x00cassandra\x00s3cr\xc3\xa9t'), 3,
        dict(op='auth_response', user='cassandra', password='s3cr\u00e9t'))
    add('register', RegisterMessage(['SCHEMA_CHANGE', 'TOPOLOGY_CHANGE']), 4,
        dict(op='register', events=['SCHEMA_CHANGE', 'TOPOLOGY_CHANGE']))
    add('prepare', PrepareMessage('INSERT INTO "ks"."t" ("id", "v") VALUES (?, ?)'), 5,
        dict(op='prepare', cql='INSERT INTO "ks"."t" ("id", "v") VALUES (?, ?)'))
    add('query_no_values', QueryMessage('SELECT partitioner, tokens FROM system.local', ConsistencyLevel.ONE), 6,
        dict(op='query', cql='SELECT partitioner, tokens FROM system.local', consistency=1, values=[]))
    add('query_unicode', QueryMessage("SELECT * FROM t WHERE k = 'caf\u00e9'", ConsistencyLevel.LOCAL_QUORUM), 300,
        dict(op='query', cql="SELECT * FROM t WHERE k = 'caf\u00e9'", consistency=6, values=[]))
    q = QueryMessage('SELECT x FROM t WHERE a = ? AND b = ?', ConsistencyLevel.QUORUM)
    q.query_params = [b'ks', b'table']
    add('query_values', q, 7, dict(op='query', cql='SELECT x FROM t WHERE a = ? AND b = ?', consistency=4,
                                   values=['6b73', '7461626c65']))
    qp = QueryMessage('SELECT * FROM t', ConsistencyLevel.ONE, fetch_size=5000)
    add('query_page_size', qp, 8, dict(op='query', cql='SELECT * FROM t', consistency=1, values=[], page_size=5000))
    qid = bytes.fromhex('0123456789abcdef0123456789abcdef')
    vals = [b'\x00\x00\x00\x2a', None, _UNSET_VALUE, b'']
    # This driver never sets the skip-metadata flag (0x02) in v4, so both
    # vectors have it clear; the unit test checks that flag on its own.
    add('execute', ExecuteMessage(qid, vals, ConsistencyLevel.LOCAL_QUORUM), 32767,
        dict(op='execute', id=qid.hex(), consistency=6, values=['0000002a', None, 'unset', ''], skip_metadata=False))
    add('execute_with_metadata', ExecuteMessage(qid, [b'abc'], ConsistencyLevel.ALL, skip_meta=False), 9,
        dict(op='execute', id=qid.hex(), consistency=5, values=['616263'], skip_metadata=False))
    batch = BatchMessage(BatchType.UNLOGGED, [(True, qid, [b'\x01', _UNSET_VALUE]), (True, qid, [b'\x02', b'xyz'])],
                         ConsistencyLevel.LOCAL_ONE)
    add('batch_unlogged', batch, 10, dict(op='batch', type=1, consistency=10,
                                          entries=[dict(id=qid.hex(), values=['01', 'unset']),
                                                   dict(id=qid.hex(), values=['02', '78797a'])]))
    batch = BatchMessage(BatchType.LOGGED, [(True, qid, [b'\x03'])], ConsistencyLevel.EACH_QUORUM)
    add('batch_logged', batch, 11, dict(op='batch', type=0, consistency=7,
                                        entries=[dict(id=qid.hex(), values=['03'])]))
    return out


# ---- responses -------------------------------------------------------------
def s_short(n): return struct.pack('>H', n)
def s_int(n): return struct.pack('>i', n)
def s_string(x): b = x.encode(); return s_short(len(b)) + b
def s_bytes(b): return s_int(-1) if b is None else s_int(len(b)) + b


TYPE_IDS = {'ascii': 1, 'bigint': 2, 'blob': 3, 'boolean': 4, 'counter': 5, 'decimal': 6, 'double': 7,
            'float': 8, 'int': 9, 'timestamp': 0x0B, 'uuid': 0x0C, 'text': 0x0D, 'varint': 0x0E,
            'timeuuid': 0x0F, 'inet': 0x10, 'date': 0x11, 'time': 0x12, 'smallint': 0x13, 'tinyint': 0x14,
            'duration': 0x15}


def opt(t):
    """A type as the spec's [option]: ('list', 'int') / ('map', 'text', ('list', 'int')) / 'int'."""
    if isinstance(t, str): return s_short(TYPE_IDS[t])
    kind = t[0]
    if kind == 'list': return s_short(0x20) + opt(t[1])
    if kind == 'set': return s_short(0x22) + opt(t[1])
    if kind == 'map': return s_short(0x21) + opt(t[1]) + opt(t[2])
    if kind == 'tuple': return s_short(0x31) + s_short(len(t) - 1) + b''.join(opt(x) for x in t[1:])
    if kind == 'udt':
        _, ks, name, fields = t
        return s_short(0x30) + s_string(ks) + s_string(name) + s_short(len(fields)) + \
            b''.join(s_string(n) + opt(ft) for n, ft in fields)
    if kind == 'custom': return s_short(0) + s_string(t[1])
    raise ValueError(t)


def decode(opcode, body):
    return ProtocolHandler.decode_message(V4, {}, 0, 0, opcode, body, None, None)


def type_name(ct):
    return ct.cql_parameterized_type()


def responses():
    out = []

    def add(name, opcode, body, expect):
        out.append(dict(name=name, opcode=opcode, body=body.hex(), expect=expect))

    # Errors: each code with its extra fields, read back by the driver.
    cases = [
        ('error_server', 0x0000, 'java.lang.NullPointerException', b''),
        ('error_protocol', 0x000A, 'Invalid or unsupported protocol version (5)', b''),
        ('error_bad_credentials', 0x0100, 'Provided username u and/or password are incorrect', b''),
        ('error_unavailable', 0x1000, 'Cannot achieve consistency level QUORUM', s_short(4) + s_int(2) + s_int(1)),
        ('error_overloaded', 0x1001, 'Server is overloaded', b''),
        ('error_is_bootstrapping', 0x1002, 'Cannot read from a bootstrapping node', b''),
        ('error_write_timeout', 0x1100, 'Operation timed out - received only 0 responses.',
         s_short(6) + s_int(0) + s_int(2) + s_string('UNLOGGED_BATCH')),
        ('error_read_timeout', 0x1200, 'Operation timed out', s_short(1) + s_int(0) + s_int(1) + b'\x00'),
        ('error_write_failure', 0x1500, 'Operation failed', s_short(6) + s_int(1) + s_int(2) + s_int(1) + s_string('SIMPLE')),
        ('error_syntax', 0x2000, "line 1:0 no viable alternative at input 'INSRT'", b''),
        ('error_unauthorized', 0x2100, 'User u has no MODIFY permission on <table ks.t>', b''),
        ('error_invalid', 0x2200, 'Expected 4 or 0 byte int (8)', b''),
        ('error_already_exists', 0x2400, 'Table ks.t already exists', s_string('ks') + s_string('t')),
        ('error_unprepared', 0x2500, 'Prepared query with ID 0123 not found', s_short(2) + b'\x01\x23'),
    ]
    for name, code, msg, extra in cases:
        body = s_int(code) + s_string(msg) + extra
        m = decode(0x00, body)
        info = m.info if isinstance(m.info, dict) else {}
        expect = dict(code=m.code, message=m.message)
        if 'write_type' in info: expect['write_type'] = WriteType.value_to_name[info['write_type']]
        if m.code == 0x2500: expect['unprepared_id'] = m.info.hex()
        if 'required_replicas' in info: expect['required'] = info['required_replicas']; expect['alive'] = info['alive_replicas']
        if 'received_responses' in info: expect['received'] = info['received_responses']; expect['block_for'] = info['required_responses']
        add(name, 0x00, body, expect)
    add('ready', 0x02, b'', dict())
    body = s_string('org.apache.cassandra.auth.PasswordAuthenticator')
    add('authenticate', 0x03, body, dict(authenticator=decode(0x03, body).authenticator))
    body = s_short(2) + s_string('CQL_VERSION') + s_short(1) + s_string('3.4.5') + \
        s_string('PROTOCOL_VERSIONS') + s_short(2) + s_string('3/v3') + s_string('4/v4')
    m = decode(0x06, body)
    add('supported', 0x06, body, dict(options=dict(m.options, CQL_VERSION=m.cql_versions)))
    body = s_bytes(None)
    add('auth_success_null', 0x10, body, dict(token=decode(0x10, body).token))
    # RESULT void / set_keyspace / schema_change
    add('result_void', 0x08, s_int(1), dict(kind=decode(0x08, s_int(1)).kind))
    body = s_int(3) + s_string('spark_streaming')
    add('result_set_keyspace', 0x08, body, dict(kind=3, keyspace=decode(0x08, body).new_keyspace))
    for target, extra in (('KEYSPACE', s_string('ks')), ('TABLE', s_string('ks') + s_string('users')),
                          ('FUNCTION', s_string('ks') + s_string('f') + s_short(1) + s_string('int'))):
        body = s_int(5) + s_string('CREATED') + s_string(target) + extra
        ev = decode(0x08, body).schema_change_event
        add('result_schema_change_' + target.lower(), 0x08, body,
            dict(kind=5, change=ev['change_type'], target=ev['target_type'], keyspace=ev['keyspace'],
                 name=ev.get('table') or getattr(ev.get('function'), 'name', '') or '',
                 arguments=list(getattr(ev.get('function'), 'argument_types', []) or [])))
    # RESULT rows: global table spec and per-column spec, with typed cells.
    cols = [('name', 'text'), ('n', 'int'), ('tokens', ('set', 'text')), ('m', ('map', 'text', 'bigint')),
            ('u', 'uuid'), ('ok', 'boolean'), ('tp', ('tuple', 'int', 'text')),
            ('addr', ('udt', 'ks', 'address', [('street', 'text'), ('zip', 'int')]))]
    meta = s_int(1) + s_int(len(cols)) + s_string('ks') + s_string('t')
    for n, t in cols: meta += s_string(n) + opt(t)
    rows = [[b'alice', s_int(42), s_int(2) + s_bytes(b'-3') + s_bytes(b'77'),
             s_int(1) + s_bytes(b'k') + s_bytes(struct.pack('>q', -5)),
             uuid.UUID('7a0eed16-9430-4d68-901f-c0d4c1c3bf00').bytes, b'\x01',
             s_bytes(s_int(7)) + s_bytes(b'seven'), s_bytes(b'Main St') + s_bytes(s_int(75001))],
            [None, s_int(-1), None, None, None, b'\x00', None, None]]
    body = s_int(2) + meta + s_int(len(rows)) + b''.join(s_bytes(c) for r in rows for c in r)
    m = decode(0x08, body)
    add('result_rows', 0x08, body, dict(
        kind=2, columns=[dict(keyspace=c[0], table=c[1], name=c[2], type=type_name(c[3])) for c in m.column_metadata],
        rows=[[None if c is None else c.hex() for c in r] for r in rows],
        values=[[repr(v) for v in r] for r in m.parsed_rows]))
    body = s_int(2) + s_int(0) + s_int(2) + s_string('a') + s_string('t1') + s_string('x') + s_short(9) + \
        s_string('b') + s_string('t2') + s_string('y') + s_short(0x0D) + s_int(1) + s_bytes(s_int(1)) + s_bytes(b'y')
    m = decode(0x08, body)
    add('result_rows_per_column_spec', 0x08, body, dict(
        kind=2, columns=[dict(keyspace=c[0], table=c[1], name=c[2], type=type_name(c[3])) for c in m.column_metadata],
        rows=[['00000001', '79']]))
    # Paging state, no metadata (skip_metadata answers).
    body = s_int(2) + s_int(0x0002 | 0x0004) + s_int(3) + s_bytes(b'\xca\xfe') + s_int(0)
    add('result_rows_no_metadata_paging', 0x08, body, dict(kind=2, column_count=3, paging_state='cafe', rows=[]))
    # RESULT prepared with partition key indexes.
    pid = bytes.fromhex('00112233445566778899aabbccddeeff')
    bind = [('id', 'uuid'), ('nat', 'text'), ('email', 'text'), ('tags', ('list', 'text'))]
    body = s_int(4) + s_short(len(pid)) + pid + s_int(1) + s_int(len(bind)) + s_int(2) + s_short(1) + s_short(0) + \
        s_string('spark_streaming') + s_string('created_users') + \
        b''.join(s_string(n) + opt(t) for n, t in bind) + s_int(4) + s_int(0)
    m = decode(0x08, body)
    add('result_prepared', 0x08, body, dict(
        kind=4, id=m.query_id.hex(), pk_indexes=list(m.pk_indexes),
        bind=[dict(keyspace=c[0], table=c[1], name=c[2], type=type_name(c[3])) for c in m.bind_metadata],
        result_columns=len(m.column_metadata or [])))
    return out


# ---- values: JSON in, the driver's serialization out -----------------------
def ct(t):
    if isinstance(t, str): return cqltypes._cqltypes[t]
    kind = t[0]
    if kind == 'udt':
        _, ks, name, fields = t
        return cqltypes.UserType.make_udt_class(ks, name, [f for f, _ in fields], [ct(x) for _, x in fields])
    return cqltypes._cqltypes[kind].apply_parameters([ct(x) for x in t[1:]])


def values():
    ts = lambda s: datetime.datetime(*s, tzinfo=datetime.timezone.utc)
    cases = [
        ('text', '"caf\u00e9 \u2603"', 'caf\u00e9 \u2603'),
        ('text', '""', ''),
        ('text', '42', '42'),
        ('text', '{"a": [1, 2]}', '{"a":[1,2]}'),
        ('ascii', '"plain"', 'plain'),
        ('int', '42', 42), ('int', '-2147483648', -2147483648), ('int', '"17"', 17),
        ('bigint', '9223372036854775807', 9223372036854775807), ('bigint', '-1', -1),
        ('smallint', '-32768', -32768), ('tinyint', '127', 127), ('tinyint', '-1', -1),
        ('counter', '5', 5),
        ('boolean', 'true', True), ('boolean', 'false', False), ('boolean', '"true"', True),
        ('float', '1.5', 1.5), ('float', '-0.25', -0.25),
        ('double', '3.141592653589793', 3.141592653589793), ('double', '10', 10.0), ('double', '"1e300"', 1e300),
        ('decimal', '"12.345"', decimal.Decimal('12.345')), ('decimal', '"-0.001"', decimal.Decimal('-0.001')),
        ('decimal', '"1E+3"', decimal.Decimal('1E+3')), ('decimal', '100', decimal.Decimal('100')),
        ('decimal', '"123456789012345678901234567890.5"', decimal.Decimal('123456789012345678901234567890.5')),
        ('varint', '0', 0), ('varint', '127', 127), ('varint', '128', 128), ('varint', '-128', -128),
        ('varint', '-129', -129), ('varint', '255', 255), ('varint', '-1', -1),
        ('varint', '"123456789012345678901234567890"', 123456789012345678901234567890),
        ('varint', '"-123456789012345678901234567890"', -123456789012345678901234567890),
        ('timestamp', '"2024-05-01T10:00:00Z"', ts((2024, 5, 1, 10, 0, 0))),
        ('timestamp', '"2024-05-01T10:00:00.123Z"', ts((2024, 5, 1, 10, 0, 0, 123000))),
        ('timestamp', '"2024-05-01T12:00:00+02:00"', ts((2024, 5, 1, 10, 0, 0))),
        ('timestamp', '"1969-12-31T23:59:59.999Z"', ts((1969, 12, 31, 23, 59, 59, 999000))),
        ('timestamp', '"2024-02-29"', ts((2024, 2, 29))),
        ('timestamp', '1714557600123', 1714557600123),
        ('date', '"2024-02-29"', datetime.date(2024, 2, 29)), ('date', '"1970-01-01"', datetime.date(1970, 1, 1)),
        ('date', '"1900-03-01"', datetime.date(1900, 3, 1)),
        ('time', '"10:20:30.123456"', datetime.time(10, 20, 30, 123456)),
        ('time', '"10:20:30.123456789"', __import__('cassandra.util').util.Time('10:20:30.123456789')),
        ('time', '37230000000001', __import__('cassandra.util').util.Time(37230000000001)),
        ('uuid', '"7a0eed16-9430-4d68-901f-c0d4c1c3bf00"', uuid.UUID('7a0eed16-9430-4d68-901f-c0d4c1c3bf00')),
        ('timeuuid', '"d2177dd0-eaa2-11de-a572-001b779c76e3"', uuid.UUID('d2177dd0-eaa2-11de-a572-001b779c76e3')),
        ('inet', '"192.168.1.20"', ipaddress.ip_address('192.168.1.20')),
        ('inet', '"2001:db8::1"', ipaddress.ip_address('2001:db8::1')),
        ('blob', '"AAEC/w=="', b'\x00\x01\x02\xff'), ('blob', '"0xcafe"', b'\xca\xfe'), ('blob', '""', b''),
        (('list', 'int'), '[1, 2, 3]', [1, 2, 3]), (('list', 'text'), '[]', []),
        (('set', 'text'), '["a", "b"]', ['a', 'b']),
        (('map', 'text', 'int'), '{"a": 1, "b": 2}', {'a': 1, 'b': 2}),
        (('map', 'int', 'text'), '{"1": "one"}', {1: 'one'}),
        (('map', 'uuid', ('list', 'bigint')), '{"7a0eed16-9430-4d68-901f-c0d4c1c3bf00": [1, -1]}',
         {uuid.UUID('7a0eed16-9430-4d68-901f-c0d4c1c3bf00'): [1, -1]}),
        (('list', ('map', 'text', 'boolean')), '[{"x": true}, {}]', [{'x': True}, {}]),
        (('tuple', 'int', 'text'), '[1, "a"]', (1, 'a')),
        (('tuple', 'int', 'text'), '[1, null]', (1, None)),
        (('udt', 'ks', 'address', [('street', 'text'), ('zip', 'int')]), '{"street": "Main", "zip": 75001}',
         None),
    ]
    out = []
    for t, js, py in cases:
        typ = ct(t)
        if py is None and t[0] == 'udt':
            py = typ.mapped_class(street='Main', zip=75001) if hasattr(typ, 'mapped_class') and typ.mapped_class else \
                typ.tuple_type('Main', 75001)
        if t == 'timestamp' and isinstance(py, int):
            data = struct.pack('>q', py)  # epoch ms given as a number: the same 8 bytes
            data = typ.serialize(datetime.datetime.fromtimestamp(py / 1000, tz=datetime.timezone.utc), V4)
        else:
            data = typ.serialize(py, V4)
        out.append(dict(type=opt(t).hex(), type_name=type_name(typ), json=js, hex=data.hex()))
    # Values that must be refused (with a reason), not encoded.
    bad = [('int', '2147483648'), ('int', '"x"'), ('int', '1.5'), ('tinyint', '200'), ('boolean', '"yes"'),
           ('uuid', '"not-a-uuid"'), ('timeuuid', '"7a0eed16-9430-4d68-901f-c0d4c1c3bf00"'),
           ('inet', '"300.1.1.1"'), ('timestamp', '"2024-13-01"'), ('timestamp', '"yesterday"'),
           ('date', '"2023-02-29"'), ('blob', '"!!"'), ('ascii', '"caf\u00e9"'), (('list', 'int'), '[1, null]'),
           (('list', 'int'), '{"a": 1}'), ('int', '[1]'), (('map', 'int', 'text'), '{"x": "y"}'),
           ('decimal', '"1.2.3"'), ('varint', '"1.5"')]
    refused = [dict(type=opt(t).hex(), json=js) for t, js in bad]
    return out, refused


def tokens():
    keys = [b'', b'a', b'abc', b'hello world', bytes(range(15)), bytes(range(16)), bytes(range(17)),
            bytes(range(128, 160)), b'\xff' * 31, b'\x80\x81\x82\x83\x84\x85\x86\x87\x88',
            uuid.UUID('7a0eed16-9430-4d68-901f-c0d4c1c3bf00').bytes, struct.pack('>i', 42),
            # composite partition key: (text 'fr', int 7)
            s_short(2) + b'fr' + b'\x00' + s_short(4) + struct.pack('>i', 7) + b'\x00']
    return [dict(key=k.hex(), token=murmur3(k)) for k in keys]


def main():
    vals, refused = values()
    doc = dict(generator='tests/support/cql/make_vectors.py with python3-cassandra ' + __import__('cassandra').__version__,
               requests=requests(), responses=responses(), values=vals, refused=refused, tokens=tokens())
    json.dump(doc, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
