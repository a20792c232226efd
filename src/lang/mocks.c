/* mock_service() and the mock responses: json_response, text_response,
 * bytes_response, status_only, redirect, dynamic. A mock is a service of
 * the plan like any other — its own lab node, name, filter, healthcheck,
 * place in the start order — whose binary is faultbox itself in its mock
 * server mode (protocol/mock.c), given its route table by the hub. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "faultbox/grpc.h"
#include "faultbox/protobuf.h"
#include "faultbox/protocol.h"
#include "lang/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"

typedef struct {
  fb_mock_response r;
  fb_value *fn;           /* dynamic(fn): called per request instead */
} mock_resp;

static void
mock_resp_free (void *p)
{
  mock_resp *m = p;
  fb_mock_response_clear (&m->r);
  free (m);
}

static char *
mock_resp_repr (fb_value *self)
{
  (void) self;
  return fb_xstrdup ("<mock_response>");
}

static const fb_host_type mock_resp_type = {
  .name = "mock_response", .repr = mock_resp_repr, .destroy = mock_resp_free,
};

const fb_mock_response *
spec_mock_response (fb_value *v, fb_value **fn)
{
  mock_resp *m = fb_host_data (v, &mock_resp_type);
  if (fn)
    *fn = m ? m->fn : NULL;
  return m ? &m->r : NULL;
}

/* headers={}: string names, values as str() gives them. */
static int
take_headers (fb_star_thread *th, const char *fname, fb_value *h, fb_mock_response *r)
{
  if (!h || h == fb_none ())
    return 0;
  if (fb_value_type_of (h) != FB_V_DICT)
    {
      fb_star_errorf (th, "%s: headers must be a dict, got %s", fname, fb_value_type_name (h));
      return -1;
    }
  fb_value *k, *v;
  for (size_t i = 0; fb_dict_entry (h, i, &k, &v); i++)
    {
      if (fb_value_type_of (k) != FB_V_STRING)
        {
          fb_star_errorf (th, "%s: header names must be strings, got %s", fname, fb_value_type_name (k));
          return -1;
        }
      r->headers = fb_xreallocarray (r->headers, r->n_headers + 1, sizeof *r->headers);
      r->headers[r->n_headers++] = (fb_kv) { fb_xstrdup (fb_value_as_string (k, NULL)),
                                             fb_value_type_of (v) == FB_V_STRING
                                                 ? fb_xstrdup (fb_value_as_string (v, NULL))
                                                 : fb_value_str (th, v) };
    }
  return 0;
}

static fb_value *
new_response (fb_star_thread *th, mock_resp *m)
{
  return fb_host_new (th, &mock_resp_type, m);
}

static void
set_body (fb_mock_response *r, const char *s, size_t n)
{
  r->body = fb_xmemdup0 (s ? s : "", s ? n : 0);
  r->body_len = s ? n : 0;
}

/* json_response and text_response: (status=200, body, headers={}) */
static fb_value *
text_like (fb_star_thread *th, const fb_star_args *a, bool json)
{
  const char *fname = json ? "json_response" : "text_response";
  int64_t status = 200;
  fb_value *body = NULL, *headers = NULL;
  if (fb_star_unpack (th, fname, a, "status?:i", &status, "body?", &body, "headers?", &headers, NULL) < 0)
    return NULL;
  mock_resp *m = FB_NEW (mock_resp);
  m->r.status = (int) status;
  m->r.content_type = fb_xstrdup (json ? "application/json" : "text/plain; charset=utf-8");
  if (json)
    {
      char *enc = fb_star_json_encode (th, body ? body : fb_none ());
      if (!enc)
        {
          mock_resp_free (m);
          return NULL;
        }
      m->r.body = enc;
      m->r.body_len = strlen (enc);
    }
  else if (body && fb_value_type_of (body) != FB_V_STRING)
    {
      mock_resp_free (m);
      return fb_star_errorf (th, "text_response: body must be a string, got %s", fb_value_type_name (body));
    }
  else
    {
      size_t n = 0;
      const char *s = body ? fb_value_as_string (body, &n) : "";
      set_body (&m->r, s, n);
    }
  if (take_headers (th, fname, headers, &m->r) < 0)
    {
      mock_resp_free (m);
      return NULL;
    }
  return new_response (th, m);
}

static fb_value *
b_json_response (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return text_like (th, a, true);
}

static fb_value *
b_text_response (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return text_like (th, a, false);
}

