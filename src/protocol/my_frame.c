/* MySQL client/server protocol framing for the proxy. Every message is a
 * packet: a 3-byte little-endian length, a sequence number, the payload
 * (a payload of 0xFFFFFF bytes continues in the next packet). The
 * handshake (the server's greeting, the client's answer, the auth
 * exchange up to the server's OK) passes through unseen by rules. Rules
 * see COM_QUERY and COM_STMT_PREPARE by their SQL, and COM_STMT_EXECUTE
 * by the SQL its statement was prepared with, remembered per connection.
 * A reply is framed packet by packet (OK, ERR, or a result set: column
 * definitions, rows, the closing EOF, further result sets while the server
 * says more exist), each passed on as it comes. The mysql table entry
 * points at fb_mysql_framing. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"

#define MY_HEADER 4u
#define MY_MAX_PAYLOAD 0xFFFFFFu

/* capability flags (mysql_com.h) and server status flags */
#define CLIENT_SSL 0x800u
#define CLIENT_DEPRECATE_EOF 0x1000000u
#define CLIENT_QUERY_ATTRIBUTES 0x8000000u
#define SERVER_MORE_RESULTS_EXISTS 0x8u
#define SERVER_STATUS_CURSOR_EXISTS 0x40u

enum {
  COM_QUIT = 0x01, COM_QUERY = 0x03, COM_FIELD_LIST = 0x04, COM_CHANGE_USER = 0x11, COM_BINLOG_DUMP = 0x12,
  COM_STMT_PREPARE = 0x16, COM_STMT_EXECUTE = 0x17, COM_STMT_SEND_LONG_DATA = 0x18, COM_STMT_CLOSE = 0x19,
  COM_STMT_FETCH = 0x1c, COM_BINLOG_DUMP_GTID = 0x1e, COM_RESET_CONNECTION = 0x1f,
};

typedef enum { PH_GREETING, PH_AUTH, PH_COMMAND } my_phase;
/* where the reply under way is: R_NONE between replies */
typedef enum { R_NONE, R_FIRST, R_COLDEFS, R_COLEOF, R_ROWS, R_PREPARED } my_stage;

typedef struct {
  uint32_t id;
  char *text;
} my_stmt;

typedef struct {
  my_phase phase;
  uint32_t server_caps, caps;
  bool infile;            /* the client is sending a LOCAL INFILE's data */
  uint8_t req_seq;        /* the sequence number of the request framed last */
  my_stage reply;
  uint64_t left;          /* packets left of R_COLDEFS / R_PREPARED */
  /* the statements prepared, and those awaiting the server's id */
  my_stmt *stmts;
  size_t n_stmts, cap_stmts;
  char **preparing;
  size_t n_preparing, cap_preparing;
  char *query;            /* the canonical SQL of the request framed last */
} my_state;

static void *
my_state_new (void)
{
  return FB_NEW (my_state);
}

/* The server forgets every statement on COM_RESET_CONNECTION and
 * COM_CHANGE_USER, and may hand their ids out again. */
static void
stmts_forget (my_state *st)
{
  for (size_t i = 0; i < st->n_stmts; i++)
    free (st->stmts[i].text);
  st->n_stmts = 0;
}

static void
my_state_free (void *p)
{
  my_state *st = p;
  if (!st)
    return;
  stmts_forget (st);
  for (size_t i = 0; i < st->n_preparing; i++)
    free (st->preparing[i]);
  free (st->stmts);
  free (st->preparing);
  free (st->query);
  free (st);
}

static uint32_t
le (const unsigned char *p, size_t n)
{
  uint32_t v = 0;
  while (n--)
    v = v << 8 | p[n];
  return v;
}

/* A logical packet at buf: its payload's first bytes (up to 16 MiB) and
 * where the packet and its continuations end. */
typedef struct {
  const unsigned char *payload;
  size_t n;         /* the first packet's payload bytes */
  size_t end;       /* the whole, with continuations */
  uint8_t seq;
} my_packet;

static fb_frame_rc
packet_at (const char *buf, size_t len, my_packet *p)
{
  size_t pos = 0;
  for (bool first = true;; first = false)
    {
      if (len - pos < MY_HEADER)
        return FB_FRAME_PARTIAL;
      size_t n = le ((const unsigned char *) buf + pos, 3);
      if (len - pos - MY_HEADER < n)
        return FB_FRAME_PARTIAL;
      if (first)
        *p = (my_packet) { (const unsigned char *) buf + MY_HEADER, n, 0, (uint8_t) buf[3] };
      pos += MY_HEADER + n;
      if (n < MY_MAX_PAYLOAD)
        break;
    }
  p->end = pos;
  return FB_FRAME_OK;
}

