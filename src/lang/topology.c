/* The topology builtins: service(), interface(), tcp(), http(), ready(), op() and
 * the host values they return. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>

#include "faultbox/image.h"
#include "faultbox/protocol.h"
#include "lang/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "faultbox/buf.h"
#include "util/parse.h"
#include "util/suggest.h"

/* ---- host types -------------------------------------------------------- */

typedef struct {
  char *name, *protocol;
  int port;
} iface_decl;

static void
iface_decl_free (void *p)
{
  iface_decl *d = p;
  free (d->name);
  free (d->protocol);
  free (d);
}

static char *
iface_decl_repr (fb_value *self)
{
  iface_decl *d = fb_host_data (self, &spec_iface_decl_type);
  return fb_xasprintf ("interface(%s, %s, %d)", d->name, d->protocol, d->port);
}

const fb_host_type spec_iface_decl_type = {
  .name = "interface", .repr = iface_decl_repr, .destroy = iface_decl_free,
};

static void
hc_free (void *p)
{
  fb_plan_healthcheck *h = p;
  free (h->protocol);
  free (h->host);
  free (h->path);
  free (h);
}

const fb_host_type spec_healthcheck_type = { .name = "healthcheck", .destroy = hc_free };

static void
op_free (void *p)
{
  fb_plan_op *o = p;
  free (o->name);
  for (size_t i = 0; i < o->n_syscalls; i++)
    free (o->syscalls[i]);
  free (o->syscalls);
  free (o->path);
  free (o);
}

const fb_host_type spec_op_type = { .name = "op", .destroy = op_free };

/* The interface a service's shorthand steps and ready() use: its only
 * one, or the one named "default"; n_ifaces when there is none. */
static size_t
default_iface (const fb_plan_service *s)
{
  size_t which = s->n_ifaces;
  if (s->n_ifaces == 1)
    which = 0;
  for (size_t i = 0; i < s->n_ifaces; i++)
    if (!strcmp (s->ifaces[i].name, "default"))
      which = i;
  return which;
}

static const char *const service_attrs[] = { "name", "ca_path", "get", "post", "put",
                                             "delete", "patch", "send", NULL };

static fb_value *
service_attr (fb_star_thread *th, fb_value *self, const char *name)
{
  service_ref *r = fb_host_data (self, &spec_service_type);
  const fb_plan_service *s = &r->spec->plan.services[r->svc];
  if (!strcmp (name, "name"))
    return fb_string (th, s->name);
  /* a TLS mock's: the file of the run's CA that signed its certificate */
  if (!strcmp (name, "ca_path") && s->mock && s->mock->ifaces[0].tls.cert)
    return fb_string (th, r->spec->mock_ca_path);
  for (size_t i = 0; i < s->n_ifaces; i++)
    if (!strcmp (s->ifaces[i].name, name))
      {
        iface_ref *ir = FB_NEW (iface_ref);
        *ir = (iface_ref) { r->spec, r->svc, i };
        return fb_host_new (th, &spec_iface_ref_type, ir);
      }
  /* step methods on a service with a single (or "default") interface */
  size_t which = default_iface (s);
  if (which < s->n_ifaces)
    {
      iface_ref ir = { r->spec, r->svc, which };
      return spec_iface_attr (th, &ir, name);
    }
  return NULL;
}

static char *
service_repr (fb_value *self)
{
  service_ref *r = fb_host_data (self, &spec_service_type);
  return fb_xasprintf ("<service %s>", r->spec->plan.services[r->svc].name);
}

static bool
same_ref (fb_value *a, fb_value *b)
{
  service_ref *x = fb_host_data (a, &spec_service_type);
  service_ref *y = fb_host_data (b, &spec_service_type);
  return x && y && x->svc == y->svc;
}

const fb_host_type spec_service_type = {
  .name = "service", .attr = service_attr, .attr_names = service_attrs,
  .repr = service_repr, .destroy = free, .equal = same_ref,
};

static fb_value *
iface_ref_attr (fb_star_thread *th, fb_value *self, const char *name)
{
  return spec_iface_attr (th, fb_host_data (self, &spec_iface_ref_type), name);
}

static char *
iface_ref_repr (fb_value *self)
{
  iface_ref *r = fb_host_data (self, &spec_iface_ref_type);
  const fb_plan_service *s = &r->spec->plan.services[r->svc];
  return fb_xasprintf ("<interface %s.%s %s:%d>", s->name, s->ifaces[r->iface].name,
                       s->ifaces[r->iface].protocol, s->ifaces[r->iface].port);
}

static const char *const iface_attrs[] = { "name", "protocol", "port", "host",
                                           "addr", "internal_addr", "proxy_addr",
                                           "proxy_host", "proxy_port", "get",
                                           "post", "put", "delete", "patch",
                                           "send", "set", "del", "keys", "ping",
                                           "incr", "lpush", "rpush", "lrange",
                                           "command", "query", "exec",
                                           "call", "publish", "request", "subscribe", "consume", "declare",
                                           "send_no_reply", "find", "insert", "insert_many", "update", "count", NULL };

