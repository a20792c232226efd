/* NATS: Faultbox's steps (publish, request, subscribe) and ready()'s
 * connect-and-flush, spoken in NATS's text protocol with the parser the
 * proxy frames it with (nats_frame.c). Not through cnats (libnats): it
 * starts library-wide threads (timers, garbage collection, a delivery
 * thread per subscription) that outlive a step and the lab it ran in,
 * keeps global state until nats_Close, and links OpenSSL and protobuf-c,
 * for three exchanges of a few lines each. */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protocol/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/time.h"

/* Faultbox's: connect 5 s, request 5 s, subscribe 10 s */
#define NATS_DIAL_MS 5000
#define NATS_REQUEST_MS 5000
#define NATS_SUBSCRIBE_MS 10000

typedef struct {
  int fd;
  fb_buf in;
  size_t used;       /* bytes of in the last operation read took */
  int64_t deadline;  /* for everything from now on */
} nats_conn;

static void
nats_close (nats_conn *c)
{
  if (c->fd >= 0)
    close (c->fd);
  c->fd = -1;
  fb_buf_free (&c->in);
}

/* Waits for fd until the connection's deadline; false: it passed. */
static bool
nats_wait (nats_conn *c, short events)
{
  int64_t left = (c->deadline - fb_now_ns ()) / FB_NS_PER_MS;
  struct pollfd p = { .fd = c->fd, .events = events };
  return left > 0 && poll (&p, 1, (int) left) > 0;
}

static int
nats_send (nats_conn *c, const char *p, size_t n, char **why)
{
  while (n)
    {
      ssize_t k = send (c->fd, p, n, MSG_NOSIGNAL);
      if (k < 0 && (errno == EAGAIN || errno == EINTR))
        {
          if (!nats_wait (c, POLLOUT))
            return *why = fb_xstrdup ("nats: timeout"), -1;
          continue;
        }
      if (k < 0)
        return *why = fb_xasprintf ("write: %s", strerror (errno)), -1;
      p += k;
      n -= (size_t) k;
    }
  return 0;
}

/* A server's -ERR 'Text' as an error: "nats: Text". */
static char *
nats_err (const fb_nats_op *o)
{
  const char *a = o->args;
  size_t n = o->args_len;
  if (n >= 2 && a[0] == '\'' && a[n - 1] == '\'')
    a++, n -= 2;
  return fb_xasprintf ("nats: %.*s", (int) n, a);
}

/* The server's next operation, PINGs answered on the way; -1 and *why on
 * a timeout, a closed connection, an -ERR or bytes that are not NATS. */
static int
nats_read (nats_conn *c, fb_nats_op *o, char **why)
{
  for (;;)
    {
      if (c->used)
        {
          memmove (c->in.data, c->in.data + c->used, c->in.len - c->used);
          c->in.len -= c->used;
          c->used = 0;
        }
      fb_error e = { 0 };
      fb_frame_rc rc = c->in.len ? fb_nats_next (c->in.data, c->in.len, o, &e) : FB_FRAME_PARTIAL;
      if (rc == FB_FRAME_BAD)
        return *why = fb_xasprintf ("nats: %s", e.msg), -1;
      if (rc == FB_FRAME_OK)
        {
          c->used = o->len;
          if (!strcmp (o->op, "-ERR"))
            return *why = nats_err (o), -1;
          if (strcmp (o->op, "PING"))
            return 0;
          if (nats_send (c, "PONG\r\n", 6, why) < 0)
            return -1;
          continue;
        }
      fb_buf_reserve (&c->in, 4096);
      ssize_t k = recv (c->fd, c->in.data + c->in.len, 4096, 0);
      if (k > 0)
        c->in.len += (size_t) k;
      else if (k == 0)
        return *why = fb_xstrdup ("nats: connection closed"), -1;
      else if (errno != EAGAIN && errno != EINTR)
        return *why = fb_xasprintf ("read: %s", strerror (errno)), -1;
      else if (!nats_wait (c, POLLIN))
        return *why = fb_xstrdup ("nats: timeout"), -1;
    }
}

/* Reads until an operation named op (others, e.g. +OK, are skipped). */
static int
nats_expect (nats_conn *c, const char *op, fb_nats_op *o, char **why)
{
  do
    if (nats_read (c, o, why) < 0)
      return -1;
  while (strcmp (o->op, op));
  return 0;
}

/* PING, then the PONG that says the server took everything before it. */
static int
nats_flush (nats_conn *c, char **why)
{
  fb_nats_op o;
  return nats_send (c, "PING\r\n", 6, why) < 0 ? -1 : nats_expect (c, "PONG", &o, why);
}

