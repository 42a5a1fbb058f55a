#!/usr/bin/env python3
"""A TCP proxy in front of PostgreSQL that, once, swallows the server's
CommandComplete "COMMIT" and closes the client's connection: the transaction
is committed on the server, but the client never hears it (a COMMIT in
doubt). Afterwards it forwards everything. Clients must use sslmode=disable.

    commit_cutter.py LISTEN_PORT PG_HOST PG_PORT  (prints "ready" when listening)
"""
import socket
import struct
import sys
import threading

cut_done = threading.Event()


def pump_client_to_server(client, server):
    try:
        while True:
            data = client.recv(65536)
            if not data:
                break
            server.sendall(data)
    except OSError:
        pass
    finally:
        for s in (client, server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def pump_server_to_client(server, client):
    # Server messages are always framed: type (1 byte), length (4, itself included).
    buf = b""
    try:
        while True:
            data = server.recv(65536)
            if not data:
                break
            buf += data
            out = b""
            while len(buf) >= 5:
                (length,) = struct.unpack("!I", buf[1:5])
                if len(buf) < 1 + length:
                    break
                msg, buf = buf[: 1 + length], buf[1 + length:]
                if not cut_done.is_set() and msg[:1] == b"C" and msg[5:].startswith(b"COMMIT\0"):
                    cut_done.set()
                    client.sendall(out)
                    raise ConnectionAbortedError
                out += msg
            client.sendall(out)
    except OSError:
        pass
    finally:
        for s in (client, server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def main():
    listen_port, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", listen_port))
    lsock.listen(16)
    print("ready", flush=True)
    while True:
        client, _ = lsock.accept()
        server = socket.create_connection((host, port))
        threading.Thread(target=pump_client_to_server, args=(client, server), daemon=True).start()
        threading.Thread(target=pump_server_to_client, args=(server, client), daemon=True).start()


if __name__ == "__main__":
    main()
