#include "sandbox/cgroup.h"
#include "faultbox/rootless.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/proc.h"
#include "util/time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const ctl_names[FB_CG_N] = { "memory", "pids", "cpu" };

const char *
fb_cgroup_controller_name (int ctl)
{
  return ctl_names[ctl];
}

char *
fb_cgroup_mountpoint (int ctl)
{
  _cleanup_fclose_ FILE *m = fopen ("/proc/self/mounts", "re");
  char line[1024], dev[256], dir[512], type[64], opts[512];
  while (m && fgets (line, sizeof line, m))
    {
      if (sscanf (line, "%255s %511s %63s %511s", dev, dir, type, opts) != 4)
        continue;
      if (ctl < 0 && strcmp (type, "cgroup2") == 0)
        return fb_xstrdup (dir);
      if (ctl >= 0 && strcmp (type, "cgroup") == 0)
        {
          char *save = NULL;
          for (char *o = strtok_r (opts, ",", &save); o; o = strtok_r (NULL, ",", &save))
            if (strcmp (o, ctl_names[ctl]) == 0)
              return fb_xstrdup (dir);
        }
    }
  return NULL;
}

static int
write_to (const char *dir, const char *file, const char *value, fb_error *err)
{
  _cleanup_free_ char *p = fb_xasprintf ("%s/%s", dir, file);
  _cleanup_close_ int fd = open (p, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, value, strlen (value)) < 0)
    return fb_error_setsys (err, errno, "cannot write \"%s\" to %s", value, p);
  return 0;
}

static bool
file_has_word (const char *dir, const char *file, const char *word)
{
  _cleanup_free_ char *p = fb_xasprintf ("%s/%s", dir, file);
  _cleanup_fclose_ FILE *f = fopen (p, "re");
  char buf[512] = "";
  if (!f || !fgets (buf, sizeof buf, f))
    return false;
  char *save = NULL;
  for (char *w = strtok_r (buf, " \n", &save); w; w = strtok_r (NULL, " \n", &save))
    if (strcmp (w, word) == 0)
      return true;
  return false;
}

/* Where labs' cgroups go: the v2 root, or rootless the delegated subtree
 * (none: labs have no cgroup, and no limits). */
char *
fb_cgroup_labs_root (void)
{
  const fb_rootless *rl = fb_rootless_get ();
  if (rl->active)
    return rl->cgroup ? fb_xstrdup (rl->cgroup) : NULL;
  return fb_cgroup_mountpoint (-1);
}

int
fb_cgroup_create_lab (const char *name, bool limits, fb_cgroup *out, fb_error *err)
{
  memset (out, 0, sizeof *out);
  _cleanup_free_ char *root = fb_cgroup_labs_root ();
  if (root)
    {
      out->v2 = fb_xasprintf ("%s/%s", root, name);
      if (mkdir (out->v2, 0755) < 0)
        {
          int e = errno;
          free (out->v2);
          out->v2 = NULL;
          return fb_error_setsys (err, e, "cannot create cgroup %s/%s", root, name);
        }
      /* hand the controllers the v2 root offers down to the services */
      for (int c = 0; c < FB_CG_N; c++)
        if (file_has_word (out->v2, "cgroup.controllers", ctl_names[c]))
          {
            char plus[16];
            snprintf (plus, sizeof plus, "+%s", ctl_names[c]);
            write_to (out->v2, "cgroup.subtree_control", plus, NULL);
          }
    }
  /* v1 hierarchies are root's alone: nothing there delegates */
  for (int c = 0; c < FB_CG_N && limits && !fb_rootless_get ()->active; c++)
    {
      if (out->v2 && file_has_word (out->v2, "cgroup.subtree_control", ctl_names[c]))
        continue;
      _cleanup_free_ char *v1 = fb_cgroup_mountpoint (c);
      if (!v1)
        continue;
      out->v1[c] = fb_xasprintf ("%s/%s", v1, name);
      if (mkdir (out->v1[c], 0755) < 0 && errno != EEXIST)
        {
          free (out->v1[c]);
          out->v1[c] = NULL;
        }
    }
  return 0;
}

