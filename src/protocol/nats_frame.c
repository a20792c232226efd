/* NATS's text protocol (https://docs.nats.io/reference/reference-protocols/nats-protocol):
 * CRLF-ended control lines, of which PUB/HPUB (client to server) and
 * MSG/HMSG (server to client) carry a payload whose size is their last
 * word. One parser, fb_nats_next, serves the proxy's framing and the step
 * client (nats.c). Rules see PUB and HPUB by subject (topic=), and the
 * server's MSG and HMSG (as Faultbox's proxy: direction "deliver"); every
 * other line (CONNECT with its credentials, SUB, PING, ...) passes through.
 * Nothing a client sends pairs with a reply (PONG and -ERR come as the
 * server pleases, MSG whenever a subscription matches), so every message
 * is no_reply and the server's lines reach the client in their order. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/internal.h"
#include "faultbox/buf.h"

/* nats-server's max_control_line is 4 KiB; a JWT in CONNECT may be more */
#define NATS_MAX_LINE (64 * 1024)
/* nats-server's largest max_payload */
#define NATS_MAX_PAYLOAD (64LL * 1024 * 1024)

/* The next whitespace-separated word of s[*i..n), or 0 bytes at the end. */
static size_t
next_word (const char *s, size_t n, size_t *i, const char **w)
{
  while (*i < n && (s[*i] == ' ' || s[*i] == '\t'))
    (*i)++;
  *w = s + *i;
  size_t st = *i;
  while (*i < n && s[*i] != ' ' && s[*i] != '\t')
    (*i)++;
  return *i - st;
}

static bool
has_payload (const char *op)
{
  return !strcmp (op, "PUB") || !strcmp (op, "HPUB") || !strcmp (op, "MSG") || !strcmp (op, "HMSG");
}

/* The payload's size: the line's last word. */
static fb_frame_rc
payload_size (const fb_nats_op *o, long long *n, fb_error *err)
{
  size_t e = o->args_len;
  while (e && (o->args[e - 1] == ' ' || o->args[e - 1] == '\t'))
    e--;
  size_t s = e;
  while (s && o->args[s - 1] != ' ' && o->args[s - 1] != '\t')
    s--;
  char num[24];
  if (e == s || e - s >= sizeof num)
    return fb_error_set (err, EPROTO, "NATS: %s without a payload size", o->op), FB_FRAME_BAD;
  memcpy (num, o->args + s, e - s);
  num[e - s] = '\0';
  char *end;
  *n = strtoll (num, &end, 10);
  if (*end || *n < 0 || *n > NATS_MAX_PAYLOAD)
    return fb_error_set (err, EPROTO, "NATS: %s payload size \"%s\"", o->op, num), FB_FRAME_BAD;
  return FB_FRAME_OK;
}

fb_frame_rc
fb_nats_next (const char *buf, size_t len, fb_nats_op *o, fb_error *err)
{
  memset (o, 0, sizeof *o);
  const char *nl = memchr (buf, '\n', len);
  if (!nl)
    return len > NATS_MAX_LINE
               ? (fb_error_set (err, EMSGSIZE, "NATS: control line over %d bytes", NATS_MAX_LINE), FB_FRAME_BAD)
               : FB_FRAME_PARTIAL;
  size_t ln = (size_t) (nl - buf), next = ln + 1;
  if (ln && buf[ln - 1] == '\r')
    ln--;
  size_t i = 0;
  const char *w;
  size_t wl = next_word (buf, ln, &i, &w);
  if (!wl || wl >= sizeof o->op)
    return fb_error_set (err, EPROTO, "NATS: \"%.*s\" is no protocol operation", (int) (wl > 16 ? 16 : wl), w),
           FB_FRAME_BAD;
  for (size_t k = 0; k < wl; k++)
    o->op[k] = (char) toupper ((unsigned char) w[k]);
  if (!isalpha ((unsigned char) o->op[0]) && o->op[0] != '+' && o->op[0] != '-')
    return fb_error_set (err, EPROTO, "NATS: \"%s\" is no protocol operation", o->op), FB_FRAME_BAD;
  while (i < ln && (buf[i] == ' ' || buf[i] == '\t'))
    i++;
  o->args = buf + i;
  o->args_len = ln - i;
  o->len = next;
  if (!has_payload (o->op))
    return FB_FRAME_OK;
  long long n;
  if (payload_size (o, &n, err) < 0)
    return FB_FRAME_BAD;
  if (len - next < (size_t) n + 2)
    return FB_FRAME_PARTIAL;
  if (buf[next + (size_t) n] != '\r' || buf[next + (size_t) n + 1] != '\n')
    return fb_error_set (err, EPROTO, "NATS: %s payload not followed by CRLF", o->op), FB_FRAME_BAD;
  o->payload = buf + next;
  o->payload_len = (size_t) n;
  o->len = next + (size_t) n + 2;
  return FB_FRAME_OK;
}