const fb_host_type spec_iface_ref_type = {
  .name = "interface_ref", .attr = iface_ref_attr, .attr_names = iface_attrs,
  .repr = iface_ref_repr, .destroy = free,
};

ssize_t
spec_service_arg (fb_star_thread *th, const char *fname, fb_value *v)
{
  service_ref *r = fb_host_data (v, &spec_service_type);
  if (r)
    return (ssize_t) r->svc;
  iface_ref *ir = fb_host_data (v, &spec_iface_ref_type);
  if (ir)
    return (ssize_t) ir->svc;
  fb_star_errorf (th, "%s: got %s, want a service", fname,
                  fb_value_type_name (v));
  return -1;
}

/* ---- builtins ---------------------------------------------------------- */

static fb_value *
b_interface (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  const char *name, *protocol;
  int64_t port;
  fb_value *spec = NULL, *tls = NULL;
  if (fb_star_unpack (th, "interface", a, "name:s", &name, "protocol:s",
                      &protocol, "port:i", &port, "spec?", &spec, "tls?", &tls,
                      NULL) < 0)
    return NULL;
  if (spec_unsupported (th, "interface", name, "spec", spec, true) < 0
      || spec_unsupported (th, "interface", name, "tls", tls, true) < 0)
    return NULL;
  const char *missing = fb_protocol_missing (protocol);
  if (missing)
    return fb_star_errorf (th, "interface %s: protocol \"%s\" is not supported yet: %s", name, protocol, missing);
  if (!fb_protocol_find (protocol))
    return fb_star_errorf (th, "interface %s: protocol \"%s\" is not supported (%s)",
                           name, protocol, fb_protocol_names ());
  if (port < 1 || port > 65535)
    return fb_star_errorf (th, "interface %s: port %lld out of range (1-65535)",
                           name, (long long) port);
  if (!*name)
    return fb_star_errorf (th, "interface: empty name");
  iface_decl *d = FB_NEW (iface_decl);
  d->name = fb_xstrdup (name);
  d->protocol = fb_xstrdup (protocol);
  d->port = (int) port;
  return fb_host_new (th, &spec_iface_decl_type, d);
}

static int
parse_timeout (fb_star_thread *th, const char *fname, const char *s,
               int64_t *out)
{
  fb_error e = { 0 };
  if (fb_parse_duration (s, out, &e) < 0 || *out <= 0)
    {
      fb_star_errorf (th, "%s: timeout: %s", fname,
                      e.msg[0] ? e.msg : "must be positive");
      return -1;
    }
  return 0;
}

/* "localhost:8080/health" or "http://localhost:8080/health"; tcp(),
 * http() and kafka_ready() (its protocol's readiness: a Metadata answer) */
static fb_value *
make_healthcheck (fb_star_thread *th, const fb_star_args *a, const char *fname)
{
  bool http = !strcmp (fname, "http");
  const char *addr, *timeout = strcmp (fname, "kafka") ? "10s" : "120s";
  _cleanup_free_ char *shown = fb_xasprintf ("%s%s", fname, strcmp (fname, "kafka") ? "" : "_ready");
  if (fb_star_unpack (th, shown, a, http ? "url:s" : "addr:s", &addr,
                      "timeout?:s", &timeout, NULL) < 0)
    return NULL;
  const char *p = addr;
  _cleanup_free_ char *scheme = fb_xasprintf ("%s://", fname);
  if (!strncmp (p, scheme, strlen (scheme)))
    p += strlen (scheme);
  fname = shown;
  const char *colon = strchr (p, ':');
  if (!colon)
    return fb_star_errorf (th, "%s: \"%s\" has no port (want host:port%s)", fname,
                           addr, http ? "/path" : "");
  const char *slash = strchr (colon, '/');
  char portbuf[16];
  size_t plen = slash ? (size_t) (slash - colon - 1) : strlen (colon + 1);
  long long port = 0;
  fb_error e = { 0 };
  if (plen == 0 || plen >= sizeof portbuf)
    return fb_star_errorf (th, "%s: bad port in \"%s\"", fname, addr);
  memcpy (portbuf, colon + 1, plen);
  portbuf[plen] = '\0';
  if (fb_parse_int (portbuf, 1, 65535, &port, &e) < 0)
    return fb_star_errorf (th, "%s: port in \"%s\": %s", fname, addr, e.msg);
  fb_plan_healthcheck *h = FB_NEW (fb_plan_healthcheck);
  h->kind = http ? FB_HC_HTTP : FB_HC_TCP;
  h->protocol = fb_xstrndup (fname, strcspn (fname, "_"));
  h->host = fb_xstrndup (p, (size_t) (colon - p));
  h->port = (int) port;
  h->path = fb_xstrdup (slash ? slash : "/");
  if (parse_timeout (th, fname, timeout, &h->timeout_ns) < 0)
    {
      hc_free (h);
      return NULL;
    }
  return fb_host_new (th, &spec_healthcheck_type, h);
}

