#include "net/diag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
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

/* Dumps family's listening TCP sockets; 1 when one is on port. A fresh
 * namespace holds a handful, so the whole dump is read. */
static int
listening (int fd, int family, int port, fb_error *err)
{
  struct {
    struct nlmsghdr nh;
    struct inet_diag_req_v2 r;
  } req = {
    .nh = { .nlmsg_len = sizeof req, .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
    .r = { .sdiag_family = (unsigned char) family, .sdiag_protocol = IPPROTO_TCP, .idiag_states = 1u << TCP_LISTEN },
  };
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  if (sendto (fd, &req, sizeof req, 0, (struct sockaddr *) &kernel, sizeof kernel) < 0)
    return fb_error_setsys (err, errno, "sock_diag request");
  bool found = false;
  for (;;)
    {
      long buf[2048];
      ssize_t n = recv (fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return fb_error_setsys (err, n < 0 ? errno : EPROTO, "sock_diag answer");
      for (size_t off = 0; off + sizeof (struct nlmsghdr) <= (size_t) n; )
        {
          const struct nlmsghdr *h = (const struct nlmsghdr *) ((const char *) buf + off);
          if (h->nlmsg_len < sizeof *h || h->nlmsg_len > (size_t) n - off)
            return fb_error_set (err, EPROTO, "sock_diag: a truncated answer");
          off += NLMSG_ALIGN (h->nlmsg_len);
          if (h->nlmsg_type == NLMSG_DONE)
            return found;
          if (h->nlmsg_type == NLMSG_ERROR)
            {
              const struct nlmsgerr *e = NLMSG_DATA (h);
              return fb_error_set (err, -e->error, "sock_diag: %s", strerror (-e->error));
            }
          const struct inet_diag_msg *m = NLMSG_DATA (h);
          found |= ntohs (m->id.idiag_sport) == port;
        }
    }
}

int
fb_net_tcp_listening (int fd, int port, fb_error *err)
{
  int r = listening (fd, AF_INET, port, err);
  if (r != 0)
    return r;
  /* a kernel without IPv6 has no IPv6 listener */
  fb_error e6 = { 0 };
  r = listening (fd, AF_INET6, port, &e6);
  return r < 0 && e6.code != EAFNOSUPPORT && e6.code != ENOENT ? (*err = e6, -1) : r > 0;
}
