/* What the bench clients share: a loopback dial and the timed loop of
 * round trips over one connection. */
#ifndef FB_BENCH_NET_H
#define FB_BENCH_NET_H

#include <stdbool.h>

/* A socket of type (SOCK_STREAM: with TCP_NODELAY) connected to
 * 127.0.0.1:port, or -1. */
int bench_dial (int type, int port);

/* Runs one (fd, ctx) n times, timing each; prints "<round trips/s> <p50 µs>"
 * and closes fd. 0, or 1 (said on stderr) when a round trip failed. */
int bench_round_trips (int fd, int n, bool (*one) (int fd, void *ctx), void *ctx);

#endif
