/* Which tests a run selects: --test, then --shard. */
#include <errno.h>
#include <stdlib.h>

#include "runner/match.h"
#include "runner/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"

int
fb_run_select (const fb_spec *sp, const fb_test_options *o, size_t **out, size_t *n_out,
                fb_error *err)
{
  if (o->shards && (o->shard < 1 || o->shard > o->shards))
    return fb_error_set (err, EINVAL, "shard %u/%u: the index must be 1..%u", o->shard, o->shards,
                         o->shards);
  fb_test_filter *filter = NULL;
  if (o->filter && fb_test_filter_new (o->filter, &filter, err) < 0)
    return -1;
  size_t *sel = fb_xcalloc (sp->n_tests + 1, sizeof *sel);
  size_t n = 0;
  for (size_t i = 0; i < sp->n_tests; i++)
    if (!filter || fb_test_filter_match (filter, sp->tests[i].name, NULL))
      sel[n++] = i;
  fb_test_filter_free (filter);
  if (o->filter && !n)
    {
      _cleanup_buf_ fb_buf names = FB_BUF_INIT;
      for (size_t i = 0; i < sp->n_tests; i++)
        fb_buf_printf (&names, "%s%s", i ? ", " : "", sp->tests[i].name);
      free (sel);
      return fb_error_set (err, ENOENT, "no test matched filter \"%s\" (available: %s)", o->filter,
                           sp->n_tests ? fb_buf_str (&names) : "none");
    }
  if (o->shards)
    {
      /* slices differ in size by at most one and cover every test once */
      size_t lo = (o->shard - 1) * n / o->shards, hi = o->shard * n / o->shards;
      for (size_t i = lo; i < hi; i++)
        sel[i - lo] = sel[i];
      n = hi - lo;
    }
  *out = sel;
  *n_out = n;
  return 0;
}
