/* Network faults from specs: partition(), partition_start(),
 * partition_stop(), link_fault(), link_fault_start(), link_fault_stop(),
 * and the events they leave.
 *
 * Both act on the lab bridge, below the services' own stacks. A partition
 * drops the packets between two groups of services (netem's loss 100 %, or
 * nftables where the kernel lacks netem; both ways or one), so established
 * connections go silent and new ones time out — no ECONNREFUSED, unlike
 * Faultbox's v0.3 partition, which denied connect() with ECONNREFUSED
 * towards the peer's declared ports and left pooled connections alone. A
 * link fault shapes what one service receives from another (htb class per
 * source, netem for delay, loss — random or Gilbert-Elliott — and, with
 * them, the rate). Whatever a test leaves open is removed when it ends,
 * with a *_leaked event. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultbox/netfault.h"
#include "lang/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/hash.h"
#include "util/parse.h"
#include "util/time.h"

#define NET_NEEDS_TEST "network faults can only be installed while a test runs"

/* One open partition or link fault between groups a and b. */
typedef struct {
  bool link;              /* link fault, else partition */
  bool scoped;            /* by run=: removed when run returns, not by *_stop */
  uint64_t serial;
  size_t *a, *b;          /* service indexes, sorted */
  size_t na, nb;
  fb_lab_part_dir dir;
  unsigned id;            /* the lab's partition id */
  fb_link_impairment f;
  int64_t t0;
  char *between;          /* "a,b" or "[a,c],[b]" */
} net_fault;

struct session_net {
  net_fault *open;        /* scoped and started alike */
  size_t n_open;
  uint64_t serial;
};

static const char *const dir_names[] = {
  [FB_LAB_PART_BOTH] = "both", [FB_LAB_PART_A_TO_B] = "a_to_b", [FB_LAB_PART_B_TO_A] = "b_to_a",
};

static void
net_fault_clear (net_fault *n)
{
  free (n->a);
  free (n->b);
  free (n->between);
}

static int
cmp_size (const void *x, const void *y)
{
  size_t a = *(const size_t *) x, b = *(const size_t *) y;
  return a < b ? -1 : a > b;
}

/* A service, or a list or tuple of them. */
static int
parse_side (fb_star_thread *th, const char *fname, fb_value *v, size_t **out, size_t *n)
{
  fb_value_type t = fb_value_type_of (v);
  bool group = t == FB_V_LIST || t == FB_V_TUPLE;
  size_t len = group ? (size_t) fb_value_len (v) : 1;
  if (!len)
    {
      fb_star_errorf (th, "%s: a group of services must not be empty", fname);
      return -1;
    }
  size_t *idx = fb_xcalloc (len, sizeof *idx);
  for (size_t i = 0; i < len; i++)
    {
      ssize_t s = spec_service_arg (th, fname, group ? fb_value_at (v, i) : v);
      if (s < 0)
        {
          free (idx);
          return -1;
        }
      idx[i] = (size_t) s;
    }
  qsort (idx, len, sizeof *idx, cmp_size);
  for (size_t i = 1; i < len; i++)
    if (idx[i] == idx[i - 1])
      {
        fb_star_errorf (th, "%s: %s is listed twice in one group", fname,
                        spec_of (th)->plan.services[idx[i]].name);
        free (idx);
        return -1;
      }
  *out = idx;
  *n = len;
  return 0;
}

static void
side_names (fb_buf *b, const fb_spec *sp, const size_t *idx, size_t n)
{
  fb_buf_puts (b, n > 1 ? "[" : "");
  for (size_t i = 0; i < n; i++)
    fb_buf_printf (b, "%s%s", i ? "," : "", sp->plan.services[idx[i]].name);
  fb_buf_puts (b, n > 1 ? "]" : "");
}

