/* Syscall faults from specs: deny(), delay(), allow(), fault(),
 * fault_start(), fault_stop(), and the events they leave. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/parse.h"
#include "util/time.h"

typedef struct {
  fb_action action;
  int err;
  int64_t delay_ns;
  double probability;
  char *label;
  uint64_t max_fires;
  ssize_t to_svc;   /* to=service, -1 none */
  char *to_addr;    /* to="ip[:port]" */
} fault_val;

static void
fault_val_free (void *p)
{
  fault_val *f = p;
  free (f->label);
  free (f->to_addr);
  free (f);
}

static char *
fault_val_repr (fb_value *self)
{
  fault_val *f = fb_host_data (self, &spec_fault_type);
  char d[32];
  switch (f->action)
    {
    case FB_ACT_DENY: return fb_xasprintf ("deny(\"%s\")", fb_errno_name (f->err));
    case FB_ACT_DELAY:
      fb_format_duration (f->delay_ns, d, sizeof d);
      return fb_xasprintf ("delay(\"%s\")", d);
    default: return fb_xstrdup ("allow()");
    }
}

const fb_host_type spec_fault_type = {
  .name = "fault", .repr = fault_val_repr, .destroy = fault_val_free,
};

/* "50%", "0.3", 0.3, 30: values above 1 are percentages, as in Faultbox. */
int
spec_parse_probability (fb_star_thread *th, const char *fname, fb_value *v, double *out)
{
  double p;
  const char *s = fb_value_as_string (v, NULL);
  if (s && fb_value_type_of (v) == FB_V_STRING)
    {
      fb_error e = { 0 };
      if (fb_parse_percent (s, &p, &e) < 0)
        {
          fb_star_errorf (th, "%s: probability: %s", fname, e.msg);
          return -1;
        }
    }
  else if (fb_value_as_double (v, &p))
    {
      if (p > 1)
        p /= 100;
    }
  else
    {
      fb_star_errorf (th, "%s: probability must be a string like \"50%%\" or a number, got %s",
                      fname, fb_value_type_name (v));
      return -1;
    }
  if (!(p >= 0 && p <= 1))
    {
      _cleanup_free_ char *r = fb_value_repr (th, v);
      fb_star_errorf (th, "%s: probability %s must be between 0%% and 100%% (or 0 and 1)", fname, r);
      return -1;
    }
  *out = p;
  return 0;
}

static fb_value *
make_fault (fb_star_thread *th, const char *fname, fb_action action,
            const fb_star_args *a)
{
  const char *what = NULL, *label = NULL;
  fb_value *prob = NULL, *max_fires = NULL, *mode = NULL, *to = NULL;
  fault_val f = { .action = action, .probability = 1.0, .to_svc = -1 };
  int rc;
  if (action == FB_ACT_ALLOW)
    rc = fb_star_unpack (th, fname, a, "label?:s", &label, NULL);
  else
    rc = fb_star_unpack (th, fname, a, action == FB_ACT_DENY ? "errno:s" : "duration:s",
                         &what, "probability?", &prob, "label?:s", &label,
                         "max_fires?", &max_fires, "mode?", &mode, "to?", &to, NULL);
  if (rc < 0 || spec_unsupported (th, fname, NULL, "mode", mode, true) < 0)
    return NULL;
  fb_error e = { 0 };
  if (action == FB_ACT_DENY && fb_errno_from_name (what, &f.err, &e) < 0)
    return fb_star_errorf (th, "%s: %s", fname, e.msg);
  if (action == FB_ACT_DELAY && fb_parse_duration (what, &f.delay_ns, &e) < 0)
    return fb_star_errorf (th, "%s: %s", fname, e.msg);
  if (prob && spec_parse_probability (th, fname, prob, &f.probability) < 0)
    return NULL;
  if (max_fires && max_fires != fb_none ())
    {
      int64_t n;
      if (!fb_value_as_int64 (max_fires, &n) || n < 1)
        {
          _cleanup_free_ char *r = fb_value_repr (th, max_fires);
          return fb_star_errorf (th, "%s: max_fires must be a positive int, not %s", fname, r);
        }
      f.max_fires = (uint64_t) n;
    }
  if (to && to != fb_none ())
    {
      const char *s = fb_value_as_string (to, NULL);
      if (s && fb_value_type_of (to) == FB_V_STRING)
        {
          if (fb_parse_addr (s, &e) < 0)
            return fb_star_errorf (th, "%s: to: %s", fname, e.msg);
          f.to_addr = fb_xstrdup (s);
        }
      else if ((f.to_svc = spec_service_arg (th, fname, to)) < 0)
        return NULL;
    }
  f.label = label && *label ? fb_xstrdup (label) : NULL;
  fault_val *h = FB_NEW (fault_val);
  *h = f;
  return fb_host_new (th, &spec_fault_type, h);
}

