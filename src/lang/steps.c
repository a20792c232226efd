/* Steps (each interface's protocol's methods) against the services of the
 * running test, their Response values, and the assertion builtins. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultbox/protocol.h"
#include "lang/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"

#define STEP_NEEDS_TEST "steps can only run inside a test"

/* A step's builtin carries its interface as (service << 16 | iface). */
static fb_value *
step_builtin (fb_star_thread *th, const char *name, fb_builtin_fn fn,
              const iface_ref *r)
{
  return fb_builtin_new (th, name, fn, (void *) (uintptr_t) (r->svc << 16 | r->iface));
}

static void
step_ref (fb_star_thread *th, fb_value *self, iface_ref *r)
{
  uintptr_t d = (uintptr_t) fb_builtin_data (self);
  *r = (iface_ref) { spec_of (th), d >> 16, d & 0xffff };
}

static fb_value *
json_method (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  if (fb_star_unpack (th, "json", a, NULL) < 0)
    return NULL;
  fb_value *body = fb_builtin_data (self);
  size_t n;
  const char *s = fb_value_as_string (body, &n);
  fb_value *v = fb_star_json_decode (th, s, n);
  if (!v)
    return fb_star_errorf (th, "json: response body is not JSON: %.60s", s);
  return v;
}

/* extra: "k", "v", ..., NULL: string attributes after the common ones
 * (client()'s .client and .operation). */
static fb_value *
make_response (fb_star_thread *th, const fb_step_result *r, const char *const *extra)
{
  fb_value *headers = fb_dict_new (th);
  for (size_t i = 0; i < r->n_headers; i++)
    fb_dict_set_str (th, headers, r->headers[i].key,
                     fb_string (th, r->headers[i].value));
  fb_value *body = fb_string (th, r->body ? r->body : "");
  /* .data: the body's JSON decode (redis and postgres return their
   * replies as JSON), else the body */
  fb_value *data = fb_star_json_decode (th, r->body ? r->body : "",
                                        r->body ? strlen (r->body) : 0);
  /* .fields: the step_recv event's (http2's "proto") */
  fb_value *fields = fb_dict_new (th);
  for (size_t i = 0; i < r->n_fields; i++)
    fb_dict_set_str (th, fields, r->fields[i].key, fb_string (th, r->fields[i].value));
  enum { N_COMMON = 9, N_EXTRA = 4 };
  const char *names[N_COMMON + N_EXTRA] = { "status", "body", "headers", "duration_ms", "ok",
                                            "error", "data", "json", "fields" };
  fb_value *vals[N_COMMON + N_EXTRA] = { fb_int (th, r->status), body, headers,
                                         fb_int (th, r->duration_ms), fb_bool (!r->error),
                                         fb_string (th, r->error ? r->error : ""), data ? data : body,
                                         fb_builtin_new (th, "json", json_method, body), fields };
  size_t n = N_COMMON;
  for (size_t i = 0; extra && extra[i] && n < N_COMMON + N_EXTRA; i += 2, n++)
    {
      names[n] = extra[i];
      vals[n] = fb_string (th, extra[i + 1]);
    }
  return fb_struct_new (th, n, names, vals);
}

static const char *
iface_label (const iface_ref *r, char *buf, size_t len)
{
  const fb_plan_service *s = &r->spec->plan.services[r->svc];
  snprintf (buf, len, "%s.%s", s->name, s->ifaces[r->iface].name);
  return buf;
}

/* A step's arguments, as its method's parameters say. */
typedef struct {
  fb_step_arg args[FB_STEP_MAX_PARAMS];
  fb_value *dicts[FB_STEP_MAX_PARAMS];  /* dicts and lists, as given */
  fb_kv *kv;
  size_t n_kv;
  char **lists[FB_STEP_MAX_PARAMS];
} step_args;