/* Fills the sides, direction and name of nf from a, b and direction. */
static int
parse_between (fb_star_thread *th, const char *fname, fb_value *a, fb_value *b, const char *dir, net_fault *nf)
{
  fb_spec *sp = spec_of (th);
  nf->dir = FB_LAB_PART_BOTH;
  if (dir)
    {
      size_t d = 0;
      while (d < 3 && strcmp (dir, dir_names[d]))
        d++;
      if (d == 3)
        {
          fb_star_errorf (th, "%s: direction must be \"both\", \"a_to_b\" or \"b_to_a\", got \"%s\"", fname, dir);
          return -1;
        }
      nf->dir = (fb_lab_part_dir) d;
    }
  if (parse_side (th, fname, a, &nf->a, &nf->na) < 0)
    return -1;
  if (parse_side (th, fname, b, &nf->b, &nf->nb) < 0)
    return -1;
  for (size_t i = 0; i < nf->na; i++)
    for (size_t j = 0; j < nf->nb; j++)
      if (nf->a[i] == nf->b[j])
        {
          fb_star_errorf (th, "%s: %s is on both sides", fname, sp->plan.services[nf->a[i]].name);
          return -1;
        }
  fb_buf s = FB_BUF_INIT;
  side_names (&s, sp, nf->a, nf->na);
  fb_buf_putc (&s, ',');
  side_names (&s, sp, nf->b, nf->nb);
  nf->between = fb_buf_steal (&s);
  return 0;
}

static bool
same_sides (const net_fault *x, const net_fault *y)
{
  return x->na == y->na && x->nb == y->nb && !memcmp (x->a, y->a, x->na * sizeof *x->a)
         && !memcmp (x->b, y->b, x->nb * sizeof *x->b);
}

/* The started fault of this kind between these groups (in either order). */
static ssize_t
find_started (fb_session *ss, const net_fault *key)
{
  struct session_net *net = ss->net;
  net_fault swapped = { .a = key->b, .b = key->a, .na = key->nb, .nb = key->na };
  for (size_t i = 0; net && i < net->n_open; i++)
    if (!net->open[i].scoped && net->open[i].link == key->link
        && (same_sides (&net->open[i], key) || same_sides (&net->open[i], &swapped)))
      return (ssize_t) i;
  return -1;
}

static bool
has (const size_t *v, size_t n, size_t x)
{
  for (size_t i = 0; i < n; i++)
    if (v[i] == x)
      return true;
  return false;
}

/* True when nf shapes what `to` receives from `from`. */
static bool
covers (const net_fault *nf, size_t from, size_t to)
{
  return (nf->dir != FB_LAB_PART_B_TO_A && has (nf->a, nf->na, from) && has (nf->b, nf->nb, to))
         || (nf->dir != FB_LAB_PART_A_TO_B && has (nf->b, nf->nb, from) && has (nf->a, nf->na, to));
}

/* A link carries one link fault at a time: the second would replace the
 * first's qdisc. Raises naming the link, or returns 0. */
static int
check_overlap (fb_star_thread *th, const char *fname, fb_session *ss, const net_fault *nf)
{
  struct session_net *net = ss->net;
  const fb_plan *p = &ss->spec->plan;
  for (size_t k = 0; net && nf->link && k < net->n_open; k++)
    {
      const net_fault *o = &net->open[k];
      for (size_t i = 0; o->link && i < p->n_services; i++)
        for (size_t j = 0; j < p->n_services; j++)
          if (covers (o, i, j) && covers (nf, i, j))
            {
              fb_star_errorf (th, "%s: the link %s -> %s is already impaired (link fault between %s); one link fault per link",
                              fname, p->services[i].name, p->services[j].name, o->between);
              return -1;
            }
    }
  return 0;
}

static size_t
find_serial (fb_session *ss, uint64_t serial)
{
  size_t i = 0;
  while (ss->net->open[i].serial != serial)
    i++;
  return i;
}

/* ---- link fault parameters ---------------------------------------------- */

