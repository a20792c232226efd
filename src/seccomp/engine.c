#include "faultbox/engine.h"
#include "util/kernel_compat.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/hash.h"
#include "util/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Syscall numbers the engine indexes rules by; the native arch's are below. */
#define NR_MAX 1024

typedef struct rule_state {
  fb_rule rule;
  char *service;
  uint64_t id, scope;
  int *nrs;                /* the family's numbers on this arch */
  size_t n_nrs;
  uint64_t matched, fired; /* written by the loop only, read with __atomic */
} rule_state;

/* A service's rules as the loop sees them: never changed once published, so
 * the loop reads it without a lock. Rules of syscall nr are
 * list[first[nr] .. first[nr + 1]), newest first, so an inner scope shadows
 * an outer one. */
typedef struct snapshot {
  uint32_t first[NR_MAX + 1];
  rule_state *list[];
} snapshot;

typedef struct svc {
  char *name;
  char *root;      /* the target's root as we see it, "" when it is ours or unknown */
  pid_t pid;
  int fd;          /* listener; -1 once it hung up or failed (set by the loop, under the lock) */
  int failed;      /* errno of a receive or answer that failed, 0: none */
  snapshot *snap;  /* NULL: no rules; swapped with __atomic, read by the loop only */
} svc;

typedef struct pending {
  int64_t deadline;
  uint64_t order;  /* ties at one deadline are answered in arrival order */
  svc *svc;
  uint64_t id;
} pending;

typedef struct held {
  svc *svc;
  uint64_t id;
  rule_state *rs;  /* stays allocated while any call it holds is parked */
  pid_t pid;
  const char *syscall;
  char *path;
  bool release;    /* marked by fb_engine_release; the loop answers it */
  int err;
} held;

struct fb_engine {
  uint64_t seed;
  fb_engine_event_cb cb;
  void *ctx;
  pthread_mutex_t lock;  /* what writers share with each other and the loop: */
  svc **svcs;            /* each svc stays put: the loop holds pointers to them */
  size_t n_svcs, cap_svcs;
  rule_state **rules;    /* in the order they were added */
  size_t n_rules, cap_rules;
  uint64_t next_rule_id;
  /* Replaced snapshots and removed rules: the loop may still be reading
   * them, so it frees them itself between two notifications, when it holds
   * none (it is the only reader). */
  snapshot **old_snaps;
  size_t n_old_snaps, cap_old_snaps;
  rule_state **old_rules;
  size_t n_old_rules, cap_old_rules;
  held *held;
  size_t n_held, cap_held;
  bool running;
  /* the loop's own */
  pending *heap;         /* min-heap on (deadline, order) */
  size_t n_pend, cap_pend;
  uint64_t next_order, seq;
  int epfd, wakefd;
  pthread_t thread;
  bool stopping, draining; /* __atomic */
  /* Writers poke the loop (pokes counts those, seen is the loop's last
   * look). With one live service and nothing parked, the loop waits in the
   * listener's RECV itself rather than in epoll (a syscall less per call);
   * a writer that needs it out of there kicks (kicks counts those) and,
   * while in_recv, signals the loop thread until it has seen the kick.
   * Plain pokes (garbage, releases, drain) need nothing from a loop in
   * RECV, so they must not keep it out: a writer changing rules flat out
   * would starve the service's calls. */
  uint64_t pokes, seen, kicks, kicked; /* __atomic */
  bool in_recv;                        /* __atomic */
  svc *solo;             /* the loop's: the only live service, or NULL */
  bool virtual_time;     /* set before the loop starts */
  int64_t vclock;        /* __atomic: the virtual clock, ns (the test's sleep() advances it too) */
};

enum { K_OTHER = 1, K_PATH, K_PATH_AT, K_FD, K_CONNECT, K_SENDTO, K_SLEEP, K_CLOCK_SLEEP, K_CLOCK };

/* Where a syscall's path or address comes from, decided once per name so
 * the notification loop does not compare strings on every call. */
static unsigned char
syscall_kind (const char *n)
{
  static const char *const path[] = { "open", "creat", "unlink", "mkdir", "rename", NULL };
  static const char *const path_at[] = { "openat", "openat2", "unlinkat", "mkdirat", "renameat", "renameat2", NULL };
  static const char *const fdcalls[] = { "write", "writev", "pwrite64", "pwritev", "pwritev2", "read",
                                         "readv", "pread64", "preadv", "preadv2", "fsync", "fdatasync",
                                         "ftruncate", "close", "sendmsg", "sendmmsg", "recvfrom",
                                         "recvmsg", "recvmmsg", "accept", "accept4", NULL };
  if (!strcmp (n, "connect"))
    return K_CONNECT;
  if (!strcmp (n, "sendto"))
    return K_SENDTO;
  if (!strcmp (n, "nanosleep"))
    return K_SLEEP;
  if (!strcmp (n, "clock_nanosleep"))
    return K_CLOCK_SLEEP;
  if (!strcmp (n, "clock_gettime"))
    return K_CLOCK;
  for (const char *const *p = path; *p; p++)
    if (!strcmp (n, *p))
      return K_PATH;
  for (const char *const *p = path_at; *p; p++)
    if (!strcmp (n, *p))
      return K_PATH_AT;
  for (const char *const *p = fdcalls; *p; p++)
    if (!strcmp (n, *p))
      return K_FD;
  return K_OTHER;
}

/* Names and kinds of the native arch's syscalls, built once per process so
 * the loop neither resolves nor allocates per notification. The filter is
 * built for the native arch only, so no other arch reaches the loop. */
static struct {
  char *name;
  unsigned char kind;
} sysinfo[NR_MAX];
static pthread_once_t sysinfo_once = PTHREAD_ONCE_INIT;

