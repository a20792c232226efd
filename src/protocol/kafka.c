/* Kafka through librdkafka: Faultbox's publish (acks=all, waits for the
 * broker's acknowledgement) and consume (one message, the group's
 * committed offset else the topic's first, committed once read), and
 * ready()'s Metadata exchange. Each step owns its client, as Faultbox's,
 * so nothing of one (connections, metadata, threads) outlives it:
 * rd_kafka_destroy joins the threads rd_kafka_new started, in the lab's
 * network namespace the step runs in. */
#include <errno.h>
#include <json-c/json.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/parse.h"
#include "util/time.h"

/* librdkafka links libssl, libsasl2, zstd, lz4: loaded on first use
 * (fb_protocol_dlopen says why). */
static struct {
  rd_kafka_conf_t *(*conf_new) (void);
  rd_kafka_conf_res_t (*conf_set) (rd_kafka_conf_t *, const char *, const char *, char *, size_t);
  void (*conf_destroy) (rd_kafka_conf_t *);
  void (*set_dr_msg_cb) (rd_kafka_conf_t *, void (*) (rd_kafka_t *, const rd_kafka_message_t *, void *));
  void (*set_log_cb) (rd_kafka_conf_t *, void (*) (const rd_kafka_t *, int, const char *, const char *));
  void (*set_error_cb) (rd_kafka_conf_t *, void (*) (rd_kafka_t *, int, const char *, void *));
  void (*set_opaque) (rd_kafka_conf_t *, void *);
  rd_kafka_t *(*new_) (rd_kafka_type_t, rd_kafka_conf_t *, char *, size_t);
  void (*destroy) (rd_kafka_t *);
  rd_kafka_topic_t *(*topic_new) (rd_kafka_t *, const char *, rd_kafka_topic_conf_t *);
  void (*topic_destroy) (rd_kafka_topic_t *);
  int (*produce) (rd_kafka_topic_t *, int32_t, int, void *, size_t, const void *, size_t, void *);
  rd_kafka_resp_err_t (*flush) (rd_kafka_t *, int);
  rd_kafka_resp_err_t (*metadata) (rd_kafka_t *, int, rd_kafka_topic_t *, const struct rd_kafka_metadata **, int);
  void (*metadata_destroy) (const struct rd_kafka_metadata *);
  rd_kafka_topic_partition_list_t *(*list_new) (int);
  rd_kafka_topic_partition_t *(*list_add) (rd_kafka_topic_partition_list_t *, const char *, int32_t);
  void (*list_destroy) (rd_kafka_topic_partition_list_t *);
  rd_kafka_resp_err_t (*assign) (rd_kafka_t *, const rd_kafka_topic_partition_list_t *);
  rd_kafka_message_t *(*consumer_poll) (rd_kafka_t *, int);
  void (*message_destroy) (rd_kafka_message_t *);
  rd_kafka_resp_err_t (*commit_message) (rd_kafka_t *, const rd_kafka_message_t *, int);
  rd_kafka_resp_err_t (*consumer_close) (rd_kafka_t *);
  rd_kafka_resp_err_t (*poll_set_consumer) (rd_kafka_t *);
  const char *(*err2str) (rd_kafka_resp_err_t);
  rd_kafka_resp_err_t (*last_error) (void);
} rk;
static char rk_error[256];
static pthread_once_t rk_once = PTHREAD_ONCE_INIT;

#define RK_SONAME "librdkafka.so.1"
/* Faultbox's consume: reads for 10 s at most; publish: as long, here */
#define KAFKA_STEP_MS 10000

