#include "bench_net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

int
bench_dial (int type, int port)
{
  int fd = socket (AF_INET, type, 0), one = 1;
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port),
                           .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  if (fd < 0 || connect (fd, (struct sockaddr *) &a, sizeof a) < 0)
    {
      if (fd >= 0)
        close (fd);
      return -1;
    }
  if (type == SOCK_STREAM)
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

int
bench_round_trips (int fd, int n, bool (*one) (int fd, void *ctx), void *ctx)
{
  double *lat = calloc ((size_t) n, sizeof *lat);
  double start = now_s ();
  int rc = 0;
  for (int i = 0; i < n && !rc; i++)
    {
      double t = now_s ();
      if (!one (fd, ctx))
        {
          fprintf (stderr, "round trip %d failed\n", i);
          rc = 1;
        }
      lat[i] = now_s () - t;
    }
  double total = now_s () - start;
  if (!rc)
    {
      qsort (lat, (size_t) n, sizeof *lat, cmp_double);
      printf ("%.0f %.1f\n", n / total, lat[n / 2] * 1e6);
    }
  free (lat);
  close (fd);
  return rc;
}
