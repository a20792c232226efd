#include "sandbox/init.h"
#include "util/kernel_compat.h"
#include "net/link.h"
#include "util/alloc.h"
#include "util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The conventional container default: enough for ordinary servers, never
 * sys_admin, net_admin, sys_ptrace or sys_module. */
static const cap_value_t default_caps[] = {
  CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FOWNER,           CAP_FSETID,  CAP_KILL,        CAP_SETGID,      CAP_SETUID,
  CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_NET_RAW, CAP_SYS_CHROOT, CAP_MKNOD, CAP_AUDIT_WRITE, CAP_SETFCAP,
};
#define N_DEFAULT_CAPS (sizeof default_caps / sizeof default_caps[0])

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

/* flags: extra per-mount flags (MS_RDONLY for files the lab shares) */
static void
bind_file (const char *src, const char *root, const char *path, unsigned long flags)
{
  char dst[4096];
  snprintf (dst, sizeof dst, "%s%s", root, path);
  int fd = open (dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (fd >= 0)
    close (fd);
  xmount (src, dst, NULL, MS_BIND, NULL);
  if (flags)
    xmount (NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | flags, NULL);
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

static void
make_root (const fb_init_args *a, char *root, size_t rootlen)
{
  snprintf (root, rootlen, "%s/%s.root", a->workdir, a->plan->name);
  if (fb_mkdir_p (root, 0755, NULL) < 0)
    die ("mkdir %s: %s", root, strerror (errno));
  chrooted = make_mounts_private ();
  xmount ("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755");
  static const char *const host[] = { "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc" };
  for (size_t i = 0; i < sizeof host / sizeof host[0]; i++)
    bind_host_path (root, host[i], strcmp (host[i], "/usr") == 0);
  char f[4096];
  /* one copy for the whole lab: a service must not rename another */
  snprintf (f, sizeof f, "%s/hosts", a->workdir);
  bind_file (f, root, "/etc/hosts", MS_RDONLY);
  snprintf (f, sizeof f, "%s/resolv.conf", a->workdir);
  bind_file (f, root, "/etc/resolv.conf", MS_RDONLY);

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
  tmpfs_at (root, "/tmp", "1777");
  tmpfs_at (root, "/run", "755");
  static const char *const var[] = { "/var/tmp", "/var/lib", "/var/log", "/var/cache" };
  for (size_t i = 0; i < sizeof var / sizeof var[0]; i++)
    tmpfs_at (root, var[i], strcmp (var[i], "/var/tmp") == 0 ? "1777" : "755");
  /* the per-cell writable work directory, kept with --keep-workdir */
  char work[4096];
  snprintf (work, sizeof work, "%s/%s.work", a->workdir, a->plan->name);
  fb_mkdir_p (work, 0755, NULL);
  snprintf (f, sizeof f, "%s/work", root);
  mkdir (f, 0755);
  xmount (work, f, NULL, MS_BIND, NULL);
  /* no device node made there (CAP_MKNOD) opens: it lives on the host */
  xmount (NULL, f, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV, NULL);
  /* last, so that a binary under /tmp or /work is not hidden by our mounts */
  for (const char *const *b = a->plan->ro_binds; b && *b; b++)
    if (strcmp (*b, "/") != 0) /* the host root itself is never bound */
      bind_host_path (root, *b, true);
}

static void
enter_root (const char *root)
{
  if (chrooted)
    {
      /* pivot_root needs "/" to be a mount point; move the new root over it */
      if (chdir (root) < 0 || mount (root, "/", NULL, MS_MOVE, NULL) < 0 || chroot (".") < 0 || chdir ("/") < 0)
        die ("cannot enter the service root %s: %s", root, strerror (errno));
      xmount (NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
      return;
    }
  char old[4200];
  snprintf (old, sizeof old, "%s/.oldroot", root);
  mkdir (old, 0700);
  if (syscall (SYS_pivot_root, root, old) < 0)
    die ("pivot_root %s: %s", root, strerror (errno));
  if (chdir ("/") < 0 || umount2 ("/.oldroot", MNT_DETACH) < 0)
    die ("cannot detach the host root: %s", strerror (errno));
  rmdir ("/.oldroot");
  xmount (NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
}

static void
drop_caps (void)
{
  for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++)
    {
      bool keep = false;
      for (size_t i = 0; i < N_DEFAULT_CAPS; i++)
        keep |= default_caps[i] == c;
      if (!keep && CAP_IS_SUPPORTED (c) && cap_drop_bound (c) < 0)
        die ("cannot drop capability %d: %s", (int) c, strerror (errno));
    }
  cap_t caps = cap_init ();
  cap_set_flag (caps, CAP_EFFECTIVE, N_DEFAULT_CAPS, default_caps, CAP_SET);
  cap_set_flag (caps, CAP_PERMITTED, N_DEFAULT_CAPS, default_caps, CAP_SET);
  cap_set_flag (caps, CAP_INHERITABLE, N_DEFAULT_CAPS, default_caps, CAP_SET);
  if (cap_set_proc (caps) < 0)
    die ("cannot set capabilities: %s", strerror (errno));
  cap_free (caps);
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    die ("no_new_privs: %s", strerror (errno));
}

static _Noreturn void
service_main (const fb_init_args *a, int logfd, int execpipe, const sigset_t *oldmask)
{
  sigprocmask (SIG_SETMASK, oldmask, NULL);
  setsid ();
  int devnull = open ("/dev/null", O_RDONLY | O_CLOEXEC); /* only its dup2 on 0 stays */
  if (devnull >= 0)
    dup2 (devnull, 0);
  if (!a->plan->inherit_stdio)
    {
      dup2 (logfd, 1);
      dup2 (logfd, 2);
    }
  if (chdir ("/work") < 0)
    _exit (126);
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
      raise (SIGSTOP);
    }
  execve (a->plan->argv[0], a->plan->argv, a->plan->envp);
  int e = errno;
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
   * dumpable, we need CAP_SYS_PTRACE, which it never has; its exec makes
   * the service itself dumpable again. */
  prctl (PR_SET_DUMPABLE, 0);
  wait_type ('G');
  fb_error err = { 0 };
  if (fb_net_configure_service (a->addr, a->prefix, a->gateway, &err) < 0)
    die ("%s", err.msg);
  if (sethostname (a->plan->name, strlen (a->plan->name)) < 0)
    die ("sethostname: %s", strerror (errno));
  int logfd = open (a->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (logfd < 0)
    die ("cannot open %s: %s", a->log_path, strerror (errno));
  char root[4096];
  make_root (a, root, sizeof root);
  enter_root (root);
  drop_caps ();

  sigset_t mask, old;
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  sigprocmask (SIG_BLOCK, &mask, &old);
  int ep[2];
  if (pipe2 (ep, O_CLOEXEC) < 0)
    die ("pipe: %s", strerror (errno));
  pid_t child = fork ();
  if (child < 0)
    die ("fork: %s", strerror (errno));
  if (child == 0)
    {
      close (ep[0]);
      service_main (a, logfd, ep[1], &old);
    }
  close (ep[1]);
  close (logfd);
  if (a->plan->seccomp_filter)
    {
      int status;
      if (waitpid (child, &status, WUNTRACED) < 0 || !WIFSTOPPED (status))
        {
          int e = 0;
          die ("cannot install the seccomp filter: %s",
               read (ep[0], &e, sizeof e) == sizeof e ? strerror (e) : "the service died");
        }
      send_type ('S');
      wait_type ('A');
      kill (child, SIGCONT);
    }
  int e = 0;
  if (read (ep[0], &e, sizeof e) == sizeof e)
    die ("cannot exec %s: %s", a->plan->argv[0], strerror (e));
  close (ep[0]);
  send_type ('R');
  close (ctl_fd);
  for (;;)
    {
      siginfo_t si;
      int sig = sigwaitinfo (&mask, &si);
      if (sig == SIGTERM || sig == SIGINT)
        kill (child, sig);
      else if (sig == SIGCHLD)
        {
          int status;
          pid_t p;
          while ((p = waitpid (-1, &status, WNOHANG)) > 0)
            if (p == child)
              _exit (WIFSIGNALED (status) ? 128 + WTERMSIG (status) : WEXITSTATUS (status));
        }
    }
}