static void
rk_load (void)
{
#define SYM(field, sym) { sym, (void **) &rk.field }
  const fb_dl_sym syms[] = {
    SYM (conf_new, "rd_kafka_conf_new"), SYM (conf_set, "rd_kafka_conf_set"),
    SYM (conf_destroy, "rd_kafka_conf_destroy"), SYM (set_dr_msg_cb, "rd_kafka_conf_set_dr_msg_cb"),
    SYM (set_log_cb, "rd_kafka_conf_set_log_cb"), SYM (set_error_cb, "rd_kafka_conf_set_error_cb"),
    SYM (set_opaque, "rd_kafka_conf_set_opaque"), SYM (new_, "rd_kafka_new"), SYM (destroy, "rd_kafka_destroy"),
    SYM (topic_new, "rd_kafka_topic_new"), SYM (topic_destroy, "rd_kafka_topic_destroy"),
    SYM (produce, "rd_kafka_produce"), SYM (flush, "rd_kafka_flush"), SYM (metadata, "rd_kafka_metadata"),
    SYM (metadata_destroy, "rd_kafka_metadata_destroy"), SYM (list_new, "rd_kafka_topic_partition_list_new"),
    SYM (list_add, "rd_kafka_topic_partition_list_add"),
    SYM (list_destroy, "rd_kafka_topic_partition_list_destroy"), SYM (assign, "rd_kafka_assign"),
    SYM (consumer_poll, "rd_kafka_consumer_poll"), SYM (message_destroy, "rd_kafka_message_destroy"),
    SYM (commit_message, "rd_kafka_commit_message"), SYM (consumer_close, "rd_kafka_consumer_close"),
    SYM (poll_set_consumer, "rd_kafka_poll_set_consumer"), SYM (err2str, "rd_kafka_err2str"),
    SYM (last_error, "rd_kafka_last_error"),
  };
#undef SYM
  fb_protocol_dlopen (RK_SONAME, syms, sizeof syms / sizeof *syms, rk_error, sizeof rk_error);
}

/* What a client's callbacks tell its step. */
typedef struct {
  rd_kafka_resp_err_t delivery;
  bool delivered;
  char last[256];        /* the client's last error: why a step timed out */
} rk_ctx;

/* the library never prints: librdkafka's log lines go nowhere */
static void
rk_log (const rd_kafka_t *h, int level, const char *fac, const char *buf)
{
  (void) h, (void) level, (void) fac, (void) buf;
}

static void
rk_on_error (rd_kafka_t *h, int e, const char *reason, void *opaque)
{
  (void) h, (void) e;
  rk_ctx *x = opaque;
  snprintf (x->last, sizeof x->last, "%s", reason);
}

static void
rk_on_delivery (rd_kafka_t *h, const rd_kafka_message_t *m, void *opaque)
{
  (void) h;
  rk_ctx *x = opaque;
  x->delivery = m->err;
  x->delivered = true;
}

static int
rk_conf (rd_kafka_conf_t *conf, const char *const *kv, char *errstr, size_t size)
{
  for (; *kv; kv += 2)
    if (rk.conf_set (conf, kv[0], kv[1], errstr, size) != RD_KAFKA_CONF_OK)
      return -1;
  return 0;
}

/* A client of host:port with settings kv ("k", "v", ..., NULL); NULL and
 * *why when librdkafka refuses. */
static rd_kafka_t *
rk_client (rd_kafka_type_t type, const char *host, int port, rk_ctx *x, const char *const *kv, char **why)
{
  pthread_once (&rk_once, rk_load);
  if (!rk.new_)
    return *why = fb_xstrdup (rk_error), NULL;
  rd_kafka_conf_t *conf = rk.conf_new ();
  char errstr[512], servers[300];
  snprintf (servers, sizeof servers, "%s:%d", host, port);
  const char *common[] = { "bootstrap.servers", servers, "client.id", "faultbox", "log.connection.close", "false",
                           "socket.connection.setup.timeout.ms", "5000", "reconnect.backoff.max.ms", "500",
                           "api.version.request.timeout.ms", "5000", NULL };
  if (rk_conf (conf, common, errstr, sizeof errstr) < 0 || rk_conf (conf, kv, errstr, sizeof errstr) < 0)
    {
      rk.conf_destroy (conf);
      return *why = fb_xasprintf ("kafka: %s", errstr), NULL;
    }
  rk.set_log_cb (conf, rk_log);
  rk.set_error_cb (conf, rk_on_error);
  rk.set_dr_msg_cb (conf, rk_on_delivery);
  rk.set_opaque (conf, x);
  rd_kafka_t *h = rk.new_ (type, conf, errstr, sizeof errstr);
  if (!h)
    {
      rk.conf_destroy (conf);
      *why = fb_xasprintf ("kafka: %s", errstr);
    }
  return h;
}

/* An error's words, with the client's last complaint when it has one. */
static char *
rk_why (const char *what, rd_kafka_resp_err_t e, const rk_ctx *x)
{
  return x->last[0] ? fb_xasprintf ("kafka %s: %s (%s)", what, rk.err2str (e), x->last)
                    : fb_xasprintf ("kafka %s: %s", what, rk.err2str (e));
}

