#include "faultbox/features.h"
#include "faultbox/rootless.h"
#include "util/kernel_compat.h"
#include "net/probe.h"
#include "sandbox/cgroup.h"
#include "util/cleanup.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct {
  const char *name;
  const char *what;
  bool required;
} feature_table[FB_FEAT_COUNT] = {
  [FB_FEAT_ROOT] = { "privileges.root", "create namespaces, cgroups and links", true },
  [FB_FEAT_NS_MOUNT] = { "namespace.mount", "private root filesystem per service", true },
  [FB_FEAT_NS_NET] = { "namespace.net", "lab network and per-service network stack", true },
  [FB_FEAT_NS_PID] = { "namespace.pid", "per-service process tree", true },
  [FB_FEAT_NS_UTS] = { "namespace.uts", "hostname = service name", true },
  [FB_FEAT_NS_IPC] = { "namespace.ipc", "per-service IPC objects", true },
  [FB_FEAT_NS_USER] = { "namespace.user", "rootless mode", false },
  [FB_FEAT_SECCOMP_NOTIF] = { "seccomp.user_notif", "syscall faults (deny, delay)", true },
  [FB_FEAT_SECCOMP_CONTINUE] = { "seccomp.flag_continue", "let allowed syscalls proceed", true },
  [FB_FEAT_SECCOMP_WAIT_KILLABLE] = { "seccomp.wait_killable_recv", "signals do not restart notified syscalls", false },
  [FB_FEAT_SECCOMP_SYNC_WAKEUP] = { "seccomp.sync_wake_up", "fast same-CPU notification wake-ups", false },
  [FB_FEAT_CGROUP_V2] = { "cgroup.v2", "one cgroup per lab and per service", true },
  [FB_FEAT_CGROUP_V2_CONTROLLERS] = { "cgroup.v2_controllers", "memory/cpu/pids limits through cgroup v2", false },
  [FB_FEAT_CGROUP_V1] = { "cgroup.v1", "memory/cpu/pids limits through cgroup v1 (hybrid hosts)", false },
  [FB_FEAT_CGROUP_KILL] = { "cgroup.kill", "teardown that leaves no process behind", false },
  [FB_FEAT_CGROUP_FREEZE] = { "cgroup.freeze", "pausing services", false },
  [FB_FEAT_VETH] = { "link.veth", "connect each service to the lab bridge", true },
  [FB_FEAT_BRIDGE] = { "link.bridge", "the lab switch", true },
  [FB_FEAT_NETEM] = { "qdisc.netem", "link delay, jitter, loss; partitions", false },
  [FB_FEAT_HTB] = { "qdisc.htb", "link faults between services, rate limits", false },
  [FB_FEAT_NFTABLES] = { "nftables", "partitions where sch_netem is missing", false },
  [FB_FEAT_ROOTLESS_USERNS] = { "rootless.userns", "running without root: a user namespace of its own", false },
  [FB_FEAT_ROOTLESS_SUBUID] = { "rootless.subuid", "rootless user= and image users: several uids mapped", false },
  [FB_FEAT_ROOTLESS_CGROUP] = { "rootless.cgroup", "rootless limits, kill and freeze: a delegated cgroup", false },
};

static void
set_feat (fb_features *f, fb_feature_id id, bool ok, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static void
set_feat (fb_features *f, fb_feature_id id, bool ok, const char *fmt, ...)
{
  fb_feature *it = &f->items[id];
  it->ok = ok;
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (it->detail, sizeof it->detail, fmt, ap);
  va_end (ap);
}

typedef int (*probe_fn) (const void *arg, char *why, size_t whylen);

/* Runs fn in a child so that unshare() and seccomp filters stay there. The
 * child reports its reason through a pipe; exit status 0 means present. */
static bool
run_probe (probe_fn fn, const void *arg, char *why, size_t whylen)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    {
      snprintf (why, whylen, "pipe: %s", strerror (errno));
      return false;
    }
  pid_t pid = fork ();
  if (pid < 0)
    {
      snprintf (why, whylen, "fork: %s", strerror (errno));
      close (p[0]);
      close (p[1]);
      return false;
    }
  if (pid == 0)
    {
      close (p[0]);
      char buf[256] = "";
      int r = fn (arg, buf, sizeof buf);
      if (write (p[1], buf, strlen (buf)) < 0)
        _exit (2);
      _exit (r == 0 ? 0 : 1);
    }
  close (p[1]);
  ssize_t n = read (p[0], why, whylen - 1);
  why[n > 0 ? n : 0] = '\0';
  close (p[0]);
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED (status))
    {
      snprintf (why, whylen, "probe process died (signal %d)", WTERMSIG (status));
      return false;
    }
  return WEXITSTATUS (status) == 0;
}

