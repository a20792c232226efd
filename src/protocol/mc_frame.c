/* Memcached's text protocol, framed for the proxy as Faultbox's proxy
 * reads it: a request is a command line ("set k 0 0 5\r\n") with, for the
 * storage commands, its data block; rules match its command (upper-cased)
 * and its first key. A reply is one line, or for the retrievals and stats
 * the VALUE / STAT lines (with their data blocks) up to END. The binary
 * protocol (a 0x80 first byte) is no text: the connection is relayed
 * unfaulted. The memcached table entry points at fb_memcached_framing. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "protocol/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"

/* memcached's own limit of a command line (KEY_MAX_LENGTH is 250) */
#define MC_MAX_LINE 2048
#define MC_MAX_TOKENS 8

typedef struct {
  const char *p[MC_MAX_TOKENS];
  size_t n[MC_MAX_TOKENS];
  size_t count;
} mc_tokens;

/* The line at buf (without its "\r\n" or "\n"), split on spaces: its
 * length with the line end in *end; FB_FRAME_PARTIAL without one. */
static fb_frame_rc
mc_line (const char *buf, size_t len, mc_tokens *t, size_t *end, fb_error *err)
{
  const char *nl = memchr (buf, '\n', len < MC_MAX_LINE ? len : MC_MAX_LINE);
  if (!nl)
    return len >= MC_MAX_LINE
               ? (fb_error_set (err, EPROTO, "memcached: a line longer than %d bytes", MC_MAX_LINE), FB_FRAME_BAD)
               : FB_FRAME_PARTIAL;
  *end = (size_t) (nl - buf) + 1;
  size_t n = *end - 1 - (nl > buf && nl[-1] == '\r');
  t->count = 0;
  for (size_t i = 0; i < n && t->count < MC_MAX_TOKENS;)
    {
      while (i < n && buf[i] == ' ')
        i++;
      size_t s = i;
      while (i < n && buf[i] != ' ')
        i++;
      if (i > s)
        t->p[t->count] = buf + s, t->n[t->count++] = i - s;
    }
  return FB_FRAME_OK;
}

static bool
tok_is (const mc_tokens *t, size_t i, const char *s)
{
  return i < t->count && t->n[i] == strlen (s) && !strncasecmp (t->p[i], s, t->n[i]);
}

/* Token i as a byte count; false when it is none. */
static bool
tok_size (const mc_tokens *t, size_t i, size_t *v)
{
  if (i >= t->count || t->n[i] > 10)
    return false;
  char s[12];
  memcpy (s, t->p[i], t->n[i]);
  s[t->n[i]] = '\0';
  char *e;
  unsigned long long x = strtoull (s, &e, 10);
  *v = (size_t) x;
  return !*e && isdigit ((unsigned char) s[0]);
}

static void
tok_copy (char *dst, size_t cap, const mc_tokens *t, size_t i, bool upper)
{
  size_t n = i < t->count ? (t->n[i] < cap ? t->n[i] : cap - 1) : 0;
  for (size_t k = 0; k < n; k++)
    dst[k] = upper ? (char) toupper ((unsigned char) t->p[i][k]) : t->p[i][k];
  dst[n] = '\0';
}

/* The data block a request line announces: the storage commands' 5th
 * token (bytes), the meta set's 3rd. */
static bool
data_block (const mc_tokens *t, size_t *bytes)
{
  static const char *const storage[] = { "set", "add", "replace", "append", "prepend", "cas" };
  for (size_t i = 0; i < sizeof storage / sizeof *storage; i++)
    if (tok_is (t, 0, storage[i]))
      return tok_size (t, 4, bytes);
  return tok_is (t, 0, "ms") && tok_size (t, 2, bytes);
}

static fb_frame_rc
mc_frame_request (void *st, const char *buf, size_t len, fb_msg *m, fb_error *err)
{
  memset (m, 0, sizeof *m);
  if (!len)
    return FB_FRAME_PARTIAL;
  if ((unsigned char) buf[0] == 0x80)
    return fb_error_set (err, EPROTO, "memcached: the binary protocol is relayed unframed"), FB_FRAME_BAD;
  mc_tokens t;
  size_t end, bytes = 0;
  fb_frame_rc rc = mc_line (buf, len, &t, &end, err);
  if (rc != FB_FRAME_OK)
    return rc;
  if (data_block (&t, &bytes))
    {
      if (len - end < bytes + 2)
        return FB_FRAME_PARTIAL;
      end += bytes + 2;
    }
  m->len = end;
  tok_copy (m->verb, sizeof m->verb, &t, 0, true);
  tok_copy (m->target, sizeof m->target, &t, 1, false);
  /* an empty line is answered by nothing; "noreply" asks for nothing */
  m->no_reply = !t.count || tok_is (&t, t.count - 1, "noreply");
  m->passthrough = !t.count;
  return FB_FRAME_OK;
}

/* Whether a reply to verb is lines up to END (the retrievals, stats). */
static bool
until_end (const char *verb)
{
  static const char *const multi[] = { "GET", "GETS", "GAT", "GATS", "STATS" };
  for (size_t i = 0; i < sizeof multi / sizeof *multi; i++)
    if (!strcmp (verb, multi[i]))
      return true;
  return false;
}

static fb_frame_rc
mc_frame_response (void *st, const char *buf, size_t len, const fb_msg *req, fb_msg *m, fb_error *err)
{
  memset (m, 0, sizeof *m);
  bool multi = req && until_end (req->verb);
  size_t pos = 0;
  for (;;)
    {
      mc_tokens t;
      size_t end, bytes;
      fb_frame_rc rc = mc_line (buf + pos, len - pos, &t, &end, err);
      if (rc != FB_FRAME_OK)
        return rc;
      /* VALUE key flags bytes [cas]; a meta get's VA bytes: a block follows */
      if ((tok_is (&t, 0, "VALUE") && tok_size (&t, 3, &bytes)) || (tok_is (&t, 0, "VA") && tok_size (&t, 1, &bytes)))
        {
          if (len - pos - end < bytes + 2)
            return FB_FRAME_PARTIAL;
          end += bytes + 2;
        }
      pos += end;
      /* an error line ends any reply */
      bool error = tok_is (&t, 0, "ERROR") || tok_is (&t, 0, "CLIENT_ERROR") || tok_is (&t, 0, "SERVER_ERROR");
      if (!multi || error || tok_is (&t, 0, "END"))
        break;
    }
  m->len = pos;
  return FB_FRAME_OK;
}

/* As Faultbox's memcached proxy answers: error() its message line
 * ("SERVER_ERROR injected fault" unless given), response() its body line
 * (NOT_FOUND unless given). */
static char *
mc_reply (void *st, const fb_reply *r, const fb_msg *req, size_t *len)
{
  const char *line = r->error ? (r->message && *r->message ? r->message : fb_memcached_framing.default_error)
                              : (r->body && *r->body ? r->body : "NOT_FOUND");
  char *s = fb_xasprintf ("%s\r\n", line);
  *len = strlen (s);
  return s;
}

static const char *const mc_matchers[] = { "command", "key", NULL };

const fb_framing fb_memcached_framing = {
  .request = mc_frame_request,
  .response = mc_frame_response,
  .reply = mc_reply,
  .matchers = mc_matchers,
  .event_verb = "command",
  .event_target = "key",
  .default_error = "SERVER_ERROR injected fault",
  .delay_final = true,
};
