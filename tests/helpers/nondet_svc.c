/* Test helper: a service that reaches nondeterminism on request, through
 * the raw syscalls (so libc's vDSO clock and caches stay out of it). It
 * listens on TCP port argv[1] and answers one line per connection:
 *   getrandom          getrandom(16 bytes)
 *   clock              clock_gettime(CLOCK_REALTIME) as a syscall
 *   connect IP PORT    a UDP connect (nothing is sent): "ok" or the errno
 *   raw                socket(AF_PACKET, SOCK_RAW), closed at once
 * Replies "ok" or "error: <errno text>", with send(). Standalone: libc. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int
do_connect (const char *ip, int port)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((unsigned short) port) };
  if (inet_pton (AF_INET, ip, &sa.sin_addr) != 1)
    return -EINVAL;
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int r = fd < 0 || connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0 ? -errno : 0;
  if (fd >= 0)
    close (fd);
  return r;
}

static int
run (const char *cmd)
{
  char ip[64];
  int port;
  if (!strcmp (cmd, "getrandom"))
    {
      char buf[16];
      return syscall (SYS_getrandom, buf, sizeof buf, 0) < 0 ? -errno : 0;
    }
  if (!strcmp (cmd, "clock"))
    {
      struct timespec ts;
      return syscall (SYS_clock_gettime, CLOCK_REALTIME, &ts) < 0 ? -errno : 0;
    }
  if (sscanf (cmd, "connect %63s %d", ip, &port) == 2)
    return do_connect (ip, port);
  if (!strcmp (cmd, "raw"))
    {
      int fd = socket (AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons (ETH_P_ALL));
      if (fd < 0)
        return -errno;
      close (fd);
      return 0;
    }
  return -EINVAL;
}

int
main (int argc, char **argv)
{
  if (argc != 2)
    return 2;
  int ls = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((unsigned short) atoi (argv[1])) };
  setsockopt (ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind (ls, (struct sockaddr *) &sa, sizeof sa) < 0 || listen (ls, 16) < 0)
    return 1;
  for (;;)
    {
      int c = accept4 (ls, NULL, NULL, SOCK_CLOEXEC);
      if (c < 0)
        continue;
      char line[256];
      ssize_t n = recv (c, line, sizeof line - 1, 0);
      line[n > 0 ? n : 0] = '\0';
      line[strcspn (line, "\r\n")] = '\0';
      int r = n > 0 ? run (line) : -EINVAL;
      char reply[300];
      int len = r ? snprintf (reply, sizeof reply, "error: %s\n", strerror (-r)) : snprintf (reply, sizeof reply, "ok\n");
      send (c, reply, (size_t) len, MSG_NOSIGNAL);
      close (c);
    }
}
