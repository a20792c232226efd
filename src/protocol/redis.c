/* Redis through hiredis: Faultbox's steps (get set del keys ping incr lpush
 * rpush lrange command), AUTH from the service's env, and the healthcheck's
 * PING. A reply is the step's JSON body {"value": ...} as Faultbox returns
 * it; an error reply is a failed result, never an exception. */
#include <ctype.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/time.h"

/* Faultbox's dial timeout and the deadline of the exchange after it */
#define REDIS_DIAL_MS 5000
#define REDIS_STEP_MS 10000

static json_object *
reply_json (const redisReply *r)
{
  switch (r->type)
    {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      return json_object_new_string_len (r->str, (int) r->len);
    case REDIS_REPLY_INTEGER:
      return json_object_new_int64 (r->integer);
    case REDIS_REPLY_ARRAY:
      {
        json_object *a = json_object_new_array ();
        for (size_t i = 0; i < r->elements; i++)
          json_object_array_add (a, reply_json (r->element[i]));
        return a;
      }
    default:
      return NULL; /* nil: JSON null */
    }
}

/* Faultbox's reader stops at the first error reply, nested or not. */
static const redisReply *
first_error (const redisReply *r)
{
  if (r->type == REDIS_REPLY_ERROR)
    return r;
  for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
    {
      const redisReply *e = first_error (r->element[i]);
      if (e)
        return e;
    }
  return NULL;
}

static void
reply_result (const redisReply *r, char **json, char **error)
{
  const redisReply *e = first_error (r);
  if (e)
    {
      *error = fb_xasprintf ("redis error: %.*s", (int) e->len, e->str);
      return;
    }
  json_object *o = json_object_new_object ();
  json_object_object_add (o, "value", reply_json (r));
  *json = fb_xstrdup (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN));
  json_object_put (o);
}

int
fb_redis_decode (const char *resp, size_t n, char **json, char **error, fb_error *err)
{
  redisReader *rd = redisReaderCreate ();
  void *reply = NULL;
  int rc = redisReaderFeed (rd, resp, n) == REDIS_OK ? redisReaderGetReply (rd, &reply) : REDIS_ERR;
  if (rc != REDIS_OK || !reply)
    {
      fb_error_set (err, EPROTO, "not a whole RESP reply: %s", rc != REDIS_OK ? rd->errstr : "truncated");
      redisReaderFree (rd);
      return -1;
    }
  *json = *error = NULL;
  reply_result (reply, json, error);
  freeReplyObject (reply);
  redisReaderFree (rd);
  return 0;
}

/* Connects and authenticates (AUTH PASSWORD, or AUTH USER PASSWORD for an
 * ACL user other than "default", as Faultbox sends it). On failure returns
 * NULL and *why says why, in Faultbox's words. */
static redisContext *
redis_dial (const char *host, int port, int64_t dial_ms, int64_t io_ms, const char *user, const char *password,
            char **why)
{
  struct timeval tv = { dial_ms / 1000, (dial_ms % 1000) * 1000 };
  redisContext *rc = redisConnectWithTimeout (host, port, tv);
  if (!rc || rc->err)
    {
      *why = fb_xasprintf ("dial tcp %s:%d: %s", host, port, rc ? rc->errstr : "cannot allocate a client");
      redisFree (rc);
      return NULL;
    }
  struct timeval io = { io_ms / 1000, (io_ms % 1000) * 1000 };
  redisSetTimeout (rc, io);
  if (!password || !*password)
    return rc;
  bool acl = user && *user && strcmp (user, "default") != 0;
  redisReply *r = acl ? redisCommand (rc, "AUTH %s %s", user, password) : redisCommand (rc, "AUTH %s", password);
  if (!r)
    *why = fb_xasprintf ("redis AUTH: %s", rc->errstr);
  else if (r->type != REDIS_REPLY_STATUS || strcmp (r->str, "OK") != 0)
    *why = fb_xasprintf ("redis AUTH rejected: %s%.*s", r->type == REDIS_REPLY_ERROR ? "-" : "", (int) r->len,
                         r->str ? r->str : "");
  bool ok = r && r->type == REDIS_REPLY_STATUS && !strcmp (r->str, "OK");
  freeReplyObject (r);
  if (ok)
    return rc;
  redisFree (rc);
  return NULL;
}

static bool
is_credential (const fb_step_param *p)
{
  return !strcmp (p->name, "user") || !strcmp (p->name, "password");
}

/* The command's words: the method's name upper-cased and its arguments in
 * order; command(cmd=, args=) is cmd then args. */
static const char **
command_argv (const fb_step_call *c, char *upper, size_t upper_len, size_t *argc)
{
  const fb_step_method *m = c->method;
  size_t n = 1;
  for (size_t i = 0; i < m->n_params; i++)
    n += m->params[i].kind == FB_PARAM_LIST ? c->args[i].n_list : 1;
  const char **argv = fb_xcalloc (n, sizeof *argv);
  size_t k = 0;
  bool raw = !strcmp (m->name, "command");
  if (!raw)
    {
      snprintf (upper, upper_len, "%s", m->name);
      for (char *p = upper; *p; p++)
        *p = (char) toupper ((unsigned char) *p);
      argv[k++] = upper;
    }
  for (size_t i = 0; i < m->n_params; i++)
    {
      if (is_credential (&m->params[i]))
        continue;
      if (m->params[i].kind == FB_PARAM_LIST)
        for (size_t j = 0; j < c->args[i].n_list; j++)
          argv[k++] = c->args[i].list[j];
      else
        argv[k++] = c->args[i].s ? c->args[i].s : "";
    }
  *argc = k;
  return argv;
}

