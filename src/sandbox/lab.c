#include "faultbox/lab.h"
#include "faultbox/features.h"
#include "faultbox/rootless.h"
#include "net/diag.h"
#include "net/link.h"
#include "net/partition.h"
#include "net/qdisc.h"
#include "sandbox/cgroup.h"
#include "sandbox/init.h"
#include "sandbox/watch.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/proc.h"
#include "util/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
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
/* The proxy's addresses, one per proxied service, as /32s on the bridge:
 * the worker owns them, so services reach them through their default
 * route (the worker) and the worker's stack delivers them locally. A
 * separate address per service (rather than DNAT of the service's own
 * address) needs no netfilter: lab traffic is bridged, not routed, so a
 * DNAT rule would need br_netfilter, and it would carry conntrack state
 * from one lab into the next on a kept network. */
#define LAB_PROXY_NET 0x0ad50100u /* 10.213.1.0/24 */

typedef struct lab_svc {
  const fb_service_plan *plan;
  uint32_t addr;          /* network order */
  char addr_str[INET_ADDRSTRLEN];
  uint32_t proxy;         /* network order; 0: not proxied */
  char proxy_str[INET_ADDRSTRLEN];
  char *log_path;
  fb_cgroup cgroup;
  pid_t init;             /* PID 1 of the service's namespaces, our child */
  int pidfd;              /* init's, readable once it exited */
  int ctl;                /* control socket to init, -1 when idle */
  bool started, exited;   /* started: it has a sandbox (an init) */
  bool go;                /* told to start the service */
  int code;
  unsigned gen;           /* restarts so far: the watcher's reports carry it */
  bool quiet;             /* its exit is ours (kill, restart): not reported */
  bool frozen;
  uint64_t pipe_ino[2];   /* its captured stdout, stderr ("pipe:[ino]"), 0 none */
} lab_svc;

struct fb_lab_net {
  int netns;      /* -1 until a lab builds it */
  int bridge;     /* ifindex of the bridge */
  unsigned gen;   /* labs it served: their ports' names differ */
  pid_t owner;
  bool busy;      /* a lab has it */
};

struct fb_lab {
  fb_lab_plan plan;
  lab_svc *svcs;
  fb_lab_net *net;    /* the plan's, or own_net */
  fb_lab_net own_net;
  unsigned gen;
  int home_netns, lab_netns, entered_netns;
  int bridge;
  unsigned next_partition;
  /* partitions are netem's loss 100 % where the kernel has it (decided at
   * the first), else nftables rules; the netem ones remember their ports */
  int part_netem; /* -1 undecided, 0 nftables, 1 netem */
  struct lab_part {
    unsigned id;
    size_t *ports, n;
  } *parts;
  size_t n_parts;
  uint32_t worker_addr;
  char worker_str[INET_ADDRSTRLEN];
  char *workdir;
  fb_cgroup cgroup;
  fb_watch *watch;        /* NULL: nobody asked (no on_output, on_exit) */
  pthread_mutex_t wmu;    /* reaping, gen and quiet, against the watcher */
  bool stopping;
};

static unsigned lab_counter;

/* Where labs' work directories go by default: a tmpfs, so that making and
 * removing a lab's files costs no disk metadata and discards (on this
 * kind of host, milliseconds per lab and most of its variance), unless they
 * are kept for the user, on disk. */
static const char *const default_bases[] = { "/dev/shm", "/tmp" };

static const char *
workdir_base (const fb_lab_plan *plan)
{
  if (plan->workdir_base)
    return plan->workdir_base;
  return plan->keep_workdir || access (default_bases[0], W_OK) < 0 ? default_bases[1] : default_bases[0];
}

static int
cmp_names (const void *a, const void *b)
{
  const fb_service_plan *const *x = a, *const *y = b;
  return strcmp ((*x)->name, (*y)->name);
}

/* The bridge side of service idx's veth. The ports of a kept network's
 * previous lab may still be there, dying with their namespaces: each lab's
 * ports carry its generation. */
static void
port_name (const fb_lab *lab, size_t idx, char name[IFNAMSIZ])
{
  if (lab->gen & 0xffff)
    snprintf (name, IFNAMSIZ, "fbv%zu.%x", idx, lab->gen & 0xffff);
  else
    snprintf (name, IFNAMSIZ, "fbv%zu", idx);
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
    fb_buf_printf (&hosts, "%s\t%s\n", lab->svcs[i].proxy ? lab->svcs[i].proxy_str : lab->svcs[i].addr_str,
                   lab->svcs[i].plan->name);
  _cleanup_free_ char *h = fb_xasprintf ("%s/hosts", lab->workdir);
  _cleanup_free_ char *r = fb_xasprintf ("%s/resolv.conf", lab->workdir);
  if (write_file (h, fb_buf_str (&hosts), err) < 0)
    return -1;
  /* no resolver: names come from /etc/hosts, and nothing outside is reachable */
  return write_file (r, "# faultbox lab: no DNS\n", err);
}

fb_lab_net *
fb_lab_net_new (void)
{
  fb_lab_net *net = FB_NEW (fb_lab_net);
  net->netns = -1;
  net->owner = getpid ();
  return net;
}

