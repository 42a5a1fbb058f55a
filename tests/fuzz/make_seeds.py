#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/NAME/ from the project's own
test data and a few hand-made hostile cases. Rerun after adding a case; the
files are committed (scripts/fuzz adds what it finds under build-fuzz/)."""
import hashlib
import json
import os
import sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
corpus = os.path.join(root, "tests", "fuzz", "corpus")


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(*path):
    with open(os.path.join(root, *path), "rb") as f:
        return f.read()


hostile_json = [
    '{"a":1}', '{"x":[1e400]}', '{"n":18446744073709551616}', '{"n":-9223372036854775809}', '{"n":1e-400}',
    '{"id": "broken",', '[' * 2000 + ']' * 2000, '"\\ud800"', '{"a":"\\u0000"}', '{"\xff":1}', 'null', '',
    '{"a":1}{"b":2}', '{"a":1,"a":2}', '{"s":"' + 'x' * 3000 + '"}',
]
envelopes = [
    '{"topic":"t","partition":0,"offset":5,"key":"k","timestamp":1700000000000,"value":{"a":1},'
    '"headers":{"h":"v"}}',
    '{"topic":"t","partition":0,"offset":5,"value":null}',
    '{"topic":"t","partition":-1,"offset":99999999999999999999,"value":"x"}',
    '{"topic":1,"partition":"0","offset":{},"value":[1e400]}',
]

# NDJSON reader + envelope parser: whole streams.
put("ndjson_envelope", "\n".join(hostile_json) + "\n")
put("ndjson_envelope", "\r\n".join(envelopes) + "\r\n")
put("ndjson_envelope", read("tests", "data", "kpub", "mixed.ndjson"))
put("ndjson_envelope", "x" * 5000 + "\n{\"a\":1}\n\n\n")

# JSON Schema: schema line, '\n', instance.
for name in sorted(os.listdir(os.path.join(root, "tests", "data", "jvalidate"))):
    path = os.path.join(root, "tests", "data", "jvalidate", name)
    if os.path.isfile(path) and name.endswith(".json"):
        try:
            schema = json.dumps(json.loads(read(path)), separators=(",", ":"))
        except ValueError:
            continue
        put("jsonschema", schema + '\n{"id":1,"name":"x","tags":["a"]}')
for schema, instance in [
    ('{"pattern":"^(a+)+$"}', '"' + "a" * 40 + '!"'),
    ('{"maximum":1e300,"multipleOf":0.0001}', "1e299"),
    ('{"type":"object","properties":{"a":{"$ref":"#"}},"additionalProperties":false}', '{"a":{"a":{"b":1}}}'),
    ('{"$defs":{"x":{"$dynamicAnchor":"n","type":"integer"}},"$ref":"#/$defs/x"}', "3"),
    ('{"unevaluatedProperties":false,"anyOf":[{"properties":{"a":true}}]}', '{"a":1,"b":2}'),
    ('{"format":"date-time"}', ' "2024-02-30T25:00:00Z"'),
    ('{"format":"ipv6"}', ' "::ffff:1.2.3.4"'),
    ('{"propertyNames":{"pattern":"^\\\\p{L}+$"},"minProperties":1}', '{"élève":1}'),
    ('{"contains":{"const":1},"minContains":2,"uniqueItems":true}', "[1,1.0,2]"),
]:
    put("jsonschema", schema + "\n" + instance)

# CQL: frame bodies from the recorded vectors, a header, hostile lengths.
vectors = json.loads(read("tests", "data", "cqlload", "vectors.json"))
for r in vectors["responses"]:
    put("cql_decode", bytes.fromhex(r["body"]))
put("cql_decode", bytes.fromhex("840000000800000004") + b"\x00\x00\x00\x02")
put("cql_decode", bytes.fromhex("00000002" "00000001" "00000001" "0002" "6b73" "0001" "74" "0001" "61" "0020" "0009"
                                "00000001" "7fffffff"))
put("cql_decode", bytes.fromhex("0021" "000d" "0009") + b"\x00\x00\x00\x05hello")
put("cql_decode", bytes.fromhex("0022" "0022" "0022" "0022" "0009"))

# kpub: a mode byte (key path, envelope, keep-*) and a line.
for mode in (0, 1, 3, 4, 4 | 8 | 16 | 32, 5):
    for line in ['{"login":{"uuid":"u-1"},"a":[{"b":"k"}]}', envelopes[0], envelopes[2], envelopes[3],
                 '{"x":[1e400]}', "not json"]:
        put("kpub_message", bytes([mode]) + line.encode())

# Kafka properties files.
put("kafka_properties", "bootstrap.servers=h:1\n# comment\n  sasl.password = hunter2 \r\nlinger.ms=5\n")
put("kafka_properties", "=novalue\n")
put("kafka_properties", "sasl.oauthbearer.config=principal=a secret=b\nsasl.password\n")
put("kafka_properties", "a=b=c\n\n\n\t\n" + "k" * 5000 + "=v\n")

# pgload: a mode byte (envelope, strict fields) and a line.
for mode in (0, 1, 2):
    for line in ['{"a":"tab\\there","b":{"x":[1,2]},"t":"2024-01-01T00:00:00Z","x":[{"y":"\\\\N"}]}',
                 '{"a":null,"b":null,"t":"not a time","x":[]}', '{"a":"new\\nline\\r\\\\","c":1}',
                 '{"a":1e400}', envelopes[0], envelopes[3], "[1,2]", '"str"']:
        put("pgload_copy", bytes([mode]) + line.encode())

# ru-fetch: a mode byte (flat, meta, expected) and a response body.
for name in ("api-1.0.json", "mixed.json"):
    body = read("tests", "data", "rufetch", name)
    for mode in (0, 1, 3, 4):
        put("rufetch_response", bytes([mode]) + body)
put("rufetch_response", b"\x00" + b'{"error":"Uh oh, something has gone wrong."}')
put("rufetch_response", b"\x01" + b'{"results":[{"name":{"first":1e400}}],"info":{"seed":"x","results":1,"page":1}}')
put("rufetch_response", b"\x01" + b'{"results":[],"info":{}}')
print("seeds written under", corpus, file=sys.stderr)
