/* Loading a spec: the topology builtins (service, interface, tcp, http, op),
 * test discovery, and the seccomp filter each service needs. */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultbox/lab.h"
#include "lang/internal.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/parse.h"
#include "util/suggest.h"

/* Steps a spec may take while it loads (about 0.2 s): plenty for building
 * services and fault matrices, a clear error for a runaway loop. */
#define SPEC_LOAD_MAX_STEPS 10000000

fb_spec *
spec_of (fb_star_thread *th)
{
  return fb_star_user (th);
}

fb_session *
spec_session (fb_star_thread *th, const char *fname, const char *what)
{
  fb_session *ss = spec_of (th)->session;
  if (!ss)
    fb_star_errorf (th, "%s: %s (called while loading the spec)", fname, what);
  return ss;
}

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

static const char *const service_attrs[] = { "name", "get", "post", "put",
                                             "delete", "patch", "send", NULL };

static fb_value *
service_attr (fb_star_thread *th, fb_value *self, const char *name)
{
  service_ref *r = fb_host_data (self, &spec_service_type);
  const fb_plan_service *s = &r->spec->plan.services[r->svc];
  if (!strcmp (name, "name"))
    return fb_string (th, s->name);
  for (size_t i = 0; i < s->n_ifaces; i++)
    if (!strcmp (s->ifaces[i].name, name))
      {
        iface_ref *ir = FB_NEW (iface_ref);
        *ir = (iface_ref) { r->spec, r->svc, i };
        return fb_host_new (th, &spec_iface_ref_type, ir);
      }
  /* step methods on a service with a single (or "default") interface */
  size_t which = s->n_ifaces;
  if (s->n_ifaces == 1)
    which = 0;
  for (size_t i = 0; i < s->n_ifaces; i++)
    if (!strcmp (s->ifaces[i].name, "default"))
      which = i;
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
                                           "addr", "internal_addr", "get",
                                           "post", "put", "delete", "patch",
                                           "send", NULL };

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
  if (strcmp (protocol, "tcp") && strcmp (protocol, "http"))
    return fb_star_errorf (th, "interface %s: protocol \"%s\" is not supported (tcp or http)",
                           name, protocol);
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

