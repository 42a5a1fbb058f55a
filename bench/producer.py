#!/usr/bin/env python3
"""The seeds' producer: JSON user records into a Kafka topic, one message each.

    producer.py --brokers LIST --topic NAME [--partitions N] < users.ndjson

Creates the topic (N partitions, replication factor 1) when it is missing,
then sends every input line as one message, keyed by its "id" as the seeds'
producer does, and waits for every delivery. Prints "N sent in S s" on stderr.
"""
import argparse
import json
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--partitions", type=int, default=2)
    args = ap.parse_args()

    admin = AdminClient({"bootstrap.servers": args.brokers})
    if args.topic not in admin.list_topics(timeout=30).topics:
        for fut in admin.create_topics([NewTopic(args.topic, args.partitions, 1)]).values():
            fut.result(timeout=30)

    failed = []

    def delivered(err, msg):
        if err is not None:
            failed.append(err)

    producer = Producer({"bootstrap.servers": args.brokers, "linger.ms": 5, "acks": "all"})
    t0 = time.time()
    sent = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        record = json.loads(line)
        while True:
            try:
                producer.produce(args.topic, key=record["id"], value=json.dumps(record).encode(),
                                 on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
        sent += 1
    left = producer.flush(120)
    if left or failed:
        sys.exit(f"producer: {left} undelivered, {len(failed)} failed (first: {failed[:1]})")
    print(f"producer: {sent} sent in {time.time() - t0:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
