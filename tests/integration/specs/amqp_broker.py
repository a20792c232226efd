# A minimal AMQP 0-9-1 broker for amqp.star: enough of the protocol for
# librabbitmq's login (PLAIN, guest/guest unless AMQP_USER/AMQP_PASS),
# channels, Queue.Declare, Basic.Publish to the default exchange (routed
# to the queue its routing key names), Basic.Get, and closing. Debian's
# rabbitmq-server takes over a minute to boot on a loaded CI machine.
import os, socket, struct, sys, threading

USER = os.environ.get("AMQP_USER", "guest").encode()
PASS = os.environ.get("AMQP_PASS", "guest").encode()
queues, lock = {}, threading.Lock()


def shortstr(b):
    return bytes([len(b)]) + b


def frame(s, ftype, ch, payload):
    s.sendall(struct.pack(">BHI", ftype, ch, len(payload)) + payload + b"\xce")


def method(s, ch, cls, mid, args=b""):
    frame(s, 1, ch, struct.pack(">HH", cls, mid) + args)


def close(s, ch, code, text, cls, mid):
    args = struct.pack(">H", code) + shortstr(text.encode()) + struct.pack(">HH", cls, mid)
    method(s, ch, 10 if ch == 0 else 20, 50 if ch == 0 else 40, args)


def read_exact(f, n):
    b = f.read(n)
    if len(b) < n:
        raise EOFError
    return b


def read_frame(f):
    t, ch, size = struct.unpack(">BHI", read_exact(f, 7))
    payload = read_exact(f, size)
    read_exact(f, 1)
    return t, ch, payload


def parse_shortstr(p, i):
    n = p[i]
    return p[i + 1:i + 1 + n], i + 1 + n


def serve(s):
    f = s.makefile("rb")
    if read_exact(f, 8) != b"AMQP\x00\x00\x09\x01":
        return
    method(s, 0, 10, 10, b"\x00\x09" + struct.pack(">I", 0) + struct.pack(">I", 5) + b"PLAIN"
           + struct.pack(">I", 5) + b"en_US")
    pending = {}  # channel -> [routing key, body size, body]
    while True:
        t, ch, p = read_frame(f)
        if t == 2 and ch in pending:
            pending[ch][1] = struct.unpack(">Q", p[4:12])[0]
        elif t == 3 and ch in pending:
            pending[ch][2] += p
        if ch in pending and t != 1 and len(pending[ch][2]) >= pending[ch][1]:
            key, _, body = pending.pop(ch)
            with lock:
                if key in queues:
                    queues[key].append(body)
        if t != 1:
            continue
        cls, mid = struct.unpack(">HH", p[:4])
        a = p[4:]
        if (cls, mid) == (10, 11):  # Start-Ok: client props table, mechanism, response
            i = 4 + struct.unpack(">I", a[:4])[0]
            _, i = parse_shortstr(a, i)
            n = struct.unpack(">I", a[i:i + 4])[0]
            _, user, pw = a[i + 4:i + 4 + n].split(b"\x00")
            if (user, pw) != (USER, PASS):
                close(s, 0, 403, "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN", 10, 11)
                return
            method(s, 0, 10, 30, struct.pack(">HIH", 2047, 131072, 0))
        elif (cls, mid) == (10, 40):
            method(s, 0, 10, 41, shortstr(b""))
        elif (cls, mid) == (10, 50):
            method(s, 0, 10, 51)
            return
        elif (cls, mid) == (20, 10):
            method(s, ch, 20, 11, struct.pack(">I", 0))
        elif (cls, mid) == (20, 40):
            method(s, ch, 20, 41)
        elif (cls, mid) == (50, 10):
            name, _ = parse_shortstr(a, 2)
            with lock:
                q = queues.setdefault(name, [])
                n = len(q)
            method(s, ch, 50, 11, shortstr(name) + struct.pack(">II", n, 0))
        elif (cls, mid) == (60, 40):
            _, i = parse_shortstr(a, 2)
            key, _ = parse_shortstr(a, i)
            pending[ch] = [key, 0, b""]
        elif (cls, mid) == (60, 70):
            name, _ = parse_shortstr(a, 2)
            with lock:
                q = queues.get(name)
                body = q.pop(0) if q else None
                left = len(q) if q else 0
            if q is None:
                close(s, ch, 404, "NOT_FOUND - no queue '%s' in vhost '/'" % name.decode(), 60, 70)
            elif body is None:
                method(s, ch, 60, 72, shortstr(b""))
            else:
                method(s, ch, 60, 71, struct.pack(">QB", 1, 0) + shortstr(b"") + shortstr(name)
                       + struct.pack(">I", left))
                frame(s, 2, ch, struct.pack(">HHQH", 60, 0, len(body), 0))
                frame(s, 3, ch, body)


def conn(s):
    try:
        serve(s)
    except (EOFError, OSError):
        pass
    finally:
        s.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", int(sys.argv[1])))
srv.listen(16)
while True:
    c, _ = srv.accept()
    threading.Thread(target=conn, args=(c,), daemon=True).start()
