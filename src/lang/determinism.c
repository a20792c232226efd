/* determinism() and service(nondeterministic_ok=): the nondeterminism a
 * service reaches that no fault or step mediates — clock reads, random
 * bytes, DNS and other traffic out of the lab, raw sockets. Faultbox sees
 * only what a service's filter already routes; when a spec declares
 * determinism(), its services' filters route these families too (the
 * engine answers them CONTINUE at once), so a service no fault names is
 * still watched. Clock reads through the vDSO never trap: nothing here
 * sees them. */
#include <errno.h>
#include <inttypes.h>
#include <linux/if_ether.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lang/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/suggest.h"

/* Faultbox's categories, then ours (raw-socket). fs-unmediated is accepted
 * in lists, as in Faultbox, but nothing reports it yet. */
static const char *const kind_names[] = { "clock", "rand", "dns", "network-unmediated", "fs-unmediated",
                                          "raw-socket", NULL };
enum { K_CLOCK, K_RAND, K_DNS, K_NET, K_FS, K_RAW, N_KINDS };
#define ALL_KINDS ((1u << N_KINDS) - 1)

/* What determinism() routes: every call of these, and the conditional
 * routes below (a sendto naming an address; raw and packet sockets), so
 * the common calls of those syscalls never leave the kernel. */
static char *const det_syscalls[] = { "clock_gettime", "gettimeofday", "time", "getrandom", "open",
                                      "openat", "openat2", "connect", NULL };
static const fb_filter_cond det_conds[] = {
  { "sendto", 4, UINT64_MAX, 0, true },
  { "socket", 0, 0xffffffffu, AF_PACKET, false },
  { "socket", 1, 0xf, SOCK_RAW, false },
};

/* Distinct (service, category, detail) a test reached, at most this many:
 * a service dialling many ports must not grow the log without bound. */
#define DET_MAX_ENTRIES 64

typedef struct {
  size_t svc;
  unsigned kind;
  char *detail, *syscall;
  uint64_t count;
  bool allowed;
} det_entry;

/* Written by the engine's thread only, read once it is joined. */
struct session_det {
  uint8_t (*det_only)[128]; /* per service: syscall numbers only determinism() routes (a bit each) */
  char **lab_addrs;         /* every address of the lab, no port */
  size_t n_lab_addrs;
  det_entry entries[DET_MAX_ENTRIES];
  size_t n_entries;
  uint64_t dropped;         /* hits past the table's end */
};

/* ---- categories -------------------------------------------------------- */

static int
kind_of (const char *s)
{
  for (int k = 0; kind_names[k]; k++)
    if (!strcmp (kind_names[k], s))
      return k;
  return -1;
}

static char *
known_kinds (void)
{
  fb_buf b = FB_BUF_INIT;
  for (int k = 0; kind_names[k]; k++)
    fb_buf_printf (&b, "%s%s", k ? ", " : "", kind_names[k]);
  return fb_buf_steal (&b);
}

/* A list of categories as a mask; raises "what: ..." on anything else. */
static int
kinds_arg (fb_star_thread *th, const char *what, fb_value *v, unsigned *out)
{
  if (fb_value_type_of (v) != FB_V_LIST && fb_value_type_of (v) != FB_V_TUPLE)
    {
      fb_star_errorf (th, "%s must be a list of category strings, got %s", what, fb_value_type_name (v));
      return -1;
    }
  unsigned mask = 0;
  for (long i = 0; i < fb_value_len (v); i++)
    {
      fb_value *x = fb_value_at (v, (size_t) i);
      const char *s = fb_value_type_of (x) == FB_V_STRING ? fb_value_as_string (x, NULL) : NULL;
      if (!s)
        {
          fb_star_errorf (th, "%s: list items must be strings (categories), got %s", what, fb_value_type_name (x));
          return -1;
        }
      int k = kind_of (s);
      if (k < 0)
        {
          _cleanup_free_ char *known = known_kinds ();
          const char *near = fb_suggest (s, kind_names, (size_t) -1);
          fb_star_errorf (th, "%s: unknown category \"%s\"%s%s%s (known: %s)", what, s, near ? " (did you mean " : "",
                          near ? near : "", near ? "?)" : "", known);
          return -1;
        }
      mask |= 1u << k;
    }
  *out = mask;
  return 0;
}

