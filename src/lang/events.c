/* The event log seen from a spec: trace() and its scope, events() and the
 * assertions over the trace, the match helpers, and monitor(). Monitors run
 * over the log in seq order once the test body has returned, on the
 * runner's thread, so a verdict never depends on thread scheduling. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"

/* ---- filters ----------------------------------------------------------- */

typedef struct {
  char *key, *pattern;
} filter_kv;

typedef struct {
  filter_kv *kv;
  size_t n;
} filter;

static void
filter_clear (filter *f)
{
  for (size_t i = 0; i < f->n; i++)
    {
      free (f->kv[i].key);
      free (f->kv[i].pattern);
    }
  free (f->kv);
  f->kv = NULL;
  f->n = 0;
}

static void
filter_add (fb_star_thread *th, filter *f, const char *key, fb_value *v)
{
  f->kv = fb_xreallocarray (f->kv, f->n + 1, sizeof *f->kv);
  f->kv[f->n].key = fb_xstrdup (key);
  f->kv[f->n++].pattern = fb_value_str (th, v);
}

/* Faultbox's matchValue: an empty pattern matches anything; with a "*" a
 * glob, else a prefix ("deny*") or suffix ("*.wal") match; otherwise
 * equality. */
static bool
match_value (const char *pattern, const char *value)
{
  if (!*pattern)
    return true;
  if (!value)
    value = "";
  if (!strchr (pattern, '*'))
    return !strcmp (pattern, value);
  if (fb_path_glob_match (pattern, value))
    return true;
  size_t pl = strlen (pattern), vl = strlen (value);
  if (pattern[pl - 1] == '*' && !strncmp (value, pattern, pl - 1))
    return true;
  return pattern[0] == '*' && vl >= pl - 1 && !strcmp (value + vl - (pl - 1), pattern + 1);
}

static const char *
event_value (const fb_event *ev, const char *key)
{
  if (!strcmp (key, "service"))
    return ev->service;
  if (!strcmp (key, "type"))
    return ev->type;
  return fb_event_get (ev, key);
}

static bool
filter_match (const filter *f, const fb_event *ev)
{
  for (size_t i = 0; i < f->n; i++)
    if (!match_value (f->kv[i].pattern, event_value (ev, f->kv[i].key)))
      return false;
  return true;
}

static void
filter_describe (const filter *f, fb_buf *out)
{
  for (size_t i = 0; i < f->n; i++)
    fb_buf_printf (out, "%s%s=%s", i ? " " : "", f->kv[i].key, f->kv[i].pattern);
}

/* What events() and the assertions consider without where=: what a
 * service did, not the runner's bookkeeping. */
static bool
observable_type (const char *type)
{
  /* proxy: a protocol rule's decision is what a service saw, as a
   * syscall fault's is (Faultbox's assertions skip it, reference 2.7);
   * unmediated_io: what a service reached past determinism() */
  return !strcmp (type, "syscall") || !strcmp (type, "stdout") || !strcmp (type, "topic")
         || !strcmp (type, "wal") || !strcmp (type, "proxy") || !strcmp (type, "unmediated_io");
}

/* ---- event values ------------------------------------------------------ */

static const char *const event_attrs[] = { "seq", "service", "type", "event_type", "timestamp", "data",
                                           "fields", "happens_before", "happens_after", "concurrent_with",
                                           "same_service_as", "duration_since", "preceded_by", "followed_by",
                                           "preceded_by_within", "followed_by_within", NULL };

static fb_value *
fields_dict (fb_star_thread *th, const fb_event *ev)
{
  fb_value *d = fb_dict_new (th);
  for (size_t i = 0; i < ev->n_fields; i++)
    fb_dict_set_str (th, d, ev->fields[i].key, fb_string (th, ev->fields[i].value));
  return d;
}

static fb_value *
event_attr (fb_star_thread *th, fb_value *self, const char *name);

/* The log's strings outlive every value of the test's region, so an event
 * value holds a shallow copy of the entry (the array itself may move). */
const fb_host_type spec_event_type = {
  .name = "event", .attr = event_attr, .attr_names = event_attrs, .destroy = free,
};

