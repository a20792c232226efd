/* AMQP 0-9-1 (RabbitMQ) through librabbitmq: publish, consume (a
 * Basic.Get) and declare (a queue) steps, and ready()'s login. Faultbox
 * has no step plugin for amqp, only its proxy and recipes; these steps
 * are ours, named as its kafka and nats steps are. Credentials: the
 * step's user=/password=/vhost=, else RabbitMQ's RABBITMQ_DEFAULT_USER,
 * _PASS and _VHOST from the service's env=, else guest/guest on "/". A
 * broker's exception (a Channel.Close or Connection.Close) is a failed
 * result whose .error reads as Go's amqp091 words it:
 * Exception (404) Reason: "NOT_FOUND - no queue 'x'". */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "protocol/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/time.h"

/* librabbitmq links libssl and libcrypto: loaded on first use
 * (fb_protocol_dlopen says why). */
static struct {
  amqp_connection_state_t (*new_connection) (void);
  amqp_socket_t *(*tcp_socket_new) (amqp_connection_state_t);
  int (*socket_open_noblock) (amqp_socket_t *, const char *, int, const struct timeval *);
  int (*set_handshake_timeout) (amqp_connection_state_t, const struct timeval *);
  int (*set_rpc_timeout) (amqp_connection_state_t, const struct timeval *);
  amqp_rpc_reply_t (*login) (amqp_connection_state_t, const char *, int, int, int, amqp_sasl_method_enum, ...);
  amqp_channel_open_ok_t *(*channel_open) (amqp_connection_state_t, amqp_channel_t);
  amqp_rpc_reply_t (*get_rpc_reply) (amqp_connection_state_t);
  int (*basic_publish) (amqp_connection_state_t, amqp_channel_t, amqp_bytes_t, amqp_bytes_t, amqp_boolean_t,
                        amqp_boolean_t, const struct amqp_basic_properties_t_ *, amqp_bytes_t);
  amqp_queue_declare_ok_t *(*queue_declare) (amqp_connection_state_t, amqp_channel_t, amqp_bytes_t, amqp_boolean_t,
                                             amqp_boolean_t, amqp_boolean_t, amqp_boolean_t, amqp_table_t);
  amqp_rpc_reply_t (*basic_get) (amqp_connection_state_t, amqp_channel_t, amqp_bytes_t, amqp_boolean_t);
  amqp_rpc_reply_t (*read_message) (amqp_connection_state_t, amqp_channel_t, amqp_message_t *, int);
  void (*destroy_message) (amqp_message_t *);
  amqp_rpc_reply_t (*channel_close) (amqp_connection_state_t, amqp_channel_t, int);
  amqp_rpc_reply_t (*connection_close) (amqp_connection_state_t, int);
  int (*destroy_connection) (amqp_connection_state_t);
  const char *(*error_string2) (int);
} rmq;
static char rmq_error[256];
static pthread_once_t rmq_once = PTHREAD_ONCE_INIT;

#define RMQ_SONAME "librabbitmq.so.4"
#define AMQP_TIMEOUT_MS 5000
/* consume polls with Basic.Get this long for a message to arrive */
#define AMQP_CONSUME_MS 5000
#define AMQP_POLL_MS 50

static void
rmq_load (void)
{
#define SYM(field, sym) { sym, (void **) &rmq.field }
  const fb_dl_sym syms[] = {
    SYM (tcp_socket_new, "amqp_tcp_socket_new"), SYM (socket_open_noblock, "amqp_socket_open_noblock"),
    SYM (set_handshake_timeout, "amqp_set_handshake_timeout"), SYM (set_rpc_timeout, "amqp_set_rpc_timeout"),
    SYM (login, "amqp_login"), SYM (channel_open, "amqp_channel_open"), SYM (get_rpc_reply, "amqp_get_rpc_reply"),
    SYM (basic_publish, "amqp_basic_publish"), SYM (queue_declare, "amqp_queue_declare"),
    SYM (basic_get, "amqp_basic_get"), SYM (read_message, "amqp_read_message"),
    SYM (destroy_message, "amqp_destroy_message"), SYM (channel_close, "amqp_channel_close"),
    SYM (connection_close, "amqp_connection_close"), SYM (destroy_connection, "amqp_destroy_connection"),
    SYM (error_string2, "amqp_error_string2"), SYM (new_connection, "amqp_new_connection"),
  };
#undef SYM
  fb_protocol_dlopen (RMQ_SONAME, syms, sizeof syms / sizeof *syms, rmq_error, sizeof rmq_error);
}

static amqp_bytes_t
bytes (const char *s)
{
  return (amqp_bytes_t) { strlen (s), (void *) s };
}