/* loss="gemodel P [R [1-H [1-K]]]" in tc's order and defaults: P and R
 * move good->bad and bad->good, 1-H and 1-K drop in the bad and the good
 * state; R defaults to 1-P, 1-H to 100 %, 1-K to 0. */
static int
parse_gemodel (fb_star_thread *th, const char *fname, const char *s, fb_link_impairment *f)
{
  static const char *const names[] = { "p", "r", "1-h", "1-k" };
  double v[4] = { 0, -1, 1, 0 };
  char *copy = fb_xstrdup (s + strlen ("gemodel")), *save = NULL;
  size_t n = 0;
  int rc = 0;
  for (char *t = strtok_r (copy, " ", &save); t && rc == 0; t = strtok_r (NULL, " ", &save), n++)
    {
      fb_error e = { 0 };
      if (n == 4)
        rc = -1, fb_star_errorf (th, "%s(loss=): gemodel takes at most 4 probabilities (p r 1-h 1-k), got \"%s\"",
                                 fname, s);
      else if (fb_parse_percent (t, &v[n], &e) < 0 || v[n] > 1)
        rc = -1, fb_star_errorf (th, "%s(loss=): gemodel %s: %s", fname, names[n],
                                 e.msg[0] ? e.msg : "must be between 0% and 100%");
    }
  free (copy);
  if (rc == 0 && n == 0)
    rc = -1, fb_star_errorf (th, "%s(loss=): gemodel needs p, the chance per packet to enter the bad state", fname);
  if (rc < 0)
    return -1;
  f->gemodel = true;
  f->ge_p = v[0];
  f->ge_r = v[1] < 0 ? 1 - v[0] : v[1];
  f->ge_bad_loss = v[2];
  f->ge_good_loss = v[3];
  return 0;
}

static int
parse_impairment (fb_star_thread *th, const char *fname, const char *delay, const char *jitter, fb_value *loss,
                  const char *rate, fb_value *duplicate, fb_value *reorder, fb_value *corrupt, fb_link_impairment *f)
{
  fb_error e = { 0 };
  const char *bad = delay && fb_parse_duration (delay, &f->delay_ns, &e) < 0 ? "delay"
                    : jitter && fb_parse_duration (jitter, &f->jitter_ns, &e) < 0 ? "jitter"
                    : rate && fb_parse_rate (rate, &f->rate, &e) < 0           ? "rate"
                                                                                 : NULL;
  if (bad)
    {
      fb_star_errorf (th, "%s: %s: %s", fname, bad, e.msg);
      return -1;
    }
  const char *ls = loss && fb_value_type_of (loss) == FB_V_STRING ? fb_value_as_string (loss, NULL) : NULL;
  if (ls && strncmp (ls, "gemodel", 7) == 0)
    {
      if (parse_gemodel (th, fname, ls, f) < 0)
        return -1;
      loss = NULL;
    }
  const struct { const char *name; fb_value *v; double *out; } probs[] = {
    { "loss", loss, &f->loss }, { "duplicate", duplicate, &f->duplicate },
    { "reorder", reorder, &f->reorder }, { "corrupt", corrupt, &f->corrupt },
  };
  for (size_t i = 0; i < sizeof probs / sizeof *probs; i++)
    {
      char what[48];
      snprintf (what, sizeof what, "%s(%s=)", fname, probs[i].name);
      if (probs[i].v && spec_parse_probability (th, what, probs[i].v, probs[i].out) < 0)
        return -1;
    }
  if (f->reorder > 0 && !f->delay_ns)
    {
      fb_star_errorf (th, "%s: reorder= needs delay= (netem reorders by sending some packets without the delay)",
                      fname);
      return -1;
    }
  if (!fb_net_needs_netem (f) && !f->rate)
    {
      fb_star_errorf (th, "%s: nothing to impair: give delay=, jitter=, loss=, rate=, duplicate=, reorder= or corrupt=",
                      fname);
      return -1;
    }
  return 0;
}

