/* The domain model: scenario() probes, named fault_assumption()s, and the
 * tests composed from them, fault_scenario() and fault_matrix(). They only
 * register tests while the spec loads; run.c runs them. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/parse.h"

typedef struct {
  size_t svc;
  ssize_t iface;     /* a protocol rule's interface (rules=); -1: a syscall fault */
  char *kw;
  fb_value *fault;
} fa_rule;

typedef struct {
  char *name, *description;
  fa_rule *rules;       /* own rules, then those of composed assumptions */
  size_t n_rules;
  fb_value **monitors;  /* own and inherited */
  size_t n_monitors;
  spec_life_action *life; /* crash=, restart=, freeze=: own and inherited */
  size_t n_life;
} assumption_val;

static void
assumption_free (void *p)
{
  assumption_val *a = p;
  for (size_t i = 0; i < a->n_rules; i++)
    free (a->rules[i].kw);
  free (a->rules);
  free (a->monitors);
  free (a->life);
  free (a->name);
  free (a->description);
  free (a);
}

static char *
assumption_repr (fb_value *self)
{
  assumption_val *a = fb_host_data (self, &spec_assumption_type);
  return fb_xasprintf ("fault_assumption(\"%s\")", a->name);
}

static fb_value *
assumption_attr (fb_star_thread *th, fb_value *self, const char *name)
{
  assumption_val *a = fb_host_data (self, &spec_assumption_type);
  if (!strcmp (name, "name"))
    return fb_string (th, a->name);
  if (!strcmp (name, "description"))
    return fb_string (th, a->description);
  return NULL;
}

static const char *const assumption_attrs[] = { "name", "description", NULL };

const fb_host_type spec_assumption_type = {
  .name = "fault_assumption", .attr = assumption_attr, .attr_names = assumption_attrs,
  .repr = assumption_repr, .destroy = assumption_free,
};

/* Checks that v is a list (or tuple) of `type` values; a single value is
 * taken as a one-element list when `single` is set. */
static int
value_list (fb_star_thread *th, const char *fname, const char *kw, fb_value *v,
            const fb_host_type *type, const char *want, bool single,
            fb_value ***out, size_t *n)
{
  *out = NULL;
  *n = 0;
  if (!v || v == fb_none ())
    return 0;
  if (single && fb_host_data (v, type))
    {
      *out = fb_xcalloc (1, sizeof **out);
      (*out)[(*n)++] = v;
      return 0;
    }
  fb_value_type t = fb_value_type_of (v);
  if (t != FB_V_LIST && t != FB_V_TUPLE)
    {
      fb_star_errorf (th, "%s: %s= must be a list of %s, got %s", fname, kw, want,
                      fb_value_type_name (v));
      return -1;
    }
  size_t len = (size_t) fb_value_len (v);
  *out = fb_xcalloc (len + 1, sizeof **out);
  for (size_t i = 0; i < len; i++)
    {
      fb_value *x = fb_value_at (v, i);
      if (!fb_host_data (x, type))
        {
          fb_star_errorf (th, "%s: %s[%zu] must be %s, got %s", fname, kw, i, want,
                          fb_value_type_name (x));
          free (*out);
          *out = NULL;
          return -1;
        }
      (*out)[(*n)++] = x;
    }
  return 0;
}

static bool
valid_keyword (fb_star_thread *th, fb_spec *sp, size_t svc, const char *kw)
{
  const fb_plan_service *s = &sp->plan.services[svc];
  for (size_t i = 0; i < s->n_ops; i++)
    if (!strcmp (s->ops[i].name, kw))
      return true;
  _cleanup_strv_ char **fam = NULL;
  fb_error e = { 0 };
  if (fb_syscall_family (kw, &fam, &e) < 0)
    {
      fb_star_errorf (th, "fault_assumption: %s", e.msg);
      return false;
    }
  return true;
}

/* rules=[response(...), error(...), ...] of an assumption whose target is
 * an interface: protocol-level rules, checked against the protocol when
 * applied. */
