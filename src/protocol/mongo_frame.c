/* MongoDB framing for the proxy. Every message carries its length in its
 * header. Rules see OP_MSG commands, as Faultbox's proxy: the command's
 * name (its document's first key; op= or method=) and, when that key's
 * value is a string, the collection (collection= or key=). The rest
 * passes unseen: the legacy opcodes (OP_QUERY carries the drivers' first
 * handshake, OP_COMPRESSED what compression hides) and, as ours, the
 * hello/isMaster handshake and heartbeats, so a rule for every command
 * fails commands, not the driver's view of the server. An OP_MSG with
 * moreToCome expects no reply; a reply with it is followed by more (an
 * exhaust cursor, a streamed hello). error() answers in the server's
 * place with {ok: 0, errmsg, code: 1}, as Faultbox's proxy does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "protocol/mongo.h"
#include "util/alloc.h"

static uint32_t
le32 (const char *p)
{
  const unsigned char *u = (const unsigned char *) p;
  return (uint32_t) u[0] | (uint32_t) u[1] << 8 | (uint32_t) u[2] << 16 | (uint32_t) u[3] << 24;
}

static void
put_le32 (char *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (char) (v >> (8 * i));
}

fb_frame_rc
fb_mongo_cut (const char *buf, size_t len, fb_mongo_head *h, fb_error *err)
{
  if (len < FB_MONGO_HEADER)
    return FB_FRAME_PARTIAL;
  *h = (fb_mongo_head) { le32 (buf), le32 (buf + 4), le32 (buf + 8), le32 (buf + 12) };
  if (h->len < FB_MONGO_HEADER || h->len > FB_MONGO_MAX_MSG)
    return fb_error_set (err, EPROTO, "not a MongoDB message (length %u)", h->len), FB_FRAME_BAD;
  return len < h->len ? FB_FRAME_PARTIAL : FB_FRAME_OK;
}

/* A BSON document at p with at most room bytes, static over them. */
static bool
doc_at (const char *p, size_t room, bson_t *doc)
{
  return room >= 5 && le32 (p) <= room && bson_init_static (doc, (const uint8_t *) p, le32 (p));
}

/* OP_MSG: flags, then sections (kind 0: one document; kind 1: a size, an
 * identifier and documents), then a checksum when flagged. */
static bool
msg_command (const char *buf, const fb_mongo_head *h, bson_t *doc)
{
  if (h->len < FB_MONGO_HEADER + 5)
    return false;
  size_t end = h->len - (le32 (buf + FB_MONGO_HEADER) & FB_MONGO_CHECKSUM ? 4 : 0);
  for (size_t at = FB_MONGO_HEADER + 4; at + 5 <= end;)
    {
      if (buf[at] == 0)
        return doc_at (buf + at + 1, end - at - 1, doc);
      uint32_t n = le32 (buf + at + 1);
      if (buf[at] != 1 || n < 4 || n > end - at - 1)
        return false;
      at += 1 + n;
    }
  return false;
}

/* OP_QUERY: flags, the collection's name, skip, return count, the query. */
static bool
query_command (const char *buf, const fb_mongo_head *h, bson_t *doc)
{
  size_t at = FB_MONGO_HEADER + 4;
  const char *nul = at < h->len ? memchr (buf + at, '\0', h->len - at) : NULL;
  if (!nul)
    return false;
  at = (size_t) (nul - buf) + 1 + 8;
  return at < h->len && doc_at (buf + at, h->len - at, doc);
}

bool
fb_mongo_command (const char *buf, const fb_mongo_head *h, bson_t *doc)
{
  if (h->opcode == FB_MONGO_OP_MSG)
    return msg_command (buf, h, doc);
  return h->opcode == FB_MONGO_OP_QUERY && query_command (buf, h, doc);
}

char *
fb_mongo_message (uint32_t request_id, uint32_t response_to, bool op_reply, const bson_t *doc, size_t *len)
{
  /* OP_REPLY: flags, cursor id, starting from, number returned; OP_MSG: flags, section kind 0 */
  size_t body = op_reply ? 20 : 5;
  *len = FB_MONGO_HEADER + body + doc->len;
  char *m = fb_xcalloc (1, *len);
  put_le32 (m, (uint32_t) *len);
  put_le32 (m + 4, request_id);
  put_le32 (m + 8, response_to);
  put_le32 (m + 12, op_reply ? FB_MONGO_OP_REPLY : FB_MONGO_OP_MSG);
  if (op_reply)
    put_le32 (m + FB_MONGO_HEADER + 16, 1);
  memcpy (m + FB_MONGO_HEADER + body, bson_get_data (doc), doc->len);
  return m;
}