static int64_t
step_timeout_ms (const fb_step_call *c, fb_error *err)
{
  const char *t = fb_step_string (c, "timeout");
  int64_t ns;
  if (!t || !*t)
    return KAFKA_STEP_MS;
  if (fb_parse_duration (t, &ns, err) < 0 || ns <= 0)
    return fb_error_set (err, EINVAL, "%s: timeout=\"%s\" is not a positive duration", c->method->name, t), -1;
  return ns / FB_NS_PER_MS;
}

static char *
kafka_publish (const fb_step_call *c, const char *topic, int64_t ms, char **body)
{
  char *why = NULL;
  char tmo[24];
  snprintf (tmo, sizeof tmo, "%lld", (long long) ms);
  rk_ctx x = { 0 };
  const char *kv[] = { "acks", "all", "linger.ms", "0", "message.timeout.ms", tmo, "enable.idempotence", "false",
                       NULL };
  rd_kafka_t *h = rk_client (RD_KAFKA_PRODUCER, c->host, c->port, &x, kv, &why);
  if (!h)
    return why;
  rd_kafka_topic_t *t = rk.topic_new (h, topic, NULL);
  const char *data = fb_step_string (c, "data"), *key = fb_step_string (c, "key");
  if (rk.produce (t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *) data, strlen (data), *key ? key : NULL,
                  strlen (key), NULL) < 0)
    why = rk_why ("publish", rk.last_error (), &x);
  else
    {
      rk.flush (h, (int) ms + 1000);
      if (!x.delivered || x.delivery)
        why = rk_why ("publish", x.delivered ? x.delivery : RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, &x);
    }
  rk.topic_destroy (t);
  rk.destroy (h);
  if (!why)
    {
      json_object *j = json_object_new_object ();
      json_object_object_add (j, "published", json_object_new_boolean (1));
      json_object_object_add (j, "topic", json_object_new_string (topic));
      *body = fb_xstrdup (json_object_to_json_string_ext (j, JSON_C_TO_STRING_PLAIN));
      json_object_put (j);
    }
  return why;
}

/* {"topic", "partition", "offset", "key", "value"} of a message. */
static char *
message_json (const rd_kafka_message_t *m, const char *topic)
{
  json_object *j = json_object_new_object ();
  json_object_object_add (j, "topic", json_object_new_string (topic));
  json_object_object_add (j, "partition", json_object_new_int (m->partition));
  json_object_object_add (j, "offset", json_object_new_int64 (m->offset));
  json_object_object_add (j, "key", json_object_new_string_len (m->key ? m->key : "", (int) m->key_len));
  json_object_object_add (j, "value", json_object_new_string_len (m->payload ? m->payload : "", (int) m->len));
  char *s = fb_xstrdup (json_object_to_json_string_ext (j, JSON_C_TO_STRING_PLAIN));
  json_object_put (j);
  return s;
}

/* Every partition of topic, from the group's committed offset (else the
 * first): the topic is made on the way when the broker makes topics. */
static char *
consume_assign (rd_kafka_t *h, const char *topic, int64_t ms, rk_ctx *x)
{
  rd_kafka_topic_t *t = rk.topic_new (h, topic, NULL);
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t e = rk.metadata (h, 0, t, &md, (int) ms);
  rk.topic_destroy (t);
  if (e)
    return rk_why ("consume", e, x);
  int n = md->topic_cnt == 1 && !md->topics[0].err ? md->topics[0].partition_cnt : 0;
  e = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
  rk.metadata_destroy (md);
  if (!n)
    return rk_why ("consume", e ? e : RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, x);
  rd_kafka_topic_partition_list_t *l = rk.list_new (n);
  for (int i = 0; i < n; i++)
    rk.list_add (l, topic, i)->offset = RD_KAFKA_OFFSET_STORED;
  e = rk.assign (h, l);
  rk.list_destroy (l);
  return e ? rk_why ("consume", e, x) : NULL;
}

/* Faultbox's default group is per run and test; a consume here runs
 * against a broker made for its test, so one per process does. */
static void
default_group (char *g, size_t size)
{
  snprintf (g, size, "faultbox-%08x", (unsigned) getpid () * 2654435761u);
}

