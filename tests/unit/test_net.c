#include "fb_test.h"

#include "net/diag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

/* A listener on an ephemeral port of family; returns its fd, *port the port. */
static int
listener (int family, int *port)
{
  int fd = socket (family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true (fd >= 0);
  struct sockaddr_storage ss = { .ss_family = (sa_family_t) family };
  socklen_t len = family == AF_INET ? sizeof (struct sockaddr_in) : sizeof (struct sockaddr_in6);
  assert_int_equal (bind (fd, (struct sockaddr *) &ss, len), 0);
  assert_int_equal (listen (fd, 1), 0);
  assert_int_equal (getsockname (fd, (struct sockaddr *) &ss, &len), 0);
  *port = ntohs (family == AF_INET ? ((struct sockaddr_in *) &ss)->sin_port : ((struct sockaddr_in6 *) &ss)->sin6_port);
  return fd;
}

/* The readiness watch: a port has a listener exactly while one listens,
 * over IPv4 and IPv6, asked in a network namespace of the test's own. */
static void
test_diag_sees_a_listener_come_and_go (void **state)
{
  if (unshare (CLONE_NEWNET) < 0)
    {
      FB_SKIP ("cannot make a network namespace: %s\n", strerror (errno));
      return;
    }
  fb_error err = { 0 };
  int diag = fb_net_diag_socket (&err);
  assert_true (diag >= 0);
  int families[] = { AF_INET, AF_INET6 };
  for (size_t i = 0; i < 2; i++)
    {
      int port, fd = listener (families[i], &port);
      assert_int_equal (fb_net_tcp_listening (diag, port, &err), 1);
      assert_int_equal (fb_net_tcp_listening (diag, port + 1, &err), 0);
      close (fd);
      assert_int_equal (fb_net_tcp_listening (diag, port, &err), 0);
    }
  close (diag);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_diag_sees_a_listener_come_and_go),
  };
  return cmocka_run_group_tests_name ("net", tests, NULL, NULL);
}