void
fb_lab_net_free (fb_lab_net *net)
{
  if (!net)
    return;
  if (net->netns >= 0)
    close (net->netns);
  free (net);
}

/* In the new namespace: the worker keeps no TCP metrics (a cached RTT or
 * ssthresh would reach from one lab into the next), then the bridge. */
static int
build_network (fb_lab *lab, fb_error *err)
{
  fb_net_no_ipv6_on_new_links ();
  int fd = open ("/proc/sys/net/ipv4/tcp_no_metrics_save", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, "1", 1) != 1)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      return fb_error_setsys (err, e, "lab: cannot set net.ipv4.tcp_no_metrics_save");
    }
  close (fd);
  return fb_net_make_bridge ("fbbr0", lab->worker_addr, LAB_PREFIX, &lab->net->bridge, err);
}

static int
make_network (fb_lab *lab, fb_error *err)
{
  lab->home_netns = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (lab->home_netns < 0)
    return fb_error_setsys (err, errno, "lab: cannot open the current network namespace");
  fb_lab_net *net = lab->net;
  if (net->netns < 0)
    {
      if (unshare (CLONE_NEWNET) < 0)
        return fb_error_setsys (err, errno, "lab: cannot create a network namespace");
      net->netns = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
      int r = net->netns < 0 ? fb_error_setsys (err, errno, "lab: cannot open its network namespace")
                             : build_network (lab, err);
      if (setns (lab->home_netns, CLONE_NEWNET) < 0)
        abort (); /* a thread stranded in the lab would send the runner's traffic there */
      if (r < 0)
        return -1;
    }
  lab->lab_netns = net->netns;
  lab->bridge = net->bridge;
  return 0;
}

static int prepare_service (fb_lab *lab, size_t idx, fb_error *err);
static void back_home (fb_lab *lab);
static void reap (fb_lab *lab, lab_svc *s, bool block);

static void
watch_line (void *ctx, size_t idx, int stream, const char *line, size_t len)
{
  fb_lab *lab = ctx;
  if (lab->plan.on_output)
    lab->plan.on_output (lab->plan.ctx, idx, stream, line, len);
}

/* An init exited: reported unless it was ours to end (or a previous
 * incarnation's). */
static void
watch_exited (void *ctx, size_t idx, unsigned gen)
{
  fb_lab *lab = ctx;
  lab_svc *s = &lab->svcs[idx];
  pthread_mutex_lock (&lab->wmu);
  bool tell = gen == s->gen && !s->quiet && !lab->stopping;
  pthread_mutex_unlock (&lab->wmu);
  if (!tell)
    return;
  reap (lab, s, false);
  if (s->exited && lab->plan.on_exit)
    lab->plan.on_exit (lab->plan.ctx, idx, s->code);
}

static int
start_watch (fb_lab *lab, fb_error *err)
{
  fb_watch_ops ops = { .line = watch_line, .exited = watch_exited, .ctx = lab };
  lab->watch = fb_watch_new (&ops, err);
  return lab->watch ? 0 : -1;
}