static int
add_proxy_rules (fb_star_thread *th, assumption_val *fa, fb_value *target, fb_value *rules)
{
  if (!target || target == fb_none ())
    return fb_star_errorf (th, "fault_assumption %s: requires target= when rules= is specified", fa->name), -1;
  iface_ref *ir = fb_host_data (target, &spec_iface_ref_type);
  if (!ir)
    return fb_star_errorf (th, "fault_assumption %s: rules= requires target to be an interface_ref (e.g., service.interface), got %s",
                           fa->name, fb_value_type_name (target)), -1;
  fb_value_type t = fb_value_type_of (rules);
  if (t != FB_V_LIST && t != FB_V_TUPLE)
    return fb_star_errorf (th, "fault_assumption %s: rules= must be a list of response()/error()/drop()/... rules, got %s",
                           fa->name, fb_value_type_name (rules)), -1;
  for (size_t i = 0; i < (size_t) fb_value_len (rules); i++)
    {
      fb_value *x = fb_value_at (rules, i);
      if (!fb_host_data (x, &spec_proxy_fault_type))
        return fb_star_errorf (th, "fault_assumption %s: rules[%zu] must be a proxy fault (response/error/drop/...), got %s",
                               fa->name, i, fb_value_type_name (x)), -1;
      fa->rules = fb_xreallocarray (fa->rules, fa->n_rules + 1, sizeof *fa->rules);
      fa->rules[fa->n_rules++] = (fa_rule) { ir->svc, (ssize_t) ir->iface, NULL, x };
    }
  return 0;
}

static void
add_life (assumption_val *fa, spec_life_action act)
{
  fa->life = fb_xreallocarray (fa->life, fa->n_life + 1, sizeof *fa->life);
  fa->life[fa->n_life++] = act;
}

/* crash=True | "SIGTERM", restart=True, freeze=True on the target: 1 when
 * k=v is one (added unless False), 0 when it is not (a syscall keyword:
 * an op may be named so), -1 after raising. */
static int
life_keyword (fb_star_thread *th, assumption_val *fa, ssize_t svc, const char *k, fb_value *v)
{
  static const char *const kws[] = { "crash", "restart", "freeze" };
  size_t which = 0;
  while (which < 3 && strcmp (k, kws[which]))
    which++;
  if (which == 3 || fb_host_data (v, &spec_fault_type))
    return 0;
  bool is_bool = fb_value_type_of (v) == FB_V_BOOL;
  const char *sig = which == 0 && fb_value_type_of (v) == FB_V_STRING ? fb_value_as_string (v, NULL) : NULL;
  if (!is_bool && !sig)
    {
      fb_star_errorf (th, "fault_assumption %s: %s= must be True%s, got %s", fa->name, k,
                      which == 0 ? " or a signal name such as \"SIGTERM\"" : "", fb_value_type_name (v));
      return -1;
    }
  if (svc < 0)
    {
      fb_star_errorf (th, "fault_assumption %s: %s= needs target= (the service it happens to)", fa->name, k);
      return -1;
    }
  spec_life_action act = { (size_t) svc, which == 0 ? SPEC_LIFE_CRASH : which == 1 ? SPEC_LIFE_RESTART
                                                                                   : SPEC_LIFE_FREEZE, SIGKILL };
  if (sig && (act.sig = spec_lifecycle_signal (th, "fault_assumption", sig)) < 0)
    return -1;
  if (sig || fb_value_truth (v))
    add_life (fa, act);
  return 1;
}

/* fault_assumption(name, target=, description="", monitors=[], faults=[],
 * crash=, restart=, freeze=, **syscall_faults) */
