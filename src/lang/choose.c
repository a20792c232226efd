/* Faultbox's non-deterministic operators, single-leaf: choose() returns
 * its first option (Faultbox fans a test out into one leaf per named
 * choice; we run the one leaf of first options — no fan-out), halt()
 * stops the body with a HALTED result, assume() at the top level checks
 * its predicate while loading, test(assume=[...]) at the body's entry. */
#include <stdlib.h>
#include <string.h>

#include "lang/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"

/* choose(options) / choose(name, options): the first option. */
static fb_value *
b_choose (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  if (a->nkw)
    return fb_star_errorf (th, "choose() takes only positional arguments");
  if (a->npos < 1 || a->npos > 2)
    return fb_star_errorf (th, "choose: want choose(options) or choose(name, options), got %zu arguments", a->npos);
  if (a->npos == 2 && fb_value_type_of (a->pos[0]) != FB_V_STRING)
    return fb_star_errorf (th, "choose(name, options): name must be a string, got %s",
                           fb_value_type_name (a->pos[0]));
  fb_value *opts = a->pos[a->npos - 1];
  if (fb_value_type_of (opts) != FB_V_LIST)
    return fb_star_errorf (th, "choose(options): options must be a list, got %s", fb_value_type_name (opts));
  if (!fb_value_len (opts))
    return fb_star_errorf (th, "choose(): options list must be non-empty");
  return fb_value_at (opts, 0);
}

/* halt(reason=""): the body stops; the test is HALTED, not failed. */
static fb_value *
b_halt (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_of (th)->session;
  if (!ss)
    return fb_star_errorf (th, "halt() may only be called inside a test body; got call at module top level");
  if (a->nkw)
    return fb_star_errorf (th, "halt() takes only an optional positional reason");
  if (a->npos > 1)
    return fb_star_errorf (th, "halt() takes at most one argument; got %zu", a->npos);
  const char *reason = a->npos ? fb_value_as_string (a->pos[0], NULL) : "";
  if (a->npos && fb_value_type_of (a->pos[0]) != FB_V_STRING)
    return fb_star_errorf (th, "halt() reason must be a string, got %s", fb_value_type_name (a->pos[0]));
  free (ss->halted);
  ss->halted = *reason ? fb_xasprintf ("halt: %s", reason) : fb_xstrdup ("halt");
  return fb_star_errorf (th, "%s", ss->halted);
}

int
spec_check_assume (fb_star_thread *th, const char *fname, fb_value *v)
{
  if (fb_value_is_callable (v) || fb_value_type_of (v) == FB_V_BOOL)
    return 0;
  fb_star_errorf (th, "%s: predicate must be callable or bool, got %s", fname, fb_value_type_name (v));
  return -1;
}

int
spec_eval_assume (fb_star_thread *th, fb_value *pred, char **why)
{
  const char *fn = fb_value_func_name (pred);
  _cleanup_free_ char *name = fn ? fb_xstrdup (fn) : fb_xasprintf ("const_%s", fb_value_truth (pred) ? "True" : "False");
  fb_value *r = pred;
  if (fb_value_is_callable (pred))
    {
      /* the choices: {name: option} of named choose() axes; one leaf of
       * first options, whose names we do not track: empty */
      fb_value *choices = fb_dict_new (th);
      r = fb_star_call (th, pred, &(fb_star_args) { .npos = 1, .pos = &choices });
    }
  if (!r)
    {
      const char *m = fb_star_error_message (th);
      *why = fb_xasprintf ("assume(%s) raised: %.*s", name, m ? (int) strcspn (m, "\n") : 0, m ? m : "");
      fb_error e = { 0 };
      fb_star_take_error (th, &e);
      return -1;
    }
  *why = fb_value_truth (r) ? NULL : fb_xasprintf ("assume(%s) not satisfied", name);
  return 0;
}

/* assume(pred) at the top level: checked now, against the choices. */
static fb_value *
b_assume (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  if (a->nkw || a->npos != 1)
    return fb_star_errorf (th, "assume(predicate): takes exactly one positional argument");
  if (spec_check_assume (th, "assume()", a->pos[0]) < 0)
    return NULL;
  _cleanup_free_ char *why = NULL;
  if (spec_eval_assume (th, a->pos[0], &why) < 0)
    return fb_star_errorf (th, "%s", why);
  if (why)
    return fb_star_errorf (th, "%.*s violated at spec load: %s", (int) strcspn (why, " "), why, why);
  return fb_none ();
}

void
spec_predeclare_choose (fb_spec *s)
{
  static const spec_builtin fns[] = {
    { "choose", b_choose }, { "halt", b_halt }, { "assume", b_assume },
  };
  spec_predeclare_all (s, fns, sizeof fns / sizeof *fns);
}