int
spec_det_nondet_ok (fb_star_thread *th, const char *service, fb_value *v, unsigned *out)
{
  *out = 0;
  if (!v || v == fb_none ())
    return 0;
  if (fb_value_type_of (v) == FB_V_BOOL)
    {
      *out = fb_value_truth (v) ? ALL_KINDS : 0;
      return 0;
    }
  _cleanup_free_ char *what = fb_xasprintf ("service %s: nondeterministic_ok", service);
  return kinds_arg (th, what, v, out);
}

/* ---- determinism() ------------------------------------------------------ */

static int
level_arg (fb_star_thread *th, const char *level, bool *detect)
{
  if (!strcmp (level, "L0") || !strcmp (level, "L1"))
    {
      *detect = !strcmp (level, "L1");
      return 0;
    }
  if (strlen (level) == 2 && level[0] == 'L' && level[1] >= '2' && level[1] <= '5')
    fb_star_errorf (th, "determinism(level=\"%s\"): reserved (as in Faultbox); L0 and L1 are supported", level);
  else
    fb_star_errorf (th, "determinism(level=\"%s\"): must be one of L0, L1 (L2..L5 reserved)", level);
  return -1;
}

/* determinism(level="L1", runtime="default", strict=True, allow=[]):
 * keywords only, once per spec, while it loads. */
static fb_value *
b_determinism (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_spec *sp = spec_of (th);
  if (sp->session)
    return fb_star_errorf (th, "determinism: declare it at the top level of the spec, not while a test runs");
  if (sp->det.declared)
    return fb_star_errorf (th, "determinism(): may only be called once per spec (first at %s)", sp->det.decl);
  if (a->npos)
    return fb_star_errorf (th, "determinism() takes only keyword arguments");
  const char *level = "L1", *runtime = "default";
  fb_value *strict = NULL, *allow = NULL;
  if (fb_star_unpack (th, "determinism", a, "level?:s", &level, "runtime?:s", &runtime, "strict?", &strict,
                      "allow?", &allow, NULL) < 0)
    return NULL;
  bool detect;
  if (level_arg (th, level, &detect) < 0)
    return NULL;
  if (!strcmp (runtime, "gvisor"))
    return fb_star_errorf (th, "determinism(runtime=\"gvisor\"): not supported; faultbox's runtime is \"default\" (seccomp user notification)");
  if (strcmp (runtime, "default"))
    return fb_star_errorf (th, "determinism(runtime=\"%s\"): must be \"default\" (\"gvisor\" reserved)", runtime);
  bool has_strict = strict && strict != fb_none ();
  if (has_strict && !detect)
    return fb_star_errorf (th, "determinism(strict=...): has no effect at L0 (nothing is detected at L0); remove strict= or use level=\"L1\"");
  if (has_strict && fb_value_type_of (strict) != FB_V_BOOL)
    return fb_star_errorf (th, "determinism(strict=...): must be a bool, got %s", fb_value_type_name (strict));
  unsigned mask = 0;
  if (allow && allow != fb_none () && kinds_arg (th, "determinism(allow=...)", allow, &mask) < 0)
    return NULL;
  const char *file = "?";
  int line = 0, col = 0;
  fb_star_call_position (th, &file, &line, &col);
  sp->det = (spec_det) { .declared = true, .detect = detect, .strict = !has_strict || fb_value_truth (strict),
                         .allow = mask, .decl = fb_xasprintf ("%s:%d:%d", file, line, col) };
  return fb_none ();
}

void
spec_predeclare_determinism (fb_spec *s)
{
  static const spec_builtin fns[] = { { "determinism", b_determinism } };
  spec_predeclare_all (s, fns, sizeof fns / sizeof *fns);
}