/* "localhost:8080/health" or "http://localhost:8080/health" */
static fb_value *
make_healthcheck (fb_star_thread *th, const fb_star_args *a, bool http)
{
  const char *fname = http ? "http" : "tcp";
  const char *addr, *timeout = "10s";
  if (fb_star_unpack (th, fname, a, http ? "url:s" : "addr:s", &addr,
                      "timeout?:s", &timeout, NULL) < 0)
    return NULL;
  const char *p = addr;
  const char *scheme = http ? "http://" : "tcp://";
  if (!strncmp (p, scheme, strlen (scheme)))
    p += strlen (scheme);
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

static fb_value *
b_tcp (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return make_healthcheck (th, a, false);
}

static fb_value *
b_http (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return make_healthcheck (th, a, true);
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

static int
add_deps (fb_star_thread *th, fb_spec *sp, fb_plan_service *s, fb_value *deps)
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

static fb_value *
b_service (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_spec *sp = spec_of (th);
  if (a->npos < 1)
    return fb_star_errorf (th, "service: missing name");
  const char *name = fb_value_as_string (a->pos[0], NULL);
  if (!name || fb_value_type_of (a->pos[0]) != FB_V_STRING)
    return fb_star_errorf (th, "service: name must be a string, got %s",
                           fb_value_type_name (a->pos[0]));
  if (!fb_lab_valid_name (name))
    return fb_star_errorf (th, "service: invalid name \"%s\" (letters, digits, '-' and '_', at most 40)",
                           name);
  ssize_t dup = fb_plan_find_service (&sp->plan, name);
  if (dup >= 0)
    return fb_star_errorf (th, "service: duplicate service name \"%s\" (first declared at %s)",
                           name, sp->plan.services[dup].decl_pos);
  const char *binary = NULL, *kwbinary = NULL;
  fb_value *args = NULL, *env = NULL, *deps = NULL, *hc = NULL, *ops = NULL;
  fb_value *image = NULL, *observe = NULL, *seccomp = NULL, *caps = NULL, *drop_caps = NULL, *volumes = NULL;
  const char *rootfs = NULL;
  int64_t memory_max = 0, pids_max = 0;
  fb_star_args kw = { 0, NULL, a->nkw, a->kwnames, a->kwvals };
  if (fb_star_unpack (th, "service", &kw, "binary?:s", &kwbinary, "args?", &args,
                      "env?", &env, "depends_on?", &deps, "healthcheck?", &hc,
                      "ops?", &ops, "image?", &image, "observe?", &observe,
                      "seccomp?", &seccomp, "memory_max?:i", &memory_max,
                      "pids_max?:i", &pids_max, "caps?", &caps, "drop_caps?", &drop_caps,
                      "rootfs?:s", &rootfs, "volumes?", &volumes, NULL) < 0)
    return NULL;
  if (image)
    return fb_star_errorf (th, "service %s: image= (containers) is not supported; give binary=",
                           name);
  fb_plan_service *sv = FB_NEW (fb_plan_service);
  sv->name = fb_xstrdup (name);
  fb_value *err = NULL;
  for (size_t i = 1; i < a->npos; i++)
    {
      fb_value *v = a->pos[i];
      iface_decl *d = fb_host_data (v, &spec_iface_decl_type);
      if (d)
        {
          for (size_t j = 0; j < sv->n_ifaces; j++)
            if (!strcmp (sv->ifaces[j].name, d->name))
              {
                err = fb_star_errorf (th, "service %s: duplicate interface \"%s\"",
                                      name, d->name);
                goto fail;
              }
          sv->ifaces = fb_xreallocarray (sv->ifaces, sv->n_ifaces + 1, sizeof *sv->ifaces);
          sv->ifaces[sv->n_ifaces++] = (fb_plan_interface) { fb_xstrdup (d->name),
                                                         fb_xstrdup (d->protocol),
                                                         d->port };
        }
      else if (fb_value_type_of (v) == FB_V_STRING && !binary)
        binary = fb_value_as_string (v, NULL);
      else
        {
          err = fb_star_errorf (th, "service %s: unexpected positional argument of type %s (want the binary path and interface(...) values)",
                                name, fb_value_type_name (v));
          goto fail;
        }
    }
  if (binary && kwbinary)
    {
      err = fb_star_errorf (th, "service %s: binary given twice", name);
      goto fail;
    }
  if (!binary)
    binary = kwbinary;
  if (!binary || !*binary)
    {
      err = fb_star_errorf (th, "service %s: no binary (give service(\"%s\", \"/path/to/bin\", ...))",
                            name, name);
      goto fail;
    }
  if (rootfs && binary[0] != '/')
    {
      err = fb_star_errorf (th, "service %s: with rootfs= the binary is the absolute path inside it, not \"%s\"",
                            name, binary);
      goto fail;
    }
  while (binary[0] == '.' && binary[1] == '/')
    binary += 2;
  sv->binary = binary[0] == '/' ? fb_xstrdup (binary)
                              : fb_xasprintf ("%s/%s", sp->dir, binary);
  /* a wrong path is the spec's error, told where it is, before any lab;
   * under rootfs= the binary is the root's own, found by its init */
  fb_binpath bin;
  if (!rootfs && fb_binpath_resolve (sv->binary, &bin) < 0)
    {
      err = fb_star_errorf (th, "service %s: cannot execute %s: %s", name, sv->binary, strerror (errno));
      goto fail;
    }
  if (!rootfs)
    fb_binpath_clear (&bin);
  if (args)
    {
      fb_value_type t = fb_value_type_of (args);
      if (t != FB_V_LIST && t != FB_V_TUPLE)
        {
          err = fb_star_errorf (th, "service %s: args must be a list of strings", name);
          goto fail;
        }
      sv->args = fb_xcalloc ((size_t) fb_value_len (args) + 1, sizeof *sv->args);
      for (long i = 0; i < fb_value_len (args); i++)
        {
          fb_value *x = fb_value_at (args, (size_t) i);
          sv->args[sv->n_args++] = fb_value_type_of (x) == FB_V_STRING
                                   ? fb_xstrdup (fb_value_as_string (x, NULL))
                                   : fb_value_str (th, x);
        }
    }
  if ((env && add_env (th, sv, env) < 0) || (deps && add_deps (th, sp, sv, deps) < 0)
      || (ops && add_ops (th, sv, ops) < 0) || (caps && cap_mask (th, sv, "caps", caps, &sv->caps_add) < 0)
      || (drop_caps && cap_mask (th, sv, "drop_caps", drop_caps, &sv->caps_drop) < 0)
      || (volumes && add_volumes (th, sp, sv, volumes) < 0)
      || (rootfs && !(sv->rootfs = spec_path (th, sp, sv, "rootfs", rootfs, true))))
    goto fail;
  if (hc)
    {
      fb_plan_healthcheck *h = fb_host_data (hc, &spec_healthcheck_type);
      if (!h)
        {
          err = fb_star_errorf (th, "service %s: healthcheck must be tcp(...) or http(...), got %s",
                                name, fb_value_type_name (hc));
          goto fail;
        }
      sv->hc = *h;
      sv->hc.host = fb_xstrdup (h->host);
      sv->hc.path = fb_xstrdup (h->path);
    }
  if (memory_max < 0 || pids_max < 0)
    {
      err = fb_star_errorf (th, "service %s: limits must not be negative", name);
      goto fail;
    }
  sv->decl_pos = service_decl_pos (th);
  sv->memory_max = (uint64_t) memory_max;
  sv->pids_max = (uint64_t) pids_max;
  sp->plan.services = fb_xreallocarray (sp->plan.services, sp->plan.n_services + 1,
                                        sizeof *sp->plan.services);
  sp->plan.services[sp->plan.n_services++] = *sv;
  free (sv);
  service_ref *r = FB_NEW (service_ref);
  *r = (service_ref) { sp, sp->plan.n_services - 1 };
  return fb_host_new (th, &spec_service_type, r);
fail:
  {
    fb_plan tmp = { sv, 1 };
    fb_plan_free (&tmp);
  }
  return err;
}

void
spec_predeclare_all (fb_spec *s, const spec_builtin *fns, size_t n)
{
  for (size_t i = 0; i < n; i++)
    fb_star_predeclare (s->th, fns[i].name, fb_builtin_new (s->th, fns[i].name, fns[i].fn, NULL));
}

void
spec_predeclare_topology (fb_spec *s)
{
  static const spec_builtin fns[] = {
    { "service", b_service }, { "interface", b_interface }, { "tcp", b_tcp },
    { "http", b_http }, { "op", b_op },
  };
  spec_predeclare_all (s, fns, sizeof fns / sizeof *fns);
}

/* ---- loading ----------------------------------------------------------- */

static void
print_stderr (void *ctx, const char *msg)
{
  (void) ctx;
  fprintf (stderr, "%s\n", msg);
}

void
spec_strv_add (char ***v, size_t *n, char *const *add)
{
  for (char *const *p = add; p && *p; p++)
    {
      bool have = false;
      for (size_t i = 0; i < *n; i++)
        have |= !strcmp ((*v)[i], *p);
      if (have)
        continue;
      *v = fb_xreallocarray (*v, *n + 2, sizeof **v);
      (*v)[(*n)++] = fb_xstrdup (*p);
      (*v)[*n] = NULL;
    }
}

static void
filter_add (fb_spec *sp, size_t svc, char **syscalls)
{
  spec_strv_add (&sp->filters[svc], &sp->n_filters[svc], syscalls);
}

/* A keyword of fault() names an op of the service or a syscall family. */
static void
filter_add_keyword (fb_spec *sp, size_t svc, const char *kw)
{
  const fb_plan_service *s = &sp->plan.services[svc];
  for (size_t i = 0; i < s->n_ops; i++)
    if (!strcmp (s->ops[i].name, kw))
      {
        for (size_t j = 0; j < s->ops[i].n_syscalls; j++)
          filter_add_keyword (sp, svc, s->ops[i].syscalls[j]);
        return;
      }
  char **fam = NULL;
  if (fb_syscall_family (kw, &fam, NULL) == 0)
    filter_add (sp, svc, fam);
  fb_strv_free (fam);
}

static ssize_t
scan_target (fb_spec *sp, const char *ident)
{
  if (!ident)
    return -1;
  fb_value *v = fb_star_module_get (sp->mod, ident);
  service_ref *r = v ? fb_host_data (v, &spec_service_type) : NULL;
  if (r)
    return (ssize_t) r->svc;
  ssize_t i = fb_plan_find_service (&sp->plan, ident);
  return i;
}

/* Each call that can install a rule adds its syscalls to the filter of the
 * service it names; when the target cannot be told statically (a
 * parameter, a computed value), to every service. */
static void
scan_call (void *ctx, const fb_star_callsite *cs)
{
  fb_spec *sp = ctx;
  const char *c = cs->callee;
  bool fault = !strcmp (c, "fault") || !strcmp (c, "fault_start")
               || !strcmp (c, "fault_assumption") || !strcmp (c, "fault_all");
  bool trace = !strcmp (c, "trace") || !strcmp (c, "trace_start");
  /* these name a service and a syscall by keyword; routing it makes an
   * assertion about it meaningful */
  bool monitor = !strcmp (c, "monitor") || !strcmp (c, "match.event")
                 || !strcmp (c, "assert_never") || !strcmp (c, "assert_eventually")
                 || !strcmp (c, "events");
  sp->has_parallel |= !strcmp (c, "parallel");
  if (!fault && !trace && !monitor)
    return;
  const char *target = NULL;
  bool target_known = false;
  for (size_t i = 0; i < cs->n_args; i++)
    {
      const fb_star_scan_arg *x = &cs->args[i];
      /* fault_assumption and monitor name their service by keyword */
      bool positional = strcmp (c, "fault_assumption") && !monitor;
      bool is_target = (!x->keyword && i == 0 && positional)
                       || (x->keyword && (!strcmp (x->keyword, "target")
                                          || !strcmp (x->keyword, "service")));
      if (is_target)
        {
          target = x->ident ? x->ident : x->string;
          target_known = true;
        }
    }
  ssize_t t = target_known ? scan_target (sp, target) : -1;
  for (size_t svc = 0; svc < sp->plan.n_services; svc++)
    {
      if (t >= 0 && (size_t) t != svc)
        continue;
      for (size_t i = 0; i < cs->n_args; i++)
        {
          const fb_star_scan_arg *x = &cs->args[i];
          if (!x->keyword)
            continue;
          if (trace && !strcmp (x->keyword, "syscalls"))
            for (size_t k = 0; k < x->n_strings; k++)
              filter_add_keyword (sp, svc, x->strings[k]);
          else if (monitor && !strcmp (x->keyword, "syscall") && x->string)
            filter_add_keyword (sp, svc, x->string);
          else if (fault)
            filter_add_keyword (sp, svc, x->keyword);
        }
    }
}

static int
cmp_tests (const void *a, const void *b)
{
  return strcmp (((const spec_test *) a)->name, ((const spec_test *) b)->name);
}

static void
record_file (fb_spec *sp, const char *real)
{
  for (size_t i = 0; i < sp->n_files; i++)
    if (!strcmp (sp->files[i], real))
      return;
  sp->files = fb_xreallocarray (sp->files, sp->n_files + 1, sizeof *sp->files);
  sp->files[sp->n_files++] = fb_xstrdup (real);
}

/* load() as Starlark does it, but from the copies when the spec is read
 * from copies, and noting every file read. */
static int
spec_loader (fb_star_thread *th, void *ctx, const char *from, const char *name, fb_star_module **out,
             fb_error *err)
{
  fb_spec *sp = ctx;
  const fb_spec_source *src = sp->src;
  if (src && src->copy && !strcmp (from, sp->file))
    from = src->copy;
  for (size_t i = 0; src && i < src->n_moved; i++)
    if (!strcmp (name, src->moved_from[i]))
      name = src->moved_to[i];
  if (fb_star_default_loader (th, NULL, from, name, out, err) < 0)
    return -1;
  record_file (sp, fb_star_module_file (*out));
  return 0;
}

static int
exec_spec (fb_spec *sp, const fb_spec_source *src, fb_error *err)
{
  if (!src->copy)
    return fb_star_exec_file (sp->th, src->path, &sp->mod, err);
  _cleanup_buf_ fb_buf text = FB_BUF_INIT;
  if (fb_buf_read_file (&text, src->copy, err) < 0)
    return -1;
  return fb_star_exec_string (sp->th, src->path, text.data ? text.data : "", text.len, &sp->mod, err);
}

int
fb_spec_load (const char *path, fb_spec **out, fb_error *err)
{
  return fb_spec_load_source (&(fb_spec_source) { .path = path }, out, err);
}

int
fb_spec_load_source (const fb_spec_source *src, fb_spec **out, fb_error *err)
{
  const char *path = src->path;
  fb_spec *sp = FB_NEW (fb_spec);
  sp->file = fb_xstrdup (path);
  char abs[PATH_MAX];
  if (!realpath (src->copy ? src->copy : path, abs))
    {
      fb_error_setsys (err, errno, "cannot open %s", src->copy ? src->copy : path);
      fb_spec_free (sp);
      return -1;
    }
  record_file (sp, abs);
  sp->dir = fb_xstrdup (src->dir ? src->dir : dirname (abs));
  /* loading an untrusted spec is bounded in steps and memory; test bodies
   * are bounded by their timeout instead (long polling loops are fine) */
  fb_star_config cfg = { .dialect = FB_STAR_DIALECT_FAULTBOX,
                         .print = print_stderr,
                         .max_steps = SPEC_LOAD_MAX_STEPS,
                         .max_memory = (size_t) 1 << 30,
                         .loader = spec_loader,
                         .loader_ctx = sp };
  sp->src = src;
  sp->th = fb_star_thread_new (&cfg);
  fb_star_set_user (sp->th, sp);
  spec_predeclare_topology (sp);
  spec_predeclare_faults (sp);
  spec_predeclare_netfaults (sp);
  spec_predeclare_steps (sp);
  spec_predeclare_domain (sp);
  spec_predeclare_events (sp);
  int loaded = exec_spec (sp, src, err);
  sp->src = NULL;
  if (loaded < 0)
    {
      fb_spec_free (sp);
      return -1;
    }
  fb_star_set_step_limit (sp->th, 0);
  /* dependency cycles are load errors */
  size_t *order = fb_xcalloc (sp->plan.n_services + 1, sizeof *order);
  int rc = fb_plan_start_order (&sp->plan, order, err);
  free (order);
  if (rc < 0)
    {
      fb_error_prefix (err, "%s", path);
      fb_spec_free (sp);
      return -1;
    }
  for (size_t i = 0; i < fb_star_module_size (sp->mod); i++)
    {
      fb_value *v;
      const char *name = fb_star_module_name_at (sp->mod, i, &v);
      if (strncmp (name, "test_", 5) || !v || !fb_value_is_callable (v))
        continue;
      const char *file = path;
      int line = 0, col = 0;
      fb_value_func_position (v, &file, &line, &col);
      spec_add_test (sp, &(spec_test) { .name = fb_xstrdup (name), .fn = v,
                                        .decl = fb_xasprintf ("%s:%d:%d", file, line, col) });
    }
  qsort (sp->tests, sp->n_tests, sizeof *sp->tests, cmp_tests);
  for (size_t i = 1; i < sp->n_tests; i++)
    if (!strcmp (sp->tests[i - 1].name, sp->tests[i].name))
      {
        fb_error_set (err, EEXIST, "%s: test %s is defined twice (at %s and at %s)", path,
                      sp->tests[i].name, sp->tests[i - 1].decl, sp->tests[i].decl);
        fb_spec_free (sp);
        return -1;
      }
  sp->filters = fb_xcalloc (sp->plan.n_services + 1, sizeof *sp->filters);
  sp->n_filters = fb_xcalloc (sp->plan.n_services + 1, sizeof *sp->n_filters);
  fb_star_module_scan (sp->mod, scan_call, sp);
  *out = sp;
  return 0;
}

void
fb_spec_free (fb_spec *s)
{
  if (!s)
    return;
  for (size_t i = 0; s->filters && i < s->plan.n_services; i++)
    fb_strv_free (s->filters[i]);
  free (s->filters);
  free (s->n_filters);
  fb_plan_free (&s->plan);
  for (size_t i = 0; i < s->n_tests; i++)
    {
      free (s->tests[i].name);
      free (s->tests[i].decl);
      free (s->tests[i].matrix_scenario);
      free (s->tests[i].matrix_fault);
    }
  free (s->tests);
  fb_strv_free (s->matrix_scenarios);
  fb_strv_free (s->matrix_faults);
  free (s->monitors);
  fb_star_thread_free (s->th);
  free (s->file);
  free (s->dir);
  for (size_t i = 0; i < s->n_files; i++)
    free (s->files[i]);
  free (s->files);
  free (s);
}

size_t
fb_spec_file_count (const fb_spec *s)
{
  return s->n_files;
}

const char *
fb_spec_file (const fb_spec *s, size_t i)
{
  return s->files[i];
}

const char *
fb_spec_dir (const fb_spec *s)
{
  return s->dir;
}

const fb_plan *
fb_spec_plan (const fb_spec *s)
{
  return &s->plan;
}

size_t
fb_spec_test_count (const fb_spec *s)
{
  return s->n_tests;
}

const char *
fb_spec_test_name (const fb_spec *s, size_t i)
{
  return s->tests[i].name;
}

bool
fb_spec_test_is_matrix_cell (const fb_spec *s, size_t i)
{
  return s->tests[i].matrix_scenario != NULL;
}