static void
step_args_clear (step_args *sa)
{
  for (size_t i = 0; i < sa->n_kv; i++)
    {
      free (sa->kv[i].key);
      free (sa->kv[i].value);
    }
  free (sa->kv);
  for (size_t i = 0; i < FB_STEP_MAX_PARAMS; i++)
    {
      /* NULL-terminated: an int parameter's string is one too */
      for (size_t j = 0; sa->lists[i] && sa->lists[i][j]; j++)
        free (sa->lists[i][j]);
      free (sa->lists[i]);
    }
}

/* A list parameter: a list or tuple of values (strings as they are, the
 * rest as str() gives them), or one string, Faultbox's shorthand. */
static int
step_list (fb_star_thread *th, const char *fname, const fb_step_method *m, size_t i, step_args *sa)
{
  fb_value *v = sa->dicts[i];
  if (!v || v == fb_none ())
    return 0;
  fb_value_type t = fb_value_type_of (v);
  if (t != FB_V_STRING && t != FB_V_LIST && t != FB_V_TUPLE)
    {
      fb_star_errorf (th, "%s: %s must be a list or a string, got %s", fname, m->params[i].name,
                      fb_value_type_name (v));
      return -1;
    }
  size_t n = t == FB_V_STRING ? 1 : (size_t) fb_value_len (v);
  sa->lists[i] = fb_xcalloc (n + 1, sizeof *sa->lists[i]);
  for (size_t j = 0; j < n; j++)
    {
      fb_value *x = t == FB_V_STRING ? v : fb_value_at (v, j);
      sa->lists[i][j] = fb_value_type_of (x) == FB_V_STRING ? fb_xstrdup (fb_value_as_string (x, NULL))
                                                            : fb_value_str (th, x);
    }
  sa->args[i].list = sa->lists[i];
  sa->args[i].n_list = n;
  return 0;
}

/* An integer parameter (udp's timeout_ms=), handed to the protocol as its
 * decimal string; not given: the default. */
static int
step_int (fb_star_thread *th, const char *fname, const fb_step_method *m, size_t i, step_args *sa)
{
  fb_value *v = sa->dicts[i];
  int64_t n;
  if (!v || v == fb_none ())
    {
      sa->args[i].s = m->params[i].dflt;
      return 0;
    }
  if (fb_value_type_of (v) != FB_V_INT || !fb_value_as_int64 (v, &n))
    return fb_star_errorf (th, "%s: %s must be an int, got %s", fname, m->params[i].name, fb_value_type_name (v)),
           -1;
  sa->lists[i] = fb_xcalloc (2, sizeof *sa->lists[i]);
  sa->lists[i][0] = fb_xasprintf ("%lld", (long long) n);
  sa->args[i].s = sa->lists[i][0];
  return 0;
}

/* A JSON parameter (mongodb's filter=): a dict or list handed to the
 * protocol as its JSON text, a string as given (Faultbox takes JSON text
 * too); None or not given: NULL. */
static int
step_json (fb_star_thread *th, const char *fname, const fb_step_method *m, size_t i, step_args *sa)
{
  fb_value *v = sa->dicts[i];
  if (!v || v == fb_none ())
    return 0;
  fb_value_type t = fb_value_type_of (v);
  if (t != FB_V_STRING && t != FB_V_DICT && t != FB_V_LIST && t != FB_V_TUPLE)
    return fb_star_errorf (th, "%s: %s must be a dict, a list or a JSON string, got %s", fname, m->params[i].name,
                           fb_value_type_name (v)),
           -1;
  char *json = t == FB_V_STRING ? fb_xstrdup (fb_value_as_string (v, NULL)) : fb_star_json_encode (th, v);
  if (!json)
    return -1;
  sa->lists[i] = fb_xcalloc (2, sizeof *sa->lists[i]);
  sa->lists[i][0] = json;
  sa->args[i].s = json;
  return 0;
}

