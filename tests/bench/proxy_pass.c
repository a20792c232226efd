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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "faultbox/proxy.h"

static double
now_s (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

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

static int
http (int port, int n)
{
  int fd = socket (AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port),
                           .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  if (connect (fd, (struct sockaddr *) &a, sizeof a) < 0)
    return perror ("connect"), 1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  static const char req[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
  double *lat = calloc ((size_t) n, sizeof *lat);
  char buf[65536];
  double start = now_s ();
  for (int i = 0; i < n; i++)
    {
      double t = now_s ();
      if (send (fd, req, sizeof req - 1, 0) != (ssize_t) sizeof req - 1 || read_response (fd, buf, sizeof buf) < 0)
        return fprintf (stderr, "request %d failed\n", i), 1;
      lat[i] = now_s () - t;
    }
  double total = now_s () - start;
  qsort (lat, (size_t) n, sizeof *lat, cmp_double);
  printf ("%.0f %.1f\n", n / total, lat[n / 2] * 1e6);
  free (lat);
  close (fd);
  return 0;
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