/* A length-encoded integer at *pos of a payload; false when cut short. */
static bool
lenenc (const unsigned char *p, size_t n, size_t *pos, uint64_t *v)
{
  if (*pos >= n)
    return false;
  unsigned c = p[(*pos)++];
  size_t w = c == 0xfc ? 2 : c == 0xfd ? 3 : c == 0xfe ? 8 : 0;
  if (*pos + w > n)
    return false;
  if (!w)
    *v = c;
  else
    {
      *v = 0;
      for (size_t i = w; i--;)
        *v = *v << 8 | p[*pos + i];
    }
  *pos += w;
  return true;
}

/* ---- requests ------------------------------------------------------------ */

static my_stmt *
stmt_find (my_state *st, uint32_t id)
{
  for (size_t i = 0; i < st->n_stmts; i++)
    if (st->stmts[i].id == id)
      return &st->stmts[i];
  return NULL;
}

static void
set_query (my_state *st, fb_msg *m, const char *text, size_t n)
{
  size_t t = n < sizeof m->target ? n : sizeof m->target - 1;
  memcpy (m->target, text, t);
  m->target[t] = '\0';
  free (st->query);
  st->query = fb_sql_canonical (text, n);
  m->text = st->query;
}

/* The SQL of a COM_QUERY: after the query attributes a MySQL 8 client
 * sends when both sides agreed to (none: a count of 0, one set). */
static bool
query_text (const my_state *st, const my_packet *p, size_t *pos)
{
  *pos = 1;
  uint64_t n_params = 0, n_sets;
  if (!(st->caps & CLIENT_QUERY_ATTRIBUTES))
    return true;
  return lenenc (p->payload, p->n, pos, &n_params) && lenenc (p->payload, p->n, pos, &n_sets) && n_params == 0;
}

/* A command: what rules see of it, and whether the server answers. */
static void
frame_command (my_state *st, const my_packet *p, fb_msg *m)
{
  unsigned cmd = p->n ? p->payload[0] : 0;
  size_t pos = 1;
  m->passthrough = true;
  snprintf (m->verb, sizeof m->verb, "0x%02x", cmd);
  switch (cmd)
    {
    case COM_QUERY:
    case COM_STMT_PREPARE:
      if (cmd == COM_STMT_PREPARE || query_text (st, p, &pos))
        {
          strcpy (m->verb, cmd == COM_QUERY ? "query" : "prepare");
          set_query (st, m, (const char *) p->payload + pos, p->n - pos);
          m->passthrough = p->n == pos;
        }
      if (cmd == COM_STMT_PREPARE)
        {
          FB_GROW (st->preparing, st->cap_preparing, st->n_preparing + 1);
          st->preparing[st->n_preparing++] = fb_xstrndup ((const char *) p->payload + 1, p->n - 1);
        }
      break;
    case COM_STMT_EXECUTE:
      {
        my_stmt *s = p->n >= 5 ? stmt_find (st, le (p->payload + 1, 4)) : NULL;
        strcpy (m->verb, "execute");
        if (s)
          set_query (st, m, s->text, strlen (s->text));
        m->passthrough = !s;
        break;
      }
    case COM_STMT_CLOSE:
      {
        my_stmt *s = p->n >= 5 ? stmt_find (st, le (p->payload + 1, 4)) : NULL;
        if (s)
          {
            free (s->text);
            *s = st->stmts[--st->n_stmts];
          }
      }
      __attribute__ ((fallthrough));
    case COM_QUIT:
    case COM_STMT_SEND_LONG_DATA:
      m->no_reply = true;
      break;
    case COM_CHANGE_USER:
      /* a new authentication exchange, unseen as the first */
      st->phase = PH_AUTH;
      stmts_forget (st);
      break;
    case COM_RESET_CONNECTION:
      stmts_forget (st);
      break;
    case COM_BINLOG_DUMP:
    case COM_BINLOG_DUMP_GTID:
      /* a replica's endless stream: no replies to frame */
      m->upgrade = true;
      break;
    }
}

/* The client's answer to the greeting: its capabilities, or a request to
 * start TLS, after which the connection is a tunnel. */
static void
frame_auth (my_state *st, const my_packet *p, fb_msg *m)
{
  strcpy (m->verb, "auth");
  m->passthrough = true;
  if (st->caps || p->n < 4)
    return;
  st->caps = le (p->payload, 4) & st->server_caps;
  /* an SSLRequest is the answer's first 32 bytes alone */
  if (p->n == 32 && (st->caps & CLIENT_SSL))
    m->upgrade = m->no_reply = true;
}

