/* AMQP 0-9-1 framing for the proxy (https://www.rabbitmq.com/resources/specs/amqp0-9-1.pdf, 4.2):
 * after the client's 8-byte protocol header, frames of type, channel,
 * size, payload and the end octet 0xCE. Rules see what Faultbox's proxy
 * sees, a Basic.Publish, by its routing key (its exchange when the key is
 * empty) as topic=; here the publish is its method frame with the content
 * header and body frames that follow it, so drop() discards the whole
 * message and delay() holds it whole. Every other frame passes through.
 * Nothing a client sends pairs with a reply (a publish has none, and the
 * server speaks on any channel when it pleases), so every message is
 * no_reply and the server's frames reach the client in their order.
 * error() answers as a broker does: a Connection.Close with the reply
 * code its message names (CHANNEL_ERROR - ...: 504), then the proxy
 * closes the connection. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/internal.h"
#include "faultbox/buf.h"

#define AMQP_FRAME_METHOD 1
#define AMQP_FRAME_HEADER 2
#define AMQP_FRAME_BODY 3
#define AMQP_FRAME_END 0xCE
/* RabbitMQ's largest frame_max */
#define AMQP_MAX_FRAME (128u * 1024 * 1024)

typedef struct {
  uint8_t type;
  uint16_t channel;
  const uint8_t *payload;
  uint32_t size;
  size_t len;   /* the whole frame */
} amqp_frame;

