#include "faultbox/rootless.h"
#include "net/link.h"
#include "sandbox/cgroup.h"
#include "util/alloc.h"
#include "util/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static fb_rootless state;

const fb_rootless *
fb_rootless_get (void)
{
  return &state;
}

bool
fb_rootless_subid_range (const char *file, const char *user, unsigned long id, unsigned long *start,
                         unsigned long *count)
{
  _cleanup_fclose_ FILE *f = fopen (file, "re");
  char line[512], name[256];
  unsigned long s, n;
  while (f && fgets (line, sizeof line, f))
    {
      if (sscanf (line, "%255[^:]:%lu:%lu", name, &s, &n) != 3 || n == 0)
        continue;
      char *end;
      unsigned long num = strtoul (name, &end, 10);
      if ((user && !strcmp (name, user)) || (!*end && num == id))
        {
          *start = s;
          *count = n;
          return true;
        }
    }
  return false;
}

char *
fb_rootless_cgroup (void)
{
  const char *env = getenv ("FAULTBOX_CGROUP");
  if (env && *env)
    return fb_xstrdup (env);
  _cleanup_free_ char *root = fb_cgroup_mountpoint (-1);
  _cleanup_fclose_ FILE *f = root ? fopen ("/proc/self/cgroup", "re") : NULL;
  char line[1024];
  while (f && fgets (line, sizeof line, f))
    if (!strncmp (line, "0::", 3))
      {
        line[strcspn (line, "\n")] = '\0';
        char *dir = fb_xasprintf ("%s%s", root, line + 3);
        _cleanup_free_ char *procs = fb_xasprintf ("%s/cgroup.procs", dir);
        /* systemd's Delegate=yes (user@.service, systemd-run --user -p Delegate=yes) hands it over */
        if (access (dir, W_OK) == 0 && access (procs, W_OK) == 0)
          return dir;
        free (dir);
      }
  return NULL;
}

/* newuidmap/newgidmap PID 0 OUTER 1 1 START COUNT: the user's own id as
 * root inside, its range above. */
static int
run_map_tool (const char *tool, pid_t pid, unsigned long outer, unsigned long start, unsigned long count)
{
  char a[4][24];
  snprintf (a[0], sizeof a[0], "%d", (int) pid);
  snprintf (a[1], sizeof a[1], "%lu", outer);
  snprintf (a[2], sizeof a[2], "%lu", start);
  snprintf (a[3], sizeof a[3], "%lu", count);
  pid_t c = fork ();
  if (c == 0)
    {
      int null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
      if (null >= 0)
        dup2 (null, 2);
      execlp (tool, tool, a[0], "0", a[1], "1", "1", a[2], a[3], (char *) NULL);
      _exit (127);
    }
  int st = 0;
  while (c > 0 && waitpid (c, &st, 0) < 0 && errno == EINTR)
    ;
  return c > 0 && WIFEXITED (st) ? WEXITSTATUS (st) : -1;
}

/* Forks the helper that maps the ranges once the parent has unshared (it
 * waits for a byte on go); returns its pid, 0 when there is no range. */
static pid_t
start_mapper (const char *user, int go, unsigned long *ids)
{
  unsigned long us, un, gs, gn;
  if (getenv ("FAULTBOX_USERNS_IDS") && !strcmp (getenv ("FAULTBOX_USERNS_IDS"), "single"))
    {
      snprintf (state.why_single, sizeof state.why_single, "FAULTBOX_USERNS_IDS=single");
      return 0;
    }
  if (!fb_rootless_subid_range ("/etc/subuid", user, state.uid, &us, &un)
      || !fb_rootless_subid_range ("/etc/subgid", user, state.gid, &gs, &gn))
    {
      snprintf (state.why_single, sizeof state.why_single, "no range for %s in /etc/subuid and /etc/subgid",
                user ? user : "this uid");
      return 0;
    }
  pid_t parent = getpid ();
  pid_t c = fork ();
  if (c < 0)
    snprintf (state.why_single, sizeof state.why_single, "cannot fork for newuidmap: %s", strerror (errno));
  if (c != 0)
    {
      *ids = un + 1;
      return c < 0 ? 0 : c;
    }
  char b;
  if (read (go, &b, 1) != 1 || b != 'g')
    _exit (2); /* the parent has no namespace to map */
  int r = run_map_tool ("newuidmap", parent, state.uid, us, un);
  if (r == 0)
    r = run_map_tool ("newgidmap", parent, state.gid, gs, gn);
  _exit (r == 127 ? 127 : r == 0 ? 0 : 1);
}

static int
write_proc (const char *file, const char *text, fb_error *err)
{
  _cleanup_close_ int fd = open (file, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, text, strlen (text)) < 0)
    return fb_error_setsys (err, errno, "rootless: cannot write %s", file);
  return 0;
}

static int
map_single (fb_error *err)
{
  char m[64];
  if (write_proc ("/proc/self/setgroups", "deny", err) < 0)
    return -1;
  snprintf (m, sizeof m, "0 %u 1", (unsigned) state.uid);
  if (write_proc ("/proc/self/uid_map", m, err) < 0)
    return -1;
  snprintf (m, sizeof m, "0 %u 1", (unsigned) state.gid);
  return write_proc ("/proc/self/gid_map", m, err);
}

/* The helper's verdict: 0 mapped; otherwise why_single says why not. */
static bool
mapper_done (pid_t c)
{
  int st = 0;
  while (waitpid (c, &st, 0) < 0 && errno == EINTR)
    ;
  int code = WIFEXITED (st) ? WEXITSTATUS (st) : -1;
  if (code == 0)
    return true;
  snprintf (state.why_single, sizeof state.why_single, "%s",
            code == 127 ? "newuidmap/newgidmap not installed (apt-get install uidmap)"
                        : "newuidmap/newgidmap refused the range");
  return false;
}

int
fb_rootless_enter (fb_error *err)
{
  if (geteuid () == 0 || state.active)
    return 0;
  state.uid = geteuid ();
  state.gid = getegid ();
  state.ids = 1;
  struct passwd *pw = getpwuid (state.uid);
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return fb_error_setsys (err, errno, "rootless: pipe");
  unsigned long ids = 1;
  pid_t mapper = start_mapper (pw ? pw->pw_name : NULL, p[0], &ids);
  close (p[0]);
  int r = unshare (CLONE_NEWUSER | CLONE_NEWNET);
  int e = errno;
  /* the helper maps us, or on failure exits without doing so */
  if (mapper > 0 && write (p[1], r == 0 ? "g" : "x", 1) < 0)
    e = errno;
  close (p[1]);
  bool mapped = mapper > 0 && mapper_done (mapper) && r == 0;
  if (r < 0)
    return fb_error_setsys (err, e, "rootless: cannot create a user namespace (faultbox doctor: rootless.userns)");
  if (mapped)
    {
      state.subuid = true;
      state.ids = ids;
    }
  else if (map_single (err) < 0)
    return -1;
  state.active = true;
  state.cgroup = fb_rootless_cgroup ();
  return fb_net_lo_up (err);
}
