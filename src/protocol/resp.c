/* RESP (REdis Serialization Protocol, 2 and 3) framing for the proxy:
 * commands as clients send them (arrays of bulk strings, or inline lines),
 * pipelined, and replies of every type, plus the replies rules inject.
 * The redis table entry points at fb_resp_framing. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/internal.h"
#include "faultbox/buf.h"

/* Deeper replies than this are not what a Redis server sends. */
#define RESP_MAX_DEPTH 64
/* Redis's own proto-max-bulk-len default. */
#define RESP_MAX_BULK (512LL * 1024 * 1024)
#define RESP_MAX_INLINE (64 * 1024)

/* The line at pos (without CRLF) as *ln bytes; *next past it. */
static fb_frame_rc
resp_line (const char *buf, size_t len, size_t pos, size_t *ln, size_t *next)
{
  const char *nl = memchr (buf + pos, '\n', len - pos);
  if (!nl)
    return FB_FRAME_PARTIAL;
  size_t n = (size_t) (nl - (buf + pos));
  *next = pos + n + 1;
  *ln = n && buf[pos + n - 1] == '\r' ? n - 1 : n;
  return FB_FRAME_OK;
}

/* The integer of a "<type><digits>" line. */
static fb_frame_rc
resp_int (const char *buf, size_t pos, size_t ln, long long *out, fb_error *err)
{
  char num[24];
  if (ln < 2 || ln - 1 >= sizeof num)
    return fb_error_set (err, EPROTO, "RESP: bad length line"), FB_FRAME_BAD;
  memcpy (num, buf + pos + 1, ln - 1);
  num[ln - 1] = '\0';
  char *e;
  long long n = strtoll (num, &e, 10);
  if (*e || n < -1 || n > RESP_MAX_BULK)
    return fb_error_set (err, EPROTO, "RESP: bad length \"%s\"", num), FB_FRAME_BAD;
  *out = n;
  return FB_FRAME_OK;
}

/* One value of any type at *pos; on FB_FRAME_OK *pos is past it. */
static fb_frame_rc
resp_value (const char *buf, size_t len, size_t *pos, int depth, fb_error *err)
{
  if (depth > RESP_MAX_DEPTH)
    return fb_error_set (err, EPROTO, "RESP: reply nested deeper than %d", RESP_MAX_DEPTH), FB_FRAME_BAD;
  size_t ln, next;
  if (*pos >= len || resp_line (buf, len, *pos, &ln, &next) == FB_FRAME_PARTIAL)
    return FB_FRAME_PARTIAL;
  long long n;
  switch (buf[*pos])
    {
    case '+': case '-': case ':': case '_': case '#': case ',': case '(':
      *pos = next;
      return FB_FRAME_OK;
    case '$': case '!': case '=':
      if (resp_int (buf, *pos, ln, &n, err) < 0)
        return FB_FRAME_BAD;
      if (n < 0)
        {
          *pos = next;
          return FB_FRAME_OK;
        }
      if (len - next < (size_t) n + 2)
        return FB_FRAME_PARTIAL;
      if (buf[next + (size_t) n] != '\r' || buf[next + (size_t) n + 1] != '\n')
        return fb_error_set (err, EPROTO, "RESP: bulk string not followed by CRLF"), FB_FRAME_BAD;
      *pos = next + (size_t) n + 2;
      return FB_FRAME_OK;
    case '*': case '~': case '>': case '%': case '|':
      {
        if (resp_int (buf, *pos, ln, &n, err) < 0)
          return FB_FRAME_BAD;
        bool pairs = buf[*pos] == '%' || buf[*pos] == '|', attr = buf[*pos] == '|';
        size_t p = next;
        for (long long i = 0; i < (pairs ? 2 * n : n); i++)
          {
            fb_frame_rc rc = resp_value (buf, len, &p, depth + 1, err);
            if (rc != FB_FRAME_OK)
              return rc;
          }
        *pos = p;
        /* attributes annotate the value that follows them */
        return attr ? resp_value (buf, len, pos, depth + 1, err) : FB_FRAME_OK;
      }
    default:
      return fb_error_set (err, EPROTO, "RESP: unknown reply type '%c'", isprint ((unsigned char) buf[*pos]) ? buf[*pos] : '?'),
             FB_FRAME_BAD;
    }
}

static void
put_word (char *dst, size_t cap, const char *src, size_t n, bool upper)
{
  if (n >= cap)
    n = cap - 1;
  for (size_t i = 0; i < n; i++)
    dst[i] = upper ? (char) toupper ((unsigned char) src[i]) : src[i];
  dst[n] = '\0';
}

/* Commands after which the server talks on its own (pub/sub messages, the
 * MONITOR feed): replies no longer pair with requests, so the connection
 * becomes a plain tunnel. */
static bool
switches_mode (const char *verb)
{
  return !strcmp (verb, "SUBSCRIBE") || !strcmp (verb, "PSUBSCRIBE") || !strcmp (verb, "SSUBSCRIBE")
         || !strcmp (verb, "MONITOR");
}

