/* Bench driver: ITERATIONS create + start + destroy cycles of a lab with
 * SERVICES services, each /bin/true (exits at once); prints the mean ms per
 * cycle. With "kept", the labs borrow one network (fb_lab_net) as a
 * runner's worker does; otherwise each makes its own. With FB_BENCH_PHASES
 * set, also the mean ms of each phase on stderr; FB_BENCH_WORKDIR is the
 * labs' work directory base (default /tmp).
 * Not root, it runs rootless (fb_rootless_enter) as faultbox would.
 * Usage: lab_cycle SERVICES ITERATIONS [kept] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultbox/lab.h"
#include "faultbox/rootless.h"
#include "util/time.h"

int
main (int argc, char **argv)
{
  fb_error rerr = { 0 };
  if (fb_rootless_enter (&rerr) < 0)
    {
      fprintf (stderr, "%s\n", rerr.msg);
      return 1;
    }
  size_t n = argc > 1 ? (size_t) atol (argv[1]) : 2;
  long iters = argc > 2 ? atol (argv[2]) : 50;
  static char *const true_argv[] = { "/bin/true", NULL };
  static char *const envp[] = { "PATH=/usr/bin:/bin", NULL };
  fb_service_plan *svcs = calloc (n + 1, sizeof *svcs);
  char (*names)[16] = calloc (n + 1, sizeof *names);
  for (size_t i = 0; i < n; i++)
    {
      snprintf (names[i], sizeof names[i], "s%02zu", i);
      svcs[i] = (fb_service_plan) { .name = names[i], .argv = true_argv, .envp = envp };
    }
  fb_lab_net *net = argc > 3 && !strcmp (argv[3], "kept") ? fb_lab_net_new () : NULL;
  fb_lab_plan plan = { .services = svcs, .n_services = n, .net = net, .workdir_base = getenv ("FB_BENCH_WORKDIR") };
  int64_t phase[3] = { 0 };
  int64_t t0 = fb_now_ns ();
  for (long k = 0; k < iters; k++)
    {
      fb_error err = { 0 };
      fb_lab *lab;
      int64_t a = fb_now_ns ();
      if (fb_lab_create (&plan, &lab, &err) < 0)
        {
          fprintf (stderr, "lab: %s\n", err.msg);
          return 1;
        }
      int64_t b = fb_now_ns ();
      for (size_t i = 0; i < n; i++)
        if (fb_lab_start_service (lab, i, &err) < 0)
          {
            fprintf (stderr, "lab: %s\n", err.msg);
            fb_lab_destroy (lab);
            return 1;
          }
      int64_t c = fb_now_ns ();
      fb_lab_destroy (lab);
      int64_t d = fb_now_ns ();
      phase[0] += b - a, phase[1] += c - b, phase[2] += d - c;
    }
  double per = (double) (fb_now_ns () - t0) / (double) iters / 1e6;
  printf ("%.3f\n", per);
  if (getenv ("FB_BENCH_PHASES"))
    fprintf (stderr, "create %.3f ms, start %.3f ms, destroy %.3f ms\n", (double) phase[0] / (double) iters / 1e6,
             (double) phase[1] / (double) iters / 1e6, (double) phase[2] / (double) iters / 1e6);
  fb_lab_net_free (net);
  free (names);
  free (svcs);
  return 0;
}