static fb_value *
event_attr (fb_star_thread *th, fb_value *self, const char *name)
{
  const fb_event *ev = fb_host_data (self, &spec_event_type);
  if (!strcmp (name, "seq"))
    return fb_int (th, (int64_t) ev->seq);
  if (!strcmp (name, "service"))
    return fb_string (th, ev->service);
  if (!strcmp (name, "type"))
    return fb_string (th, ev->type);
  if (!strcmp (name, "timestamp"))
    return fb_int (th, ev->time_ns);
  if (!strcmp (name, "event_type"))
    {
      _cleanup_buf_ fb_buf b = FB_BUF_INIT;
      fb_event_kind (ev, &b);
      return fb_string (th, fb_buf_str (&b));
    }
  if (!strcmp (name, "fields"))
    return fields_dict (th, ev);
  if (!strcmp (name, "data"))
    {
      const char *d = fb_event_get (ev, "data");
      fb_value *v = d ? fb_star_json_decode (th, d, strlen (d)) : NULL;
      return v ? v : fields_dict (th, ev);
    }
  const char *f = fb_event_get (ev, name);
  fb_value *m = f ? NULL : spec_event_method (th, self, name);
  return m ? m : fb_string (th, f ? f : "");
}

fb_value *
spec_event_value (fb_star_thread *th, const fb_event *ev)
{
  fb_event *copy = fb_xmalloc (sizeof *copy);
  *copy = *ev;
  return fb_host_new (th, &spec_event_type, copy);
}

size_t
session_log_len (fb_session *ss)
{
  pthread_mutex_lock (&ss->mu);
  size_t n = ss->result->n_events;
  pthread_mutex_unlock (&ss->mu);
  return n;
}

fb_event *
session_snapshot (fb_session *ss, size_t *n)
{
  /* what the services printed before this call is in the log */
  if (ss->lab)
    fb_lab_flush_output (ss->lab);
  pthread_mutex_lock (&ss->mu);
  *n = ss->result->n_events;
  fb_event *evs = fb_xcalloc (*n + 1, sizeof *evs);
  memcpy (evs, ss->result->events, *n * sizeof *evs);
  pthread_mutex_unlock (&ss->mu);
  return evs;
}

/* Splits keyword arguments into filters and where=. */
static int
parse_filters (fb_star_thread *th, const char *fname, const fb_star_args *a, filter *f,
               fb_value **where)
{
  if (a->npos)
    {
      fb_star_errorf (th, "%s: takes keyword filters only (e.g. service=\"db\", syscall=\"write\")",
                      fname);
      return -1;
    }
  *where = NULL;
  for (size_t i = 0; i < a->nkw; i++)
    {
      if (!strcmp (a->kwnames[i], "where"))
        {
          if (!fb_value_is_callable (a->kwvals[i]))
            {
              fb_star_errorf (th, "%s: where= must be a function of one event, got %s", fname,
                              fb_value_type_name (a->kwvals[i]));
              return -1;
            }
          *where = a->kwvals[i];
        }
      else
        filter_add (th, f, a->kwnames[i], a->kwvals[i]);
    }
  return 0;
}

/* Calls where(event); -1 when it raised. */
static int
where_match (fb_star_thread *th, fb_value *where, fb_value *ev)
{
  fb_value *r = fb_star_call (th, where, &(fb_star_args) { .npos = 1, .pos = &ev });
  return r ? fb_value_truth (r) : -1;
}

/* Visits the events matching f (and where=) in seq order until visit
 * returns false; -1 when where= raised. */
static int
scan (fb_star_thread *th, fb_session *ss, const filter *f, fb_value *where, bool syscalls_only,
      bool (*visit) (void *ctx, fb_value *ev), void *ctx)
{
  size_t n;
  _cleanup_free_ fb_event *evs = session_snapshot (ss, &n);
  for (size_t i = 0; i < n; i++)
    {
      const fb_event *e = &evs[i];
      if (syscalls_only ? strcmp (e->type, "syscall") : !where && !observable_type (e->type))
        continue;
      if (!filter_match (f, e))
        continue;
      fb_value *v = spec_event_value (th, e);
      if (where)
        {
          int m = where_match (th, where, v);
          if (m < 0)
            return -1;
          if (!m)
            continue;
        }
      if (!visit (ctx, v))
        break;
    }
  return 0;
}