static int
add_proxy_addresses (fb_lab *lab, fb_error *err)
{
  int r = 0;
  bool any = false;
  for (size_t i = 0; i < lab->plan.n_services; i++)
    any |= lab->svcs[i].proxy != 0;
  if (!any)
    return 0;
  if (setns (lab->lab_netns, CLONE_NEWNET) < 0)
    return fb_error_setsys (err, errno, "lab: cannot enter its network namespace");
  for (size_t i = 0; i < lab->plan.n_services && r == 0; i++)
    if (lab->svcs[i].proxy)
      r = fb_net_add_address (lab->bridge, lab->svcs[i].proxy, 32, err);
  if (setns (lab->home_netns, CLONE_NEWNET) < 0)
    abort ();
  return r;
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
  if (plan->net && (plan->net->busy || plan->net->owner != getpid ()))
    return fb_error_set (err, EBUSY, "lab: its network is %s", plan->net->busy ? "in use by another lab"
                                                                               : "another process's");
  /* names become cgroup and work-dir path components and address keys */
  for (size_t i = 0; i < plan->n_services; i++)
    {
      const char *name = plan->services[i].name;
      if (!fb_lab_valid_name (name))
        return fb_error_set (err, EINVAL, "invalid service name \"%s\" (letters, digits, '-' and '_', at most 40)", name);
      for (size_t j = 0; j < i; j++)
        if (!strcmp (plan->services[j].name, name))
          return fb_error_set (err, EINVAL, "duplicate service name \"%s\"", name);
      const fb_rootless *rl = fb_rootless_get ();
      if (rl->active && !rl->subuid && plan->services[i].set_user && (plan->services[i].uid || plan->services[i].gid))
        return fb_error_set (err, EPERM, "service \"%s\": uid %u gid %u: rootless maps one uid (%s; "
                             "faultbox doctor: rootless.subuid)", name, (unsigned) plan->services[i].uid,
                             (unsigned) plan->services[i].gid, rl->why_single);
    }
  fb_lab *lab = FB_NEW (fb_lab);
  pthread_mutex_init (&lab->wmu, NULL);
  lab->own_net = (fb_lab_net) { .netns = -1, .owner = getpid () };
  lab->net = plan->net ? plan->net : &lab->own_net;
  lab->net->busy = true;
  lab->gen = lab->net->gen;
  lab->plan = *plan;
  if (!lab->plan.grace_ns)
    lab->plan.grace_ns = 2 * FB_NS_PER_S;
  lab->home_netns = lab->lab_netns = lab->entered_netns = -1;
  lab->part_netem = -1;
  lab->svcs = fb_xcalloc (plan->n_services + 1, sizeof *lab->svcs);
  unsigned id = __atomic_add_fetch (&lab_counter, 1, __ATOMIC_RELAXED);
  lab->worker_addr = htonl (LAB_NET | 1);
  inet_ntop (AF_INET, &lab->worker_addr, lab->worker_str, sizeof lab->worker_str);
  /* addresses in sorted-name order, so they do not depend on declaration order */
  const fb_service_plan **sorted = fb_xcalloc (plan->n_services + 1, sizeof *sorted);
  for (size_t i = 0; i < plan->n_services; i++)
    sorted[i] = &plan->services[i];
  qsort (sorted, plan->n_services, sizeof *sorted, cmp_names);
  lab->workdir = fb_xasprintf ("%s/faultbox-%d-%u", workdir_base (plan), (int) getpid (), id);
  int r = fb_mkdir_p (lab->workdir, 0755, err);
  for (size_t i = 0; i < plan->n_services && r == 0; i++)
    {
      lab_svc *s = &lab->svcs[i];
      s->plan = &plan->services[i];
      s->ctl = s->pidfd = -1;
      size_t rank = 0;
      while (sorted[rank] != s->plan)
        rank++;
      s->addr = htonl (LAB_NET | (uint32_t) (rank + 2));
      inet_ntop (AF_INET, &s->addr, s->addr_str, sizeof s->addr_str);
      s->log_path = fb_xasprintf ("%s/%s.log", lab->workdir, s->plan->name);
      if (s->plan->proxied)
        {
          s->proxy = htonl (LAB_PROXY_NET | (uint32_t) (rank + 2));
          inet_ntop (AF_INET, &s->proxy, s->proxy_str, sizeof s->proxy_str);
        }
    }
  free (sorted);
  if (r == 0)
    {
      char name[64];
      snprintf (name, sizeof name, "faultbox-%d-%u", (int) getpid (), id);
      bool limits = false;
      for (size_t i = 0; i < plan->n_services; i++)
        limits |= plan->services[i].limits.memory_max || plan->services[i].limits.pids_max
                  || plan->services[i].limits.cpu_percent;
      r = fb_cgroup_create_lab (name, limits, &lab->cgroup, err);
    }
  if (r == 0)
    r = write_etc (lab, err);
  if (r == 0)
    r = make_network (lab, err);
  if (r == 0)
    r = add_proxy_addresses (lab, err);
  for (size_t i = 0; i < plan->n_services && r == 0; i++)
    r = prepare_service (lab, i, err);
  if (r == 0 && (plan->on_output || plan->on_exit))
    r = start_watch (lab, err);
  if (r < 0)
    {
      fb_lab_destroy (lab);
      return fb_features_explain (err);
    }
  *out = lab;
  return 0;
}

static bool
has_v1 (const fb_cgroup *cg)
{
  for (int c = 0; c < FB_CG_N; c++)
    if (cg->v1[c])
      return true;
  return false;
}

static int
start_fail (lab_svc *s, fb_error *err, const char *fmt, const char *detail)
{
  return fb_error_set (err, EIO, fmt, s->plan->name, detail);
}

/* Makes a network namespace with the service's end of its veth in it,
 * made from the lab's side (so that init finds its eth0 at once), and
 * starts init there. The calling thread passes through both namespaces
 * and returns home before init is asked for. */
static pid_t
spawn_init (fb_lab *lab, size_t idx, const fb_init_args *a, int cgfd, int *pidfd, fb_error *err)
{
  if (unshare (CLONE_NEWNET) < 0)
    return fb_error_setsys (err, errno, "cannot create namespaces");
  fb_net_no_ipv6_on_new_links ();
  _cleanup_close_ int own = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  char veth[IFNAMSIZ];
  port_name (lab, idx, veth);
  int r = own < 0 || setns (lab->lab_netns, CLONE_NEWNET) < 0
              ? fb_error_setsys (err, errno, "cannot enter the lab network")
              : fb_net_make_veth (veth, lab->bridge, own, lab->svcs[idx].addr, err);
  back_home (lab); /* (a restart comes from a test body in the lab network) */
  return r < 0 ? -1 : fb_init_spawn (a, own, cgfd, pidfd, err);
}

/* Makes the service's sandbox: cgroup, namespaces, veth, and init, which
 * sets up the network and root and then waits for our 'G'. All of a lab's
 * sandboxes are made at once, when the lab is created, and set themselves
 * up in parallel: a service's is ready by the time the ones it depends on
 * are healthy. */