static fb_value *
b_bytes_response (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  int64_t status = 0;
  fb_value *data = NULL;
  if (fb_star_unpack (th, "bytes_response", a, "status?:i", &status, "data?", &data, NULL) < 0)
    return NULL;
  fb_value_type t = data ? fb_value_type_of (data) : FB_V_STRING;
  if (t != FB_V_STRING && t != FB_V_BYTES)
    return fb_star_errorf (th, "bytes_response: data must be a string or bytes, got %s", fb_value_type_name (data));
  mock_resp *m = FB_NEW (mock_resp);
  m->r.status = (int) status;
  size_t n = 0;
  const char *s = data ? fb_value_as_string (data, &n) : "";
  set_body (&m->r, s, n);
  return new_response (th, m);
}

static fb_value *
b_status_only (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  int64_t code;
  if (fb_star_unpack (th, "status_only", a, "code:i", &code, NULL) < 0)
    return NULL;
  mock_resp *m = FB_NEW (mock_resp);
  m->r.status = (int) code;
  set_body (&m->r, "", 0);
  return new_response (th, m);
}

static fb_value *
b_redirect (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  const char *location;
  int64_t status = 302;
  if (fb_star_unpack (th, "redirect", a, "location:s", &location, "status?:i", &status, NULL) < 0)
    return NULL;
  mock_resp *m = FB_NEW (mock_resp);
  m->r.status = (int) status;
  set_body (&m->r, "", 0);
  m->r.headers = fb_xcalloc (1, sizeof *m->r.headers);
  m->r.headers[m->r.n_headers++] = (fb_kv) { fb_xstrdup ("Location"), fb_xstrdup (location) };
  return new_response (th, m);
}

static fb_value *
b_dynamic (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *fn;
  if (fb_star_unpack (th, "dynamic", a, "fn", &fn, NULL) < 0)
    return NULL;
  if (!fb_value_is_callable (fn))
    return fb_star_errorf (th, "dynamic() requires a callable (got %s)", fb_value_type_name (fn));
  mock_resp *m = FB_NEW (mock_resp);
  m->fn = fn;
  return new_response (th, m);
}

/* ---- gRPC responses ------------------------------------------------------ */

/* grpc_response(body={...}): the dict as a google.protobuf.Struct. */
static fb_value *
b_grpc_response (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *body = NULL;
  if (fb_star_unpack (th, "grpc_response", a, "body?", &body, NULL) < 0)
    return NULL;
  _cleanup_free_ char *json = body ? fb_star_json_encode (th, body) : fb_xstrdup ("{}");
  if (!json)
    return NULL;
  _cleanup_buf_ fb_buf wire = FB_BUF_INIT;
  char why[256];
  if (fb_grpc_struct_from_json (json, &wire, why, sizeof why) < 0)
    return fb_star_errorf (th, "grpc_response: %s", why);
  mock_resp *m = FB_NEW (mock_resp);
  m->r.content_type = fb_xstrdup ("application/grpc");
  set_body (&m->r, wire.data, wire.len);
  return new_response (th, m);
}

/* grpc_raw_response(body=b"..."): the message's wire bytes as given. */
static fb_value *
b_grpc_raw_response (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *body;
  if (fb_star_unpack (th, "grpc_raw_response", a, "body", &body, NULL) < 0)
    return NULL;
  fb_value_type t = fb_value_type_of (body);
  if (t != FB_V_STRING && t != FB_V_BYTES)
    return fb_star_errorf (th, "grpc_raw_response: body must be bytes or a string, got %s", fb_value_type_name (body));
  mock_resp *m = FB_NEW (mock_resp);
  m->r.content_type = fb_xstrdup (FB_GRPC_RAW);
  size_t n = 0;
  const char *p = fb_value_as_string (body, &n);
  set_body (&m->r, p, n);
  return new_response (th, m);
}

