/* The syscalls each service's seccomp filter routes to the engine in a
 * run: what the spec's rules name, plus what the run's options add, plus
 * what determinism() watches. */
#include <string.h>

#include "runner/internal.h"
#include "util/cleanup.h"

static char **
base_filter (const fb_spec *s, size_t i, const fb_test_options *o, size_t *n)
{
  char **v = NULL;
  *n = 0;
  spec_strv_add (&v, n, s->filters[i]);
  if (o && o->virtual_time)
    spec_strv_add (&v, n, (char *const[]) { "nanosleep", "clock_nanosleep", "clock_gettime", NULL });
  if (o && o->explore && s->has_parallel)
    {
      _cleanup_strv_ char **held = spec_explore_syscalls ();
      spec_strv_add (&v, n, held);
    }
  return v;
}

char **
fb_run_service_filter (const fb_spec *s, size_t i, const fb_test_options *o)
{
  size_t n;
  char **v = base_filter (s, i, o, &n);
  spec_strv_add (&v, &n, spec_det_syscalls (s, i));
  return v;
}

static void
add_unless (char ***v, size_t *k, char *const *base, size_t n, const char *name)
{
  for (size_t j = 0; j < n; j++)
    if (!strcmp (base[j], name))
      return;
  spec_strv_add (v, k, (char *const[]) { (char *) name, NULL });
}

/* What determinism() alone routes: its calls are counted, not logged. */
char **
runner_det_only (const fb_spec *s, size_t i, const fb_test_options *o)
{
  size_t n, k = 0, n_conds;
  _cleanup_strv_ char **base = base_filter (s, i, o, &n);
  char **v = NULL;
  for (char *const *p = spec_det_syscalls (s, i); p && *p; p++)
    add_unless (&v, &k, base, n, *p);
  const fb_filter_cond *c = spec_det_conds (s, i, &n_conds);
  for (size_t j = 0; j < n_conds; j++)
    add_unless (&v, &k, base, n, c[j].syscall);
  return v;
}
