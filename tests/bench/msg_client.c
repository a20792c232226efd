/* For tests/bench/proxy_msg: one-connection clients of NATS and UDP round
 * trips, to compare the lab's proxy against a direct path.
 *
 *   bench_msg_client nats PORT N
 *       N times PUB + PING, each waiting for its PONG: the publish a
 *       nats step confirms; prints "<round trips/s> <p50 µs>"
 *   bench_msg_client udp PORT N
 *       N datagrams, each waiting for its echo; same output
 *   bench_msg_client udp-echo PORT
 *       echoes datagrams on 127.0.0.1:PORT until killed; prints "ready"
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_net.h"

/* Reads until a line is want; the server's own PINGs are answered. */
static int
read_until (int fd, const char *want)
{
  char buf[4096];
  size_t n = 0;
  for (;;)
    {
      ssize_t k = recv (fd, buf + n, sizeof buf - n - 1, 0);
      if (k <= 0)
        return -1;
      n += (size_t) k;
      buf[n] = '\0';
      char *nl;
      while ((nl = strstr (buf, "\r\n")))
        {
          size_t ll = (size_t) (nl + 2 - buf);
          bool hit = !strncmp (buf, want, ll) && want[ll] == '\0';
          if (!strncmp (buf, "PING\r\n", ll) && send (fd, "PONG\r\n", 6, 0) != 6)
            return -1;
          memmove (buf, buf + ll, n - ll + 1);
          n -= ll;
          if (hit)
            return 0;
        }
      if (n > sizeof buf / 2)
        n = 0;
    }
}

static bool
nats_one (int fd, void *ctx)
{
  static const char pub[] = "PUB bench.x 5\r\nhello\r\nPING\r\n";
  (void) ctx;
  return send (fd, pub, sizeof pub - 1, 0) == (ssize_t) sizeof pub - 1 && read_until (fd, "PONG\r\n") == 0;
}

static bool
udp_one (int fd, void *ctx)
{
  char d[64];
  (void) ctx;
  return send (fd, "ping", 4, 0) == 4 && recv (fd, d, sizeof d, 0) == 4;
}

static int
round_trips (const char *mode, int port, int n)
{
  bool nats = !strcmp (mode, "nats");
  int fd = bench_dial (nats ? SOCK_STREAM : SOCK_DGRAM, port);
  if (fd < 0)
    return perror ("connect"), 1;
  static const char hello[] = "CONNECT {\"verbose\":false}\r\nPING\r\n";
  char info[4096];
  if (nats && (recv (fd, info, sizeof info, 0) <= 0 || send (fd, hello, sizeof hello - 1, 0) < 0 || read_until (fd, "PONG\r\n") < 0))
    return fprintf (stderr, "nats handshake failed\n"), close (fd), 1;
  return bench_round_trips (fd, n, nats ? nats_one : udp_one, NULL);
}

static int
udp_echo (int port)
{
  int fd = socket (AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port),
                           .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  if (fd < 0 || bind (fd, (struct sockaddr *) &a, sizeof a) < 0)
    return perror ("bind"), 1;
  printf ("ready\n");
  fflush (stdout);
  for (;;)
    {
      char d[65536];
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t k = recvfrom (fd, d, sizeof d, 0, (struct sockaddr *) &from, &fl);
      if (k >= 0)
        sendto (fd, d, (size_t) k, 0, (struct sockaddr *) &from, fl);
    }
}

int
main (int argc, char **argv)
{
  if (argc == 4 && (!strcmp (argv[1], "nats") || !strcmp (argv[1], "udp")))
    return round_trips (argv[1], atoi (argv[2]), atoi (argv[3]));
  if (argc == 3 && !strcmp (argv[1], "udp-echo"))
    return udp_echo (atoi (argv[2]));
  fprintf (stderr, "usage: bench_msg_client nats|udp PORT N | udp-echo PORT\n");
  return 2;
}