/* fname names the step in errors: "db.main.query". */
static int
step_unpack (fb_star_thread *th, const char *fname, const fb_step_method *m, const fb_star_args *a,
             step_args *sa)
{
  char specs[FB_STEP_MAX_PARAMS][64];
  const char *spec[FB_STEP_MAX_PARAMS + 1] = { NULL };
  void *out[FB_STEP_MAX_PARAMS + 1] = { NULL };
  for (size_t i = 0; i < m->n_params; i++)
    {
      const fb_step_param *p = &m->params[i];
      bool str = p->kind == FB_PARAM_STRING;
      snprintf (specs[i], sizeof specs[i], "%s%s%s", p->name, p->required ? "" : "?", str ? ":s" : "");
      spec[i] = specs[i];
      out[i] = str ? (void *) &sa->args[i].s : (void *) &sa->dicts[i];
    }
  if (fb_star_unpack (th, fname, a, spec[0], out[0], spec[1], out[1], spec[2], out[2], spec[3], out[3],
                      spec[4], out[4], spec[5], out[5], spec[6], out[6], spec[7], out[7], NULL) < 0)
    return -1;
  for (size_t i = 0; i < m->n_params; i++)
    {
      const fb_step_param *p = &m->params[i];
      if (p->kind == FB_PARAM_STRING)
        {
          if (!sa->args[i].s)
            sa->args[i].s = p->dflt;
          continue;
        }
      if (p->kind == FB_PARAM_LIST || p->kind == FB_PARAM_INT || p->kind == FB_PARAM_JSON)
        {
          int (*take) (fb_star_thread *, const char *, const fb_step_method *, size_t, step_args *)
              = p->kind == FB_PARAM_LIST ? step_list : p->kind == FB_PARAM_INT ? step_int : step_json;
          if (take (th, fname, m, i, sa) < 0)
            return -1;
          continue;
        }
      fb_value *d = sa->dicts[i];
      if (!d || d == fb_none ())
        continue;
      if (fb_value_type_of (d) != FB_V_DICT)
        {
          fb_star_errorf (th, "%s: %s must be a dict", fname, p->name);
          return -1;
        }
      /* one array for all dicts; pointers into it are taken once it is full */
      fb_value *k, *v;
      for (size_t e = 0; fb_dict_entry (d, e, &k, &v); e++)
        {
          sa->kv = fb_xreallocarray (sa->kv, sa->n_kv + 1, sizeof *sa->kv);
          sa->kv[sa->n_kv++] = (fb_kv) { fb_value_str (th, k), fb_value_str (th, v) };
          sa->args[i].n_kv++;
        }
    }
  size_t off = 0;
  for (size_t i = 0; i < m->n_params; i++)
    if (m->params[i].kind == FB_PARAM_DICT)
      {
        sa->args[i].kv = sa->kv + off;
        off += sa->args[i].n_kv;
      }
  return 0;
}

typedef struct {
  fb_session *ss;
  const char *target;
  const char *const *extra;  /* the caller's fields after "target" (client()'s) */
  fb_star_thread *th;
  bool stopped;         /* the test's expectations stopped the body (raised) */
} step_ctx;

static size_t
kv_count (const char *const *kv)
{
  size_t n = 0;
  while (kv && kv[n])
    n++;
  return n;
}

/* A step's event: "target" first, the caller's fields, then the protocol's. */
static void
step_event (void *ctx, const char *type, const char *const *kv, const fb_kv *fields, size_t n_fields)
{
  step_ctx *sc = ctx;
  size_t n = kv_count (kv), n_extra = kv_count (sc->extra);
  _cleanup_free_ const char **all = fb_xcalloc (3 + n_extra + n + 2 * n_fields, sizeof *all);
  size_t k = 0;
  all[k++] = "target";
  all[k++] = sc->target;
  for (size_t i = 0; i < n_extra; i++)
    all[k++] = sc->extra[i];
  for (size_t i = 0; i < n; i++)
    all[k++] = kv[i];
  for (size_t i = 0; i < n_fields; i++)
    {
      all[k++] = fields[i].key;
      all[k++] = fields[i].value;
    }
  session_event (sc->ss, type, "test", all);
}

static void
step_sent (void *ctx, const char *const *kv)
{
  step_event (ctx, "step_send", kv, NULL, 0);
}