static uint32_t
be32 (const uint8_t *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* The frame at buf[0..len). */
static fb_frame_rc
frame_at (const char *buf, size_t len, amqp_frame *f, fb_error *err)
{
  const uint8_t *p = (const uint8_t *) buf;
  if (len < 7)
    return FB_FRAME_PARTIAL;
  f->type = p[0];
  f->channel = (uint16_t) (p[1] << 8 | p[2]);
  f->size = be32 (p + 3);
  if (f->type != AMQP_FRAME_METHOD && f->type != AMQP_FRAME_HEADER && f->type != AMQP_FRAME_BODY && f->type != 8)
    return fb_error_set (err, EPROTO, "AMQP: frame type %u", f->type), FB_FRAME_BAD;
  if (f->size > AMQP_MAX_FRAME)
    return fb_error_set (err, EMSGSIZE, "AMQP: a frame of %u bytes", f->size), FB_FRAME_BAD;
  if (len < 8 + (size_t) f->size)
    return FB_FRAME_PARTIAL;
  if (p[7 + f->size] != AMQP_FRAME_END)
    return fb_error_set (err, EPROTO, "AMQP: frame without its end octet"), FB_FRAME_BAD;
  f->payload = p + 7;
  f->len = 8 + (size_t) f->size;
  return FB_FRAME_OK;
}

/* The 8-byte "AMQP" protocol header a connection begins with (a server
 * that wants another version answers with its own). */
static fb_frame_rc
protocol_header (const char *buf, size_t len, fb_msg *m, fb_error *err)
{
  if (memcmp (buf, "AMQP", len < 4 ? len : 4))
    return fb_error_set (err, EPROTO, "AMQP: no protocol header"), FB_FRAME_BAD;
  if (len < 8)
    return FB_FRAME_PARTIAL;
  m->len = 8;
  return FB_FRAME_OK;
}

/* A short string of a method's arguments at *i, copied into dst (cut to
 * cap); false past the payload. */
static bool
shortstr (const amqp_frame *f, size_t *i, char *dst, size_t cap)
{
  if (*i >= f->size || *i + 1 + f->payload[*i] > f->size)
    return false;
  size_t n = f->payload[*i];
  size_t k = n < cap - 1 ? n : cap - 1;
  memcpy (dst, f->payload + *i + 1, k);
  dst[k] = '\0';
  *i += 1 + n;
  return true;
}

static bool
is_publish (const amqp_frame *f)
{
  /* class 60 (basic), method 40 (publish) */
  return f->type == AMQP_FRAME_METHOD && f->size >= 4 && f->payload[0] == 0 && f->payload[1] == 60
         && f->payload[2] == 0 && f->payload[3] == 40;
}

/* The content of a publish on f->channel after its method frame at
 * buf[0..len): its header frame, whose body size says how many body
 * frames follow. *end: where the message ends. */
static fb_frame_rc
content_end (const char *buf, size_t len, const amqp_frame *method, size_t *end, fb_error *err)
{
  amqp_frame h;
  size_t at = method->len;
  fb_frame_rc rc = frame_at (buf + at, len - at, &h, err);
  if (rc != FB_FRAME_OK)
    return rc;
  /* no content header: the publish is the method alone (the server will say what it thinks of that) */
  if (h.type != AMQP_FRAME_HEADER || h.channel != method->channel || h.size < 12)
    return *end = at, FB_FRAME_OK;
  uint64_t body = (uint64_t) be32 (h.payload + 4) << 32 | be32 (h.payload + 8), got = 0;
  at += h.len;
  while (got < body)
    {
      amqp_frame b;
      if ((rc = frame_at (buf + at, len - at, &b, err)) != FB_FRAME_OK)
        return rc;
      if (b.type != AMQP_FRAME_BODY || b.channel != method->channel)
        break;
      got += b.size;
      at += b.len;
    }
  *end = at;
  return FB_FRAME_OK;
}

static fb_frame_rc
amqp_frame_request (void *st, const char *buf, size_t len, fb_msg *m, fb_error *err)
{
  (void) st;
  memset (m, 0, sizeof *m);
  m->no_reply = true;
  m->passthrough = true;
  if (len && buf[0] == 'A')
    return protocol_header (buf, len, m, err);
  amqp_frame f;
  fb_frame_rc rc = frame_at (buf, len, &f, err);
  if (rc != FB_FRAME_OK)
    return rc;
  m->len = f.len;
  if (!is_publish (&f))
    return FB_FRAME_OK;
  /* reserved short, exchange, routing key */
  size_t i = 6;
  char exchange[256] = "";
  if (!shortstr (&f, &i, exchange, sizeof exchange) || !shortstr (&f, &i, m->target, sizeof m->target))
    return fb_error_set (err, EPROTO, "AMQP: Basic.Publish cut short"), FB_FRAME_BAD;
  if (!m->target[0])
    snprintf (m->target, sizeof m->target, "%s", exchange);
  if ((rc = content_end (buf, len, &f, &m->len, err)) != FB_FRAME_OK)
    return rc;
  snprintf (m->verb, sizeof m->verb, "publish");
  m->passthrough = false;
  return FB_FRAME_OK;
}

static fb_frame_rc
amqp_frame_response (void *st, const char *buf, size_t len, const fb_msg *req, fb_msg *m, fb_error *err)
{
  (void) st;
  (void) req;
  memset (m, 0, sizeof *m);
  if (len && buf[0] == 'A')
    return protocol_header (buf, len, m, err);
  amqp_frame f;
  fb_frame_rc rc = frame_at (buf, len, &f, err);
  if (rc == FB_FRAME_OK)
    m->len = f.len;
  return rc;
}

/* AMQP 0-9-1's reply codes by name, as a broker's reply text begins:
 * "CHANNEL_ERROR - precondition failed". */
static const struct {
  const char *name;
  int code;
} reply_codes[] = {
  { "CONTENT_TOO_LARGE", 311 }, { "NO_ROUTE", 312 },        { "NO_CONSUMERS", 313 },     { "CONNECTION_FORCED", 320 },
  { "INVALID_PATH", 402 },      { "ACCESS_REFUSED", 403 },  { "NOT_FOUND", 404 },        { "RESOURCE_LOCKED", 405 },
  { "PRECONDITION_FAILED", 406 }, { "FRAME_ERROR", 501 },   { "SYNTAX_ERROR", 502 },     { "COMMAND_INVALID", 503 },
  { "CHANNEL_ERROR", 504 },     { "UNEXPECTED_FRAME", 505 }, { "RESOURCE_ERROR", 506 },  { "NOT_ALLOWED", 530 },
  { "NOT_IMPLEMENTED", 540 },   { "INTERNAL_ERROR", 541 },
};

int
fb_amqp_reply_code (const char *text)
{
  size_t n = strcspn (text, " -");
  for (size_t i = 0; i < sizeof reply_codes / sizeof *reply_codes; i++)
    if (strlen (reply_codes[i].name) == n && !strncmp (reply_codes[i].name, text, n))
      return reply_codes[i].code;
  return 541;
}

static void
put16 (fb_buf *b, unsigned v)
{
  fb_buf_putc (b, (char) (v >> 8));
  fb_buf_putc (b, (char) v);
}

/* error(): Connection.Close (class 10, method 50) naming the publish
 * (60, 40) as the method that failed; the code is status= when given. */
static char *
amqp_reply (void *st, const fb_reply *r, const fb_msg *req, size_t *len)
{
  (void) st;
  (void) req;
  const char *text = r->message && *r->message ? r->message : fb_amqp_framing.default_error;
  size_t tl = strlen (text) < 255 ? strlen (text) : 255;
  fb_buf p = FB_BUF_INIT;
  put16 (&p, 10), put16 (&p, 50);
  put16 (&p, (unsigned) (r->status ? r->status : fb_amqp_reply_code (text)));
  fb_buf_putc (&p, (char) tl);
  fb_buf_append (&p, text, tl);
  put16 (&p, 60), put16 (&p, 40);
  fb_buf out = FB_BUF_INIT;
  fb_buf_putc (&out, AMQP_FRAME_METHOD);
  put16 (&out, 0);
  put16 (&out, 0), put16 (&out, (unsigned) p.len);
  fb_buf_append (&out, p.data, p.len);
  fb_buf_putc (&out, (char) AMQP_FRAME_END);
  fb_buf_free (&p);
  *len = out.len;
  return fb_buf_steal (&out);
}

static const char *const amqp_matchers[] = { "topic", NULL };

const fb_framing fb_amqp_framing = {
  .request = amqp_frame_request,
  .response = amqp_frame_response,
  .reply = amqp_reply,
  .matchers = amqp_matchers,
  .event_verb = "direction",
  .event_target = "routing_key",
  .default_error = "CONNECTION_FORCED - injected fault",
  .no_respond = true,
  .delay_final = true,
  .drop_message = true,
  .error_closes = true,
};