/* ---- routing -------------------------------------------------------------- */

/* Services determinism() watches: all, at L1, but nondeterministic_ok=True. */
static bool
covered (const fb_spec *sp, size_t svc)
{
  return sp->det.detect && sp->plan.services[svc].nondet_ok != ALL_KINDS;
}

char *const *
spec_det_syscalls (const fb_spec *sp, size_t svc)
{
  return covered (sp, svc) ? det_syscalls : NULL;
}

const fb_filter_cond *
spec_det_conds (const fb_spec *sp, size_t svc, size_t *n)
{
  *n = covered (sp, svc) ? sizeof det_conds / sizeof *det_conds : 0;
  return *n ? det_conds : NULL;
}

/* ---- what a call reaches (pure) -------------------------------------------- */

static void
clock_detail (uint64_t id, char *detail, size_t len)
{
  static const char *const names[] = { "CLOCK_REALTIME", "CLOCK_MONOTONIC", "CLOCK_PROCESS_CPUTIME_ID",
                                       "CLOCK_THREAD_CPUTIME_ID", "CLOCK_MONOTONIC_RAW", "CLOCK_REALTIME_COARSE",
                                       "CLOCK_MONOTONIC_COARSE", "CLOCK_BOOTTIME" };
  if (id < sizeof names / sizeof *names)
    snprintf (detail, len, "clock_gettime(%s)", names[id]);
  else
    snprintf (detail, len, "clock_gettime(clock %" PRId64 ")", (int64_t) (int32_t) id);
}

/* Loopback and the unspecified address stay in the service's own network
 * namespace. */
static bool
is_local (const char *ip)
{
  return !strncmp (ip, "127.", 4) || !strcmp (ip, "0.0.0.0") || !strcmp (ip, "::1") || !strcmp (ip, "::")
         || !strncmp (ip, "::ffff:127.", 11);
}

/* "ip:port" or "[ip6]:port" from the engine, into ip and port; false for
 * anything else (a unix socket, an fd's path). */
static bool
split_addr (const char *a, char *ip, size_t len, unsigned *port)
{
  const char *colon = a[0] == '[' ? strstr (a, "]:") : strrchr (a, ':');
  if (!colon || !a[0] || strchr (a, '/'))
    return false;
  size_t n = (size_t) (colon - a) - (a[0] == '[');
  if (n >= len)
    return false;
  memcpy (ip, a + (a[0] == '['), n);
  ip[n] = '\0';
  char *end;
  unsigned long p = strtoul (colon + (a[0] == '[' ? 2 : 1), &end, 10);
  *port = (unsigned) p;
  return !*end && p <= 65535;
}

static int
classify_addr (const char *path, char *const *lab, size_t n_lab, char *detail, size_t len)
{
  char ip[64];
  unsigned port;
  if (!path || !split_addr (path, ip, sizeof ip, &port) || is_local (ip))
    return -1;
  for (size_t i = 0; i < n_lab; i++)
    if (!strcmp (lab[i], ip))
      return -1;
  snprintf (detail, len, "%s", path);
  return port == 53 ? K_DNS : K_NET;
}