static void
sysinfo_build (void)
{
  for (int nr = 0; nr < NR_MAX; nr++)
    {
      char *n = seccomp_syscall_resolve_num_arch (SCMP_ARCH_NATIVE, nr);
      sysinfo[nr].name = n ? n : fb_xasprintf ("syscall_%d", nr);
      sysinfo[nr].kind = syscall_kind (sysinfo[nr].name);
    }
}

int
fb_syscall_number (const char *name)
{
  int nr = seccomp_syscall_resolve_name (name);
  /* libseccomp names a syscall the arch lacks with a negative pseudo number */
  return nr >= 0 ? nr : -1;
}

int
fb_engine_new (uint64_t seed, fb_engine_event_cb cb, void *ctx, fb_engine **out, fb_error *err)
{
  pthread_once (&sysinfo_once, sysinfo_build);
  fb_engine *e = FB_NEW (fb_engine);
  e->seed = seed;
  e->cb = cb;
  e->ctx = ctx;
  e->next_rule_id = 1;
  pthread_mutex_init (&e->lock, NULL);
  e->epfd = epoll_create1 (EPOLL_CLOEXEC);
  e->wakefd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (e->epfd < 0 || e->wakefd < 0)
    {
      int saved = errno;
      fb_engine_free (e);
      return fb_error_setsys (err, saved, "engine: cannot create its event loop");
    }
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
  epoll_ctl (e->epfd, EPOLL_CTL_ADD, e->wakefd, &ev);
  *out = e;
  return 0;
}

/* Makes the loop look at what writers left it: garbage, releases, drain.
 * Async-signal-safe. */
static void
poke (fb_engine *e)
{
  __atomic_add_fetch (&e->pokes, 1, __ATOMIC_SEQ_CST);
  uint64_t one = 1;
  if (write (e->wakefd, &one, sizeof one) < 0 && errno != EAGAIN)
    abort ();
}

/* The signal that interrupts the loop's RECV; its handler does nothing. */
#define WAKE_SIGNAL (SIGRTMIN + 3)

static void
wake_handler (int sig)
{
}

static void
wake_handler_install (void)
{
  /* no SA_RESTART: the interrupted RECV must return EINTR */
  struct sigaction sa = { .sa_handler = wake_handler };
  sigemptyset (&sa.sa_mask);
  sigaction (WAKE_SIGNAL, &sa, NULL);
}

/* A poke the loop must act on now, even from inside RECV. A signal that
 * lands just before RECV starts is lost, hence the repeats. */
static void
kick (fb_engine *e)
{
  uint64_t t = __atomic_add_fetch (&e->kicks, 1, __ATOMIC_SEQ_CST);
  poke (e);
  while (__atomic_load_n (&e->in_recv, __ATOMIC_SEQ_CST) && __atomic_load_n (&e->kicked, __ATOMIC_SEQ_CST) < t)
    {
      pthread_kill (e->thread, WAKE_SIGNAL);
      struct timespec ts = { 0, 200000 };
      nanosleep (&ts, NULL);
    }
}

static void
rule_state_free (rule_state *rs)
{
  fb_rule_clear (&rs->rule);
  free (rs->service);
  free (rs->nrs);
  free (rs);
}

static void
free_garbage (snapshot **snaps, size_t n_snaps, rule_state **rules, size_t n_rules)
{
  for (size_t i = 0; i < n_snaps; i++)
    free (snaps[i]);
  for (size_t i = 0; i < n_rules; i++)
    rule_state_free (rules[i]);
}

/* Under the lock, after retiring something: without a loop nobody can be
 * reading it; with one, the loop frees it when it is done. */
static void
collect_locked (fb_engine *e)
{
  if (e->running)
    {
      poke (e);
      return;
    }
  free_garbage (e->old_snaps, e->n_old_snaps, e->old_rules, e->n_old_rules);
  e->n_old_snaps = e->n_old_rules = 0;
}

static snapshot *
snapshot_build (fb_engine *e, const char *service)
{
  uint32_t count[NR_MAX] = { 0 };
  size_t n = 0;
  for (size_t i = 0; i < e->n_rules; i++)
    if (!strcmp (e->rules[i]->service, service))
      for (size_t k = 0; k < e->rules[i]->n_nrs; k++, n++)
        count[e->rules[i]->nrs[k]]++;
  if (!n)
    return NULL;
  snapshot *s = fb_xmalloc (sizeof *s + n * sizeof *s->list);
  s->first[0] = 0;
  for (int nr = 0; nr < NR_MAX; nr++)
    s->first[nr + 1] = s->first[nr] + count[nr];
  memcpy (count, s->first, sizeof count); /* reused as fill positions */
  for (size_t i = e->n_rules; i-- > 0;)
    if (!strcmp (e->rules[i]->service, service))
      for (size_t k = 0; k < e->rules[i]->n_nrs; k++)
        s->list[count[e->rules[i]->nrs[k]]++] = e->rules[i];
  return s;
}

/* Gives the loop a fresh snapshot of `service`'s rules. */
static void
publish_locked (fb_engine *e, const char *service)
{
  for (size_t i = 0; i < e->n_svcs; i++)
    if (!strcmp (e->svcs[i]->name, service))
      {
        snapshot *old = __atomic_exchange_n (&e->svcs[i]->snap, snapshot_build (e, service), __ATOMIC_ACQ_REL);
        if (old)
          {
            FB_GROW (e->old_snaps, e->cap_old_snaps, e->n_old_snaps + 1);
            e->old_snaps[e->n_old_snaps++] = old;
          }
      }
}

