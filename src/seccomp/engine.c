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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

typedef struct svc {
  char *name;
  char *root;      /* the target's root as we see it, "" when it is ours or unknown */
  pid_t pid;
  int fd;          /* listener; -1 once it hung up or failed */
  int failed;      /* errno of a receive or answer that failed, 0: none */
} svc;

typedef struct rule_entry {
  fb_rule rule;
  char *service;
  uint64_t id, scope, matched, fired;
} rule_entry;

typedef struct pending {
  int64_t deadline;
  uint64_t order;  /* ties at one deadline are answered in arrival order */
  svc *svc;
  uint64_t id;
} pending;

struct fb_engine {
  uint64_t seed;
  fb_engine_event_cb cb;
  void *ctx;
  pthread_mutex_t lock;  /* rules, services */
  svc **svcs;            /* each svc stays put: the loop holds pointers to them */
  size_t n_svcs, cap_svcs;
  rule_entry *rules;
  size_t n_rules, cap_rules;
  uint64_t next_rule_id;
  pending *pend;
  size_t n_pend, cap_pend;
  uint64_t next_order, seq;
  int epfd, wakefd;
  pthread_t thread;
  bool running;
  bool stopping; /* set by fb_engine_free, read by the loop: __atomic only */
  struct {
    char *name;
    unsigned char kind;   /* how its path is found; see syscall_kind */
  } sys[1024];            /* by syscall number, filled on first sight */
};

int
fb_engine_new (uint64_t seed, fb_engine_event_cb cb, void *ctx, fb_engine **out, fb_error *err)
{
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
  FB_GROW (e->svcs, e->cap_svcs, e->n_svcs + 1);
  e->svcs[e->n_svcs++] = sv;
  pthread_mutex_unlock (&e->lock);
  /* Wake the target on the CPU that answers it (Linux 6.6+); older kernels
   * just keep the default wake-up. */
  ioctl (listener_fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, 0);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = sv };
  if (epoll_ctl (e->epfd, EPOLL_CTL_ADD, listener_fd, &ev) < 0)
    return fb_error_setsys (err, errno, "engine: cannot watch the listener of %s", name);
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
  pthread_mutex_lock (&e->lock);
  FB_GROW (e->rules, e->cap_rules, e->n_rules + 1);
  rule_entry *re = &e->rules[e->n_rules++];
  memset (re, 0, sizeof *re);
  copy_rule (&re->rule, rule);
  re->service = fb_xstrdup (service);
  re->scope = scope;
  re->id = e->next_rule_id++;
  if (id)
    *id = re->id;
  pthread_mutex_unlock (&e->lock);
  return 0;
}

void
fb_engine_remove_scope (fb_engine *e, uint64_t scope)
{
  pthread_mutex_lock (&e->lock);
  size_t w = 0;
  for (size_t i = 0; i < e->n_rules; i++)
    if (e->rules[i].scope == scope)
      {
        fb_rule_clear (&e->rules[i].rule);
        free (e->rules[i].service);
      }
    else
      e->rules[w++] = e->rules[i];
  e->n_rules = w;
  pthread_mutex_unlock (&e->lock);
}

void
fb_engine_rule_stats (fb_engine *e, uint64_t id, uint64_t *matched, uint64_t *fired)
{
  pthread_mutex_lock (&e->lock);
  *matched = *fired = 0;
  for (size_t i = 0; i < e->n_rules; i++)
    if (e->rules[i].id == id)
      {
        *matched = e->rules[i].matched;
        *fired = e->rules[i].fired;
      }
  pthread_mutex_unlock (&e->lock);
}

/* Reads a NUL-terminated string from the target, page by page, since a read
 * across an unmapped page fails as a whole. */
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

enum { K_OTHER = 1, K_PATH, K_PATH_AT, K_FD, K_CONNECT, K_SENDTO };

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