/* Connects: INFO, CONNECT (credentials when given), then a flush. */
static int
nats_open (nats_conn *c, const char *host, int port, const char *user, const char *password, int64_t timeout_ms,
           char **why)
{
  c->fd = fb_tcp_dial (host, port, timeout_ms);
  if (c->fd < 0)
    return *why = fb_xasprintf ("dial tcp %s:%d: %s", host, port, strerror (-c->fd)), -1;
  c->deadline = fb_now_ns () + timeout_ms * FB_NS_PER_MS;
  fb_nats_op o;
  if (nats_read (c, &o, why) < 0)
    return -1;
  if (strcmp (o.op, "INFO"))
    return *why = fb_xasprintf ("nats: the server began with %s, not INFO", o.op), -1;
  json_object *j = json_object_new_object ();
  json_object_object_add (j, "verbose", json_object_new_boolean (0));
  json_object_object_add (j, "pedantic", json_object_new_boolean (0));
  json_object_object_add (j, "name", json_object_new_string ("faultbox"));
  json_object_object_add (j, "lang", json_object_new_string ("c"));
  json_object_object_add (j, "protocol", json_object_new_int (1));
  /* an HMSG "503" answers a request nobody subscribes to at once */
  json_object_object_add (j, "headers", json_object_new_boolean (1));
  json_object_object_add (j, "no_responders", json_object_new_boolean (1));
  if (user && *user)
    json_object_object_add (j, "user", json_object_new_string (user));
  if (password && *password)
    json_object_object_add (j, "pass", json_object_new_string (password));
  _cleanup_free_ char *line = fb_xasprintf ("CONNECT %s\r\n", json_object_to_json_string_ext (j, JSON_C_TO_STRING_PLAIN));
  json_object_put (j);
  if (nats_send (c, line, strlen (line), why) < 0)
    return -1;
  return nats_flush (c, why);
}

static int
nats_pub (nats_conn *c, const char *subject, const char *reply, const char *data, char **why)
{
  _cleanup_free_ char *head = fb_xasprintf ("PUB %s%s%s %zu\r\n", subject, reply ? " " : "", reply ? reply : "",
                                            strlen (data));
  if (nats_send (c, head, strlen (head), why) < 0 || nats_send (c, data, strlen (data), why) < 0)
    return -1;
  return nats_send (c, "\r\n", 2, why);
}

/* The next MSG or HMSG for subscription sid: its subject and payload (an
 * HMSG's headers skipped; a 503 status means no responders). */
static int
nats_next_msg (nats_conn *c, const char *sid, char **subject, char **data, char **why)
{
  for (;;)
    {
      fb_nats_op o;
      if (nats_read (c, &o, why) < 0)
        return -1;
      bool h = !strcmp (o.op, "HMSG");
      const char *w, *s;
      size_t sl = fb_nats_word (&o, 0, &s);
      size_t wl = fb_nats_word (&o, 1, &w);
      if ((!h && strcmp (o.op, "MSG")) || wl != strlen (sid) || strncmp (w, sid, wl))
        continue;
      size_t hl = 0;
      if (h)
        {
          /* HMSG subject sid [reply] hdr_len total_len: hdr_len is the second last word */
          size_t n = 0;
          while (fb_nats_word (&o, n, &w))
            n++;
          fb_nats_word (&o, n - 2, &w);
          hl = (size_t) strtoull (w, NULL, 10);
          if (hl > o.payload_len)
            return *why = fb_xstrdup ("nats: header size past the message"), -1;
          if (!strncmp (o.payload, "NATS/1.0 503", 12))
            return *why = fb_xstrdup ("nats: no responders available for request"), -1;
        }
      *subject = fb_xstrndup (s, sl);
      *data = fb_xstrndup (o.payload + hl, o.payload_len - hl);
      return 0;
    }
}

/* {"subject": ..., "data": ...} */
static char *
msg_json (const char *subject, const char *data)
{
  json_object *j = json_object_new_object ();
  json_object_object_add (j, "subject", json_object_new_string (subject));
  json_object_object_add (j, "data", json_object_new_string (data));
  char *s = fb_xstrdup (json_object_to_json_string_ext (j, JSON_C_TO_STRING_PLAIN));
  json_object_put (j);
  return s;
}