int
fb_engine_add_service (fb_engine *e, const char *name, pid_t pid, int listener_fd, fb_error *err)
{
  svc *sv = FB_NEW (svc);
  *sv = (svc){ .name = fb_xstrdup (name), .pid = pid, .fd = listener_fd, .root = fb_xstrdup ("") };
  /* Under chroot, /proc/<pid>/fd links of a sandboxed target read as host
   * paths below its root; remember that root to strip it. */
  char link[64], root[PATH_MAX];
  snprintf (link, sizeof link, "/proc/%d/root", (int) pid);
  ssize_t n = readlink (link, root, sizeof root - 1);
  if (n > 1)
    {
      root[n] = '\0';
      free (sv->root);
      sv->root = fb_xstrdup (root);
    }
  pthread_mutex_lock (&e->lock);
  sv->snap = snapshot_build (e, name);
  FB_GROW (e->svcs, e->cap_svcs, e->n_svcs + 1);
  e->svcs[e->n_svcs++] = sv;
  pthread_mutex_unlock (&e->lock);
  /* Wake the target on the CPU that answers it (Linux 6.6+); older kernels
   * just keep the default wake-up. */
  ioctl (listener_fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, 0);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = sv };
  if (epoll_ctl (e->epfd, EPOLL_CTL_ADD, listener_fd, &ev) < 0)
    return fb_error_setsys (err, errno, "engine: cannot watch the listener of %s", name);
  /* the loop may be in another service's RECV: it must watch both now */
  pthread_mutex_lock (&e->lock);
  bool running = e->running;
  pthread_mutex_unlock (&e->lock);
  if (running)
    kick (e);
  return 0;
}

static void
copy_rule (fb_rule *dst, const fb_rule *src)
{
  *dst = *src;
  dst->keyword = fb_xstrdup (src->keyword ? src->keyword : "");
  size_t n = 0;
  while (src->syscalls && src->syscalls[n])
    n++;
  dst->syscalls = fb_xcalloc (n + 1, sizeof (char *));
  for (size_t i = 0; i < n; i++)
    dst->syscalls[i] = fb_xstrdup (src->syscalls[i]);
  dst->path_glob = src->path_glob ? fb_xstrdup (src->path_glob) : NULL;
  dst->dest = src->dest ? fb_xstrdup (src->dest) : NULL;
  dst->label = src->label ? fb_xstrdup (src->label) : NULL;
}

int
fb_engine_add_rule (fb_engine *e, const char *service, const fb_rule *rule, uint64_t scope, uint64_t *id,
                    fb_error *err)
{
  if (!rule->syscalls || !rule->syscalls[0])
    return fb_error_set (err, EINVAL, "rule %s names no syscall", rule->keyword ? rule->keyword : "?");
  rule_state *rs = FB_NEW (rule_state);
  copy_rule (&rs->rule, rule);
  rs->service = fb_xstrdup (service);
  rs->scope = scope;
  for (char **s = rule->syscalls; *s; s++)
    {
      int nr = fb_syscall_number (*s);
      bool dup = false;
      for (size_t k = 0; k < rs->n_nrs; k++)
        dup |= rs->nrs[k] == nr;
      if (nr < 0 || nr >= NR_MAX || dup)
        continue;
      rs->nrs = fb_xreallocarray (rs->nrs, rs->n_nrs + 1, sizeof *rs->nrs);
      rs->nrs[rs->n_nrs++] = nr;
    }
  pthread_mutex_lock (&e->lock);
  rs->id = e->next_rule_id++;
  FB_GROW (e->rules, e->cap_rules, e->n_rules + 1);
  e->rules[e->n_rules++] = rs;
  publish_locked (e, service);
  collect_locked (e);
  if (id)
    *id = rs->id;
  pthread_mutex_unlock (&e->lock);
  return 0;
}

static bool
held_matches (const held *h, uint64_t rule_id, const char *label)
{
  return !h->release && (!rule_id || h->rs->id == rule_id)
         && (!label || (h->rs->rule.label && !strcmp (h->rs->rule.label, label)));
}

void
fb_engine_remove_scope (fb_engine *e, uint64_t scope)
{
  pthread_mutex_lock (&e->lock);
  bool released = false;
  for (size_t i = 0; i < e->n_held; i++)
    if (e->held[i].rs->scope == scope && !e->held[i].release)
      {
        e->held[i].release = released = true;
        e->held[i].err = 0;
      }
  size_t w = 0;
  for (size_t i = 0; i < e->n_rules; i++)
    {
      rule_state *rs = e->rules[i];
      if (rs->scope != scope)
        {
          e->rules[w++] = rs;
          continue;
        }
      FB_GROW (e->old_rules, e->cap_old_rules, e->n_old_rules + 1);
      e->old_rules[e->n_old_rules++] = rs;
    }
  size_t removed = e->n_rules - w;
  e->n_rules = w;
  /* republish every service that lost a rule */
  for (size_t i = e->n_old_rules - removed; i < e->n_old_rules; i++)
    {
      bool seen = false;
      for (size_t k = e->n_old_rules - removed; k < i; k++)
        seen |= !strcmp (e->old_rules[k]->service, e->old_rules[i]->service);
      if (!seen)
        publish_locked (e, e->old_rules[i]->service);
    }
  if (removed || released)
    collect_locked (e);
  pthread_mutex_unlock (&e->lock);
}

void
fb_engine_rule_stats (fb_engine *e, uint64_t id, uint64_t *matched, uint64_t *fired)
{
  pthread_mutex_lock (&e->lock);
  *matched = *fired = 0;
  for (size_t i = 0; i < e->n_rules; i++)
    if (e->rules[i]->id == id)
      {
        *matched = __atomic_load_n (&e->rules[i]->matched, __ATOMIC_RELAXED);
        *fired = __atomic_load_n (&e->rules[i]->fired, __ATOMIC_RELAXED);
      }
  pthread_mutex_unlock (&e->lock);
}