/* ready(timeout="30s"): the protocol of the service's default interface
 * spoken to it (redis PING, postgres SELECT 1, http GET /, else a TCP
 * connect), with the credentials of its env; resolved by service(). */
static fb_value *
b_ready (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  const char *timeout = "30s";
  if (a->npos)
    return fb_star_errorf (th, "ready: takes no positional arguments (want ready(timeout=\"30s\"))");
  if (fb_star_unpack (th, "ready", a, "timeout?:s", &timeout, NULL) < 0)
    return NULL;
  fb_plan_healthcheck *h = FB_NEW (fb_plan_healthcheck);
  h->kind = FB_HC_READY;
  h->host = fb_xstrdup ("localhost");
  h->path = fb_xstrdup ("/");
  if (parse_timeout (th, "ready", timeout, &h->timeout_ns) < 0)
    {
      hc_free (h);
      return NULL;
    }
  return fb_host_new (th, &spec_healthcheck_type, h);
}

static fb_value *
b_tcp (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return make_healthcheck (th, a, "tcp");
}

static fb_value *
b_http (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return make_healthcheck (th, a, "http");
}

static fb_value *
b_kafka_ready (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return make_healthcheck (th, a, "kafka");
}

static fb_value *
b_op (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *syscalls;
  const char *path = NULL;
  if (fb_star_unpack (th, "op", a, "syscalls", &syscalls, "path?:s", &path,
                      NULL) < 0)
    return NULL;
  long n = fb_value_len (syscalls);
  if (fb_value_type_of (syscalls) != FB_V_LIST || n < 1)
    return fb_star_errorf (th, "op: syscalls must be a non-empty list of syscall names");
  fb_plan_op *o = FB_NEW (fb_plan_op);
  o->syscalls = fb_xcalloc ((size_t) n + 1, sizeof *o->syscalls);
  for (long i = 0; i < n; i++)
    {
      const char *sc = fb_value_as_string (fb_value_at (syscalls, (size_t) i), NULL);
      char **fam = NULL;
      fb_error e = { 0 };
      if (!sc || fb_syscall_family (sc, &fam, &e) < 0)
        {
          op_free (o);
          return fb_star_errorf (th, "op: %s", sc ? e.msg : "syscalls must be strings");
        }
      fb_strv_free (fam);
      o->syscalls[o->n_syscalls++] = fb_xstrdup (sc);
    }
  o->path = path ? fb_xstrdup (path) : NULL;
  return fb_host_new (th, &spec_op_type, o);
}

static char *
service_decl_pos (fb_star_thread *th)
{
  const char *file;
  int line, col;
  fb_star_call_position (th, &file, &line, &col);
  return fb_xasprintf ("%s:%d:%d", file, line, col);
}

static int
add_env (fb_star_thread *th, fb_plan_service *s, fb_value *env)
{
  if (fb_value_type_of (env) != FB_V_DICT)
    {
      fb_star_errorf (th, "service %s: env must be a dict of strings", s->name);
      return -1;
    }
  fb_value *k, *v;
  for (size_t i = 0; fb_dict_entry (env, i, &k, &v); i++)
    {
      const char *ks = fb_value_as_string (k, NULL);
      if (!ks || fb_value_type_of (k) != FB_V_STRING || !*ks || strchr (ks, '='))
        {
          fb_star_errorf (th, "service %s: env key must be a non-empty string without '='",
                          s->name);
          return -1;
        }
      char *val = fb_value_type_of (v) == FB_V_STRING
                      ? fb_xstrdup (fb_value_as_string (v, NULL))
                      : fb_value_str (th, v);
      s->env = fb_xreallocarray (s->env, s->n_env + 1, sizeof *s->env);
      s->env[s->n_env++] = fb_xasprintf ("%s=%s", ks, val);
      free (val);
    }
  return 0;
}

int
spec_service_deps (fb_star_thread *th, fb_spec *sp, fb_plan_service *s, fb_value *deps)
{
  fb_value_type t = fb_value_type_of (deps);
  if (t != FB_V_LIST && t != FB_V_TUPLE)
    {
      fb_star_errorf (th, "service %s: depends_on must be a list of services", s->name);
      return -1;
    }
  for (long i = 0; i < fb_value_len (deps); i++)
    {
      fb_value *d = fb_value_at (deps, (size_t) i);
      ssize_t idx = -1;
      const char *name = fb_value_as_string (d, NULL);
      if (name && fb_value_type_of (d) == FB_V_STRING)
        {
          idx = fb_plan_find_service (&sp->plan, name);
          if (idx < 0)
            {
              const char **names = fb_xcalloc (sp->plan.n_services + 1, sizeof *names);
              for (size_t k = 0; k < sp->plan.n_services; k++)
                names[k] = sp->plan.services[k].name;
              const char *sug = fb_suggest (name, names, sp->plan.n_services);
              fb_star_errorf (th, "service %s: depends_on: unknown service \"%s\"%s%s%s (services are declared before they are depended on)",
                              s->name, name, sug ? " (did you mean " : "",
                              sug ? sug : "", sug ? "?)" : "");
              free (names);
              return -1;
            }
        }
      else if ((idx = spec_service_arg (th, "depends_on", d)) < 0)
        return -1;
      s->deps = fb_xreallocarray (s->deps, s->n_deps + 1, sizeof *s->deps);
      s->deps[s->n_deps++] = (size_t) idx;
    }
  return 0;
}

