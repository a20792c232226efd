/* The lab: one sandbox per test or matrix cell. A fresh network namespace
 * with a bridge (the runner's thread joins it to act as the test client),
 * and per service new mount, net, pid, uts and ipc namespaces, a private
 * root, a veth to the bridge, a cgroup, and our init as PID 1. Destroying a
 * lab leaves nothing behind. */
#ifndef FAULTBOX_LAB_H
#define FAULTBOX_LAB_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "faultbox/error.h"
#include "faultbox/netfault.h"

typedef struct fb_limits {
  uint64_t memory_max;        /* bytes, 0: none */
  uint64_t pids_max;          /* 0: none */
  unsigned cpu_percent;       /* of one CPU, 0: none */
} fb_limits;

typedef struct fb_service_plan {
  const char *name;
  char *const *argv;          /* argv[0] is an absolute path */
  char *const *envp;          /* the whole environment; nothing is inherited */
  const char *const *ro_binds; /* extra host directories bound read-only at the same path, NULL-terminated */
  const struct sock_fprog *seccomp_filter; /* NULL: no filter */
  bool inherit_stdio;         /* write to the runner's stdout/stderr instead of the log */
  fb_limits limits;
} fb_service_plan;

typedef struct fb_lab_plan {
  const fb_service_plan *services;
  size_t n_services;
  const char *workdir_base;   /* default /tmp */
  bool keep_workdir;
  int64_t grace_ns;           /* SIGTERM -> SIGKILL; default 2 s */
  /* Receives each service's seccomp listener (ownership passes) before the
   * service may exec: the engine must serve it from here on. */
  int (*on_listener) (void *ctx, size_t idx, pid_t pid, int fd, fb_error *err);
  void *ctx;
} fb_lab_plan;

typedef struct fb_lab fb_lab;

/* A service name: letters, digits, '-' and '_', 1 to 40 of them. */
bool fb_lab_valid_name (const char *name);
int fb_lab_create (const fb_lab_plan *plan, fb_lab **out, fb_error *err);
/* Starts one service (the runner orders them and waits for health between). */
int fb_lab_start_service (fb_lab *lab, size_t idx, fb_error *err);
/* The address other services and the test client reach it at. */
const char *fb_lab_service_addr (const fb_lab *lab, size_t idx);
const char *fb_lab_worker_addr (const fb_lab *lab);
pid_t fb_lab_service_pid (const fb_lab *lab, size_t idx);
/* True (and *code set: exit status, 128+N for signal N) once it exited. */
bool fb_lab_service_exited (fb_lab *lab, size_t idx, int *code);
/* True when the service's memory limit killed one of its processes. */
bool fb_lab_service_oom (const fb_lab *lab, size_t idx);
/* Blocks until the service exits; returns its code. */
int fb_lab_wait_service (fb_lab *lab, size_t idx);
/* Path of the captured stdout+stderr of a service. */
const char *fb_lab_service_log (const fb_lab *lab, size_t idx);
/* Moves the calling thread into the lab network (svc < 0) or into a
 * service's own network namespace; fb_lab_leave returns it home. */
int fb_lab_enter (fb_lab *lab, ssize_t svc, fb_error *err);
void fb_lab_leave (fb_lab *lab);
/* Partitions: frames between the services of group a and group b are
 * dropped on the lab bridge (both ways, or one way), cutting established
 * connections silently; heal removes exactly that partition. */
typedef enum { FB_LAB_PART_BOTH, FB_LAB_PART_A_TO_B, FB_LAB_PART_B_TO_A } fb_lab_part_dir;
int fb_lab_partition (fb_lab *lab, const size_t *a, size_t na, const size_t *b, size_t nb, fb_lab_part_dir dir,
                      unsigned *id, fb_error *err);
int fb_lab_heal (fb_lab *lab, unsigned id, fb_error *err);

/* Impairs what service `to` receives from service `from` (from < 0: from
 * anyone, the test client included), on the bridge side of to's veth; the
 * rest of to's traffic is untouched. delay/jitter/loss/duplicate/reorder/
 * corrupt need sch_netem; a rate alone needs only htb. Applying again
 * replaces that pair's fault; clear restores the plain link. */
int fb_lab_link_fault (fb_lab *lab, ssize_t from, size_t to, const fb_link_impairment *f, fb_error *err);
int fb_lab_link_clear (fb_lab *lab, ssize_t from, size_t to, fb_error *err);

/* Sends sig to every service's init (which forwards it). */
void fb_lab_signal (fb_lab *lab, int sig);
/* Stops every service: SIGTERM, the grace period, then SIGKILL of its
 * cgroup; their logs stay readable until fb_lab_destroy. */
void fb_lab_stop (fb_lab *lab);
/* Stops what still runs and removes everything. NULL-safe. */
void fb_lab_destroy (fb_lab *lab);

/* Removes the cgroups, and work dirs (default base), of labs whose runner
 * died (kill -9) before their teardown; returns how many labs. */
int fb_lab_sweep_leftovers (void);
/* After killing (and reaping) the runner process pid in the middle of a
 * test: stops what its labs left running and removes their cgroups and,
 * unless keep_workdirs, their work directories (default base only). */
void fb_lab_sweep_runner (pid_t runner, bool keep_workdirs);

#endif