size_t
fb_engine_held (fb_engine *e, uint64_t rule_id, const char *label)
{
  pthread_mutex_lock (&e->lock);
  size_t n = 0;
  for (size_t i = 0; i < e->n_held; i++)
    n += held_matches (&e->held[i], rule_id, label);
  pthread_mutex_unlock (&e->lock);
  return n;
}

/* Marks the matching held calls for release: all of them (nth SIZE_MAX)
 * or only the nth. Returns how many. */
static size_t
release_matching (fb_engine *e, uint64_t rule_id, const char *label, size_t nth, int err)
{
  pthread_mutex_lock (&e->lock);
  size_t n = 0, seen = 0;
  for (size_t i = 0; i < e->n_held; i++)
    if (held_matches (&e->held[i], rule_id, label) && (nth == SIZE_MAX || seen++ == nth))
      {
        e->held[i].release = true;
        e->held[i].err = err;
        n++;
      }
  if (n)
    poke (e);
  pthread_mutex_unlock (&e->lock);
  return n;
}

size_t
fb_engine_release (fb_engine *e, uint64_t rule_id, const char *label, int err)
{
  return release_matching (e, rule_id, label, SIZE_MAX, err);
}

bool
fb_engine_release_nth (fb_engine *e, uint64_t rule_id, const char *label, size_t k, int err)
{
  return release_matching (e, rule_id, label, k, err) == 1;
}

void
fb_engine_set_virtual_time (fb_engine *e, bool on)
{
  e->virtual_time = on;
}

bool
fb_engine_advance_clock (fb_engine *e, int64_t ns)
{
  if (!e || !e->virtual_time)
    return false;
  __atomic_add_fetch (&e->vclock, ns, __ATOMIC_ACQ_REL);
  return true;
}

int64_t
fb_engine_virtual_ns (fb_engine *e)
{
  return e && e->virtual_time ? __atomic_load_n (&e->vclock, __ATOMIC_ACQUIRE) : 0;
}

/* Lock-free so that a signal handler may call it: the loop does the rest. */
void
fb_engine_drain (fb_engine *e)
{
  if (!e)
    return;
  __atomic_store_n (&e->draining, true, __ATOMIC_RELEASE);
  poke (e);
}

static bool
read_string (pid_t pid, uint64_t addr, char *buf, size_t len)
{
  size_t got = 0;
  while (got + 1 < len)
    {
      size_t page_left = 4096 - ((addr + got) & 4095);
      size_t want = len - 1 - got < page_left ? len - 1 - got : page_left;
      struct iovec local = { buf + got, want };
      struct iovec remote = { (void *) (uintptr_t) (addr + got), want };
      ssize_t n = process_vm_readv (pid, &local, 1, &remote, 1, 0);
      if (n <= 0)
        return false;
      if (memchr (buf + got, '\0', (size_t) n))
        return true;
      got += (size_t) n;
    }
  buf[len - 1] = '\0';
  return true;
}

static void
fd_path (const svc *sv, pid_t pid, long fd, char *buf, size_t len)
{
  char link[64];
  if (fd == AT_FDCWD)
    snprintf (link, sizeof link, "/proc/%d/cwd", (int) pid);
  else
    snprintf (link, sizeof link, "/proc/%d/fd/%ld", (int) pid, fd);
  ssize_t n = readlink (link, buf, len - 1);
  buf[n > 0 ? n : 0] = '\0';
  size_t rl = strlen (sv->root);
  if (rl && strncmp (buf, sv->root, rl) == 0 && (buf[rl] == '/' || buf[rl] == '\0'))
    {
      memmove (buf, buf + rl, strlen (buf + rl) + 1);
      if (!buf[0])
        snprintf (buf, len, "/");
    }
}

static void
sockaddr_str (pid_t pid, uint64_t addr, uint64_t alen, char *buf, size_t len)
{
  struct sockaddr_storage ss;
  memset (&ss, 0, sizeof ss);
  size_t want = alen < sizeof ss ? (size_t) alen : sizeof ss;
  struct iovec local = { &ss, want }, remote = { (void *) (uintptr_t) addr, want };
  buf[0] = '\0';
  if (!addr || process_vm_readv (pid, &local, 1, &remote, 1, 0) <= 0)
    return;
  char ip[INET6_ADDRSTRLEN];
  if (ss.ss_family == AF_INET)
    {
      struct sockaddr_in *s = (struct sockaddr_in *) &ss;
      inet_ntop (AF_INET, &s->sin_addr, ip, sizeof ip);
      snprintf (buf, len, "%s:%u", ip, ntohs (s->sin_port));
    }
  else if (ss.ss_family == AF_INET6)
    {
      struct sockaddr_in6 *s = (struct sockaddr_in6 *) &ss;
      inet_ntop (AF_INET6, &s->sin6_addr, ip, sizeof ip);
      snprintf (buf, len, "[%s]:%u", ip, ntohs (s->sin6_port));
    }
  else if (ss.ss_family == AF_UNIX)
    snprintf (buf, len, "unix:%.100s", (char *) &ss + 2);
}

static const char *const system_prefixes[] = { "/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/",
                                               "/proc/", "/sys/", "/dev/", "/etc/ld.so.", NULL };

bool
fb_path_is_system (const char *p)
{
  for (const char *const *s = system_prefixes; *s; s++)
    if (strncmp (p, *s, strlen (*s)) == 0)
      return true;
  return false;
}