static fb_value *
b_deny (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return make_fault (th, "deny", FB_ACT_DENY, a);
}

static fb_value *
b_delay (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  /* Faultbox's disambiguation: a positional duration makes the syscall
   * fault, keywords alone (delay=, matchers) the protocol-level rule */
  if (!a->npos)
    return spec_proxy_delay (th, a);
  return make_fault (th, "delay", FB_ACT_DELAY, a);
}

static fb_value *
b_allow (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return make_fault (th, "allow", FB_ACT_ALLOW, a);
}

#define FAULT_NEEDS_TEST "faults can only be installed while a test runs"

/* ---- installing rules -------------------------------------------------- */

static void
clock_merge (uint64_t *into, const uint64_t *from, size_t n)
{
  for (size_t k = 0; k < n; k++)
    if (from[k] > into[k])
      into[k] = from[k];
}

/* Vector clocks as Faultbox keeps them: an event ticks its service's own
 * component; an allowed connect/sendto merges every other clock into the
 * caller's; a step carries the driver's clock to its target and the
 * target's back with the reply. */
static void
tick_clock (fb_session *ss, fb_event *ev)
{
  const fb_plan *p = &ss->spec->plan;
  size_t n = p->n_services + 1;
  if (!ss->clocks)
    ss->clocks = fb_xcalloc (n * n, sizeof *ss->clocks);
  ssize_t idx = !strcmp (ev->service, "test") ? (ssize_t) p->n_services
                                               : fb_plan_find_service (p, ev->service);
  if (idx < 0)
    return;
  uint64_t *own = &ss->clocks[(size_t) idx * n];
  const char *target = fb_event_get (ev, "target");
  ssize_t t = target ? fb_plan_find_service (p, target) : -1;
  if (!strcmp (ev->type, "step_recv") && t >= 0)
    clock_merge (own, &ss->clocks[(size_t) t * n], n);
  own[idx]++;
  const char *sc = fb_event_get (ev, "syscall"), *dec = fb_event_get (ev, "decision");
  if (sc && dec && (!strcmp (sc, "connect") || !strncmp (sc, "send", 4)) && strcmp (dec, "allow") == 0)
    for (size_t j = 0; j < n; j++)
      if (j != (size_t) idx)
        clock_merge (own, &ss->clocks[j * n], n);
  if (!strcmp (ev->type, "step_send") && t >= 0)
    clock_merge (&ss->clocks[(size_t) t * n], own, n);
  ev->clock = fb_xcalloc (n, sizeof *ev->clock);
  for (size_t k = 0; k < n; k++)
    if (own[k])
      ev->clock[ev->n_clock++] = (fb_clock_entry) {
        fb_xstrdup (k < p->n_services ? p->services[k].name : "test"), own[k] };
}

void
session_event (fb_session *ss, const char *type, const char *service,
               const char *const *kv)
{
  pthread_mutex_lock (&ss->mu);
  fb_test_result *t = ss->result;
  /* a service in a tight syscall loop must not exhaust memory: past the
   * cap only its syscall events are dropped, never the test's own, and
   * the test fails, since its log no longer says what happened */
  if (t->n_events >= ss->max_events && !strcmp (type, "syscall"))
    {
      if (!ss->lost_events++)
        ss->lost_from = fb_xstrdup (service);
      pthread_mutex_unlock (&ss->mu);
      return;
    }
  FB_GROW (t->events, ss->cap_events, t->n_events + 1);
  fb_event *ev = &t->events[t->n_events];
  fb_event_init (ev, type, service);
  ev->seq = ++t->n_events;
  /* under --virtual-time the time a sleep or delay skipped counts, so the
   * trace agrees with them */
  ev->time_ns = fb_now_ns () - ss->t0 + fb_engine_virtual_ns (ss->engine);
  for (; kv && kv[0]; kv += 2)
    fb_event_set (ev, kv[0], kv[1]);
  tick_clock (ss, ev);
  session_time_event_locked (ss);
  pthread_cond_broadcast (&ss->cv);
  pthread_mutex_unlock (&ss->mu);
}