static int
prepare_service (fb_lab *lab, size_t idx, fb_error *err)
{
  lab_svc *s = &lab->svcs[idx];
  if (fb_cgroup_create_service (&lab->cgroup, s->plan->name, &s->plan->limits, &s->cgroup, err) < 0)
    return fb_error_prefix (err, "service \"%s\"", s->plan->name);
  _cleanup_close_ int cgfd = s->cgroup.v2 ? open (s->cgroup.v2, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  if (s->cgroup.v2 && cgfd < 0)
    return fb_error_setsys (err, errno, "service \"%s\": cannot open cgroup %s", s->plan->name, s->cgroup.v2);
  int sp[2];
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    return fb_error_setsys (err, errno, "service \"%s\": socketpair", s->plan->name);
  fb_init_args a = { .plan = s->plan, .ctl = sp[1], .workdir = lab->workdir, .log_path = s->log_path,
                     .addr = s->addr, .prefix = LAB_PREFIX, .gateway = lab->worker_addr };
  pid_t init = spawn_init (lab, idx, &a, cgfd, &s->pidfd, err);
  close (sp[1]);
  if (init < 0)
    {
      close (sp[0]);
      return fb_error_prefix (err, "service \"%s\"", s->plan->name);
    }
  s->init = init;
  s->ctl = sp[0];
  s->started = true;
  /* v1 limits by pid, before init starts the service (which inherits them) */
  if (has_v1 (&s->cgroup) && fb_cgroup_attach (&s->cgroup, init, false, err) < 0)
    return fb_error_prefix (err, "service \"%s\"", s->plan->name);
  return 0;
}

/* 'G', with the write ends of the captured streams' pipes (in stream
 * order), whose read ends go to the watcher. */
static int
send_go (fb_lab *lab, size_t idx, fb_error *err)
{
  lab_svc *s = &lab->svcs[idx];
  bool cap[2] = { s->plan->capture_stdout, s->plan->capture_stderr };
  int ends[2];
  size_t n = 0;
  int r = 0;
  for (int k = 0; k < 2 && r == 0; k++)
    {
      int p[2];
      if (!cap[k])
        continue;
      if (!lab->watch || pipe2 (p, O_CLOEXEC) < 0)
        {
          r = fb_error_setsys (err, lab->watch ? errno : EINVAL, "cannot capture its output");
          break;
        }
      struct stat st;
      __atomic_store_n (&s->pipe_ino[k], fstat (p[0], &st) == 0 ? (uint64_t) st.st_ino : 0, __ATOMIC_RELAXED);
      ends[n++] = p[1];
      int logfd = open (s->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
      r = fb_watch_stream (lab->watch, idx, k + 1, p[0], logfd, err);
    }
  /* (a sandbox that died has said why: start_service reads it) */
  if (r == 0)
    fb_init_send_fds (s->ctl, "G", 1, ends, n);
  for (size_t i = 0; i < n; i++)
    close (ends[i]);
  return r;
}

static int
start_service (fb_lab *lab, size_t idx, fb_error *err)
{
  lab_svc *s = &lab->svcs[idx];
  if (!s->started || s->go)
    return fb_error_set (err, EINVAL, "service \"%s\": %s", s->plan->name,
                         s->go ? "started already" : "has no sandbox");
  char msg[512];
  s->go = true;
  if (send_go (lab, idx, err) < 0)
    return fb_error_prefix (err, "service \"%s\"", s->plan->name);
  /* init may first stop its service ('S', waiting for our 'A') */
  for (;;)
    {
      char t = fb_init_recv (s->ctl, msg, sizeof msg);
      if (t == 'R')
        break;
      if (t != 'S')
        return start_fail (s, err, "service \"%s\": %s", t == 'E' ? msg : "its sandbox died while starting");
      /* the service stopped itself after installing its filter */
      pid_t child = fb_first_child (s->init);
      int fd = child > 0 ? fb_take_seccomp_listener (child, err) : fb_error_set (err, ESRCH, "no service process");
      if (fd < 0)
        return fb_error_prefix (err, "service \"%s\"", s->plan->name);
      if (lab->plan.on_listener && lab->plan.on_listener (lab->plan.ctx, idx, child, fd, err) < 0)
        return fb_error_prefix (err, "service \"%s\"", s->plan->name);
      if (!lab->plan.on_listener)
        close (fd);
      fb_init_send (s->ctl, 'A', NULL, 0);
    }
  close (s->ctl);
  s->ctl = -1;
  return lab->watch ? fb_watch_pidfd (lab->watch, idx, s->gen, s->pidfd, err) : 0;
}

int
fb_lab_start_service (fb_lab *lab, size_t idx, fb_error *err)
{
  return start_service (lab, idx, err) < 0 ? fb_features_explain (err) : 0;
}

const char *
fb_lab_service_addr (const fb_lab *lab, size_t idx)
{
  return lab->svcs[idx].addr_str;
}

const char *
fb_lab_proxy_addr (const fb_lab *lab, size_t idx)
{
  return lab->svcs[idx].proxy ? lab->svcs[idx].proxy_str : NULL;
}

const char *
fb_lab_worker_addr (const fb_lab *lab)
{
  return lab->worker_str;
}

bool
fb_lab_is_service_log (const fb_lab *lab, size_t idx, const char *path)
{
  /* the path inside a filesystem mounted at some prefix of the base is a
   * tail of the host path that starts at a '/' and still names our dir */
  const char *log = lab->svcs[idx].log_path;
  unsigned long long ino;
  if (sscanf (path, "pipe:[%llu]", &ino) == 1)
    for (int k = 0; k < 2; k++)
      if (ino && ino == __atomic_load_n (&lab->svcs[idx].pipe_ino[k], __ATOMIC_RELAXED))
        return true;
  size_t n = strlen (path), m = strlen (log);
  size_t dir = (size_t) (strrchr (lab->workdir, '/') - lab->workdir);
  return n <= m && m - n <= dir && log[m - n] == '/' && !strcmp (log + m - n, path);
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

/* The runner's thread and the watcher both reap: under wmu, and a
 * blocking reap waits on the pidfd first, not in waitpid. */
static void
reap (fb_lab *lab, lab_svc *s, bool block)
{
  struct pollfd p = { .fd = s->pidfd, .events = POLLIN };
  while (block && s->pidfd >= 0 && poll (&p, 1, -1) < 0 && errno == EINTR)
    ;
  pthread_mutex_lock (&lab->wmu);
  if (s->started && !s->exited)
    {
      int status;
      pid_t r;
      while ((r = waitpid (s->init, &status, block && s->pidfd < 0 ? 0 : WNOHANG)) < 0 && errno == EINTR)
        ;
      if (r == s->init)
        {
          s->exited = true;
          s->code = WIFSIGNALED (status) ? 128 + WTERMSIG (status) : WEXITSTATUS (status);
        }
    }
  pthread_mutex_unlock (&lab->wmu);
}

bool
fb_lab_service_exited (fb_lab *lab, size_t idx, int *code)
{
  lab_svc *s = &lab->svcs[idx];
  reap (lab, s, false);
  if (s->exited && code)
    *code = s->code;
  return s->exited;
}

int
fb_lab_wait_service (fb_lab *lab, size_t idx)
{
  reap (lab, &lab->svcs[idx], true);
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

int
fb_lab_listen_watch (fb_lab *lab, size_t idx, fb_error *err)
{
  const lab_svc *s = &lab->svcs[idx];
  if (!s->started || s->exited)
    return fb_error_set (err, ESRCH, "service \"%s\" is not running", s->plan->name);
  char p[64];
  snprintf (p, sizeof p, "/proc/%d/ns/net", (int) s->init);
  _cleanup_close_ int ns = open (p, O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns (ns, CLONE_NEWNET) < 0)
    return fb_error_setsys (err, errno, "cannot enter the network of service \"%s\"", s->plan->name);
  int fd = fb_net_diag_socket (err);
  back_home (lab);
  return fd;
}

int
fb_lab_listening (int watch, int port, fb_error *err)
{
  return fb_net_tcp_listening (watch, port, err);
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
port_names (const fb_lab *lab, const size_t *idx, size_t n)
{
  char **v = fb_xcalloc (n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++)
    {
      v[i] = fb_xmalloc (IFNAMSIZ);
      port_name (lab, idx[i], v[i]);
    }
  return v;
}

static void
free_names (char **v)
{
  for (char **p = v; *p; p++)
    free (*p);
  free (v);
}

/* Removes netem partition p from its ports; the first error is kept. */
static int
uncut_netem (const fb_lab *lab, const struct lab_part *p, fb_error *err)
{
  int r = 0;
  for (size_t i = 0; i < p->n; i++)
    {
      char port[IFNAMSIZ];
      port_name (lab, p->ports[i], port);
      fb_error e = { 0 };
      if (fb_net_link_fault_clear (port, p->id, &e) < 0 && r == 0)
        r = -1, *err = e;
    }
  return r;
}

/* What the ports `to` receive from the services `from` is dropped: netem's
 * loss 100 % in slot p->id of each port, which p records first. */
static int
cut_netem (fb_lab *lab, struct lab_part *p, const size_t *from, size_t nf, const size_t *to, size_t nt,
           fb_error *err)
{
  static const fb_link_impairment cut = { .loss = 1.0 };
  _cleanup_free_ uint32_t *srcs = fb_xcalloc (nf, sizeof *srcs);
  for (size_t i = 0; i < nf; i++)
    srcs[i] = lab->svcs[from[i]].addr;
  for (size_t j = 0; j < nt; j++)
    {
      char port[IFNAMSIZ];
      port_name (lab, to[j], port);
      p->ports[p->n++] = to[j];
      if (fb_net_link_fault_apply (port, p->id, srcs, nf, &cut, err) < 0)
        return -1;
    }
  return 0;
}

static int
partition_netem (fb_lab *lab, unsigned id, const size_t *a, size_t na, const size_t *b, size_t nb,
                 fb_lab_part_dir dir, fb_error *err)
{
  if (id >= FB_NET_LINK_SLOTS)
    return fb_error_set (err, ENOSPC, "partition: more than %u in one lab", FB_NET_LINK_SLOTS - 1);
  struct lab_part p = { .id = id, .ports = fb_xcalloc (na + nb, sizeof *p.ports) };
  int r = dir != FB_LAB_PART_B_TO_A ? cut_netem (lab, &p, a, na, b, nb, err) : 0;
  if (r == 0 && dir != FB_LAB_PART_A_TO_B)
    r = cut_netem (lab, &p, b, nb, a, na, err);
  if (r < 0)
    {
      fb_error ignored = { 0 };
      uncut_netem (lab, &p, &ignored);
      free (p.ports);
      return -1;
    }
  lab->parts = fb_xreallocarray (lab->parts, lab->n_parts + 1, sizeof *lab->parts);
  lab->parts[lab->n_parts++] = p;
  return 0;
}

int
fb_lab_partition (fb_lab *lab, const size_t *a, size_t na, const size_t *b, size_t nb, fb_lab_part_dir dir,
                  unsigned *id, fb_error *err)
{
  if (in_lab (lab, err) < 0)
    return -1;
  unsigned pid = ++lab->next_partition;
  int r = -1;
  if (lab->part_netem != 0)
    {
      fb_error e = { 0 };
      r = partition_netem (lab, pid, a, na, b, nb, dir, &e);
      /* no netem (or htb, u32) here: nftables from now on */
      if (r < 0 && lab->part_netem < 0 && e.code == EOPNOTSUPP)
        lab->part_netem = 0;
      else if (r < 0)
        *err = e;
      else
        lab->part_netem = 1;
    }
  if (lab->part_netem == 0)
    {
      char **pa = port_names (lab, a, na), **pb = port_names (lab, b, nb);
      r = fb_net_partition_apply (pid, pa, na, pb, nb, (fb_part_dir) dir, err);
      free_names (pa);
      free_names (pb);
    }
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
  size_t i = 0;
  while (i < lab->n_parts && lab->parts[i].id != id)
    i++;
  int r;
  if (i < lab->n_parts)
    {
      r = uncut_netem (lab, &lab->parts[i], err);
      free (lab->parts[i].ports);
      lab->parts[i] = lab->parts[--lab->n_parts];
    }
  else
    r = fb_net_partition_heal (id, err);
  back_home (lab);
  return r;
}

/* The link slots of a port: "from anyone" first, then service i. */
static unsigned
link_slot (ssize_t from)
{
  return FB_NET_LINK_SLOTS + (from < 0 ? 0 : (unsigned) from + 1);
}

int
fb_lab_link_fault (fb_lab *lab, ssize_t from, size_t to, const fb_link_impairment *f, fb_error *err)
{
  if (in_lab (lab, err) < 0)
    return -1;
  char port[IFNAMSIZ];
  port_name (lab, to, port);
  int r = fb_net_link_fault_apply (port, link_slot (from), from < 0 ? NULL : &lab->svcs[from].addr,
                                   from < 0 ? 0 : 1, f, err);
  back_home (lab);
  return r;
}

int
fb_lab_link_clear (fb_lab *lab, ssize_t from, size_t to, fb_error *err)
{
  if (in_lab (lab, err) < 0)
    return -1;
  char port[IFNAMSIZ];
  port_name (lab, to, port);
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
fb_lab_service_running (fb_lab *lab, size_t idx)
{
  lab_svc *s = &lab->svcs[idx];
  return s->started && s->go && !fb_lab_service_exited (lab, idx, NULL);
}

static void
set_quiet (fb_lab *lab, lab_svc *s)
{
  pthread_mutex_lock (&lab->wmu);
  s->quiet = true;
  pthread_mutex_unlock (&lab->wmu);
}

/* Nothing of the service runs any more, and its init is reaped. */
static void
kill_all (fb_lab *lab, lab_svc *s)
{
  fb_cgroup_kill (&s->cgroup);
  kill (s->init, SIGKILL);
  reap (lab, s, true);
}

static int
not_running (const lab_svc *s, fb_error *err)
{
  return fb_error_set (err, ESRCH, "service %s is not running", s->plan->name);
}

int
fb_lab_kill_service (fb_lab *lab, size_t idx, int sig, fb_error *err)
{
  lab_svc *s = &lab->svcs[idx];
  if (!fb_lab_service_running (lab, idx))
    return not_running (s, err);
  if (sig == SIGKILL)
    {
      set_quiet (lab, s);
      kill_all (lab, s);
      return 0;
    }
  /* init forwards only SIGTERM and SIGINT: the rest go to the service itself */
  pid_t child = fb_first_child (s->init);
  if (child <= 0 || kill (child, sig) < 0)
    return fb_error_setsys (err, child <= 0 ? ESRCH : errno, "service %s: cannot signal its process",
                            s->plan->name);
  return 0;
}

/* Until the service's init exited or ns passed; true when it did. */
static bool
wait_exit (fb_lab *lab, size_t idx, int64_t ns)
{
  int64_t deadline = fb_now_ns () + ns;
  struct pollfd p = { .fd = lab->svcs[idx].pidfd, .events = POLLIN };
  while (!fb_lab_service_exited (lab, idx, NULL))
    {
      int64_t left = deadline - fb_now_ns ();
      if (left <= 0)
        return false;
      poll (&p, 1, (int) ((left + FB_NS_PER_MS - 1) / FB_NS_PER_MS));
    }
  return true;
}

/* What the old incarnation held: its init (stopped as teardown does),
 * its fds, its veth (deleted now, so the new one takes its name and the
 * bridge forgets its port), its cgroup. */
static void
retire (fb_lab *lab, size_t idx)
{
  lab_svc *s = &lab->svcs[idx];
  set_quiet (lab, s);
  if (s->frozen)
    fb_lab_resume_service (lab, idx, NULL);
  if (s->go && !fb_lab_service_exited (lab, idx, NULL))
    {
      kill (s->init, SIGTERM);
      wait_exit (lab, idx, lab->plan.grace_ns);
    }
  kill_all (lab, s);
  if (s->ctl >= 0)
    close (s->ctl);
  if (s->pidfd >= 0)
    close (s->pidfd);
  char port[IFNAMSIZ];
  port_name (lab, idx, port);
  if (in_lab (lab, NULL) == 0)
    {
      fb_net_delete_link (port, NULL);
      back_home (lab);
    }
  fb_cgroup_remove (&s->cgroup);
  pthread_mutex_lock (&lab->wmu);
  s->gen++;
  s->started = s->go = s->exited = s->quiet = s->frozen = false;
  s->ctl = s->pidfd = -1;
  s->code = 0;
  s->pipe_ino[0] = s->pipe_ino[1] = 0;
  pthread_mutex_unlock (&lab->wmu);
}

int
fb_lab_restart_service (fb_lab *lab, size_t idx, fb_error *err)
{
  lab_svc *s = &lab->svcs[idx];
  if (!s->started)
    return fb_error_set (err, EINVAL, "service %s has no sandbox", s->plan->name);
  retire (lab, idx);
  if (prepare_service (lab, idx, err) < 0 || start_service (lab, idx, err) < 0)
    return fb_features_explain (err);
  return 0;
}

static int
freeze (fb_lab *lab, size_t idx, bool on, fb_error *err)
{
  lab_svc *s = &lab->svcs[idx];
  if (on && !fb_lab_service_running (lab, idx))
    return not_running (s, err);
  if (fb_cgroup_freeze (&s->cgroup, on, err) < 0)
    return fb_error_prefix (err, "service %s: cannot %s it", s->plan->name, on ? "pause" : "resume");
  s->frozen = on;
  return 0;
}

int
fb_lab_pause_service (fb_lab *lab, size_t idx, fb_error *err)
{
  return freeze (lab, idx, true, err);
}

int
fb_lab_resume_service (fb_lab *lab, size_t idx, fb_error *err)
{
  return freeze (lab, idx, false, err);
}

bool
fb_lab_service_paused (const fb_lab *lab, size_t idx)
{
  return lab->svcs[idx].frozen;
}

void
fb_lab_flush_output (fb_lab *lab)
{
  fb_watch_flush (lab->watch);
}

bool
fb_lab_service_oom (const fb_lab *lab, size_t idx)
{
  return fb_cgroup_oom_killed (&lab->svcs[idx].cgroup);
}

/* Until every started service exited or the deadline passed: init's
 * pidfd turns readable when it exits. */
static void
wait_exits (fb_lab *lab, int64_t deadline)
{
  struct pollfd *p = fb_xcalloc (lab->plan.n_services + 1, sizeof *p);
  for (;;)
    {
      size_t np = 0;
      int64_t left = deadline - fb_now_ns ();
      int ms = (int) ((left + FB_NS_PER_MS - 1) / FB_NS_PER_MS);
      for (size_t i = 0; i < lab->plan.n_services; i++)
        if (lab->svcs[i].started && !fb_lab_service_exited (lab, i, NULL))
          p[np++] = (struct pollfd) { .fd = lab->svcs[i].pidfd, .events = POLLIN };
      if (!np || left <= 0)
        break;
      poll (p, np, ms);
    }
  free (p);
}

void
fb_lab_stop (fb_lab *lab)
{
  /* exits from here on are ours; a frozen service could not take its SIGTERM */
  pthread_mutex_lock (&lab->wmu);
  lab->stopping = true;
  pthread_mutex_unlock (&lab->wmu);
  fb_watch_mute (lab->watch);
  for (size_t i = 0; i < lab->plan.n_services; i++)
    if (lab->svcs[i].frozen)
      fb_lab_resume_service (lab, i, NULL);
  /* sandboxes never told to start: their init, waiting for 'G', exits on EOF */
  for (size_t i = 0; i < lab->plan.n_services; i++)
    if (!lab->svcs[i].go && lab->svcs[i].ctl >= 0)
      {
        close (lab->svcs[i].ctl);
        lab->svcs[i].ctl = -1;
      }
  fb_lab_signal (lab, SIGTERM);
  wait_exits (lab, fb_now_ns () + lab->plan.grace_ns);
  for (size_t i = 0; i < lab->plan.n_services; i++)
    {
      lab_svc *s = &lab->svcs[i];
      if (s->started && !s->exited)
        {
          fb_cgroup_kill (&s->cgroup);
          kill (s->init, SIGKILL);
          reap (lab, s, true);
        }
    }
}

/* Back to how build_network left it, for the next lab; a network that
 * cannot be reset is dropped (the next lab builds a new one). */
static int
reset_network (fb_lab *lab, fb_error *err)
{
  size_t n = 0;
  char **ports = fb_xcalloc (lab->plan.n_services + 1, sizeof *ports);
  for (size_t i = 0; i < lab->plan.n_services; i++)
    if (lab->svcs[i].started)
      {
        ports[n] = fb_xmalloc (IFNAMSIZ);
        port_name (lab, i, ports[n++]);
      }
  int r = in_lab (lab, err);
  if (r == 0)
    {
      r = fb_net_isolate_ports (ports, n, err);
      if (r == 0)
        r = fb_net_flush_neighbours (lab->bridge, err);
      /* netem partitions live on our ports; nftables ones in the lab */
      if (r == 0 && lab->next_partition && lab->part_netem == 0)
        r = fb_net_partition_reset (err);
      if (setns (lab->home_netns, CLONE_NEWNET) < 0)
        abort ();
    }
  free_names (ports);
  return r;
}

static void
release_network (fb_lab *lab)
{
  fb_lab_net *net = lab->net;
  /* lab_netns: this lab got as far as the network */
  if (net->netns >= 0 && (net == &lab->own_net || (lab->lab_netns >= 0 && reset_network (lab, NULL) < 0)))
    {
      close (net->netns);
      net->netns = -1;
    }
  net->gen++;
  net->busy = false;
}

void
fb_lab_destroy (fb_lab *lab)
{
  if (!lab)
    return;
  if (lab->entered_netns >= 0)
    fb_lab_leave (lab);
  fb_lab_stop (lab);
  fb_watch_free (lab->watch);
  for (size_t i = 0; i < lab->plan.n_services; i++)
    {
      lab_svc *s = &lab->svcs[i];
      if (s->ctl >= 0)
        close (s->ctl);
      if (s->pidfd >= 0)
        close (s->pidfd);
      fb_cgroup_remove (&s->cgroup);
      free (s->log_path);
    }
  fb_cgroup_remove (&lab->cgroup);
  release_network (lab);
  if (lab->home_netns >= 0)
    close (lab->home_netns);
  if (lab->workdir && !lab->plan.keep_workdir)
    fb_rm_rf (lab->workdir);
  free (lab->workdir);
  free (lab->svcs);
  for (size_t i = 0; i < lab->n_parts; i++)
    free (lab->parts[i].ports);
  free (lab->parts);
  pthread_mutex_destroy (&lab->wmu);
  free (lab);
}

const char *
fb_lab_workdir (const fb_lab *lab)
{
  return lab->workdir;
}

typedef struct {
  fb_lab_swept_fn fn;
  void *ctx;
} swept;

/* A lab whose cgroup outlived its runner never got to its teardown: its
 * work dir (in a default base) goes too. A lab that ended keeps its work
 * dir under --keep-workdir, and has no cgroup left to sweep. */
static void
remove_dead_lab (int pid, unsigned id, void *ctx)
{
  const swept *s = ctx;
  char name[48];
  snprintf (name, sizeof name, "faultbox-%d-%u", pid, id);
  for (size_t b = 0; b < sizeof default_bases / sizeof default_bases[0]; b++)
    {
      _cleanup_free_ char *path = fb_xasprintf ("%s/%s", default_bases[b], name);
      fb_rm_rf (path);
    }
  if (s->fn)
    s->fn (s->ctx, name, (pid_t) pid);
}

int
fb_lab_sweep_leftovers (fb_lab_swept_fn on_swept, void *ctx)
{
  swept s = { on_swept, ctx };
  int n = fb_cgroup_sweep (remove_dead_lab, &s);
  /* a runner killed in the instant between making a work dir and its
   * lab's first cgroup (or after teardown removed them) left no cgroup to
   * find it by; the tmpfs base never holds a kept dir, so all of a dead
   * runner's there go */
  _cleanup_closedir_ DIR *d = opendir (default_bases[0]);
  for (struct dirent *de; d && (de = readdir (d));)
    {
      int pid;
      unsigned id;
      if (sscanf (de->d_name, "faultbox-%d-%u", &pid, &id) != 2 || pid == getpid () || fb_pid_alive (pid))
        continue;
      _cleanup_free_ char *path = fb_xasprintf ("%s/%s", default_bases[0], de->d_name);
      fb_rm_rf (path);
    }
  return n;
}

void
fb_lab_sweep_runner (pid_t runner, bool keep_workdirs)
{
  fb_cgroup_sweep (NULL, NULL);
  if (keep_workdirs)
    return;
  /* the default bases of fb_lab_create: <base>/faultbox-<runner>-<n> */
  char prefix[32];
  int len = snprintf (prefix, sizeof prefix, "faultbox-%d-", (int) runner);
  for (size_t b = 0; b < sizeof default_bases / sizeof default_bases[0]; b++)
    {
      _cleanup_closedir_ DIR *d = opendir (default_bases[b]);
      for (struct dirent *de; d && (de = readdir (d));)
        if (!strncmp (de->d_name, prefix, (size_t) len))
          {
            _cleanup_free_ char *path = fb_xasprintf ("%s/%s", default_bases[b], de->d_name);
            fb_rm_rf (path);
          }
    }
}