static bool
dest_matches (const char *want, const char *have)
{
  if (!have[0])
    return false;
  if (strcmp (want, have) == 0)
    return true;
  /* "10.0.0.2" matches any port of that host */
  size_t wl = strlen (want);
  return !strchr (want, ':') && strncmp (want, have, wl) == 0 && have[wl] == ':';
}

static bool
rule_matches (const fb_rule *r, const char *path, bool is_addr)
{
  if (r->path_glob && (is_addr || !fb_path_glob_match (r->path_glob, path)))
    return false;
  if (!r->path_glob && !is_addr && path[0] && fb_path_is_system (path))
    return false;
  return !r->dest || (is_addr && dest_matches (r->dest, path));
}

/* The first rule of the snapshot that matches decides, fired or not. */
static rule_state *
decide (fb_engine *e, const snapshot *s, const char *service, int nr, const char *path, bool is_addr, bool *fire)
{
  *fire = false;
  if (!s || nr < 0 || nr >= NR_MAX)
    return NULL;
  for (uint32_t i = s->first[nr]; i < s->first[nr + 1]; i++)
    {
      rule_state *rs = s->list[i];
      const fb_rule *r = &rs->rule;
      if (!rule_matches (r, path, is_addr))
        continue;
      uint64_t occ = rs->matched + 1;
      __atomic_store_n (&rs->matched, occ, __ATOMIC_RELAXED);
      bool f = r->action != FB_ACT_ALLOW;
      if (r->nth)
        f = f && occ == r->nth;
      if (r->after)
        f = f && occ > r->after;
      if (r->max_fires)
        f = f && rs->fired < r->max_fires;
      /* no draw for probability 0 or 1 */
      if (f && r->probability <= 0.0)
        f = false;
      else if (f && r->probability < 1.0)
        f = fb_hash_chance (fb_hash_decision (e->seed, service, rs->id, occ), r->probability);
      /* teardown: nothing waits any more */
      if (f && (r->action == FB_ACT_DELAY || r->action == FB_ACT_HOLD)
          && __atomic_load_n (&e->draining, __ATOMIC_ACQUIRE))
        f = false;
      if (f)
        __atomic_store_n (&rs->fired, rs->fired + 1, __ATOMIC_RELAXED);
      *fire = f;
      return rs;
    }
  return NULL;
}

static svc *
solo_locked (fb_engine *e)
{
  svc *one = NULL;
  size_t live = 0;
  for (size_t i = 0; i < e->n_svcs; i++)
    if (e->svcs[i]->fd >= 0)
      {
        one = e->svcs[i];
        live++;
      }
  return live == 1 ? one : NULL;
}

/* A listener we stop watching: it hung up (err 0), or we cannot use it any
 * more (err, for fb_engine_check; closing it fails the service's routed
 * syscalls with ENOSYS instead of leaving them blocked). Its held calls go
 * with it. */
static void
drop_listener (fb_engine *e, svc *sv, int err)
{
  epoll_ctl (e->epfd, EPOLL_CTL_DEL, sv->fd, NULL);
  pthread_mutex_lock (&e->lock);
  close (sv->fd);
  sv->fd = -1;
  sv->failed = err;
  size_t w = 0;
  for (size_t i = 0; i < e->n_held; i++)
    if (e->held[i].svc == sv)
      free (e->held[i].path);
    else
      e->held[w++] = e->held[i];
  e->n_held = w;
  e->solo = solo_locked (e);
  pthread_mutex_unlock (&e->lock);
}

/* SEND and ID_VALID wait for the listener's lock interruptibly: a wake-up
 * signal meant for a RECV must not make them fail. */
static int
notif_ioctl (int fd, unsigned long op, void *arg)
{
  int r;
  while ((r = ioctl (fd, op, arg)) < 0 && errno == EINTR)
    ;
  return r;
}