static int
add_ops (fb_star_thread *th, fb_plan_service *s, fb_value *ops)
{
  if (fb_value_type_of (ops) != FB_V_DICT)
    {
      fb_star_errorf (th, "service %s: ops must be a dict of op() values", s->name);
      return -1;
    }
  fb_value *k, *v;
  for (size_t i = 0; fb_dict_entry (ops, i, &k, &v); i++)
    {
      fb_plan_op *o = fb_host_data (v, &spec_op_type);
      const char *name = fb_value_as_string (k, NULL);
      if (!o || !name)
        {
          fb_star_errorf (th, "service %s: ops values must be op(...)", s->name);
          return -1;
        }
      s->ops = fb_xreallocarray (s->ops, s->n_ops + 1, sizeof *s->ops);
      fb_plan_op *c = &s->ops[s->n_ops++];
      c->name = fb_xstrdup (name);
      c->n_syscalls = o->n_syscalls;
      c->syscalls = fb_xcalloc (o->n_syscalls + 1, sizeof *c->syscalls);
      for (size_t j = 0; j < o->n_syscalls; j++)
        c->syscalls[j] = fb_xstrdup (o->syscalls[j]);
      c->path = o->path ? fb_xstrdup (o->path) : NULL;
    }
  return 0;
}

/* caps= / drop_caps=: capability names ("net_admin", "CAP_NET_ADMIN") or
 * "all", into a mask. */
static int
cap_mask (fb_star_thread *th, const fb_plan_service *s, const char *kw, fb_value *list, uint64_t *out)
{
  fb_value_type t = fb_value_type_of (list);
  if (t != FB_V_LIST && t != FB_V_TUPLE)
    {
      fb_star_errorf (th, "service %s: %s must be a list of capability names", s->name, kw);
      return -1;
    }
  for (long i = 0; i < fb_value_len (list); i++)
    {
      fb_value *v = fb_value_at (list, (size_t) i);
      const char *name = fb_value_type_of (v) == FB_V_STRING ? fb_value_as_string (v, NULL) : NULL;
      if (!name)
        {
          fb_star_errorf (th, "service %s: %s must be a list of capability names, got %s", s->name, kw,
                          fb_value_type_name (v));
          return -1;
        }
      int c = fb_cap_from_name (name);
      if (c >= 0)
        *out |= UINT64_C (1) << c;
      else if (!strcasecmp (name, "all"))
        *out |= fb_cap_all_mask ();
      else
        {
          const char *names[64];
          size_t n = 0;
          for (const char *cn; n < 63 && (cn = fb_cap_name ((int) n));)
            names[n++] = cn;
          names[n++] = "all";
          char low[64];
          size_t k = 0;
          const char *w = strncasecmp (name, "cap_", 4) ? name : name + 4;
          for (; w[k] && k < sizeof low - 1; k++)
            low[k] = (char) tolower ((unsigned char) w[k]);
          low[k] = '\0';
          const char *sug = fb_suggest (low, names, n);
          fb_star_errorf (th, "service %s: %s: unknown capability \"%s\"%s%s%s", s->name, kw, name,
                          sug ? " (did you mean " : "", sug ? sug : "", sug ? "?)" : "");
          return -1;
        }
    }
  return 0;
}

/* A path of the spec, relative to its directory; it must exist. */
static char *
spec_path (fb_star_thread *th, const fb_spec *sp, const fb_plan_service *s, const char *kw, const char *path,
           bool want_dir)
{
  char *abs = path[0] == '/' ? fb_xstrdup (path) : fb_xasprintf ("%s/%s", sp->dir, path);
  struct stat st;
  const char *why = stat (abs, &st) < 0                 ? strerror (errno)
                    : want_dir && !S_ISDIR (st.st_mode) ? "not a directory"
                                                        : NULL;
  if (why)
    {
      fb_star_errorf (th, "service %s: %s: %s: %s", s->name, kw, abs, why);
      free (abs);
      return NULL;
    }
  return abs;
}