static const char *
syscall_lookup (fb_engine *e, const struct seccomp_data *d, unsigned char *kind)
{
  if (d->nr < 0 || d->nr >= 1024)
    {
      *kind = K_OTHER;
      return "?";
    }
  if (!e->sys[d->nr].name)
    {
      char *n = seccomp_syscall_resolve_num_arch (d->arch, d->nr);
      e->sys[d->nr].name = n ? n : fb_xasprintf ("syscall_%d", d->nr);
      e->sys[d->nr].kind = syscall_kind (e->sys[d->nr].name);
    }
  *kind = e->sys[d->nr].kind;
  return e->sys[d->nr].name;
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
rule_has_syscall (const fb_rule *r, const char *name)
{
  for (char **s = r->syscalls; *s; s++)
    if (!strcmp (*s, name))
      return true;
  return false;
}

/* Decides under the lock; newest rules first, so an inner scope shadows an
 * outer one. The first rule that matches decides, fired or not. */
static rule_entry *
decide (fb_engine *e, const char *service, const char *name, const char *path, bool is_addr, bool *fire)
{
  for (size_t i = e->n_rules; i-- > 0;)
    {
      rule_entry *re = &e->rules[i];
      const fb_rule *r = &re->rule;
      if (strcmp (re->service, service) != 0 || !rule_has_syscall (r, name))
        continue;
      if (r->path_glob && (is_addr || !fb_path_glob_match (r->path_glob, path)))
        continue;
      if (!r->path_glob && !is_addr && fb_path_is_system (path))
        continue;
      if (r->dest && (!is_addr || !dest_matches (r->dest, path)))
        continue;
      uint64_t occ = ++re->matched;
      bool f = true;
      if (r->nth)
        f = occ == r->nth;
      if (r->after)
        f = f && occ > r->after;
      if (r->max_fires)
        f = f && re->fired < r->max_fires;
      if (f && r->probability < 1.0)
        f = fb_hash_chance (fb_hash_decision (e->seed, service, re->id, occ), r->probability);
      if (f && r->action != FB_ACT_ALLOW)
        re->fired++;
      *fire = f && r->action != FB_ACT_ALLOW;
      return re;
    }
  *fire = false;
  return NULL;
}

/* A listener we cannot use any more: stop watching it and remember why,
 * for fb_engine_check. Closing it fails the service's routed syscalls
 * (ENOSYS) instead of leaving them blocked. */
static void
listener_failed (fb_engine *e, svc *sv, int err)
{
  epoll_ctl (e->epfd, EPOLL_CTL_DEL, sv->fd, NULL);
  pthread_mutex_lock (&e->lock);
  close (sv->fd);
  sv->fd = -1;
  sv->failed = err;
  pthread_mutex_unlock (&e->lock);
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
  if (ioctl (sv->fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
    listener_failed (e, sv, errno);
}

static void
handle (fb_engine *e, svc *sv)
{
  struct seccomp_notif req;
  memset (&req, 0, sizeof req);
  int fd = sv->fd;
  if (ioctl (fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
    {
      /* ENOENT: the target went away before we took its notification */
      if (errno != ENOENT && errno != EINTR)
        listener_failed (e, sv, errno);
      return;
    }
  unsigned char kind;
  const char *name = syscall_lookup (e, &req.data, &kind);
  char path[PATH_MAX] = "";
  bool is_addr = kind == K_CONNECT || kind == K_SENDTO;
  const __u64 *a = req.data.args;
  if (kind == K_PATH || kind == K_PATH_AT)
    {
      bool dirfd = kind == K_PATH_AT;
      char raw[PATH_MAX] = "";
      if (read_string (req.pid, dirfd ? a[1] : a[0], raw, sizeof raw))
        {
          if (raw[0] == '/')
            snprintf (path, sizeof path, "%s", raw);
          else
            {
              char base[PATH_MAX];
              fd_path (sv, req.pid, dirfd ? (long) (int) a[0] : AT_FDCWD, base, sizeof base);
              snprintf (path, sizeof path, "%s/%s", base, raw);
            }
        }
    }
  else if (kind == K_CONNECT)
    sockaddr_str (req.pid, a[1], a[2], path, sizeof path);
  else if (kind == K_SENDTO && a[4])
    sockaddr_str (req.pid, a[4], a[5], path, sizeof path);
  else if (kind == K_SENDTO)
    {
      /* sendto on a connected socket names no address: judge it by its fd */
      is_addr = false;
      fd_path (sv, req.pid, (long) (int) a[0], path, sizeof path);
    }
  else if (kind == K_FD)
    fd_path (sv, req.pid, (long) (int) a[0], path, sizeof path);
  /* what we read is only trustworthy if the target is still in that syscall */
  if (ioctl (fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) < 0)
    return;

  pthread_mutex_lock (&e->lock);
  bool fire = false;
  rule_entry *re = decide (e, sv->name, name, path, is_addr, &fire);
  fb_engine_event ev = {
    .seq = ++e->seq,
    .time_ns = fb_now_ns (),
    .service = sv->name,
    .pid = (pid_t) req.pid,
    .syscall = name,
    .path = path[0] ? path : NULL,
    .decision = fire ? re->rule.action : FB_ACT_ALLOW,
    .faulted = fire,
    .err = fire && re->rule.action == FB_ACT_DENY ? re->rule.err : 0,
    .delay_ns = fire && re->rule.action == FB_ACT_DELAY ? re->rule.delay_ns : 0,
    .rule = re ? &re->rule : NULL,
    .rule_id = re ? re->id : 0,
  };
  if (e->cb)
    e->cb (e->ctx, &ev);
  fb_action act = ev.decision;
  int err = ev.err;
  int64_t delay = ev.delay_ns;
  pthread_mutex_unlock (&e->lock);

  if (act == FB_ACT_DENY)
    respond (e, sv, req.id, err, false);
  else if (act == FB_ACT_DELAY && !__atomic_load_n (&e->stopping, __ATOMIC_ACQUIRE))
    {
      FB_GROW (e->pend, e->cap_pend, e->n_pend + 1);
      e->pend[e->n_pend++] = (pending){ fb_now_ns () + delay, e->next_order++, sv, req.id };
    }
  else
    respond (e, sv, req.id, 0, true);
}

static int
cmp_pending (const void *x, const void *y)
{
  const pending *a = x, *b = y;
  if (a->deadline != b->deadline)
    return a->deadline < b->deadline ? -1 : 1;
  return a->order < b->order ? -1 : a->order > b->order;
}

/* Answers every delay whose deadline has passed (all of them when flush). */
static void
release_due (fb_engine *e, bool flush)
{
  if (!e->n_pend)
    return;
  qsort (e->pend, e->n_pend, sizeof *e->pend, cmp_pending);
  int64_t now = fb_now_ns ();
  size_t i = 0;
  for (; i < e->n_pend && (flush || e->pend[i].deadline <= now); i++)
    if (e->pend[i].svc->fd >= 0)
      respond (e, e->pend[i].svc, e->pend[i].id, 0, true);
  memmove (e->pend, e->pend + i, (e->n_pend - i) * sizeof *e->pend);
  e->n_pend -= i;
}

static void *
loop (void *arg)
{
  fb_engine *e = arg;
  while (!__atomic_load_n (&e->stopping, __ATOMIC_ACQUIRE))
    {
      int timeout = -1;
      if (e->n_pend)
        {
          int64_t first = e->pend[0].deadline;
          for (size_t i = 1; i < e->n_pend; i++)
            if (e->pend[i].deadline < first)
              first = e->pend[i].deadline;
          int64_t ms = (first - fb_now_ns () + FB_NS_PER_MS - 1) / FB_NS_PER_MS;
          timeout = ms < 0 ? 0 : (int) ms;
        }
      struct epoll_event evs[16];
      int n = epoll_wait (e->epfd, evs, 16, timeout);
      for (int i = 0; i < n; i++)
        {
          svc *sv = evs[i].data.ptr;
          if (!sv)
            continue;
          if (evs[i].events & EPOLLIN)
            handle (e, sv);
          else if (evs[i].events & (EPOLLHUP | EPOLLERR))
            {
              /* supervision of a service ends only when its listener hangs up */
              epoll_ctl (e->epfd, EPOLL_CTL_DEL, sv->fd, NULL);
              pthread_mutex_lock (&e->lock);
              close (sv->fd);
              sv->fd = -1;
              pthread_mutex_unlock (&e->lock);
            }
        }
      release_due (e, false);
    }
  release_due (e, true);
  return NULL;
}

int
fb_engine_start (fb_engine *e, fb_error *err)
{
  int r = pthread_create (&e->thread, NULL, loop, e);
  if (r != 0)
    return fb_error_setsys (err, r, "engine: cannot start its thread");
  e->running = true;
  return 0;
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
      __atomic_store_n (&e->stopping, true, __ATOMIC_RELEASE);
      uint64_t one = 1;
      if (write (e->wakefd, &one, sizeof one) < 0)
        abort ();
      pthread_join (e->thread, NULL);
    }
  for (size_t i = 0; i < e->n_svcs; i++)
    {
      if (e->svcs[i]->fd >= 0)
        close (e->svcs[i]->fd);
      free (e->svcs[i]->name);
      free (e->svcs[i]->root);
      free (e->svcs[i]);
    }
  free (e->svcs);
  for (size_t i = 0; i < e->n_rules; i++)
    {
      fb_rule_clear (&e->rules[i].rule);
      free (e->rules[i].service);
    }
  free (e->rules);
  free (e->pend);
  for (size_t i = 0; i < 1024; i++)
    free (e->sys[i].name);
  if (e->epfd >= 0)
    close (e->epfd);
  if (e->wakefd >= 0)
    close (e->wakefd);
  pthread_mutex_destroy (&e->lock);
  free (e);
}