static bool
in_filter (fb_spec *sp, size_t svc, const char *sc)
{
  for (size_t i = 0; i < sp->n_filters[svc]; i++)
    if (!strcmp (sp->filters[svc][i], sc))
      return true;
  return false;
}

char **
spec_keyword_syscalls (fb_star_thread *th, const char *fname, fb_spec *sp, size_t svc,
                       const char *kw, const char **path_glob)
{
  const fb_plan_service *s = &sp->plan.services[svc];
  const fb_plan_op *op = NULL;
  for (size_t i = 0; i < s->n_ops; i++)
    if (!strcmp (s->ops[i].name, kw))
      op = &s->ops[i];
  if (path_glob)
    *path_glob = op ? op->path : NULL;
  char **out = fb_xcalloc (1, sizeof *out);
  size_t n = 0;
  fb_error e = { 0 };
  const char *const *words = op ? (const char *const *) op->syscalls : &kw;
  size_t nwords = op ? op->n_syscalls : 1;
  for (size_t w = 0; w < nwords; w++)
    {
      _cleanup_strv_ char **fam = NULL;
      if (fb_syscall_family (words[w], &fam, &e) < 0)
        {
          fb_star_errorf (th, "%s: %s", fname, e.msg);
          fb_strv_free (out);
          return NULL;
        }
      for (char **p = fam; *p; p++)
        {
          if (!in_filter (sp, svc, *p))
            {
              fb_star_errorf (th, "%s: %s's seccomp filter does not route %s: faultbox builds each service's filter from the fault()/trace()/op() calls that name it; name the service directly, e.g. %s(%s, %s=...)",
                              fname, s->name, *p, fname, s->name, kw);
              fb_strv_free (out);
              return NULL;
            }
          out = fb_xreallocarray (out, n + 2, sizeof *out);
          out[n++] = fb_xstrdup (*p);
          out[n] = NULL;
        }
    }
  return out;
}

/* Builds the rule for keyword=value on service svc. */
static int
build_rule (fb_star_thread *th, const char *fname, fb_session *ss, size_t svc,
            const char *kw, fb_value *v, fb_rule *r)
{
  fault_val *f = fb_host_data (v, &spec_fault_type);
  if (!f)
    {
      fb_star_errorf (th, "%s: %s= must be deny(...), delay(...) or allow(), got %s",
                      fname, kw, fb_value_type_name (v));
      return -1;
    }
  memset (r, 0, sizeof *r);
  const char *glob;
  r->syscalls = spec_keyword_syscalls (th, fname, ss->spec, svc, kw, &glob);
  if (!r->syscalls)
    return -1;
  r->keyword = fb_xstrdup (kw);
  r->action = f->action;
  r->err = f->err;
  r->delay_ns = f->delay_ns;
  r->probability = f->probability;
  r->max_fires = f->max_fires;
  r->label = f->label ? fb_xstrdup (f->label) : NULL;
  r->path_glob = glob ? fb_xstrdup (glob) : NULL;
  if (f->to_svc >= 0)
    r->dest = fb_xstrdup (fb_lab_service_addr (ss->lab, (size_t) f->to_svc));
  else if (f->to_addr)
    r->dest = fb_xstrdup (f->to_addr);
  return 0;
}

static char *
describe_rule (const fb_rule *r)
{
  char act[64];
  fb_rule_describe_action (r, act, sizeof act);
  fb_buf b = FB_BUF_INIT;
  fb_buf_printf (&b, "%s → filter:[", act);
  for (char **p = r->syscalls; *p; p++)
    fb_buf_printf (&b, "%s%s", p == r->syscalls ? "" : ",", *p);
  fb_buf_putc (&b, ']');
  if (r->label)
    fb_buf_printf (&b, " label=\"%s\"", r->label);
  return fb_buf_steal (&b);
}