static int
apply_limit (const char *dir, int c, bool v2, const fb_limits *lim, fb_error *err)
{
  char v[64];
  switch (c)
    {
    case FB_CG_MEMORY:
      if (!lim->memory_max)
        return 0;
      snprintf (v, sizeof v, "%" PRIu64, lim->memory_max);
      if (!v2)
        write_to (dir, "memory.swappiness", "0", NULL); /* hit the limit, do not swap around it */
      return write_to (dir, v2 ? "memory.max" : "memory.limit_in_bytes", v, err);
    case FB_CG_PIDS:
      if (!lim->pids_max)
        return 0;
      snprintf (v, sizeof v, "%" PRIu64, lim->pids_max);
      return write_to (dir, "pids.max", v, err);
    default:
      if (!lim->cpu_percent)
        return 0;
      if (v2)
        {
          snprintf (v, sizeof v, "%u 100000", lim->cpu_percent * 1000u);
          return write_to (dir, "cpu.max", v, err);
        }
      snprintf (v, sizeof v, "%u", lim->cpu_percent * 1000u);
      return write_to (dir, "cpu.cfs_period_us", "100000", err) < 0 ? -1 : write_to (dir, "cpu.cfs_quota_us", v, err);
    }
}

static bool
limit_set (const fb_limits *lim, int c)
{
  return c == FB_CG_MEMORY ? lim->memory_max != 0 : c == FB_CG_PIDS ? lim->pids_max != 0 : lim->cpu_percent != 0;
}

int
fb_cgroup_create_service (const fb_cgroup *lab, const char *svc, const fb_limits *lim, fb_cgroup *out,
                          fb_error *err)
{
  memset (out, 0, sizeof *out);
  if (lab->v2)
    {
      out->v2 = fb_xasprintf ("%s/%s", lab->v2, svc);
      if (mkdir (out->v2, 0755) < 0 && errno != EEXIST)
        return fb_error_setsys (err, errno, "cannot create cgroup %s", out->v2);
    }
  for (int c = 0; c < FB_CG_N; c++)
    {
      if (!limit_set (lim, c))
        continue;
      if (lab->v2 && file_has_word (lab->v2, "cgroup.subtree_control", ctl_names[c]))
        {
          if (apply_limit (out->v2, c, true, lim, err) < 0)
            return -1;
          continue;
        }
      if (!lab->v1[c] && fb_rootless_get ()->active)
        return fb_error_set (err, EOPNOTSUPP, "cannot limit %s: rootless %s (faultbox doctor: rootless.cgroup)",
                             ctl_names[c], lab->v2 ? "and the delegated cgroup does not offer the controller"
                                                   : "without a delegated cgroup v2 subtree");
      if (!lab->v1[c])
        return fb_error_set (err, EOPNOTSUPP, "cannot limit %s: no cgroup controller for it (faultbox doctor)",
                             ctl_names[c]);
      out->v1[c] = fb_xasprintf ("%s/%s", lab->v1[c], svc);
      if ((mkdir (out->v1[c], 0755) < 0 && errno != EEXIST) || apply_limit (out->v1[c], c, false, lim, err) < 0)
        return err && err->code ? -1 : fb_error_setsys (err, errno, "cannot create cgroup %s", out->v1[c]);
    }
  return 0;
}

int
fb_cgroup_attach (const fb_cgroup *cg, pid_t pid, bool v2, fb_error *err)
{
  char p[32];
  snprintf (p, sizeof p, "%d", (int) pid);
  if (v2 && cg->v2 && write_to (cg->v2, "cgroup.procs", p, err) < 0)
    return -1;
  for (int c = 0; c < FB_CG_N; c++)
    if (cg->v1[c] && write_to (cg->v1[c], "cgroup.procs", p, err) < 0)
      return -1;
  return 0;
}

bool
fb_cgroup_oom_killed (const fb_cgroup *cg)
{
  const char *dir = cg->v2 && !cg->v1[FB_CG_MEMORY] ? cg->v2 : cg->v1[FB_CG_MEMORY];
  if (!dir)
    return false;
  /* v2 memory.events and v1 memory.oom_control both carry "oom_kill N" */
  _cleanup_free_ char *p = fb_xasprintf ("%s/%s", dir, dir == cg->v2 ? "memory.events" : "memory.oom_control");
  _cleanup_fclose_ FILE *f = fopen (p, "re");
  char key[64];
  unsigned long long n;
  while (f && fscanf (f, "%63s %llu", key, &n) == 2)
    if (strcmp (key, "oom_kill") == 0 && n > 0)
      return true;
  return false;
}

bool
fb_cgroup_kill (const fb_cgroup *cg)
{
  return cg->v2 && write_to (cg->v2, "cgroup.kill", "1", NULL) == 0;
}

