/* The sandbox's own processes, run from faultbox-init, a small static
 * program the library carries inside it and execs from a memfd: a process
 * the runner forks would copy the runner's address space (page tables,
 * then a copy-on-write fault per page it touches) three times per service,
 * most of a lab's cost. Per service:
 *   keeper: our child, made by fb_init_spawn (vfork + exec); makes the
 *     service's network namespace and veth, then clones init into the
 *     service's other namespaces and cgroup and waits for it, so that init
 *     dies when the keeper does and the keeper with the runner;
 *   init: PID 1 of the service; sets up the service's network, root and
 *     capabilities, starts the service (handing its seccomp listener to the
 *     runner first), reaps, forwards signals, exits with the service's status. */
#ifndef FB_SANDBOX_INIT_H
#define FB_SANDBOX_INIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "faultbox/lab.h"
#include "util/buf.h"

typedef struct fb_init_args {
  const fb_service_plan *plan;
  int ctl;               /* control socket to the runner */
  int cgfd;              /* the service's v2 cgroup (O_PATH), -1: none */
  int lab_netns;         /* the lab network, where the bridge is */
  pid_t parent;          /* init's: the keeper */
  bool wait_cgroup;      /* v1 limits: the runner moves the keeper first ('C') */
  const char *workdir;   /* the lab's work directory on the host */
  const char *log_path;
  const char *veth;      /* the bridge side's name */
  int bridge;            /* ifindex in lab_netns */
  uint32_t addr;         /* network order */
  int prefix;
  uint32_t gateway;
} fb_init_args;

/* Control messages (one SEQPACKET message each, first byte the type):
 * runner -> init: 'C' v1 cgroups joined (to the keeper, only with v1
 * limits), 'G' start the service (init sets up the network, made by the
 * keeper before init exists, and the root before it waits for this),
 * 'A' listener taken;
 * init -> runner: 'P' <pid> (from the keeper, in any order with init's own),
 * 'S' service stopped with its filter installed, 'R' service exec'd,
 * 'E' <message> setup failed. */
int fb_init_send (int fd, char type, const void *data, size_t len);
/* Receives one message into payload (NUL-terminated); its type, 0 on EOF. */
char fb_init_recv (int fd, char *payload, size_t len);

/* Starts a keeper for a: its ctl, cgfd and lab_netns are passed on (the
 * caller keeps its own copies), everything else is given as data. Returns
 * its pid, -1 with err set. */
pid_t fb_init_spawn (const fb_init_args *a, fb_error *err);

/* a as bytes and back; unpacking points into data and fills *plan, whose
 * arrays it allocates (the keeper's, freed when it exits). */
void fb_init_pack (const fb_init_args *a, fb_buf *out);
int fb_init_unpack (char *data, size_t len, fb_init_args *a, fb_service_plan *plan);

_Noreturn void fb_init_main (const fb_init_args *a);

#endif
