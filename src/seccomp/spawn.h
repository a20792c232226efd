/* Starting one process under a seccomp listener without a lab: what
 * `faultbox run` and the engine's own tests use. */
#ifndef FB_SECCOMP_SPAWN_H
#define FB_SECCOMP_SPAWN_H

#include <linux/filter.h>
#include <sys/types.h>
#include "faultbox/error.h"

typedef struct fb_spawned {
  pid_t pid;
  int pidfd;
  int listener;   /* -1 when started without a filter */
} fb_spawned;

/* Forks, installs prog (when non-NULL) in the child and hands its listener
 * to the caller, then lets the child exec argv[0] (PATH is searched). The
 * child dies with the caller (PR_SET_PDEATHSIG). before_exec, when set, runs
 * after the listener is handed over and before the child may exec: the
 * engine must be serving the listener by then, because the child's own
 * remaining syscalls may be routed to it. */
int fb_spawn_supervised (char *const argv[], char *const envp[], const struct sock_fprog *prog,
                         int (*before_exec) (void *ctx, const fb_spawned *sp, fb_error *err), void *ctx,
                         fb_spawned *out, fb_error *err);

/* Waits for the child; returns its exit code, 128+N when killed by signal N. */
int fb_spawn_wait (fb_spawned *sp);

#endif