/* Events arrived while the step waits: a test()'s always() or
 * terminate_when may stop the body now rather than after the step. */
static bool
step_interrupted (void *ctx)
{
  step_ctx *sc = ctx;
  sc->stopped = session_test_check (sc->th, sc->ss) < 0;
  return sc->stopped;
}

fb_value *
spec_step_run (fb_star_thread *th, const iface_ref *r, const fb_step_method *m, const fb_step_arg *args,
               const char *const *extra, spec_step_finish finish, void *fctx)
{
  char label[128];
  iface_label (r, label, sizeof label);
  fb_session *ss = spec_session (th, label, STEP_NEEDS_TEST);
  if (!ss)
    return NULL;
  const fb_plan_service *s = &r->spec->plan.services[r->svc];
  const fb_plan_interface *i = &s->ifaces[r->iface];
  const fb_protocol *p = fb_protocol_find (i->protocol);
  step_ctx sc = { ss, s->name, extra, th, false };
  /* only the body's own thread checks (parallel()'s branches run apart) */
  bool body = th == ss->spec->th;
  fb_step_call call = { .method = m, .args = args, .service = s->name,
                        .host = session_step_host (ss, r->svc), .port = i->port,
                        .env = s->env, .n_env = s->n_env, .on_send = step_sent, .ctx = &sc,
                        .wake_fd = body ? session_wake_fd (ss) : -1, .interrupted = body ? step_interrupted : NULL,
                        .ca_file = s->mock && s->mock->ifaces[r->iface].tls.cert ? r->spec->mock_ca_path : NULL };
  fb_step_result res = { 0 };
  fb_error e = { 0 };
  int rc = p->step (&call, &res, &e);
  if (res.n_fields)
    step_event (&sc, "step_recv", NULL, res.fields, res.n_fields);
  fb_value *out = sc.stopped                                    ? NULL
                  : rc < 0                                       ? fb_star_errorf (th, "%s.%s", label, e.msg)
                  : finish && finish (th, &res, fctx) < 0         ? NULL
                  : m->returns_text ? fb_string (th, res.body ? res.body : "")
                                    : make_response (th, &res, extra);
  fb_step_result_clear (&res);
  return out;
}

/* db.main.get(path=...), db.main.send(data=...): one step of the
 * interface's protocol against the service in the running test's lab. */
static fb_value *
iface_step (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  iface_ref r;
  step_ref (th, self, &r);
  char label[128];
  iface_label (&r, label, sizeof label);
  if (!spec_session (th, label, STEP_NEEDS_TEST))
    return NULL;
  const fb_plan_interface *i = &r.spec->plan.services[r.svc].ifaces[r.iface];
  const fb_step_method *m = fb_protocol_method (fb_protocol_find (i->protocol), fb_builtin_name (self));
  step_args sa = { 0 };
  char fname[192];
  snprintf (fname, sizeof fname, "%s.%s", label, m->name);
  fb_value *out = step_unpack (th, fname, m, a, &sa) < 0 ? NULL : spec_step_run (th, &r, m, sa.args, NULL, NULL, NULL);
  step_args_clear (&sa);
  return out;
}

