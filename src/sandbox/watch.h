/* The lab's watcher: one thread per lab that follows what its services
 * do on their own while the test runs. It reads the pipes of observed
 * output streams (copying every byte to the service's log and handing
 * each line on as it completes, so a step or monitor sees it during the
 * test) and notices a service's init exiting (its pidfd turns readable).
 * Lab-internal. */
#ifndef FB_SANDBOX_WATCH_H
#define FB_SANDBOX_WATCH_H

#include <stddef.h>
#include "faultbox/error.h"

typedef struct fb_watch fb_watch;

typedef struct {
  /* a line without its newline (empty lines are skipped) */
  void (*line) (void *ctx, size_t idx, int stream, const char *line, size_t len);
  /* the pidfd registered for (idx, gen) turned readable */
  void (*exited) (void *ctx, size_t idx, unsigned gen);
  void *ctx;
} fb_watch_ops;

fb_watch *fb_watch_new (const fb_watch_ops *ops, fb_error *err);
/* Follows the read end fd of service idx's stream (1 or 2) until EOF,
 * appending what comes to logfd; both fds become the watcher's. */
int fb_watch_stream (fb_watch *w, size_t idx, int stream, int fd, int logfd, fb_error *err);
/* Tells exited(idx, gen) once, when pidfd (duplicated here) is readable. */
int fb_watch_pidfd (fb_watch *w, size_t idx, unsigned gen, int pidfd, fb_error *err);
/* No more callbacks from now on; the logs still get everything. */
void fb_watch_mute (fb_watch *w);
/* Returns once everything readable when called was handled. */
void fb_watch_flush (fb_watch *w);
/* Copies what the pipes still hold (their writers are gone by now), for
 * at most a second, then stops the thread and frees. NULL-safe. */
void fb_watch_free (fb_watch *w);

#endif