/* grpc_error(code="UNAVAILABLE" or 14, message=""): the status the call ends with. */
static fb_value *
b_grpc_error (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *code;
  const char *message = "";
  if (fb_star_unpack (th, "grpc_error", a, "code", &code, "message?:s", &message, NULL) < 0)
    return NULL;
  int64_t n = -1;
  if (fb_value_type_of (code) == FB_V_STRING)
    n = fb_grpc_code (fb_value_as_string (code, NULL));
  else if (fb_value_type_of (code) == FB_V_INT)
    fb_value_as_int64 (code, &n);
  if (n < 0 || n > 16)
    {
      _cleanup_free_ char *shown = fb_value_type_of (code) == FB_V_STRING
                                       ? fb_xasprintf ("\"%s\"", fb_value_as_string (code, NULL))
                                       : fb_value_str (th, code);
      return fb_star_errorf (th, "grpc_error: unknown gRPC status code %s (%s, or their numbers 0-16)", shown,
                             fb_grpc_code_names ());
    }
  mock_resp *m = FB_NEW (mock_resp);
  m->r.status = (int) n;
  m->r.content_type = fb_xstrdup ("application/grpc");
  set_body (&m->r, message, strlen (message));
  return new_response (th, m);
}

/* grpc_typed_response(body={...}): the dict as JSON, encoded per call as
 * the method's output message of the mock's descriptors=. */
static fb_value *
b_grpc_typed_response (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *body = NULL;
  if (fb_star_unpack (th, "grpc_typed_response", a, "body?", &body, NULL) < 0)
    return NULL;
  _cleanup_free_ char *json = body && body != fb_none () ? fb_star_json_encode (th, body) : fb_xstrdup ("{}");
  if (!json)
    return NULL;
  mock_resp *m = FB_NEW (mock_resp);
  m->r.content_type = fb_xstrdup (FB_GRPC_TYPED);
  set_body (&m->r, json, strlen (json));
  return new_response (th, m);
}

/* ---- mock_service -------------------------------------------------------- */

static void
copy_response (fb_mock_response *dst, const fb_mock_response *src)
{
  *dst = (fb_mock_response) { .status = src->status, .body_len = src->body_len };
  dst->body = fb_xmemdup0 (src->body ? src->body : "", src->body_len);
  dst->content_type = src->content_type ? fb_xstrdup (src->content_type) : NULL;
  dst->headers = fb_xcalloc (src->n_headers + 1, sizeof *dst->headers);
  for (size_t i = 0; i < src->n_headers; i++)
    dst->headers[dst->n_headers++] = (fb_kv) { fb_xstrdup (src->headers[i].key),
                                               fb_xstrdup (src->headers[i].value) };
}

/* An HTTP route key: "METHOD /path" (METHOD letters or "*"), its OpenAPI
 * "{param}" segments made "*" as Faultbox does. NULL after raising. */
static char *
http_route (fb_star_thread *th, const char *svc, const char *key)
{
  size_t ml = strcspn (key, " ");
  bool any = ml == 1 && key[0] == '*', method_ok = ml > 0;
  for (size_t i = 0; i < ml && !any; i++)
    method_ok &= isalpha ((unsigned char) key[i]) != 0;
  const char *path = key[ml] ? key + ml + 1 : "";
  if (!method_ok || path[0] != '/' || strpbrk (path, " \t\r\n?#"))
    {
      fb_star_errorf (th, "mock_service %s: route \"%s\" is not \"METHOD /path\" (e.g. \"GET /users/*\", "
                          "\"* /health\"; * is one path segment, ** any number)", svc, key);
      return NULL;
    }
  fb_buf b = FB_BUF_INIT;
  fb_buf_append (&b, key, ml + 1);
  for (const char *p = path; *p; p++)
    if (*p == '{' && strchr (p, '}'))
      {
        fb_buf_putc (&b, '*');
        p = strchr (p, '}');
      }
    else
      fb_buf_putc (&b, *p);
  return fb_buf_steal (&b);
}

/* A route's or default='s response into the table; dynamic() handlers are
 * kept by the spec and numbered. */
static int
take_response (fb_star_thread *th, fb_spec *sp, const char *svc, const char *what, fb_value *v,
               fb_mock_response *dst, unsigned *dynamic)
{
  fb_value *fn;
  const fb_mock_response *r = spec_mock_response (v, &fn);
  if (!r)
    {
      fb_star_errorf (th, "mock_service %s: %s must be a mock_response (json_response(), text_response(), ...), got %s",
                      svc, what, fb_value_type_name (v));
      return -1;
    }
  if (fn && !dynamic)
    {
      fb_star_errorf (th, "mock_service %s: default response cannot be dynamic() — use a static response", svc);
      return -1;
    }
  if (fn)
    {
      sp->mock_fns = fb_xreallocarray (sp->mock_fns, sp->n_mock_fns + 1, sizeof *sp->mock_fns);
      sp->mock_fns[sp->n_mock_fns++] = fn;
      *dynamic = (unsigned) sp->n_mock_fns;
      return 0;
    }
  copy_response (dst, r);
  return 0;
}

