/* Test helper: drives the engine library directly on a forked child, with
 * no lab around it, and prints what it sees.
 *   engine_probe hold    held getppid calls block until released (allowed
 *                        or denied), by a removed scope, and by teardown
 *   engine_probe drain   fb_engine_drain answers a pending delay at once
 *                        and lets later holds run
 *   engine_probe churn   rules added and removed (and the loop poked) while
 *                        the child calls getppid flat out: every call
 *                        answered, no crash
 *   engine_probe bench SYSCALL PROGRAM [ARGS]
 *                        PROGRAM under the engine with SYSCALL routed to it
 *                        and always allowed (tests/bench/notify) */
#include "faultbox/engine.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DIE(...) (fprintf (stderr, "engine_probe: " __VA_ARGS__), fputc ('\n', stderr), exit (2))

static void
on_event (void *ctx, const fb_engine_event *ev)
{
  char act[64] = "allow";
  if (ev->released)
    snprintf (act, sizeof act, "released %s", ev->err ? fb_errno_name (ev->err) : "allow");
  else if (ev->faulted)
    fb_rule_describe_action (ev->rule, act, sizeof act);
  printf ("event %s %s\n", ev->syscall, act);
  fflush (stdout);
}

/* Forks a child that installs a filter routing `syscall` and hands its
 * listener over; the child runs `body` once the parent has it. */