int
spec_det_classify (const char *syscall, const uint64_t *args, const char *path, char *const *lab, size_t n_lab,
                   char *detail, size_t len)
{
  if (!strcmp (syscall, "clock_gettime"))
    {
      clock_detail (args ? args[0] : 0, detail, len);
      return K_CLOCK;
    }
  if (!strcmp (syscall, "gettimeofday") || !strcmp (syscall, "time"))
    {
      snprintf (detail, len, "%s", syscall);
      return K_CLOCK;
    }
  /* size and flags tell glibc's malloc (8 bytes, GRND_NONBLOCK, once per
   * process) from the program's own draws */
  if (!strcmp (syscall, "getrandom"))
    {
      uint64_t fl = args ? args[2] : 0;
      snprintf (detail, len, "getrandom(%" PRIu64 " bytes%s%s)", args ? args[1] : 0,
                fl & 1 ? ", GRND_NONBLOCK" : "", fl & 2 ? ", GRND_RANDOM" : "");
      return K_RAND;
    }
  if (!strncmp (syscall, "open", 4) && path && (!strcmp (path, "/dev/urandom") || !strcmp (path, "/dev/random")))
    {
      snprintf (detail, len, "%s", path);
      return K_RAND;
    }
  if (!strcmp (syscall, "connect") || !strcmp (syscall, "sendto"))
    return classify_addr (path, lab, n_lab, detail, len);
  if (!strcmp (syscall, "socket") && args)
    {
      int domain = (int) args[0], type = (int) (args[1] & 0xf);
      if (domain == AF_PACKET)
        snprintf (detail, len, "socket(AF_PACKET)");
      else if (type == SOCK_RAW && (domain == AF_INET || domain == AF_INET6))
        snprintf (detail, len, "socket(%s, SOCK_RAW)", domain == AF_INET ? "AF_INET" : "AF_INET6");
      else
        return -1;
      return K_RAW;
    }
  return -1;
}

/* ---- a test's record ------------------------------------------------------- */

void
session_det_start (fb_session *ss, char **const *det_only)
{
  const fb_spec *sp = ss->spec;
  size_t n = sp->plan.n_services;
  if (!sp->det.detect)
    return;
  struct session_det *d = FB_NEW (struct session_det);
  d->det_only = fb_xcalloc (n + 1, sizeof *d->det_only);
  for (size_t i = 0; i < n; i++)
    for (char **p = det_only ? det_only[i] : NULL; p && *p; p++)
      {
        int nr = fb_syscall_number (*p);
        if (nr >= 0 && nr < 1024)
          d->det_only[i][nr / 8] |= (uint8_t) (1u << (nr % 8));
      }
  /* the lab's own addresses: services, their proxy addresses, the worker */
  d->lab_addrs = fb_xcalloc (2 * n + 2, sizeof *d->lab_addrs);
  for (size_t i = 0; ss->lab && i < n; i++)
    {
      d->lab_addrs[d->n_lab_addrs++] = fb_xstrdup (fb_lab_service_addr (ss->lab, i));
      if (fb_lab_proxy_addr (ss->lab, i))
        d->lab_addrs[d->n_lab_addrs++] = fb_xstrdup (fb_lab_proxy_addr (ss->lab, i));
    }
  if (ss->lab)
    d->lab_addrs[d->n_lab_addrs++] = fb_xstrdup (fb_lab_worker_addr (ss->lab));
  ss->det = d;
}

/* Counts a hit; true when it is the first of its kind (then the caller
 * records the event). */
static bool
det_count (struct session_det *d, size_t svc, unsigned kind, const char *detail, const char *syscall, bool allowed)
{
  bool first = false;
  size_t i = 0;
  while (i < d->n_entries
         && !(d->entries[i].svc == svc && d->entries[i].kind == kind && !strcmp (d->entries[i].detail, detail)))
    i++;
  if (i < d->n_entries)
    d->entries[i].count++;
  else if (i == DET_MAX_ENTRIES)
    d->dropped++;
  else
    {
      d->entries[d->n_entries++] = (det_entry) { svc, kind, fb_xstrdup (detail), fb_xstrdup (syscall), 1, allowed };
      first = true;
    }
  return first;
}

