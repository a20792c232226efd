/* Outcome predicates for fault_scenario(expect=) and fault_matrix
 * (builtins_expect.go): each returns a callable of the scenario's result
 * that raises when the outcome is not the expected one. */
#include <stdint.h>
#include <string.h>

#include "lang/internal.h"
#include "util/cleanup.h"

/* r.name or r["name"] (a dict or a struct), NULL when it has none: a
 * step response has .status, which Faultbox does not read either. */
static fb_value *
field (fb_value *r, const char *name)
{
  switch (fb_value_type_of (r))
    {
    case FB_V_DICT: return fb_dict_get_str (r, name);
    case FB_V_STRUCT: return fb_struct_get (r, name);
    default: return NULL;
    }
}

static bool
int_field (fb_value *r, const char *name, int64_t *out)
{
  fb_value *v = field (r, name);
  return v && fb_value_as_int64 (v, out);
}

static fb_value *
check_success (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *r;
  if (fb_star_unpack (th, "expect_success", a, "result", &r, NULL) < 0)
    return NULL;
  if (r == fb_none ())
    return fb_star_errorf (th, "expect_success: scenario returned None (did it complete?)");
  int64_t code;
  if (int_field (r, "status_code", &code) && code >= 500)
    return fb_star_errorf (th, "expect_success: status_code=%lld (want < 500)", (long long) code);
  return fb_none ();
}

static fb_value *
check_error_within (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  int64_t budget = (int64_t) (intptr_t) fb_builtin_data (self);
  fb_value *r;
  if (fb_star_unpack (th, "expect_error_within", a, "result", &r, NULL) < 0)
    return NULL;
  if (r == fb_none ())
    return fb_star_errorf (th, "expect_error_within: scenario didn't return (hang? use expect_hang instead)");
  int64_t code = 0, took;
  bool has_code = int_field (r, "status_code", &code);
  fb_value *err = field (r, "error");
  bool errored = (has_code && code >= 500) || (err && err != fb_none () && fb_value_truth (err));
  if (!errored)
    return fb_star_errorf (th, "expect_error_within: scenario returned success (status=%lld) — expected an error",
                           (long long) code);
  if (int_field (r, "duration_ms", &took) && took > budget)
    return fb_star_errorf (th, "expect_error_within: took %lldms — exceeded budget %lldms", (long long) took,
                           (long long) budget);
  return fb_none ();
}

static fb_value *
check_hang (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *r;
  if (fb_star_unpack (th, "expect_hang", a, "result", &r, NULL) < 0)
    return NULL;
  if (r == fb_none ())
    return fb_none ();
  _cleanup_free_ char *s = fb_value_repr (th, r);
  return fb_star_errorf (th, "expect_hang: scenario returned %s — expected it to hang (no result before its timeout)", s);
}

static fb_value *
b_expect_success (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  if (fb_star_unpack (th, "expect_success", a, NULL) < 0)
    return NULL;
  return fb_builtin_new (th, "expect_success", check_success, NULL);
}

static fb_value *
b_expect_error_within (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  int64_t ms;
  if (fb_star_unpack (th, "expect_error_within", a, "ms:i", &ms, NULL) < 0)
    return NULL;
  if (ms <= 0)
    return fb_star_errorf (th, "expect_error_within: ms must be > 0 (got %lld)", (long long) ms);
  return fb_builtin_new (th, "expect_error_within", check_error_within, (void *) (intptr_t) ms);
}

static fb_value *
b_expect_hang (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  if (fb_star_unpack (th, "expect_hang", a, NULL) < 0)
    return NULL;
  return fb_builtin_new (th, "expect_hang", check_hang, NULL);
}

void
spec_predeclare_expect (fb_spec *s)
{
  static const spec_builtin fns[] = {
    { "expect_success", b_expect_success },
    { "expect_error_within", b_expect_error_within },
    { "expect_hang", b_expect_hang },
  };
  spec_predeclare_all (s, fns, sizeof fns / sizeof *fns);
}
