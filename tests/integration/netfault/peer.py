# A long-lived TCP conversation for the partition test. Each side sends a
# numbered line every PERIOD seconds and prints what it receives, stamped
# with CLOCK_MONOTONIC (shared across namespaces), plus any error it sees.
import os, socket, sys, threading, time

role, period = sys.argv[1], float(sys.argv[2])

def log(*a):
    print(*a, flush=True)

if role == "sink":
    # reads each connection to its end, answers "got N"
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", 7001))
    ls.listen(8)
    while True:
        c, _ = ls.accept()
        n = 0
        while True:
            d = c.recv(65536)
            if not d:
                break
            n += len(d)
        c.sendall(b"got %d\n" % n)
        c.close()

if role == "server":
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", 7000))
    ls.listen(1)
    s, _ = ls.accept()
else:
    while True:
        try:
            s = socket.create_connection(("server", 7000), timeout=1)
            s.settimeout(None)
            break
        except OSError:
            time.sleep(0.05)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
log("connected", time.monotonic())

def reader():
    buf = b""
    while True:
        try:
            d = s.recv(4096)
        except OSError as e:
            log("error", time.monotonic(), "recv", e); return
        if not d:
            log("error", time.monotonic(), "eof"); return
        buf += d
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            log("recv", line.decode(), time.monotonic())

threading.Thread(target=reader, daemon=True).start()
n = 0
while True:
    n += 1
    try:
        s.sendall(b"%s%d\n" % (role[0].encode(), n))
    except OSError as e:
        log("error", time.monotonic(), "send", e)
        break
    time.sleep(period)
time.sleep(3600)
