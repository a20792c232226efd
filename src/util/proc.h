/* Small process plumbing shared by the lab and the engine's launcher. */
#ifndef FB_UTIL_PROC_H
#define FB_UTIL_PROC_H

#include <stdbool.h>
#include <sys/types.h>
#include "faultbox/error.h"

/* Takes a copy of the seccomp listener held by pid (which must be stopped
 * or otherwise not racing), through pidfd_getfd. Returns the new fd. */
int fb_take_seccomp_listener (pid_t pid, fb_error *err);

/* The first child of pid, from /proc/<pid>/task/<pid>/children; 0 if none. */
pid_t fb_first_child (pid_t pid);

/* pid runs: it exists and is not a zombie (a dead runner's orphans wait as
 * zombies until an init that may be slow to reap them does). */
bool fb_pid_alive (pid_t pid);

/* mkdir -p */
int fb_mkdir_p (const char *path, mode_t mode, fb_error *err);
/* rm -rf that does not cross mount points. */
int fb_rm_rf (const char *path);

#endif