static fb_value *
b_fault_assumption (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  static const char *const known[] = { "target", "description", "monitors", "faults", "rules" };
  fb_spec *sp = spec_of (th);
  if (a->npos != 1 || !fb_value_as_string (a->pos[0], NULL)
      || fb_value_type_of (a->pos[0]) != FB_V_STRING)
    return fb_star_errorf (th, "fault_assumption: want the assumption's name as the one positional argument");
  fb_value *target = NULL, *monitors = NULL, *faults = NULL, *rules = NULL;
  const char *description = "";
  for (size_t i = 0; i < a->nkw; i++)
    {
      const char *k = a->kwnames[i];
      if (!strcmp (k, "target"))
        target = a->kwvals[i];
      else if (!strcmp (k, "monitors"))
        monitors = a->kwvals[i];
      else if (!strcmp (k, "faults"))
        faults = a->kwvals[i];
      else if (!strcmp (k, "rules"))
        rules = a->kwvals[i];
      else if (!strcmp (k, "description"))
        {
          if (fb_value_type_of (a->kwvals[i]) != FB_V_STRING)
            return fb_star_errorf (th, "fault_assumption: description= must be a string");
          description = fb_value_as_string (a->kwvals[i], NULL);
        }
    }
  ssize_t svc = -1;
  if (target && target != fb_none ()
      && (svc = spec_service_arg (th, "fault_assumption", target)) < 0)
    return NULL;
  assumption_val *fa = FB_NEW (assumption_val);
  fa->name = fb_xstrdup (fb_value_as_string (a->pos[0], NULL));
  fa->description = fb_xstrdup (description);
  fb_value *v = fb_host_new (th, &spec_assumption_type, fa);
  if (!*fa->name)
    return fb_star_errorf (th, "fault_assumption: the name must not be empty");
  if (rules && add_proxy_rules (th, fa, target, rules) < 0)
    return NULL;
  for (size_t i = 0; i < a->nkw; i++)
    {
      const char *k = a->kwnames[i];
      bool is_known = false;
      for (size_t j = 0; j < sizeof known / sizeof *known; j++)
        is_known |= !strcmp (k, known[j]);
      if (is_known)
        continue;
      int life = life_keyword (th, fa, svc, k, a->kwvals[i]);
      if (life < 0)
        return NULL;
      if (life)
        continue;
      if (svc < 0)
        return fb_star_errorf (th, "fault_assumption %s: %s= needs target= (the service whose syscalls fail)",
                               fa->name, k);
      if (!fb_host_data (a->kwvals[i], &spec_fault_type))
        return fb_star_errorf (th, "fault_assumption %s: %s= must be deny(...), delay(...) or allow(), got %s",
                               fa->name, k, fb_value_type_name (a->kwvals[i]));
      if (!valid_keyword (th, sp, (size_t) svc, k))
        return NULL;
      fa->rules = fb_xreallocarray (fa->rules, fa->n_rules + 1, sizeof *fa->rules);
      fa->rules[fa->n_rules++] = (fa_rule) { (size_t) svc, -1, fb_xstrdup (k), a->kwvals[i] };
    }
  _cleanup_free_ fb_value **mons = NULL, **children = NULL;
  size_t n_mons, n_children;
  if (value_list (th, "fault_assumption", "monitors", monitors, &spec_monitor_type, "monitor()",
                  false, &mons, &n_mons) < 0
      || value_list (th, "fault_assumption", "faults", faults, &spec_assumption_type,
                     "fault_assumption()", true, &children, &n_children) < 0)
    return NULL;
  /* composition: the children's rules come after ours, so for one service
   * and syscall the later entry wins (rules layer newest first) */
  for (size_t c = 0; c < n_children; c++)
    {
      assumption_val *ch = fb_host_data (children[c], &spec_assumption_type);
      for (size_t i = 0; i < ch->n_rules; i++)
        {
          fa->rules = fb_xreallocarray (fa->rules, fa->n_rules + 1, sizeof *fa->rules);
          fa->rules[fa->n_rules++] = (fa_rule) { ch->rules[i].svc, ch->rules[i].iface,
                                                 ch->rules[i].kw ? fb_xstrdup (ch->rules[i].kw) : NULL,
                                                 ch->rules[i].fault };
        }
      for (size_t i = 0; i < ch->n_life; i++)
        add_life (fa, ch->life[i]);
      for (size_t i = 0; i < ch->n_monitors; i++)
        {
          fa->monitors = fb_xreallocarray (fa->monitors, fa->n_monitors + 1, sizeof *fa->monitors);
          fa->monitors[fa->n_monitors++] = ch->monitors[i];
        }
    }
  for (size_t i = 0; i < n_mons; i++)
    {
      spec_monitor_attach (mons[i]);
      fa->monitors = fb_xreallocarray (fa->monitors, fa->n_monitors + 1, sizeof *fa->monitors);
      fa->monitors[fa->n_monitors++] = mons[i];
    }
  if (!fa->n_rules && !fa->n_monitors && !fa->n_life)
    return fb_star_errorf (th, "fault_assumption %s: no faults given (e.g. target=db, write=deny(\"EIO\"), or faults=[a, b])",
                           fa->name);
  return v;
}