static int
probe_unshare (const void *arg, char *why, size_t whylen)
{
  int flag = *(const int *) arg;
  if (unshare (flag) < 0)
    {
      snprintf (why, whylen, "unshare: %s", strerror (errno));
      return -1;
    }
  return 0;
}

static long
install_listener (unsigned long flags)
{
  struct sock_filter insn[] = { BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
  struct sock_fprog prog = { .len = 1, .filter = insn };
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return -1;
  return syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static int
probe_seccomp (const void *arg, char *why, size_t whylen)
{
  unsigned long flags = *(const unsigned long *) arg;
  long fd = install_listener (SECCOMP_FILTER_FLAG_NEW_LISTENER | flags);
  if (fd < 0)
    {
      snprintf (why, whylen, "seccomp(NEW_LISTENER%s): %s",
                flags ? "|WAIT_KILLABLE_RECV" : "", strerror (errno));
      return -1;
    }
  return 0;
}

static int
probe_sync_wakeup (const void *arg, char *why, size_t whylen)
{
  long fd = install_listener (SECCOMP_FILTER_FLAG_NEW_LISTENER);
  if (fd < 0 || ioctl ((int) fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, 0) < 0)
    {
      snprintf (why, whylen, "SECCOMP_IOCTL_NOTIF_SET_FLAGS: %s (needs Linux 6.6)", strerror (errno));
      return -1;
    }
  return 0;
}

/* Network probes create links and qdiscs: keep them in a throwaway netns. */
static int
fresh_netns (char *why, size_t whylen)
{
  if (unshare (CLONE_NEWNET) == 0)
    return 0;
  snprintf (why, whylen, "unshare(CLONE_NEWNET): %s", strerror (errno));
  return -1;
}

static int
probe_link (const void *arg, char *why, size_t whylen)
{
  return fresh_netns (why, whylen) < 0 ? -1 : fb_net_probe_link (arg, why, whylen);
}

static int
probe_qdisc (const void *arg, char *why, size_t whylen)
{
  return fresh_netns (why, whylen) < 0 ? -1 : fb_net_probe_qdisc (arg, why, whylen);
}

static int
probe_nft (const void *arg, char *why, size_t whylen)
{
  if (fresh_netns (why, whylen) < 0)
    return -1;
  pid_t pid = fork ();
  if (pid == 0)
    {
      int devnull = open ("/dev/null", O_WRONLY);
      if (devnull >= 0)
        {
          dup2 (devnull, 1);
          dup2 (devnull, 2);
        }
      execlp ("nft", "nft", "add table bridge fbprobe", (char *) NULL);
      _exit (127);
    }
  int status = 0;
  if (pid < 0 || waitpid (pid, &status, 0) < 0)
    {
      snprintf (why, whylen, "cannot run nft: %s", strerror (errno));
      return -1;
    }
  if (WIFEXITED (status) && WEXITSTATUS (status) == 127)
    {
      snprintf (why, whylen, "nft not found in PATH (apt-get install nftables)");
      return -1;
    }
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      snprintf (why, whylen, "nft cannot create a bridge table (nf_tables missing?)");
      return -1;
    }
  return 0;
}

/* Finds the mount point of the cgroup2 hierarchy and whether v1 controllers
 * are mounted, from /proc/self/mounts. */
static void
probe_cgroups (fb_features *f)
{
  char v2[512] = "", v1[256] = "";
  _cleanup_free_ char *v2m = fb_cgroup_mountpoint (-1);
  if (v2m)
    snprintf (v2, sizeof v2, "%s", v2m);
  for (int c = 0; c < FB_CG_N; c++)
    {
      _cleanup_free_ char *m = fb_cgroup_mountpoint (c);
      size_t l = strlen (v1);
      if (m)
        snprintf (v1 + l, sizeof v1 - l, "%s%s", l ? " " : "", fb_cgroup_controller_name (c));
    }
  if (!v2[0])
    set_feat (f, FB_FEAT_CGROUP_V2, false, "no cgroup2 hierarchy mounted");
  else
    set_feat (f, FB_FEAT_CGROUP_V2, true, "mounted at %s", v2);
  set_feat (f, FB_FEAT_CGROUP_V1, v1[0] != 0, "%s", v1[0] ? v1 : "no v1 memory/cpu/pids controllers mounted");

  char path[600], ctl[256] = "";
  snprintf (path, sizeof path, "%s/cgroup.controllers", v2);
  _cleanup_fclose_ FILE *c = v2[0] ? fopen (path, "re") : NULL;
  if (c && fgets (ctl, sizeof ctl, c))
    ctl[strcspn (ctl, "\n")] = '\0';
  set_feat (f, FB_FEAT_CGROUP_V2_CONTROLLERS, ctl[0] != 0, "%s",
            ctl[0] ? ctl : "the v2 hierarchy has no controllers (hybrid host: limits use v1)");

  /* cgroup.kill/freeze exist only below the root: make a short-lived child. */
  if (!v2[0])
    {
      set_feat (f, FB_FEAT_CGROUP_KILL, false, "no cgroup2 hierarchy");
      set_feat (f, FB_FEAT_CGROUP_FREEZE, false, "no cgroup2 hierarchy");
      return;
    }
  _cleanup_free_ char *labs = fb_cgroup_labs_root ();
  if (!labs)
    {
      set_feat (f, FB_FEAT_CGROUP_KILL, false, "rootless without a delegated cgroup (see rootless.cgroup)");
      set_feat (f, FB_FEAT_CGROUP_FREEZE, false, "rootless without a delegated cgroup (see rootless.cgroup)");
      return;
    }
  char dir[600];
  snprintf (dir, sizeof dir, "%s/faultbox-probe-%d", labs, (int) getpid ());
  if (mkdir (dir, 0755) < 0)
    {
      set_feat (f, FB_FEAT_CGROUP_KILL, false, "cannot create a cgroup in %s: %s", labs, strerror (errno));
      set_feat (f, FB_FEAT_CGROUP_FREEZE, false, "cannot create a cgroup in %s", labs);
      return;
    }
  snprintf (path, sizeof path, "%s/cgroup.kill", dir);
  bool kill_ok = access (path, W_OK) == 0;
  set_feat (f, FB_FEAT_CGROUP_KILL, kill_ok, kill_ok ? "present" : "missing (needs Linux 5.14)");
  snprintf (path, sizeof path, "%s/cgroup.freeze", dir);
  bool freeze_ok = access (path, W_OK) == 0;
  set_feat (f, FB_FEAT_CGROUP_FREEZE, freeze_ok, freeze_ok ? "present" : "missing (needs Linux 5.2)");
  rmdir (dir);
}

/* A number in /proc/sys; -1 when the knob is absent. */
static long
read_sysctl (const char *path)
{
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  long v = -1;
  if (!f || fscanf (f, "%ld", &v) != 1)
    return -1;
  return v;
}

static void
probe_userns (fb_features *f, const fb_rootless *rl)
{
  if (read_sysctl ("/proc/sys/kernel/unprivileged_userns_clone") == 0)
    set_feat (f, FB_FEAT_ROOTLESS_USERNS, false, "kernel.unprivileged_userns_clone is 0: "
              "sudo sysctl -w kernel.unprivileged_userns_clone=1");
  else if (read_sysctl ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
    set_feat (f, FB_FEAT_ROOTLESS_USERNS, false, "AppArmor restricts unprivileged user namespaces: "
              "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or a profile with 'userns,')");
  else if (read_sysctl ("/proc/sys/user/max_user_namespaces") == 0)
    set_feat (f, FB_FEAT_ROOTLESS_USERNS, false, "user.max_user_namespaces is 0: "
              "sudo sysctl -w user.max_user_namespaces=15000");
  else if (rl->active)
    set_feat (f, FB_FEAT_ROOTLESS_USERNS, true, "in use: uid %u is root in a user namespace of its own",
              (unsigned) rl->uid);
  else
    set_feat (f, FB_FEAT_ROOTLESS_USERNS, f->items[FB_FEAT_NS_USER].ok, "%s",
              f->items[FB_FEAT_NS_USER].ok ? "unprivileged user namespaces allowed" : f->items[FB_FEAT_NS_USER].detail);
}

/* Whose ranges matter: the rootless runner's, or the user sudo came from. */
static void
probe_subuid (fb_features *f, const fb_rootless *rl)
{
  uid_t uid = rl->active ? rl->uid : getuid ();
  struct passwd *pw = getpwuid (uid);
  const char *user = uid == 0 ? getenv ("SUDO_USER") : pw ? pw->pw_name : NULL;
  if (rl->active && rl->subuid)
    {
      set_feat (f, FB_FEAT_ROOTLESS_SUBUID, true, "%lu uids mapped (/etc/subuid, newuidmap)", rl->ids);
      return;
    }
  if (!rl->active && uid == 0 && !user)
    {
      set_feat (f, FB_FEAT_ROOTLESS_SUBUID, true, "running as root: every uid is there");
      return;
    }
  unsigned long s, n;
  struct passwd *who = user ? getpwnam (user) : NULL;
  unsigned long id = who ? who->pw_uid : uid;
  bool range = fb_rootless_subid_range ("/etc/subuid", user, id, &s, &n)
               && fb_rootless_subid_range ("/etc/subgid", user, who ? who->pw_gid : id, &s, &n);
  bool tool = access ("/usr/bin/newuidmap", X_OK) == 0 && access ("/usr/bin/newgidmap", X_OK) == 0;
  if (range && tool && !rl->active)
    set_feat (f, FB_FEAT_ROOTLESS_SUBUID, true, "%s has a subordinate range and newuidmap", user ? user : "the user");
  else
    set_feat (f, FB_FEAT_ROOTLESS_SUBUID, false, "single mapped uid, user= unavailable: %s%s%s%s%s",
              rl->active && range && tool ? rl->why_single : "", tool ? "" : "sudo apt-get install uidmap",
              !tool && !range ? "; " : "", range ? "" : "sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ",
              range ? "" : user ? user : "USER");
}

static void
probe_delegation (fb_features *f, const fb_rootless *rl)
{
  if (!rl->active && geteuid () == 0)
    {
      set_feat (f, FB_FEAT_ROOTLESS_CGROUP, true, "running as root: the whole hierarchy");
      return;
    }
  _cleanup_free_ char *cg = rl->active ? (rl->cgroup ? strdup (rl->cgroup) : NULL) : fb_rootless_cgroup ();
  if (cg)
    set_feat (f, FB_FEAT_ROOTLESS_CGROUP, true, "delegated: %s", cg);
  else
    set_feat (f, FB_FEAT_ROOTLESS_CGROUP, false, "none, labs run without limits: run under "
              "systemd-run --user --scope -p Delegate=yes, or set FAULTBOX_CGROUP to a cgroup2 directory of yours");
}

int
fb_features_probe (fb_features *out, fb_error *err)
{
  fb_features f;
  memset (&f, 0, sizeof f);
  for (int i = 0; i < FB_FEAT_COUNT; i++)
    {
      f.items[i].id = (fb_feature_id) i;
      f.items[i].name = feature_table[i].name;
      f.items[i].what = feature_table[i].what;
      f.items[i].required = feature_table[i].required;
    }
  char why[256];

  const fb_rootless *rl = fb_rootless_get ();
  bool root = geteuid () == 0;
  if (rl->active)
    set_feat (&f, FB_FEAT_ROOT, true, "rootless: root in a user namespace of its own (see rootless.*)");
  else
    set_feat (&f, FB_FEAT_ROOT, root, root ? "running as root" : "not root (uid %d): run as root, or rootless (see rootless.userns)",
              (int) geteuid ());

  static const struct { fb_feature_id id; int flag; } ns[] = {
    { FB_FEAT_NS_MOUNT, CLONE_NEWNS }, { FB_FEAT_NS_NET, CLONE_NEWNET },
    { FB_FEAT_NS_PID, CLONE_NEWPID },  { FB_FEAT_NS_UTS, CLONE_NEWUTS },
    { FB_FEAT_NS_IPC, CLONE_NEWIPC },  { FB_FEAT_NS_USER, CLONE_NEWUSER },
  };
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
    {
      bool ok = run_probe (probe_unshare, &ns[i].flag, why, sizeof why);
      set_feat (&f, ns[i].id, ok, "%s", ok ? "unshare works" : why);
    }

  unsigned long none = 0, killable = SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
  bool notif = run_probe (probe_seccomp, &none, why, sizeof why);
  set_feat (&f, FB_FEAT_SECCOMP_NOTIF, notif, "%s", notif ? "SECCOMP_FILTER_FLAG_NEW_LISTENER works" : why);
  /* FLAG_CONTINUE came with Linux 5.5; the availability of RET_USER_NOTIF as
   * an action is the closest runtime check short of a full round trip. */
  unsigned int action = SECCOMP_RET_USER_NOTIF;
  bool cont = notif && syscall (SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
  set_feat (&f, FB_FEAT_SECCOMP_CONTINUE, cont, cont ? "SECCOMP_USER_NOTIF_FLAG_CONTINUE available" : "user notification unavailable");
  bool kr = notif && run_probe (probe_seccomp, &killable, why, sizeof why);
  set_feat (&f, FB_FEAT_SECCOMP_WAIT_KILLABLE, kr, "%s", kr ? "available" : notif ? why : "user notification unavailable");
  bool sw = notif && run_probe (probe_sync_wakeup, NULL, why, sizeof why);
  set_feat (&f, FB_FEAT_SECCOMP_SYNC_WAKEUP, sw, "%s", sw ? "available" : notif ? why : "user notification unavailable");

  probe_cgroups (&f);

  static const struct { fb_feature_id id; const char *kind; probe_fn fn; } nets[] = {
    { FB_FEAT_VETH, "veth", probe_link },   { FB_FEAT_BRIDGE, "bridge", probe_link },
    { FB_FEAT_NETEM, "netem", probe_qdisc }, { FB_FEAT_HTB, "htb", probe_qdisc },
    { FB_FEAT_NFTABLES, "nft", probe_nft },
  };
  for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
    {
      bool ok = root && run_probe (nets[i].fn, nets[i].kind, why, sizeof why);
      /* a user namespace's request loads no module: the host's root must */
      set_feat (&f, nets[i].id, ok, "%s%s", ok ? "works in a fresh network namespace" : root ? why : "needs root",
                !ok && rl->active ? " (rootless: no module loads for a user namespace: sudo modprobe sch_netem nf_tables)"
                                  : "");
    }

  probe_userns (&f, rl);
  probe_subuid (&f, rl);
  probe_delegation (&f, rl);
  *out = f;
  return 0;
}

bool
fb_features_core_ok (const fb_features *f)
{
  for (int i = 0; i < FB_FEAT_COUNT; i++)
    if (f->items[i].required && !f->items[i].ok)
      return false;
  return true;
}

int
fb_features_require (const fb_features *f, fb_feature_id id, fb_error *err)
{
  const fb_feature *it = &f->items[id];
  if (it->ok)
    return 0;
  return fb_error_set (err, EOPNOTSUPP, "%s unavailable: %s (faultbox doctor)", it->name, it->detail);
}

int
fb_features_explain (fb_error *err)
{
  fb_features f;
  fb_error why = { 0 };
  if (fb_features_probe (&f, &why) == 0)
    for (int i = 0; i < FB_FEAT_COUNT; i++)
      if (f.items[i].required && fb_features_require (&f, (fb_feature_id) i, &why) < 0)
        return fb_error_prefix (err, "%s", why.msg);
  return err->code > 0 ? -err->code : -1;
}