size_t
fb_nats_word (const fb_nats_op *o, size_t k, const char **w)
{
  size_t i = 0, n = 0;
  for (size_t j = 0; j <= k; j++)
    n = next_word (o->args, o->args_len, &i, w);
  return n;
}

static void
put_subject (const fb_nats_op *o, fb_msg *m)
{
  const char *w;
  size_t n = fb_nats_word (o, 0, &w);
  if (n >= sizeof m->target)
    n = sizeof m->target - 1;
  memcpy (m->target, w, n);
  m->target[n] = '\0';
}

static fb_frame_rc
nats_frame_request (void *st, const char *buf, size_t len, fb_msg *m, fb_error *err)
{
  (void) st;
  memset (m, 0, sizeof *m);
  fb_nats_op o;
  fb_frame_rc rc = fb_nats_next (buf, len, &o, err);
  if (rc != FB_FRAME_OK)
    return rc;
  m->len = o.len;
  m->no_reply = true;
  if (strcmp (o.op, "PUB") && strcmp (o.op, "HPUB"))
    {
      m->passthrough = true;
      return FB_FRAME_OK;
    }
  snprintf (m->verb, sizeof m->verb, "publish");
  put_subject (&o, m);
  return FB_FRAME_OK;
}

static fb_frame_rc
nats_frame_response (void *st, const char *buf, size_t len, const fb_msg *req, fb_msg *m, fb_error *err)
{
  (void) st;
  (void) req;
  memset (m, 0, sizeof *m);
  fb_nats_op o;
  fb_frame_rc rc = fb_nats_next (buf, len, &o, err);
  if (rc != FB_FRAME_OK)
    return rc;
  m->len = o.len;
  if (!strcmp (o.op, "MSG") || !strcmp (o.op, "HMSG"))
    {
      snprintf (m->verb, sizeof m->verb, "deliver");
      put_subject (&o, m);
    }
  return FB_FRAME_OK;
}

/* error(): the -ERR line a NATS server sends, in place of the PUB (which
 * the server never sees): clients surface its text as the error. */
static char *
nats_reply (void *st, const fb_reply *r, const fb_msg *req, size_t *len)
{
  (void) st;
  (void) req;
  const char *msg = r->message && *r->message ? r->message : fb_nats_framing.default_error;
  fb_buf out = FB_BUF_INIT;
  fb_buf_puts (&out, "-ERR '");
  for (const char *c = msg; *c; c++)
    fb_buf_putc (&out, *c == '\r' || *c == '\n' || *c == '\'' ? ' ' : *c);
  fb_buf_puts (&out, "'\r\n");
  *len = out.len;
  return fb_buf_steal (&out);
}

static const char *const nats_matchers[] = { "topic", NULL };

const fb_framing fb_nats_framing = {
  .request = nats_frame_request,
  .response = nats_frame_response,
  .reply = nats_reply,
  .matchers = nats_matchers,
  .event_verb = "direction",
  .event_target = "subject",
  .default_error = "injected fault",
  .no_respond = true,
  .drop_message = true,
  .deliveries = true,
};