static char *
kafka_consume (const fb_step_call *c, const char *topic, int64_t ms, char **body)
{
  char *why = NULL;
  const char *group = fb_step_string (c, "group");
  char dflt[32];
  default_group (dflt, sizeof dflt);
  rk_ctx x = { 0 };
  const char *kv[] = { "group.id", group && *group ? group : dflt, "enable.auto.commit", "false",
                       "auto.offset.reset", "earliest", "fetch.wait.max.ms", "100", NULL };
  rd_kafka_t *h = rk_client (RD_KAFKA_CONSUMER, c->host, c->port, &x, kv, &why);
  if (!h)
    return why;
  rk.poll_set_consumer (h);
  int64_t deadline = fb_now_ns () + ms * FB_NS_PER_MS;
  why = consume_assign (h, topic, ms, &x);
  while (!why)
    {
      int64_t left = (deadline - fb_now_ns ()) / FB_NS_PER_MS;
      if (left <= 0)
        {
          why = x.last[0] ? fb_xasprintf ("kafka consume: no message within %lld ms (%s)", (long long) ms, x.last)
                          : fb_xasprintf ("kafka consume: no message within %lld ms", (long long) ms);
          break;
        }
      rd_kafka_message_t *m = rk.consumer_poll (h, left < 100 ? (int) left : 100);
      if (!m)
        continue;
      if (!m->err)
        {
          rd_kafka_resp_err_t e = rk.commit_message (h, m, 0);
          if (e)
            why = rk_why ("consume: commit", e, &x);
          else
            *body = message_json (m, topic);
          rk.message_destroy (m);
          break;
        }
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        snprintf (x.last, sizeof x.last, "%s", rk.err2str (m->err));
      rk.message_destroy (m);
    }
  rk.consumer_close (h);
  rk.destroy (h);
  return why;
}

static int
kafka_step (const fb_step_call *c, fb_step_result *out, fb_error *err)
{
  const char *m = c->method->name, *topic = fb_step_string (c, "topic");
  if (!*topic)
    return fb_error_set (err, EINVAL, "%s: topic must not be empty (kafka.%s requires topic= argument)", m, m);
  int64_t ms = step_timeout_ms (c, err);
  if (ms < 0)
    return -1;
  /* Faultbox's step_send names topic= and key=, not data= */
  const char *key = fb_step_string (c, "key");
  c->on_send (c->ctx, (const char *const[]) { "method", m, "topic", topic, key && *key ? "key" : NULL, key, NULL });
  int64_t t0 = fb_now_ns ();
  char *why = !strcmp (m, "publish") ? kafka_publish (c, topic, ms, &out->body)
                                     : kafka_consume (c, topic, ms, &out->body);
  fb_step_finish (out, t0, why, m);
  return 0;
}

/* The broker answers Metadata. */
static int
kafka_ready (const fb_ready_call *c, fb_error *err)
{
  char *why = NULL;
  rk_ctx x = { 0 };
  rd_kafka_t *h = rk_client (RD_KAFKA_PRODUCER, c->host, c->port, &x, (const char *const[]) { NULL }, &why);
  if (h)
    {
      const struct rd_kafka_metadata *md = NULL;
      rd_kafka_resp_err_t e = rk.metadata (h, 1, NULL, &md, (int) c->timeout_ms);
      if (e)
        why = rk_why ("not ready", e, &x);
      else
        rk.metadata_destroy (md);
      rk.destroy (h);
    }
  if (!why)
    return 0;
  fb_error_set (err, EAGAIN, "%s", why);
  free (why);
  return -1;
}

#define TOPIC { "topic", FB_PARAM_STRING, false, "" }
#define TIMEOUT { "timeout", FB_PARAM_STRING, false, NULL }

static const fb_step_method kafka_methods[] = {
  { .name = "publish", .n_params = 4, .params = { TOPIC, { "data", FB_PARAM_STRING, false, "" },
                                                  { "key", FB_PARAM_STRING, false, "" }, TIMEOUT } },
  { .name = "consume", .n_params = 3, .params = { TOPIC, { "group", FB_PARAM_STRING, false, "" }, TIMEOUT } },
};

const fb_protocol fb_protocol_kafka = {
  .name = "kafka",
  .methods = kafka_methods,
  .n_methods = sizeof kafka_methods / sizeof *kafka_methods,
  .methods_hint = "publish/consume",
  .step = kafka_step,
  .ready = kafka_ready,
  .ready_timeout_ms = 3000,
  .framing = &fb_kafka_framing,
  .mock = &fb_kafka_mock,
};