static int
take_routes (fb_star_thread *th, fb_spec *sp, const char *svc, fb_mock_iface *f, fb_value *routes)
{
  if (fb_value_type_of (routes) != FB_V_DICT)
    {
      fb_star_errorf (th, "mock_service %s: routes must be a dict of pattern to response, got %s", svc,
                      fb_value_type_name (routes));
      return -1;
    }
  bool http = !strcmp (f->protocol, "http") || !strcmp (f->protocol, "http2");
  fb_value *k, *v;
  for (size_t i = 0; fb_dict_entry (routes, i, &k, &v); i++)
    {
      const char *key = fb_value_type_of (k) == FB_V_STRING ? fb_value_as_string (k, NULL) : NULL;
      if (!key || !*key)
        {
          fb_star_errorf (th, "mock_service %s: route keys must be non-empty strings, got %s", svc,
                          key ? "\"\"" : fb_value_type_name (k));
          return -1;
        }
      if (!strcmp (f->protocol, "grpc") && key[0] != '/')
        {
          fb_star_errorf (th, "mock_service %s: route \"%s\" is not a gRPC method path (e.g. "
                              "\"/pkg.Service/Method\", \"/pkg.Service/*\", \"/**\")", svc, key);
          return -1;
        }
      char *pattern = http ? http_route (th, svc, key) : fb_xstrdup (key);
      if (!pattern)
        return -1;
      f->routes = fb_xreallocarray (f->routes, f->n_routes + 1, sizeof *f->routes);
      fb_mock_route *r = &f->routes[f->n_routes++];
      *r = (fb_mock_route) { .pattern = pattern };
      _cleanup_free_ char *what = fb_xasprintf ("route \"%s\"", key);
      if (take_response (th, sp, svc, what, v, &r->resp, &r->dynamic) < 0)
        return -1;
    }
  return 0;
}

/* kafka's config["partitions"]: each topic's, a positive int. */
static int
take_partitions (fb_star_thread *th, const char *svc, fb_mock_iface *f, fb_value *config)
{
  fb_value *n = fb_dict_get_str (config, "partitions");
  int64_t v = 1;
  if (n && n != fb_none () && (!fb_value_as_int64 (n, &v) || v < 1 || v > 1024))
    {
      _cleanup_free_ char *got = fb_value_str (th, n);
      fb_star_errorf (th, "mock_service %s: config[\"partitions\"] must be an int from 1 to 1024 (got %s)", svc, got);
      return -1;
    }
  f->partitions = (int) v;
  return 0;
}

/* config={"state": {...}}: the redis mock's seed (values as str());
 * config={"collections": {name: [doc, ...]}}: the mongodb mock's (each
 * list as its JSON text); kafka's config={"topics": {...}, "partitions": N}:
 * its topics (their seed messages ignored, as Faultbox's kfake does). */
static int
take_config (fb_star_thread *th, const char *svc, fb_mock_iface *f, fb_value *config)
{
  if (fb_value_type_of (config) != FB_V_DICT)
    {
      fb_star_errorf (th, "mock_service %s: config must be a dict (got %s)", svc, fb_value_type_name (config));
      return -1;
    }
  bool json = !strcmp (f->protocol, "mongodb"), kafka = !strcmp (f->protocol, "kafka");
  if (kafka && take_partitions (th, svc, f, config) < 0)
    return -1;
  const char *key = json ? "collections" : kafka ? "topics" : "state";
  fb_value *state = fb_dict_get_str (config, key), *k, *v;
  if (!state || state == fb_none ())
    return 0;
  if (fb_value_type_of (state) != FB_V_DICT)
    {
      fb_star_errorf (th, "mock_service %s: config[\"%s\"] must be a dict (got %s)", svc, key,
                      fb_value_type_name (state));
      return -1;
    }
  for (size_t i = 0; fb_dict_entry (state, i, &k, &v); i++)
    {
      char *val = json ? fb_star_json_encode (th, v)
                  : fb_value_type_of (v) == FB_V_STRING ? fb_xstrdup (fb_value_as_string (v, NULL))
                                                        : fb_value_str (th, v);
      if (!val)
        return -1;
      f->state = fb_xreallocarray (f->state, f->n_state + 1, sizeof *f->state);
      f->state[f->n_state++] = (fb_kv) {
        fb_value_type_of (k) == FB_V_STRING ? fb_xstrdup (fb_value_as_string (k, NULL)) : fb_value_str (th, k), val
      };
    }
  return 0;
}

