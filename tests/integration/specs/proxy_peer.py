#!/usr/bin/env python3
"""Peers for the proxy tests, run as lab services.

backend: an HTTP/1.1 server that keeps connections alive and answers
  "ok <path> conn=<peer port>" (chunked for /chunked/...).
caller: a service with hard-wired names that calls others on request:
  GET /http?m=POST&p=/data/k  -> "<status> <body>" of that request to
      http://api:8080 (one fresh connection each time)
  GET /keep?p=/x               -> the same to http://backend:8080 over one
      persistent connection, with its local port: "<status> <body> port=<n>"
  GET /redis?c=SET+k+v&c=GET+k -> the commands, pipelined in one write to
      cache:6379, and the raw replies
  GET /psql?s=SQL&s=SQL        -> psql's output (errors too) for the
      statements, one after another on one connection to pg:5432
  GET /pgx?bin=PATH            -> the output of that libpq client (extended
      query, tests/helpers/pg_client.c) against pg:5432
  GET /myx?bin=PATH            -> the output of that libmariadb client
      (prepared statements, tests/helpers/my_client.c) against db:3306
"""
import subprocess
import http.client
import http.server
import socket
import sys
import urllib.parse

mode = sys.argv[1]


class Backend(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        body = ("ok %s conn=%d" % (self.path, self.client_address[1])).encode()
        self.send_response(200)
        if self.path.startswith("/chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            half = len(body) // 2
            for part in (body[:half], body[half:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    do_GET = do_POST = answer


keep = None


def keep_call(path, timeout):
    global keep
    if keep is None:
        keep = http.client.HTTPConnection("backend", 8080, timeout=timeout)
    keep.timeout = timeout
    if keep.sock:
        keep.sock.settimeout(timeout)
    try:
        keep.request("GET", path)
        r = keep.getresponse()
        body = r.read().decode()
        return "%d %s port=%d" % (r.status, body, keep.sock.getsockname()[1])
    except Exception as e:
        keep = None
        return "failed %s" % type(e).__name__


def http_call(method, path):
    c = http.client.HTTPConnection("api", 8080, timeout=10)
    try:
        c.request(method, path, body="v" if method == "POST" else None)
        r = c.getresponse()
        return "%d %s" % (r.status, r.read().decode().strip())
    except Exception as e:
        return "failed %s" % type(e).__name__
    finally:
        c.close()


def redis_call(cmds):
    out = b""
    for c in cmds:
        words = c.split()
        out += b"*%d\r\n" % len(words)
        for w in words:
            out += b"$%d\r\n%s\r\n" % (len(w), w.encode())
    s = socket.create_connection(("cache", 6379), timeout=5)
    s.sendall(out)
    got = b""
    try:
        while got.count(b"\r\n") < len(cmds):
            b = s.recv(65536)
            if not b:
                break
            got += b
    except socket.timeout:
        pass
    s.close()
    return got.decode().replace("\r\n", "|")


def run(argv, stdin=None):
    try:
        p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=20)
        out = p.stdout.strip().replace("\n", " | ")
        return out + (" || " + p.stderr.strip().replace("\n", " | ") if p.stderr.strip() else "")
    except (subprocess.TimeoutExpired, OSError) as e:
        return "failed %s" % e


def psql_call(stmts):
    return run(["psql", "-X", "-q", "-A", "-t", "-h", "pg", "-U", "postgres"], "\n".join(stmts) + "\n")


class Caller(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        if u.path == "/health":
            text = "ok"
        elif u.path == "/http":
            text = http_call(q["m"][0], q["p"][0])
        elif u.path == "/keep":
            text = keep_call(q["p"][0], float(q.get("t", ["10"])[0]))
        elif u.path == "/redis":
            text = redis_call(q["c"])
        elif u.path == "/psql":
            text = psql_call(q["s"])
        elif u.path == "/pgx":
            text = run([q["bin"][0], "host=pg user=postgres connect_timeout=10"])
        elif u.path == "/myx":
            text = run([q["bin"][0], "db"])
        else:
            text = "unknown"
        print(u.path, "->", text, flush=True)
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


port = int(sys.argv[2])
handler = Backend if mode == "backend" else Caller
http.server.ThreadingHTTPServer(("0.0.0.0", port), handler).serve_forever()
