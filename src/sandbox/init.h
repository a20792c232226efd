/* PID 1 of each service: sets up the service's root, network and
 * capabilities, starts the service (handing its seccomp listener to the
 * runner first), reaps, forwards signals, and exits with the service's status. */
#ifndef FB_SANDBOX_INIT_H
#define FB_SANDBOX_INIT_H

#include <stdint.h>
#include <sys/types.h>
#include "faultbox/lab.h"

typedef struct fb_init_args {
  const fb_service_plan *plan;
  int ctl;               /* control socket to the runner */
  pid_t parent;
  const char *workdir;   /* the lab's work directory on the host */
  uint32_t addr;         /* network order */
  int prefix;
  uint32_t gateway;
  const char *log_path;
} fb_init_args;

/* Control messages (one SEQPACKET message each, first byte the type):
 * runner -> init: 'C' v1 cgroups joined (to the keeper, only with v1
 * limits), 'G' start the service (init sets up the network, made by the
 * keeper before init exists, and the root before it waits for this),
 * 'A' listener taken;
 * init -> runner: 'P' <pid> (from the keeper, in any order with init's own),
 * 'S' service stopped with its filter installed, 'R' service exec'd,
 * 'E' <message> setup failed. */
_Noreturn void fb_init_main (const fb_init_args *a);

#endif
