/* Our init, PID 1 of each service: sets up the service's network, root
 * and capabilities, starts the service (handing its seccomp listener to
 * the runner first), reaps, forwards signals, and exits with the service's
 * status. Inits are forked by faultbox-init (init_main.c), a small static
 * program the library carries inside it and execs from a memfd once per
 * runner process: a sandbox process forked from the runner would copy the
 * runner's address space and take a copy-on-write fault for every page it
 * touches, and an exec per service would pay the C library's start-up
 * each time (in a VM, its CPUID probes are most of an exec). */
#ifndef FB_SANDBOX_INIT_H
#define FB_SANDBOX_INIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "faultbox/lab.h"
#include "faultbox/buf.h"

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

/* Starts init in new mount, pid, uts and ipc namespaces, network
 * namespace netns and (cgfd >= 0) that v2 cgroup, as a child of the
 * calling process; it gets a's ctl (the caller keeps its own copy) and
 * dies with the thread that made the process's first lab. Returns its pid
 * and a pidfd for it, -1 with err set. */
pid_t fb_init_spawn (const fb_init_args *a, int netns, int cgfd, int *pidfd, fb_error *err);

/* The fork server (faultbox-init SOCKET): per request, fds ctl, config,
 * netns and optionally a cgroup, it forks an init (fb_init_spawn's
 * sandbox, a sibling of itself) and replies with a fb_init_forked and,
 * when it made one, the init's pidfd. It exits when the socket closes. */
typedef struct {
  int32_t pid;           /* > 0, or the failure's errno negated */
  char step[60];         /* what failed */
} fb_init_forked;

/* One SEQPACKET message with up to FB_INIT_MAX_FDS fds; received ones are
 * close-on-exec. recv returns the data's length, 0 on EOF, -1 on error. */
#define FB_INIT_MAX_FDS 4
int fb_init_send_fds (int sock, const void *data, size_t len, const int *fds, size_t n);
ssize_t fb_init_recv_fds (int sock, void *data, size_t len, int *fds, size_t *n);

/* a as bytes and back; unpacking points into data and fills *plan, whose
 * arrays it allocates (init's, freed when it exits). */
void fb_init_pack (const fb_init_args *a, fb_buf *out);
int fb_init_unpack (char *data, size_t len, fb_init_args *a, fb_service_plan *plan);

_Noreturn void fb_init_main (const fb_init_args *a);

#endif