int
spec_apply_assumption (fb_star_thread *th, const char *fname, fb_session *ss, fb_value *v,
                       uint64_t scope)
{
  assumption_val *fa = fb_host_data (v, &spec_assumption_type);
  for (size_t i = 0; i < fa->n_rules; i++)
    {
      const fa_rule *r = &fa->rules[i];
      iface_ref ir = { ss->spec, r->svc, (size_t) r->iface };
      if (r->iface >= 0 ? spec_proxy_install (th, fname, ss, &ir, r->fault, scope, "assumption", fa->name) < 0
                        : session_install (th, fname, ss, r->svc, r->kw, r->fault, scope) < 0)
        return -1;
    }
  for (size_t i = 0; i < fa->n_monitors; i++)
    session_add_monitor (ss, fa->monitors[i], scope);
  /* after the rules: a crash meets the faults already in place */
  for (size_t i = 0; i < fa->n_life; i++)
    if (session_lifecycle_apply (th, fname, ss, &fa->life[i], scope) < 0)
      return -1;
  return 0;
}

const char *
spec_assumption_name (fb_value *v)
{
  assumption_val *fa = fb_host_data (v, &spec_assumption_type);
  return fa ? fa->name : NULL;
}

/* ---- registering tests ------------------------------------------------- */

void
spec_add_test (fb_spec *sp, const spec_test *t)
{
  sp->tests = fb_xreallocarray (sp->tests, sp->n_tests + 1, sizeof *sp->tests);
  sp->tests[sp->n_tests++] = *t;
}

static char *
call_position (fb_star_thread *th)
{
  const char *file;
  int line, col;
  fb_star_call_position (th, &file, &line, &col);
  return fb_xasprintf ("%s:%d:%d", file, line, col);
}

/* The name a probe is known by: its def's name. */
static const char *
probe_name (fb_star_thread *th, const char *fname, const char *kw, fb_value *fn)
{
  const char *name = fb_value_func_name (fn);
  if (fb_value_type_of (fn) != FB_V_FUNCTION || !name || !strcmp (name, "lambda"))
    {
      fb_star_errorf (th, "%s: %s must be a function defined with def (its name names the test), got %s",
                      fname, kw, name ? "a lambda" : fb_value_type_name (fn));
      return NULL;
    }
  return name;
}

static int
check_loading (fb_star_thread *th, const char *fname)
{
  if (spec_of (th)->session)
    {
      fb_star_errorf (th, "%s: tests are registered while the spec loads (call it at the top level, not inside a test)",
                      fname);
      return -1;
    }
  return 0;
}

/* scenario(fn): registers test_<fn> running the probe; returns None. */
static fb_value *
b_scenario (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *fn;
  if (check_loading (th, "scenario") < 0
      || fb_star_unpack (th, "scenario", a, "fn", &fn, NULL) < 0)
    return NULL;
  const char *name = probe_name (th, "scenario", "its argument", fn);
  if (!name)
    return NULL;
  spec_add_test (spec_of (th), &(spec_test) { .name = fb_xasprintf ("test_%s", name), .fn = fn,
                                              .probe = true, .decl = call_position (th) });
  return fb_none ();
}

static int
check_callable (fb_star_thread *th, const char *fname, const char *kw, fb_value *v)
{
  if (v && v != fb_none () && !fb_value_is_callable (v))
    {
      fb_star_errorf (th, "%s: %s= must be a function, got %s", fname, kw, fb_value_type_name (v));
      return -1;
    }
  return 0;
}

static int
check_timeout (fb_star_thread *th, const char *fname, const char *timeout, int64_t *ns)
{
  fb_error e = { 0 };
  if (timeout && fb_parse_duration (timeout, ns, &e) < 0)
    {
      fb_star_errorf (th, "%s: timeout: %s", fname, e.msg);
      return -1;
    }
  return 0;
}

/* Builds a list value from monitors, marking them attached (no longer
 * spec-wide). */
static fb_value *
attach_monitors (fb_star_thread *th, const char *fname, fb_value *monitors)
{
  _cleanup_free_ fb_value **mons = NULL;
  size_t n;
  if (value_list (th, fname, "monitors", monitors, &spec_monitor_type, "monitor()", false, &mons,
                  &n) < 0)
    return NULL;
  for (size_t i = 0; i < n; i++)
    spec_monitor_attach (mons[i]);
  return fb_list_new (th, n, mons);
}

/* fault_scenario(name, scenario=, faults=None|FA|[FA...], expect=None,
 * monitors=[], timeout="30s") */
