#include "faultbox/lab.h"
#include "net/link.h"
#include "net/partition.h"
#include "net/qdisc.h"
#include "sandbox/cgroup.h"
#include "sandbox/init.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/proc.h"
#include "util/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

#define LAB_PREFIX 24
#define LAB_NET 0x0ad50000u /* 10.213.0.0/24, private and only inside the lab netns */

typedef struct lab_svc {
  const fb_service_plan *plan;
  uint32_t addr;          /* network order */
  char addr_str[INET_ADDRSTRLEN];
  char *log_path;
  fb_cgroup cgroup;
  pid_t keeper;           /* our child: waits for init and dies with us */
  pid_t init;             /* PID 1 of the service's namespaces */
  int ctl;                /* control socket to init, -1 when idle */
  bool started, exited;
  int code;
} lab_svc;

struct fb_lab {
  fb_lab_plan plan;
  lab_svc *svcs;
  int home_netns, lab_netns, entered_netns;
  int bridge;
  unsigned next_partition;
  uint32_t worker_addr;
  char worker_str[INET_ADDRSTRLEN];
  char *workdir;
  fb_cgroup cgroup;
};

static unsigned lab_counter;

static int
cmp_names (const void *a, const void *b)
{
  const fb_service_plan *const *x = a, *const *y = b;
  return strcmp ((*x)->name, (*y)->name);
}

static int
write_file (const char *path, const char *data, fb_error *err)
{
  _cleanup_close_ int fd = open (path, O_WRONLY | O_CLOEXEC | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write (fd, data, strlen (data)) < 0)
    return fb_error_setsys (err, errno, "cannot write %s", path);
  return 0;
}