fb_value *
spec_iface_attr (fb_star_thread *th, iface_ref *r, const char *name)
{
  const fb_plan_service *s = &r->spec->plan.services[r->svc];
  const fb_plan_interface *i = &s->ifaces[r->iface];
  if (!strcmp (name, "name"))
    return fb_string (th, i->name);
  if (!strcmp (name, "protocol"))
    return fb_string (th, i->protocol);
  if (!strcmp (name, "port"))
    return fb_int (th, i->port);
  /* services reach each other by name: each lab has /etc/hosts for them */
  if (!strcmp (name, "host"))
    return fb_string (th, s->name);
  if (!strcmp (name, "addr") || !strcmp (name, "internal_addr"))
    return fb_string_printf (th, "%s:%d", s->name, i->port);
  /* Faultbox's explicit form: the service's name resolves to the proxy
   * in the lab, so these are the name; asking for them while loading puts
   * the interface behind the proxy (ports are strings, as in Faultbox) */
  if (!strcmp (name, "proxy_addr") || !strcmp (name, "proxy_host") || !strcmp (name, "proxy_port"))
    {
      if (!r->spec->session)
        spec_mark_proxied (r->spec, (ssize_t) r->svc, (ssize_t) r->iface);
      if (!strcmp (name, "proxy_host"))
        return fb_string (th, s->name);
      return !strcmp (name, "proxy_port") ? fb_string_printf (th, "%d", i->port)
                                          : fb_string_printf (th, "%s:%d", s->name, i->port);
    }
  const fb_protocol *p = fb_protocol_find (i->protocol);
  if (fb_protocol_method (p, name))
    return step_builtin (th, name, iface_step, r);
  /* a step of another protocol: say which this interface has */
  if (fb_protocol_with_method (name))
    return fb_star_errorf (th, "%s.%s is a %s interface: it has no %s step (use %s)", s->name, i->name,
                             i->protocol, name, p->methods_hint);
  return NULL;
}

/* ---- concurrency ------------------------------------------------------- */

typedef struct {
  fb_star_thread *th;
  fb_value *fn;
  fb_value *result;
  fb_error err;
  pthread_t tid;
  bool started;
  bool done;             /* __atomic */
} branch;

/* What --explore holds inside parallel(): the calls that make the
 * branches' effects. The runner holds and releases them. */
static const char *const held_keywords[] = { "write", "read", "connect", "openat", "fsync",
                                             "sendto", "recvfrom", "writev", NULL };

char **
spec_explore_syscalls (void)
{
  char **v = NULL;
  size_t n = 0;
  for (const char *const *k = held_keywords; *k; k++)
    {
      _cleanup_strv_ char **fam = NULL;
      if (fb_syscall_family (*k, &fam, NULL) == 0)
        spec_strv_add (&v, &n, fam);
    }
  return v;
}

static void *
branch_main (void *p)
{
  branch *b = p;
  b->result = fb_star_call (b->th, b->fn, NULL);
  if (!b->result)
    fb_star_take_error (b->th, &b->err);
  __atomic_store_n (&b->done, true, __ATOMIC_RELEASE);
  return NULL;
}

static void
branch_start (void *ctx, size_t i)
{
  branch *b = (branch *) ctx + i;
  b->started = pthread_create (&b->tid, NULL, branch_main, b) == 0;
  if (!b->started)
    branch_main (b);
}

static bool
branch_done (void *ctx, size_t i)
{
  return __atomic_load_n (&((branch *) ctx)[i].done, __ATOMIC_ACQUIRE);
}

/* parallel(fn1, fn2, ...): runs the functions at once, each on its own
 * thread (inside the lab like the test body), and returns their results in
 * argument order; a branch that fails fails the call. Under --explore the
 * services' calls are held and released in this run's order. */
static fb_value *
b_parallel (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "parallel", STEP_NEEDS_TEST);
  if (!ss)
    return NULL;
  for (size_t i = 0; i < a->nkw; i++)
    if (strcmp (a->kwnames[i], "interleavings"))
      return fb_star_errorf (th, "parallel: unexpected keyword argument %s", a->kwnames[i]);
  if (a->npos < 1)
    return fb_star_errorf (th, "parallel: want at least one function");
  for (size_t i = 0; i < a->npos; i++)
    if (!fb_value_is_callable (a->pos[i]))
      return fb_star_errorf (th, "parallel: argument %zu is %s, want a function", i + 1,
                             fb_value_type_name (a->pos[i]));
  size_t n = a->npos;
  branch *b = fb_xcalloc (n, sizeof *b);
  for (size_t i = 0; i < n; i++)
    {
      b[i].th = fb_star_thread_spawn (th);
      b[i].fn = a->pos[i];
    }
  if (ss->opts->explore)
    ss->explore_parallel (ss, n, branch_start, branch_done, b);
  else
    for (size_t i = 0; i < n; i++)
      branch_start (b, i);
  fb_value *out = fb_list_new (th, 0, NULL);
  const char *failed = NULL;
  size_t failed_at = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (b[i].started)
        pthread_join (b[i].tid, NULL);
      fb_star_thread_join (th, b[i].th);
      if (!b[i].result && !failed)
        {
          failed = b[i].err.msg;
          failed_at = i + 1;
        }
      fb_list_append (th, out, b[i].result ? b[i].result : fb_none ());
    }
  fb_value *r = out;
  if (failed)
    r = fb_star_errorf (th, "parallel: branch %zu failed: %.*s", failed_at,
                        (int) strcspn (failed, "\n"), failed);
  free (b);
  return r;
}