static bool
collect (void *ctx, fb_value *ev)
{
  void **c = ctx;
  fb_list_append (c[0], c[1], ev);
  return true;
}

static bool
first (void *ctx, fb_value *ev)
{
  *(fb_value **) ctx = ev;
  return false;
}

#define EVENTS_NEED_TEST "the event log exists only while a test runs"

static void
count_assertion (fb_session *ss)
{
  __atomic_fetch_add (&ss->result->assertions, 1, __ATOMIC_RELAXED);
}

/* events(**filters, where=fn) -> list of events */
static fb_value *
b_events (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "events", EVENTS_NEED_TEST);
  if (!ss)
    return NULL;
  filter f = { 0 };
  fb_value *where, *out = fb_list_new (th, 0, NULL);
  void *ctx[] = { th, out };
  int rc = parse_filters (th, "events", a, &f, &where);
  if (rc == 0)
    rc = scan (th, ss, &f, where, false, collect, ctx);
  filter_clear (&f);
  return rc < 0 ? NULL : out;
}

static fb_value *
assert_some (fb_star_thread *th, const fb_star_args *a, bool want)
{
  const char *fname = want ? "assert_eventually" : "assert_never";
  fb_session *ss = spec_session (th, fname, EVENTS_NEED_TEST);
  if (!ss)
    return NULL;
  count_assertion (ss);
  filter f = { 0 };
  fb_value *where, *hit = NULL, *r = fb_none ();
  if (parse_filters (th, fname, a, &f, &where) < 0 || scan (th, ss, &f, where, false, first, &hit) < 0)
    r = NULL;
  else if (want && !hit)
    {
      _cleanup_buf_ fb_buf d = FB_BUF_INIT;
      filter_describe (&f, &d);
      r = fb_star_errorf (th, "assert_eventually: no matching event found (filters: %s%s)",
                          f.n ? fb_buf_str (&d) : "none", where ? ", where=fn" : "");
    }
  else if (!want && hit)
    {
      const fb_event *e = fb_host_data (hit, &spec_event_type);
      const char *sc = fb_event_get (e, "syscall"), *dec = fb_event_get (e, "decision"),
                 *path = fb_event_get (e, "path");
      r = fb_star_errorf (th, "assert_never: found matching event #%llu (service=%s %s%s%s%s%s%s)",
                          (unsigned long long) e->seq, e->service, sc ? "syscall=" : "type=",
                          sc ? sc : e->type, dec ? " decision=" : "", dec ? dec : "",
                          path ? " path=" : "", path ? path : "");
    }
  filter_clear (&f);
  return r;
}

static fb_value *
b_assert_eventually (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return assert_some (th, a, true);
}

static fb_value *
b_assert_never (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return assert_some (th, a, false);
}

static int
dict_filter (fb_star_thread *th, const char *kw, fb_value *d, filter *f)
{
  if (fb_value_type_of (d) != FB_V_DICT)
    {
      fb_star_errorf (th, "assert_before: %s= must be a dict of filters like {\"service\": \"db\", \"syscall\": \"write\"}, got %s",
                      kw, fb_value_type_name (d));
      return -1;
    }
  fb_value *k, *v;
  for (size_t i = 0; fb_dict_entry (d, i, &k, &v); i++)
    {
      if (fb_value_type_of (k) != FB_V_STRING)
        {
          fb_star_errorf (th, "assert_before: %s= keys must be strings", kw);
          return -1;
        }
      filter_add (th, f, fb_value_as_string (k, NULL), v);
    }
  return 0;
}

/* assert_before(first={...}, then={...}): the first syscall event matching
 * `first` comes before the first one matching `then`. */
