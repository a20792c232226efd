/* faultbox-init: a service's init (init.c), started by fb_init_spawn only.
 * Static, so that it starts without the dynamic loader.
 * Usage: faultbox-init CTL CONFIG */
#include "sandbox/init.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int
cmp_fd (const void *a, const void *b)
{
  return *(const int *) a - *(const int *) b;
}

/* Closes every fd from 3 up but the n in keep (each >= 3 or < 0). */
static void
close_all_but (int *keep, size_t n)
{
  qsort (keep, n, sizeof *keep, cmp_fd);
  unsigned from = 3;
  for (size_t i = 0; i < n; i++)
    if (keep[i] >= (int) from)
      {
        if (keep[i] > (int) from)
          close_range (from, (unsigned) keep[i] - 1, 0);
        from = (unsigned) keep[i] + 1;
      }
  close_range (from, ~0U, 0);
}

static int
read_config (int fd, char **data, size_t *len)
{
  struct stat st;
  if (fstat (fd, &st) < 0 || st.st_size <= 0)
    return -1;
  *len = (size_t) st.st_size;
  *data = malloc (*len);
  return *data && pread (fd, *data, *len, 0) == (ssize_t) *len ? 0 : -1;
}

int
main (int argc, char **argv)
{
  /* what the runner ignored or blocked is not the service's business */
  sigset_t none;
  sigemptyset (&none);
  for (int s = 1; s < NSIG; s++)
    signal (s, SIG_DFL);
  sigprocmask (SIG_SETMASK, &none, NULL);
  if (argc != 3)
    {
      fprintf (stderr, "faultbox-init: started by the faultbox library only\n");
      return 2;
    }
  fb_init_args a = { .ctl = atoi (argv[1]) };
  int cfg = atoi (argv[2]);
  /* Keep nothing of the runner's but stdio, the control socket and the
   * configuration: a service must not hold the runner's fds, least of all
   * another service's seccomp listener, which the runner would then take
   * for this one's. */
  int keep[] = { a.ctl, cfg };
  close_all_but (keep, sizeof keep / sizeof keep[0]);
  fcntl (a.ctl, F_SETFD, FD_CLOEXEC); /* inherited for the exec, not the service's */
  char *data;
  size_t len;
  fb_service_plan plan;
  if (read_config (cfg, &data, &len) < 0 || fb_init_unpack (data, len, &a, &plan) < 0)
    {
      static const char msg[] = "Efaultbox-init: cannot read its configuration";
      fb_init_send (a.ctl, msg[0], msg + 1, sizeof msg - 2);
      return 125;
    }
  close (cfg);
  fb_init_main (&a);
}
