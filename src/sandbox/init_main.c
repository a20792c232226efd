/* faultbox-init: the fork server of one runner process's inits (init.h),
 * started by fb_init_spawn only. Static, so that it starts without the
 * dynamic loader; it runs once per runner process and forks each init,
 * which costs a small fraction of an exec.
 * Usage: faultbox-init SOCKET RUNNER_PID */
#include "sandbox/init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

static _Noreturn void
fail_init (int ctl, const char *what, int err)
{
  char msg[256];
  int n = snprintf (msg, sizeof msg, "%s%s%s", what, err ? ": " : "", err ? strerror (err) : "");
  fb_init_send (ctl, 'E', msg, (size_t) n < sizeof msg ? (size_t) n : sizeof msg - 1);
  _exit (125);
}

/* The forked init, PID 1 of its namespaces. cgfd >= 0: the cgroup it
 * joins by itself (no CLONE_INTO_CGROUP here). */
static _Noreturn void
init_child (int ctl, int cfg, int cgfd)
{
  if (cgfd >= 0)
    {
      int procs = openat (cgfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
      if (procs < 0 || write (procs, "0", 1) != 1)
        fail_init (ctl, "cannot join its cgroup", errno);
      close (procs);
    }
  /* Keep nothing of the runner's or ours but stdio, the control socket and
   * the configuration: a service must not hold the runner's fds, least of
   * all another service's seccomp listener, which the runner would then
   * take for this one's. */
  int keep[] = { ctl, cfg };
  close_all_but (keep, sizeof keep / sizeof keep[0]);
  fb_init_args a = { .ctl = ctl };
  char *data;
  size_t len;
  fb_service_plan plan;
  if (read_config (cfg, &data, &len) < 0 || fb_init_unpack (data, len, &a, &plan) < 0)
    fail_init (ctl, "faultbox-init: cannot read its configuration", 0);
  close (cfg);
  prctl (PR_SET_NAME, "faultbox-init");
  fb_init_main (&a);
}

/* Forks an init into netns (and cgfd). We are single-threaded, so a raw
 * clone3 child is as a fork's but for the C library's cached thread id,
 * which init never uses (no raise()). CLONE_PARENT makes it the runner's
 * child: the runner reaps it and gets its SIGCHLD. */
static pid_t
fork_init (const int *fds, size_t n, int home, int *pidfd, fb_init_forked *out)
{
  int ctl = fds[0], cfg = fds[1], netns = fds[2], cgfd = n > 3 ? fds[3] : -1;
  snprintf (out->step, sizeof out->step, "cannot enter the service's network");
  if (setns (netns, CLONE_NEWNET) < 0)
    return -errno;
  /* (its exit signal is ours, SIGCHLD: clone3 takes none with CLONE_PARENT) */
  struct clone_args ca = { .flags = SERVICE_NS | CLONE_PARENT | CLONE_PIDFD, .pidfd = (uint64_t) (uintptr_t) pidfd };
  long pid = -1;
  int join = -1;
  if (cgfd >= 0)
    {
      ca.flags |= CLONE_INTO_CGROUP;
      ca.cgroup = (uint64_t) cgfd;
      pid = syscall (SYS_clone3, &ca, sizeof ca);
      /* without CLONE_INTO_CGROUP (before Linux 5.7), init joins by itself */
      if (pid < 0 && (errno == E2BIG || errno == EINVAL))
        {
          ca.flags &= ~(uint64_t) CLONE_INTO_CGROUP;
          join = cgfd;
        }
    }
  if (cgfd < 0 || join >= 0)
    pid = syscall (SYS_clone3, &ca, sizeof ca);
  int e = errno;
  if (pid == 0)
    init_child (ctl, cfg, join);
  if (setns (home, CLONE_NEWNET) < 0)
    _exit (125); /* a server stranded in a lab's network would keep it alive */
  snprintf (out->step, sizeof out->step, "cannot create namespaces");
  return pid < 0 ? -e : (pid_t) pid;
}

int
main (int argc, char **argv)
{
  /* what the runner ignored or blocked is not the services' business */
  sigset_t none;
  sigemptyset (&none);
  for (int s = 1; s < NSIG; s++)
    signal (s, SIG_DFL);
  sigprocmask (SIG_SETMASK, &none, NULL);
  if (argc != 3)
    {
      fprintf (stderr, "faultbox-init: started by the faultbox library only\n");
      return 2;
    }
  int sock = atoi (argv[1]);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != atoi (argv[2]))
    return 0; /* the runner went before we could follow it */
  prctl (PR_SET_NAME, "faultbox-forksv");
  int keep[] = { sock };
  close_all_but (keep, 1);
  int home = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  for (;;)
    {
      char c;
      int fds[FB_INIT_MAX_FDS];
      size_t n;
      if (fb_init_recv_fds (sock, &c, 1, fds, &n) <= 0)
        return 0; /* the runner closed its end */
      fb_init_forked out = { .pid = -EINVAL };
      snprintf (out.step, sizeof out.step, "a request without its fds");
      int pidfd = -1;
      if (n >= 3 && home >= 0)
        out.pid = fork_init (fds, n, home, &pidfd, &out);
      else if (home < 0)
        snprintf (out.step, sizeof out.step, "faultbox-init cannot open its network namespace");
      fb_init_send_fds (sock, &out, sizeof out, &pidfd, pidfd >= 0);
      if (pidfd >= 0)
        close (pidfd);
      for (size_t i = 0; i < n; i++)
        close (fds[i]);
    }
}