static fb_value *
b_assert_before (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "assert_before", EVENTS_NEED_TEST);
  fb_value *d1, *d2;
  if (!ss || fb_star_unpack (th, "assert_before", a, "first", &d1, "then", &d2, NULL) < 0)
    return NULL;
  count_assertion (ss);
  filter f1 = { 0 }, f2 = { 0 };
  fb_value *h1 = NULL, *h2 = NULL, *r = fb_none ();
  if (dict_filter (th, "first", d1, &f1) < 0 || dict_filter (th, "then", d2, &f2) < 0
      || scan (th, ss, &f1, NULL, true, first, &h1) < 0 || scan (th, ss, &f2, NULL, true, first, &h2) < 0)
    r = NULL;
  else
    {
      _cleanup_buf_ fb_buf b1 = FB_BUF_INIT;
      _cleanup_buf_ fb_buf b2 = FB_BUF_INIT;
      filter_describe (&f1, &b1);
      filter_describe (&f2, &b2);
      const fb_event *e1 = h1 ? fb_host_data (h1, &spec_event_type) : NULL;
      const fb_event *e2 = h2 ? fb_host_data (h2, &spec_event_type) : NULL;
      if (!e1 || !e2)
        r = fb_star_errorf (th, "assert_before: no event matches %s (%s)", !e1 ? "first" : "then",
                            fb_buf_str (!e1 ? &b1 : &b2));
      else if (e1->seq >= e2->seq)
        r = fb_star_errorf (th, "assert_before: first (%s) is event #%llu, not before then (%s) at #%llu",
                            fb_buf_str (&b1), (unsigned long long) e1->seq, fb_buf_str (&b2),
                            (unsigned long long) e2->seq);
    }
  filter_clear (&f1);
  filter_clear (&f2);
  return r;
}

/* ---- match ------------------------------------------------------------- */

typedef enum { M_EVENT, M_ANY, M_ALL, M_NEVER } matcher_kind;

typedef struct {
  matcher_kind kind;
  filter f;
  fb_value **subs;
  size_t n_subs;
} matcher;

static void
matcher_free (void *p)
{
  matcher *m = p;
  filter_clear (&m->f);
  free (m->subs);
  free (m);
}

static const fb_host_type matcher_type = {
  .name = "matcher", .destroy = matcher_free,
};

static bool
matcher_match (const matcher *m, const fb_event *ev)
{
  switch (m->kind)
    {
    case M_EVENT: return filter_match (&m->f, ev);
    case M_NEVER: return false;
    case M_ANY:
    case M_ALL:
      for (size_t i = 0; i < m->n_subs; i++)
        if (matcher_match (fb_host_data (m->subs[i], &matcher_type), ev) == (m->kind == M_ANY))
          return m->kind == M_ANY;
      return m->kind == M_ALL;
    }
  return false;
}

static fb_value *
match_new (fb_star_thread *th, matcher_kind kind, const char *fname, const fb_star_args *a)
{
  matcher *m = FB_NEW (matcher);
  m->kind = kind;
  fb_value *v = fb_host_new (th, &matcher_type, m);
  if (kind == M_EVENT)
    {
      if (a->npos)
        return fb_star_errorf (th, "%s: takes keyword filters only (type=, service=, or any field)", fname);
      for (size_t i = 0; i < a->nkw; i++)
        filter_add (th, &m->f, a->kwnames[i], a->kwvals[i]);
      return v;
    }
  if (a->nkw)
    return fb_star_errorf (th, "%s: unexpected keyword argument %s", fname, a->kwnames[0]);
  if (kind == M_NEVER && a->npos)
    return fb_star_errorf (th, "%s: takes no arguments", fname);
  m->subs = fb_xcalloc (a->npos + 1, sizeof *m->subs);
  for (size_t i = 0; i < a->npos; i++)
    {
      if (!fb_host_data (a->pos[i], &matcher_type))
        return fb_star_errorf (th, "%s: argument %zu must be a matcher (match.event(...)), got %s",
                               fname, i + 1, fb_value_type_name (a->pos[i]));
      m->subs[m->n_subs++] = a->pos[i];
    }
  return v;
}

fb_value *
spec_match_event (fb_star_thread *th, const char *fname, const fb_star_args *a)
{
  return match_new (th, M_EVENT, fname, a);
}