typedef struct {
  uint32_t request_id;    /* of the request framed last: error()'s responseTo */
} mongo_state;

static void *
mongo_state_new (void)
{
  return FB_NEW (mongo_state);
}

/* An OP_MSG flagged moreToCome: its sender expects no answer to it, or
 * sends more answers after it. */
static bool
more_to_come (const char *buf, const fb_mongo_head *h)
{
  return h->opcode == FB_MONGO_OP_MSG && h->len >= FB_MONGO_HEADER + 4
         && le32 (buf + FB_MONGO_HEADER) & FB_MONGO_MORE_TO_COME;
}

static bool
is_handshake (const char *cmd)
{
  return !strcmp (cmd, "hello") || !strcasecmp (cmd, "isMaster");
}

static fb_frame_rc
mongo_request (void *p, const char *buf, size_t len, fb_msg *m, fb_error *err)
{
  mongo_state *st = p;
  memset (m, 0, sizeof *m);
  fb_mongo_head h;
  fb_frame_rc rc = fb_mongo_cut (buf, len, &h, err);
  if (rc != FB_FRAME_OK)
    return rc;
  m->len = h.len;
  if (st)
    st->request_id = h.request_id;
  bson_t doc;
  bson_iter_t it;
  if (h.opcode != FB_MONGO_OP_MSG || !msg_command (buf, &h, &doc) || !bson_iter_init (&it, &doc)
      || !bson_iter_next (&it) || is_handshake (bson_iter_key (&it)))
    {
      m->passthrough = true;
      /* the legacy writes and OP_KILL_CURSORS are answered by nothing */
      m->no_reply = h.opcode != FB_MONGO_OP_MSG && h.opcode != FB_MONGO_OP_QUERY && h.opcode != FB_MONGO_OP_GET_MORE
                    && h.opcode != FB_MONGO_OP_COMPRESSED;
    }
  else
    {
      snprintf (m->verb, sizeof m->verb, "%s", bson_iter_key (&it));
      if (BSON_ITER_HOLDS_UTF8 (&it))
        snprintf (m->target, sizeof m->target, "%s", bson_iter_utf8 (&it, NULL));
    }
  if (more_to_come (buf, &h))
    m->no_reply = true;
  return FB_FRAME_OK;
}

static fb_frame_rc
mongo_response (void *st, const char *buf, size_t len, const fb_msg *req, fb_msg *m, fb_error *err)
{
  (void) st, (void) req;
  memset (m, 0, sizeof *m);
  fb_mongo_head h;
  fb_frame_rc rc = fb_mongo_cut (buf, len, &h, err);
  if (rc != FB_FRAME_OK)
    return rc;
  m->len = h.len;
  m->interim = more_to_come (buf, &h);
  return FB_FRAME_OK;
}

/* error(): a command failure drivers raise as the server's
 * ({ok: 0.0, errmsg, code: 1}, as Faultbox's proxy sends it). */
static char *
mongo_reply (void *p, const fb_reply *r, const fb_msg *req, size_t *len)
{
  (void) req;
  mongo_state *st = p;
  uint32_t id = st ? st->request_id : 0;
  bson_t doc = BSON_INITIALIZER;
  BSON_APPEND_DOUBLE (&doc, "ok", 0.0);
  BSON_APPEND_UTF8 (&doc, "errmsg", r->message && *r->message ? r->message : fb_mongo_framing.default_error);
  BSON_APPEND_INT32 (&doc, "code", 1);
  char *out = fb_mongo_message (id + 1, id, false, &doc, len);
  bson_destroy (&doc);
  return out;
}

static const char *const mongo_matchers[] = { "method", "key", NULL };

const fb_framing fb_mongo_framing = {
  .state_new = mongo_state_new,
  .state_free = free,
  .request = mongo_request,
  .response = mongo_response,
  .reply = mongo_reply,
  .matchers = mongo_matchers,
  .event_verb = "command",
  .event_target = "collection",
  .default_error = "injected fault",
  .no_respond = true,
  .delay_final = true,
};