/* volumes={"host path": "/in/service"} (read-only) or "/in/service:rw". */
static int
add_volumes (fb_star_thread *th, const fb_spec *sp, fb_plan_service *s, fb_value *vols)
{
  if (fb_value_type_of (vols) != FB_V_DICT)
    {
      fb_star_errorf (th, "service %s: volumes must be a dict of host path to path in the service", s->name);
      return -1;
    }
  fb_value *k, *v;
  for (size_t i = 0; fb_dict_entry (vols, i, &k, &v); i++)
    {
      const char *src = fb_value_type_of (k) == FB_V_STRING ? fb_value_as_string (k, NULL) : NULL;
      const char *dst = fb_value_type_of (v) == FB_V_STRING ? fb_value_as_string (v, NULL) : NULL;
      size_t dlen = dst ? strlen (dst) : 0;
      bool rw = dlen > 3 && !strcmp (dst + dlen - 3, ":rw");
      if (!src || !*src || !dst || dst[0] != '/')
        {
          fb_star_errorf (th, "service %s: volumes: want \"host path\": \"/absolute/path[:rw]\" strings", s->name);
          return -1;
        }
      char *abs = spec_path (th, sp, s, "volumes", src, false);
      if (!abs)
        return -1;
      s->volumes = fb_xreallocarray (s->volumes, s->n_volumes + 1, sizeof *s->volumes);
      s->volumes[s->n_volumes++] = (fb_plan_volume){ abs, fb_xstrndup (dst, rw ? dlen - 3 : dlen), rw };
    }
  return 0;
}

const char *
spec_service_name (fb_star_thread *th, const fb_spec *sp, const char *fname, const fb_star_args *a)
{
  const char *name = a->npos ? fb_value_as_string (a->pos[0], NULL) : NULL;
  ssize_t dup;
  if (a->npos < 1)
    fb_star_errorf (th, "%s: missing name", fname);
  else if (!name || fb_value_type_of (a->pos[0]) != FB_V_STRING)
    fb_star_errorf (th, "%s: name must be a string, got %s", fname, fb_value_type_name (a->pos[0]));
  else if (!fb_lab_valid_name (name))
    fb_star_errorf (th, "%s: invalid name \"%s\" (letters, digits, '-' and '_', at most 40)",
                    fname, name);
  else if ((dup = fb_plan_find_service (&sp->plan, name)) >= 0)
    fb_star_errorf (th, "%s: duplicate service name \"%s\" (first declared at %s)",
                    fname, name, sp->plan.services[dup].decl_pos);
  else
    return name;
  return NULL;
}

int
spec_service_iface (fb_star_thread *th, fb_plan_service *sv, fb_value *v)
{
  iface_decl *d = fb_host_data (v, &spec_iface_decl_type);
  if (!d)
    return 0;
  for (size_t j = 0; j < sv->n_ifaces; j++)
    if (!strcmp (sv->ifaces[j].name, d->name))
      {
        fb_star_errorf (th, "service %s: duplicate interface \"%s\"", sv->name, d->name);
        return -1;
      }
  sv->ifaces = fb_xreallocarray (sv->ifaces, sv->n_ifaces + 1, sizeof *sv->ifaces);
  sv->ifaces[sv->n_ifaces++] = (fb_plan_interface) { fb_xstrdup (d->name), fb_xstrdup (d->protocol), d->port };
  return 1;
}

/* The positional arguments after the name: interface(...) values and at
 * most one binary path, left in *binary. */
static int
add_positional (fb_star_thread *th, fb_plan_service *sv, const fb_star_args *a,
                const char **binary)
{
  for (size_t i = 1; i < a->npos; i++)
    {
      fb_value *v = a->pos[i];
      int added = spec_service_iface (th, sv, v);
      if (added < 0)
        return -1;
      if (added)
        continue;
      if (fb_value_type_of (v) == FB_V_STRING && !*binary)
        *binary = fb_value_as_string (v, NULL);
      else
        {
          fb_star_errorf (th, "service %s: unexpected positional argument of type %s (want the binary path and interface(...) values)",
                          sv->name, fb_value_type_name (v));
          return -1;
        }
    }
  return 0;
}

/* The binary, given by position or binary=: absolute or relative to the
 * spec's directory, or under rootfs= the root's own absolute path. */
static int
set_binary (fb_star_thread *th, const fb_spec *sp, fb_plan_service *sv, const char *binary,
            const char *kwbinary, const char *rootfs)
{
  if (binary && kwbinary)
    {
      fb_star_errorf (th, "service %s: binary given twice", sv->name);
      return -1;
    }
  if (!binary)
    binary = kwbinary;
  if (!binary || !*binary)
    {
      fb_star_errorf (th, "service %s: no binary (give service(\"%s\", \"/path/to/bin\", ...))",
                      sv->name, sv->name);
      return -1;
    }
  if (rootfs && binary[0] != '/')
    {
      fb_star_errorf (th, "service %s: with rootfs= the binary is the absolute path inside it, not \"%s\"",
                      sv->name, binary);
      return -1;
    }
  while (binary[0] == '.' && binary[1] == '/')
    binary += 2;
  sv->binary = binary[0] == '/' ? fb_xstrdup (binary)
                              : fb_xasprintf ("%s/%s", sp->dir, binary);
  /* a wrong path is the spec's error, told where it is, before any lab;
   * under rootfs= the binary is the root's own, found by its init */
  if (rootfs)
    return 0;
  fb_binpath bin;
  if (fb_binpath_resolve (sv->binary, &bin) < 0)
    {
      fb_star_errorf (th, "service %s: cannot execute %s: %s", sv->name, sv->binary, strerror (errno));
      return -1;
    }
  fb_binpath_clear (&bin);
  return 0;
}