bool
spec_is_matcher (fb_value *v)
{
  return fb_host_data (v, &matcher_type) != NULL;
}

int
spec_event_matches (fb_star_thread *th, fb_value *m, const fb_event *ev)
{
  const matcher *mt = fb_host_data (m, &matcher_type);
  if (mt)
    return matcher_match (mt, ev);
  return where_match (th, m, spec_event_value (th, ev));
}

#define MATCH_FN(fn, kind, label)                                                          \
  static fb_value *fn (fb_star_thread *th, fb_value *self, const fb_star_args *a)          \
  {                                                                                        \
    (void) self;                                                                           \
    return match_new (th, kind, label, a);                                                 \
  }
MATCH_FN (m_event, M_EVENT, "match.event")
MATCH_FN (m_any, M_ANY, "match.any")
MATCH_FN (m_all, M_ALL, "match.all")
MATCH_FN (m_never, M_NEVER, "match.never")

/* ---- monitor ----------------------------------------------------------- */

typedef struct {
  bool attached;
  char *name;
  fb_value *callback;    /* monitor(fn, **filters): fn(event) calls fail() */
  filter f;
  fb_value *on;          /* monitor(name, on=, state_init=, update=, check=) */
  fb_value *state_init, *update, *check;
} monitor_val;

static void
monitor_free (void *p)
{
  monitor_val *m = p;
  free (m->name);
  filter_clear (&m->f);
  free (m);
}

static char *
monitor_repr (fb_value *self)
{
  monitor_val *m = fb_host_data (self, &spec_monitor_type);
  return fb_xasprintf ("monitor(\"%s\")", m->name);
}

const fb_host_type spec_monitor_type = {
  .name = "monitor", .repr = monitor_repr, .destroy = monitor_free,
};

void
spec_monitor_attach (fb_value *v)
{
  monitor_val *m = fb_host_data (v, &spec_monitor_type);
  if (m)
    m->attached = true;
}

bool
spec_monitor_attached (fb_value *v)
{
  monitor_val *m = fb_host_data (v, &spec_monitor_type);
  return m && m->attached;
}

static fb_value *
b_monitor (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  if (a->npos != 1)
    return fb_star_errorf (th, "monitor: want monitor(fn, service=..., syscall=...) or monitor(\"name\", on=..., check=...)");
  monitor_val *m = FB_NEW (monitor_val);
  fb_value *v = fb_host_new (th, &spec_monitor_type, m);
  fb_value *p = a->pos[0];
  if (fb_value_is_callable (p))
    {
      const char *n = fb_value_func_name (p);
      m->name = fb_xstrdup (n ? n : "monitor");
      m->callback = p;
      for (size_t i = 0; i < a->nkw; i++)
        filter_add (th, &m->f, a->kwnames[i], a->kwvals[i]);
    }
  else if (fb_value_type_of (p) == FB_V_STRING)
    {
      m->name = fb_xstrdup (fb_value_as_string (p, NULL));
      fb_star_args rest = { .nkw = a->nkw, .kwnames = a->kwnames, .kwvals = a->kwvals };
      if (fb_star_unpack (th, "monitor", &rest, "on", &m->on, "state_init?", &m->state_init,
                          "update?", &m->update, "check?", &m->check, NULL) < 0)
        return NULL;
      if (!fb_host_data (m->on, &matcher_type) && !fb_value_is_callable (m->on))
        return fb_star_errorf (th, "monitor %s: on= must be match.event(...) or a function of one event, got %s",
                               m->name, fb_value_type_name (m->on));
      if ((m->update && m->update != fb_none () && !fb_value_is_callable (m->update))
          || (m->check && m->check != fb_none () && !fb_value_is_callable (m->check)))
        return fb_star_errorf (th, "monitor %s: update= and check= must be functions", m->name);
    }
  else
    return fb_star_errorf (th, "monitor: the first argument must be a function or a name, got %s",
                           fb_value_type_name (p));
  fb_spec *sp = spec_of (th);
  if (sp->session)
    session_add_monitor (sp->session, v, 0);
  else
    {
      sp->monitors = fb_xreallocarray (sp->monitors, sp->n_monitors + 1, sizeof *sp->monitors);
      sp->monitors[sp->n_monitors++] = v;
    }
  return v;
}