typedef struct {
  fb_value *routes, *dflt, *config, *deps, *tls, *openapi, *examples, *overrides, *validate, *descriptors;
} mock_kwargs;

static bool
typed (const fb_mock_response *r)
{
  return r->content_type && !strcmp (r->content_type, FB_GRPC_TYPED);
}

/* A static typed response of an exact method is encoded now, so a body
 * that does not fit its type fails at its line, as in Faultbox. */
static int
check_typed (fb_star_thread *th, const char *svc, const fb_pb_set *set, const fb_mock_route *r)
{
  const char *type;
  fb_error e = { 0 };
  _cleanup_buf_ fb_buf wire = FB_BUF_INIT;
  if (r->dynamic || !typed (&r->resp) || strchr (r->pattern, '*'))
    return 0;
  if (fb_pb_method_output (set, r->pattern, &type, &e) < 0
      || fb_pb_encode_json (set, type, r->resp.body, &wire, &e) < 0)
    {
      fb_star_errorf (th, "mock_service %s: route \"%s\": %s", svc, r->pattern, e.msg);
      return -1;
    }
  return 0;
}

/* descriptors="x.pb": the set's bytes go to the mock server with the
 * table; read and checked here. Without it, no typed response. */
static int
take_descriptors (fb_star_thread *th, const char *svc, fb_mock_iface *f, fb_value *path)
{
  bool given = path && path != fb_none ();
  if (!given)
    {
      for (size_t i = 0; i < f->n_routes; i++)
        if (!f->routes[i].dynamic && typed (&f->routes[i].resp))
          {
            fb_star_errorf (th, "mock_service %s: route \"%s\": grpc_typed_response needs descriptors= "
                                "(a FileDescriptorSet: protoc --include_imports --descriptor_set_out=FILE)",
                            svc, f->routes[i].pattern);
            return -1;
          }
      if (f->has_default && typed (&f->dflt))
        {
          fb_star_errorf (th, "mock_service %s: default: grpc_typed_response needs descriptors= "
                              "(a FileDescriptorSet: protoc --include_imports --descriptor_set_out=FILE)", svc);
          return -1;
        }
      return 0;
    }
  if (fb_value_type_of (path) != FB_V_STRING || strcmp (f->protocol, "grpc"))
    {
      fb_star_errorf (th, "mock_service %s: descriptors= is the path of a FileDescriptorSet for a grpc interface%s",
                      svc, strcmp (f->protocol, "grpc") ? "" : " (a string)");
      return -1;
    }
  const char *p = fb_value_as_string (path, NULL);
  _cleanup_buf_ fb_buf data = FB_BUF_INIT;
  if (spec_read_data (th, "descriptors", p, &data) < 0)
    return -1;
  fb_pb_set *set;
  fb_error e = { 0 };
  if (fb_pb_set_parse (data.data, data.len, &set, &e) < 0)
    {
      fb_star_errorf (th, "mock_service %s: descriptors \"%s\": %s", svc, p, e.msg);
      return -1;
    }
  int rc = 0;
  for (size_t i = 0; i < f->n_routes && rc == 0; i++)
    rc = check_typed (th, svc, set, &f->routes[i]);
  fb_pb_set_free (set);
  f->descriptors_len = data.len;
  f->descriptors = fb_buf_steal (&data);
  return rc;
}