/* nondet(svc, ...): services whose interleaving is not controlled: an
 * explored parallel() of this test does not hold their calls. */
static fb_value *
b_nondet (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  if (a->nkw)
    return fb_star_errorf (th, "nondet: unexpected keyword argument %s", a->kwnames[0]);
  fb_session *ss = spec_of (th)->session;
  /* nondet() alone: Faultbox's anonymous choose([True, False]) */
  if (!a->npos)
    return fb_bool (true);
  for (size_t i = 0; i < a->npos; i++)
    {
      ssize_t svc = spec_service_arg (th, "nondet", a->pos[i]);
      if (svc < 0)
        return NULL;
      if (ss)
        ss->nondet[svc] = true;
    }
  return fb_none ();
}

/* ---- assertions -------------------------------------------------------- */

static fb_value *
assert_fail (fb_star_thread *th, const char *msg, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static fb_value *
assert_fail (fb_star_thread *th, const char *msg, const char *fmt, ...)
{
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  va_list ap;
  va_start (ap, fmt);
  fb_buf_vprintf (&b, fmt, ap);
  va_end (ap);
  if (msg && *msg)
    fb_buf_printf (&b, ": %s", msg);
  return fb_star_errorf (th, "%s", fb_buf_str (&b));
}

static fb_value *
b_assert_true (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *cond;
  const char *msg = NULL;
  if (fb_star_unpack (th, "assert_true", a, "condition", &cond, "msg?:s", &msg,
                      NULL) < 0)
    return NULL;
  if (fb_value_truth (cond))
    return fb_none ();
  char *r = fb_value_repr (th, cond);
  fb_value *v = assert_fail (th, msg, "assert_true: got %s", r);
  free (r);
  return v;
}

static fb_value *
assert_cmp (fb_star_thread *th, const fb_star_args *a, bool want_equal)
{
  const char *fname = want_equal ? "assert_eq" : "assert_ne";
  fb_value *x, *y;
  const char *msg = NULL;
  if (fb_star_unpack (th, fname, a, "actual", &x, "expected", &y, "msg?:s",
                      &msg, NULL) < 0)
    return NULL;
  bool eq;
  if (fb_value_equal (th, x, y, &eq) < 0)
    return NULL;
  if (eq == want_equal)
    return fb_none ();
  char *rx = fb_value_repr (th, x), *ry = fb_value_repr (th, y);
  fb_value *v = want_equal
                    ? assert_fail (th, msg, "assert_eq: got %s, want %s", rx, ry)
                    : assert_fail (th, msg, "assert_ne: both are %s", rx);
  free (rx);
  free (ry);
  return v;
}

static fb_value *
b_assert_eq (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return assert_cmp (th, a, true);
}

static fb_value *
b_assert_ne (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return assert_cmp (th, a, false);
}

void
spec_predeclare_steps (fb_spec *s)
{
  static const spec_builtin fns[] = {
    { "assert_true", b_assert_true }, { "assert_eq", b_assert_eq },
    { "assert_ne", b_assert_ne }, { "parallel", b_parallel },
    { "nondet", b_nondet },
  };
  spec_predeclare_all (s, fns, sizeof fns / sizeof *fns);
}
