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

/* A host path bound into a service (service(volumes=)). */
typedef struct fb_bind {
  const char *src;            /* absolute host path */
  const char *dst;            /* absolute path inside the service */
  bool writable;              /* default read-only */
} fb_bind;

typedef struct fb_service_plan {
  const char *name;
  char *const *argv;          /* argv[0] is an absolute path */
  char *const *envp;          /* the whole environment; nothing is inherited */
  const char *const *ro_binds; /* extra host directories bound read-only at the same path, NULL-terminated */
  const struct sock_fprog *seccomp_filter; /* NULL: no filter */
  bool inherit_stdio;         /* write to the runner's stdout/stderr instead of the log */
  bool echo_output;           /* also copy the log, line by line as "[name] ...", to the runner's stderr */
  const fb_bind *binds;       /* n_binds extra binds, mounted after everything else */
  size_t n_binds;
  /* NULL: a tmpfs root with the host's /usr, /lib*, /bin, /sbin, /etc bound
   * read-only. Else the service's root is this directory under an overlay
   * whose upper layer is in the lab's work directory, so it is never
   * written; /proc, /dev, /tmp and the generated /etc/hosts are still ours. */
  const char *rootfs;
  /* service(image=): the image's unpacked layers, bottom first, NULL-
   * terminated: the overlay's lower layers in place of rootfs (the same
   * mounts over them, the upper layer in the work directory). */
  const char *const *lowers;
  const char *cwd;            /* the service's working directory; NULL: /work */
  /* Capabilities (bit N = capability N) granted beyond / taken from
   * fb_cap_default_mask (); drop wins. */
  uint64_t caps_add, caps_drop;
  fb_limits limits;
  /* Its interfaces are reached through the runner's proxy: the lab gives
   * the proxy an address of its own for the service (fb_lab_proxy_addr)
   * and /etc/hosts names the service there. */
  bool proxied;
  /* service(observe=): these streams go through a pipe whose lines the
   * lab hands to on_output (they still reach the log) */
  bool capture_stdout, capture_stderr;
  /* service(user=) or an image's User: the service runs as uid:gid with
   * no supplementary groups; its work directory and state directories
   * are theirs */
  bool set_user;
  uint32_t uid, gid;
} fb_service_plan;

/* A lab network (network namespace, bridge, the worker's address) that labs
 * borrow one at a time instead of each making its own: a runner's worker
 * keeps one across its tests. Making and tearing down a network namespace
 * and bridge per lab is most of a lab's cost, and the bridge's teardown
 * holds the kernel's rtnl lock across an RCU barrier, stalling every other
 * network change meanwhile. A lab on a kept network still gets fresh service
 * namespaces, veths, cgroups, roots and work directory; fb_lab_destroy
 * resets what the network itself holds (see there). Only the process that
 * made it may use it. */
typedef struct fb_lab_net fb_lab_net;
fb_lab_net *fb_lab_net_new (void);
/* Closes it (the kernel then removes the namespace). NULL-safe. */
void fb_lab_net_free (fb_lab_net *net);

typedef struct fb_lab_plan {
  const fb_service_plan *services;
  size_t n_services;
  const char *workdir_base;   /* default /dev/shm (a tmpfs: a service's files there
                                 count against its memory limit), /tmp when kept */
  bool keep_workdir;
  int64_t grace_ns;           /* SIGTERM -> SIGKILL; default 2 s */
  fb_lab_net *net;            /* NULL: a network of its own, destroyed with the lab */
  /* Receives each service's seccomp listener (ownership passes) before the
   * service may exec: the engine must serve it from here on. */
  int (*on_listener) (void *ctx, size_t idx, pid_t pid, int fd, fb_error *err);
  /* From the lab's watcher thread while the lab runs (not once
   * fb_lab_stop began): each line (without its newline, empty lines
   * skipped) of a captured stream (1 stdout, 2 stderr); and each exit of
   * a started service the lab did not cause itself (fb_lab_kill_service
   * with SIGKILL, a restart, teardown), code as fb_lab_service_exited's. */
  void (*on_output) (void *ctx, size_t idx, int stream, const char *line, size_t len);
  void (*on_exit) (void *ctx, size_t idx, int code);
  void *ctx;
} fb_lab_plan;