int
session_install (fb_star_thread *th, const char *fname, fb_session *ss, size_t svc,
                 const char *kw, fb_value *fault, uint64_t scope)
{
  const char *svc_name = ss->spec->plan.services[svc].name;
  fb_rule rule;
  if (build_rule (th, fname, ss, svc, kw, fault, &rule) < 0)
    return -1;
  fb_error e = { 0 };
  uint64_t id;
  if (fb_engine_add_rule (ss->engine, svc_name, &rule, scope, &id, &e) < 0)
    {
      fb_rule_clear (&rule);
      fb_star_errorf (th, "%s: %s", fname, e.msg);
      return -1;
    }
  char *desc = describe_rule (&rule);
  const char *kv[] = { rule.keyword, desc, NULL };
  session_event (ss, "fault_applied", svc_name, kv);
  free (desc);
  ss->rules = fb_xreallocarray (ss->rules, ss->n_rules + 1, sizeof *ss->rules);
  ss->rules[ss->n_rules++] = (session_rule) { svc, scope, id, rule };
  return 0;
}

/* Installs every keyword of args but run= on svc in `scope`. */
static int
install (fb_star_thread *th, const char *fname, fb_session *ss, size_t svc,
         const fb_star_args *a, uint64_t scope)
{
  size_t n = 0;
  for (size_t i = 0; i < a->nkw; i++)
    {
      if (!strcmp (a->kwnames[i], "run"))
        continue;
      if (session_install (th, fname, ss, svc, a->kwnames[i], a->kwvals[i], scope) < 0)
        return -1;
      n++;
    }
  if (!n)
    {
      fb_star_errorf (th, "%s: no faults given (e.g. %s(%s, write=deny(\"EIO\")%s))", fname,
                      fname, ss->spec->plan.services[svc].name,
                      strcmp (fname, "fault") ? "" : ", run=fn");
      return -1;
    }
  return 0;
}

/* A service that depends on svc: the one whose connect() reaches it. */
static const char *
dependent_of (const fb_plan *p, size_t svc)
{
  for (size_t i = 0; i < p->n_services; i++)
    for (size_t k = 0; k < p->services[i].n_deps; k++)
      if (p->services[i].deps[k] == svc)
        return p->services[i].name;
  return NULL;
}

fb_fault_summary *
session_add_summary (fb_session *ss)
{
  fb_test_result *t = ss->result;
  pthread_mutex_lock (&ss->mu);
  t->faults = fb_xreallocarray (t->faults, t->n_faults + 1, sizeof *t->faults);
  fb_fault_summary *f = &t->faults[t->n_faults++];
  memset (f, 0, sizeof *f);
  pthread_mutex_unlock (&ss->mu);
  return f;
}

