/* The syscalls each service's seccomp filter routes to the engine in a
 * run: what the spec's rules name, plus what the run's options add. */
#include "runner/internal.h"
#include "util/cleanup.h"

char **
fb_run_service_filter (const fb_spec *s, size_t i, const fb_test_options *o)
{
  char **v = NULL;
  size_t n = 0;
  spec_strv_add (&v, &n, s->filters[i]);
  if (o && o->virtual_time)
    spec_strv_add (&v, &n, (char *const[]) { "nanosleep", "clock_nanosleep", "clock_gettime", NULL });
  if (o && o->explore && s->has_parallel)
    {
      _cleanup_strv_ char **held = spec_explore_syscalls ();
      spec_strv_add (&v, &n, held);
    }
  return v;
}
