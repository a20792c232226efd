/* Memcached through libmemcached (its text protocol, so the proxy frames
 * what the steps send): get, set, delete and incr. Faultbox has a
 * memcached proxy but no step methods; these return what its redis steps
 * do, .data {"value": X} (None for a miss). A server's error line is a
 * failed result with its words. readiness is a TCP connect, as Faultbox's. */
#include <errno.h>
#include <libmemcached/memcached.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "protocol/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/time.h"

/* libmemcached links libstdc++, libsasl2 and libcrypto: loaded on first
 * use (fb_protocol_dlopen says why). */
static struct {
  memcached_st *(*create) (memcached_st *);
  void (*free) (memcached_st *);
  memcached_return_t (*server_add) (memcached_st *, const char *, in_port_t);
  memcached_return_t (*behavior_set) (memcached_st *, memcached_behavior_t, uint64_t);
  char *(*get) (memcached_st *, const char *, size_t, size_t *, uint32_t *, memcached_return_t *);
  memcached_return_t (*set) (memcached_st *, const char *, size_t, const char *, size_t, time_t, uint32_t);
  memcached_return_t (*delete) (memcached_st *, const char *, size_t, time_t);
  memcached_return_t (*increment) (memcached_st *, const char *, size_t, uint32_t, uint64_t *);
  const char *(*strerror) (const memcached_st *, memcached_return_t);
} mc;
static char mc_load_error[256];
static pthread_once_t mc_once = PTHREAD_ONCE_INIT;

#define MC_SONAME "libmemcached.so.11"
#define MC_TIMEOUT_MS 5000u

static void
mc_load (void)
{
#define SYM(field, sym) { sym, (void **) &mc.field }
  const fb_dl_sym syms[] = {
    SYM (free, "memcached_free"), SYM (server_add, "memcached_server_add"),
    SYM (behavior_set, "memcached_behavior_set"), SYM (get, "memcached_get"), SYM (set, "memcached_set"),
    SYM (delete, "memcached_delete"), SYM (increment, "memcached_increment"), SYM (strerror, "memcached_strerror"),
    SYM (create, "memcached_create"),
  };
#undef SYM
  fb_protocol_dlopen (MC_SONAME, syms, sizeof syms / sizeof *syms, mc_load_error, sizeof mc_load_error);
}

/* What failed as libmemcached names it: "SERVER FAILED TO ALLOCATE
 * OBJECT" for SERVER_ERROR out of memory, "NOT FOUND"; it keeps no more
 * of the server's line. */
static char *
mc_why (memcached_st *m, memcached_return_t rc)
{
  return fb_xstrdup (mc.strerror (m, rc));
}

/* Runs one method on m; the reply's value (a JSON value, owned) or *why. */
static json_object *
mc_run (memcached_st *m, const char *method, const fb_step_arg *args, char **why)
{
  const char *key = args[0].s;
  size_t kl = strlen (key);
  memcached_return_t rc;
  if (!strcmp (method, "get"))
    {
      size_t n;
      uint32_t flags;
      char *v = mc.get (m, key, kl, &n, &flags, &rc);
      if (!v)
        {
          /* a miss is a value, None */
          if (rc != MEMCACHED_NOTFOUND)
            *why = mc_why (m, rc);
          return NULL;
        }
      json_object *j = json_object_new_string_len (v, (int) n);
      free (v);
      return j;
    }
  if (!strcmp (method, "incr"))
    {
      uint64_t v = 0;
      long long by = strtoll (args[1].s, NULL, 10);
      rc = mc.increment (m, key, kl, (uint32_t) by, &v);
      return rc == MEMCACHED_SUCCESS ? json_object_new_int64 ((int64_t) v) : (*why = mc_why (m, rc), NULL);
    }
  rc = !strcmp (method, "set") ? mc.set (m, key, kl, args[1].s, strlen (args[1].s), 0, 0) : mc.delete (m, key, kl, 0);
  if (rc != MEMCACHED_SUCCESS)
    *why = mc_why (m, rc);
  return rc == MEMCACHED_SUCCESS ? json_object_new_boolean (true) : NULL;
}

static int
mc_step (const fb_step_call *c, fb_step_result *out, fb_error *err)
{
  const char *name = c->method->name;
  if (!*c->args[0].s)
    return fb_error_set (err, EINVAL, "%s: key must not be empty (memcached.%s requires key= argument)", name, name);
  pthread_once (&mc_once, mc_load);
  if (!mc.create)
    return fb_error_set (err, ENOSYS, "%s: %s", name, mc_load_error);
  c->on_send (c->ctx, (const char *const[]) { "method", name, "key", c->args[0].s, NULL });
  memcached_st *m = mc.create (NULL);
  if (!m)
    return fb_error_set (err, ENOMEM, "%s: cannot allocate a memcached client", name);
  mc.behavior_set (m, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, MC_TIMEOUT_MS);
  mc.behavior_set (m, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, MC_TIMEOUT_MS);
  char *why = NULL;
  int64_t t0 = fb_now_ns ();
  memcached_return_t rc = mc.server_add (m, c->host, (in_port_t) c->port);
  json_object *v = rc == MEMCACHED_SUCCESS ? mc_run (m, name, c->args, &why) : (why = mc_why (m, rc), NULL);
  out->duration_ms = (fb_now_ns () - t0) / FB_NS_PER_MS;
  mc.free (m);
  if (why)
    fb_step_fail (out, why);
  else
    {
      json_object *body = json_object_new_object ();
      json_object_object_add (body, "value", json_object_get (v));
      out->body = fb_xstrdup (json_object_to_json_string_ext (body, JSON_C_TO_STRING_PLAIN));
      json_object_put (body);
    }
  json_object_put (v);
  free (why);
  fb_step_outcome (out, name);
  return 0;
}

static const fb_step_method mc_methods[] = {
  { .name = "get", .n_params = 1, .params = { { "key", FB_PARAM_STRING, true, NULL } } },
  { .name = "set", .n_params = 2,
    .params = { { "key", FB_PARAM_STRING, true, NULL }, { "value", FB_PARAM_STRING, true, NULL } } },
  { .name = "delete", .n_params = 1, .params = { { "key", FB_PARAM_STRING, true, NULL } } },
  { .name = "incr", .n_params = 2,
    .params = { { "key", FB_PARAM_STRING, true, NULL }, { "by", FB_PARAM_STRING, false, "1" } } },
};

const fb_protocol fb_protocol_memcached = {
  .name = "memcached",
  .methods = mc_methods,
  .n_methods = sizeof mc_methods / sizeof *mc_methods,
  .methods_hint = "get/set/delete/incr(key=...)",
  .step = mc_step,
  .framing = &fb_memcached_framing,
};
