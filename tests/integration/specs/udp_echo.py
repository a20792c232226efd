# A UDP echo for udp.star: "echo:" and the datagram back, "count" answers
# how many datagrams came before it; a second socket on PORT+1 never
# answers. Its TCP listener on PORT+2 opens once both are bound (the
# healthcheck: UDP has no handshake to wait on).
import select, socket, sys

port = int(sys.argv[1])
echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
echo.bind(("0.0.0.0", port))
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sink.bind(("0.0.0.0", port + 1))
ctl = socket.socket()
ctl.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ctl.bind(("0.0.0.0", port + 2))
ctl.listen()
n = 0
while True:
    r, _, _ = select.select([echo, sink, ctl], [], [])
    for s in r:
        if s is ctl:
            s.accept()[0].close()
            continue
        d, a = s.recvfrom(65536)
        if s is echo:
            echo.sendto(str(n).encode() if d == b"count" else b"echo:" + d, a)
            n += 1
