/* What the kernel and machine offer: the facts behind `faultbox doctor`, and
 * the reasons the lab gives when something it needs is missing. */
#ifndef FAULTBOX_FEATURES_H
#define FAULTBOX_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include "faultbox/error.h"

typedef enum {
  FB_FEAT_ROOT,
  FB_FEAT_NS_MOUNT,
  FB_FEAT_NS_NET,
  FB_FEAT_NS_PID,
  FB_FEAT_NS_UTS,
  FB_FEAT_NS_IPC,
  FB_FEAT_NS_USER,
  FB_FEAT_SECCOMP_NOTIF,
  FB_FEAT_SECCOMP_CONTINUE,
  FB_FEAT_SECCOMP_WAIT_KILLABLE,
  FB_FEAT_SECCOMP_SYNC_WAKEUP,
  FB_FEAT_CGROUP_V2,
  FB_FEAT_CGROUP_V2_CONTROLLERS,
  FB_FEAT_CGROUP_V1,
  FB_FEAT_CGROUP_KILL,
  FB_FEAT_CGROUP_FREEZE,
  FB_FEAT_VETH,
  FB_FEAT_BRIDGE,
  FB_FEAT_NETEM,
  FB_FEAT_HTB,
  FB_FEAT_NFTABLES,
  FB_FEAT_ROOTLESS_USERNS,
  FB_FEAT_ROOTLESS_SUBUID,
  FB_FEAT_ROOTLESS_CGROUP,
  FB_FEAT_COUNT
} fb_feature_id;

typedef struct fb_feature {
  fb_feature_id id;
  const char *name;      /* stable key, e.g. "namespace.net", "qdisc.netem" */
  const char *what;      /* what faultbox uses it for */
  bool required;         /* the core (lab + syscall faults) cannot run without it */
  bool ok;
  char detail[256];      /* why missing, or what was found */
} fb_feature;

typedef struct fb_features {
  fb_feature items[FB_FEAT_COUNT];
} fb_features;

/* Probes every feature. Probes that change namespaces run in short-lived
 * child processes, so the caller's state is untouched. Fails only when the
 * probing itself cannot run (fork failure). */
int fb_features_probe (fb_features *out, fb_error *err);

/* True when every required feature is present. */
bool fb_features_core_ok (const fb_features *f);

/* Fills err with "<what> unavailable: <detail> (faultbox doctor)" when the
 * feature is missing and returns -1; returns 0 when present. */
int fb_features_require (const fb_features *f, fb_feature_id id, fb_error *err);

/* For a failure of the lab: probes (only now, so that a working lab pays
 * nothing) and, when a required feature is missing, puts the reason
 * fb_features_require gives in front of err's message. Returns -err->code. */
int fb_features_explain (fb_error *err);

#endif
