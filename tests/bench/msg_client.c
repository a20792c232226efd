/* For tests/bench/proxy_msg: one-connection clients of NATS and UDP round
 * trips, to compare the lab's proxy against a direct path.
 *
 *   bench_msg_client nats PORT N
 *       N times PUB + PING, each waiting for its PONG: the publish a
 *       nats step confirms; prints "<round trips/s> <p50 µs>"
 *   bench_msg_client udp PORT N
 *       N datagrams, each waiting for its echo; same output
 *   bench_msg_client kafka PORT N
 *       N Produce requests (v3, one topic), each waiting for its response
 *   bench_msg_client udp-echo PORT
 *       echoes datagrams on 127.0.0.1:PORT until killed; prints "ready"
 *   bench_msg_client mongo PORT N
 *       N OP_MSG finds on one connection, each waiting for its reply
 *   bench_msg_client mongo-server PORT
 *       answers every MongoDB message on 127.0.0.1:PORT with {ok: 1}
 *       until killed (no mongod on Debian); prints "ready"
 *   bench_msg_client kafka-echo PORT
 *       answers each size-prefixed request on 127.0.0.1:PORT with its
 *       correlation id alone, one connection at a time; prints "ready"
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
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

/* MongoDB: a message is its little-endian length first. */
static void
put_le32 (char *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (char) (v >> (8 * i));
}

/* Reads one whole message into buf (at most size bytes); its length or -1. */
static ssize_t
mongo_read (int fd, char *buf, size_t size)
{
  size_t n = 0, want = 16;
  while (n < want)
    {
      ssize_t k = recv (fd, buf + n, want - n, 0);
      if (k <= 0)
        return -1;
      n += (size_t) k;
      if (n == 16)
        want = (uint32_t) (uint8_t) buf[0] | (uint32_t) (uint8_t) buf[1] << 8 | (uint32_t) (uint8_t) buf[2] << 16
               | (uint32_t) (uint8_t) buf[3] << 24;
      if (want < 16 || want > size)
        return -1;
    }
  return (ssize_t) n;
}

/* OP_MSG {find: "users", $db: "test"}: header, flags, section kind 0, BSON */
static const char mongo_find[56] = {
  56, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, (char) 0xdd, 7, 0, 0, 0, 0, 0, 0, 0,
  35, 0, 0, 0, 2, 'f', 'i', 'n', 'd', 0, 6, 0, 0, 0, 'u', 's', 'e', 'r', 's', 0,
  2, '$', 'd', 'b', 0, 5, 0, 0, 0, 't', 'e', 's', 't', 0, 0,
};

/* Reads exactly n bytes. */
static int
read_full (int fd, char *p, size_t n)
{
  while (n)
    {
      ssize_t k = recv (fd, p, n, 0);
      if (k <= 0)
        return -1;
      p += k;
      n -= (size_t) k;
    }
  return 0;
}

/* One size-prefixed Kafka message into buf (at most size bytes); its length. */
static ssize_t
read_kafka (int fd, char *buf, size_t size)
{
  unsigned char h[4];
  if (read_full (fd, (char *) h, 4) < 0)
    return -1;
  size_t n = (size_t) h[0] << 24 | (size_t) h[1] << 16 | (size_t) h[2] << 8 | h[3];
  return n > size || read_full (fd, buf, n) < 0 ? -1 : (ssize_t) n;
}

/* Produce v3: client "b", acks -1, topic "bench" partition 0, 5 record bytes */
static const char kafka_produce[] = "\0\0\0\x2f" "\0\0\0\3\0\0\0\1\0\1b" "\xff\xff\xff\xff\0\0\x03\xe8"
                                    "\0\0\0\1\0\5bench\0\0\0\1\0\0\0\0\0\0\0\5hello";

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

static bool
kafka_one (int fd, void *ctx)
{
  char d[4096];
  (void) ctx;
  return send (fd, kafka_produce, sizeof kafka_produce - 1, 0) == (ssize_t) sizeof kafka_produce - 1
         && read_kafka (fd, d, sizeof d) >= 4;
}

