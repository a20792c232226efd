/* faultbox-init: a service's keeper, and (cloned from it) its init. Static,
 * so that it starts without the dynamic loader and forks small.
 * Usage (by fb_init_spawn only): faultbox-init CTL CGFD NETNS CONFIG RUNNER */
#include "net/link.h"
#include "sandbox/init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SERVICE_NS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID)

static int
cmp_fd (const void *a, const void *b)
{
  return *(const int *) a - *(const int *) b;
}

/* Closes every fd from 3 up but the n in keep (each >= 3 or < 0). */
static void
close_all_but (int *keep, size_t n)
{
  qsort (keep, n, sizeof *keep, cmp_fd);
  unsigned from = 3;
  for (size_t i = 0; i < n; i++)
    if (keep[i] >= (int) from)
      {
        if (keep[i] > (int) from)
          close_range (from, (unsigned) keep[i] - 1, 0);
        from = (unsigned) keep[i] + 1;
      }
  close_range (from, ~0U, 0);
}

/* Enters a new network namespace with the service's end of its veth in it
 * (made from the lab's side, so that init finds its eth0 at once). */
static int
enter_service_net (const fb_init_args *a, fb_error *err)
{
  if (unshare (CLONE_NEWNET) < 0)
    return fb_error_setsys (err, errno, "cannot create namespaces");
  fb_net_no_ipv6_on_new_links ();
  int own = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (own < 0 || setns (a->lab_netns, CLONE_NEWNET) < 0)
    return fb_error_setsys (err, errno, "cannot enter the lab network");
  int r = fb_net_make_veth (a->veth, a->bridge, own, err);
  if (setns (own, CLONE_NEWNET) < 0)
    r = fb_error_setsys (err, errno, "cannot enter the service's network namespace");
  close (own);
  return r;
}

/* Forks init into the service's other new namespaces and, with clone3's
 * CLONE_INTO_CGROUP (Linux 5.7), straight into its v2 cgroup: joining by
 * pid instead waits for an RCU grace period, several ms per service. Older
 * kernels join by pid and unshare + fork. Raw clone3 is safe here: the
 * keeper is single-threaded. */
static pid_t
fork_init (int cgfd)
{
  struct clone_args ca = { .flags = SERVICE_NS | (cgfd >= 0 ? CLONE_INTO_CGROUP : 0),
                           .exit_signal = SIGCHLD, .cgroup = (uint64_t) cgfd };
  long pid = syscall (SYS_clone3, &ca, sizeof ca);
  if (pid >= 0 || (errno != ENOSYS && errno != E2BIG && errno != EINVAL))
    return (pid_t) pid;
  if (cgfd >= 0)
    {
      int procs = openat (cgfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
      bool joined = procs >= 0 && write (procs, "0", 1) == 1;
      if (procs >= 0)
        close (procs);
      if (!joined)
        return -1;
    }
  if (unshare (SERVICE_NS) < 0)
    return -1;
  return fork ();
}

static _Noreturn void
fail (int ctl, fb_error *err)
{
  if (!err->msg[0])
    fb_error_setsys (err, errno, "cannot create namespaces");
  fb_init_send (ctl, 'E', err->msg, strlen (err->msg));
  _exit (1);
}

/* The keeper: makes the service's network and forks init into it and the
 * service's other namespaces and cgroup, then waits for it, so that init
 * dies when we die and we die with the runner. */
static _Noreturn void
keeper_main (fb_init_args *a)
{
  char buf[8];
  /* with v1 limits, the runner moves us into their cgroups first */
  if (a->wait_cgroup && fb_init_recv (a->ctl, buf, sizeof buf) != 'C')
    _exit (1);
  fb_error err = { 0 };
  if (enter_service_net (a, &err) < 0)
    fail (a->ctl, &err);
  a->parent = getpid ();
  pid_t init = fork_init (a->cgfd);
  if (init < 0)
    fail (a->ctl, &err);
  if (init == 0)
    {
      if (a->cgfd >= 0)
        close (a->cgfd);
      close (a->lab_netns);
      fb_init_main (a);
    }
  char p[32];
  snprintf (p, sizeof p, "%d", (int) init);
  fb_init_send (a->ctl, 'P', p, strlen (p));
  close (a->ctl);
  int status = 0;
  while (waitpid (init, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFSIGNALED (status))
    _exit (128 + WTERMSIG (status));
  _exit (WEXITSTATUS (status));
}

static int
read_config (int fd, char **data, size_t *len)
{
  struct stat st;
  if (fstat (fd, &st) < 0 || st.st_size <= 0)
    return -1;
  *len = (size_t) st.st_size;
  *data = malloc (*len);
  return *data && pread (fd, *data, *len, 0) == (ssize_t) *len ? 0 : -1;
}

int
main (int argc, char **argv)
{
  /* what the runner ignored or blocked is not the service's business */
  sigset_t none;
  sigemptyset (&none);
  for (int s = 1; s < NSIG; s++)
    signal (s, SIG_DFL);
  sigprocmask (SIG_SETMASK, &none, NULL);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (argc != 6)
    {
      fprintf (stderr, "faultbox-init: started by the faultbox library only\n");
      return 2;
    }
  fb_init_args a = { .ctl = atoi (argv[1]), .cgfd = atoi (argv[2]), .lab_netns = atoi (argv[3]) };
  int cfg = atoi (argv[4]);
  if (getppid () != (pid_t) atoi (argv[5]))
    _exit (1); /* the runner died before we set the death signal */
  /* Keep nothing of the runner's but stdio, the control socket, the cgroup
   * and the lab network: a service must not hold the runner's fds, least of
   * all another service's seccomp listener, which the runner would then
   * take for this one's. */
  int keep[] = { a.ctl, a.cgfd, a.lab_netns, cfg };
  close_all_but (keep, sizeof keep / sizeof keep[0]);
  char *data;
  size_t len;
  fb_service_plan plan;
  if (read_config (cfg, &data, &len) < 0 || fb_init_unpack (data, len, &a, &plan) < 0)
    {
      fb_error err = { 0 };
      fb_error_set (&err, EINVAL, "faultbox-init: cannot read its configuration");
      fail (a.ctl, &err);
    }
  close (cfg);
  keeper_main (&a);
}
