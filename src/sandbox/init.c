#include "sandbox/init.h"
#include "util/kernel_compat.h"
#include "net/link.h"
#include "util/alloc.h"
#include "util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int ctl_fd = -1;

static _Noreturn void
die (const char *fmt, ...)
{
  char m[400];
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (m, sizeof m, fmt, ap);
  va_end (ap);
  char buf[401];
  buf[0] = 'E';
  memcpy (buf + 1, m, (size_t) (n < 399 ? n : 399) + 1);
  if (send (ctl_fd, buf, strlen (buf), MSG_NOSIGNAL) < 0)
    _exit (125);
  _exit (125);
}

static void
send_type (char t)
{
  if (send (ctl_fd, &t, 1, MSG_NOSIGNAL) < 0)
    _exit (125);
}

static void
wait_type (char t)
{
  char buf[512];
  ssize_t n;
  while ((n = recv (ctl_fd, buf, sizeof buf, 0)) < 0 && errno == EINTR)
    ;
  if (n <= 0 || buf[0] != t)
    _exit (125); /* the runner is gone */
}

/* 'G', with the write ends of the pipes of the captured streams. */
static void
wait_go (int *fds, size_t *n)
{
  char c;
  ssize_t r = fb_init_recv_fds (ctl_fd, &c, 1, fds, n);
  if (r <= 0 || c != 'G')
    _exit (125); /* the runner is gone */
}

static void
xmount (const char *src, const char *dst, const char *type, unsigned long flags, const char *data)
{
  if (mount (src, dst, type, flags, data) < 0)
    die ("cannot mount %s on %s: %s", src ? src : type, dst, strerror (errno));
}

static void
bind_ro (const char *src, const char *dst)
{
  xmount (src, dst, NULL, MS_BIND | MS_REC, NULL);
  xmount (NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID, NULL);
}

/* Writable host storage: nodev, so that no device node the service makes
 * there (it keeps CAP_MKNOD) opens the host's disks. */
static void
bind_rw (const char *src, const char *dst)
{
  xmount (src, dst, NULL, MS_BIND | MS_REC, NULL);
  xmount (NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV, NULL);
}

/* Binds a host directory read-only at the same path inside root; symlinks
 * (merged /usr: /bin -> usr/bin) are recreated as links. */
static void
bind_host_path (const char *root, const char *path, bool required)
{
  struct stat st;
  char dst[4096];
  snprintf (dst, sizeof dst, "%s%s", root, path);
  if (lstat (path, &st) < 0)
    {
      if (required)
        die ("cannot bind %s: %s", path, strerror (errno));
      return;
    }
  if (S_ISLNK (st.st_mode))
    {
      char target[4096];
      ssize_t n = readlink (path, target, sizeof target - 1);
      if (n < 0)
        die ("readlink %s: %s", path, strerror (errno));
      target[n] = '\0';
      if (symlink (target, dst) < 0 && errno != EEXIST)
        die ("symlink %s: %s", dst, strerror (errno));
      return;
    }
  if (fb_mkdir_p (dst, 0755, NULL) < 0)
    die ("mkdir %s: %s", dst, strerror (errno));
  bind_ro (path, dst);
}