typedef struct fb_lab fb_lab;

/* Capabilities by name: "net_admin", "NET_ADMIN" or "CAP_NET_ADMIN"; -1
 * when unknown. fb_cap_name gives the short lower-case name, NULL past the
 * last one (to list them). */
int fb_cap_from_name (const char *name);
const char *fb_cap_name (int cap);
/* chown dac_override fowner fsetid kill setgid setuid setpcap
 * net_bind_service net_raw sys_chroot mknod audit_write setfcap */
uint64_t fb_cap_default_mask (void);
uint64_t fb_cap_all_mask (void);

/* Where a service binary lives, as the lab needs it. */
typedef struct fb_binpath {
  char *path;      /* absolute, symlinks kept: some programs dispatch on argv[0] */
  char *dir;       /* its directory */
  char *real_dir;  /* the directory of the file it resolves to */
} fb_binpath;

/* Resolves name (absolute, relative to cwd, or searched in PATH) to an
 * executable. On failure returns -1 with errno set (ENOENT when PATH had no
 * such program). */
int fb_binpath_resolve (const char *name, fb_binpath *out);
void fb_binpath_clear (fb_binpath *b);

/* A service name: letters, digits, '-' and '_', 1 to 40 of them. */
bool fb_lab_valid_name (const char *name);

/* The services die with the thread that made the process's first lab
 * (the parent death signal of their inits and of the fork server that
 * makes them), so labs are made by one thread that outlives them. */
int fb_lab_create (const fb_lab_plan *plan, fb_lab **out, fb_error *err);
/* Starts one service (the runner orders them and waits for health between). */
int fb_lab_start_service (fb_lab *lab, size_t idx, fb_error *err);
/* The address other services and the test client reach it at. */
const char *fb_lab_service_addr (const fb_lab *lab, size_t idx);
const char *fb_lab_worker_addr (const fb_lab *lab);
/* Where the proxy listens for a proxied service (what its name resolves
 * to in the lab), NULL for the others. */
const char *fb_lab_proxy_addr (const fb_lab *lab, size_t idx);
pid_t fb_lab_service_pid (const fb_lab *lab, size_t idx);
/* True (and *code set: exit status, 128+N for signal N) once it exited. */
bool fb_lab_service_exited (fb_lab *lab, size_t idx, int *code);
/* True when the service's memory limit killed one of its processes. */
bool fb_lab_service_oom (const fb_lab *lab, size_t idx);
/* Blocks until the service exits; returns its code. */
int fb_lab_wait_service (fb_lab *lab, size_t idx);
/* Path of the captured stdout+stderr of a service. */
const char *fb_lab_service_log (const fb_lab *lab, size_t idx);
/* True when path, as the service's own fds show it, is that log: the host
 * path, or, when the work directory's filesystem is not mounted in the
 * service (a tmpfs such as /dev/shm), the path inside that filesystem. */
bool fb_lab_is_service_log (const fb_lab *lab, size_t idx, const char *path);
/* Moves the calling thread into the lab network (svc < 0) or into a
 * service's own network namespace; fb_lab_leave returns it home. */
int fb_lab_enter (fb_lab *lab, ssize_t svc, fb_error *err);
void fb_lab_leave (fb_lab *lab);

/* Readiness without connecting: a socket (the caller closes it) that
 * answers for service idx's network whether a TCP port there has a
 * listener (fb_lab_listening: 1 yes, 0 not yet). It holds that network
 * while open. */
int fb_lab_listen_watch (fb_lab *lab, size_t idx, fb_error *err);
int fb_lab_listening (int watch, int port, fb_error *err);
/* Partitions: IP packets between the services of group a and group b are
 * dropped on the lab bridge (both ways, or one way), cutting established
 * connections silently; heal removes exactly that partition. Built with
 * netem's loss 100 % on the receivers' ports where the kernel has sch_netem,
 * else with nftables rules; ARP passes either way. */