static void
describe_impairment (fb_buf *b, const fb_link_impairment *f)
{
  const struct { const char *name; int64_t ns; } times[] = { { "delay", f->delay_ns }, { "jitter", f->jitter_ns } };
  for (size_t i = 0; i < sizeof times / sizeof *times; i++)
    if (times[i].ns)
      {
        char d[32];
        fb_format_duration (times[i].ns, d, sizeof d);
        fb_buf_printf (b, " %s=%s", times[i].name, d);
      }
  const struct { const char *name; double p; } probs[] = {
    { "loss", f->loss }, { "duplicate", f->duplicate }, { "reorder", f->reorder }, { "corrupt", f->corrupt },
  };
  for (size_t i = 0; i < sizeof probs / sizeof *probs; i++)
    if (probs[i].p > 0)
      fb_buf_printf (b, " %s=%g%%", probs[i].name, probs[i].p * 100);
  if (f->gemodel)
    fb_buf_printf (b, " loss=gemodel(p=%g%%,r=%g%%,1-h=%g%%,1-k=%g%%)", f->ge_p * 100, f->ge_r * 100,
                   f->ge_bad_loss * 100, f->ge_good_loss * 100);
  /* the largest unit that divides the rate, as the user would write it */
  static const struct { const char *unit; uint64_t bits; } units[] = {
    { "gbit", 1000000000 }, { "mbit", 1000000 }, { "kbit", 1000 }, { "bit", 1 },
  };
  uint64_t bits = f->rate * 8;
  for (size_t i = 0; bits && i < sizeof units / sizeof *units; i++)
    if (bits % units[i].bits == 0)
      {
        fb_buf_printf (b, " rate=%" PRIu64 "%s", bits / units[i].bits, units[i].unit);
        break;
      }
}

/* ---- applying and removing ---------------------------------------------- */

/* Calls fn (from, to) for every directed pair nf covers; stops at the
 * first failure. */
typedef int (*pair_fn) (fb_session *ss, net_fault *nf, size_t from, size_t to, fb_error *err);

static int
each_pair (fb_session *ss, net_fault *nf, pair_fn fn, fb_error *err)
{
  int rc = 0;
  for (size_t i = 0; i < nf->na && rc == 0; i++)
    for (size_t j = 0; j < nf->nb && rc == 0; j++)
      {
        if (nf->dir != FB_LAB_PART_B_TO_A)
          rc = fn (ss, nf, nf->a[i], nf->b[j], err);
        if (rc == 0 && nf->dir != FB_LAB_PART_A_TO_B)
          rc = fn (ss, nf, nf->b[j], nf->a[i], err);
      }
  return rc;
}

static int
link_on (fb_session *ss, net_fault *nf, size_t from, size_t to, fb_error *err)
{
  fb_link_impairment f = nf->f;
  const fb_plan *p = &ss->spec->plan;
  /* each directed link its own netem PRNG stream, a function of the run
   * seed; recorded only where the kernel took it */
  f.seeded = fb_net_needs_netem (&f);
  f.seed = fb_hash_decision (ss->result->seed, "netem", from, to);
  int r = fb_lab_link_fault (ss->lab, (ssize_t) from, to, &f, err);
  if (r < 0)
    return -1;
  f.seeded = f.seeded && r == 0;
  fb_buf params = FB_BUF_INIT;
  describe_impairment (&params, &f);
  char seed[32];
  snprintf (seed, sizeof seed, "%" PRIu64, f.seed);
  const char *kv[] = { "between", nf->between, "direction", dir_names[nf->dir], "from", p->services[from].name,
                       "to", p->services[to].name, "params", fb_buf_str (&params) + 1,
                       f.seeded ? "seed" : NULL, seed, NULL };
  session_event (ss, "link_fault_applied", p->services[to].name, kv);
  fb_buf_free (&params);
  return 0;
}