/* The interfaces' tables; the per-interface keywords need exactly one. */
static int
build_tables (fb_star_thread *th, fb_spec *sp, fb_plan_service *sv, const mock_kwargs *kw)
{
  fb_mock_config *c = sv->mock = FB_NEW (fb_mock_config);
  c->ifaces = fb_xcalloc (sv->n_ifaces + 1, sizeof *c->ifaces);
  for (size_t i = 0; i < sv->n_ifaces; i++, c->n_ifaces++)
    {
      const fb_plan_interface *pi = &sv->ifaces[i];
      const fb_protocol *p = fb_protocol_find (pi->protocol);
      if (!p || !p->mock)
        {
          fb_star_errorf (th, "mock_service %s: protocol \"%s\" does not support mock_service() yet (http, http2, grpc, redis, mongodb, tcp and udp do)",
                          sv->name, pi->protocol);
          return -1;
        }
      c->ifaces[i] = (fb_mock_iface) { .name = fb_xstrdup (pi->name), .protocol = fb_xstrdup (pi->protocol),
                                       .port = pi->port };
    }
  bool descriptors = kw->descriptors && kw->descriptors != fb_none ();
  if ((kw->routes || kw->dflt || kw->config || descriptors) && sv->n_ifaces != 1)
    {
      fb_star_errorf (th, "mock_service %s: mock_service has %zu interfaces, disambiguation required "
                          "(routes=, default=, config= and descriptors= need exactly one)", sv->name, sv->n_ifaces);
      return -1;
    }
  fb_mock_iface *f = &c->ifaces[0];
  if (kw->routes && kw->routes != fb_none () && take_routes (th, sp, sv->name, f, kw->routes) < 0)
    return -1;
  if (kw->dflt && kw->dflt != fb_none ())
    {
      if (take_response (th, sp, sv->name, "default", kw->dflt, &f->dflt, NULL) < 0)
        return -1;
      f->has_default = true;
    }
  if (kw->config && kw->config != fb_none () && take_config (th, sv->name, f, kw->config) < 0)
    return -1;
  return take_descriptors (th, sv->name, f, kw->descriptors);
}

/* The run's mock CA, made once. Its certificate goes where Faultbox puts
 * it, under $TMPDIR, in a directory of its own: the runner binds that into
 * every service, so a service given the mock's .ca_path can read it. */
