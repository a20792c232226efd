#include "net/diag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
fb_net_diag_socket (fb_error *err)
{
  int fd = socket (AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0)
    return fb_error_setsys (err, errno, "cannot open a sock_diag socket");
  return fd;
}

/* Looks up a listener on family's wildcard address at port, as the
 * kernel would for a connection to it: one hash lookup (a dump of the
 * listening sockets walks the kernel's whole listening table, hundreds
 * of µs even for an empty namespace). 1 found, 0 not. */
static int
listening (int fd, int family, int port, fb_error *err)
{
  struct {
    struct nlmsghdr nh;
    struct inet_diag_req_v2 r;
  } req = {
    .nh = { .nlmsg_len = sizeof req, .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST },
    .r = { .sdiag_family = (unsigned char) family, .sdiag_protocol = IPPROTO_TCP, .idiag_states = 1u << TCP_LISTEN,
           .id = { .idiag_sport = htons ((uint16_t) port),
                   .idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } } },
  };
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  if (sendto (fd, &req, sizeof req, 0, (struct sockaddr *) &kernel, sizeof kernel) < 0)
    return fb_error_setsys (err, errno, "sock_diag request");
  long buf[1024];
  ssize_t n;
  while ((n = recv (fd, buf, sizeof buf, 0)) < 0 && errno == EINTR)
    ;
  const struct nlmsghdr *h = (const struct nlmsghdr *) buf;
  if (n < (ssize_t) sizeof *h || h->nlmsg_len > (size_t) n)
    return fb_error_setsys (err, n < 0 ? errno : EPROTO, "sock_diag answer");
  if (h->nlmsg_type != NLMSG_ERROR)
    return 1;
  const struct nlmsgerr *e = NLMSG_DATA (h);
  if (e->error == -ENOENT)
    return 0;
  return fb_error_set (err, -e->error, "sock_diag: %s", strerror (-e->error));
}

int
fb_net_tcp_listening (int fd, int port, fb_error *err)
{
  int r = listening (fd, AF_INET, port, err);
  if (r != 0)
    return r;
  /* an IPv6-only listener; a kernel without IPv6 has none */
  fb_error e6 = { 0 };
  return listening (fd, AF_INET6, port, &e6) > 0;
}
