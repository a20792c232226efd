/* Postgres wire framing (protocol 3.0) for the proxy. The startup phase
 * (SSLRequest, StartupMessage, the authentication exchange) passes through
 * unseen by rules. A request is a simple Query, or an extended-query batch
 * (Parse/Bind/Describe/Execute/Close up to its Sync); rules match its query
 * text, in a batch each statement's (a Parse's, or the text of the one a
 * Bind names, remembered per connection). A rule that matches one
 * statement of a batch acts on the batch: postgres runs a batch as one
 * implicit transaction, so an error answering all of it is what the
 * client would see had that statement failed, with none of it applied. A response is the server's messages up
 * to ReadyForQuery, handed on as they arrive. The postgres table entry
 * points at fb_pg_framing. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"

/* The untyped first messages' codes (protocol.h of postgres). */
#define PG_SSL_REQUEST 80877103u
#define PG_GSSENC_REQUEST 80877104u
#define PG_CANCEL_REQUEST 80877102u
#define PG_PROTOCOL_3 3u
/* Postgres's own limits: a startup packet (MAX_STARTUP_PACKET_LENGTH), any
 * message (PQ_LARGE_MESSAGE_LIMIT is 1 GiB). */
#define PG_MAX_STARTUP 10000u
#define PG_MAX_MESSAGE (1u << 30)

typedef struct {
  char *name, *text;   /* text: as the Parse gave it */
} pg_stmt;

/* One connection's memory: its prepared statements, the statements of the
 * request framed last (as sent, and canonical for rules), and the
 * transaction status the server reported. */
typedef struct {
  pg_stmt *stmts;
  size_t n_stmts, cap_stmts;
  char **raw, **canon;
  size_t n_parts, cap_parts;
  char tx_status;
} pg_state;

static void
parts_clear (pg_state *st)
{
  for (size_t i = 0; i < st->n_parts; i++)
    free (st->raw[i]), free (st->canon[i]);
  st->n_parts = 0;
}

static void *
pg_state_new (void)
{
  pg_state *st = FB_NEW (pg_state);
  st->tx_status = 'I';
  return st;
}

static void
pg_state_free (void *p)
{
  pg_state *st = p;
  if (!st)
    return;
  for (size_t i = 0; i < st->n_stmts; i++)
    free (st->stmts[i].name), free (st->stmts[i].text);
  free (st->stmts);
  parts_clear (st);
  free (st->raw);
  free (st->canon);
  free (st);
}

static pg_stmt *
stmt_find (pg_state *st, const char *name)
{
  for (size_t i = 0; i < st->n_stmts; i++)
    if (!strcmp (st->stmts[i].name, name))
      return &st->stmts[i];
  return NULL;
}

/* Parse makes (or, for the unnamed one, replaces) a statement. */
static void
stmt_set (pg_state *st, const char *name, char *text)
{
  pg_stmt *s = stmt_find (st, name);
  if (!s)
    {
      FB_GROW (st->stmts, st->cap_stmts, st->n_stmts + 1);
      s = &st->stmts[st->n_stmts++];
      s->name = fb_xstrdup (name);
      s->text = NULL;
    }
  free (s->text);
  s->text = text;
}

static void
stmt_forget (pg_state *st, const char *name)
{
  pg_stmt *s = stmt_find (st, name);
  if (!s)
    return;
  free (s->name);
  free (s->text);
  *s = st->stmts[--st->n_stmts];
}

static uint32_t
be32 (const char *p)
{
  const unsigned char *u = (const unsigned char *) p;
  return (uint32_t) u[0] << 24 | (uint32_t) u[1] << 16 | (uint32_t) u[2] << 8 | u[3];
}

/* The NUL-terminated string at body[*pos] (within n bytes), or NULL. */
static const char *
cstr (const char *body, size_t n, size_t *pos)
{
  const char *s = body + *pos, *nul = *pos < n ? memchr (s, '\0', n - *pos) : NULL;
  if (!nul)
    return NULL;
  *pos += (size_t) (nul - s) + 1;
  return s;
}

/* One more statement of the request being framed; the first is m's
 * target and text. The same text twice in a row (a Parse, then the Bind
 * that runs it) is one statement. */
static void
add_query (pg_state *st, fb_msg *m, const char *text)
{
  if (st->n_parts && !strcmp (st->raw[st->n_parts - 1], text))
    return;
  size_t cap = st->cap_parts;   /* the two arrays grow alike */
  FB_GROW (st->raw, cap, st->n_parts + 1);
  FB_GROW (st->canon, st->cap_parts, st->n_parts + 1);
  st->raw[st->n_parts] = fb_xstrdup (text);
  st->canon[st->n_parts++] = fb_sql_canonical (text, strlen (text));
  snprintf (m->target, sizeof m->target, "%s", st->raw[0]);
  m->text = st->canon[0];
  m->part_target = (const char *const *) st->raw;
  m->part_text = (const char *const *) st->canon;
  m->n_parts = st->n_parts;
}

/* A message before the typed ones: SSLRequest, GSSENCRequest,
 * CancelRequest or the StartupMessage. */