/* /etc/hosts, hostname and resolv.conf every service sees. */
static int
write_etc (fb_lab *lab, fb_error *err)
{
  _cleanup_buf_ fb_buf hosts = FB_BUF_INIT;
  fb_buf_printf (&hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n%s\tfaultbox-worker\n", lab->worker_str);
  for (size_t i = 0; i < lab->plan.n_services; i++)
    fb_buf_printf (&hosts, "%s\t%s\n", lab->svcs[i].addr_str, lab->svcs[i].plan->name);
  _cleanup_free_ char *h = fb_xasprintf ("%s/hosts", lab->workdir);
  _cleanup_free_ char *r = fb_xasprintf ("%s/resolv.conf", lab->workdir);
  if (write_file (h, fb_buf_str (&hosts), err) < 0)
    return -1;
  /* no resolver: names come from /etc/hosts, and nothing outside is reachable */
  return write_file (r, "# faultbox lab: no DNS\n", err);
}

static int
make_network (fb_lab *lab, fb_error *err)
{
  lab->home_netns = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (lab->home_netns < 0)
    return fb_error_setsys (err, errno, "lab: cannot open the current network namespace");
  if (unshare (CLONE_NEWNET) < 0)
    return fb_error_setsys (err, errno, "lab: cannot create a network namespace");
  lab->lab_netns = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int r = lab->lab_netns < 0 ? fb_error_setsys (err, errno, "lab: cannot open its network namespace")
                             : fb_net_make_bridge ("fbbr0", lab->worker_addr, LAB_PREFIX, &lab->bridge, err);
  if (setns (lab->home_netns, CLONE_NEWNET) < 0)
    abort (); /* a thread stranded in the lab would send the runner's traffic there */
  return r < 0 ? -1 : 0;
}

bool
fb_lab_valid_name (const char *n)
{
  if (!*n || strlen (n) > 40)
    return false;
  for (const char *p = n; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
          || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
      return false;
  return true;
}

int
fb_lab_create (const fb_lab_plan *plan, fb_lab **out, fb_error *err)
{
  if (plan->n_services > 250)
    return fb_error_set (err, EINVAL, "lab: %zu services do not fit a /24", plan->n_services);
  /* names become cgroup and work-dir path components and address keys */
  for (size_t i = 0; i < plan->n_services; i++)
    {
      const char *name = plan->services[i].name;
      if (!fb_lab_valid_name (name))
        return fb_error_set (err, EINVAL, "invalid service name \"%s\" (letters, digits, '-' and '_', at most 40)", name);
      for (size_t j = 0; j < i; j++)
        if (!strcmp (plan->services[j].name, name))
          return fb_error_set (err, EINVAL, "duplicate service name \"%s\"", name);
    }
  fb_lab *lab = FB_NEW (fb_lab);
  lab->plan = *plan;
  if (!lab->plan.grace_ns)
    lab->plan.grace_ns = 2 * FB_NS_PER_S;
  lab->home_netns = lab->lab_netns = lab->entered_netns = -1;
  lab->svcs = fb_xcalloc (plan->n_services + 1, sizeof *lab->svcs);
  unsigned id = __atomic_add_fetch (&lab_counter, 1, __ATOMIC_RELAXED);
  lab->worker_addr = htonl (LAB_NET | 1);
  inet_ntop (AF_INET, &lab->worker_addr, lab->worker_str, sizeof lab->worker_str);
  /* addresses in sorted-name order, so they do not depend on declaration order */
  const fb_service_plan **sorted = fb_xcalloc (plan->n_services + 1, sizeof *sorted);
  for (size_t i = 0; i < plan->n_services; i++)
    sorted[i] = &plan->services[i];
  qsort (sorted, plan->n_services, sizeof *sorted, cmp_names);
  lab->workdir = fb_xasprintf ("%s/faultbox-%d-%u", plan->workdir_base ? plan->workdir_base : "/tmp", (int) getpid (), id);
  int r = fb_mkdir_p (lab->workdir, 0755, err);
  for (size_t i = 0; i < plan->n_services && r == 0; i++)
    {
      lab_svc *s = &lab->svcs[i];
      s->plan = &plan->services[i];
      s->ctl = -1;
      size_t rank = 0;
      while (sorted[rank] != s->plan)
        rank++;
      s->addr = htonl (LAB_NET | (uint32_t) (rank + 2));
      inet_ntop (AF_INET, &s->addr, s->addr_str, sizeof s->addr_str);
      s->log_path = fb_xasprintf ("%s/%s.log", lab->workdir, s->plan->name);
    }
  free (sorted);
  if (r == 0)
    {
      char name[64];
      snprintf (name, sizeof name, "faultbox-%d-%u", (int) getpid (), id);
      r = fb_cgroup_create_lab (name, &lab->cgroup, err);
    }
  if (r == 0)
    r = write_etc (lab, err);
  if (r == 0)
    r = make_network (lab, err);
  if (r < 0)
    {
      fb_lab_destroy (lab);
      return -1;
    }
  *out = lab;
  return 0;
}

static int
send_msg (int fd, char type, const void *data, size_t len)
{
  char buf[512];
  buf[0] = type;
  if (len > sizeof buf - 1)
    len = sizeof buf - 1;
  if (len)
    memcpy (buf + 1, data, len);
  return send (fd, buf, len + 1, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Receives one control message; returns its type, 0 on EOF. */
static char
recv_msg (int fd, char *payload, size_t len)
{
  char buf[512];
  ssize_t n;
  while ((n = recv (fd, buf, sizeof buf - 1, 0)) < 0 && errno == EINTR)
    ;
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  snprintf (payload, len, "%s", buf + 1);
  return buf[0];
}

/* The keeper: unshares the service's namespaces, forks init into them, and
 * waits for it, so that init dies when we die and we die with the runner. */
static _Noreturn void
keeper_main (fb_lab *lab, lab_svc *s, int ctl, pid_t runner)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != runner)
    _exit (1);
  /* Keep nothing of the runner's but stdio and the control socket: a
   * service must not hold the runner's fds, least of all another service's
   * seccomp listener, which the runner would then take for this one's. */
  if (ctl > 3)
    close_range (3, (unsigned) ctl - 1, 0);
  close_range ((unsigned) ctl + 1, ~0U, 0);
  char buf[8];
  if (recv_msg (ctl, buf, sizeof buf) != 'C')
    _exit (1);
  if (unshare (CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID) < 0)
    {
      char m[256];
      snprintf (m, sizeof m, "cannot create namespaces: %s", strerror (errno));
      send_msg (ctl, 'E', m, strlen (m));
      _exit (1);
    }
  pid_t keeper = getpid ();
  pid_t init = fork ();
  if (init == 0)
    fb_init_main (&(fb_init_args){ .plan = s->plan, .ctl = ctl, .parent = keeper, .workdir = lab->workdir,
                                   .addr = s->addr, .prefix = LAB_PREFIX, .gateway = lab->worker_addr,
                                   .log_path = s->log_path });
  if (init < 0)
    _exit (1);
  char p[32];
  snprintf (p, sizeof p, "%d", (int) init);
  send_msg (ctl, 'P', p, strlen (p));
  close (ctl);
  int status = 0;
  while (waitpid (init, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFSIGNALED (status))
    _exit (128 + WTERMSIG (status));
  _exit (WEXITSTATUS (status));
}

static int
start_fail (lab_svc *s, fb_error *err, const char *fmt, const char *detail)
{
  return fb_error_set (err, EIO, fmt, s->plan->name, detail);
}

int
fb_lab_start_service (fb_lab *lab, size_t idx, fb_error *err)
{
  lab_svc *s = &lab->svcs[idx];
  int sp[2];
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    return fb_error_setsys (err, errno, "service \"%s\": socketpair", s->plan->name);
  pid_t runner = getpid ();
  pid_t keeper = fork ();
  if (keeper < 0)
    {
      close (sp[0]);
      close (sp[1]);
      return fb_error_setsys (err, errno, "service \"%s\": fork", s->plan->name);
    }
  if (keeper == 0)
    {
      close (sp[0]);
      keeper_main (lab, s, sp[1], runner);
    }
  close (sp[1]);
  s->keeper = keeper;
  s->ctl = sp[0];
  s->started = true;
  char msg[512];
  if (fb_cgroup_create_service (&lab->cgroup, s->plan->name, &s->plan->limits, &s->cgroup, err) < 0
      || fb_cgroup_attach (&s->cgroup, keeper, err) < 0)
    return fb_error_prefix (err, "service \"%s\"", s->plan->name);
  send_msg (s->ctl, 'C', NULL, 0);
  char t = recv_msg (s->ctl, msg, sizeof msg);
  if (t != 'P')
    return start_fail (s, err, "service \"%s\": %s", t == 'E' ? msg : "its sandbox died while starting");
  s->init = (pid_t) atoi (msg);
  if (setns (lab->lab_netns, CLONE_NEWNET) < 0)
    return fb_error_setsys (err, errno, "service \"%s\": cannot enter the lab network", s->plan->name);
  char veth[16];
  snprintf (veth, sizeof veth, "fbv%zu", idx);
  int r = fb_net_make_veth (veth, lab->bridge, s->init, err);
  if (setns (lab->entered_netns >= 0 ? lab->entered_netns : lab->home_netns, CLONE_NEWNET) < 0)
    abort ();
  if (r < 0)
    return fb_error_prefix (err, "service \"%s\"", s->plan->name);
  send_msg (s->ctl, 'G', NULL, 0);
  for (;;)
    {
      t = recv_msg (s->ctl, msg, sizeof msg);
      if (t == 'S')
        {
          /* the service stopped itself after installing its filter */
          pid_t child = fb_first_child (s->init);
          int fd = child > 0 ? fb_take_seccomp_listener (child, err) : fb_error_set (err, ESRCH, "no service process");
          if (fd < 0)
            return fb_error_prefix (err, "service \"%s\"", s->plan->name);
          if (lab->plan.on_listener && lab->plan.on_listener (lab->plan.ctx, idx, child, fd, err) < 0)
            return fb_error_prefix (err, "service \"%s\"", s->plan->name);
          if (!lab->plan.on_listener)
            close (fd);
          send_msg (s->ctl, 'A', NULL, 0);
        }
      else if (t == 'R')
        break;
      else
        return start_fail (s, err, "service \"%s\": %s", t == 'E' ? msg : "its init died while starting");
    }
  close (s->ctl);
  s->ctl = -1;
  return 0;
}

const char *
fb_lab_service_addr (const fb_lab *lab, size_t idx)
{
  return lab->svcs[idx].addr_str;
}

const char *
fb_lab_worker_addr (const fb_lab *lab)
{
  return lab->worker_str;
}

pid_t
fb_lab_service_pid (const fb_lab *lab, size_t idx)
{
  return lab->svcs[idx].init;
}

const char *
fb_lab_service_log (const fb_lab *lab, size_t idx)
{
  return lab->svcs[idx].log_path;
}

static void
reap (lab_svc *s, int options)
{
  if (!s->started || s->exited || s->keeper <= 0)
    return;
  int status;
  pid_t r;
  while ((r = waitpid (s->keeper, &status, options)) < 0 && errno == EINTR)
    ;
  if (r == s->keeper)
    {
      s->exited = true;
      s->code = WIFSIGNALED (status) ? 128 + WTERMSIG (status) : WEXITSTATUS (status);
    }
}

bool
fb_lab_service_exited (fb_lab *lab, size_t idx, int *code)
{
  lab_svc *s = &lab->svcs[idx];
  reap (s, WNOHANG);
  if (s->exited && code)
    *code = s->code;
  return s->exited;
}

int
fb_lab_wait_service (fb_lab *lab, size_t idx)
{
  reap (&lab->svcs[idx], 0);
  return lab->svcs[idx].code;
}

int
fb_lab_enter (fb_lab *lab, ssize_t svc, fb_error *err)
{
  _cleanup_close_ int fd = -1;
  if (svc < 0)
    fd = dup (lab->lab_netns);
  else
    {
      char p[64];
      snprintf (p, sizeof p, "/proc/%d/ns/net", (int) lab->svcs[svc].init);
      fd = open (p, O_RDONLY | O_CLOEXEC);
    }
  if (fd < 0 || setns (fd, CLONE_NEWNET) < 0)
    return fb_error_setsys (err, errno, "cannot enter the lab network");
  if (lab->entered_netns >= 0)
    close (lab->entered_netns);
  lab->entered_netns = steal_fd (&fd);
  return 0;
}

void
fb_lab_leave (fb_lab *lab)
{
  if (lab->home_netns >= 0 && setns (lab->home_netns, CLONE_NEWNET) < 0)
    abort ();
  if (lab->entered_netns >= 0)
    close (lab->entered_netns);
  lab->entered_netns = -1;
}

static int
in_lab (fb_lab *lab, fb_error *err)
{
  if (setns (lab->lab_netns, CLONE_NEWNET) < 0)
    return fb_error_setsys (err, errno, "cannot enter the lab network");
  return 0;
}

static void
back_home (fb_lab *lab)
{
  if (setns (lab->entered_netns >= 0 ? lab->entered_netns : lab->home_netns, CLONE_NEWNET) < 0)
    abort ();
}

static char **
port_names (const size_t *idx, size_t n)
{
  char **v = fb_xcalloc (n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = fb_xasprintf ("fbv%zu", idx[i]);
  return v;
}

static void
free_names (char **v)
{
  for (char **p = v; *p; p++)
    free (*p);
  free (v);
}

int
fb_lab_partition (fb_lab *lab, const size_t *a, size_t na, const size_t *b, size_t nb, fb_lab_part_dir dir,
                  unsigned *id, fb_error *err)
{
  if (in_lab (lab, err) < 0)
    return -1;
  unsigned pid = ++lab->next_partition;
  char **pa = port_names (a, na), **pb = port_names (b, nb);
  int r = fb_net_partition_apply (pid, pa, na, pb, nb, (fb_part_dir) dir, err);
  free_names (pa);
  free_names (pb);
  back_home (lab);
  if (r == 0)
    *id = pid;
  return r;
}

int
fb_lab_heal (fb_lab *lab, unsigned id, fb_error *err)
{
  if (in_lab (lab, err) < 0)
    return -1;
  int r = fb_net_partition_heal (id, err);
  back_home (lab);
  return r;
}

/* Slot 1 of a port is "from anyone", slot 2 + i is service i. */
static unsigned
link_slot (ssize_t from)
{
  return from < 0 ? 1 : (unsigned) from + 2;
}

int
fb_lab_link_fault (fb_lab *lab, ssize_t from, size_t to, const fb_link_impairment *f, fb_error *err)
{
  if (in_lab (lab, err) < 0)
    return -1;
  char port[16];
  snprintf (port, sizeof port, "fbv%zu", to);
  int r = fb_net_link_fault_apply (port, link_slot (from), from < 0 ? 0 : lab->svcs[from].addr, f, err);
  back_home (lab);
  return r;
}

int
fb_lab_link_clear (fb_lab *lab, ssize_t from, size_t to, fb_error *err)
{
  if (in_lab (lab, err) < 0)
    return -1;
  char port[16];
  snprintf (port, sizeof port, "fbv%zu", to);
  int r = fb_net_link_fault_clear (port, link_slot (from), err);
  back_home (lab);
  return r;
}

void
fb_lab_signal (fb_lab *lab, int sig)
{
  for (size_t i = 0; i < lab->plan.n_services; i++)
    if (lab->svcs[i].started && !lab->svcs[i].exited && lab->svcs[i].init > 0)
      kill (lab->svcs[i].init, sig);
}

bool
fb_lab_service_oom (const fb_lab *lab, size_t idx)
{
  return fb_cgroup_oom_killed (&lab->svcs[idx].cgroup);
}

void
fb_lab_stop (fb_lab *lab)
{
  fb_lab_signal (lab, SIGTERM);
  int64_t deadline = fb_now_ns () + lab->plan.grace_ns;
  for (size_t i = 0; i < lab->plan.n_services; i++)
    while (lab->svcs[i].started && !fb_lab_service_exited (lab, i, NULL) && fb_now_ns () < deadline)
      fb_sleep_ns (2 * FB_NS_PER_MS);
  for (size_t i = 0; i < lab->plan.n_services; i++)
    {
      lab_svc *s = &lab->svcs[i];
      if (s->started && !s->exited)
        {
          fb_cgroup_kill (&s->cgroup);
          kill (s->keeper, SIGKILL);
          if (s->init > 0)
            kill (s->init, SIGKILL);
          reap (s, 0);
        }
    }
}

void
fb_lab_destroy (fb_lab *lab)
{
  if (!lab)
    return;
  if (lab->entered_netns >= 0)
    fb_lab_leave (lab);
  fb_lab_stop (lab);
  for (size_t i = 0; i < lab->plan.n_services; i++)
    {
      lab_svc *s = &lab->svcs[i];
      if (s->ctl >= 0)
        close (s->ctl);
      fb_cgroup_kill (&s->cgroup); /* stragglers that double-forked away */
      fb_cgroup_remove (&s->cgroup);
      free (s->log_path);
    }
  fb_cgroup_remove (&lab->cgroup);
  if (lab->lab_netns >= 0)
    close (lab->lab_netns);
  if (lab->home_netns >= 0)
    close (lab->home_netns);
  if (lab->workdir && !lab->plan.keep_workdir)
    fb_rm_rf (lab->workdir);
  free (lab->workdir);
  free (lab->svcs);
  free (lab);
}

/* A lab whose cgroup outlived its runner never got to its teardown: its
 * work dir (default base) goes too. A lab that ended keeps its work dir
 * under --keep-workdir, and has no cgroup left to sweep. */
static void
remove_dead_workdir (int pid, unsigned id, void *ctx)
{
  (void) ctx;
  char path[64];
  snprintf (path, sizeof path, "/tmp/faultbox-%d-%u", pid, id);
  fb_rm_rf (path);
}

int
fb_lab_sweep_leftovers (void)
{
  return fb_cgroup_sweep (remove_dead_workdir, NULL);
}

void
fb_lab_sweep_runner (pid_t runner, bool keep_workdirs)
{
  fb_cgroup_sweep (NULL, NULL);
  if (keep_workdirs)
    return;
  /* the default base of fb_lab_create: /tmp/faultbox-<runner>-<n> */
  char prefix[32];
  int len = snprintf (prefix, sizeof prefix, "faultbox-%d-", (int) runner);
  _cleanup_closedir_ DIR *d = opendir ("/tmp");
  for (struct dirent *de; d && (de = readdir (d));)
    if (!strncmp (de->d_name, prefix, (size_t) len))
      {
        _cleanup_free_ char *path = fb_xasprintf ("/tmp/%s", de->d_name);
        fb_rm_rf (path);
      }
}