void
session_add_monitor (fb_session *ss, fb_value *monitor, uint64_t scope)
{
  pthread_mutex_lock (&ss->mu);
  uint64_t from = ss->result->n_events + 1;
  pthread_mutex_unlock (&ss->mu);
  ss->monitors = fb_xreallocarray (ss->monitors, ss->n_monitors + 1, sizeof *ss->monitors);
  ss->monitors[ss->n_monitors++] = (session_monitor) { monitor, scope, from, 0 };
}

/* The message of the pending error, without its position. */
static void
take_message (fb_star_thread *th, fb_buf *out)
{
  const char *msg = fb_star_error_message (th);
  if (!msg)
    msg = "error";
  /* fail("x") inside a monitor reads as the violation itself */
  if (!strncmp (msg, "fail: ", 6))
    msg += 6;
  fb_buf_append (out, msg, strcspn (msg, "\n"));
  fb_error e = { 0 };
  fb_star_take_error (th, &e);
}

static fb_value *
call2 (fb_star_thread *th, fb_value *fn, fb_value *x, fb_value *y)
{
  fb_value *args[] = { x, y };
  return fb_star_call (th, fn, &(fb_star_args) { .npos = y ? 2 : 1, .pos = args });
}

/* One monitor on one event: 1 matched and held, 0 not matched, -1
 * violated (why filled). */
static int
monitor_step (fb_star_thread *th, monitor_val *m, const fb_event *e, fb_value **ev,
              fb_value **state, fb_buf *why)
{
  const matcher *mt = m->on ? fb_host_data (m->on, &matcher_type) : NULL;
  if (m->callback ? !observable_type (e->type) || !filter_match (&m->f, e)
                  : mt && !matcher_match (mt, e))
    return 0;
  if (!*ev)
    *ev = spec_event_value (th, e);
  if (m->callback)
    {
      if (fb_star_call (th, m->callback, &(fb_star_args) { .npos = 1, .pos = ev }))
        return 1;
      fb_buf_puts (why, "monitor violation: ");
      take_message (th, why);
      return -1;
    }
  if (!mt)
    {
      int r = where_match (th, m->on, *ev);
      if (r <= 0)
        {
          if (r < 0)
            {
              fb_buf_printf (why, "monitor violation: monitor \"%s\": on= failed: ", m->name);
              take_message (th, why);
              return -1;
            }
          return 0;
        }
    }
  fb_value *next = *state;
  if (m->update && m->update != fb_none () && !(next = call2 (th, m->update, *ev, *state)))
    goto raised;
  if (m->check && m->check != fb_none ())
    {
      fb_value *ok = call2 (th, m->check, *ev, next);
      if (!ok)
        goto raised;
      if (!fb_value_truth (ok))
        {
          fb_buf_printf (why, "monitor violation: monitor \"%s\" violated at event seq=%llu type=%s service=%s",
                         m->name, (unsigned long long) e->seq, e->type, e->service);
          return -1;
        }
    }
  *state = next;
  return 1;
raised:
  fb_buf_printf (why, "monitor violation: monitor \"%s\" at event seq=%llu: ", m->name,
                 (unsigned long long) e->seq);
  take_message (th, why);
  return -1;
}

int
session_check_monitors (fb_star_thread *th, fb_session *ss, fb_buf *why)
{
  if (!ss->n_monitors)
    return 0;
  size_t n;
  _cleanup_free_ fb_event *evs = session_snapshot (ss, &n);
  size_t nm = ss->n_monitors;
  _cleanup_free_ fb_value **state = fb_xcalloc (nm + 1, sizeof *state);
  for (size_t k = 0; k < nm; k++)
    {
      monitor_val *m = fb_host_data (ss->monitors[k].monitor, &spec_monitor_type);
      state[k] = m->state_init ? m->state_init : fb_none ();
    }
  for (size_t i = 0; i < n; i++)
    {
      fb_value *ev = NULL;
      for (size_t k = 0; k < nm; k++)
        {
          const session_monitor *sm = &ss->monitors[k];
          if (evs[i].seq < sm->from || (sm->to && evs[i].seq > sm->to))
            continue;
          monitor_val *m = fb_host_data (sm->monitor, &spec_monitor_type);
          if (monitor_step (th, m, &evs[i], &ev, &state[k], why) < 0)
            return -1;
        }
    }
  return 0;
}