static fb_frame_rc
frame_untyped (const char *buf, size_t len, fb_msg *m, fb_error *err)
{
  if (len < 8)
    return FB_FRAME_PARTIAL;
  uint32_t n = be32 (buf), code = be32 (buf + 4);
  if (n < 8 || n > PG_MAX_STARTUP)
    return fb_error_set (err, EPROTO, "postgres: bad startup packet length %u", n), FB_FRAME_BAD;
  if (len < n)
    return FB_FRAME_PARTIAL;
  static const struct { uint32_t code; const char *name; bool no_reply; } kinds[] = {
    { PG_SSL_REQUEST, "SSLRequest", false }, { PG_GSSENC_REQUEST, "GSSENCRequest", false },
    { PG_CANCEL_REQUEST, "CancelRequest", true },
  };
  const char *name = code >> 16 == PG_PROTOCOL_3 ? "StartupMessage" : NULL;
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds && !name; i++)
    if (kinds[i].code == code)
      name = kinds[i].name, m->no_reply = kinds[i].no_reply;
  if (!name)
    return fb_error_set (err, EPROTO, "postgres: unknown startup request code %u", code), FB_FRAME_BAD;
  strcpy (m->verb, name);
  m->len = n;
  m->passthrough = true;
  return FB_FRAME_OK;
}

/* The header of the typed message at buf[pos]: FB_FRAME_OK when all of it
 * is there, its type in *type and its end in *end. */
static fb_frame_rc
typed_at (const char *buf, size_t len, size_t pos, char *type, size_t *end, fb_error *err)
{
  if (len - pos < 5)
    return FB_FRAME_PARTIAL;
  uint32_t n = be32 (buf + pos + 1);
  if (n < 4 || n > PG_MAX_MESSAGE)
    return fb_error_set (err, EPROTO, "postgres: bad length %u of a '%c' message", n,
                         isprint ((unsigned char) buf[pos]) ? buf[pos] : '?'),
           FB_FRAME_BAD;
  if (len - pos < (size_t) n + 1)
    return FB_FRAME_PARTIAL;
  *type = buf[pos];
  *end = pos + 1 + n;
  return FB_FRAME_OK;
}

/* What one extended-query message tells: a Parse's statement (remembered),
 * the statement a Bind runs, a Close of a statement. Each Parse's and
 * Bind's statement is one of the batch's, in order, for the rules. */
static void
extended_one (pg_state *st, char type, const char *body, size_t n, fb_msg *m)
{
  size_t pos = 0;
  const char *a = cstr (body, n, &pos), *b = a ? cstr (body, n, &pos) : NULL;
  const char *query = NULL;
  if (type == 'P' && b)
    {
      query = b;
      stmt_set (st, a, fb_xstrdup (b));
    }
  else if (type == 'B' && b)
    {
      /* a Bind names the portal (a), then the statement (b) */
      pg_stmt *s = stmt_find (st, b);
      query = s ? s->text : NULL;
    }
  else if (type == 'C' && a && a[0] == 'S')
    stmt_forget (st, a + 1);
  /* an empty query runs nothing, and Faultbox's rules never see one */
  if (query && *query)
    add_query (st, m, query);
}

/* Parse, Bind, Describe, Execute and Close up to the Sync that ends the
 * batch (the server answers it with ReadyForQuery), or a Flush after which
 * the server answers what it has without one. */
static fb_frame_rc
frame_extended (pg_state *st, const char *buf, size_t len, fb_msg *m, fb_error *err)
{
  size_t pos = 0, end;
  char type;
  for (;;)
    {
      fb_frame_rc rc = typed_at (buf, len, pos, &type, &end, err);
      if (rc != FB_FRAME_OK)
        return rc;
      if (!strchr ("PBDECSH", type))
        break;
      pos = end;
      if (type == 'S' || type == 'H')
        break;
    }
  m->len = pos;
  m->no_reply = type != 'S';
  strcpy (m->verb, "extended");
  for (size_t p = 0; p < pos; p = end)
    {
      typed_at (buf, len, p, &type, &end, err);
      extended_one (st, type, buf + p + 5, end - p - 5, m);
    }
  /* a batch that runs no statement we know (a lone Sync) is no query */
  m->passthrough = !st->n_parts;
  return FB_FRAME_OK;
}