static pid_t
spawn (const char *syscall_name, void (*body) (void *), void *arg, int *listener)
{
  char *names[] = { (char *) syscall_name, NULL };
  struct sock_fprog prog;
  if (fb_filter_build (names, &prog, NULL) < 0)
    DIE ("cannot build the filter");
  int sp[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
    DIE ("socketpair: %s", strerror (errno));
  pid_t pid = fork ();
  if (pid == 0)
    {
      close (sp[0]);
      prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      int fd = (int) syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
      if (fd < 0)
        _exit (3);
      char c = 0, cbuf[CMSG_SPACE (sizeof fd)];
      struct iovec iov = { &c, 1 };
      struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
      struct cmsghdr *cm = CMSG_FIRSTHDR (&m);
      *cm = (struct cmsghdr){ .cmsg_len = CMSG_LEN (sizeof fd), .cmsg_level = SOL_SOCKET, .cmsg_type = SCM_RIGHTS };
      memcpy (CMSG_DATA (cm), &fd, sizeof fd);
      /* the ACK: nothing routed runs before the parent holds the listener */
      if (sendmsg (sp[1], &m, 0) < 0 || read (sp[1], &c, 1) != 1)
        _exit (3);
      close (fd);
      close (sp[1]);
      body (arg);
      _exit (0);
    }
  close (sp[1]);
  fb_filter_free (&prog);
  char c, cbuf[CMSG_SPACE (sizeof (int))];
  struct iovec iov = { &c, 1 };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  if (recvmsg (sp[0], &m, 0) != 1 || !CMSG_FIRSTHDR (&m))
    DIE ("the child sent no listener");
  memcpy (listener, CMSG_DATA (CMSG_FIRSTHDR (&m)), sizeof *listener);
  if (write (sp[0], "k", 1) != 1)
    DIE ("cannot ACK the child");
  close (sp[0]);
  return pid;
}

/* The child of hold/drain: one getppid per command byte, its result back. */
typedef struct {
  int cmd, res, parent_ends[2];
} pipes;

static void
stepper (void *arg)
{
  pipes *p = arg;
  close (p->parent_ends[0]);
  close (p->parent_ends[1]);
  char c;
  while (read (p->cmd, &c, 1) == 1)
    {
      long r = syscall (SYS_getppid);
      char out[64];
      int n = snprintf (out, sizeof out, "%s\n", r < 0 ? strerror (errno) : "ok");
      if (write (p->res, out, (size_t) n) != n)
        _exit (3);
    }
}

typedef struct {
  fb_engine *e;
  pid_t pid;
  int cmd, res;
} probe;

static void
probe_start (probe *pr, const char *syscall_name)
{
  int cmd[2], res[2];
  if (pipe (cmd) < 0 || pipe (res) < 0)
    DIE ("pipe: %s", strerror (errno));
  pipes p = { cmd[0], res[1], { cmd[1], res[0] } };
  int fd;
  pr->pid = spawn (syscall_name, stepper, &p, &fd);
  close (cmd[0]);
  close (res[1]);
  pr->cmd = cmd[1];
  pr->res = res[0];
  fb_error err = { 0 };
  if (fb_engine_new (1, on_event, NULL, &pr->e, &err) < 0 || fb_engine_add_service (pr->e, "child", pr->pid, fd, &err) < 0
      || fb_engine_start (pr->e, &err) < 0)
    DIE ("%s", err.msg);
}

static uint64_t
add_rule (probe *pr, fb_action act, int64_t delay_ns, const char *label, uint64_t scope)
{
  char *calls[] = { "getppid", NULL };
  fb_rule r = { .keyword = "getppid", .syscalls = calls, .action = act, .delay_ns = delay_ns,
                .probability = 1.0, .label = (char *) label };
  uint64_t id;
  fb_error err = { 0 };
  if (fb_engine_add_rule (pr->e, "child", &r, scope, &id, &err) < 0)
    DIE ("%s", err.msg);
  return id;
}

static void
step (probe *pr)
{
  if (write (pr->cmd, "g", 1) != 1)
    DIE ("the child is gone");
}

/* The child's answer within timeout_ms, or NULL: it is still blocked. */
static const char *
result (probe *pr, int timeout_ms)
{
  static char buf[64];
  struct pollfd pf = { pr->res, POLLIN, 0 };
  if (poll (&pf, 1, timeout_ms) != 1)
    return NULL;
  ssize_t n = read (pr->res, buf, sizeof buf - 1);
  buf[n > 0 ? n - 1 : 0] = '\0';
  return buf;
}

static void
wait_held (probe *pr, const char *label)
{
  for (int i = 0; i < 1000 && !fb_engine_held (pr->e, 0, label); i++)
    usleep (10000);
  printf ("held %s: %zu\n", label, fb_engine_held (pr->e, 0, label));
  const char *r = result (pr, 300);
  printf ("while held: %s\n", r ? r : "blocked");
  fflush (stdout);
}

static void
say (const char *what, const char *r)
{
  printf ("%s: %s\n", what, r ? r : "still blocked");
  fflush (stdout);
}

static int
probe_end (probe *pr)
{
  close (pr->cmd);
  int st;
  waitpid (pr->pid, &st, 0);
  close (pr->res);
  return WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
}

static int
run_hold (void)
{
  probe pr;
  probe_start (&pr, "getppid");
  uint64_t id = add_rule (&pr, FB_ACT_HOLD, 0, "gate", 1);
  step (&pr);
  wait_held (&pr, "gate");
  printf ("release other label: %zu\n", fb_engine_release (pr.e, 0, "other", 0));
  printf ("release gate: %zu\n", fb_engine_release (pr.e, id, NULL, 0));
  say ("after release", result (&pr, 10000));
  step (&pr);
  wait_held (&pr, "gate");
  printf ("release gate with EPERM: %zu\n", fb_engine_release (pr.e, 0, "gate", EPERM));
  say ("after release", result (&pr, 10000));
  step (&pr);
  wait_held (&pr, "gate");
  fb_engine_remove_scope (pr.e, 1);
  say ("after its scope went", result (&pr, 10000));
  step (&pr);
  say ("no rule", result (&pr, 10000));
  add_rule (&pr, FB_ACT_HOLD, 0, "last", 2);
  step (&pr);
  wait_held (&pr, "last");
  fb_engine_free (pr.e);
  say ("after teardown", result (&pr, 10000));
  return probe_end (&pr);
}

static int
run_drain (void)
{
  probe pr;
  probe_start (&pr, "getppid");
  add_rule (&pr, FB_ACT_DELAY, 30 * INT64_C (1000000000), "slow", 1);
  step (&pr);
  const char *r = result (&pr, 300);
  printf ("during a 30s delay: %s\n", r ? r : "blocked");
  struct timespec a, b;
  clock_gettime (CLOCK_MONOTONIC, &a);
  fb_engine_drain (pr.e);
  r = result (&pr, 10000);
  clock_gettime (CLOCK_MONOTONIC, &b);
  long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
  printf ("after drain: %s (%s 5s)\n", r ? r : "still blocked", ms < 5000 ? "within" : "after");
  fb_engine_remove_scope (pr.e, 1);
  add_rule (&pr, FB_ACT_HOLD, 0, "late", 2);
  step (&pr);
  say ("a hold after drain", result (&pr, 10000));
  printf ("held late: %zu\n", fb_engine_held (pr.e, 0, "late"));
  fb_engine_free (pr.e);
  return probe_end (&pr);
}

static void
calls (void *arg)
{
  long n = 0;
  for (int i = 0; i < 20000; i++)
    n += syscall (SYS_getppid) > 0;
  printf ("child: %ld of 20000 calls returned\n", n);
  fflush (stdout);
}

/* Snapshots swapped under the loop's feet: an allow rule in a fresh scope
 * at a time, so every call still returns. */
static int
run_churn (void)
{
  int fd;
  fb_engine *e;
  fb_error err = { 0 };
  if (fb_engine_new (1, NULL, NULL, &e, &err) < 0)
    DIE ("%s", err.msg);
  pid_t pid = spawn ("getppid", calls, NULL, &fd);
  if (fb_engine_add_service (e, "child", pid, fd, &err) < 0 || fb_engine_start (e, &err) < 0)
    DIE ("%s", err.msg);
  char *names[] = { "getppid", NULL };
  fb_rule r = { .keyword = "getppid", .syscalls = names, .action = FB_ACT_ALLOW, .probability = 1.0 };
  uint64_t scopes = 0;
  for (int st; waitpid (pid, &st, WNOHANG) == 0; scopes++)
    {
      if (fb_engine_add_rule (e, "child", &r, scopes + 1, NULL, &err) < 0)
        DIE ("%s", err.msg);
      fb_engine_remove_scope (e, scopes);
      /* lock-free pokes on top (a drain stops no allow rule): a writer
       * that outpaces the loop must not keep it from answering */
      for (int k = 0; k < 50; k++)
        fb_engine_drain (e);
    }
  printf ("scopes pushed and popped: %s\n", scopes > 10 ? "many" : "few");
  fb_engine_free (e);
  return 0;
}

typedef struct {
  char **argv;
} exec_args;

static void
exec_body (void *arg)
{
  char **argv = ((exec_args *) arg)->argv;
  execvp (argv[0], argv);
  _exit (127);
}

static int
run_bench (const char *syscall_name, char **argv)
{
  exec_args a = { argv };
  int fd;
  fb_engine *e;
  fb_error err = { 0 };
  char *calls[] = { (char *) syscall_name, NULL };
  fb_rule r = { .keyword = (char *) syscall_name, .syscalls = calls, .action = FB_ACT_DENY, .err = EIO };
  /* the rule matches every call and never fires, as --fault SYSCALL=EIO:0% */
  if (fb_engine_new (1, NULL, NULL, &e, &err) < 0 || fb_engine_add_rule (e, "child", &r, 1, NULL, &err) < 0)
    DIE ("%s", err.msg);
  pid_t pid = spawn (syscall_name, exec_body, &a, &fd);
  if (fb_engine_add_service (e, "child", pid, fd, &err) < 0 || fb_engine_start (e, &err) < 0)
    DIE ("%s", err.msg);
  int st;
  waitpid (pid, &st, 0);
  fb_engine_free (e);
  return WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
}

int
main (int argc, char **argv)
{
  setvbuf (stdout, NULL, _IOLBF, 0);
  if (argc == 2 && !strcmp (argv[1], "hold"))
    return run_hold ();
  if (argc == 2 && !strcmp (argv[1], "drain"))
    return run_drain ();
  if (argc == 2 && !strcmp (argv[1], "churn"))
    return run_churn ();
  if (argc >= 4 && !strcmp (argv[1], "bench"))
    return run_bench (argv[2], argv + 3);
  fprintf (stderr, "usage: engine_probe hold | drain | churn | bench SYSCALL PROGRAM [ARGS]\n");
  return 2;
}