/* Undoing never stops half-way: every pair is cleared, the first error kept. */
static int
link_off (fb_session *ss, net_fault *nf, size_t from, size_t to, fb_error *err)
{
  fb_error e = { 0 };
  if (fb_lab_link_clear (ss->lab, (ssize_t) from, to, &e) < 0 && err && !err->msg[0])
    *err = e;
  return 0;
}

static int
net_apply (fb_session *ss, net_fault *nf, fb_error *err)
{
  nf->t0 = fb_now_ns ();
  if (nf->link)
    {
      if (each_pair (ss, nf, link_on, err) == 0)
        return 0;
      /* roll back the pairs already shaped: links carry one fault each, so
       * clearing every pair of nf touches no other fault */
      each_pair (ss, nf, link_off, NULL);
      return -1;
    }
  if (fb_lab_partition (ss->lab, nf->a, nf->na, nf->b, nf->nb, nf->dir, &nf->id, err) < 0)
    return -1;
  session_proxy_partition (ss, nf->id, nf->a, nf->na, nf->b, nf->nb, nf->dir);
  const char *kv[] = { "between", nf->between, "direction", dir_names[nf->dir], NULL };
  session_event (ss, "partition_applied", NULL, kv);
  return 0;
}

/* restart(svc) gave it a new port: the link faults into it (and a netem
 * partition's cut on it) went with the old one, so they are applied
 * again; what other ports hold for its address still applies. */
int
session_net_restarted (fb_session *ss, size_t svc, fb_error *err)
{
  struct session_net *net = ss->net;
  for (size_t k = 0; net && k < net->n_open; k++)
    {
      net_fault *nf = &net->open[k];
      if (!has (nf->a, nf->na, svc) && !has (nf->b, nf->nb, svc))
        continue;
      if (!nf->link)
        {
          fb_error ignored = { 0 }; /* the new port has no cut to clear */
          fb_lab_heal (ss->lab, nf->id, &ignored);
          if (fb_lab_partition (ss->lab, nf->a, nf->na, nf->b, nf->nb, nf->dir, &nf->id, err) < 0)
            return -1;
          continue;
        }
      for (size_t i = 0; i < nf->na; i++)
        for (size_t j = 0; j < nf->nb; j++)
          if ((nf->dir != FB_LAB_PART_B_TO_A && nf->b[j] == svc && link_on (ss, nf, nf->a[i], svc, err) < 0)
              || (nf->dir != FB_LAB_PART_A_TO_B && nf->a[i] == svc && link_on (ss, nf, nf->b[j], svc, err) < 0))
            return -1;
    }
  return 0;
}

/* Removes nf and records `event` (…_removed, or …_leaked at test end). */
static int
net_remove (fb_session *ss, net_fault *nf, const char *event, fb_error *err)
{
  fb_error e = { 0 };
  if (!nf->link)
    session_proxy_heal (ss, nf->id);
  int rc = nf->link ? each_pair (ss, nf, link_off, &e) : fb_lab_heal (ss->lab, nf->id, &e);
  rc = e.msg[0] ? -1 : rc;
  char ms[32];
  snprintf (ms, sizeof ms, "%" PRId64, (fb_now_ns () - nf->t0) / 1000000);
  const char *kv[] = { "between", nf->between, "direction", dir_names[nf->dir], "duration_ms", ms,
                       rc < 0 ? "error" : NULL, e.msg, NULL };
  session_event (ss, event, NULL, kv);
  if (rc < 0 && err)
    *err = e;
  return rc;
}

static void
net_forget (fb_session *ss, size_t i)
{
  struct session_net *net = ss->net;
  net_fault_clear (&net->open[i]);
  net->open[i] = net->open[--net->n_open];
}