/* What went wrong in an RPC, or NULL when it went right. */
static char *
rpc_why (amqp_rpc_reply_t r, const char *what)
{
  switch (r.reply_type)
    {
    case AMQP_RESPONSE_NORMAL:
      return NULL;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return fb_xasprintf ("%s: %s", what, rmq.error_string2 (r.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD || r.reply.id == AMQP_CHANNEL_CLOSE_METHOD)
        {
          /* both begin with reply_code, reply_text */
          const amqp_connection_close_t *c = r.reply.decoded;
          return fb_xasprintf ("Exception (%u) Reason: \"%.*s\"", c->reply_code, (int) c->reply_text.len,
                               (const char *) c->reply_text.bytes);
        }
      return fb_xasprintf ("%s: the broker answered method 0x%08x", what, r.reply.id);
    default:
      return fb_xasprintf ("%s: no reply", what);
    }
}

typedef struct {
  const char *user, *password, *vhost;
} amqp_creds;

/* A connection logged in with channel 1 open; NULL and *why when not. */
static amqp_connection_state_t
amqp_open (const char *host, int port, const amqp_creds *cr, int64_t timeout_ms, char **why)
{
  pthread_once (&rmq_once, rmq_load);
  if (!rmq.new_connection)
    return *why = fb_xstrdup (rmq_error), NULL;
  amqp_connection_state_t c = rmq.new_connection ();
  amqp_socket_t *s = rmq.tcp_socket_new (c);
  struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
  rmq.set_handshake_timeout (c, &tv);
  rmq.set_rpc_timeout (c, &tv);
  int rc = s ? rmq.socket_open_noblock (s, host, port, &tv) : AMQP_STATUS_NO_MEMORY;
  if (rc != AMQP_STATUS_OK)
    *why = fb_xasprintf ("dial tcp %s:%d: %s", host, port, rmq.error_string2 (rc));
  else if (!(*why = rpc_why (rmq.login (c, cr->vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, cr->user, cr->password),
                             "login")))
    {
      rmq.channel_open (c, 1);
      *why = rpc_why (rmq.get_rpc_reply (c), "channel.open");
    }
  if (*why)
    {
      rmq.destroy_connection (c);
      return NULL;
    }
  return c;
}

static char *
json_take (json_object *j)
{
  char *s = fb_xstrdup (json_object_to_json_string_ext (j, JSON_C_TO_STRING_PLAIN));
  json_object_put (j);
  return s;
}

/* A Basic.Publish; the channel's close that follows is the round trip
 * that says the broker took it (or closed on it). */
static char *
do_publish (amqp_connection_state_t c, const char *exchange, const char *key, const char *data, char **body)
{
  int rc = rmq.basic_publish (c, 1, bytes (exchange), bytes (key), 0, 0, NULL, bytes (data));
  if (rc != AMQP_STATUS_OK)
    return fb_xasprintf ("publish: %s", rmq.error_string2 (rc));
  char *why = rpc_why (rmq.channel_close (c, 1, AMQP_REPLY_SUCCESS), "publish");
  if (why)
    return why;
  json_object *j = json_object_new_object ();
  json_object_object_add (j, "published", json_object_new_boolean (1));
  json_object_object_add (j, "exchange", json_object_new_string (exchange));
  json_object_object_add (j, "routing_key", json_object_new_string (key));
  *body = json_take (j);
  return NULL;
}

static char *
do_declare (amqp_connection_state_t c, const char *queue, char **body)
{
  amqp_queue_declare_ok_t *ok = rmq.queue_declare (c, 1, bytes (queue), 0, 0, 0, 0, (amqp_table_t) { 0, NULL });
  char *why = rpc_why (rmq.get_rpc_reply (c), "queue.declare");
  if (why)
    return why;
  json_object *j = json_object_new_object ();
  json_object_object_add (j, "queue", json_object_new_string_len (ok->queue.bytes, (int) ok->queue.len));
  json_object_object_add (j, "messages", json_object_new_int64 (ok->message_count));
  json_object_object_add (j, "consumers", json_object_new_int64 (ok->consumer_count));
  *body = json_take (j);
  return NULL;
}

/* Basic.Get until a message comes (acknowledged as it is taken). */
static char *
do_consume (amqp_connection_state_t c, const char *queue, char **body)
{
  int64_t deadline = fb_now_ns () + AMQP_CONSUME_MS * FB_NS_PER_MS;
  for (;;)
    {
      amqp_rpc_reply_t r = rmq.basic_get (c, 1, bytes (queue), 1);
      char *why = rpc_why (r, "basic.get");
      if (why)
        return why;
      if (r.reply.id == AMQP_BASIC_GET_OK_METHOD)
        {
          const amqp_basic_get_ok_t *g = r.reply.decoded;
          json_object *j = json_object_new_object ();
          json_object_object_add (j, "queue", json_object_new_string (queue));
          json_object_object_add (j, "exchange", json_object_new_string_len (g->exchange.bytes, (int) g->exchange.len));
          json_object_object_add (j, "routing_key",
                                  json_object_new_string_len (g->routing_key.bytes, (int) g->routing_key.len));
          amqp_message_t m;
          if ((why = rpc_why (rmq.read_message (c, 1, &m, 0), "basic.get")))
            {
              json_object_put (j);
              return why;
            }
          json_object_object_add (j, "body", json_object_new_string_len (m.body.bytes, (int) m.body.len));
          rmq.destroy_message (&m);
          *body = json_take (j);
          return NULL;
        }
      if (fb_now_ns () > deadline)
        return fb_xstrdup ("consume timeout: no message received");
      usleep (AMQP_POLL_MS * 1000);
    }
}

static void
creds_of (const char *user, const char *password, const char *vhost, char *const *env, size_t n_env, amqp_creds *cr)
{
  cr->user = fb_step_credential (user, env, n_env, "RABBITMQ_DEFAULT_USER", "guest");
  cr->password = fb_step_credential (password, env, n_env, "RABBITMQ_DEFAULT_PASS", "guest");
  cr->vhost = fb_step_credential (vhost, env, n_env, "RABBITMQ_DEFAULT_VHOST", "/");
}

static int
amqp_step (const fb_step_call *c, fb_step_result *out, fb_error *err)
{
  const char *m = c->method->name, *queue = fb_step_string (c, "queue"), *key = fb_step_string (c, "routing_key");
  bool publish = !strcmp (m, "publish");
  if (!publish && !*queue)
    return fb_error_set (err, EINVAL, "%s: queue must not be empty (amqp.%s requires queue= argument)", m, m);
  if (publish)
    c->on_send (c->ctx, (const char *const[]) { "method", m, "exchange", fb_step_string (c, "exchange"), "routing_key", key,
                                                "body", fb_step_string (c, "body"), NULL });
  else
    c->on_send (c->ctx, (const char *const[]) { "method", m, "queue", queue, NULL });
  amqp_creds cr;
  creds_of (fb_step_string (c, "user"), fb_step_string (c, "password"), fb_step_string (c, "vhost"), c->env, c->n_env, &cr);
  char *why = NULL;
  int64_t t0 = fb_now_ns ();
  amqp_connection_state_t conn = amqp_open (c->host, c->port, &cr, AMQP_TIMEOUT_MS, &why);
  if (conn)
    {
      if (publish)
        why = do_publish (conn, fb_step_string (c, "exchange"), key, fb_step_string (c, "body"), &out->body);
      else
        why = !strcmp (m, "declare") ? do_declare (conn, queue, &out->body) : do_consume (conn, queue, &out->body);
      /* after a broker's exception the connection is gone: no close to ask for */
      if (!why)
        rmq.connection_close (conn, AMQP_REPLY_SUCCESS);
      rmq.destroy_connection (conn);
    }
  fb_step_finish (out, t0, why, m);
  return 0;
}

static int
amqp_ready (const fb_ready_call *c, fb_error *err)
{
  amqp_creds cr;
  creds_of (NULL, NULL, NULL, c->env, c->n_env, &cr);
  char *why = NULL;
  amqp_connection_state_t conn = amqp_open (c->host, c->port, &cr, c->timeout_ms, &why);
  if (!conn)
    {
      fb_error_set (err, EAGAIN, "%s", why);
      free (why);
      return -1;
    }
  rmq.connection_close (conn, AMQP_REPLY_SUCCESS);
  rmq.destroy_connection (conn);
  return 0;
}

#define CRED                                                                                                 \
  { "user", FB_PARAM_STRING, false, NULL }, { "password", FB_PARAM_STRING, false, NULL },                     \
  { "vhost", FB_PARAM_STRING, false, NULL }
#define QUEUE { "queue", FB_PARAM_STRING, true, NULL }

static const fb_step_method amqp_methods[] = {
  { .name = "publish",
    .n_params = 6,
    .params = { { "routing_key", FB_PARAM_STRING, false, "" }, { "body", FB_PARAM_STRING, false, "" },
                { "exchange", FB_PARAM_STRING, false, "" }, CRED } },
  { .name = "consume", .n_params = 4, .params = { QUEUE, CRED } },
  { .name = "declare", .n_params = 4, .params = { QUEUE, CRED } },
};

const fb_protocol fb_protocol_amqp = {
  .name = "amqp",
  .methods = amqp_methods,
  .n_methods = sizeof amqp_methods / sizeof *amqp_methods,
  .methods_hint = "publish/consume/declare",
  .step = amqp_step,
  .ready = amqp_ready,
  .ready_timeout_ms = 2000,
  .framing = &fb_amqp_framing,
};
