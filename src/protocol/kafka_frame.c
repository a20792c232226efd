/* Kafka's wire (https://kafka.apache.org/protocol): every request and
 * response is a 4-byte big-endian size and that many bytes; a request
 * begins with its API key, version, correlation id and client id. The
 * proxy's framing cuts the streams by size, and rules see Produce and
 * Fetch by their first topic (topic=), as Faultbox's proxy; everything
 * else (ApiVersions, Metadata, SASL, group coordination) passes through.
 * The readers and writers here serve the mock too (kafka_mock.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/internal.h"

/* what a broker accepts by default (socket.request.max.bytes) */
#define KAFKA_MAX_MSG (100u * 1024 * 1024)

/* ---- reading -------------------------------------------------------------- */

static const unsigned char *
rd_take (fb_kafka_rd *r, size_t n)
{
  if (r->bad || r->len - r->pos < n)
    {
      r->bad = true;
      return NULL;
    }
  const unsigned char *p = (const unsigned char *) r->p + r->pos;
  r->pos += n;
  return p;
}

void
fb_kafka_skip (fb_kafka_rd *r, size_t n)
{
  rd_take (r, n);
}

int64_t
fb_kafka_int (fb_kafka_rd *r, size_t n)
{
  const unsigned char *p = rd_take (r, n);
  uint64_t v = 0;
  for (size_t i = 0; p && i < n; i++)
    v = v << 8 | p[i];
  /* sign-extend the narrower ones */
  if (p && n < 8 && (v >> (8 * n - 1)) & 1)
    v |= ~(uint64_t) 0 << (8 * n);
  return (int64_t) v;
}

uint64_t
fb_kafka_uvarint (fb_kafka_rd *r)
{
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7)
    {
      const unsigned char *p = rd_take (r, 1);
      if (!p)
        return 0;
      v |= (uint64_t) (*p & 0x7f) << shift;
      if (!(*p & 0x80))
        return v;
    }
  r->bad = true;
  return 0;
}

const char *
fb_kafka_str (fb_kafka_rd *r, bool compact, size_t *len)
{
  int64_t n = compact ? (int64_t) fb_kafka_uvarint (r) - 1 : fb_kafka_int (r, 2);
  *len = 0;
  if (n < 0)
    return NULL;  /* a null string */
  const unsigned char *p = rd_take (r, (size_t) n);
  *len = p ? (size_t) n : 0;
  return (const char *) p;
}

int64_t
fb_kafka_count (fb_kafka_rd *r, bool compact)
{
  int64_t n = compact ? (int64_t) fb_kafka_uvarint (r) - 1 : fb_kafka_int (r, 4);
  /* each element takes a byte at least */
  if (n > (int64_t) (r->len - r->pos))
    r->bad = true;
  return r->bad ? -1 : n;
}

void
fb_kafka_skip_tags (fb_kafka_rd *r, bool compact)
{
  if (!compact)
    return;
  for (uint64_t n = fb_kafka_uvarint (r); n && !r->bad; n--)
    {
      fb_kafka_uvarint (r);
      rd_take (r, fb_kafka_uvarint (r));
    }
}

bool
fb_kafka_flexible (int api, int version)
{
  static const struct {
    int api, from;
  } flex[] = { { FB_KAFKA_PRODUCE, 9 }, { FB_KAFKA_FETCH, 12 }, { FB_KAFKA_LIST_OFFSETS, 6 },
               { FB_KAFKA_METADATA, 9 }, { FB_KAFKA_OFFSET_COMMIT, 8 }, { FB_KAFKA_OFFSET_FETCH, 6 },
               { FB_KAFKA_FIND_COORDINATOR, 3 }, { FB_KAFKA_API_VERSIONS, 3 } };
  for (size_t i = 0; i < sizeof flex / sizeof *flex; i++)
    if (flex[i].api == api)
      return version >= flex[i].from;
  return false;
}

int
fb_kafka_header (const char *buf, size_t len, fb_kafka_req *h)
{
  memset (h, 0, sizeof *h);
  h->rd = (fb_kafka_rd) { buf, len, 4, false };
  h->api = (int) fb_kafka_int (&h->rd, 2);
  h->version = (int) fb_kafka_int (&h->rd, 2);
  h->correlation = (int32_t) fb_kafka_int (&h->rd, 4);
  h->client_id = fb_kafka_str (&h->rd, false, &h->client_id_len);
  h->flexible = fb_kafka_flexible (h->api, h->version);
  fb_kafka_skip_tags (&h->rd, h->flexible);
  return h->rd.bad ? -1 : 0;
}

/* ---- writing -------------------------------------------------------------- */

void
fb_kafka_put_int (fb_buf *b, int64_t v, size_t n)
{
  for (size_t i = n; i-- > 0;)
    fb_buf_putc (b, (char) (unsigned char) ((uint64_t) v >> (8 * i)));
}