/* One method on an open connection: the body, or -1 and *why. */
static int
nats_call (nats_conn *c, const char *method, const char *subject, const char *data, char **body, char **why)
{
  if (!strcmp (method, "publish"))
    {
      if (nats_pub (c, subject, NULL, data, why) < 0 || nats_flush (c, why) < 0)
        {
          char *w = fb_xasprintf ("publish not confirmed by server: %s", *why);
          free (*why);
          *why = w;
          return -1;
        }
      json_object *j = json_object_new_object ();
      json_object_object_add (j, "published", json_object_new_boolean (1));
      json_object_object_add (j, "subject", json_object_new_string (subject));
      *body = fb_xstrdup (json_object_to_json_string_ext (j, JSON_C_TO_STRING_PLAIN));
      json_object_put (j);
      return 0;
    }
  _cleanup_free_ char *got_subject = NULL, *got = NULL;
  if (!strcmp (method, "request"))
    {
      char inbox[64];
      snprintf (inbox, sizeof inbox, "_INBOX.faultbox.%d.%llx", (int) getpid (), (unsigned long long) fb_now_ns ());
      _cleanup_free_ char *sub = fb_xasprintf ("SUB %s 1\r\n", inbox);
      c->deadline = fb_now_ns () + NATS_REQUEST_MS * FB_NS_PER_MS;
      if (nats_send (c, sub, strlen (sub), why) < 0 || nats_pub (c, subject, inbox, data, why) < 0
          || nats_next_msg (c, "1", &got_subject, &got, why) < 0)
        return -1;
      /* as Faultbox's docs show it: the subject asked, with the reply's data */
      *body = msg_json (subject, got);
      return 0;
    }
  _cleanup_free_ char *sub = fb_xasprintf ("SUB %s 1\r\n", subject);
  c->deadline = fb_now_ns () + NATS_SUBSCRIBE_MS * FB_NS_PER_MS;
  if (nats_send (c, sub, strlen (sub), why) < 0 || nats_flush (c, why) < 0)
    return -1;
  if (nats_next_msg (c, "1", &got_subject, &got, why) < 0)
    {
      if (!strcmp (*why, "nats: timeout"))
        {
          free (*why);
          *why = fb_xstrdup ("subscribe timeout: no message received");
        }
      return -1;
    }
  *body = msg_json (got_subject, got);
  return 0;
}

static int
nats_step (const fb_step_call *c, fb_step_result *out, fb_error *err)
{
  const char *m = c->method->name, *subject = fb_step_arg_by_name (c, "subject"), *data = fb_step_arg_by_name (c, "data");
  if (!*subject)
    return fb_error_set (err, EINVAL, "%s: subject must not be empty (nats.%s requires subject= argument)", m, m);
  c->on_send (c->ctx, (const char *const[]) { "method", m, "subject", subject, data ? "data" : NULL, data, NULL });
  char *why = NULL;
  nats_conn nc = { .fd = -1 };
  int64_t t0 = fb_now_ns ();
  if (nats_open (&nc, c->host, c->port, fb_step_arg_by_name (c, "user"), fb_step_arg_by_name (c, "password"), NATS_DIAL_MS, &why) == 0)
    nats_call (&nc, m, subject, data, &out->body, &why);
  nats_close (&nc);
  out->duration_ms = (fb_now_ns () - t0) / FB_NS_PER_MS;
  if (why)
    fb_step_fail (out, why);
  free (why);
  fb_step_outcome (out, m);
  return 0;
}

static int
nats_ready (const fb_ready_call *c, fb_error *err)
{
  char *why = NULL;
  nats_conn nc = { .fd = -1 };
  int rc = nats_open (&nc, c->host, c->port, NULL, NULL, c->timeout_ms, &why);
  nats_close (&nc);
  if (rc < 0)
    fb_error_set (err, EAGAIN, "%s", why);
  free (why);
  return rc;
}

#define SUBJECT { "subject", FB_PARAM_STRING, false, "" }
#define DATA { "data", FB_PARAM_STRING, false, "" }
#define CRED { "user", FB_PARAM_STRING, false, NULL }, { "password", FB_PARAM_STRING, false, NULL }

static const fb_step_method nats_methods[] = {
  { .name = "publish", .n_params = 4, .params = { SUBJECT, DATA, CRED } },
  { .name = "request", .n_params = 4, .params = { SUBJECT, DATA, CRED } },
  { .name = "subscribe", .n_params = 3, .params = { SUBJECT, CRED } },
};

const fb_protocol fb_protocol_nats = {
  .name = "nats",
  .methods = nats_methods,
  .n_methods = sizeof nats_methods / sizeof *nats_methods,
  .methods_hint = "publish/request/subscribe",
  .step = nats_step,
  .ready = nats_ready,
  .ready_timeout_ms = 2000,
  .framing = &fb_nats_framing,
};