static fb_value *
b_fault_scenario (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  const char *name, *timeout = NULL;
  fb_value *scn, *faults = NULL, *expect = NULL, *monitors = NULL;
  if (check_loading (th, "fault_scenario") < 0
      || fb_star_unpack (th, "fault_scenario", a, "name:s", &name, "scenario", &scn,
                         "faults?", &faults, "expect?", &expect, "monitors?", &monitors,
                         "timeout?:s", &timeout, NULL) < 0)
    return NULL;
  int64_t tmo = 30 * 1000000000LL;
  _cleanup_free_ fb_value **fas = NULL;
  size_t n_fas;
  if (!probe_name (th, "fault_scenario", "scenario=", scn)
      || check_callable (th, "fault_scenario", "expect", expect) < 0
      || check_timeout (th, "fault_scenario", timeout, &tmo) < 0
      || value_list (th, "fault_scenario", "faults", faults, &spec_assumption_type,
                     "fault_assumption()", true, &fas, &n_fas) < 0)
    return NULL;
  if (!*name)
    return fb_star_errorf (th, "fault_scenario: the name must not be empty");
  fb_value *mons = attach_monitors (th, "fault_scenario", monitors);
  if (!mons)
    return NULL;
  spec_add_test (spec_of (th), &(spec_test) {
    .name = fb_xasprintf ("test_%s", name), .fn = scn, .probe = true,
    .expect = expect && expect != fb_none () ? expect : NULL,
    .faults = fb_list_new (th, n_fas, fas), .monitors = mons, .timeout_ns = tmo,
    .decl = call_position (th) });
  return fb_none ();
}

static void
add_name (char ***names, size_t *n, const char *name)
{
  for (size_t i = 0; i < *n; i++)
    if (!strcmp ((*names)[i], name))
      return;
  *names = fb_xreallocarray (*names, *n + 2, sizeof **names);
  (*names)[(*n)++] = fb_xstrdup (name);
  (*names)[*n] = NULL;
}

/* A (scenario, assumption) key of overrides= or exclude=, as indexes. */
static int
cell_key (fb_star_thread *th, const char *kw, fb_value *key, fb_value **scns, size_t ns,
          fb_value **fas, size_t nf, size_t *si, size_t *fi)
{
  if (fb_value_type_of (key) != FB_V_TUPLE || fb_value_len (key) != 2)
    {
      fb_star_errorf (th, "fault_matrix: %s keys must be (scenario, fault_assumption) pairs, got %s",
                      kw, fb_value_type_name (key));
      return -1;
    }
  fb_value *s = fb_value_at (key, 0), *f = fb_value_at (key, 1);
  const char *sname = fb_value_func_name (s), *fname = spec_assumption_name (f);
  *si = *fi = (size_t) -1;
  for (size_t i = 0; i < ns && sname; i++)
    if (!strcmp (fb_value_func_name (scns[i]), sname))
      *si = i;
  for (size_t i = 0; i < nf && fname; i++)
    if (!strcmp (spec_assumption_name (fas[i]), fname))
      *fi = i;
  if (*si == (size_t) -1 || *fi == (size_t) -1)
    {
      _cleanup_free_ char *r = fb_value_repr (th, key);
      fb_star_errorf (th, "fault_matrix: %s key %s names a %s that is not in the matrix's %s=", kw,
                      r, *si == (size_t) -1 ? "scenario" : "fault",
                      *si == (size_t) -1 ? "scenarios" : "faults");
      return -1;
    }
  return 0;
}

/* fault_matrix(scenarios=[...], faults=[...], default_expect=None,
 * overrides={}, monitors=[], exclude=[], require_faults_fire=False) */
