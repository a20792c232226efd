/* What every lab the runner makes needs of its services: the engine
 * takes over their seccomp listeners; binaries named on the command line
 * are found and made visible. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runner/internal.h"
#include "util/alloc.h"

int
runner_hand_over (void *ctx, size_t idx, pid_t pid, int fd, fb_error *err)
{
  const runner_listeners *ln = ctx;
  return fb_engine_add_service (ln->engine, ln->services[idx].name, pid, fd, err);
}

int
runner_binary_resolve (char *const *argv, const char *const *extra, bool rootfs, runner_binary *out,
                       fb_error *err)
{
  runner_binary b = { 0 };
  if (!rootfs && fb_binpath_resolve (argv[0], &b.bin) < 0)
    return fb_error_setsys (err, errno, "cannot execute %s", argv[0]);
  size_t n = 0, n_extra = 0;
  while (argv[n])
    n++;
  while (extra && extra[n_extra])
    n_extra++;
  b.argv = fb_xcalloc (n + 1, sizeof *b.argv);
  memcpy (b.argv, argv, n * sizeof *argv);
  b.binds = fb_xcalloc (n_extra + 3, sizeof *b.binds);
  size_t k = 0;
  if (!rootfs)
    {
      b.argv[0] = b.bin.path;
      b.binds[k++] = b.bin.dir;
      b.binds[k++] = b.bin.real_dir;
    }
  if (n_extra)
    memcpy (b.binds + k, extra, n_extra * sizeof *extra);
  *out = b;
  return 0;
}

void
runner_binary_clear (runner_binary *b)
{
  fb_binpath_clear (&b->bin);
  free (b->argv);
  free (b->binds);
  memset (b, 0, sizeof *b);
}
