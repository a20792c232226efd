/* Shared helpers for cmocka unit tests. */
#ifndef FB_TEST_H
#define FB_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* Skips the current test with a reason, unless FAULTBOX_REQUIRE_ALL=1, in
 * which case a missing feature or privilege is a failure. */
#define FB_SKIP(...)                                                           \
  do                                                                           \
    {                                                                          \
      const char *ra_ = getenv ("FAULTBOX_REQUIRE_ALL");                       \
      fprintf (stderr, "skip: " __VA_ARGS__);                                  \
      fputc ('\n', stderr);                                                    \
      if (ra_ && strcmp (ra_, "1") == 0)                                       \
        fail_msg ("FAULTBOX_REQUIRE_ALL=1: a skip is a failure");             \
      skip ();                                                                 \
    }                                                                          \
  while (0)

/* A TCP listener on 127.0.0.1 at a port the kernel picks (*port). */
static inline int
fb_test_listener (int *port)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t l = sizeof a;
  assert_int_equal (bind (fd, (struct sockaddr *) &a, sizeof a), 0);
  assert_int_equal (listen (fd, 8), 0);
  getsockname (fd, (struct sockaddr *) &a, &l);
  *port = ntohs (a.sin_port);
  return fd;
}

#endif