static fb_frame_rc
pg_frame_request (void *p, const char *buf, size_t len, fb_msg *m, fb_error *err)
{
  pg_state *st = p;
  memset (m, 0, sizeof *m);
  if (!len)
    return FB_FRAME_PARTIAL;
  /* a typed message starts with a letter; a startup packet with its
   * length's high byte, 0 under 16 MiB */
  if (buf[0] == '\0')
    return frame_untyped (buf, len, m, err);
  parts_clear (st);
  if (strchr ("PBDECSH", buf[0]))
    return frame_extended (st, buf, len, m, err);
  size_t end;
  char type;
  fb_frame_rc rc = typed_at (buf, len, 0, &type, &end, err);
  if (rc != FB_FRAME_OK)
    return rc;
  m->len = end;
  if (type == 'Q')
    {
      size_t pos = 5;
      const char *q = cstr (buf, end, &pos);
      if (!q)
        return fb_error_set (err, EPROTO, "postgres: a Query without its terminating NUL"), FB_FRAME_BAD;
      strcpy (m->verb, "query");
      add_query (st, m, q);
      m->passthrough = !*q;
      return FB_FRAME_OK;
    }
  /* passwords and SASL ('p'), COPY data ('d', 'c', 'f') and Terminate ('X')
   * belong to an exchange already under way; a FunctionCall ('F') is
   * answered up to ReadyForQuery */
  if (!strchr ("pdcfXF", type))
    return fb_error_set (err, EPROTO, "postgres: unknown client message type '%c'",
                         isprint ((unsigned char) type) ? type : '?'),
           FB_FRAME_BAD;
  m->verb[0] = type;
  m->passthrough = true;
  m->no_reply = type != 'F';
  return FB_FRAME_OK;
}

/* The answer to an SSLRequest or GSSENCRequest: one byte, 'N' to go on in
 * the clear, 'S' or 'G' to start encryption: from there a tunnel. */
static fb_frame_rc
frame_encryption_answer (const char *buf, size_t len, fb_msg *m, fb_error *err)
{
  if (!len)
    return FB_FRAME_PARTIAL;
  if (!strchr ("NSG", buf[0]))
    return fb_error_set (err, EPROTO, "postgres: unexpected answer '%c' to an encryption request",
                         isprint ((unsigned char) buf[0]) ? buf[0] : '?'),
           FB_FRAME_BAD;
  m->len = 1;
  m->upgrade = buf[0] != 'N';
  return FB_FRAME_OK;
}

/* Every whole message there is, up to and with a ReadyForQuery: the reply
 * is done there; before it, what has come is passed on (interim), so a
 * large result never waits whole in the proxy. */
static fb_frame_rc
pg_frame_response (void *p, const char *buf, size_t len, const fb_msg *req, fb_msg *m, fb_error *err)
{
  pg_state *st = p;
  memset (m, 0, sizeof *m);
  /* (a server too old for the request answers it with an ErrorResponse) */
  if (req && (!strcmp (req->verb, "SSLRequest") || !strcmp (req->verb, "GSSENCRequest")) && (!len || buf[0] != 'E'))
    return frame_encryption_answer (buf, len, m, err);
  size_t pos = 0, end;
  char type;
  fb_frame_rc rc;
  while ((rc = typed_at (buf, len, pos, &type, &end, err)) == FB_FRAME_OK)
    {
      pos = end;
      if (type == 'Z')
        {
          st->tx_status = buf[pos - 1];
          m->len = pos;
          return FB_FRAME_OK;
        }
    }
  if (rc == FB_FRAME_BAD)
    return FB_FRAME_BAD;
  if (!pos)
    return FB_FRAME_PARTIAL;
  m->len = pos;
  m->interim = true;
  return FB_FRAME_OK;
}

static void
put_field (fb_buf *b, char code, const char *v)
{
  fb_buf_putc (b, code);
  fb_buf_append (b, v, strlen (v) + 1);
}

static void
put_be32 (char *p, uint32_t v)
{
  p[0] = (char) (v >> 24), p[1] = (char) (v >> 16), p[2] = (char) (v >> 8), p[3] = (char) v;
}

/* As Faultbox's postgres proxy answers error(): an ErrorResponse (severity
 * ERROR, the message, "ERROR: injected fault" unless given; a SQLSTATE
 * only when the rule gives one, as Faultbox sends none), then
 * ReadyForQuery, so the client may go on. Its transaction status is the
 * server's last: the statement never reached the server, whose
 * transaction is as it was. */
static char *
pg_reply (void *p, const fb_reply *r, const fb_msg *req, size_t *len)
{
  pg_state *st = p;
  (void) req;
  fb_buf out = FB_BUF_INIT;
  fb_buf_append (&out, "E\0\0\0\0", 5);
  put_field (&out, 'S', "ERROR");
  put_field (&out, 'V', "ERROR");
  if (r->code && *r->code)
    put_field (&out, 'C', r->code);
  put_field (&out, 'M', r->message && *r->message ? r->message : fb_pg_framing.default_error);
  fb_buf_putc (&out, '\0');
  put_be32 (out.data + 1, (uint32_t) out.len - 1);
  char z[6] = { 'Z', 0, 0, 0, 5, st ? st->tx_status : 'I' };
  fb_buf_append (&out, z, sizeof z);
  *len = out.len;
  return fb_buf_steal (&out);
}

static char *
pg_canonical (const char *pattern)
{
  return fb_sql_canonical (pattern, strlen (pattern));
}

static const char *const pg_matchers[] = { "query", NULL };

const fb_framing fb_pg_framing = {
  .state_new = pg_state_new,
  .state_free = pg_state_free,
  .request = pg_frame_request,
  .response = pg_frame_response,
  .reply = pg_reply,
  .canonical = pg_canonical,
  .matchers = pg_matchers,
  .event_target = "query",
  .default_error = "ERROR: injected fault",
  .no_respond = true,
  .sqlstate = true,
  .delay_final = true,
};