/* An inline command: one line of space-separated words. */
static fb_frame_rc
resp_inline (const char *buf, size_t len, fb_msg *m, fb_error *err)
{
  size_t ln, next;
  if (resp_line (buf, len, 0, &ln, &next) == FB_FRAME_PARTIAL)
    return len > RESP_MAX_INLINE ? (fb_error_set (err, EMSGSIZE, "RESP: inline command over %d bytes", RESP_MAX_INLINE),
                                    FB_FRAME_BAD)
                                 : FB_FRAME_PARTIAL;
  m->len = next;
  size_t i = 0, w = 0;
  while (i < ln && w < 2)
    {
      while (i < ln && isspace ((unsigned char) buf[i]))
        i++;
      size_t s = i;
      while (i < ln && !isspace ((unsigned char) buf[i]))
        i++;
      if (i > s)
        w++ == 0 ? put_word (m->verb, sizeof m->verb, buf + s, i - s, true)
                 : put_word (m->target, sizeof m->target, buf + s, i - s, false);
    }
  /* Redis answers nothing to an empty line */
  m->no_reply = w == 0;
  return FB_FRAME_OK;
}

static fb_frame_rc
resp_frame_request (void *st, const char *buf, size_t len, fb_msg *m, fb_error *err)
{
  (void) st;
  memset (m, 0, sizeof *m);
  if (!len)
    return FB_FRAME_PARTIAL;
  if (buf[0] != '*')
    return resp_inline (buf, len, m, err);
  size_t ln, pos;
  long long n;
  if (resp_line (buf, len, 0, &ln, &pos) == FB_FRAME_PARTIAL)
    return FB_FRAME_PARTIAL;
  if (resp_int (buf, 0, ln, &n, err) < 0)
    return FB_FRAME_BAD;
  for (long long i = 0; i < n; i++)
    {
      size_t bl, data;
      long long blen;
      if (pos >= len || resp_line (buf, len, pos, &bl, &data) == FB_FRAME_PARTIAL)
        return FB_FRAME_PARTIAL;
      if (buf[pos] != '$')
        return fb_error_set (err, EPROTO, "RESP: a command's argument %lld is not a bulk string", i + 1), FB_FRAME_BAD;
      if (resp_int (buf, pos, bl, &blen, err) < 0)
        return FB_FRAME_BAD;
      if (blen < 0)
        return fb_error_set (err, EPROTO, "RESP: a command's argument %lld is null", i + 1), FB_FRAME_BAD;
      if (len - data < (size_t) blen + 2)
        return FB_FRAME_PARTIAL;
      if (i < 2)
        put_word (i ? m->target : m->verb, i ? sizeof m->target : sizeof m->verb, buf + data, (size_t) blen, i == 0);
      pos = data + (size_t) blen + 2;
    }
  m->len = pos;
  m->upgrade = switches_mode (m->verb);
  return FB_FRAME_OK;
}

static fb_frame_rc
resp_frame_response (void *st, const char *buf, size_t len, const fb_msg *req, fb_msg *m, fb_error *err)
{
  (void) st;
  (void) req;
  memset (m, 0, sizeof *m);
  size_t pos = 0;
  fb_frame_rc rc = resp_value (buf, len, &pos, 0, err);
  if (rc != FB_FRAME_OK)
    return rc;
  m->len = pos;
  /* a RESP3 push is no command's reply */
  m->interim = buf[0] == '>';
  if (buf[0] == '-')
    put_word (m->verb, sizeof m->verb, buf + 1, strcspn (buf + 1, " \r\n"), false);
  return FB_FRAME_OK;
}

/* As Faultbox's redis proxy answers: error() an error reply (-ERR injected
 * fault unless a message is given), response() a bulk string, nil without
 * a body. */
static char *
resp_reply (void *st, const fb_reply *r, const fb_msg *req, size_t *len)
{
  (void) st;
  (void) req;
  fb_buf out = FB_BUF_INIT;
  if (r->error)
    {
      const char *msg = r->message && *r->message ? r->message : fb_resp_framing.default_error;
      fb_buf_putc (&out, '-');
      for (const char *c = msg; *c; c++)
        fb_buf_putc (&out, *c == '\r' || *c == '\n' ? ' ' : *c);
      fb_buf_puts (&out, "\r\n");
    }
  else if (!r->body || !*r->body)
    fb_buf_puts (&out, "$-1\r\n");
  else
    fb_buf_printf (&out, "$%zu\r\n%s\r\n", strlen (r->body), r->body);
  *len = out.len;
  return fb_buf_steal (&out);
}

static const char *const resp_matchers[] = { "command", "key", NULL };

const fb_framing fb_resp_framing = {
  .request = resp_frame_request,
  .response = resp_frame_response,
  .reply = resp_reply,
  .matchers = resp_matchers,
  .event_verb = "command",
  .event_target = "key",
  .default_error = "ERR injected fault",
};
