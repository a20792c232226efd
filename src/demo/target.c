/* target: the tutorial's first program. Writes "hello faultbox" to a file
 * under /tmp, reads it back, and says what happened at each step, so that a
 * denied or delayed syscall shows in its output and exit code. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
ms_since (const struct timespec *t0)
{
  struct timespec t1;
  clock_gettime (CLOCK_MONOTONIC, &t1);
  return (double) (t1.tv_sec - t0->tv_sec) * 1e3 + (double) (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

int
main (void)
{
  const char *path = "/tmp/faultbox-target-test";
  const char msg[] = "hello faultbox";
  printf ("=== Faultbox Target ===\nPID: %d\n", (int) getpid ());
  fflush (stdout);
  struct timespec t0;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  int fd = open (path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      fprintf (stderr, "fs write failed: open %s: %s (took %.1fms)\n", path, strerror (errno), ms_since (&t0));
      return 1;
    }
  ssize_t n = write (fd, msg, sizeof msg - 1);
  int werr = errno;
  close (fd);
  if (n != (ssize_t) (sizeof msg - 1))
    {
      fprintf (stderr, "fs write failed: write %s: %s (took %.1fms)\n", path, n < 0 ? strerror (werr) : "short write",
               ms_since (&t0));
      return 1;
    }
  char buf[64] = "";
  fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t r = fd < 0 ? -1 : read (fd, buf, sizeof buf - 1);
  int rerr = errno;
  if (fd >= 0)
    close (fd);
  unlink (path);
  if (r < 0)
    {
      fprintf (stderr, "fs read failed: %s: %s (took %.1fms)\n", path, strerror (rerr), ms_since (&t0));
      return 1;
    }
  printf ("FS: wrote and read %zd bytes (took %.1fms)\n", r, ms_since (&t0));
  printf ("=== Target done ===\n");
  return strcmp (buf, msg) == 0 ? 0 : 1;
}
