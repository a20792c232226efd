/* Our init, PID 1 of each service: sets up the service's network, root
 * and capabilities, starts the service (handing its seccomp listener to
 * the runner first), reaps, forwards signals, and exits with the service's
 * status. It runs as faultbox-init (init_main.c), a small static program
 * the library carries inside it and execs from a memfd: a sandbox process
 * forked from the runner would copy the runner's address space and take a
 * copy-on-write fault for every page it touches, most of a lab's cost. */
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
  const char *workdir;   /* the lab's work directory on the host */
  const char *log_path;
  uint32_t addr;         /* network order */
  int prefix;
  uint32_t gateway;
} fb_init_args;

/* Control messages (one SEQPACKET message each, first byte the type):
 * runner -> init: 'G' start the service (init sets up its network and
 * root before it waits for this), 'A' listener taken;
 * init -> runner: 'S' service stopped with its filter installed, 'R'
 * service exec'd, 'E' <message> setup failed. */
int fb_init_send (int fd, char type, const void *data, size_t len);
/* Receives one message into payload (NUL-terminated); its type, 0 on EOF. */
char fb_init_recv (int fd, char *payload, size_t len);

/* Starts init in new mount, pid, uts and ipc namespaces, the calling
 * thread's network namespace, and (cgfd >= 0) that v2 cgroup; it gets a's
 * ctl (the caller keeps its own copy) and dies with the calling thread.
 * Returns its pid and a pidfd for it, -1 with err set. */
pid_t fb_init_spawn (const fb_init_args *a, int cgfd, int *pidfd, fb_error *err);

/* a as bytes and back; unpacking points into data and fills *plan, whose
 * arrays it allocates (init's, freed when it exits). */
void fb_init_pack (const fb_init_args *a, fb_buf *out);
int fb_init_unpack (char *data, size_t len, fb_init_args *a, fb_service_plan *plan);

_Noreturn void fb_init_main (const fb_init_args *a);

#endif
