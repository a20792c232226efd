/* The table of protocols and what their steps share. Adding a protocol:
 * a file with its fb_protocol, one line in protocols[] (doc/architecture.md). */
#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/h2.h"
#include "protocol/internal.h"
#include "util/alloc.h"
#include "util/time.h"
#include "faultbox/buf.h"

static const fb_protocol *const protocols[] = { &fb_protocol_tcp, &fb_protocol_http, &fb_protocol_redis,
                                                &fb_protocol_postgres, &fb_protocol_mysql,
                                                &fb_protocol_memcached, &fb_protocol_http2, &fb_protocol_grpc,
                                                &fb_protocol_nats, &fb_protocol_udp,
};
#define N_PROTOCOLS (sizeof protocols / sizeof *protocols)

const fb_protocol *
fb_protocol_find (const char *name)
{
  for (size_t i = 0; i < N_PROTOCOLS; i++)
    if (!strcmp (protocols[i]->name, name))
      return protocols[i];
  return NULL;
}

const fb_protocol *
fb_protocol_at (size_t i)
{
  return i < N_PROTOCOLS ? protocols[i] : NULL;
}

static char *names, *framed_names;
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void
names_build (void)
{
  fb_buf b = FB_BUF_INIT, f = FB_BUF_INIT;
  for (size_t i = 0; i < N_PROTOCOLS; i++)
    {
      fb_buf_printf (&b, "%s%s", i == 0 ? "" : i + 1 == N_PROTOCOLS ? " or " : ", ", protocols[i]->name);
      if (protocols[i]->framing)
        fb_buf_printf (&f, "%s%s", f.len ? ", " : "", protocols[i]->name);
    }
  names = fb_buf_steal (&b);
  framed_names = fb_buf_steal (&f);
}

const char *
fb_protocol_names (void)
{
  pthread_once (&names_once, names_build);
  return names;
}

const char *
fb_protocol_framed_names (void)
{
  pthread_once (&names_once, names_build);
  return framed_names;
}

const fb_step_method *
fb_protocol_method (const fb_protocol *p, const char *name)
{
  for (size_t i = 0; i < p->n_methods; i++)
    if (!strcmp (p->methods[i].name, name))
      return &p->methods[i];
  return NULL;
}

const fb_protocol *
fb_protocol_with_method (const char *name)
{
  for (size_t i = 0; i < N_PROTOCOLS; i++)
    if (fb_protocol_method (protocols[i], name))
      return protocols[i];
  return NULL;
}

static void
kv_free (fb_kv *kv, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (kv[i].key);
      free (kv[i].value);
    }
  free (kv);
}

void
fb_step_result_clear (fb_step_result *r)
{
  free (r->body);
  free (r->error);
  kv_free (r->headers, r->n_headers);
  kv_free (r->fields, r->n_fields);
  memset (r, 0, sizeof *r);
}

void
fb_step_field (fb_step_result *r, const char *k, const char *v)
{
  r->fields = fb_xreallocarray (r->fields, r->n_fields + 1, sizeof *r->fields);
  r->fields[r->n_fields++] = (fb_kv) { fb_xstrdup (k), fb_xstrdup (v) };
}

char *
fb_protocol_trim (char *s)
{
  size_t n = strlen (s);
  while (n && isspace ((unsigned char) s[n - 1]))
    s[--n] = '\0';
  size_t i = 0;
  while (s[i] && isspace ((unsigned char) s[i]))
    i++;
  memmove (s, s + i, n - i + 1);
  return s;
}

const char *
fb_step_env (char *const *env, size_t n_env, const char *key)
{
  size_t kl = strlen (key);
  const char *v = NULL;
  /* the last wins, as for the service's own environment */
  for (size_t i = 0; i < n_env; i++)
    if (!strncmp (env[i], key, kl) && env[i][kl] == '=')
      v = env[i] + kl + 1;
  return v;
}

const char *
fb_step_arg_by_name (const fb_step_call *c, const char *name)
{
  for (size_t i = 0; i < c->method->n_params; i++)
    if (!strcmp (c->method->params[i].name, name))
      return c->args[i].s;
  return NULL;
}

const char *
fb_step_credential (const char *given, char *const *env, size_t n_env, const char *key, const char *dflt)
{
  if (given && *given)
    return given;
  const char *v = fb_step_env (env, n_env, key);
  return v && *v ? v : dflt;
}

void
fb_step_fail (fb_step_result *r, const char *msg)
{
  free (r->error);
  r->error = fb_xstrdup (msg);
}

void
fb_step_outcome (fb_step_result *r, const char *method)
{
  char ms[32];
  snprintf (ms, sizeof ms, "%lld", (long long) r->duration_ms);
  fb_step_field (r, "method", method);
  fb_step_field (r, "duration_ms", ms);
  fb_step_field (r, "success", r->error ? "false" : "true");
  if (r->error)
    fb_step_field (r, "error", r->error);
}

void
fb_step_finish (fb_step_result *r, int64_t t0, char *why, const char *method)
{
  r->duration_ms = (fb_now_ns () - t0) / FB_NS_PER_MS;
  if (why)
    fb_step_fail (r, why);
  free (why);
  fb_step_outcome (r, method);
}

void
fb_step_verb (const fb_step_call *c, char *buf, size_t size)
{
  size_t i = 0;
  for (const char *m = c->method->name; *m && i + 1 < size; m++)
    buf[i++] = (char) toupper ((unsigned char) *m);
  buf[i] = '\0';
}

int
fb_protocol_dlopen (const char *soname, const fb_dl_sym *syms, size_t n, char *why, size_t why_len)
{
  void *h = dlopen (soname, RTLD_NOW | RTLD_LOCAL);
  if (!h)
    {
      snprintf (why, why_len, "cannot load %s: %s", soname, dlerror ());
      return -1;
    }
  void *found[64];
  for (size_t i = 0; i < n && i < sizeof found / sizeof *found; i++)
    if (!(found[i] = dlsym (h, syms[i].name)))
      {
        snprintf (why, why_len, "%s has no %s", soname, syms[i].name);
        return -1;
      }
  /* all or nothing: a caller tests one slot to know the library is there */
  for (size_t i = 0; i < n; i++)
    *syms[i].slot = found[i];
  return 0;
}