/* ---- trace ------------------------------------------------------------- */

bool
session_traced_locked (fb_session *ss, const char *service, const char *syscall)
{
  for (size_t i = 0; i < ss->n_traces; i++)
    {
      session_trace *t = &ss->traces[i];
      if (strcmp (ss->spec->plan.services[t->svc].name, service))
        continue;
      for (char **p = t->syscalls; *p; p++)
        if (!strcmp (*p, syscall))
          {
            t->hits++;
            return true;
          }
    }
  return false;
}

static int
add_trace (fb_star_thread *th, const char *fname, fb_session *ss, size_t svc, fb_value *list,
           uint64_t scope, bool started)
{
  fb_value_type t = fb_value_type_of (list);
  long n = fb_value_len (list);
  if ((t != FB_V_LIST && t != FB_V_TUPLE) || n < 1)
    {
      fb_star_errorf (th, "%s: syscalls= must be a non-empty list of syscall names, e.g. [\"write\", \"openat\"]",
                      fname);
      return -1;
    }
  session_trace tr = { .svc = svc, .scope = scope, .started = started };
  tr.syscalls = fb_xcalloc (1, sizeof *tr.syscalls);
  fb_buf kw = FB_BUF_INIT;
  size_t k = 0;
  for (long i = 0; i < n; i++)
    {
      fb_value *x = fb_value_at (list, (size_t) i);
      const char *name = fb_value_as_string (x, NULL);
      char **fam = name && fb_value_type_of (x) == FB_V_STRING
                       ? spec_keyword_syscalls (th, fname, ss->spec, svc, name, NULL)
                       : NULL;
      if (!fam)
        {
          if (!name || fb_value_type_of (x) != FB_V_STRING)
            fb_star_errorf (th, "%s: syscalls[%ld] must be a string, got %s", fname, i,
                            fb_value_type_name (x));
          fb_strv_free (tr.syscalls);
          fb_buf_free (&kw);
          return -1;
        }
      fb_buf_printf (&kw, "%s%s", i ? "," : "", name);
      for (char **p = fam; *p; p++)
        {
          tr.syscalls = fb_xreallocarray (tr.syscalls, k + 2, sizeof *tr.syscalls);
          tr.syscalls[k++] = fb_xstrdup (*p);
          tr.syscalls[k] = NULL;
        }
      fb_strv_free (fam);
    }
  tr.keywords = fb_buf_steal (&kw);
  const char *kv[] = { "syscalls", tr.keywords, NULL };
  session_event (ss, "trace_applied", ss->spec->plan.services[svc].name, kv);
  pthread_mutex_lock (&ss->mu);
  ss->traces = fb_xreallocarray (ss->traces, ss->n_traces + 1, sizeof *ss->traces);
  ss->traces[ss->n_traces++] = tr;
  pthread_mutex_unlock (&ss->mu);
  return 0;
}