/* ctx: the request counter, each find's requestID */
static bool
mongo_one (int fd, void *ctx)
{
  char d[4096], req[sizeof mongo_find];
  memcpy (req, mongo_find, sizeof req);
  put_le32 (req + 4, ++*(uint32_t *) ctx);
  return send (fd, req, sizeof req, 0) == (ssize_t) sizeof req && mongo_read (fd, d, sizeof d) > 0;
}

static int
round_trips (const char *mode, int port, int n)
{
  bool nats = !strcmp (mode, "nats");
  int fd = bench_dial (strcmp (mode, "udp") ? SOCK_STREAM : SOCK_DGRAM, port);
  if (fd < 0)
    return perror ("connect"), 1;
  static const char hello[] = "CONNECT {\"verbose\":false}\r\nPING\r\n";
  char info[4096];
  if (nats && (recv (fd, info, sizeof info, 0) <= 0 || send (fd, hello, sizeof hello - 1, 0) < 0 || read_until (fd, "PONG\r\n") < 0))
    return fprintf (stderr, "nats handshake failed\n"), close (fd), 1;
  uint32_t id = 0;
  bool (*one) (int, void *) = nats                      ? nats_one
                              : !strcmp (mode, "kafka") ? kafka_one
                              : !strcmp (mode, "mongo") ? mongo_one
                                                        : udp_one;
  return bench_round_trips (fd, n, one, &id);
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

/* Answers each message on 127.0.0.1:PORT, one connection at a time:
 * mongodb's with OP_MSG {ok: 1} (no mongod on Debian), kafka's with its
 * correlation id alone. */
static int
responder (const char *kind, int port)
{
  bool kafka = !strcmp (kind, "kafka-echo");
  int lfd = socket (AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port),
                           .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  setsockopt (lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (lfd < 0 || bind (lfd, (struct sockaddr *) &a, sizeof a) < 0 || listen (lfd, 16) < 0)
    return perror ("listen"), 1;
  printf ("ready\n");
  fflush (stdout);
  char mongo_ok[38] = { 38, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (char) 0xdd, 7, 0, 0, 0, 0, 0, 0, 0,
                        17, 0, 0, 0, 1, 'o', 'k', 0, 0, 0, 0, 0, 0, 0, (char) 0xf0, 0x3f, 0 };
  char kafka_ok[8] = { 0, 0, 0, 4 };
  char *reply = kafka ? kafka_ok : mongo_ok;
  size_t len = kafka ? sizeof kafka_ok : sizeof mongo_ok;
  for (;;)
    {
      int fd = accept (lfd, NULL, NULL);
      if (fd < 0)
        continue;
      setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      char buf[65536];
      /* the request's id: kafka's correlation id follows its API key and
       * version; mongodb's requestID becomes the reply's responseTo */
      while (kafka ? read_kafka (fd, buf, sizeof buf) >= 8 : mongo_read (fd, buf, sizeof buf) > 0)
        {
          memcpy (reply + (kafka ? 4 : 8), buf + 4, 4);
          if (send (fd, reply, len, 0) != (ssize_t) len)
            break;
        }
      close (fd);
    }
}

int
main (int argc, char **argv)
{
  if (argc == 4 && (!strcmp (argv[1], "nats") || !strcmp (argv[1], "udp") || !strcmp (argv[1], "mongo")
                    || !strcmp (argv[1], "kafka")))
    return round_trips (argv[1], atoi (argv[2]), atoi (argv[3]));
  if (argc == 3 && !strcmp (argv[1], "udp-echo"))
    return udp_echo (atoi (argv[2]));
  if (argc == 3 && (!strcmp (argv[1], "mongo-server") || !strcmp (argv[1], "kafka-echo")))
    return responder (argv[1], atoi (argv[2]));
  fprintf (stderr, "usage: bench_msg_client nats|udp|mongo|kafka PORT N | udp-echo PORT | mongo-server PORT | kafka-echo PORT\n");
  return 2;
}
