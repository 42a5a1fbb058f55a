#!/usr/bin/env python3
"""ack_relay.py IN_FIFO OUT_FIFO: moves acknowledgement lines from IN (where
jvalidate and pgload write) to OUT (what ksub --commit-acks reads), holding
any amount in memory in between.

Why: a sink acks a whole batch at once after its commit (10,000 lines, about
600 KB), far more than a pipe holds (64 KB). If the reader of the acks is
itself blocked writing records downstream, the sink blocks on its acks,
stops reading, and the pipeline deadlocks. With the relay, writers never
block on acks. Both FIFOs are opened read-write, so neither side ever sees
EOF or EPIPE when the other comes and goes (a crashed ksub included); the
relay runs until it is killed at the end of the attempt."""
import os, select, sys


def main():
    src = os.open(sys.argv[1], os.O_RDWR | os.O_NONBLOCK)
    dst = os.open(sys.argv[2], os.O_RDWR | os.O_NONBLOCK)
    buf = bytearray()
    while True:
        readable, writable, _ = select.select([src], [dst] if buf else [], [])
        if readable:
            while True:
                try:
                    chunk = os.read(src, 1 << 16)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                buf += chunk
        if writable and buf:
            try:
                n = os.write(dst, buf[: 1 << 16])
                del buf[:n]
            except BlockingIOError:
                pass


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
