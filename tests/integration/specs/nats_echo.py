# A NATS responder for nats.star: answers every request on svc.echo with
# "echo:" and its data. Plain sockets, NATS's text protocol; it dials the
# bus by name, so it meets the lab's proxy when the bus is proxied.
import socket, sys, time

host, port = sys.argv[1], int(sys.argv[2])
while True:
    try:
        s = socket.create_connection((host, port))
        break
    except OSError:
        time.sleep(0.05)
f = s.makefile("rb")
f.readline()  # INFO
s.sendall(b'CONNECT {"verbose":false}\r\nSUB svc.echo 1\r\nPING\r\n')
while True:
    line = f.readline()
    if not line:
        break
    w = line.split()
    if w[0] == b"PING":
        s.sendall(b"PONG\r\n")
    elif w[0] == b"MSG":
        data = f.read(int(w[-1]) + 2)[:-2]
        if len(w) == 5:
            reply = b"echo:" + data
            s.sendall(b"PUB %s %d\r\n%s\r\n" % (w[3], len(reply), reply))
