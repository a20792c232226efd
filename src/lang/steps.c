/* Steps (HTTP requests, TCP line exchanges) against the services of the
 * running test, their Response values, and the assertion builtins. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/client.h"
#include "lang/internal.h"
#include "util/alloc.h"
#include "util/buf.h"
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

static fb_value *
make_response (fb_star_thread *th, const fb_http_response *r)
{
  fb_value *headers = fb_dict_new (th);
  for (size_t i = 0; i < r->n_headers; i++)
    fb_dict_set_str (th, headers, r->headers[i].key,
                     fb_string (th, r->headers[i].value));
  fb_value *body = fb_string (th, r->body ? r->body : "");
  fb_value *data = fb_star_json_decode (th, r->body ? r->body : "",
                                        r->body ? strlen (r->body) : 0);
  const char *names[] = { "status", "body", "headers", "duration_ms", "ok",
                          "error", "data", "json" };
  fb_value *vals[] = { fb_int (th, r->status), body, headers,
                       fb_int (th, r->duration_ms), fb_bool (true),
                       fb_string (th, ""), data ? data : body,
                       fb_builtin_new (th, "json", json_method, body) };
  return fb_struct_new (th, 8, names, vals);
}

static const char *
iface_label (const iface_ref *r, char *buf, size_t len)
{
  const fb_plan_service *s = &r->spec->plan.services[r->svc];
  snprintf (buf, len, "%s.%s", s->name, s->ifaces[r->iface].name);
  return buf;
}

static fb_value *
http_step (fb_star_thread *th, fb_value *self, const fb_star_args *a,
           const char *method)
{
  iface_ref r;
  step_ref (th, self, &r);
  char label[128];
  iface_label (&r, label, sizeof label);
  fb_session *ss = spec_session (th, label, STEP_NEEDS_TEST);
  if (!ss)
    return NULL;
  const char *path = "/", *body = NULL;
  fb_value *headers = NULL;
  if (fb_star_unpack (th, method, a, "path?:s", &path, "body?:s", &body,
                      "headers?", &headers, NULL) < 0)
    return NULL;
  fb_kv *hs = NULL;
  size_t nh = 0;
  if (headers && headers != fb_none ())
    {
      if (fb_value_type_of (headers) != FB_V_DICT)
        return fb_star_errorf (th, "%s: headers must be a dict", method);
      fb_value *k, *v;
      for (size_t i = 0; fb_dict_entry (headers, i, &k, &v); i++)
        {
          hs = fb_xreallocarray (hs, nh + 1, sizeof *hs);
          hs[nh].key = fb_value_str (th, k);
          hs[nh++].value = fb_value_str (th, v);
        }
    }
  const fb_plan_service *s = &r.spec->plan.services[r.svc];
  const char *ip = fb_lab_service_addr (ss->lab, r.svc);
  char *url = fb_xasprintf ("http://%s:%d%s%s", ip, s->ifaces[r.iface].port,
                            path[0] == '/' ? "" : "/", path);
  char upper[16];
  size_t ml = strlen (method);
  for (size_t i = 0; i <= ml && i < sizeof upper; i++)
    upper[i] = (char) (method[i] >= 'a' && method[i] <= 'z' ? method[i] - 32 : method[i]);
  const char *send_kv[] = { "target", s->name, "method", upper, "path", path, NULL };
  session_event (ss, "step_send", "test", send_kv);
  fb_http_response resp = { 0 };
  fb_error e = { 0 };
  int rc = fb_http_request (upper, url, body, hs, nh, 30000, &resp, &e);
  for (size_t i = 0; i < nh; i++)
    {
      free (hs[i].key);
      free (hs[i].value);
    }
  free (hs);
  fb_value *out = NULL;
  if (rc < 0)
    {
      const char *kv[] = { "target", s->name, "method", upper, "success", "false",
                           "error", e.msg, NULL };
      session_event (ss, "step_recv", "test", kv);
      fb_star_errorf (th, "%s.%s(%s): %s %s (service %s at %s:%d): %s", label,
                      method, path, upper, url, s->name, ip, s->ifaces[r.iface].port,
                      e.msg);
    }
  else
    {
      char status[16], ms[32];
      snprintf (status, sizeof status, "%ld", resp.status);
      snprintf (ms, sizeof ms, "%lld", (long long) resp.duration_ms);
      const char *kv[] = { "target", s->name, "method", upper, "status_code", status,
                           "duration_ms", ms, "success", "true", NULL };
      session_event (ss, "step_recv", "test", kv);
      out = make_response (th, &resp);
    }
  fb_http_response_clear (&resp);
  free (url);
  return out;
}

#define HTTP_STEP(fn, m) \
  static fb_value *fn (fb_star_thread *th, fb_value *self, const fb_star_args *a) \
  { return http_step (th, self, a, m); }
HTTP_STEP (s_get, "get")
HTTP_STEP (s_post, "post")
HTTP_STEP (s_put, "put")
HTTP_STEP (s_delete, "delete")
HTTP_STEP (s_patch, "patch")

static fb_value *
s_send (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  iface_ref r;
  step_ref (th, self, &r);
  char label[128];
  iface_label (&r, label, sizeof label);
  fb_session *ss = spec_session (th, label, STEP_NEEDS_TEST);
  const char *data;
  if (!ss || fb_star_unpack (th, "send", a, "data:s", &data, NULL) < 0)
    return NULL;
  if (!*data)
    return fb_star_errorf (th, "%s.send: data must not be empty", label);
  const fb_plan_service *s = &r.spec->plan.services[r.svc];
  const char *ip = fb_lab_service_addr (ss->lab, r.svc);
  int port = s->ifaces[r.iface].port;
  const char *send_kv[] = { "target", s->name, "method", "send", "data", data, NULL };
  session_event (ss, "step_send", "test", send_kv);
  char *reply = NULL;
  fb_error e = { 0 };
  if (fb_tcp_exchange (ip, port, data, 10000, &reply, &e) < 0)
    {
      const char *kv[] = { "target", s->name, "success", "false", "error", e.msg, NULL };
      session_event (ss, "step_recv", "test", kv);
      return fb_star_errorf (th, "%s.send: %s (service %s)", label, e.msg, s->name);
    }
  const char *kv[] = { "target", s->name, "success", "true", "reply", reply, NULL };
  session_event (ss, "step_recv", "test", kv);
  fb_value *v = fb_string (th, reply);
  free (reply);
  return v;
}

fb_value *
spec_iface_attr (fb_star_thread *th, iface_ref *r, const char *name)
{
  const fb_plan_service *s = &r->spec->plan.services[r->svc];
  const fb_plan_interface *i = &s->ifaces[r->iface];
  bool http = !strcmp (i->protocol, "http");
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
  static const struct { const char *name; fb_builtin_fn fn; bool http; } steps[] = {
    { "get", s_get, true }, { "post", s_post, true }, { "put", s_put, true },
    { "delete", s_delete, true }, { "patch", s_patch, true },
    { "send", s_send, false },
  };
  for (size_t k = 0; k < sizeof steps / sizeof *steps; k++)
    if (!strcmp (steps[k].name, name))
      {
        if (steps[k].http != http)
          return fb_star_errorf (th, "%s.%s is a %s interface: it has no %s step (use %s)",
                                 s->name, i->name, i->protocol, name,
                                 http ? "get/post/put/delete/patch" : "send(data=...)");
        return step_builtin (th, name, steps[k].fn, r);
      }
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
