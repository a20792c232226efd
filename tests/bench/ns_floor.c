/* The kernel's floor under a lab, in a tight loop: the mean ms of a child
 * cloned into new namespaces (the flags of one service, with and without a
 * network namespace) that exits at once, and of a veth pair made with its
 * peer in such a child's netns (raw netlink, one request). Each line is
 * "name ms". Usage: ns_floor [ITERATIONS]   (root) */
#include <fcntl.h>
#include <stdint.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/sched.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now_ms (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) t.tv_sec * 1e3 + (double) t.tv_nsec / 1e6;
}

/* A child in new namespaces that waits until the pipe p reads EOF. */
static pid_t
spawn (unsigned long flags, const int p[2])
{
  struct clone_args ca = { .flags = flags, .exit_signal = SIGCHLD };
  long pid = syscall (SYS_clone3, &ca, sizeof ca);
  if (pid == 0)
    {
      char c;
      close (p[1]);
      if (read (p[0], &c, 1) < 0)
        _exit (1);
      _exit (0);
    }
  return (pid_t) pid;
}

static void
attr (struct nlmsghdr *h, unsigned short type, const void *data, size_t len)
{
  struct rtattr *a = (struct rtattr *) ((char *) h + NLMSG_ALIGN (h->nlmsg_len));
  a->rta_type = type;
  a->rta_len = (unsigned short) RTA_LENGTH (len);
  if (len)
    memcpy (RTA_DATA (a), data, len);
  h->nlmsg_len = NLMSG_ALIGN (h->nlmsg_len) + RTA_ALIGN (a->rta_len);
}

static struct rtattr *
nest (struct nlmsghdr *h, unsigned short type)
{
  struct rtattr *a = (struct rtattr *) ((char *) h + NLMSG_ALIGN (h->nlmsg_len));
  attr (h, type, NULL, 0);
  return a;
}

static void
end (struct nlmsghdr *h, struct rtattr *a)
{
  a->rta_len = (unsigned short) ((char *) h + h->nlmsg_len - (char *) a);
}

/* veth "v" (up) <-> "eth0" in pid's netns, one RTM_NEWLINK; 0 on ACK 0. */
static int
make_veth (int nl, pid_t pid)
{
  char buf[1024] = { 0 };
  struct nlmsghdr *h = (struct nlmsghdr *) buf;
  h->nlmsg_len = NLMSG_LENGTH (sizeof (struct ifinfomsg));
  h->nlmsg_type = RTM_NEWLINK;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
  struct ifinfomsg *ifi = NLMSG_DATA (h);
  ifi->ifi_flags = ifi->ifi_change = IFF_UP;
  char name[16];
  snprintf (name, sizeof name, "v%d", (int) pid);
  attr (h, IFLA_IFNAME, name, strlen (name) + 1);
  struct rtattr *li = nest (h, IFLA_LINKINFO);
  attr (h, IFLA_INFO_KIND, "veth", 4);
  struct rtattr *data = nest (h, IFLA_INFO_DATA);
  struct rtattr *peer = nest (h, VETH_INFO_PEER);
  struct ifinfomsg pifi = { 0 };
  memcpy ((char *) h + h->nlmsg_len, &pifi, sizeof pifi);
  h->nlmsg_len += sizeof pifi;
  attr (h, IFLA_IFNAME, "eth0", 5);
  uint32_t p = (uint32_t) pid;
  attr (h, IFLA_NET_NS_PID, &p, sizeof p);
  end (h, peer);
  end (h, data);
  end (h, li);
  if (send (nl, buf, h->nlmsg_len, 0) < 0)
    return -1;
  char ack[1024];
  ssize_t n = recv (nl, ack, sizeof ack, 0);
  struct nlmsgerr *e = NLMSG_DATA ((struct nlmsghdr *) ack);
  if (n > 0 && e->error)
    fprintf (stderr, "netlink: %s\n", strerror (-e->error));
  return n > 0 && e->error == 0 ? 0 : -1;
}

static void
run (const char *name, unsigned long flags, int veth, long iters)
{
  double t0 = now_ms ();
  for (long i = 0; i < iters; i++)
    {
      int p[2];
      if (pipe2 (p, O_CLOEXEC) < 0)
        exit (1);
      pid_t pid = spawn (flags, p);
      close (p[0]);
      if (pid < 0)
        {
          perror ("clone3");
          exit (1);
        }
      if (veth)
        {
          int nl = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
          if (make_veth (nl, pid) < 0)
            {
              fprintf (stderr, "veth failed\n");
              exit (1);
            }
          close (nl);
        }
      close (p[1]);
      waitpid (pid, NULL, 0);
    }
  printf ("%s %.3f\n", name, (now_ms () - t0) / (double) iters);
}

int
main (int argc, char **argv)
{
  long iters = argc > 1 ? atol (argv[1]) : 50;
  /* everything in a private network namespace of our own: the veths go there */
  if (unshare (CLONE_NEWNET) < 0)
    {
      perror ("unshare");
      return 1;
    }
  const unsigned long svc = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID;
  run ("fork", 0, 0, iters);
  run ("clone_mnt_uts_ipc_pid", svc, 0, iters);
  run ("clone_net", CLONE_NEWNET, 0, iters);
  run ("clone_all", svc | CLONE_NEWNET, 0, iters);
  run ("clone_all+veth", svc | CLONE_NEWNET, 1, iters);
  return 0;
}