typedef enum { FB_LAB_PART_BOTH, FB_LAB_PART_A_TO_B, FB_LAB_PART_B_TO_A } fb_lab_part_dir;
int fb_lab_partition (fb_lab *lab, const size_t *a, size_t na, const size_t *b, size_t nb, fb_lab_part_dir dir,
                      unsigned *id, fb_error *err);
int fb_lab_heal (fb_lab *lab, unsigned id, fb_error *err);

/* Impairs what service `to` receives from service `from` (from < 0: from
 * anyone, the test client included), on the bridge side of to's veth; the
 * rest of to's traffic is untouched. delay/jitter/loss/duplicate/reorder/
 * corrupt need sch_netem; a rate alone needs only htb. Applying again
 * replaces that pair's fault; clear restores the plain link. Returns 1
 * instead of 0 when f is seeded but the kernel (before 6.6) ignored the
 * seed, so the drops are not reproducible. */
int fb_lab_link_fault (fb_lab *lab, ssize_t from, size_t to, const fb_link_impairment *f, fb_error *err);
int fb_lab_link_clear (fb_lab *lab, ssize_t from, size_t to, fb_error *err);

/* The lifecycle of one service while the lab runs. kill: sig to the
 * service's main process; SIGKILL to its whole cgroup, returning once it
 * is gone (and reaped: fb_lab_service_exited says so). */
int fb_lab_kill_service (fb_lab *lab, size_t idx, int sig, fb_error *err);
/* Stops it if it runs (SIGTERM, the grace period, SIGKILL of its cgroup),
 * then makes a new sandbox (namespaces, veth with the same address and
 * MAC, init) over the same work directory and overlay upper layer and
 * starts it; its new listener goes to on_listener. Partitions and link
 * faults on its old veth are gone with it. */
int fb_lab_restart_service (fb_lab *lab, size_t idx, fb_error *err);
/* cgroup v2 freezer: every process of the service stops (packets to it
 * queue in its sockets) until resume. Both return once the kernel says
 * the cgroup is (un)frozen. */
int fb_lab_pause_service (fb_lab *lab, size_t idx, fb_error *err);
int fb_lab_resume_service (fb_lab *lab, size_t idx, fb_error *err);
bool fb_lab_service_paused (const fb_lab *lab, size_t idx);
/* True while it runs: started and not exited. */
bool fb_lab_service_running (fb_lab *lab, size_t idx);
/* Returns once the watcher handed on_output every line the services
 * wrote before the call (that reached their pipes). */
void fb_lab_flush_output (fb_lab *lab);

/* Sends sig to every service's init (which forwards it). */
void fb_lab_signal (fb_lab *lab, int sig);
/* Stops every service: SIGTERM, the grace period, then SIGKILL of its
 * cgroup; their logs stay readable until fb_lab_destroy. */
void fb_lab_stop (fb_lab *lab);
/* Stops what still runs and removes everything. NULL-safe. A kept network
 * (plan.net) is reset for the next lab: its ports to our services are cut
 * off the bridge at once (the kernel deletes them later, with the services'
 * namespaces, so the next lab's ports get other names), the worker's
 * neighbour entries are flushed, and the nftables partitions' table goes
 * (netem partitions and link faults live on our ports and go with them).
 * The worker saves no TCP metrics in a lab network, and nothing there uses
 * conntrack, so no other state carries over. */
void fb_lab_destroy (fb_lab *lab);

/* Where the lab's files are: service logs, work dirs, overlay layers. */
const char *fb_lab_workdir (const fb_lab *lab);

/* Removes cgroups left by runners that died (kill -9), telling on_swept
 * (may be NULL) about each; returns how many. */
typedef void (*fb_lab_swept_fn) (void *ctx, const char *cgroup, pid_t runner);
int fb_lab_sweep_leftovers (fb_lab_swept_fn on_swept, void *ctx);
/* After killing (and reaping) the runner process pid in the middle of a
 * test: stops what its labs left running and removes their cgroups and,
 * unless keep_workdirs, their work directories (default base only). */
void fb_lab_sweep_runner (pid_t runner, bool keep_workdirs);

#endif