void
session_net_close (fb_session *ss)
{
  struct session_net *net = ss->net;
  if (!net)
    return;
  while (net->n_open)
    {
      net_fault *nf = &net->open[net->n_open - 1];
      net_remove (ss, nf, nf->link ? "link_fault_leaked" : "partition_leaked", NULL);
      net_forget (ss, net->n_open - 1);
    }
  free (net->open);
  free (net);
  ss->net = NULL;
}

/* ---- builtins ------------------------------------------------------------- */

/* Applies nf and records it open; nf is emptied (the session owns it). */
static int
net_open (fb_star_thread *th, const char *fname, fb_session *ss, net_fault *nf, uint64_t *serial)
{
  fb_error e = { 0 };
  if (check_overlap (th, fname, ss, nf) < 0)
    return -1;
  if (net_apply (ss, nf, &e) < 0)
    {
      fb_star_errorf (th, "%s: %s", fname, e.msg);
      return -1;
    }
  if (!ss->net)
    ss->net = FB_NEW (struct session_net);
  struct session_net *net = ss->net;
  nf->serial = *serial = ++net->serial;
  net->open = fb_xreallocarray (net->open, net->n_open + 1, sizeof *net->open);
  net->open[net->n_open++] = *nf;
  memset (nf, 0, sizeof *nf);
  return 0;
}

/* Removes the open fault at i; raises on failure unless th is NULL. */
static int
net_close (fb_star_thread *th, const char *fname, fb_session *ss, size_t i)
{
  net_fault *nf = &ss->net->open[i];
  fb_error e = { 0 };
  int rc = net_remove (ss, nf, nf->link ? "link_fault_removed" : "partition_removed", &e);
  net_forget (ss, i);
  if (rc < 0 && th)
    fb_star_errorf (th, "%s: removing it: %s", fname, e.msg);
  return rc;
}

/* Applies nf, runs fn, removes nf; the result of fn, or NULL with its error
 * (or the removal's) raised. */
static fb_value *
net_run (fb_star_thread *th, const char *fname, fb_session *ss, net_fault *nf, fb_value *fn)
{
  if (!fb_value_is_callable (fn))
    return fb_star_errorf (th, "%s: run= must be a function (the steps to run under the fault), got %s", fname,
                           fb_value_type_name (fn));
  uint64_t serial;
  nf->scoped = true;
  if (net_open (th, fname, ss, nf, &serial) < 0)
    return NULL;
  fb_value *r = fb_star_call (th, fn, NULL);
  /* after an error in fn the removal still happens, and fn's error stays */
  return net_close (r ? th : NULL, fname, ss, find_serial (ss, serial)) < 0 ? NULL : r;
}

static fb_value *
net_start (fb_star_thread *th, const char *fname, fb_session *ss, net_fault *nf)
{
  if (find_started (ss, nf) >= 0)
    return fb_star_errorf (th, "%s: %s are already %s (call %s first)", fname, nf->between,
                           nf->link ? "impaired" : "partitioned", nf->link ? "link_fault_stop" : "partition_stop");
  uint64_t serial;
  return net_open (th, fname, ss, nf, &serial) < 0 ? NULL : fb_none ();
}

static fb_value *
net_stop (fb_star_thread *th, const char *fname, fb_session *ss, net_fault *key)
{
  ssize_t i = find_started (ss, key);
  if (i < 0)
    return fb_star_errorf (th, "%s: nothing open between %s (%s was not called for them)", fname, key->between,
                           key->link ? "link_fault_start" : "partition_start");
  return net_close (th, fname, ss, (size_t) i) < 0 ? NULL : fb_none ();
}

static fb_value *
b_partition (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "partition", NET_NEEDS_TEST);
  fb_value *x, *y, *run;
  const char *dir = NULL;
  if (!ss || fb_star_unpack (th, "partition", a, "a", &x, "b", &y, "run", &run, "direction?:s", &dir, NULL) < 0)
    return NULL;
  net_fault nf = { 0 };
  fb_value *r = parse_between (th, "partition", x, y, dir, &nf) < 0 ? NULL : net_run (th, "partition", ss, &nf, run);
  net_fault_clear (&nf);
  return r;
}

