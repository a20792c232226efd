/* Faultbox's trace API past first/last/count: the event list trace
 * queries return (.map .filter .reduce, .first .last .count), the trace's
 * events_between, events_within and causal_chain, and the causal and
 * temporal methods of an event value (happens_before, duration_since,
 * followed_by_within, ...), with Faultbox's semantics. */
#include <stdlib.h>
#include <string.h>

#include "lang/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"

/* ---- vector clocks ------------------------------------------------------ */

static uint64_t
clock_of (const fb_event *e, const char *svc)
{
  for (size_t i = 0; i < e->n_clock; i++)
    if (!strcmp (e->clock[i].service, svc))
      return e->clock[i].n;
  return 0;
}

/* a -> b: every component of a <= b's (missing ones are 0), one strictly. */
static bool
happens_before (const fb_event *a, const fb_event *b)
{
  if (!a->n_clock && !b->n_clock)
    return false;
  bool strict = false;
  for (size_t i = 0; i < b->n_clock; i++)
    {
      uint64_t x = clock_of (a, b->clock[i].service);
      if (x > b->clock[i].n)
        return false;
      strict |= x < b->clock[i].n;
    }
  for (size_t i = 0; i < a->n_clock; i++)
    if (a->clock[i].n && !clock_of (b, a->clock[i].service))
      return false;
  return strict;
}

/* ---- event lists --------------------------------------------------------- */

static const char *const list_attrs[] = { "count", "filter", "first", "last", "map", "reduce", NULL };

static fb_value *list_attr (fb_star_thread *th, fb_value *self, const char *name);

static fb_value *
list_items (fb_value *self)
{
  return *(fb_value **) fb_host_data (self, &spec_event_list_type);
}

static bool
list_truth (fb_value *self)
{
  return fb_value_len (list_items (self)) > 0;
}

static char *
list_repr (fb_value *self)
{
  return fb_xasprintf ("<events count=%ld>", fb_value_len (list_items (self)));
}

const fb_host_type spec_event_list_type = {
  .name = "events", .attr = list_attr, .attr_names = list_attrs, .truth = list_truth, .repr = list_repr,
  .destroy = free, .items = list_items,
};

fb_value *
spec_event_list (fb_star_thread *th, fb_value *list)
{
  fb_value **p = FB_NEW (fb_value *);
  *p = list;
  return fb_host_new (th, &spec_event_list_type, p);
}

/* events.map(fn) -> list, .filter(fn) -> events, .reduce(fn, initial) */
static fb_value *
list_method (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  const char *name = fb_builtin_name (self);
  fb_value *items = fb_builtin_data (self), *fn, *acc = NULL;
  _cleanup_free_ char *fname = fb_xasprintf ("events.%s", name);
  bool reduce = !strcmp (name, "reduce");
  if (fb_star_unpack (th, fname, a, "fn", &fn, reduce ? "initial" : NULL, &acc, NULL) < 0)
    return NULL;
  if (!fb_value_is_callable (fn))
    return fb_star_errorf (th, "%s: fn must be a function, got %s", fname, fb_value_type_name (fn));
  fb_value *out = fb_list_new (th, 0, NULL);
  for (long i = 0; i < fb_value_len (items); i++)
    {
      fb_value *ev = fb_value_at (items, (size_t) i);
      fb_value *args[2] = { reduce ? acc : ev, ev };
      fb_value *r = fb_star_call (th, fn, &(fb_star_args) { .npos = reduce ? 2 : 1, .pos = args });
      if (!r)
        return NULL;
      if (reduce)
        acc = r;
      else if (!strcmp (name, "map"))
        fb_list_append (th, out, r);
      else if (fb_value_truth (r))
        fb_list_append (th, out, ev);
    }
  return reduce ? acc : !strcmp (name, "map") ? out : spec_event_list (th, out);
}

static fb_value *
list_attr (fb_star_thread *th, fb_value *self, const char *name)
{
  fb_value *items = list_items (self);
  long n = fb_value_len (items);
  if (!strcmp (name, "count"))
    return fb_int (th, n);
  if (!strcmp (name, "first") || !strcmp (name, "last"))
    return n ? fb_value_at (items, !strcmp (name, "first") ? 0 : (size_t) n - 1) : fb_none ();
  for (size_t i = 0; list_attrs[i]; i++)
    if (!strcmp (list_attrs[i], name))
      return fb_builtin_new (th, list_attrs[i], list_method, items);
  return NULL;
}

/* ---- arguments ----------------------------------------------------------- */

static const fb_event *
event_arg (fb_star_thread *th, const char *fname, fb_value *v)
{
  const fb_event *e = fb_host_data (v, &spec_event_type);
  if (!e)
    fb_star_errorf (th, "%s: argument must be an event, got %s", fname, fb_value_type_name (v));
  return e;
}

static int
matcher_arg (fb_star_thread *th, const char *fname, fb_value *m)
{
  if (spec_is_matcher (m) || fb_value_is_callable (m))
    return 0;
  fb_star_errorf (th, "%s: want a matcher (match.event(...)) or a predicate of one event, got %s", fname,
                  fb_value_type_name (m));
  return -1;
}

/* The events of evs[from, to) matching m (NULL: all) and, when of is set,
 * within window of it; NULL after a predicate raised. */
static fb_value *
select_events (fb_star_thread *th, const fb_event *evs, size_t from, size_t to, fb_value *m, const fb_event *of,
               int64_t window)
{
  fb_value *l = fb_list_new (th, 0, NULL);
  for (size_t i = from; i < to; i++)
    {
      int r = m ? spec_event_matches (th, m, &evs[i]) : 1;
      if (r < 0)
        return NULL;
      int64_t d = of ? evs[i].time_ns - of->time_ns : 0;
      if (r && (d < 0 ? -d : d) <= window)
        fb_list_append (th, l, spec_event_value (th, &evs[i]));
    }
  return l;
}