static void
remove_trace_if (fb_session *ss, bool (*pred) (const session_trace *, uint64_t), uint64_t arg)
{
  for (size_t i = 0; i < ss->n_traces; i++)
    {
      pthread_mutex_lock (&ss->mu);
      session_trace tr = ss->traces[i];
      bool drop = pred (&tr, arg);
      if (drop)
        ss->traces[i--] = ss->traces[--ss->n_traces];
      pthread_mutex_unlock (&ss->mu);
      if (!drop)
        continue;
      const char *svc = ss->spec->plan.services[tr.svc].name;
      fb_fault_summary f = { .service = fb_xstrdup (svc), .keyword = tr.keywords,
                             .action = fb_xstrdup ("trace"), .hits = tr.hits,
                             .matched = tr.hits };
      fb_buf b = FB_BUF_INIT;
      for (char **p = tr.syscalls; *p; p++)
        fb_buf_printf (&b, "%s%s", p == tr.syscalls ? "" : ",", *p);
      f.filter = fb_buf_steal (&b);
      char hits[24];
      snprintf (hits, sizeof hits, "%llu", (unsigned long long) tr.hits);
      const char *kv[] = { "syscalls", tr.keywords, "hits", hits, NULL };
      session_event (ss, "trace_removed", svc, kv);
      pthread_mutex_lock (&ss->mu);
      fb_test_result *t = ss->result;
      t->faults = fb_xreallocarray (t->faults, t->n_faults + 1, sizeof *t->faults);
      t->faults[t->n_faults++] = f;
      pthread_mutex_unlock (&ss->mu);
      fb_strv_free (tr.syscalls);
    }
}

static bool
in_scope (const session_trace *t, uint64_t scope)
{
  return t->scope == scope;
}

static bool
started_on (const session_trace *t, uint64_t svc)
{
  return t->started && t->svc == svc;
}

void
session_remove_traces (fb_session *ss, uint64_t scope)
{
  remove_trace_if (ss, in_scope, scope);
}

/* trace(svc, syscalls=[...], run=fn) */
static fb_value *
b_trace (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "trace", EVENTS_NEED_TEST);
  fb_value *target, *list, *run;
  if (!ss || fb_star_unpack (th, "trace", a, "service", &target, "syscalls", &list, "run", &run,
                             NULL) < 0)
    return NULL;
  ssize_t svc = spec_service_arg (th, "trace", target);
  if (svc < 0)
    return NULL;
  if (!fb_value_is_callable (run))
    return fb_star_errorf (th, "trace: run= must be a function (the steps to trace)");
  uint64_t scope = ++ss->next_scope;
  fb_value *r = NULL;
  if (add_trace (th, "trace", ss, (size_t) svc, list, scope, false) == 0)
    r = fb_star_call (th, run, NULL);
  session_remove_traces (ss, scope);
  return r;
}

static fb_value *
b_trace_start (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "trace_start", EVENTS_NEED_TEST);
  fb_value *target, *list;
  if (!ss || fb_star_unpack (th, "trace_start", a, "service", &target, "syscalls", &list, NULL) < 0)
    return NULL;
  ssize_t svc = spec_service_arg (th, "trace_start", target);
  if (svc < 0 || add_trace (th, "trace_start", ss, (size_t) svc, list, ++ss->next_scope, true) < 0)
    return NULL;
  return fb_none ();
}

static fb_value *
b_trace_stop (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "trace_stop", EVENTS_NEED_TEST);
  fb_value *target;
  if (!ss || fb_star_unpack (th, "trace_stop", a, "service", &target, NULL) < 0)
    return NULL;
  ssize_t svc = spec_service_arg (th, "trace_stop", target);
  if (svc < 0)
    return NULL;
  remove_trace_if (ss, started_on, (uint64_t) svc);
  return fb_none ();
}

void
spec_predeclare_events (fb_spec *s)
{
  static const spec_builtin fns[] = {
    { "events", b_events }, { "assert_eventually", b_assert_eventually },
    { "assert_never", b_assert_never }, { "assert_before", b_assert_before },
    { "monitor", b_monitor }, { "trace", b_trace }, { "trace_start", b_trace_start },
    { "trace_stop", b_trace_stop },
  };
  spec_predeclare_all (s, fns, sizeof fns / sizeof *fns);
  static const spec_builtin ms[] = {
    { "event", m_event }, { "any", m_any }, { "all", m_all }, { "never", m_never },
  };
  const char *names[4];
  fb_value *vals[4];
  for (size_t i = 0; i < 4; i++)
    {
      names[i] = ms[i].name;
      vals[i] = fb_builtin_new (s->th, ms[i].name, ms[i].fn, NULL);
    }
  fb_star_predeclare (s->th, "match", fb_module_value_new (s->th, "match", 4, names, vals));
}
