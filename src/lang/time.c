/* Time and waiting (Faultbox's section 5): duration(), sleep(),
 * await_event(), await_stable(), the temporal expectations eventually()
 * and always(), and test() with its lifecycle and verdict table. Waiting
 * is on the session's condition variable, broadcast where events are
 * appended, never a polling loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "lang/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/parse.h"
#include "util/time.h"

#define DEFAULT_WAIT_NS (30 * FB_NS_PER_S)

/* ---- durations --------------------------------------------------------- */

/* Go's time.ParseDuration: an optional sign, then decimal numbers each with
 * a unit, or a bare 0. Returns NULL or Go's error text. */
static const char *
go_duration (const char *s, int64_t *out)
{
  static const struct { const char *u; double ns; } units[] = {
    { "ns", 1 }, { "us", 1e3 }, { "µs", 1e3 }, { "μs", 1e3 }, { "ms", 1e6 },
    { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
  };
  const char *p = s;
  bool neg = *p == '-';
  p += *p == '-' || *p == '+';
  if (!strcmp (p, "0"))
    return *out = 0, NULL;
  if (!*p)
    return "invalid";
  double total = 0;
  while (*p)
    {
      size_t nd = strspn (p, "0123456789"), nf = 0;
      if (p[nd] == '.')
        nf = strspn (p + nd + 1, "0123456789");
      if (!nd && !nf)
        return "invalid";
      double v = strtod (p, NULL);
      p += nd + (p[nd] == '.') + nf;
      size_t ul = strcspn (p, "0123456789.");
      if (!ul)
        return "missing unit in";
      size_t k = 0;
      while (k < sizeof units / sizeof *units && (strlen (units[k].u) != ul || strncmp (p, units[k].u, ul)))
        k++;
      if (k == sizeof units / sizeof *units)
        return "unknown unit";
      total += v * units[k].ns;
      p += ul;
    }
  if (total > 9.2e18)
    return "invalid";
  *out = (int64_t) (neg ? -total : total);
  return NULL;
}

int
spec_duration_arg (fb_star_thread *th, const char *fname, fb_value *v, int64_t *out)
{
  if (fb_value_as_int64 (v, out))
    return 0;
  const char *s = fb_value_as_string (v, NULL);
  if (!s || fb_value_type_of (v) != FB_V_STRING)
    {
      fb_star_errorf (th, "%s: want a duration string such as \"500ms\" or an int of nanoseconds, got %s", fname,
                      fb_value_type_name (v));
      return -1;
    }
  _cleanup_free_ char *t = fb_xstrdup (s + strspn (s, " \t\n"));
  for (size_t n = strlen (t); n && strchr (" \t\n", t[n - 1]); n--)
    t[n - 1] = '\0';
  const char *why = go_duration (t, out);
  if (!why)
    return 0;
  if (!strcmp (why, "unknown unit"))
    fb_star_errorf (th, "%s(\"%s\"): time: unknown unit \"%.*s\" in duration \"%s\"", fname, s,
                    (int) strcspn (t + strcspn (t, "abcdefghijklmnopqrstuvwxyzµμ"), "0123456789."),
                    t + strcspn (t, "abcdefghijklmnopqrstuvwxyzµμ"), t);
  else
    fb_star_errorf (th, "%s(\"%s\"): time: %s duration \"%s\"%s", fname, s, why, t,
                    strcmp (why, "missing unit in") ? "" : " (units: ns, us, ms, s, m, h)");
  return -1;
}

static fb_value *
b_duration (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *v;
  int64_t ns;
  if (fb_star_unpack (th, "duration", a, "s", &v, NULL) < 0 || spec_duration_arg (th, "duration", v, &ns) < 0)
    return NULL;
  return fb_int (th, ns);
}

/* clock="wall" is the only one we have (as in Faultbox's release). */
static int
check_clock (fb_star_thread *th, const char *fname, const char *clock)
{
  if (!clock || !*clock || !strcmp (clock, "wall"))
    return 0;
  if (!strcmp (clock, "virtual"))
    fb_star_errorf (th, "%s: clock=\"virtual\" requires gVisor (Path C); not available in this release "
                    "(faultbox test --virtual-time puts the services' clocks and sleep() on a virtual clock)", fname);
  else
    fb_star_errorf (th, "%s: clock=\"%s\": must be \"wall\" (the default) or \"virtual\"", fname, clock);
  return -1;
}

/* The running test, or NULL after raising "f() may only be called inside a
 * test body". */
static fb_session *
body_session (fb_star_thread *th, const char *fname)
{
  fb_session *ss = spec_of (th)->session;
  if (!ss)
    fb_star_errorf (th, "%s() may only be called inside a test body; got call at module top level", fname);
  return ss;
}

/* ---- the temporal expectations ----------------------------------------- */

typedef enum { A_NONE, A_BODY_START, A_BODY_END, A_STABLE, A_MATCH } anchor_kind;

typedef struct {
  anchor_kind kind;
  fb_value *m;          /* A_MATCH: a matcher or a predicate of one event */
} anchor;

typedef struct {
  bool always;
  fb_value *pred;       /* of a trace */
  anchor anchor;        /* eventually(anchor=) */
  anchor start, end;    /* always(between=) */
  char *name;           /* "eventually(ready)", for reasons */
} expectation;

static void
expectation_free (void *p)
{
  expectation *x = p;
  free (x->name);
  free (x);
}

static char *
expectation_repr (fb_value *self);

static const fb_host_type expectation_type = {
  .name = "expectation", .repr = expectation_repr, .destroy = expectation_free,
};

static char *
expectation_repr (fb_value *self)
{
  return fb_xasprintf ("<%s>", ((expectation *) fb_host_data (self, &expectation_type))->name);
}

/* Where a test() stands: its expectations and how far they were checked. */
typedef struct {
  fb_value *x;
  bool satisfied, violated, opened, closed;
  char *why;
} xstate;

struct session_time {
  xstate *xs;
  size_t n;
  size_t *checked_to;   /* per expectation: how many events of the log it saw */
  int64_t timeout_ns;
  size_t body_start, body_end, stable; /* log lengths at those moments; SIZE_MAX: not yet */
  fb_value *terminate_when;
  bool terminated;
  bool checking;        /* a check runs Starlark: events it causes wait for the next */
  int wake_fd;          /* eventfd written on every event: wakes a blocked step */
  const char *stop;     /* why a check stopped the body: a violation or terminate_when */
};

/* ---- trace: what a temporal predicate sees ---------------------------- */

typedef struct {
  fb_session *ss;
  size_t n;             /* the first n events of the log */
} trace;

static const char *const trace_attrs[] = { "event", "events", "first", "last", "count", "events_between",
                                           "events_within", "causal_chain", NULL };
static fb_value *trace_attr (fb_star_thread *th, fb_value *self, const char *name);
static const fb_host_type trace_type = {
  .name = "trace", .attr = trace_attr, .attr_names = trace_attrs, .destroy = free,
};

/* The trace's events, copied under the lock; free(). */
static fb_event *
trace_events (const trace *t)
{
  pthread_mutex_lock (&t->ss->mu);
  fb_event *evs = fb_xcalloc (t->n + 1, sizeof *evs);
  memcpy (evs, t->ss->result->events, t->n * sizeof *evs);
  pthread_mutex_unlock (&t->ss->mu);
  return evs;
}

/* The events of t matching m (NULL: all), into a new list; NULL when a
 * predicate raised. */
static fb_value *
trace_select (fb_star_thread *th, const trace *t, fb_value *m)
{
  _cleanup_free_ fb_event *evs = trace_events (t);
  fb_value *l = fb_list_new (th, 0, NULL);
  for (size_t i = 0; i < t->n; i++)
    {
      int r = m ? spec_event_matches (th, m, &evs[i]) : 1;
      if (r < 0)
        return NULL;
      if (r)
        fb_list_append (th, l, spec_event_value (th, &evs[i]));
    }
  return l;
}

static fb_value *
trace_method (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  const char *name = fb_builtin_name (self);
  const trace *t = fb_builtin_data (self);
  fb_value *m = NULL;
  if (!strncmp (name, "events_", 7) || !strcmp (name, "causal_chain"))
    {
      _cleanup_free_ fb_event *evs = trace_events (t);
      return spec_trace_query (th, name, evs, t->n, a);
    }
  /* event(type=, **fields): the last event those filters match */
  if (!strcmp (name, "event") && (m = spec_match_event (th, "trace.event", a)) == NULL)
    return NULL;
  if (strcmp (name, "event") && fb_star_unpack (th, name, a, "m?", &m, NULL) < 0)
    return NULL;
  if (m == fb_none ())
    m = NULL;
  if (m && !spec_is_matcher (m) && !fb_value_is_callable (m))
    return fb_star_errorf (th, "trace.%s: want a matcher (match.event(...)) or a predicate of one event, got %s",
                           name, fb_value_type_name (m));
  fb_value *l = trace_select (th, t, m);
  if (!l || !strcmp (name, "events"))
    return l ? spec_event_list (th, l) : NULL;
  long n = fb_value_len (l);
  if (!strcmp (name, "count"))
    return fb_int (th, n);
  if (!n)
    return fb_none ();
  return fb_value_at (l, strcmp (name, "first") ? (size_t) n - 1 : 0);
}

static fb_value *
trace_attr (fb_star_thread *th, fb_value *self, const char *name)
{
  for (size_t i = 0; trace_attrs[i]; i++)
    if (!strcmp (trace_attrs[i], name))
      return fb_builtin_new (th, trace_attrs[i], trace_method, fb_host_data (self, &trace_type));
  return NULL;
}

/* ---- checking the expectations ----------------------------------------- */

static fb_value *
trace_value (fb_star_thread *th, fb_session *ss, size_t n)
{
  trace *t = FB_NEW (trace);
  *t = (trace) { ss, n };
  return fb_host_new (th, &trace_type, t);
}


/* The pending error's message, taken (the error is cleared). */
static char *
take_message (fb_star_thread *th)
{
  const char *m = fb_star_error_message (th);
  char *s = fb_xstrdup (m ? m : "raised");
  fb_error e = { 0 };
  fb_star_take_error (th, &e);
  return s;
}

/* Whether the n-th event (1-based) reaches anchor a; lifecycle anchors
 * by the log's length when they happened. */
static bool
anchor_at (fb_star_thread *th, fb_session *ss, const anchor *a, size_t n)
{
  const struct session_time *st = ss->time;
  switch (a->kind)
    {
    case A_NONE: return true;
    case A_BODY_START: return n > st->body_start;
    case A_BODY_END: return n > st->body_end;
    case A_STABLE: return n > st->stable;
    case A_MATCH: break;
    }
  pthread_mutex_lock (&ss->mu);
  fb_event ev = ss->result->events[n - 1];
  pthread_mutex_unlock (&ss->mu);
  int r = spec_event_matches (th, a->m, &ev);
  if (r < 0)
    free (take_message (th)); /* a raising anchor predicate is no match */
  return r > 0;
}

/* One expectation at the log's first n events. */
static void
check_one (fb_star_thread *th, fb_session *ss, xstate *s, size_t n)
{
  const expectation *x = fb_host_data (s->x, &expectation_type);
  if (!x->always)
    {
      s->opened = s->opened || anchor_at (th, ss, &x->anchor, n);
      if (!s->opened)
        return;
    }
  else if (!s->opened)
    {
      if (!anchor_at (th, ss, &x->start, n))
        return;
      s->opened = true;
    }
  else if (x->end.kind != A_NONE && anchor_at (th, ss, &x->end, n))
    {
      s->closed = true;
      return;
    }
  fb_value *t = trace_value (th, ss, n);
  fb_value *r = fb_star_call (th, x->pred, &(fb_star_args) { .npos = 1, .pos = &t });
  if (!x->always)
    {
      if (r)
        s->satisfied = fb_value_truth (r);
      else
        free (take_message (th));
    }
  else if (!r || !fb_value_truth (r))
    {
      s->violated = true;
      s->why = r ? fb_xasprintf ("violated at event %zu", n) : take_message (th);
    }
}

static int checkpoint_at (fb_star_thread *th, fb_session *ss, struct session_time *st, bool raise);

/* Checks every expectation at each event appended since it last looked,
 * then terminate_when; -1 after raising when the body must stop (an
 * always() violated, terminate_when fired). */
static int
checkpoint (fb_star_thread *th, fb_session *ss, bool raise)
{
  struct session_time *st = ss->time;
  if (!st || st->checking)
    return 0;
  st->checking = true;
  int r = checkpoint_at (th, ss, st, raise);
  st->checking = false;
  return r;
}

/* From any thread, under ss->mu, for each event: pokes the body so its
 * next step checks, and wakes a step it is blocked in. */
void
session_time_event_locked (fb_session *ss)
{
  if (!ss->time)
    return;
  fb_star_poke (ss->spec->th);
  if (ss->time->wake_fd >= 0)
    eventfd_write (ss->time->wake_fd, 1);
}

int
session_wake_fd (fb_session *ss)
{
  return ss->time ? ss->time->wake_fd : -1;
}

int
session_test_check (fb_star_thread *th, fb_session *ss)
{
  eventfd_t n;
  if (ss->time && ss->time->wake_fd >= 0)
    eventfd_read (ss->time->wake_fd, &n);
  return checkpoint (th, ss, true);
}

static int
poll_check (fb_star_thread *th, void *ss)
{
  return checkpoint (th, ss, true);
}

static int
checkpoint_at (fb_star_thread *th, fb_session *ss, struct session_time *st, bool raise)
{
  size_t n = session_log_len (ss);
  for (size_t i = 0; i < st->n; i++)
    {
      xstate *s = &st->xs[i];
      for (; st->checked_to[i] < n && !s->satisfied && !s->violated && !s->closed; st->checked_to[i]++)
        check_one (th, ss, s, st->checked_to[i] + 1);
      st->checked_to[i] = n;
      if (s->violated && raise)
        {
          st->stop = "violation";
          fb_star_errorf (th, "%s: %s", ((expectation *) fb_host_data (s->x, &expectation_type))->name, s->why);
          return -1;
        }
    }
  if (st->terminate_when && !st->terminated && n)
    {
      const expectation *x = fb_host_data (st->terminate_when, &expectation_type);
      fb_value *t = trace_value (th, ss, n);
      fb_value *r = fb_star_call (th, x->pred, &(fb_star_args) { .npos = 1, .pos = &t });
      st->terminated = r && fb_value_truth (r);
      if (!r)
        free (take_message (th));
    }
  if (st->terminated && raise)
    {
      fb_star_errorf (th, "terminate_when fired");
      return -1;
    }
  return 0;
}

/* Adds x to the running test()'s expectations, checked from the event
 * before now (the body start for expect=). */
static void
expect_add (fb_session *ss, fb_value *x, size_t from)
{
  struct session_time *st = ss->time;
  st->xs = fb_xreallocarray (st->xs, st->n + 1, sizeof *st->xs);
  st->checked_to = fb_xreallocarray (st->checked_to, st->n + 1, sizeof *st->checked_to);
  st->xs[st->n] = (xstate) { .x = x };
  st->checked_to[st->n++] = from ? from - 1 : 0;
}

/* ---- waiting ----------------------------------------------------------- */

static void
abs_time (int64_t mono_ns, struct timespec *ts)
{
  ts->tv_sec = mono_ns / FB_NS_PER_S;
  ts->tv_nsec = mono_ns % FB_NS_PER_S;
}

/* Waits until the log grows past seen events or the monotonic time
 * until; returns the log's length. */
static size_t
wait_events (fb_session *ss, size_t seen, int64_t until)
{
  struct timespec ts;
  abs_time (until, &ts);
  pthread_mutex_lock (&ss->mu);
  while (ss->result->n_events == seen && fb_now_ns () < until)
    if (pthread_cond_timedwait (&ss->cv, &ss->mu, &ts) == ETIMEDOUT)
      break;
  size_t n = ss->result->n_events;
  pthread_mutex_unlock (&ss->mu);
  return n;
}

/* The end of a wait of `want` ns (<0: the default), bounded by the test's
 * deadline. */
static int64_t
wait_until (fb_session *ss, int64_t want)
{
  int64_t now = fb_now_ns ();
  int64_t until = now + (want >= 0 ? want : DEFAULT_WAIT_NS);
  if (want < 0 && ss->deadline)
    until = ss->deadline;
  return ss->deadline && until > ss->deadline ? ss->deadline : until;
}

static fb_value *
b_sleep (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *v;
  const char *clock = NULL;
  int64_t d;
  if (fb_star_unpack (th, "sleep", a, "duration", &v, "clock?:s", &clock, NULL) < 0
      || spec_duration_arg (th, "sleep", v, &d) < 0 || check_clock (th, "sleep", clock) < 0)
    return NULL;
  fb_session *ss = body_session (th, "sleep");
  if (!ss)
    return NULL;
  char ds[32], left[32];
  fb_format_duration (d < 0 ? -d : d, ds, sizeof ds);
  if (d < 0)
    return fb_star_errorf (th, "sleep: negative duration -%s", ds);
  /* --virtual-time: the test's sleep moves the services' clock on instead
   * of waiting, so it spends none of the (wall) budget */
  if (!d || fb_engine_advance_clock (ss->engine, d))
    return checkpoint (th, ss, true) < 0 ? NULL : fb_none ();
  int64_t now = fb_now_ns ();
  if (ss->deadline && d > ss->deadline - now)
    {
      fb_format_duration (ss->deadline > now ? ss->deadline - now : 0, left, sizeof left);
      return fb_star_errorf (th, "sleep: sleep(%s) is longer than the test's remaining budget (%s); "
                             "raise the test's timeout= or sleep less", ds, left);
    }
  int64_t until = now + d;
  for (size_t seen = session_log_len (ss); fb_now_ns () < until;)
    {
      seen = wait_events (ss, seen, until);
      if (checkpoint (th, ss, true) < 0)
        return NULL;
    }
  return fb_none ();
}

/* A matcher, a predicate of one event, or (ignore=) a list of those. */
static int
check_matcher (fb_star_thread *th, const char *fname, const char *what, fb_value *m, bool list_ok)
{
  if (spec_is_matcher (m) || fb_value_is_callable (m))
    return 0;
  for (long i = 0; list_ok && fb_value_type_of (m) == FB_V_LIST && i < fb_value_len (m); i++)
    if (check_matcher (th, fname, what, fb_value_at (m, (size_t) i), false) < 0)
      return -1;
  if (list_ok && fb_value_type_of (m) == FB_V_LIST)
    return 0;
  fb_star_errorf (th, "%s: %s must be a matcher (match.event(...)) or a predicate of one event%s, got %s", fname, what,
                  list_ok ? " (or a list of them)" : "", fb_value_type_name (m));
  return -1;
}

/* The first event from *from on matching m, else NULL with *from moved
 * past what was seen (a raising predicate is no match). */
static fb_value *
find_event (fb_star_thread *th, fb_session *ss, fb_value *m, size_t *from)
{
  size_t n;
  _cleanup_free_ fb_event *evs = session_snapshot (ss, &n);
  for (; *from < n; (*from)++)
    {
      int r = spec_event_matches (th, m, &evs[*from]);
      if (r < 0)
        free (take_message (th));
      if (r > 0)
        return spec_event_value (th, &evs[(*from)++]);
    }
  return NULL;
}

/* timeout= of await_*: a duration, default the test's remaining budget or
 * 30 s; -1 for the default. */
static int
wait_arg (fb_star_thread *th, const char *fname, fb_value *v, int64_t *out)
{
  *out = -1;
  if (!v || v == fb_none ())
    return 0;
  if (spec_duration_arg (th, fname, v, out) < 0)
    return -1;
  if (*out <= 0)
    {
      fb_star_errorf (th, "%s: timeout= must be > 0", fname);
      return -1;
    }
  return 0;
}

static fb_value *
b_await_event (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *m, *tv = NULL;
  const char *clock = NULL;
  int64_t want;
  if (fb_star_unpack (th, "await_event", a, "matcher_or_predicate", &m, "timeout?", &tv, "clock?:s", &clock, NULL) < 0
      || check_clock (th, "await_event", clock) < 0 || check_matcher (th, "await_event", "its argument", m, false) < 0
      || wait_arg (th, "await_event", tv, &want) < 0)
    return NULL;
  fb_session *ss = body_session (th, "await_event");
  if (!ss)
    return NULL;
  int64_t start = fb_now_ns (), until = wait_until (ss, want);
  size_t from = 0;
  for (;;)
    {
      fb_value *ev = find_event (th, ss, m, &from);
      if (ev)
        return ev;
      if (fb_now_ns () >= until)
        break;
      wait_events (ss, from, until);
      if (checkpoint (th, ss, true) < 0)
        return NULL;
    }
  char d[32];
  fb_format_duration (fb_now_ns () - start, d, sizeof d);
  return fb_star_errorf (th, "await_event: no matching event within %s%s", d,
                         ss->deadline && until >= ss->deadline ? " (the test's timeout)" : " (timeout=)");
}

/* True when some event of [from, n) is not ignored. */
static bool
activity (fb_star_thread *th, fb_session *ss, fb_value *ignore, size_t from, size_t n)
{
  size_t all;
  _cleanup_free_ fb_event *evs = session_snapshot (ss, &all);
  for (size_t i = from; i < n && i < all; i++)
    {
      bool ignored = false;
      bool list = ignore && fb_value_type_of (ignore) == FB_V_LIST;
      for (long k = 0; ignore && !ignored && k < (list ? fb_value_len (ignore) : 1); k++)
        {
          int r = spec_event_matches (th, list ? fb_value_at (ignore, (size_t) k) : ignore, &evs[i]);
          if (r < 0)
            free (take_message (th));
          ignored = r > 0;
        }
      if (!ignored)
        return true;
    }
  return false;
}

static fb_value *
b_await_stable (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *wv = NULL, *ignore = NULL, *tv = NULL;
  const char *clock = NULL;
  int64_t window = FB_NS_PER_S, want;
  if (a->npos)
    return fb_star_errorf (th, "await_stable: takes keyword arguments only (quiescence_window=, ignore=)");
  if (fb_star_unpack (th, "await_stable", a, "quiescence_window?", &wv, "ignore?", &ignore, "timeout?", &tv,
                      "clock?:s", &clock, NULL) < 0
      || check_clock (th, "await_stable", clock) < 0 || (wv && spec_duration_arg (th, "await_stable", wv, &window) < 0)
      || wait_arg (th, "await_stable", tv, &want) < 0)
    return NULL;
  if (window <= 0)
    return fb_star_errorf (th, "await_stable: quiescence_window must be > 0");
  if (ignore == fb_none ())
    ignore = NULL;
  if (ignore && check_matcher (th, "await_stable", "ignore=", ignore, true) < 0)
    return NULL;
  fb_session *ss = body_session (th, "await_stable");
  if (!ss)
    return NULL;
  int64_t start = fb_now_ns (), until = wait_until (ss, want), quiet_since = start;
  size_t seen = session_log_len (ss);
  while (fb_now_ns () - quiet_since < window)
    {
      if (fb_now_ns () >= until)
        {
          char w[32], d[32];
          fb_format_duration (window, w, sizeof w);
          fb_format_duration (fb_now_ns () - start, d, sizeof d);
          return fb_star_errorf (th, "await_stable: events still arriving after %s (quiescence_window=%s)", d, w);
        }
      size_t n = wait_events (ss, seen, quiet_since + window < until ? quiet_since + window : until);
      if (n != seen && activity (th, ss, ignore, seen, n))
        quiet_since = fb_now_ns ();
      seen = n;
      if (checkpoint (th, ss, true) < 0)
        return NULL;
    }
  if (ss->time)
    ss->time->stable = seen;
  return fb_none ();
}

/* ---- eventually, always ------------------------------------------------ */

static int
parse_anchor (fb_star_thread *th, const char *what, fb_value *v, anchor *out)
{
  static const struct { const char *name; anchor_kind kind; } names[] = {
    { "body_start", A_BODY_START }, { "body_end", A_BODY_END }, { "stable", A_STABLE },
  };
  const char *s = fb_value_type_of (v) == FB_V_STRING ? fb_value_as_string (v, NULL) : NULL;
  for (size_t i = 0; s && i < sizeof names / sizeof *names; i++)
    if (!strcmp (s, names[i].name))
      return *out = (anchor) { names[i].kind, NULL }, 0;
  if (s)
    {
      fb_star_errorf (th, "%s: unknown string anchor \"%s\" (valid: body_start, body_end, stable)", what, s);
      return -1;
    }
  if (check_matcher (th, what, "an anchor", v, false) < 0)
    return -1;
  *out = (anchor) { A_MATCH, v };
  return 0;
}

/* The new expectation; registered on the running test() when called in
 * its body, else a value for test(expect=). */
static fb_value *
expectation_new (fb_star_thread *th, expectation *x)
{
  fb_session *ss = spec_of (th)->session;
  const char *fn = fb_value_func_name (x->pred);
  x->name = fb_xasprintf ("%s(%s)", x->always ? "always" : "eventually", fn ? fn : "predicate");
  fb_value *v = fb_host_new (th, &expectation_type, x);
  if (ss && !ss->time)
    return fb_star_errorf (th, "%s: only a test() body has temporal expectations (register it with test(name, body=fn))",
                           x->always ? "always" : "eventually");
  if (ss)
    expect_add (ss, v, session_log_len (ss));
  return v;
}

static fb_value *
b_eventually (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *pred, *av = NULL;
  if (fb_star_unpack (th, "eventually", a, "predicate", &pred, "anchor?", &av, NULL) < 0)
    return NULL;
  if (!fb_value_is_callable (pred))
    return fb_star_errorf (th, "eventually: predicate must be a function of a trace, got %s", fb_value_type_name (pred));
  anchor an = { A_NONE, NULL };
  if (av && av != fb_none () && parse_anchor (th, "eventually: anchor=", av, &an) < 0)
    return NULL;
  expectation *x = FB_NEW (expectation);
  *x = (expectation) { .pred = pred, .anchor = an };
  return expectation_new (th, x);
}

static fb_value *
b_always (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *pred, *between = NULL;
  if (fb_star_unpack (th, "always", a, "predicate", &pred, "between?", &between, NULL) < 0)
    return NULL;
  if (!fb_value_is_callable (pred))
    return fb_star_errorf (th, "always: predicate must be a function of a trace, got %s", fb_value_type_name (pred));
  anchor start = { A_BODY_START, NULL }, end = { A_NONE, NULL };
  if (between && between != fb_none ())
    {
      if (fb_value_type_of (between) != FB_V_TUPLE || fb_value_len (between) != 2)
        return fb_star_errorf (th, "always(between=...) must be a tuple of two anchors, got %s",
                               fb_value_type_name (between));
      if (parse_anchor (th, "always: between[0]", fb_value_at (between, 0), &start) < 0
          || parse_anchor (th, "always: between[1]", fb_value_at (between, 1), &end) < 0)
        return NULL;
    }
  expectation *x = FB_NEW (expectation);
  *x = (expectation) { .always = true, .pred = pred, .start = start, .end = end };
  return expectation_new (th, x);
}

/* ---- test() ------------------------------------------------------------ */

static int
check_expectations (fb_star_thread *th, fb_value *v, fb_value **out)
{
  *out = NULL;
  if (!v || v == fb_none ())
    return 0;
  if (fb_host_data (v, &expectation_type))
    v = fb_list_new (th, 1, &v);
  for (long i = 0; i < fb_value_len (v) && fb_value_type_of (v) == FB_V_LIST; i++)
    if (!fb_host_data (fb_value_at (v, (size_t) i), &expectation_type))
      {
        fb_star_errorf (th, "test: expect[%ld] must be eventually(...) or always(...), got %s", i,
                        fb_value_type_name (fb_value_at (v, (size_t) i)));
        return -1;
      }
  if (fb_value_type_of (v) != FB_V_LIST)
    {
      fb_star_errorf (th, "test: expect= must be a list of eventually(...)/always(...), got %s", fb_value_type_name (v));
      return -1;
    }
  *out = v;
  return 0;
}

static fb_value *
b_test (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  const char *name, *clock = NULL;
  fb_value *body, *setup = NULL, *expect = NULL, *tv = NULL, *term = NULL, *assume = NULL;
  if (fb_star_unpack (th, "test", a, "name:s", &name, "body", &body, "setup?", &setup, "expect?", &expect,
                      "timeout?", &tv, "terminate_when?", &term, "assume?", &assume, "clock?:s", &clock, NULL) < 0
      || check_clock (th, "test", clock) < 0)
    return NULL;
  if (assume == fb_none ())
    assume = NULL;
  if (assume && fb_value_type_of (assume) != FB_V_LIST)
    return fb_star_errorf (th, "test(\"%s\"): assume= must be a list of predicates, got %s", name,
                           fb_value_type_name (assume));
  for (long i = 0; assume && i < fb_value_len (assume); i++)
    if (spec_check_assume (th, "test: assume[]", fb_value_at (assume, (size_t) i)) < 0)
      return NULL;
  fb_spec *sp = spec_of (th);
  if (sp->session)
    return fb_star_errorf (th, "test(\"%s\"): register tests at the top level of the spec, not in a test body", name);
  if (!*name)
    return fb_star_errorf (th, "test: name must not be empty");
  int64_t timeout = 30 * FB_NS_PER_S;
  if ((tv && spec_duration_arg (th, "test", tv, &timeout) < 0))
    return NULL;
  if (timeout <= 0)
    return fb_star_errorf (th, "test(\"%s\"): timeout= must be > 0", name);
  if (!fb_value_is_callable (body) || (setup && setup != fb_none () && !fb_value_is_callable (setup)))
    return fb_star_errorf (th, "test(\"%s\"): body= and setup= must be functions of no arguments", name);
  if (term == fb_none ())
    term = NULL;
  if (term && !fb_host_data (term, &expectation_type))
    return fb_star_errorf (th, "test(\"%s\"): terminate_when= must be eventually(...) or always(...), got %s", name,
                           fb_value_type_name (term));
  fb_value *xs;
  if (check_expectations (th, expect, &xs) < 0)
    return NULL;
  _cleanup_free_ char *tname = fb_xasprintf ("test_%s", name);
  for (size_t i = 0; i < sp->n_tests; i++)
    if (!strcmp (sp->tests[i].name, tname))
      return fb_star_errorf (th, "test(\"%s\"): a test with this name is already registered", name);
  const char *file;
  int line, col;
  fb_star_call_position (th, &file, &line, &col);
  _cleanup_free_ char *decl = fb_xasprintf ("%s:%d:%d", file, line, col);
  spec_test t = { .name = tname, .fn = body, .timeout_ns = timeout, .lifecycle = true, .decl = decl,
                  .setup = setup && setup != fb_none () ? setup : NULL, .expectations = xs,
                  .terminate_when = term, .assume = assume };
  tname = decl = NULL; /* the test owns them */
  spec_add_test (sp, &t);
  return fb_none ();
}

int
session_test_begin (fb_star_thread *th, fb_session *ss, const spec_test *t, fb_buf *why)
{
  struct session_time *st = FB_NEW (struct session_time);
  st->timeout_ns = t->timeout_ns;
  st->terminate_when = t->terminate_when;
  st->body_end = st->stable = SIZE_MAX;
  st->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  pthread_mutex_lock (&ss->mu);
  ss->time = st;
  pthread_mutex_unlock (&ss->mu);
  if (t->setup && !fb_star_call (th, t->setup, NULL))
    {
      _cleanup_free_ char *m = take_message (th);
      fb_buf_printf (why, "setup: %.*s", (int) strcspn (m, "\n"), m);
      return -1;
    }
  /* assume=: false halts the test before its body, raising fails it */
  for (long i = 0; t->assume && i < fb_value_len (t->assume); i++)
    {
      _cleanup_free_ char *m = NULL;
      int r = spec_eval_assume (th, fb_value_at (t->assume, (size_t) i), &m);
      if (r == 0 && m)
        ss->halted = fb_xstrdup (m);
      if (m)
        {
          fb_buf_puts (why, m);
          return -1;
        }
    }
  st->body_start = session_log_len (ss);
  for (long i = 0; t->expectations && i < fb_value_len (t->expectations); i++)
    expect_add (ss, fb_value_at (t->expectations, (size_t) i), st->body_start);
  /* Faultbox re-evaluates after every event: an event from any thread
   * makes the body check at its next step (or wakes it) */
  fb_star_set_poll (th, poll_check, ss);
  return 0;
}

/* An expectation's verdict at the end: "" pass, NULL pending, else why. */
static const char *
finalize (const struct session_time *st, const xstate *s, const expectation *x, bool timed_out)
{
  if (s->violated)
    return s->why;
  if (!x->always && !s->satisfied)
    return timed_out ? NULL : st->terminated ? "never satisfied; terminate_when fired" : "never satisfied before body returned";
  /* an always whose window the timeout left open is undecided */
  if (x->always && timed_out && !s->closed)
    return NULL;
  return "";
}

void
session_test_end (fb_star_thread *th, fb_session *ss, bool timed_out, fb_buf *why, const char **failure_type)
{
  struct session_time *st = ss->time;
  if (!st)
    return;
  st->body_end = session_log_len (ss);
  checkpoint (th, ss, false);
  /* the timeout or terminate_when stopped the body: its error is theirs */
  if ((timed_out || st->terminated) && !(st->stop && !strcmp (st->stop, "violation")))
    fb_buf_truncate (why, 0);
  bool pending = false;
  for (size_t i = 0; i < st->n && !why->len; i++)
    {
      const expectation *x = fb_host_data (st->xs[i].x, &expectation_type);
      const char *v = finalize (st, &st->xs[i], x, timed_out);
      if (v && *v)
        fb_buf_printf (why, "%s: %s", x->name, v);
      pending |= !v;
    }
  for (size_t i = 0; i < st->n; i++)
    {
      const expectation *x = fb_host_data (st->xs[i].x, &expectation_type);
      if (x->always && !st->xs[i].opened && x->start.kind != A_BODY_START)
        {
          const char *kv[] = { "property", x->name, "reason", "its between= window never opened", NULL };
          session_event (ss, "vacuous_property", "test", kv);
        }
      free (st->xs[i].why);
    }
  if (!why->len && (pending || timed_out))
    {
      char d[32];
      fb_format_duration (st->timeout_ns, d, sizeof d);
      fb_buf_printf (why, pending ? "test timeout: temporal expectation(s) still pending after %s"
                                  : "test timeout: body did not complete within %s", d);
      ss->inconclusive = true;
      *failure_type = "timeout";
    }
  fb_star_set_poll (th, NULL, NULL);
  pthread_mutex_lock (&ss->mu);
  ss->time = NULL;
  pthread_mutex_unlock (&ss->mu);
  if (st->wake_fd >= 0)
    close (st->wake_fd);
  free (st->xs);
  free (st->checked_to);
  free (st);
}

void
spec_predeclare_time (fb_spec *s)
{
  static const spec_builtin fns[] = {
    { "duration", b_duration }, { "sleep", b_sleep }, { "await_event", b_await_event },
    { "await_stable", b_await_stable }, { "eventually", b_eventually }, { "always", b_always },
    { "test", b_test },
  };
  spec_predeclare_all (s, fns, sizeof fns / sizeof *fns);
}