void
session_remove_scope (fb_session *ss, uint64_t scope)
{
  session_proxy_remove_scope (ss, scope);
  session_life_remove_scope (ss, scope);
  session_remove_traces (ss, scope);
  for (size_t i = 0; i < ss->n_monitors; i++)
    if (ss->monitors[i].scope == scope && !ss->monitors[i].to)
      {
        pthread_mutex_lock (&ss->mu);
        ss->monitors[i].to = ss->result->n_events;
        pthread_mutex_unlock (&ss->mu);
      }
  for (size_t i = 0; i < ss->n_rules; i++)
    {
      session_rule *r = &ss->rules[i];
      if (r->scope != scope)
        continue;
      uint64_t matched, fired;
      fb_engine_rule_stats (ss->engine, r->id, &matched, &fired);
      fb_fault_summary *f = session_add_summary (ss);
      const char *svc = ss->spec->plan.services[r->svc].name;
      f->service = fb_xstrdup (svc);
      f->keyword = fb_xstrdup (r->rule.keyword);
      f->action = fb_xstrdup (r->rule.action == FB_ACT_DENY ? "deny"
                              : r->rule.action == FB_ACT_DELAY ? "delay" : "allow");
      f->errno_name = r->rule.action == FB_ACT_DENY ? fb_xstrdup (fb_errno_name (r->rule.err)) : NULL;
      if (r->rule.action == FB_ACT_DELAY)
        {
          char d[32];
          fb_format_duration (r->rule.delay_ns, d, sizeof d);
          f->delay = fb_xstrdup (d);
        }
      fb_buf b = FB_BUF_INIT;
      for (char **p = r->rule.syscalls; *p; p++)
        fb_buf_printf (&b, "%s%s", p == r->rule.syscalls ? "" : ",", *p);
      f->filter = fb_buf_steal (&b);
      f->label = r->rule.label ? fb_xstrdup (r->rule.label) : NULL;
      f->hits = fired;
      f->matched = matched;
      if (fired == 0 && r->rule.action != FB_ACT_ALLOW)
        {
          if (matched)
            f->hint = fb_xasprintf ("%s=%s on %s matched %" PRIu64 " call%s, but its probability or max_fires let none fire",
                                    r->rule.keyword, f->action, svc, matched, matched == 1 ? "" : "s");
          else if (!strcmp (r->rule.syscalls[0], "connect") || !strcmp (r->rule.syscalls[0], "accept"))
            {
              const char *caller = dependent_of (&ss->spec->plan, r->svc);
              f->hint = caller
                            ? fb_xasprintf ("%s never called %s() while the rule was installed: it accepts connections, its callers connect; to make calls to %s fail, fault the caller: fault(%s, connect=deny(\"ECONNREFUSED\", to=%s), run=...) or fault_assumption(..., target=%s, connect=deny(\"ECONNREFUSED\", to=%s))",
                                            svc, r->rule.syscalls[0], svc, caller, svc, caller, svc)
                            : fb_xasprintf ("%s never called %s() while the rule was installed",
                                            svc, r->rule.syscalls[0]);
            }
          else
            f->hint = fb_xasprintf ("%s made no %s call%s%s%s while the rule was installed",
                                    svc, r->rule.keyword, r->rule.path_glob ? " on a path matching " : "",
                                    r->rule.path_glob ? r->rule.path_glob : "",
                                    r->rule.dest ? " to that destination" : "");
        }
      const char *kv[] = { "rule", r->rule.keyword, "hits", NULL, NULL };
      char hits[32];
      snprintf (hits, sizeof hits, "%" PRIu64, fired);
      kv[3] = hits;
      session_event (ss, "fault_removed", svc, kv);
      fb_rule_clear (&r->rule);
      /* drop the entry */
      ss->rules[i--] = ss->rules[--ss->n_rules];
    }
  fb_engine_remove_scope (ss->engine, scope);
}

void
session_remove_all (fb_session *ss)
{
  session_proxy_remove_all (ss);
  while (ss->n_rules)
    session_remove_scope (ss, ss->rules[0].scope);
  while (ss->n_traces)
    session_remove_traces (ss, ss->traces[0].scope);
}

/* fault(service, run=fn, **faults) or fault(assumption, run=fn) */
/* run= of fault and fault_all, or NULL after raising. */
static fb_value *
run_arg (fb_star_thread *th, const char *fname, const fb_star_args *a)
{
  for (size_t i = 0; i < a->nkw; i++)
    if (!strcmp (a->kwnames[i], "run") && fb_value_is_callable (a->kwvals[i]))
      return a->kwvals[i];
  return fb_star_errorf (th, "%s: run= must be a function (the steps to run under the fault)", fname);
}

static fb_value *
b_fault (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "fault", FAULT_NEEDS_TEST);
  if (!ss)
    return NULL;
  bool iface = a->npos && fb_host_data (a->pos[0], &spec_iface_ref_type);
  if (!iface && a->npos != 1)
    return fb_star_errorf (th, "fault: want one positional argument, the service or a fault_assumption (got %zu)",
                           a->npos);
  fb_value *run = run_arg (th, "fault", a);
  if (!run)
    return NULL;
  uint64_t scope = ++ss->next_scope;
  int rc;
  if (iface)
    rc = spec_proxy_fault (th, "fault", ss, a, scope);
  else if (fb_host_data (a->pos[0], &spec_assumption_type))
    {
      if (a->nkw > 1)
        return fb_star_errorf (th, "fault: a fault_assumption takes only run= (got %s=)",
                               strcmp (a->kwnames[0], "run") ? a->kwnames[0] : a->kwnames[1]);
      rc = spec_apply_assumption (th, "fault", ss, a->pos[0], scope);
    }
  else
    {
      ssize_t svc = spec_service_arg (th, "fault", a->pos[0]);
      if (svc < 0)
        return NULL;
      rc = install (th, "fault", ss, (size_t) svc, a, scope);
    }
  fb_value *r = rc < 0 ? NULL : fb_star_call (th, run, NULL);
  session_remove_scope (ss, scope);
  return r;
}

