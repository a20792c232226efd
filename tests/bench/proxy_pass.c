/* For tests/bench/proxy: the lab's proxy (fb_proxy, framing on, no rules)
 * on loopback, and a one-connection HTTP client that measures it.
 *
 *   bench_proxy_pass serve PROTOCOL LISTEN_PORT UPSTREAM_PORT
 *       proxies 127.0.0.1:LISTEN_PORT to 127.0.0.1:UPSTREAM_PORT until
 *       stdin closes; prints "ready" once it listens
 *   bench_proxy_pass http PORT N
 *       N keep-alive GET / over one connection; prints
 *       "<requests/s> <p50 µs>"
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_net.h"
#include "faultbox/proxy.h"

static int
serve (const char *proto, int port, int upstream)
{
  fb_error e = { 0 };
  fb_proxy *px = fb_proxy_new (1, NULL);
  if (fb_proxy_listen (px, "svc", "main", fb_protocol_find (proto), "127.0.0.1", port, "127.0.0.1", upstream, &e) < 0
      || fb_proxy_start (px, &e) < 0)
    return fprintf (stderr, "proxy: %s\n", e.msg), 1;
  printf ("ready\n");
  fflush (stdout);
  char c;
  while (read (0, &c, 1) > 0)
    ;
  fb_proxy_free (px);
  return 0;
}

/* One whole response with a Content-Length (nginx's return 200 has one). */
static int
read_response (int fd, char *buf, size_t cap)
{
  size_t n = 0;
  for (;;)
    {
      ssize_t k = recv (fd, buf + n, cap - n - 1, 0);
      if (k <= 0)
        return -1;
      n += (size_t) k;
      buf[n] = '\0';
      char *end = strstr (buf, "\r\n\r\n"), *cl = strcasestr (buf, "content-length:");
      if (end && cl && n >= (size_t) (end + 4 - buf) + strtoul (cl + 15, NULL, 10))
        return 0;
    }
}

/* One keep-alive GET / and its whole response. */
static bool
get_one (int fd, void *ctx)
{
  static const char req[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
  char *buf = ctx;
  return send (fd, req, sizeof req - 1, 0) == (ssize_t) sizeof req - 1 && read_response (fd, buf, 65536) == 0;
}

static int
http (int port, int n)
{
  int fd = bench_dial (SOCK_STREAM, port);
  if (fd < 0)
    return perror ("connect"), 1;
  static char buf[65536];
  return bench_round_trips (fd, n, get_one, buf);
}

int
main (int argc, char **argv)
{
  if (argc == 5 && !strcmp (argv[1], "serve"))
    return serve (argv[2], atoi (argv[3]), atoi (argv[4]));
  if (argc == 4 && !strcmp (argv[1], "http"))
    return http (atoi (argv[2]), atoi (argv[3]));
  fprintf (stderr, "usage: bench_proxy_pass serve PROTOCOL LISTEN_PORT UPSTREAM_PORT | http PORT N\n");
  return 2;
}