static fb_frame_rc
my_frame_request (void *p, const char *buf, size_t len, fb_msg *m, fb_error *err)
{
  my_state *st = p;
  memset (m, 0, sizeof *m);
  my_packet pk;
  fb_frame_rc rc = packet_at (buf, len, &pk);
  if (rc != FB_FRAME_OK)
    return rc;
  m->len = pk.end;
  st->req_seq = pk.seq;
  if (st->infile)
    {
      /* the file's packets, then an empty one the server answers */
      strcpy (m->verb, "infile");
      m->passthrough = true;
      m->no_reply = pk.n != 0;
      st->infile = pk.n != 0;
    }
  else if (st->phase == PH_COMMAND)
    frame_command (st, &pk, m);
  else
    frame_auth (st, &pk, m);
  (void) err;
  return FB_FRAME_OK;
}

/* ---- responses ----------------------------------------------------------- */

/* The server's greeting: version, connection id, the capabilities. */
static void
greeting (my_state *st, const my_packet *p)
{
  if (p->n < 2)
    return;
  const unsigned char *nul = memchr (p->payload + 1, '\0', p->n - 1);
  size_t pos = nul ? (size_t) (nul - p->payload) + 1 + 4 + 8 + 1 : p->n;
  if (p->payload[0] == 10 && pos + 2 <= p->n)
    st->server_caps = le (p->payload + pos, 2);
  if (p->payload[0] == 10 && pos + 7 <= p->n)
    st->server_caps |= le (p->payload + pos + 5, 2) << 16;
}

/* The status flags of an OK packet, or of an EOF (0xFE, warnings, status). */
static unsigned
end_status (const my_state *st, const my_packet *p)
{
  size_t pos = 1;
  uint64_t skip;
  if (!p->n)
    return 0;
  if (p->payload[0] == 0xfe && !(st->caps & CLIENT_DEPRECATE_EOF))
    return p->n >= 5 ? le (p->payload + 3, 2) : 0;
  if (!lenenc (p->payload, p->n, &pos, &skip) || !lenenc (p->payload, p->n, &pos, &skip) || pos + 2 > p->n)
    return 0;
  return le (p->payload + pos, 2);
}

/* An EOF, or the OK that ends rows when EOFs are deprecated. */
static bool
is_end (const my_state *st, const my_packet *p)
{
  return p->n && p->payload[0] == 0xfe && (st->caps & CLIENT_DEPRECATE_EOF ? p->n < MY_MAX_PAYLOAD : p->n < 9);
}

/* The end of one result: the reply is done unless more results follow. */
static bool
result_done (my_state *st, const my_packet *p)
{
  st->reply = end_status (st, p) & SERVER_MORE_RESULTS_EXISTS ? R_FIRST : R_NONE;
  return st->reply == R_NONE;
}

/* COM_STMT_PREPARE_OK: the statement's id, then the definitions of its
 * parameters and columns, each list closed by an EOF unless deprecated. */
static bool
prepared (my_state *st, const my_packet *p)
{
  char *text = st->n_preparing ? st->preparing[0] : NULL;
  if (st->n_preparing)
    memmove (st->preparing, st->preparing + 1, --st->n_preparing * sizeof *st->preparing);
  if (p->payload[0] != 0 || p->n < 9)
    {
      free (text);
      return true;
    }
  /* an id given again (a server that reuses them) names the newest text */
  uint32_t id = le (p->payload + 1, 4);
  my_stmt *s = stmt_find (st, id);
  if (s)
    free (s->text);
  else
    {
      FB_GROW (st->stmts, st->cap_stmts, st->n_stmts + 1);
      s = &st->stmts[st->n_stmts++];
    }
  *s = (my_stmt) { id, text ? text : fb_xstrdup ("") };
  uint64_t cols = le (p->payload + 5, 2), params = le (p->payload + 7, 2);
  bool eofs = !(st->caps & CLIENT_DEPRECATE_EOF);
  st->left = cols + params + (eofs ? (cols > 0) + (params > 0) : 0);
  st->reply = st->left ? R_PREPARED : R_NONE;
  return !st->left;
}

/* The first packet of a command's reply; true when it is the whole. */
static bool
reply_first (my_state *st, const my_packet *p, const char *verb)
{
  unsigned c = p->payload[0];
  if (!strcmp (verb, "prepare"))
    return prepared (st, p);
  if (c == 0xff)
    return true;
  if (!strcmp (verb, "0x04") || !strcmp (verb, "0x1c"))
    {
      /* COM_FIELD_LIST and COM_STMT_FETCH answer with rows to an EOF */
      st->reply = R_ROWS;
      return is_end (st, p) && result_done (st, p);
    }
  bool results = !strcmp (verb, "query") || !strcmp (verb, "execute");
  if (!results || c == 0x00)
    return results ? result_done (st, p) : true;
  if (c == 0xfb)
    {
      st->infile = true;
      return true;
    }
  size_t pos = 0;
  uint64_t cols = 0;
  lenenc (p->payload, p->n, &pos, &cols);
  st->left = cols;
  st->reply = cols ? R_COLDEFS : R_NONE;
  return !cols;
}

