/* Rootless mode: an unprivileged runner first enters a user namespace of
 * its own (its uid mapped to 0, or a /etc/subuid range through newuidmap)
 * with a network namespace of its own, and every lab lives inside it. */
#ifndef FAULTBOX_ROOTLESS_H
#define FAULTBOX_ROOTLESS_H

#include <stdbool.h>
#include <sys/types.h>
#include "faultbox/error.h"

typedef struct fb_rootless {
  bool active;          /* the runner is in a user namespace of its own */
  bool subuid;          /* a subordinate range is mapped: several uids inside */
  uid_t uid;            /* the user's ids outside */
  gid_t gid;
  unsigned long ids;    /* uids mapped (1 without a range) */
  char why_single[160]; /* with one uid: why no range is mapped */
  char *cgroup;         /* the delegated cgroup v2 subtree; NULL: none, no limits */
} fb_rootless;

/* As root: nothing. Otherwise enters the user and network namespaces.
 * Call while the process has one thread (unshare(CLONE_NEWUSER) needs
 * it). FAULTBOX_USERNS_IDS=single maps one uid even where a range exists;
 * FAULTBOX_CGROUP names a delegated cgroup v2 directory. */
int fb_rootless_enter (fb_error *err);

/* The state after fb_rootless_enter (inactive before or as root). */
const fb_rootless *fb_rootless_get (void);

/* A subordinate range of the user in /etc/subuid or /etc/subgid (file);
 * false when there is none. */
bool fb_rootless_subid_range (const char *file, const char *user, unsigned long id, unsigned long *start,
                              unsigned long *count);

/* The delegated cgroup v2 directory an unprivileged runner may use:
 * FAULTBOX_CGROUP, else its own cgroup when it can write there; NULL. */
char *fb_rootless_cgroup (void);

#endif