static void
redis_send_event (const fb_step_call *c)
{
  const char *kv[8] = { "method", c->method->name };
  size_t k = 2;
  const char *key = fb_step_arg_by_name (c, "key"), *value = fb_step_arg_by_name (c, "value"), *cmd = fb_step_arg_by_name (c, "cmd");
  if (key)
    kv[k++] = "key", kv[k++] = key;
  if (value)
    kv[k++] = "value", kv[k++] = value;
  if (cmd)
    kv[k++] = "command", kv[k++] = cmd;
  kv[k] = NULL;
  c->on_send (c->ctx, kv);
}

static int
redis_step (const fb_step_call *c, fb_step_result *out, fb_error *err)
{
  const char *user = fb_step_credential (fb_step_arg_by_name (c, "user"), c->env, c->n_env, "REDIS_USER", NULL);
  const char *password = fb_step_credential (fb_step_arg_by_name (c, "password"), c->env, c->n_env, "REDIS_PASSWORD", NULL);
  char upper[16];
  size_t argc;
  _cleanup_free_ const char **argv = command_argv (c, upper, sizeof upper, &argc);
  redis_send_event (c);
  char *why = NULL;
  redisContext *rc = redis_dial (c->host, c->port, REDIS_DIAL_MS, REDIS_STEP_MS, user, password, &why);
  int64_t t0 = fb_now_ns ();
  if (rc)
    {
      redisReply *r = redisCommandArgv (rc, (int) argc, argv, NULL);
      if (!r)
        why = fb_xasprintf ("read: %s", rc->errstr);
      else
        {
          char *error = NULL;
          reply_result (r, &out->body, &error);
          if (error)
            why = fb_xasprintf ("read: %s", error);
          free (error);
        }
      freeReplyObject (r);
      redisFree (rc);
    }
  fb_step_finish (out, t0, why, c->method->name);
  return 0;
}

static int
redis_ready (const fb_ready_call *c, fb_error *err)
{
  const char *user = fb_step_env (c->env, c->n_env, "REDIS_USER");
  const char *password = fb_step_env (c->env, c->n_env, "REDIS_PASSWORD");
  char *why = NULL;
  redisContext *rc = redis_dial (c->host, c->port, c->timeout_ms, c->timeout_ms, user, password, &why);
  if (!rc)
    {
      fb_error_set (err, EAGAIN, "%s", why);
      free (why);
      return -1;
    }
  redisReply *r = redisCommand (rc, "PING");
  bool pong = r && r->type == REDIS_REPLY_STATUS && !strcmp (r->str, "PONG");
  int ret = pong ? 0
            : fb_error_set (err, EAGAIN, "PING answered %s", !r ? rc->errstr : r->str ? r->str : "no status");
  freeReplyObject (r);
  redisFree (rc);
  return ret;
}

#define CRED { "user", FB_PARAM_STRING, false, NULL }, { "password", FB_PARAM_STRING, false, NULL }
#define KEY { "key", FB_PARAM_STRING, false, "" }
#define VALUE { "value", FB_PARAM_STRING, false, "" }

/* Faultbox's kwargs, defaults included: a missing key is "" (as Faultbox
 * sends it), so none is required. */
static const fb_step_method redis_methods[] = {
  { .name = "get", .n_params = 3, .params = { KEY, CRED } },
  { .name = "set", .n_params = 4, .params = { KEY, VALUE, CRED } },
  { .name = "del", .n_params = 3, .params = { KEY, CRED } },
  { .name = "ping", .n_params = 2, .params = { CRED } },
  { .name = "keys", .n_params = 3, .params = { { "pattern", FB_PARAM_STRING, false, "*" }, CRED } },
  { .name = "lpush", .n_params = 4, .params = { KEY, VALUE, CRED } },
  { .name = "rpush", .n_params = 4, .params = { KEY, VALUE, CRED } },
  { .name = "lrange", .n_params = 5,
    .params = { KEY, { "start", FB_PARAM_STRING, false, "0" }, { "stop", FB_PARAM_STRING, false, "-1" }, CRED } },
  { .name = "incr", .n_params = 3, .params = { KEY, CRED } },
  { .name = "command", .n_params = 4,
    .params = { { "cmd", FB_PARAM_STRING, false, "" }, { "args", FB_PARAM_LIST, false, NULL }, CRED } },
};

const fb_protocol fb_protocol_redis = {
  .name = "redis",
  .methods = redis_methods,
  .n_methods = sizeof redis_methods / sizeof *redis_methods,
  .methods_hint = "get/set/del/keys/ping/incr/lpush/rpush/lrange/command",
  .step = redis_step,
  .ready = redis_ready,
  .ready_timeout_ms = 2000,
  .framing = &fb_resp_framing,
  .mock = &fb_redis_mock,
};