/* One packet of a reply under way; true when it ends the reply. */
static bool
reply_packet (my_state *st, const my_packet *p, const fb_msg *req)
{
  switch (st->reply)
    {
    case R_NONE:
    case R_FIRST:
      st->reply = R_NONE;
      return p->n ? reply_first (st, p, req ? req->verb : "") : true;
    case R_COLDEFS:
      if (--st->left == 0)
        st->reply = st->caps & CLIENT_DEPRECATE_EOF ? R_ROWS : R_COLEOF;
      return false;
    case R_COLEOF:
      /* a cursor's columns: its rows come with COM_STMT_FETCH */
      st->reply = end_status (st, p) & SERVER_STATUS_CURSOR_EXISTS ? R_NONE : R_ROWS;
      return st->reply == R_NONE;
    case R_ROWS:
      if (p->n && p->payload[0] == 0xff)
        return st->reply = R_NONE, true;
      return is_end (st, p) && result_done (st, p);
    case R_PREPARED:
      if (--st->left == 0)
        st->reply = R_NONE;
      return !st->left;
    }
  return true;
}

/* Before commands: the greeting, then the auth exchange's answers, up
 * to the OK (or ERR) that ends it. True when the server waits for the
 * client again. */
static bool
handshake_packet (my_state *st, const my_packet *p)
{
  unsigned c = p->n ? p->payload[0] : 0xff;
  if (st->phase == PH_GREETING)
    {
      greeting (st, p);
      if (c != 0xff)
        st->phase = PH_AUTH;
      return true;
    }
  if (c == 0x00)
    st->phase = PH_COMMAND;
  /* AuthMoreData 0x03: caching_sha2's fast path succeeded, an OK follows */
  return !(c == 0x01 && p->n == 2 && p->payload[1] == 0x03);
}

static fb_frame_rc
my_frame_response (void *p, const char *buf, size_t len, const fb_msg *req, fb_msg *m, fb_error *err)
{
  my_state *st = p;
  memset (m, 0, sizeof *m);
  my_packet pk;
  size_t pos = 0;
  (void) err;
  while (packet_at (buf + pos, len - pos, &pk) == FB_FRAME_OK)
    {
      pos += pk.end;
      bool done = st->phase == PH_COMMAND ? reply_packet (st, &pk, req) : handshake_packet (st, &pk);
      if (done)
        {
          m->len = pos;
          return FB_FRAME_OK;
        }
    }
  if (!pos)
    return FB_FRAME_PARTIAL;
  m->len = pos;
  m->interim = true;
  return FB_FRAME_OK;
}

/* An ERR packet in the place of the server's reply: Faultbox's errno 1105
 * (ER_UNKNOWN_ERROR) and SQLSTATE HY000 unless the rule gives one, the
 * message ("Injected fault" unless given). A statement that was never
 * prepared awaits no id. */
static char *
my_error_reply (void *p, const fb_reply *r, const fb_msg *req, size_t *len)
{
  my_state *st = p;
  if (st && req && !strcmp (req->verb, "prepare") && st->n_preparing)
    free (st->preparing[--st->n_preparing]);
  const char *msg = r->message && *r->message ? r->message : fb_mysql_framing.default_error;
  const char *state = r->code && *r->code ? r->code : "HY000";
  fb_buf out = FB_BUF_INIT;
  fb_buf_append (&out, "\0\0\0", 3);
  fb_buf_putc (&out, (char) (st ? st->req_seq + 1 : 1));
  fb_buf_append (&out, "\xff\x51\x04#", 4);
  fb_buf_append (&out, state, 5);
  fb_buf_puts (&out, msg);
  size_t n = out.len - MY_HEADER;
  out.data[0] = (char) n, out.data[1] = (char) (n >> 8), out.data[2] = (char) (n >> 16);
  *len = out.len;
  return fb_buf_steal (&out);
}

static char *
my_canonical (const char *pattern)
{
  return fb_sql_canonical (pattern, strlen (pattern));
}

static const char *const my_matchers[] = { "query", NULL };

const fb_framing fb_mysql_framing = {
  .state_new = my_state_new,
  .state_free = my_state_free,
  .request = my_frame_request,
  .response = my_frame_response,
  .reply = my_error_reply,
  .canonical = my_canonical,
  .matchers = my_matchers,
  .event_target = "query",
  .default_error = "Injected fault",
  .no_respond = true,
  .sqlstate = true,
  .delay_final = true,
};