static fb_value *
b_fault_matrix (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *scenarios, *faults, *dflt = NULL, *overrides = NULL, *monitors = NULL, *exclude = NULL;
  bool require_fire = false;
  if (check_loading (th, "fault_matrix") < 0
      || fb_star_unpack (th, "fault_matrix", a, "scenarios", &scenarios, "faults", &faults,
                         "default_expect?", &dflt, "overrides?", &overrides, "monitors?",
                         &monitors, "exclude?", &exclude, "require_faults_fire?:b",
                         &require_fire, NULL) < 0)
    return NULL;
  fb_value_type st = fb_value_type_of (scenarios);
  if (st != FB_V_LIST && st != FB_V_TUPLE)
    return fb_star_errorf (th, "fault_matrix: scenarios= must be a list of functions, got %s",
                           fb_value_type_name (scenarios));
  size_t ns = (size_t) fb_value_len (scenarios);
  _cleanup_free_ fb_value **scns = fb_xcalloc (ns + 1, sizeof *scns);
  for (size_t i = 0; i < ns; i++)
    if (!probe_name (th, "fault_matrix", "each of scenarios=", scns[i] = fb_value_at (scenarios, i)))
      return NULL;
  _cleanup_free_ fb_value **fas = NULL;
  size_t nf;
  if (value_list (th, "fault_matrix", "faults", faults, &spec_assumption_type,
                  "fault_assumption()", false, &fas, &nf) < 0
      || check_callable (th, "fault_matrix", "default_expect", dflt) < 0)
    return NULL;
  if (!ns || !nf)
    return fb_star_errorf (th, "fault_matrix: needs at least one scenario and one fault (got %zu and %zu)",
                           ns, nf);
  if (overrides && overrides != fb_none () && fb_value_type_of (overrides) != FB_V_DICT)
    return fb_star_errorf (th, "fault_matrix: overrides= must be a dict {(scenario, fault): oracle}, got %s",
                           fb_value_type_name (overrides));
  if (exclude && exclude != fb_none () && fb_value_type_of (exclude) != FB_V_LIST
      && fb_value_type_of (exclude) != FB_V_TUPLE)
    return fb_star_errorf (th, "fault_matrix: exclude= must be a list of (scenario, fault) pairs, got %s",
                           fb_value_type_name (exclude));
  _cleanup_free_ fb_value **oracle = fb_xcalloc (ns * nf + 1, sizeof *oracle);
  _cleanup_free_ bool *excluded = fb_xcalloc (ns * nf + 1, sizeof *excluded);
  fb_value *k, *v;
  size_t si, fi;
  for (size_t i = 0; overrides && overrides != fb_none () && fb_dict_entry (overrides, i, &k, &v); i++)
    {
      if (cell_key (th, "overrides", k, scns, ns, fas, nf, &si, &fi) < 0
          || check_callable (th, "fault_matrix", "overrides value", v) < 0)
        return NULL;
      oracle[si * nf + fi] = v;
    }
  for (long i = 0; exclude && exclude != fb_none () && i < fb_value_len (exclude); i++)
    {
      if (cell_key (th, "exclude", fb_value_at (exclude, (size_t) i), scns, ns, fas, nf, &si, &fi) < 0)
        return NULL;
      excluded[si * nf + fi] = true;
    }
  fb_value *mons = attach_monitors (th, "fault_matrix", monitors);
  if (!mons)
    return NULL;
  fb_spec *sp = spec_of (th);
  for (size_t s = 0; s < ns; s++)
    add_name (&sp->matrix_scenarios, &sp->n_matrix_scenarios, fb_value_func_name (scns[s]));
  for (size_t f = 0; f < nf; f++)
    add_name (&sp->matrix_faults, &sp->n_matrix_faults, spec_assumption_name (fas[f]));
  for (size_t s = 0; s < ns; s++)
    for (size_t f = 0; f < nf; f++)
      {
        if (excluded[s * nf + f])
          continue;
        const char *sn = fb_value_func_name (scns[s]), *fn = spec_assumption_name (fas[f]);
        fb_value *expect = oracle[s * nf + f] ? oracle[s * nf + f] : dflt;
        spec_add_test (sp, &(spec_test) {
          .name = fb_xasprintf ("test_matrix_%s_%s", sn, fn), .fn = scns[s], .probe = true,
          .expect = expect && expect != fb_none () ? expect : NULL,
          .faults = fb_list_new (th, 1, &fas[f]), .monitors = mons,
          .matrix_scenario = fb_xstrdup (sn), .matrix_fault = fb_xstrdup (fn),
          .require_fire = require_fire, .decl = call_position (th) });
      }
  return fb_none ();
}

void
spec_predeclare_domain (fb_spec *s)
{
  static const spec_builtin fns[] = {
    { "scenario", b_scenario }, { "fault_assumption", b_fault_assumption },
    { "fault_scenario", b_fault_scenario }, { "fault_matrix", b_fault_matrix },
  };
  spec_predeclare_all (s, fns, sizeof fns / sizeof *fns);
}
