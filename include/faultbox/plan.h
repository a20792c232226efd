/* The immutable plan a spec builds: services, their interfaces and
 * healthchecks. Plain C data; the spec layer fills it, the runner reads it. */
#ifndef FAULTBOX_PLAN_H
#define FAULTBOX_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "faultbox/error.h"

typedef struct fb_plan_interface {
  char *name;
  char *protocol;   /* a name in the protocol table (include/faultbox/protocol.h) */
  int port;
} fb_plan_interface;

/* tcp(...), http(...), or ready(): the protocol of the service's default
 * interface, spoken to localhost. */
typedef enum { FB_HC_NONE, FB_HC_TCP, FB_HC_HTTP, FB_HC_READY } fb_hc_kind;

typedef struct fb_plan_healthcheck {
  fb_hc_kind kind;
  char *protocol;   /* whose ready() the runner polls */
  char *host;       /* "localhost" = inside the service's own netns */
  int port;
  char *path;       /* HTTP only, starts with "/" */
  int64_t timeout_ns;
} fb_plan_healthcheck;

typedef struct fb_plan_op {
  char *name;
  char **syscalls;
  size_t n_syscalls;
  char *path;       /* glob or NULL */
} fb_plan_op;

/* service(volumes=): a host path bound into the service. */
typedef struct fb_plan_volume {
  char *src;        /* absolute host path */
  char *dst;        /* absolute path inside the service */
  bool writable;    /* ":rw" after dst; read-only by default */
} fb_plan_volume;

/* service(observe=): a stream's lines become events, decoded by decoder
 * (NULL: none, "json", "logfmt", "regex" with pattern). */
typedef struct fb_plan_observe {
  bool on;
  char *decoder;
  char *pattern;    /* Go syntax, as written */
} fb_plan_observe;

typedef struct fb_plan_service {
  char *name;
  char *binary;     /* absolute */
  char **args;
  size_t n_args;
  char **env;       /* "K=V" as the spec gives them */
  size_t n_env;
  fb_plan_interface *ifaces;
  size_t n_ifaces;
  size_t *deps;     /* indices into fb_plan.services */
  size_t n_deps;
  fb_plan_healthcheck hc;
  fb_plan_op *ops;
  size_t n_ops;
  char *decl_pos;   /* "spec.star:12:5", for messages */
  uint64_t memory_max;  /* bytes, 0: no limit */
  uint64_t pids_max;    /* 0: no limit */
  uint64_t caps_add, caps_drop;  /* caps=, drop_caps= (bit N = capability N) */
  char *rootfs;     /* absolute; NULL: the host's system directories */
  fb_plan_volume *volumes;
  size_t n_volumes;
  unsigned nondet_ok;   /* nondeterministic_ok=: a bit per determinism() category */
  bool may_exit;    /* exiting during the test is no failure */
  fb_plan_observe observe[2]; /* stdout, stderr */
  char *user;       /* service(user=) as written; NULL: root */
  uint32_t uid, gid;
  /* mock_service(): the route tables its mock server gets (faultbox/mock.h);
   * NULL for a service that runs its own binary. */
  struct fb_mock_config *mock;
  /* service(image=): binary and args are the image's Entrypoint and Cmd
   * (args= replacing Cmd), env starts with its Env */
  char *image;          /* the reference as given; NULL: a host binary */
  char **layers;        /* its unpacked layers, bottom first, NULL-terminated */
  char *cwd;            /* WorkingDir; NULL: /work */
  char **warnings;      /* what the runner reports as image_warning events, NULL-terminated */
} fb_plan_service;

typedef struct fb_plan {
  fb_plan_service *services;   /* in declaration order */
  size_t n_services;
} fb_plan;

/* Start order: dependencies first, ties by declaration order. Fails naming
 * the cycle ("db -> api -> db"). order must hold n_services entries. */
int fb_plan_start_order (const fb_plan *p, size_t *order, fb_error *err);

ssize_t fb_plan_find_service (const fb_plan *p, const char *name);

/* The environment of service idx: the generated FAULTBOX_<SVC>_<IFACE>_{HOST,
 * PORT,ADDR} of every service (addrs[i] is service i's lab address), then
 * the spec's env, which wins. NULL-terminated, caller frees (strv). */
char **fb_plan_service_env (const fb_plan *p, size_t idx, const char *const *addrs);

void fb_plan_free (fb_plan *p);

#endif
