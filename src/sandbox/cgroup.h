/* cgroups of a lab: one per lab and one per service below it, on the v2
 * hierarchy (kill, freeze) plus, for limits, v2 controllers where the
 * unified hierarchy has them and v1 controllers otherwise (hybrid hosts). */
#ifndef FB_SANDBOX_CGROUP_H
#define FB_SANDBOX_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>
#include "faultbox/error.h"
#include "faultbox/lab.h"

enum { FB_CG_MEMORY, FB_CG_PIDS, FB_CG_CPU, FB_CG_N };

typedef struct fb_cgroup {
  char *v2;              /* NULL without a cgroup2 mount */
  char *v1[FB_CG_N];     /* v1 directories holding a limit, else NULL */
} fb_cgroup;

/* Mount point of the v2 hierarchy (ctl < 0) or of the v1 hierarchy that
 * carries controller ctl; NULL when absent. Caller frees. */
char *fb_cgroup_mountpoint (int ctl);
const char *fb_cgroup_controller_name (int ctl);
/* Where labs' v2 cgroups go: the hierarchy's root, or rootless the
 * delegated subtree; NULL: none (rootless without one). Caller frees. */
char *fb_cgroup_labs_root (void);

/* Creates <hierarchy>/<name> on v2 and, with limits (some service has
 * some), on the v1 hierarchies of controllers the v2 root does not offer. */
int fb_cgroup_create_lab (const char *name, bool limits, fb_cgroup *out, fb_error *err);
/* Creates lab/<svc> and applies the limits. */
int fb_cgroup_create_service (const fb_cgroup *lab, const char *svc, const fb_limits *lim, fb_cgroup *out,
                              fb_error *err);
/* Moves pid into the cgroup's v1 directories and, when v2, its v2 one.
 * Writing cgroup.procs waits for an RCU grace period (milliseconds): a
 * child cloned into the v2 directory (CLONE_INTO_CGROUP) does not. */
int fb_cgroup_attach (const fb_cgroup *cg, pid_t pid, bool v2, fb_error *err);
/* True when the memory limit killed a process of this cgroup. */
bool fb_cgroup_oom_killed (const fb_cgroup *cg);
/* Kills every member (cgroup.kill); returns false where that is unavailable. */
bool fb_cgroup_kill (const fb_cgroup *cg);
/* cgroup.freeze: every member stops (on) or runs again (off); returns
 * once cgroup.events says so, or fails after 5 s (a member stuck in
 * uninterruptible sleep) or without a v2 freezer. */
int fb_cgroup_freeze (const fb_cgroup *cg, bool on, fb_error *err);
/* Removes the directories (killing members left, waiting for dying ones)
 * and frees. */
void fb_cgroup_remove (fb_cgroup *cg);
/* Removes faultbox-<pid>-<n> cgroups whose runner pid is dead; returns how
 * many labs. on_swept (may be NULL) hears of each lab once. */
int fb_cgroup_sweep (void (*on_swept) (int pid, unsigned id, void *ctx), void *ctx);

#endif