static fb_value *
b_partition_start (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "partition_start", NET_NEEDS_TEST);
  fb_value *x, *y;
  const char *dir = NULL;
  if (!ss || fb_star_unpack (th, "partition_start", a, "a", &x, "b", &y, "direction?:s", &dir, NULL) < 0)
    return NULL;
  net_fault nf = { 0 };
  fb_value *r = parse_between (th, "partition_start", x, y, dir, &nf) < 0 ? NULL
                                                                           : net_start (th, "partition_start", ss, &nf);
  net_fault_clear (&nf);
  return r;
}

static fb_value *
b_partition_stop (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "partition_stop", NET_NEEDS_TEST);
  fb_value *x, *y;
  if (!ss || fb_star_unpack (th, "partition_stop", a, "a", &x, "b", &y, NULL) < 0)
    return NULL;
  net_fault key = { 0 };
  fb_value *r = parse_between (th, "partition_stop", x, y, NULL, &key) < 0 ? NULL
                                                                            : net_stop (th, "partition_stop", ss, &key);
  net_fault_clear (&key);
  return r;
}

/* link_fault and link_fault_start: the same keywords, run= only for the first. */
static fb_value *
link_builtin (fb_star_thread *th, const fb_star_args *a, const char *fname, bool with_run)
{
  fb_session *ss = spec_session (th, fname, NET_NEEDS_TEST);
  fb_value *x, *y, *run = NULL, *loss = NULL, *dup = NULL, *reorder = NULL, *corrupt = NULL;
  const char *delay = NULL, *jitter = NULL, *rate = NULL, *dir = NULL;
  if (!ss
      || fb_star_unpack (th, fname, a, "a", &x, "b", &y, "delay?:s", &delay, "jitter?:s", &jitter, "loss?", &loss,
                         "rate?:s", &rate, "duplicate?", &dup, "reorder?", &reorder, "corrupt?", &corrupt,
                         "direction?:s", &dir, with_run ? "run" : NULL, &run, NULL)
             < 0)
    return NULL;
  net_fault nf = { .link = true };
  fb_value *r = NULL;
  if (parse_between (th, fname, x, y, dir, &nf) == 0
      && parse_impairment (th, fname, delay, jitter, loss, rate, dup, reorder, corrupt, &nf.f) == 0)
    r = with_run ? net_run (th, fname, ss, &nf, run) : net_start (th, fname, ss, &nf);
  net_fault_clear (&nf);
  return r;
}

static fb_value *
b_link_fault (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return link_builtin (th, a, "link_fault", true);
}

static fb_value *
b_link_fault_start (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return link_builtin (th, a, "link_fault_start", false);
}

static fb_value *
b_link_fault_stop (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "link_fault_stop", NET_NEEDS_TEST);
  fb_value *x, *y;
  if (!ss || fb_star_unpack (th, "link_fault_stop", a, "a", &x, "b", &y, NULL) < 0)
    return NULL;
  net_fault key = { .link = true };
  fb_value *r = parse_between (th, "link_fault_stop", x, y, NULL, &key) < 0
                    ? NULL
                    : net_stop (th, "link_fault_stop", ss, &key);
  net_fault_clear (&key);
  return r;
}

void
spec_predeclare_netfaults (fb_spec *s)
{
  static const spec_builtin fns[] = {
    { "partition", b_partition },   { "partition_start", b_partition_start },
    { "partition_stop", b_partition_stop }, { "link_fault", b_link_fault },
    { "link_fault_start", b_link_fault_start }, { "link_fault_stop", b_link_fault_stop },
  };
  spec_predeclare_all (s, fns, sizeof fns / sizeof *fns);
}