static int
mock_ca (fb_star_thread *th, fb_spec *sp, const char *svc)
{
  if (sp->mock_ca_path)
    return 0;
  fb_error e = { 0 };
  if (fb_tls_make_ca (&sp->mock_ca, &e) < 0)
    {
      fb_star_errorf (th, "mock_service %s: %s", svc, e.msg);
      return -1;
    }
  const char *tmp = getenv ("TMPDIR");
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  _cleanup_free_ char *dir = fb_xasprintf ("%s/faultbox-ca-%lld", tmp && *tmp ? tmp : "/tmp",
                                           (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec);
  _cleanup_free_ char *path = fb_xasprintf ("%s/ca.pem", dir);
  int fd = mkdir (dir, 0755) < 0 ? -1 : open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  size_t len = strlen (sp->mock_ca.cert);
  bool ok = fd >= 0 && write (fd, sp->mock_ca.cert, len) == (ssize_t) len;
  int saved = errno;
  if (fd >= 0)
    close (fd);
  if (!ok)
    {
      fb_star_errorf (th, "mock_service %s: cannot write the mock CA to %s: %s", svc, path, strerror (saved));
      unlink (path);
      rmdir (dir);
      fb_tls_pair_clear (&sp->mock_ca);
      return -1;
    }
  sp->mock_ca_path = steal_pointer (&path);
  sp->mock_ca_owner = getpid ();
  return 0;
}

/* tls=True: every interface serves TLS with a certificate the run's CA
 * signs for localhost, the mock's name, 127.0.0.1 and ::1 (Faultbox's). */
static int
mock_tls (fb_star_thread *th, fb_spec *sp, fb_plan_service *sv, fb_value *tls)
{
  if (!tls || tls == fb_none ())
    return 0;
  if (fb_value_type_of (tls) != FB_V_BOOL)
    {
      fb_star_errorf (th, "mock_service %s: tls= must be a bool (got %s)", sv->name, fb_value_type_name (tls));
      return -1;
    }
  if (!fb_value_truth (tls))
    return 0;
  fb_mock_config *c = sv->mock;
  for (size_t i = 0; i < c->n_ifaces; i++)
    if (strcmp (c->ifaces[i].protocol, "http") && strcmp (c->ifaces[i].protocol, "http2")
        && strcmp (c->ifaces[i].protocol, "grpc"))
      {
        fb_star_errorf (th, "mock_service %s: tls=True is supported on http, http2 and grpc interfaces "
                            "(interface \"%s\" is %s)", sv->name, c->ifaces[i].name, c->ifaces[i].protocol);
        return -1;
      }
  if (mock_ca (th, sp, sv->name) < 0)
    return -1;
  const char *const names[] = { "localhost", sv->name, "127.0.0.1", "::1", NULL };
  fb_tls_pair leaf;
  fb_error e = { 0 };
  if (fb_tls_make_leaf (&sp->mock_ca, names, &leaf, &e) < 0)
    {
      fb_star_errorf (th, "mock_service %s: %s", sv->name, e.msg);
      return -1;
    }
  for (size_t i = 0; i < c->n_ifaces; i++)
    c->ifaces[i].tls = (fb_tls_pair) { fb_xstrdup (leaf.cert), fb_xstrdup (leaf.key) };
  fb_tls_pair_clear (&leaf);
  return 0;
}

/* faultbox itself, in its mock server mode, pointed at the hub; ready
 * when its first interface accepts (all listen before any is served). */
static int
mock_process (fb_star_thread *th, fb_plan_service *sv)
{
  char exe[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  if (n < 0)
    {
      fb_star_errorf (th, "mock_service %s: cannot find the faultbox executable: %s", sv->name, strerror (errno));
      return -1;
    }
  exe[n] = '\0';
  sv->binary = fb_xstrdup (exe);
  sv->args = fb_xcalloc (3, sizeof *sv->args);
  sv->args[sv->n_args++] = fb_xstrdup ("__mock");
  sv->args[sv->n_args++] = fb_xstrdup (sv->name);
  sv->env = fb_xcalloc (1, sizeof *sv->env);
  sv->env[sv->n_env++] = fb_xasprintf ("%s=faultbox-worker:%d", FB_MOCK_HUB_ENV, FB_MOCK_HUB_PORT);
  sv->hc = (fb_plan_healthcheck) { .kind = FB_HC_TCP, .protocol = fb_xstrdup ("tcp"),
                                   .host = fb_xstrdup ("localhost"), .port = sv->ifaces[0].port,
                                   .path = fb_xstrdup ("/"), .timeout_ns = 10 * (int64_t) 1000000000 };
  return 0;
}

static fb_value *
b_mock_service (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_spec *sp = spec_of (th);
  const char *name = spec_service_name (th, sp, "mock_service", a);
  if (!name)
    return NULL;
  mock_kwargs kw = { 0 };
  fb_star_args kwonly = { 0, NULL, a->nkw, a->kwnames, a->kwvals };
  if (fb_star_unpack (th, "mock_service", &kwonly, "routes?", &kw.routes, "default?", &kw.dflt, "config?",
                      &kw.config, "depends_on?", &kw.deps, "tls?", &kw.tls, "openapi?", &kw.openapi, "examples?",
                      &kw.examples, "overrides?", &kw.overrides, "validate?", &kw.validate, "descriptors?",
                      &kw.descriptors, NULL) < 0)
    return NULL;
  if (spec_unsupported (th, "mock_service", name, "openapi", kw.openapi, true) < 0
      || spec_unsupported (th, "mock_service", name, "overrides", kw.overrides, true) < 0)
    return NULL;
  fb_plan_service *sv = FB_NEW (fb_plan_service);
  sv->name = fb_xstrdup (name);
  int rc = 0;
  for (size_t i = 1; i < a->npos && rc >= 0; i++)
    if ((rc = spec_service_iface (th, sv, a->pos[i])) == 0)
      rc = -1, fb_star_errorf (th, "mock_service() positional arg %zu must be interface() (got %s)", i,
                               fb_value_type_name (a->pos[i]));
  if (rc >= 0 && !sv->n_ifaces)
    rc = -1, fb_star_errorf (th, "mock_service() \"%s\" requires at least one interface", name);
  if (rc < 0 || build_tables (th, sp, sv, &kw) < 0 || mock_tls (th, sp, sv, kw.tls) < 0 || mock_process (th, sv) < 0
      || (kw.deps && spec_service_deps (th, sp, sv, kw.deps) < 0))
    {
      fb_plan tmp = { sv, 1 };
      fb_plan_free (&tmp);
      return NULL;
    }
  return spec_service_register (th, sp, sv);
}

void
spec_predeclare_mocks (fb_spec *s)
{
  static const spec_builtin fns[] = {
    { "mock_service", b_mock_service }, { "json_response", b_json_response },
    { "text_response", b_text_response }, { "bytes_response", b_bytes_response },
    { "status_only", b_status_only }, { "redirect", b_redirect }, { "dynamic", b_dynamic },
    { "grpc_response", b_grpc_response }, { "grpc_raw_response", b_grpc_raw_response },
    { "grpc_error", b_grpc_error }, { "grpc_typed_response", b_grpc_typed_response },
  };
  spec_predeclare_all (s, fns, sizeof fns / sizeof *fns);
}