static void
tmpfs_at (const char *root, const char *path, const char *mode)
{
  char dst[4096], opts[64];
  snprintf (dst, sizeof dst, "%s%s", root, path);
  snprintf (opts, sizeof opts, "mode=%s", mode);
  if (fb_mkdir_p (dst, 0755, NULL) < 0)
    die ("mkdir %s: %s", dst, strerror (errno));
  xmount ("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, opts);
}

/* Binds the cell's directory <workdir>/<service>.<suffix> (made with mode)
 * at path inside root. */
static void
cell_dir_at (const fb_init_args *a, const char *root, const char *suffix, const char *path, mode_t mode)
{
  char src[4096], dst[4096];
  snprintf (src, sizeof src, "%s/%s.%s", a->workdir, a->plan->name, suffix);
  snprintf (dst, sizeof dst, "%s%s", root, path);
  if (fb_mkdir_p (src, 0755, NULL) < 0 || chmod (src, mode) < 0 || fb_mkdir_p (dst, 0755, NULL) < 0)
    die ("mkdir %s: %s", src, strerror (errno));
  bind_rw (src, dst);
}

/* True when some mount we can see propagates to other namespaces. */
static bool
any_shared_mount (void)
{
  FILE *f = fopen ("/proc/self/mountinfo", "re");
  char line[4096];
  bool shared = f == NULL;
  while (f && fgets (line, sizeof line, f))
    shared |= strstr (line, " shared:") != NULL;
  if (f)
    fclose (f);
  return shared;
}

/* Makes our mounts private. Under chroot (a fresh-check root, some CI
 * containers) "/" is no mount point and cannot be changed; that is only
 * safe when nothing visible is shared. Returns true when chrooted. */
static bool
make_mounts_private (void)
{
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
    return false;
  if (errno != EINVAL)
    die ("cannot make mounts private: %s", strerror (errno));
  if (any_shared_mount ())
    die ("cannot make mounts private: / is not a mount point (chroot?) and some mounts are shared");
  return true;
}

static bool chrooted;

/* A file or directory to mount over at root/path (made in the root's own
 * filesystem: the tmpfs, or the overlay's upper layer). */
static void
mountpoint_at (const char *root, const char *path, bool dir, char *dst, size_t len)
{
  snprintf (dst, len, "%s%s", root, path);
  char parent[4096];
  snprintf (parent, sizeof parent, "%s", dst);
  char *slash = strrchr (parent, '/');
  if (slash)
    *slash = '\0';
  if (fb_mkdir_p (dir ? dst : parent, 0755, NULL) < 0)
    die ("cannot make the mount point %s: %s", path, strerror (errno));
  int fd = dir ? -1 : open (dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (fd >= 0)
    close (fd);
}

/* flags: extra per-mount flags (MS_RDONLY for files the lab shares) */
static void
bind_file (const char *src, const char *root, const char *path, unsigned long flags)
{
  char dst[4096];
  mountpoint_at (root, path, false, dst, sizeof dst);
  xmount (src, dst, NULL, MS_BIND, NULL);
  if (flags)
    xmount (NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | flags, NULL);
}

/* service(volumes=): a host path at another path inside the service. */
static void
bind_volume (const char *root, const fb_bind *b)
{
  struct stat st;
  if (stat (b->src, &st) < 0)
    die ("cannot bind %s: %s", b->src, strerror (errno));
  char dst[4096];
  mountpoint_at (root, b->dst, S_ISDIR (st.st_mode), dst, sizeof dst);
  if (b->writable)
    bind_rw (b->src, dst);
  else
    bind_ro (b->src, dst);
}

/* The default root: a tmpfs with the host's system directories read-only
 * and fresh writable state directories for packaged daemons. */
static void
host_root (const char *root)
{
  xmount ("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755");
  static const char *const host[] = { "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc" };
  for (size_t i = 0; i < sizeof host / sizeof host[0]; i++)
    bind_host_path (root, host[i], strcmp (host[i], "/usr") == 0);
  tmpfs_at (root, "/run", "755");
  static const char *const var[] = { "/var/tmp", "/var/lib", "/var/log", "/var/cache" };
  for (size_t i = 0; i < sizeof var / sizeof var[0]; i++)
    tmpfs_at (root, var[i], strcmp (var[i], "/var/tmp") == 0 ? "1777" : "755");
}

/* The overlay's lowerdir=: rootfs, or an image's layers topmost first.
 * Layers that share a directory (the image cache) are named relative to
 * it, init moving there first: the whole option must fit in a page. */
static void
lower_option (const fb_service_plan *p, char *out, size_t len)
{
  if (!p->lowers)
    {
      if (strpbrk (p->rootfs, ",:\\"))
        die ("rootfs %s: overlayfs cannot take a directory whose path has ',', ':' or '\\'", p->rootfs);
      snprintf (out, len, "%s", p->rootfs);
      return;
    }
  size_t n = 0, off = 0;
  while (p->lowers[n])
    n++;
  const char *slash = n ? strrchr (p->lowers[0], '/') : NULL;
  size_t plen = slash ? (size_t) (slash - p->lowers[0]) : 0;
  bool common = plen > 0;
  for (size_t i = 0; i < n && common; i++)
    common = !strncmp (p->lowers[i], p->lowers[0], plen + 1) && !strchr (p->lowers[i] + plen + 1, '/');
  char parent[4096];
  snprintf (parent, sizeof parent, "%.*s", (int) plen, p->lowers[0]);
  if (common && chdir (parent) < 0)
    die ("image layers %s: %s", parent, strerror (errno));
  for (size_t i = n; i-- > 0;)
    {
      const char *l = common ? p->lowers[i] + plen + 1 : p->lowers[i];
      if (strpbrk (l, ",:\\"))
        die ("image layer %s: overlayfs cannot take a path with ',', ':' or '\\'", l);
      off += (size_t) snprintf (out + off, len - off, "%s%s", off ? ":" : "", l);
      if (off >= len)
        die ("the image's %zu layers do not fit in one overlay mount", n);
    }
}

/* Inside a user namespace (rootless) the overlay keeps its attributes in
 * user.overlay.*: trusted.* ones are the host root's alone. */
static bool
in_user_ns (void)
{
  FILE *f = fopen ("/proc/self/uid_map", "re");
  unsigned long in = 0, out = 0, n = 0;
  bool full = f && fscanf (f, "%lu %lu %lu", &in, &out, &n) == 3 && in == 0 && out == 0 && n == 4294967295UL;
  if (f)
    fclose (f);
  return !full;
}

/* service(rootfs=) or image=: the directory (the layers) as the lower
 * layer of an overlay whose upper layer lives in the lab's work
 * directory, so writes go there and the lower layers never change. */
static void
overlay_root (const fb_init_args *a, const char *root)
{
  char upper[4096], work[4096], lower[3072], opts[12400];
  snprintf (upper, sizeof upper, "%s/%s.upper", a->workdir, a->plan->name);
  snprintf (work, sizeof work, "%s/%s.overlay-work", a->workdir, a->plan->name);
  lower_option (a->plan, lower, sizeof lower);
  if (fb_mkdir_p (upper, 0755, NULL) < 0 || fb_mkdir_p (work, 0755, NULL) < 0)
    die ("cannot make the overlay directories in %s: %s", a->workdir, strerror (errno));
  int n = snprintf (opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s%s", lower, upper, work,
                    in_user_ns () ? ",userxattr" : "");
  if (n >= 4096) /* the kernel copies one page of mount options */
    die ("the overlay's options for %s are longer than a page (%d bytes)", a->plan->name, n);
  xmount ("overlay", root, "overlay", MS_NOSUID | MS_NODEV, opts);
  if (a->plan->cwd)
    {
      char cwd[8200];
      snprintf (cwd, sizeof cwd, "%s%s", root, a->plan->cwd);
      if (fb_mkdir_p (cwd, 0755, NULL) < 0)
        die ("cannot make the working directory %s: %s", a->plan->cwd, strerror (errno));
    }
}

/* service(user=) or an image's User: what a daemon writes is its user's: the work
 * directory and, in our default root, the state directories made for it. */
static void
own_state_dirs (const fb_init_args *a, const char *root, const char *work)
{
  uid_t u = a->plan->uid;
  gid_t g = a->plan->gid;
  if (chown (work, u, g) < 0)
    die ("cannot give %s to uid %u: %s", work, (unsigned) u, strerror (errno));
  static const char *const state[] = { "/run", "/var/lib", "/var/log", "/var/cache" };
  for (size_t i = 0; i < sizeof state / sizeof state[0] && !a->plan->rootfs && !a->plan->lowers; i++)
    {
      char d[4200];
      snprintf (d, sizeof d, "%s%s", root, state[i]);
      if (chown (d, u, g) < 0)
        die ("cannot give %s to uid %u: %s", state[i], (unsigned) u, strerror (errno));
    }
}

static void
make_root (const fb_init_args *a, char *root, size_t rootlen)
{
  snprintf (root, rootlen, "%s/%s.root", a->workdir, a->plan->name);
  if (fb_mkdir_p (root, 0755, NULL) < 0)
    die ("mkdir %s: %s", root, strerror (errno));
  chrooted = make_mounts_private ();
  if (a->plan->rootfs || a->plan->lowers)
    overlay_root (a, root);
  else
    host_root (root);
  char f[4096];
  /* one copy for the whole lab: read-only, so a service cannot rename another */
  static const char *const etc[] = { "hosts", "resolv.conf" };
  for (size_t i = 0; i < sizeof etc / sizeof etc[0]; i++)
    {
      char src[4096], path[64];
      snprintf (src, sizeof src, "%s/%s", a->workdir, etc[i]);
      snprintf (path, sizeof path, "/etc/%s", etc[i]);
      bind_file (src, root, path, MS_RDONLY);
    }

  snprintf (f, sizeof f, "%s/proc", root);
  mkdir (f, 0555);
  xmount ("proc", f, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  /* Host-wide knobs uid 0 could turn without any capability we keep
   * (core_pattern, sysrq-trigger): read-only, as container runtimes do. */
  static const char *const proc_ro[] = { "/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs" };
  for (size_t i = 0; i < sizeof proc_ro / sizeof proc_ro[0]; i++)
    {
      char p[4200];
      snprintf (p, sizeof p, "%s%s", root, proc_ro[i]);
      if (access (p, F_OK) == 0)
        bind_ro (p, p);
    }
  tmpfs_at (root, "/dev", "755");
  static const char *const devs[] = { "null", "zero", "full", "random", "urandom", "tty" };
  for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++)
    {
      char src[64], dev[80];
      snprintf (src, sizeof src, "/dev/%s", devs[i]);
      snprintf (dev, sizeof dev, "/dev/%s", devs[i]);
      bind_file (src, root, dev, 0);
    }
  snprintf (f, sizeof f, "%s/dev/pts", root);
  mkdir (f, 0755);
  xmount ("devpts", f, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620");
  snprintf (f, sizeof f, "%s/dev/ptmx", root);
  symlink ("pts/ptmx", f);
  snprintf (f, sizeof f, "%s/dev/fd", root);
  symlink ("/proc/self/fd", f);
  tmpfs_at (root, "/dev/shm", "1777");
  /* the per-cell writable work directory, kept with --keep-workdir, and
   * /tmp: both outlive a restart of the service */
  char work[4096];
  cell_dir_at (a, root, "tmp", "/tmp", 01777);
  cell_dir_at (a, root, "work", "/work", 0755);
  snprintf (work, sizeof work, "%s/%s.work", a->workdir, a->plan->name);
  if (a->plan->set_user)
    own_state_dirs (a, root, work);
  /* last, so that a binary under /tmp or /work is not hidden by our mounts */
  for (const char *const *b = a->plan->ro_binds; b && *b; b++)
    if (strcmp (*b, "/") != 0) /* the host root itself is never bound */
      bind_host_path (root, *b, true);
  for (size_t i = 0; i < a->plan->n_binds; i++)
    bind_volume (root, &a->plan->binds[i]);
}

/* The tmpfs root is made read-only once everything is mounted on it; an
 * overlay root stays writable (its writes land in the upper layer). */
static void
enter_root (const char *root, bool writable)
{
  if (chrooted)
    {
      /* pivot_root needs "/" to be a mount point; move the new root over it */
      if (chdir (root) < 0 || mount (root, "/", NULL, MS_MOVE, NULL) < 0 || chroot (".") < 0 || chdir ("/") < 0)
        die ("cannot enter the service root %s: %s", root, strerror (errno));
    }
  else
    {
      char old[4200];
      snprintf (old, sizeof old, "%s/.oldroot", root);
      mkdir (old, 0700);
      if (syscall (SYS_pivot_root, root, old) < 0)
        die ("pivot_root %s: %s", root, strerror (errno));
      if (chdir ("/") < 0 || umount2 ("/.oldroot", MNT_DETACH) < 0)
        die ("cannot detach the host root: %s", strerror (errno));
      rmdir ("/.oldroot");
    }
  if (!writable)
    xmount (NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
}

/* The default set with the service's caps= added and drop_caps= taken
 * away, in the bounding, permitted, effective and inheritable sets. */
static void
set_caps (const fb_service_plan *p)
{
  uint64_t keep = (fb_cap_default_mask () | p->caps_add) & ~p->caps_drop;
  cap_value_t kept[64];
  int n = 0;
  for (cap_value_t c = 0; CAP_IS_SUPPORTED (c); c++)
    if (c < 64 && (keep >> c & 1))
      kept[n++] = c;
    else if (cap_drop_bound (c) < 0)
      die ("cannot drop capability %d: %s", (int) c, strerror (errno));
  cap_t caps = cap_init ();
  cap_set_flag (caps, CAP_EFFECTIVE, n, kept, CAP_SET);
  cap_set_flag (caps, CAP_PERMITTED, n, kept, CAP_SET);
  cap_set_flag (caps, CAP_INHERITABLE, n, kept, CAP_SET);
  if (cap_set_proc (caps) < 0)
    die ("cannot set capabilities: %s", strerror (errno));
  cap_free (caps);
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    die ("no_new_privs: %s", strerror (errno));
}

/* --verbose: what the service appends to its log is copied to our stderr
 * (the runner's) as "[name] line", one write per line so that services
 * writing at once do not interleave within a line. */
typedef struct {
  const char *name;
  int log, watch;    /* -1: not echoing */
  char buf[4096];
  size_t len;
} echo;

static void
echo_open (echo *e, const fb_init_args *a)
{
  *e = (echo){ .name = a->plan->name, .log = -1, .watch = -1 };
  if (!a->plan->echo_output || a->plan->inherit_stdio)
    return;
  e->log = open (a->log_path, O_RDONLY | O_CLOEXEC);
  e->watch = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);
  if (e->log < 0 || e->watch < 0 || inotify_add_watch (e->watch, a->log_path, IN_MODIFY) < 0)
    die ("cannot follow %s: %s", a->log_path, strerror (errno));
}

static void
echo_line (const echo *e, const char *s, size_t n)
{
  char out[4200];
  int len = snprintf (out, sizeof out, "[%s] %.*s\n", e->name, (int) n, s);
  if (write (2, out, (size_t) len < sizeof out ? (size_t) len : sizeof out - 1) < 0)
    return; /* nobody reads our stderr any more: the log still has it */
}

/* Copies the complete lines appended since the last call; at_exit also the
 * last unterminated one. */
static void
echo_drain (echo *e, bool at_exit)
{
  if (e->log < 0)
    return;
  char ev[4096];
  while (read (e->watch, ev, sizeof ev) > 0)
    ;
  ssize_t n;
  while ((n = read (e->log, e->buf + e->len, sizeof e->buf - e->len)) > 0)
    {
      e->len += (size_t) n;
      char *start = e->buf, *nl;
      while ((nl = memchr (start, '\n', e->len - (size_t) (start - e->buf))))
        {
          echo_line (e, start, (size_t) (nl - start));
          start = nl + 1;
        }
      e->len -= (size_t) (start - e->buf);
      memmove (e->buf, start, e->len);
      if (e->len == sizeof e->buf) /* a very long line: in pieces */
        {
          echo_line (e, e->buf, e->len);
          e->len = 0;
        }
    }
  if (at_exit && e->len)
    echo_line (e, e->buf, e->len);
}

/* execve, or for a bare name (an image's Entrypoint or Cmd) execvpe's
 * search of the service's own PATH; the errno that explains a failure. */
static int
exec_service (const fb_service_plan *p)
{
  const char *name = p->argv[0], *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  if (strchr (name, '/'))
    {
      execve (name, p->argv, p->envp);
      return errno;
    }
  for (char *const *e = p->envp; e && *e; e++)
    if (!strncmp (*e, "PATH=", 5))
      path = *e + 5;
  int first = ENOENT;
  for (const char *d = path;; d++)
    {
      size_t n = strcspn (d, ":");
      char full[4096];
      snprintf (full, sizeof full, "%.*s%s%s", (int) n, d, n ? "/" : "", name);
      execve (full, p->argv, p->envp);
      if (errno != ENOENT && errno != ENOTDIR && first == ENOENT)
        first = errno;
      d += n;
      if (!*d)
        return first;
    }
}

typedef struct {
  const fb_init_args *a;
  int logfd, execpipe;
  int out, err;          /* the captured streams' pipes, else logfd */
  const sigset_t *oldmask;
} service_start;

/* What the service's process sends on execpipe: an errno, this bit set
 * when it failed to take its user's identity. */
#define USER_FAILED 0x10000

static const char *
start_error (const fb_init_args *a, int e, char *buf, size_t len)
{
  if (e & USER_FAILED)
    snprintf (buf, len, "cannot run as uid %u gid %u: %s", (unsigned) a->plan->uid, (unsigned) a->plan->gid,
              strerror (e & ~USER_FAILED));
  else
    snprintf (buf, len, "%s", strerror (e));
  return buf;
}

/* Plain syscalls: the C library's wrappers would act for the threads of
 * init, whose memory we share. */
static int
take_user (const fb_service_plan *p)
{
  if (syscall (SYS_setgroups, 0, NULL) < 0 || syscall (SYS_setresgid, p->gid, p->gid, p->gid) < 0
      || syscall (SYS_setresuid, p->uid, p->uid, p->uid) < 0)
    return errno | USER_FAILED;
  return 0;
}

/* The service's process until its exec. It shares our memory (CLONE_VM: a
 * fork would copy our page tables and fault in every page either of us
 * writes) but not our fds, and runs while we wait for it: plain syscalls
 * only, and not raise(), which would read our thread id. */
static int
service_main (void *p)
{
  const service_start *st = p;
  const fb_init_args *a = st->a;
  int execpipe = st->execpipe;
  sigprocmask (SIG_SETMASK, st->oldmask, NULL);
  setsid ();
  int devnull = open ("/dev/null", O_RDONLY | O_CLOEXEC); /* only its dup2 on 0 stays */
  if (devnull >= 0)
    dup2 (devnull, 0);
  if (!a->plan->inherit_stdio)
    {
      dup2 (st->out, 1);
      dup2 (st->err, 2);
    }
  if (chdir (a->plan->cwd ? a->plan->cwd : "/work") < 0)
    _exit (126);
  int ue = a->plan->set_user ? take_user (a->plan) : 0;
  if (ue)
    {
      if (write (execpipe, &ue, sizeof ue) < 0)
        _exit (126);
      _exit (126);
    }
  if (a->plan->seccomp_filter)
    {
      long fd = syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                         SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
                         a->plan->seccomp_filter);
      if (fd < 0 && errno == EINVAL)
        fd = syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                      a->plan->seccomp_filter);
      if (fd < 0)
        {
          int e = errno;
          if (write (execpipe, &e, sizeof e) < 0)
            _exit (126);
          _exit (126);
        }
      /* no routed syscall may run before the runner holds the listener */
      kill (getpid (), SIGSTOP);
    }
  int e = exec_service (a->plan);
  if (write (execpipe, &e, sizeof e) < 0)
    _exit (127);
  _exit (127);
}

_Noreturn void
fb_init_main (const fb_init_args *a)
{
  ctl_fd = a->ctl;
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  /* The service runs as uid 0 with our capabilities, so it could ptrace
   * us, the one process of the sandbox outside its seccomp filter. Not
   * dumpable, we can be traced only with CAP_SYS_PTRACE, which a service
   * has only when caps= grants it; its exec makes it dumpable again. */
  prctl (PR_SET_DUMPABLE, 0);
  fb_error err = { 0 };
  if (fb_net_configure_service (a->addr, a->prefix, a->gateway, &err) < 0)
    die ("%s", err.msg);
  if (sethostname (a->plan->name, strlen (a->plan->name)) < 0)
    die ("sethostname: %s", strerror (errno));
  int logfd = open (a->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (logfd < 0)
    die ("cannot open %s: %s", a->log_path, strerror (errno));
  echo ec;
  echo_open (&ec, a);
  char root[4096];
  make_root (a, root, sizeof root);
  enter_root (root, a->plan->rootfs || a->plan->lowers);
  set_caps (a->plan);
  /* the sandbox is ready: the service starts when the runner says so */
  int pipes[FB_INIT_MAX_FDS];
  size_t n_pipes = 0;
  wait_go (pipes, &n_pipes);
  size_t k = 0;
  int out = a->plan->capture_stdout && k < n_pipes ? pipes[k++] : logfd;
  int errfd = a->plan->capture_stderr && k < n_pipes ? pipes[k++] : logfd;

  sigset_t mask, old;
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  sigprocmask (SIG_BLOCK, &mask, &old);
  int ep[2];
  if (pipe2 (ep, O_CLOEXEC) < 0)
    die ("pipe: %s", strerror (errno));
  static char stack[65536] __attribute__ ((aligned (16)));
  service_start st = { .a = a, .logfd = logfd, .execpipe = ep[1], .out = out, .err = errfd, .oldmask = &old };
  pid_t child = clone (service_main, stack + sizeof stack, CLONE_VM | SIGCHLD, &st);
  if (child < 0)
    die ("cannot start the service: %s", strerror (errno));
  close (ep[1]);
  close (logfd);
  for (size_t i = 0; i < n_pipes; i++)
    close (pipes[i]); /* the service holds them: its exit is their EOF */
  if (a->plan->seccomp_filter)
    {
      int status;
      if (waitpid (child, &status, WUNTRACED) < 0 || !WIFSTOPPED (status))
        {
          int e = 0;
          char why[256];
          if (read (ep[0], &e, sizeof e) == sizeof e && (e & USER_FAILED))
            die ("%s", start_error (a, e, why, sizeof why));
          die ("cannot install the seccomp filter: %s", e ? strerror (e) : "the service died");
        }
      send_type ('S');
      wait_type ('A');
      kill (child, SIGCONT);
    }
  int e = 0;
  char why[256];
  if (read (ep[0], &e, sizeof e) == sizeof e)
    {
      if (e & USER_FAILED)
        die ("%s", start_error (a, e, why, sizeof why));
      die ("cannot exec %s: %s", a->plan->argv[0], strerror (e));
    }
  close (ep[0]);
  send_type ('R');
  close (ctl_fd);
  int sfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0)
    _exit (125);
  struct pollfd pfd[2] = { { .fd = sfd, .events = POLLIN }, { .fd = ec.watch, .events = POLLIN } };
  for (;;)
    {
      if (poll (pfd, ec.watch >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
        _exit (125);
      echo_drain (&ec, false);
      struct signalfd_siginfo si;
      while (read (sfd, &si, sizeof si) == sizeof si)
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
          kill (child, (int) si.ssi_signo);
      int status;
      pid_t p;
      while ((p = waitpid (-1, &status, WNOHANG)) > 0)
        if (p == child)
          {
            echo_drain (&ec, true);
            _exit (WIFSIGNALED (status) ? 128 + WTERMSIG (status) : WEXITSTATUS (status));
          }
    }
}