/* ---- trace queries -------------------------------------------------------- */

fb_value *
spec_trace_query (fb_star_thread *th, const char *name, const fb_event *evs, size_t n, const fb_star_args *a)
{
  _cleanup_free_ char *fname = fb_xasprintf ("trace.%s", name);
  fb_value *x = NULL, *y = NULL, *of = NULL, *l = NULL;
  if (!strcmp (name, "events_between"))
    {
      /* exclusive of both anchors; None leaves that end open */
      if (fb_star_unpack (th, fname, a, "start", &x, "end", &y, NULL) < 0)
        return NULL;
      const fb_event *s = x == fb_none () ? NULL : event_arg (th, fname, x);
      const fb_event *e = y == fb_none () ? NULL : event_arg (th, fname, y);
      if ((x != fb_none () && !s) || (y != fb_none () && !e))
        return NULL;
      size_t from = s ? (size_t) s->seq : 0, to = e && e->seq ? (size_t) e->seq - 1 : n;
      l = select_events (th, evs, from < n ? from : n, to < n ? to : n, NULL, NULL, 0);
    }
  else if (!strcmp (name, "events_within"))
    {
      int64_t window;
      if (fb_star_unpack (th, fname, a, "matcher", &x, "window", &y, "of?", &of, NULL) < 0
          || matcher_arg (th, fname, x) < 0 || spec_duration_arg (th, fname, y, &window) < 0)
        return NULL;
      const fb_event *anchor = of && of != fb_none () ? event_arg (th, fname, of) : NULL;
      if (of && of != fb_none () && !anchor)
        return NULL;
      l = select_events (th, evs, 0, n, x, anchor, anchor ? window : 0);
    }
  else
    {
      /* causal_chain(event): the earlier events whose clocks precede it */
      if (fb_star_unpack (th, fname, a, "event", &x, NULL) < 0)
        return NULL;
      const fb_event *e = event_arg (th, fname, x);
      if (!e)
        return NULL;
      l = fb_list_new (th, 0, NULL);
      for (size_t i = 0; i < n && evs[i].seq < e->seq; i++)
        if (happens_before (&evs[i], e))
          fb_list_append (th, l, spec_event_value (th, &evs[i]));
    }
  return l ? spec_event_list (th, l) : NULL;
}

/* ---- event methods ---------------------------------------------------------- */

static const char *const event_methods[] = {
  "happens_before", "happens_after", "concurrent_with", "same_service_as", "duration_since",
  "preceded_by", "followed_by", "preceded_by_within", "followed_by_within", NULL,
};

/* preceded_by[_within] / followed_by[_within]: an earlier (later) event of
 * the whole log matching m, within window of e when window >= 0. */
static fb_value *
event_neighbour (fb_star_thread *th, const fb_event *e, fb_value *m, int64_t window, bool later)
{
  fb_session *ss = spec_of (th)->session;
  if (!ss)
    return fb_bool (false);
  size_t n;
  _cleanup_free_ fb_event *evs = session_snapshot (ss, &n);
  for (size_t i = 0; i < n; i++)
    {
      if (later ? evs[i].seq <= e->seq : evs[i].seq >= e->seq)
        continue;
      int64_t d = later ? evs[i].time_ns - e->time_ns : e->time_ns - evs[i].time_ns;
      if (window >= 0 && d > window)
        continue;
      int r = spec_event_matches (th, m, &evs[i]);
      if (r < 0)
        return NULL;
      if (r)
        return fb_bool (true);
    }
  return fb_bool (false);
}

static fb_value *
event_method (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  const char *name = fb_builtin_name (self);
  const fb_event *e = fb_builtin_data (self);
  _cleanup_free_ char *fname = fb_xasprintf ("event.%s", name);
  fb_value *x, *w = NULL;
  bool within = strstr (name, "_within") != NULL;
  if (!strncmp (name, "preceded_by", 11) || !strncmp (name, "followed_by", 11))
    {
      int64_t window = -1;
      if (fb_star_unpack (th, fname, a, "matcher", &x, within ? "window" : NULL, &w, NULL) < 0
          || matcher_arg (th, fname, x) < 0 || (w && spec_duration_arg (th, fname, w, &window) < 0))
        return NULL;
      return event_neighbour (th, e, x, window, name[0] == 'f');
    }
  if (fb_star_unpack (th, fname, a, "other", &x, NULL) < 0)
    return NULL;
  const fb_event *o = event_arg (th, fname, x);
  if (!o)
    return NULL;
  if (!strcmp (name, "happens_before"))
    return fb_bool (happens_before (e, o));
  if (!strcmp (name, "happens_after"))
    return fb_bool (happens_before (o, e));
  if (!strcmp (name, "concurrent_with"))
    return fb_bool (!happens_before (e, o) && !happens_before (o, e));
  if (!strcmp (name, "same_service_as"))
    return fb_bool (*e->service && !strcmp (e->service, o->service));
  return fb_int (th, e->time_ns - o->time_ns); /* duration_since: ns, an int to compare */
}

fb_value *
spec_event_method (fb_star_thread *th, fb_value *self, const char *name)
{
  for (size_t i = 0; event_methods[i]; i++)
    if (!strcmp (event_methods[i], name))
      return fb_builtin_new (th, event_methods[i], event_method, fb_host_data (self, &spec_event_type));
  return NULL;
}
