/* Bench target: N getppid() (or getpid()) calls; prints ns per call.
 * Usage: getppid_loop N [getppid|getpid] [SETTLE_MS]. SETTLE_MS: sleep
 * first, so the timed calls do not share the CPU with the work that
 * starting the target left behind (a lab's namespaces, cgroups, veths). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  long n = argc > 1 ? atol (argv[1]) : 100000;
  const char *which = argc > 2 ? argv[2] : "getppid";
  long settle_ms = argc > 3 ? atol (argv[3]) : 0;
  long nr = strcmp (which, "getppid") == 0 ? SYS_getppid : SYS_getpid;
  if (settle_ms > 0)
    usleep ((useconds_t) settle_ms * 1000);
  struct timespec a, b;
  clock_gettime (CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++)
    syscall (nr);
  clock_gettime (CLOCK_MONOTONIC, &b);
  double ns = (double) (b.tv_sec - a.tv_sec) * 1e9 + (double) (b.tv_nsec - a.tv_nsec);
  printf ("%.1f\n", ns / (double) n);
  return 0;
}