static int
add_args (fb_star_thread *th, fb_plan_service *sv, fb_value *args)
{
  fb_value_type t = fb_value_type_of (args);
  if (t != FB_V_LIST && t != FB_V_TUPLE)
    {
      fb_star_errorf (th, "service %s: args must be a list of strings", sv->name);
      return -1;
    }
  sv->args = fb_xcalloc ((size_t) fb_value_len (args) + 1, sizeof *sv->args);
  for (long i = 0; i < fb_value_len (args); i++)
    {
      fb_value *x = fb_value_at (args, (size_t) i);
      sv->args[sv->n_args++] = fb_value_type_of (x) == FB_V_STRING
                               ? fb_xstrdup (fb_value_as_string (x, NULL))
                               : fb_value_str (th, x);
    }
  return 0;
}

/* ExposedPorts against the interfaces: a warning (an image_warning event
 * when the service starts), not an error. EXPOSE documents and opens
 * nothing; images listen on ports they do not declare, or are told another
 * by args= or env=, and refusing those would refuse specs that work. */
static void
image_port_warnings (fb_plan_service *sv, const fb_image *img)
{
  size_t nw = 0;
  for (size_t i = 0; img->exposed && i < sv->n_ifaces; i++)
    {
      bool found = false;
      fb_buf all = FB_BUF_INIT;
      for (char **e = img->exposed; *e; e++)
        {
          found |= atoi (*e) == sv->ifaces[i].port && (!strchr (*e, '/') || !strcmp (strchr (*e, '/'), "/tcp"));
          fb_buf_printf (&all, "%s%s", e == img->exposed ? "" : ", ", *e);
        }
      if (!found)
        {
          sv->warnings = fb_xreallocarray (sv->warnings, nw + 2, sizeof *sv->warnings);
          sv->warnings[nw++] = fb_xasprintf ("interface %s: port %d/tcp is not among the image's ExposedPorts (%s)",
                                             sv->ifaces[i].name, sv->ifaces[i].port, fb_buf_str (&all));
          sv->warnings[nw] = NULL;
        }
      fb_buf_free (&all);
    }
}