/* fault_all([svc, ...], run=fn, **faults): the same faults on every
 * service of the list, one scope, removed when run returns. */
static fb_value *
b_fault_all (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "fault_all", FAULT_NEEDS_TEST);
  if (!ss)
    return NULL;
  fb_value *list = a->npos ? a->pos[0] : NULL;
  if (a->npos != 1 || fb_value_type_of (list) != FB_V_LIST)
    return fb_star_errorf (th, "fault_all() first arg must be a list of services, got %s",
                           list ? fb_value_type_name (list) : "nothing");
  if (!fb_value_len (list))
    return fb_star_errorf (th, "fault_all() requires at least one service in the list");
  fb_value *run = run_arg (th, "fault_all", a);
  if (!run)
    return NULL;
  uint64_t scope = ++ss->next_scope;
  int rc = 0;
  for (long i = 0; rc == 0 && i < fb_value_len (list); i++)
    {
      fb_value *v = fb_value_at (list, (size_t) i);
      ssize_t svc = fb_host_data (v, &spec_service_type) ? spec_service_arg (th, "fault_all", v) : -1;
      if (svc < 0)
        {
          fb_star_errorf (th, "fault_all() services[%ld] must be a service, got %s", i, fb_value_type_name (v));
          rc = -1;
        }
      else
        rc = install (th, "fault_all", ss, (size_t) svc, a, scope);
    }
  fb_value *r = rc < 0 ? NULL : fb_star_call (th, run, NULL);
  session_remove_scope (ss, scope);
  return r;
}

static fb_value *
b_fault_start (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "fault_start", FAULT_NEEDS_TEST);
  if (!ss)
    return NULL;
  if (a->npos && fb_host_data (a->pos[0], &spec_iface_ref_type))
    return spec_proxy_fault (th, "fault_start", ss, a, 0) < 0 ? NULL : fb_none ();
  if (a->npos != 1)
    return fb_star_errorf (th, "fault_start: want one positional argument, the service (got %zu)",
                           a->npos);
  ssize_t svc = spec_service_arg (th, "fault_start", a->pos[0]);
  if (svc < 0)
    return NULL;
  if (!ss->svc_scope[svc])
    ss->svc_scope[svc] = ++ss->next_scope;
  if (install (th, "fault_start", ss, (size_t) svc, a, ss->svc_scope[svc]) < 0)
    return NULL;
  return fb_none ();
}

static fb_value *
b_fault_stop (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "fault_stop", FAULT_NEEDS_TEST);
  fb_value *target;
  if (!ss || fb_star_unpack (th, "fault_stop", a, "service", &target, NULL) < 0)
    return NULL;
  iface_ref *ir = fb_host_data (target, &spec_iface_ref_type);
  if (ir)
    {
      spec_proxy_fault_stop (ss, ir);
      return fb_none ();
    }
  ssize_t svc = spec_service_arg (th, "fault_stop", target);
  if (svc < 0)
    return NULL;
  if (ss->svc_scope[svc])
    session_remove_scope (ss, ss->svc_scope[svc]);
  ss->svc_scope[svc] = 0;
  return fb_none ();
}

void
spec_predeclare_faults (fb_spec *s)
{
  static const spec_builtin fns[] = {
    { "deny", b_deny }, { "delay", b_delay }, { "allow", b_allow },
    { "fault", b_fault }, { "fault_all", b_fault_all }, { "fault_start", b_fault_start },
    { "fault_stop", b_fault_stop },
  };
  spec_predeclare_all (s, fns, sizeof fns / sizeof *fns);
}
