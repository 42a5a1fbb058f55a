#!/usr/bin/env python3
"""A stand-in for the randomuser.me API, for tests and benchmarks.

ru_server.py --port-file FILE [--log FILE] [--data DIR] [--tls-cert PEM --tls-key PEM]

Binds 127.0.0.1 on a free port and writes the port to FILE (atomically).
Serves API-shaped responses (make_response.py: page P of seed S holds the same
users every time) for /api/?results=N&seed=S&page=P, and misbehaves on demand,
chosen by the path so tests stay independent:

  /mode=KIND/...          KIND: ok, slow, 429, 500, 503, 404, error (200 with
                          {"error":...}), empty (no results), short (one user
                          fewer than asked), truncated (JSON cut in half),
                          html, shape (JSON without results[]), notjson,
                          gzipbomb (a 2 MB gzip body that decodes to 2 GiB),
                          endless (a chunked body of 2 GiB, no Content-Length)
  /times=N/               misbehave only on the first N requests, then ok
  /after=N/               be ok for the first N requests, then misbehave
  /key=NAME/              the counter for times=/after= (default: the whole path)
  /delay=MS/              for slow (default 3000)
  /retry_after=S/         for 429: a Retry-After header (S seconds, or "date"
                          for an HTTP-date 1 s ahead, or "none")
  /file=NAME/             serve DIR/NAME as is instead of generated users
  /pretty/                indent the JSON as the API's docs show it
  /auth=USER:PASS/        401 unless the request carries these basic credentials

Each request is appended to the --log file as one line: PATH?QUERY.
"""
import argparse, email.utils, json, os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_response  # noqa: E402

counters = {}
lock = threading.Lock()
cache = {}


def directives(path):
    d = {}
    for part in path.split("/"):
        if not part:
            continue
        k, _, v = part.partition("=")
        d[k] = v if _ else True
    return d


def gzip_bomb(size=2 << 30):
    """gzip of '[' and `size` spaces: about 2 MB that decode to 2 GiB (made once).
    After a full flush deflate starts afresh, so one compressed 1 MiB block
    repeated is a valid stream: built in a second instead of compressing 2 GiB."""
    if "bomb" not in cache:
        import struct, zlib
        z = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate; gzip framing by hand
        block = b" " * (1 << 20)
        head = z.compress(b"[") + z.flush(zlib.Z_FULL_FLUSH)
        body = z.compress(block) + z.flush(zlib.Z_FULL_FLUSH)
        crc = zlib.crc32(b"[")
        for _ in range(size >> 20):
            crc = zlib.crc32(block, crc)
        tail = z.flush() + struct.pack("<II", crc & 0xFFFFFFFF, (size + 1) & 0xFFFFFFFF)
        cache["bomb"] = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + head + body * (size >> 20) + tail
    return cache["bomb"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the API and libcurl do

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, ctype="application/json; charset=utf-8", headers=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_endless(self, total=2 << 30):
        """A JSON-looking body of `total` bytes in chunks, until the client hangs up."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b" " * (1 << 20)
        try:
            self.wfile.write(b"1\r\n[\r\n")
            for _ in range(total >> 20):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def do_GET(self):
        url = urlsplit(self.path)
        if self.server.log_path:
            with lock, open(self.server.log_path, "a") as f:
                f.write(self.path + "\n")
        d = directives(url.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        mode = d.get("mode", "ok")
        if "auth" in d:
            import base64
            want = "Basic " + base64.b64encode(d["auth"].encode()).decode()
            if self.headers.get("Authorization") != want:
                return self.send(401, json.dumps({"error": "credentials required"}),
                                 headers=[("WWW-Authenticate", 'Basic realm="mirror"')])
        if "times" in d or "after" in d:
            key = d.get("key", url.path)
            with lock:
                counters[key] = counters.get(key, 0) + 1
                n = counters[key]
            if "times" in d and n > int(d["times"]):
                mode = "ok"
            if "after" in d and n <= int(d["after"]):
                mode = "ok"
        results = int(q.get("results", "1"))
        if mode == "slow":
            time.sleep(int(d.get("delay", "3000")) / 1000)
            mode = "ok"
        if mode == "429":
            ra = d.get("retry_after", "1")
            headers = []
            if ra == "date":
                headers.append(("Retry-After", email.utils.formatdate(time.time() + 1.5, usegmt=True)))
            elif ra != "none":
                headers.append(("Retry-After", ra))
            return self.send(429, json.dumps({"error": "Rate limit exceeded: 20,000 users per 5 minutes"}),
                             headers=headers)
        if mode in ("500", "503"):
            return self.send(int(mode), "<html><body><h1>%s Server Error</h1></body></html>" % mode, "text/html")
        if mode == "404":
            return self.send(404, "<html><body>Not Found</body></html>", "text/html")
        if mode == "error":
            return self.send(200, json.dumps({"error": "Uh oh, something has gone wrong. Please tweet us @randomapi about the issue. Thank you."}))
        if mode == "html":
            return self.send(200, "<!DOCTYPE html><html><head><title>Maintenance</title></head><body>Back soon</body></html>", "text/html")
        if mode == "notjson":
            return self.send(200, "results: none today\n", "text/plain")
        if mode == "shape":
            return self.send(200, json.dumps({"users": [{"name": "x"}], "info": {"version": "1.4"}}))
        if mode == "gzipbomb":
            return self.send(200, gzip_bomb(), headers=[("Content-Encoding", "gzip")])
        if mode == "endless":
            return self.send_endless()
        seed = q.get("seed") or os.urandom(8).hex()
        page = int(q.get("page", "1"))
        if "file" in d:
            name = d["file"]
            if name not in cache:
                with open(os.path.join(self.server.data_dir, name), "rb") as f:
                    cache[name] = f.read()
            body = cache[name]
        else:
            n = {"empty": 0, "short": max(results - 1, 0)}.get(mode, results)
            doc = make_response.response(n, seed, page)
            doc["info"]["results"] = n
            body = json.dumps(doc, indent=2 if "pretty" in d else None,
                              separators=None if "pretty" in d else (",", ":")).encode()
        if mode == "truncated":
            body = body[: len(body) // 2]
        self.send(200, body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM, key included or --tls-key)")
    ap.add_argument("--tls-key")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "rufetch"))
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.log_path = args.log
    srv.data_dir = args.data
    if args.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    main()