void
fb_kafka_put_uvarint (fb_buf *b, uint64_t v)
{
  while (v >= 0x80)
    {
      fb_buf_putc (b, (char) (unsigned char) (v | 0x80));
      v >>= 7;
    }
  fb_buf_putc (b, (char) (unsigned char) v);
}

void
fb_kafka_put_count (fb_buf *b, bool compact, int64_t n)
{
  if (compact)
    fb_kafka_put_uvarint (b, (uint64_t) (n + 1));
  else
    fb_kafka_put_int (b, n, 4);
}

void
fb_kafka_put_str (fb_buf *b, bool compact, const char *s, size_t n)
{
  if (compact)
    fb_kafka_put_uvarint (b, s ? n + 1 : 0);
  else
    fb_kafka_put_int (b, s ? (int64_t) n : -1, 2);
  if (s)
    fb_buf_append (b, s, n);
}

void
fb_kafka_put_tags (fb_buf *b, bool compact)
{
  if (compact)
    fb_buf_putc (b, 0);
}

/* ---- the proxy's framing -------------------------------------------------- */

/* A whole size-prefixed message at buf, or PARTIAL / BAD. */
static fb_frame_rc
kafka_size (const char *buf, size_t len, size_t *total, fb_error *err)
{
  if (len < 4)
    return FB_FRAME_PARTIAL;
  fb_kafka_rd r = { buf, 4, 0, false };
  int64_t n = fb_kafka_int (&r, 4);
  if (n < 4 || (uint64_t) n > KAFKA_MAX_MSG)
    return fb_error_set (err, EPROTO, "kafka: a message of %lld bytes", (long long) n), FB_FRAME_BAD;
  *total = (size_t) n + 4;
  return len < *total ? FB_FRAME_PARTIAL : FB_FRAME_OK;
}

/* The first topic a Produce or Fetch names, into m->target ("" when it
 * names topics by id, Fetch v13 on); Produce's acks=0 says no reply. */
static void
kafka_topic (fb_kafka_req *h, fb_msg *m)
{
  fb_kafka_rd *r = &h->rd;
  bool fx = h->flexible;
  if (h->api == FB_KAFKA_PRODUCE)
    {
      size_t n;
      if (h->version >= 3)
        fb_kafka_str (r, fx, &n);  /* transactional_id */
      m->no_reply = fb_kafka_int (r, 2) == 0;
      fb_kafka_skip (r, 4);
    }
  else
    {
      fb_kafka_skip (r, 4 + 4 + 4);  /* replica, max_wait, min_bytes */
      if (h->version >= 3)
        fb_kafka_skip (r, 4);
      if (h->version >= 4)
        fb_kafka_skip (r, 1);
      if (h->version >= 7)
        fb_kafka_skip (r, 8);      /* session id and epoch */
      if (h->version >= 13)
        return;
    }
  size_t n;
  const char *t = fb_kafka_count (r, fx) > 0 ? fb_kafka_str (r, fx, &n) : NULL;
  if (t && !r->bad)
    snprintf (m->target, sizeof m->target, "%.*s", (int) n, t);
}

static fb_frame_rc
kafka_frame_request (void *st, const char *buf, size_t len, fb_msg *m, fb_error *err)
{
  (void) st;
  memset (m, 0, sizeof *m);
  fb_frame_rc rc = kafka_size (buf, len, &m->len, err);
  if (rc != FB_FRAME_OK)
    return rc;
  fb_kafka_req h;
  if (fb_kafka_header (buf, m->len, &h) < 0)
    return fb_error_set (err, EPROTO, "kafka: a request without its header"), FB_FRAME_BAD;
  if (h.api != FB_KAFKA_PRODUCE && h.api != FB_KAFKA_FETCH)
    {
      m->passthrough = true;
      return FB_FRAME_OK;
    }
  snprintf (m->verb, sizeof m->verb, "%s", h.api == FB_KAFKA_PRODUCE ? "produce" : "fetch");
  kafka_topic (&h, m);
  return FB_FRAME_OK;
}

static fb_frame_rc
kafka_frame_response (void *st, const char *buf, size_t len, const fb_msg *req, fb_msg *m, fb_error *err)
{
  (void) st;
  (void) req;
  memset (m, 0, sizeof *m);
  return kafka_size (buf, len, &m->len, err);
}

/* error(): Faultbox's kafka proxy closes the client's connection (its
 * message goes to the event alone); NULL says so to the proxy. */
static char *
kafka_reply (void *st, const fb_reply *r, const fb_msg *req, size_t *len)
{
  (void) st, (void) r, (void) req;
  *len = 0;
  return NULL;
}

static const char *const kafka_matchers[] = { "topic", NULL };

const fb_framing fb_kafka_framing = {
  .request = kafka_frame_request,
  .response = kafka_frame_response,
  .reply = kafka_reply,
  .matchers = kafka_matchers,
  .event_verb = "api",
  .event_target = "topic",
  .default_error = "injected fault",
  .no_respond = true,
  .delay_final = true,
  /* Faultbox's: a dropped request is swallowed, never answered */
  .drop_message = true,
};