static size_t
strv_len (char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

/* argv is the image's Entrypoint then its Cmd, or args= in Cmd's place. */
static int
image_argv (fb_star_thread *th, fb_plan_service *sv, const fb_image *img, fb_value *args)
{
  if (args && add_args (th, sv, args) < 0)
    return -1;
  size_t ne = strv_len (img->entrypoint), nc = args ? sv->n_args : strv_len (img->cmd);
  if (ne + nc == 0)
    {
      fb_star_errorf (th, "service %s: image \"%s\" has neither Entrypoint nor Cmd: give args=[...]", sv->name,
                      img->ref);
      return -1;
    }
  char **argv = fb_xcalloc (ne + nc + 1, sizeof *argv);
  for (size_t i = 0; i < ne; i++)
    argv[i] = fb_xstrdup (img->entrypoint[i]);
  for (size_t i = 0; i < nc; i++)
    argv[ne + i] = args ? sv->args[i] : fb_xstrdup (img->cmd[i]);
  free (sv->args); /* its strings moved into argv */
  sv->binary = argv[0];
  sv->n_args = ne + nc - 1;
  sv->args = fb_xcalloc (ne + nc, sizeof *sv->args);
  memcpy (sv->args, argv + 1, sv->n_args * sizeof *argv);
  free (argv);
  return 0;
}

/* What the image says about running it, into the plan; the spec's env=,
 * added after this, wins over the image's Env. */
static int
image_into_plan (fb_star_thread *th, fb_plan_service *sv, const fb_image *img, fb_value *args)
{
  if (image_argv (th, sv, img, args) < 0)
    return -1;
  for (char **e = img->env; e && *e; e++)
    if (strchr (*e, '=') && **e != '=')
      {
        sv->env = fb_xreallocarray (sv->env, sv->n_env + 1, sizeof *sv->env);
        sv->env[sv->n_env++] = fb_xstrdup (*e);
      }
  if (img->workdir)
    sv->cwd = img->workdir[0] == '/' ? fb_xstrdup (img->workdir) : fb_xasprintf ("/%s", img->workdir);
  fb_error e = { 0 };
  if (img->user && fb_image_user (img, img->user, &sv->uid, &sv->gid, &e) < 0)
    {
      fb_star_errorf (th, "service %s: %s", sv->name, e.msg);
      return -1;
    }
  if (img->user)
    sv->user = fb_xstrdup (img->user);
  sv->layers = fb_xcalloc (img->n_layers + 1, sizeof *sv->layers);
  for (size_t i = 0; i < img->n_layers; i++)
    sv->layers[i] = fb_xstrdup (img->layers[i]);
  sv->image = fb_xstrdup (img->ref);
  image_port_warnings (sv, img);
  return 0;
}

/* service(image=): the image opened (unpacked into the cache when new)
 * while the spec loads, so that a bad reference fails at its line. */
static int
set_image (fb_star_thread *th, const fb_spec *sp, fb_plan_service *sv, const char *ref, bool binary,
           const char *rootfs, fb_value *args)
{
  if (binary || rootfs)
    {
      fb_star_errorf (th, "service %s: image= is the service's program and root: give it without %s", sv->name,
                      binary ? "a binary" : "rootfs=");
      return -1;
    }
  fb_image_options o = { .base_dir = sp->dir };
  fb_image *img;
  fb_error e = { 0 };
  if (fb_image_open (ref, &o, &img, &e) < 0)
    {
      fb_star_errorf (th, "service %s: %s", sv->name, e.msg);
      return -1;
    }
  int r = image_into_plan (th, sv, img, args);
  fb_image_free (img);
  return r;
}

static int
set_healthcheck (fb_star_thread *th, fb_plan_service *sv, fb_value *hc)
{
  fb_plan_healthcheck *h = fb_host_data (hc, &spec_healthcheck_type);
  if (!h)
    {
      fb_star_errorf (th, "service %s: healthcheck must be tcp(...), http(...) or ready(), got %s",
                      sv->name, fb_value_type_name (hc));
      return -1;
    }
  size_t which = default_iface (sv);
  if (h->kind == FB_HC_READY && which == sv->n_ifaces)
    {
      fb_star_errorf (th, "service %s: ready() speaks the service's default interface: give it one "
                          "interface, or name one \"default\"", sv->name);
      return -1;
    }
  sv->hc = *h;
  sv->hc.host = fb_xstrdup (h->host);
  sv->hc.path = fb_xstrdup (h->path);
  if (h->kind == FB_HC_READY)
    {
      sv->hc.protocol = fb_xstrdup (sv->ifaces[which].protocol);
      sv->hc.port = sv->ifaces[which].port;
    }
  else
    sv->hc.protocol = fb_xstrdup (h->protocol);
  return 0;
}

/* A passwd or group entry by name or number from the service's /etc (the
 * host's, or the rootfs's); false when absent. */
static bool
lookup_id (const fb_plan_service *sv, bool group, const char *name, uint32_t *id, uint32_t *primary)
{
  _cleanup_free_ char *path = fb_xasprintf ("%s/etc/%s", sv->rootfs ? sv->rootfs : "", group ? "group" : "passwd");
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  char *end;
  unsigned long num = strtoul (name, &end, 10);
  bool numeric = *name && !*end;
  for (;;)
    {
      struct passwd *pw = NULL;
      struct group *gr = NULL;
      if (!f || (group ? !(gr = fgetgrent (f)) : !(pw = fgetpwent (f))))
        break;
      const char *n = group ? gr->gr_name : pw->pw_name;
      uint32_t i = group ? gr->gr_gid : pw->pw_uid;
      if (numeric ? i == num : !strcmp (n, name))
        {
          *id = i;
          if (primary)
            *primary = pw->pw_gid;
          return true;
        }
    }
  /* a number need not be in the file: the service gets it as it is */
  if (numeric && num <= UINT32_MAX - 1)
    {
      *id = (uint32_t) num;
      if (primary)
        *primary = (uint32_t) num;
      return true;
    }
  return false;
}

/* user="name" | "uid[:gid]" | "name:group": a load error when unknown */
static int
set_user (fb_star_thread *th, fb_plan_service *sv, const char *user)
{
  const char *colon = strchr (user, ':');
  _cleanup_free_ char *u = fb_xstrndup (user, colon ? (size_t) (colon - user) : strlen (user));
  uint32_t primary = 0;
  const char *bad = !*u ? "empty user" : NULL;
  if (!bad && !lookup_id (sv, false, u, &sv->uid, &primary))
    bad = "no such user";
  sv->gid = primary;
  if (!bad && colon && !lookup_id (sv, true, colon + 1, &sv->gid, NULL))
    bad = "no such group";
  if (bad)
    {
      fb_star_errorf (th, "service %s: user \"%s\": %s in %s/etc/%s", sv->name, user, bad,
                      sv->rootfs ? sv->rootfs : "", strcmp (bad, "no such group") ? "passwd" : "group");
      return -1;
    }
  free (sv->user); /* the image's User, when it has one */
  sv->user = fb_xstrdup (user);
  return 0;
}

static fb_value *
b_service (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_spec *sp = spec_of (th);
  const char *name = spec_service_name (th, sp, "service", a);
  if (!name)
    return NULL;
  const char *binary = NULL, *kwbinary = NULL, *rootfs = NULL, *image = NULL, *user = NULL;
  bool may_exit = false;
  fb_value *args = NULL, *env = NULL, *deps = NULL, *hc = NULL, *ops = NULL, *build = NULL;
  fb_value *observe = NULL, *seccomp = NULL, *caps = NULL, *drop_caps = NULL, *volumes = NULL;
  fb_value *nondet_ok = NULL;
  unsigned nondet_mask;
  int64_t memory_max = 0, pids_max = 0;
  fb_star_args kw = { 0, NULL, a->nkw, a->kwnames, a->kwvals };
  if (fb_star_unpack (th, "service", &kw, "binary?:s", &kwbinary, "args?", &args,
                      "env?", &env, "depends_on?", &deps, "healthcheck?", &hc,
                      "ops?", &ops, "image?:s", &image, "build?", &build, "observe?", &observe,
                      "seccomp?", &seccomp, "memory_max?:i", &memory_max,
                      "pids_max?:i", &pids_max, "caps?", &caps, "drop_caps?", &drop_caps,
                      "rootfs?:s", &rootfs, "volumes?", &volumes, "nondeterministic_ok?", &nondet_ok,
                      "user?:s", &user, "may_exit?:b", &may_exit, NULL) < 0
      || spec_det_nondet_ok (th, name, nondet_ok, &nondet_mask) < 0)
    return NULL;
  if (build)
    return fb_star_errorf (th, "service %s: build= is not supported: build and save the image yourself "
                           "(`docker build -t %s DIR && docker save -o %s.tar %s`), then give "
                           "image=\"docker-archive:%s.tar\"", name, name, name, name, name);
  /* seccomp=True is Faultbox's default and ours; False (a service without
   * the filter, its syscall faults skipped) is not built yet */
  if (seccomp && seccomp != fb_bool (true)
      && spec_unsupported (th, "service", name, "seccomp", seccomp, false) < 0)
    return NULL;
  if (memory_max < 0 || pids_max < 0)
    return fb_star_errorf (th, "service %s: limits must not be negative", name);
  fb_plan_service *sv = FB_NEW (fb_plan_service);
  sv->name = fb_xstrdup (name);
  if (add_positional (th, sv, a, &binary) < 0
      || (image ? set_image (th, sp, sv, image, binary || kwbinary, rootfs, args) < 0
                : set_binary (th, sp, sv, binary, kwbinary, rootfs) < 0 || (args && add_args (th, sv, args) < 0))
      || (env && add_env (th, sv, env) < 0) || (deps && spec_service_deps (th, sp, sv, deps) < 0)
      || (ops && add_ops (th, sv, ops) < 0) || (caps && cap_mask (th, sv, "caps", caps, &sv->caps_add) < 0)
      || (drop_caps && cap_mask (th, sv, "drop_caps", drop_caps, &sv->caps_drop) < 0)
      || (volumes && add_volumes (th, sp, sv, volumes) < 0)
      || (rootfs && !(sv->rootfs = spec_path (th, sp, sv, "rootfs", rootfs, true)))
      || (hc && set_healthcheck (th, sv, hc) < 0)
      || (observe && observe != fb_none () && spec_observe_items (th, sv, observe) < 0)
      || (user && set_user (th, sv, user) < 0))
    {
      fb_plan tmp = { sv, 1 };
      fb_plan_free (&tmp);
      return NULL;
    }
  sv->memory_max = (uint64_t) memory_max;
  sv->pids_max = (uint64_t) pids_max;
  sv->nondet_ok = nondet_mask;
  sv->may_exit = may_exit;
  return spec_service_register (th, sp, sv);
}

fb_value *
spec_service_register (fb_star_thread *th, fb_spec *sp, fb_plan_service *sv)
{
  sv->decl_pos = service_decl_pos (th);
  sp->plan.services = fb_xreallocarray (sp->plan.services, sp->plan.n_services + 1,
                                        sizeof *sp->plan.services);
  sp->plan.services[sp->plan.n_services++] = *sv;
  free (sv);
  service_ref *r = FB_NEW (service_ref);
  *r = (service_ref) { sp, sp->plan.n_services - 1 };
  return fb_host_new (th, &spec_service_type, r);
}

void
spec_predeclare_topology (fb_spec *s)
{
  static const spec_builtin fns[] = {
    { "service", b_service }, { "interface", b_interface }, { "tcp", b_tcp },
    { "http", b_http }, { "ready", b_ready }, { "kafka_ready", b_kafka_ready }, { "op", b_op },
  };
  spec_predeclare_all (s, fns, sizeof fns / sizeof *fns);
}