bool
session_det_observe (fb_session *ss, const fb_engine_event *ev)
{
  struct session_det *d = ss->det;
  if (!d || ev->nr < 0 || ev->nr >= 1024)
    return false;
  const fb_spec *sp = ss->spec;
  ssize_t svc = fb_plan_find_service (&sp->plan, ev->service);
  if (svc < 0)
    return false;
  bool only = d->det_only[svc][ev->nr / 8] & (1u << (ev->nr % 8));
  unsigned ok = sp->plan.services[svc].nondet_ok;
  /* under --virtual-time a trapped clock read is the engine's answer */
  if (ok == ALL_KINDS || ev->vtime == FB_VTIME_CLOCK)
    return only;
  char detail[160];
  int kind = spec_det_classify (ev->syscall, ev->args, ev->path, d->lab_addrs, d->n_lab_addrs, detail, sizeof detail);
  if (kind < 0)
    return only;
  bool allowed = ((sp->det.allow | ok) >> kind) & 1;
  if (det_count (d, (size_t) svc, (unsigned) kind, detail, ev->syscall, allowed))
    {
      char pid[16];
      snprintf (pid, sizeof pid, "%d", (int) ev->pid);
      const char *kv[] = { "category", kind_names[kind], "detail", detail, "syscall", ev->syscall, "pid", pid,
                           "allowed", allowed ? "true" : "false", NULL };
      session_event (ss, "unmediated_io", ev->service, kv);
    }
  return only;
}

/* Each unmediated_io event gets its entry's final count. */
static void
det_counts_to_events (fb_session *ss, const struct session_det *d)
{
  const fb_plan *p = &ss->spec->plan;
  pthread_mutex_lock (&ss->mu);
  for (size_t k = 0; k < ss->result->n_events; k++)
    {
      fb_event *ev = &ss->result->events[k];
      if (strcmp (ev->type, "unmediated_io"))
        continue;
      const char *cat = fb_event_get (ev, "category"), *detail = fb_event_get (ev, "detail");
      for (size_t i = 0; cat && detail && i < d->n_entries; i++)
        {
          const det_entry *e = &d->entries[i];
          if (!strcmp (p->services[e->svc].name, ev->service) && !strcmp (kind_names[e->kind], cat)
              && !strcmp (e->detail, detail))
            {
              char n[24];
              snprintf (n, sizeof n, "%" PRIu64, e->count);
              fb_event_set (ev, "count", n);
            }
        }
    }
  pthread_mutex_unlock (&ss->mu);
}

/* strict=True: the first category a service reached that nothing allows. */
static void
det_strict (fb_session *ss, const struct session_det *d, fb_buf *why, const char **failure_type)
{
  const fb_spec *sp = ss->spec;
  for (size_t i = 0; i < d->n_entries && sp->det.strict && !why->len; i++)
    {
      const det_entry *e = &d->entries[i];
      if (e->allowed)
        continue;
      const char *svc = sp->plan.services[e->svc].name, *cat = kind_names[e->kind];
      fb_buf_printf (why, "strict determinism: service %s reached unmediated %s (%s via %s, %" PRIu64 " call%s); "
                     "add \"%s\" to determinism(allow=[...]) (%s) or service(\"%s\", nondeterministic_ok=[\"%s\"]) "
                     "to tolerate it",
                     svc, cat, e->detail, e->syscall, e->count, e->count == 1 ? "" : "s", cat, sp->det.decl, svc, cat);
      *failure_type = "determinism";
    }
}

void
session_det_finish (fb_session *ss, fb_buf *why, const char **failure_type)
{
  struct session_det *d = ss->det;
  if (!d)
    return;
  ss->det = NULL;
  det_counts_to_events (ss, d);
  det_strict (ss, d, why, failure_type);
  fb_test_result *t = ss->result;
  t->determinism = true;
  t->unmediated_dropped = d->dropped;
  t->unmediated = fb_xcalloc (d->n_entries + 1, sizeof *t->unmediated);
  for (size_t i = 0; i < d->n_entries; i++)
    {
      det_entry *e = &d->entries[i];
      t->unmediated[t->n_unmediated++] = (fb_unmediated) {
        .service = fb_xstrdup (ss->spec->plan.services[e->svc].name), .category = fb_xstrdup (kind_names[e->kind]),
        .detail = e->detail, .syscall = e->syscall, .count = e->count, .allowed = e->allowed };
    }
  for (size_t i = 0; i < d->n_lab_addrs; i++)
    free (d->lab_addrs[i]);
  free (d->lab_addrs);
  free (d->det_only);
  free (d);
}