static void
respond (fb_engine *e, svc *sv, uint64_t id, int error, bool cont)
{
  struct seccomp_notif_resp resp = { .id = id };
  if (cont)
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  else
    resp.error = -error;
  /* ENOENT: the target died or its syscall was interrupted; nothing to do */
  if (sv->fd >= 0 && notif_ioctl (sv->fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
    drop_listener (e, sv, errno);
}

/* The path or address a call names, read from the target. False when the
 * syscall names none, so there is nothing to validate. */
static bool
read_target (const svc *sv, const struct seccomp_notif *req, unsigned char kind, char *path, size_t len,
             bool *is_addr)
{
  const __u64 *a = req->data.args;
  pid_t pid = (pid_t) req->pid;
  *is_addr = kind == K_CONNECT || kind == K_SENDTO;
  if (kind == K_PATH || kind == K_PATH_AT)
    {
      bool dirfd = kind == K_PATH_AT;
      char raw[PATH_MAX];
      if (!read_string (pid, dirfd ? a[1] : a[0], raw, sizeof raw))
        return true;
      if (raw[0] == '/')
        snprintf (path, len, "%s", raw);
      else
        {
          char base[PATH_MAX];
          fd_path (sv, pid, dirfd ? (long) (int) a[0] : AT_FDCWD, base, sizeof base);
          snprintf (path, len, "%s/%s", base, raw);
        }
    }
  else if (kind == K_CONNECT)
    sockaddr_str (pid, a[1], a[2], path, len);
  else if (kind == K_SENDTO && a[4])
    sockaddr_str (pid, a[4], a[5], path, len);
  else if (kind == K_SENDTO || kind == K_FD)
    {
      /* sendto on a connected socket names no address: judge it by its fd */
      *is_addr = false;
      fd_path (sv, pid, (long) (int) a[0], path, len);
    }
  return kind != K_OTHER;
}

static void
emit (fb_engine *e, fb_engine_event *ev)
{
  ev->seq = ++e->seq;
  ev->time_ns = fb_now_ns ();
  if (e->cb)
    e->cb (e->ctx, ev);
}

/* Parks a held call, unless its rule went away since the loop read it. */
static bool
hold (fb_engine *e, svc *sv, const struct seccomp_notif *req, rule_state *rs, const char *name, const char *path)
{
  pthread_mutex_lock (&e->lock);
  /* once draining, nothing is held; what was held before, the drain's
   * wake-up releases */
  bool live = false;
  for (size_t i = 0; i < e->n_rules && !live; i++)
    live = e->rules[i] == rs;
  live = live && !__atomic_load_n (&e->draining, __ATOMIC_ACQUIRE);
  if (live)
    {
      FB_GROW (e->held, e->cap_held, e->n_held + 1);
      e->held[e->n_held++] = (held){ .svc = sv, .id = req->id, .rs = rs, .pid = (pid_t) req->pid,
                                     .syscall = name, .path = path[0] ? fb_xstrdup (path) : NULL };
    }
  pthread_mutex_unlock (&e->lock);
  return live;
}

static bool
pend_before (const pending *a, const pending *b)
{
  return a->deadline < b->deadline || (a->deadline == b->deadline && a->order < b->order);
}

static bool
target_io (pid_t pid, uint64_t addr, void *buf, size_t len, bool write)
{
  struct iovec local = { buf, len }, remote = { (void *) (uintptr_t) addr, len };
  ssize_t n = write ? process_vm_writev (pid, &local, 1, &remote, 1, 0)
                    : process_vm_readv (pid, &local, 1, &remote, 1, 0);
  return addr && n == (ssize_t) len;
}

/* Under virtual time a sleep returns at once, advancing the virtual
 * clock, and clock_gettime reads that clock; neither runs. As after every
 * read or write of the target's memory, ID_VALID then says whether it was
 * still in that call (else its pid may be another's and we answer nothing). */
static void
virtual_call (fb_engine *e, svc *sv, const struct seccomp_notif *req, unsigned char kind, const char *name)
{
  const __u64 *a = req->data.args;
  pid_t pid = (pid_t) req->pid;
  struct timespec ts = { 0 };
  int error = 0;
  int64_t slept = 0;
  int64_t now = __atomic_load_n (&e->vclock, __ATOMIC_ACQUIRE);
  if (kind == K_CLOCK)
    {
      ts.tv_sec = now / FB_NS_PER_S;
      ts.tv_nsec = now % FB_NS_PER_S;
      if (!target_io (pid, a[1], &ts, sizeof ts, true))
        error = EFAULT;
    }
  else
    {
      bool absolute = kind == K_CLOCK_SLEEP && (a[1] & TIMER_ABSTIME);
      uint64_t at = kind == K_SLEEP ? a[0] : a[2], rem = kind == K_SLEEP ? a[1] : a[3];
      if (!target_io (pid, at, &ts, sizeof ts, false))
        error = EFAULT;
      else if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= FB_NS_PER_S)
        error = EINVAL;
      else
        {
          /* a year at most: the clock must not overflow */
          int64_t want = ts.tv_sec > 366 * 86400 ? 366 * 86400 * FB_NS_PER_S : ts.tv_sec * FB_NS_PER_S + ts.tv_nsec;
          slept = !absolute ? want : want > now ? want - now : 0;
        }
      struct timespec zero = { 0 };
      if (!error && rem && !absolute)
        target_io (pid, rem, &zero, sizeof zero, true);
    }
  uint64_t id = req->id;
  if (notif_ioctl (sv->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0)
    return;
  now = __atomic_add_fetch (&e->vclock, slept, __ATOMIC_ACQ_REL);
  fb_engine_event ev = {
    .service = sv->name,
    .pid = pid,
    .syscall = name,
    .nr = req->data.nr,
    .args = (const uint64_t *) a,
    .decision = error ? FB_ACT_DENY : FB_ACT_ALLOW,
    .err = error,
    .delay_ns = slept,
    .vtime = kind == K_CLOCK ? FB_VTIME_CLOCK : FB_VTIME_SLEEP,
    .vclock_ns = now,
  };
  emit (e, &ev);
  respond (e, sv, req->id, error, false);
}

/* Decides and answers one notification. */
static void
process (fb_engine *e, svc *sv, struct seccomp_notif *np)
{
  struct seccomp_notif req = *np;
  int fd = sv->fd;
  int nr = req.data.nr;
  bool known = nr >= 0 && nr < NR_MAX;
  const char *name = known ? sysinfo[nr].name : "?";
  unsigned char kind = known ? sysinfo[nr].kind : K_OTHER;
  if (e->virtual_time && (kind == K_SLEEP || kind == K_CLOCK_SLEEP || kind == K_CLOCK))
    {
      virtual_call (e, sv, &req, kind, name);
      return;
    }
  char path[PATH_MAX];
  path[0] = '\0';
  bool is_addr;
  /* what we read is only trustworthy if the target is still in that syscall */
  if (read_target (sv, &req, kind, path, sizeof path, &is_addr)
      && notif_ioctl (fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) < 0)
    return;

  bool fire;
  const snapshot *s = __atomic_load_n (&sv->snap, __ATOMIC_ACQUIRE);
  rule_state *rs = decide (e, s, sv->name, nr, path, is_addr, &fire);
  const fb_rule *r = rs ? &rs->rule : NULL;
  fb_engine_event ev = {
    .service = sv->name,
    .pid = (pid_t) req.pid,
    .syscall = name,
    .nr = nr,
    .args = (const uint64_t *) req.data.args,
    .path = path[0] ? path : NULL,
    .decision = fire ? r->action : FB_ACT_ALLOW,
    .faulted = fire,
    .err = fire && r->action == FB_ACT_DENY ? r->err : 0,
    .delay_ns = fire && r->action == FB_ACT_DELAY ? r->delay_ns : 0,
    .rule = r,
    .rule_id = rs ? rs->id : 0,
  };
  /* parked before its event: a release, answered by this thread, comes after */
  if (ev.decision == FB_ACT_HOLD && !hold (e, sv, &req, rs, name, path))
    ev.decision = FB_ACT_ALLOW, ev.faulted = false;
  /* a virtual delay passes on the clock and the call runs now */
  if (ev.decision == FB_ACT_DELAY && e->virtual_time)
    {
      ev.vclock_ns = __atomic_add_fetch (&e->vclock, ev.delay_ns, __ATOMIC_ACQ_REL);
      ev.vtime = FB_VTIME_DELAY;
    }
  emit (e, &ev);
  if (ev.decision == FB_ACT_DENY)
    respond (e, sv, req.id, ev.err, false);
  else if (ev.decision == FB_ACT_DELAY && e->virtual_time)
    respond (e, sv, req.id, 0, true);
  else if (ev.decision == FB_ACT_DELAY)
    {
      FB_GROW (e->heap, e->cap_pend, e->n_pend + 1);
      pending p = { fb_now_ns () + ev.delay_ns, e->next_order++, sv, req.id };
      size_t i = e->n_pend++;
      for (; i && pend_before (&p, &e->heap[(i - 1) / 2]); i = (i - 1) / 2)
        e->heap[i] = e->heap[(i - 1) / 2];
      e->heap[i] = p;
    }
  else if (ev.decision == FB_ACT_ALLOW)
    respond (e, sv, req.id, 0, true);
}

static bool
recv_one (fb_engine *e, svc *sv, struct seccomp_notif *req)
{
  memset (req, 0, sizeof *req);
  if (ioctl (sv->fd, SECCOMP_IOCTL_NOTIF_RECV, req) == 0)
    return true;
  /* ENOENT: the target went away before we took its notification (or the
   * listener hung up: epoll says so); EINTR: a kick */
  if (errno != ENOENT && errno != EINTR)
    drop_listener (e, sv, errno);
  return false;
}

static void
handle (fb_engine *e, svc *sv)
{
  struct seccomp_notif req;
  if (recv_one (e, sv, &req))
    process (e, sv, &req);
}

/* Answers every delay whose deadline has passed (all of them when flush),
 * earliest first. */
static void
answer_due (fb_engine *e, bool flush)
{
  if (!e->n_pend)
    return;
  int64_t now = fb_now_ns ();
  while (e->n_pend && (flush || e->heap[0].deadline <= now))
    {
      pending top = e->heap[0], last = e->heap[--e->n_pend];
      size_t i = 0;
      for (size_t c; (c = 2 * i + 1) < e->n_pend; i = c)
        {
          if (c + 1 < e->n_pend && pend_before (&e->heap[c + 1], &e->heap[c]))
            c++;
          if (!pend_before (&e->heap[c], &last))
            break;
          e->heap[i] = e->heap[c];
        }
      if (e->n_pend)
        e->heap[i] = last;
      respond (e, top.svc, top.id, 0, true);
    }
}

/* Takes what writers left for the loop: released calls (all held ones when
 * everything goes) and the garbage, which it frees once the events naming
 * its rules are out. */
static void
on_wake (fb_engine *e, bool all)
{
  uint64_t seen = __atomic_load_n (&e->pokes, __ATOMIC_SEQ_CST), v;
  uint64_t kicked = __atomic_load_n (&e->kicks, __ATOMIC_SEQ_CST);
  if (read (e->wakefd, &v, sizeof v) < 0 && errno != EAGAIN)
    abort ();
  pthread_mutex_lock (&e->lock);
  e->solo = solo_locked (e);
  bool draining = __atomic_load_n (&e->draining, __ATOMIC_ACQUIRE);
  held *out = NULL;
  size_t n_out = 0, w = 0;
  for (size_t i = 0; i < e->n_held; i++)
    if (e->held[i].release || all || draining)
      {
        out = fb_xreallocarray (out, n_out + 1, sizeof *out);
        out[n_out++] = e->held[i];
      }
    else
      e->held[w++] = e->held[i];
  e->n_held = w;
  snapshot **snaps = e->old_snaps;
  rule_state **rules = e->old_rules;
  size_t n_snaps = e->n_old_snaps, n_rules = e->n_old_rules;
  e->old_snaps = NULL;
  e->old_rules = NULL;
  e->n_old_snaps = e->cap_old_snaps = e->n_old_rules = e->cap_old_rules = 0;
  pthread_mutex_unlock (&e->lock);
  if (draining)
    answer_due (e, true);
  for (size_t i = 0; i < n_out; i++)
    {
      held *h = &out[i];
      if (h->svc->fd >= 0)
        {
          fb_engine_event ev = {
            .service = h->svc->name,
            .pid = h->pid,
            .syscall = h->syscall,
            .nr = -1,
            .path = h->path,
            .decision = h->err ? FB_ACT_DENY : FB_ACT_ALLOW,
            .faulted = h->err != 0,
            .released = true,
            .err = h->err,
            .rule = &h->rs->rule,
            .rule_id = h->rs->id,
          };
          if (!all)
            emit (e, &ev);
          respond (e, h->svc, h->id, h->err, h->err == 0);
        }
      free (h->path);
    }
  free (out);
  free_garbage (snaps, n_snaps, rules, n_rules);
  free (snaps);
  free (rules);
  __atomic_store_n (&e->seen, seen, __ATOMIC_SEQ_CST);
  __atomic_store_n (&e->kicked, kicked, __ATOMIC_SEQ_CST);
}

/* Waits in the only live service's RECV. False when it got nothing: a
 * kick, or an error that epoll will explain (a hang-up). */
static bool
recv_solo (fb_engine *e, struct seccomp_notif *req)
{
  __atomic_store_n (&e->in_recv, true, __ATOMIC_SEQ_CST);
  bool got = false;
  if (__atomic_load_n (&e->kicks, __ATOMIC_SEQ_CST) != __atomic_load_n (&e->kicked, __ATOMIC_SEQ_CST)
      || __atomic_load_n (&e->stopping, __ATOMIC_SEQ_CST))
    errno = EINTR; /* a kick came after all: see to it first */
  else
    got = recv_one (e, e->solo, req);
  __atomic_store_n (&e->in_recv, false, __ATOMIC_SEQ_CST);
  return got;
}

static void *
loop (void *arg)
{
  fb_engine *e = arg;
  sigset_t wake;
  sigemptyset (&wake);
  sigaddset (&wake, WAKE_SIGNAL);
  pthread_sigmask (SIG_UNBLOCK, &wake, NULL);
  pthread_mutex_lock (&e->lock);
  e->solo = solo_locked (e);
  pthread_mutex_unlock (&e->lock);
  bool use_epoll = true; /* the first pass sees hang-ups and pokes from before */
  while (!__atomic_load_n (&e->stopping, __ATOMIC_ACQUIRE))
    {
      /* a kick may be counted before its poke is */
      if (__atomic_load_n (&e->pokes, __ATOMIC_SEQ_CST) != __atomic_load_n (&e->seen, __ATOMIC_SEQ_CST)
          || __atomic_load_n (&e->kicks, __ATOMIC_SEQ_CST) != __atomic_load_n (&e->kicked, __ATOMIC_SEQ_CST))
        on_wake (e, false);
      if (!use_epoll && e->solo && !e->n_pend && !e->n_held)
        {
          struct seccomp_notif req;
          if (recv_solo (e, &req))
            {
              process (e, e->solo, &req);
              continue;
            }
          if (errno == EINTR)
            continue;
        }
      int timeout = -1;
      if (e->n_pend)
        {
          int64_t ms = (e->heap[0].deadline - fb_now_ns () + FB_NS_PER_MS - 1) / FB_NS_PER_MS;
          timeout = ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : (int) ms;
        }
      struct epoll_event evs[16];
      int n = epoll_wait (e->epfd, evs, 16, timeout);
      for (int i = 0; i < n; i++)
        {
          svc *sv = evs[i].data.ptr;
          if (!sv)
            on_wake (e, false);
          else if (evs[i].events & EPOLLIN)
            handle (e, sv);
          else if (evs[i].events & (EPOLLHUP | EPOLLERR))
            drop_listener (e, sv, 0);
        }
      answer_due (e, false);
      use_epoll = false;
    }
  answer_due (e, true);
  on_wake (e, true);
  return NULL;
}

int
fb_engine_check (fb_engine *e, fb_error *err)
{
  pthread_mutex_lock (&e->lock);
  int r = 0;
  for (size_t i = 0; i < e->n_svcs && !r; i++)
    if (e->svcs[i]->failed)
      r = fb_error_setsys (err, e->svcs[i]->failed,
                           "engine: the seccomp listener of service %s failed, its intercepted syscalls went unanswered",
                           e->svcs[i]->name);
  pthread_mutex_unlock (&e->lock);
  return r;
}

int
fb_engine_start (fb_engine *e, fb_error *err)
{
  static pthread_once_t handler_once = PTHREAD_ONCE_INIT;
  pthread_once (&handler_once, wake_handler_install);
  pthread_mutex_lock (&e->lock);
  int r = pthread_create (&e->thread, NULL, loop, e);
  e->running = r == 0;
  pthread_mutex_unlock (&e->lock);
  if (r != 0)
    return fb_error_setsys (err, r, "engine: cannot start its thread");
  return 0;
}

bool
fb_engine_idle (fb_engine *e)
{
  pthread_mutex_lock (&e->lock);
  bool idle = true;
  for (size_t i = 0; i < e->n_svcs; i++)
    idle &= e->svcs[i]->fd < 0;
  pthread_mutex_unlock (&e->lock);
  return idle;
}

void
fb_engine_free (fb_engine *e)
{
  if (!e)
    return;
  if (e->running)
    {
      __atomic_store_n (&e->stopping, true, __ATOMIC_SEQ_CST);
      kick (e);
      pthread_join (e->thread, NULL);
      e->running = false;
    }
  for (size_t i = 0; i < e->n_svcs; i++)
    {
      if (e->svcs[i]->fd >= 0)
        close (e->svcs[i]->fd);
      free (e->svcs[i]->snap);
      free (e->svcs[i]->name);
      free (e->svcs[i]->root);
      free (e->svcs[i]);
    }
  free (e->svcs);
  free_garbage (e->old_snaps, e->n_old_snaps, e->old_rules, e->n_old_rules);
  free (e->old_snaps);
  free (e->old_rules);
  for (size_t i = 0; i < e->n_rules; i++)
    rule_state_free (e->rules[i]);
  free (e->rules);
  free (e->held);
  free (e->heap);
  if (e->epfd >= 0)
    close (e->epfd);
  if (e->wakefd >= 0)
    close (e->wakefd);
  pthread_mutex_destroy (&e->lock);
  free (e);
}