int
fb_cgroup_freeze (const fb_cgroup *cg, bool on, fb_error *err)
{
  if (!cg->v2)
    return fb_error_set (err, EOPNOTSUPP, "no cgroup v2 freezer (faultbox doctor)");
  if (write_to (cg->v2, "cgroup.freeze", on ? "1" : "0", err) < 0)
    return -1;
  const char *want = on ? "1" : "0";
  int64_t deadline = fb_now_ns () + 5 * FB_NS_PER_S;
  while (fb_now_ns () < deadline)
    {
      _cleanup_free_ char *p = fb_xasprintf ("%s/cgroup.events", cg->v2);
      _cleanup_fclose_ FILE *f = fopen (p, "re");
      char key[64], val[64];
      while (f && fscanf (f, "%63s %63s", key, val) == 2)
        if (!strcmp (key, "frozen") && !strcmp (val, want))
          return 0;
      fb_sleep_ns (FB_NS_PER_MS);
    }
  return fb_error_set (err, ETIMEDOUT, "cgroup %s did not %s within 5 s", cg->v2, on ? "freeze" : "thaw");
}

/* rmdir fails while members are still dying: retry with a backoff from
 * 50 us (usually the first retry is enough) to 10 ms, for about a second. */
static void
remove_dir (const char *dir)
{
  int64_t pause = 50 * 1000, deadline = fb_now_ns () + FB_NS_PER_S;
  while (rmdir (dir) < 0 && errno == EBUSY && fb_now_ns () < deadline)
    {
      fb_sleep_ns (pause);
      pause = pause * 2 < 10 * FB_NS_PER_MS ? pause * 2 : 10 * FB_NS_PER_MS;
    }
}

void
fb_cgroup_remove (fb_cgroup *cg)
{
  /* still busy: a straggler (double-forked away from init) holds it */
  if (cg->v2 && rmdir (cg->v2) < 0 && errno == EBUSY)
    fb_cgroup_kill (cg);
  for (int c = 0; c < FB_CG_N; c++)
    if (cg->v1[c])
      {
        remove_dir (cg->v1[c]);
        free (cg->v1[c]);
      }
  if (cg->v2)
    {
      remove_dir (cg->v2); /* ENOENT when the first rmdir did it */
      free (cg->v2);
    }
  memset (cg, 0, sizeof *cg);
}

typedef struct {
  void (*fn) (int pid, unsigned id, void *ctx);
  void *ctx;
} sweep_cb;

static int
sweep_hierarchy (const char *root, bool kill_members, const sweep_cb *cb)
{
  _cleanup_closedir_ DIR *d = opendir (root);
  int n = 0;
  for (struct dirent *de; d && (de = readdir (d));)
    {
      int pid;
      unsigned id;
      if (sscanf (de->d_name, "faultbox-%d-%u", &pid, &id) != 2 || pid == getpid ())
        continue;
      if (fb_pid_alive (pid))
        continue; /* its runner is alive */
      _cleanup_free_ char *dir = fb_xasprintf ("%s/%s", root, de->d_name);
      _cleanup_closedir_ DIR *sub = opendir (dir);
      for (struct dirent *se; sub && (se = readdir (sub));)
        if (se->d_type == DT_DIR && se->d_name[0] != '.')
          {
            _cleanup_free_ char *svc = fb_xasprintf ("%s/%s", dir, se->d_name);
            if (kill_members)
              write_to (svc, "cgroup.kill", "1", NULL);
            remove_dir (svc);
          }
      remove_dir (dir);
      if (cb->fn)
        cb->fn (pid, id, cb->ctx);
      n++;
    }
  return n;
}

int
fb_cgroup_sweep (void (*on_swept) (int pid, unsigned id, void *ctx), void *ctx)
{
  /* a lab is told of once: by the first hierarchy swept */
  const sweep_cb cb = { on_swept, ctx }, none = { NULL, NULL };
  const sweep_cb *tell = &cb;
  int n = 0;
  _cleanup_free_ char *v2 = fb_cgroup_labs_root ();
  if (v2)
    {
      n = sweep_hierarchy (v2, true, tell);
      tell = &none;
    }
  for (int c = 0; c < FB_CG_N; c++)
    {
      _cleanup_free_ char *v1 = fb_cgroup_mountpoint (c);
      if (v1)
        {
          sweep_hierarchy (v1, false, tell);
          tell = &none;
        }
    }
  return n;
}
