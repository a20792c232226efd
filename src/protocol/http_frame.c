/* HTTP/1.1 framing for the proxy: where a request or response ends
 * (Content-Length, chunked, to the end of the stream) and its method, path,
 * status and headers, plus the responses rules inject. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "protocol/internal.h"
#include "faultbox/buf.h"

/* A head larger than this is not HTTP we proxy (nginx's default is 8 KiB). */
#define HTTP_MAX_HEAD 65536

/* The end of the head (just past its empty line), or 0 when it has not
 * all arrived; blank lines before a request line are skipped (RFC 9112
 * 2.2) into *start. */
static size_t
head_end (const char *buf, size_t len, size_t *start)
{
  size_t i = 0;
  while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
    i++;
  *start = i;
  for (; i < len; i++)
    if (buf[i] == '\n')
      {
        size_t j = i + 1;
        if (j < len && buf[j] == '\n')
          return j + 1;
        if (j + 1 < len && buf[j] == '\r' && buf[j + 1] == '\n')
          return j + 2;
      }
  return 0;
}

static size_t
line_len (const char *p, const char *end)
{
  const char *nl = memchr (p, '\n', (size_t) (end - p));
  return nl ? (size_t) (nl - p) : (size_t) (end - p);
}

static bool
header_is (const fb_msg *m, size_t i, const char *name)
{
  return m->headers[i].name_len == strlen (name) && !strncasecmp (m->headers[i].name, name, m->headers[i].name_len);
}

/* Parses the header lines of head[from..to) into m. */
static fb_frame_rc
parse_headers (const char *p, const char *end, fb_msg *m, fb_error *err)
{
  while (p < end)
    {
      size_t n = line_len (p, end);
      const char *next = p + n + 1;
      if (n && p[n - 1] == '\r')
        n--;
      if (!n)
        break;
      const char *colon = memchr (p, ':', n);
      if (!colon || colon == p)
        return fb_error_set (err, EPROTO, "HTTP header line without a name: \"%.*s\"", (int) (n < 60 ? n : 60), p),
               FB_FRAME_BAD;
      if (m->n_headers < FB_MSG_MAX_HEADERS)
        {
          const char *v = colon + 1, *ve = p + n;
          while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
          while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
          m->headers[m->n_headers].name = p;
          m->headers[m->n_headers].name_len = (size_t) (colon - p);
          m->headers[m->n_headers].value = v;
          m->headers[m->n_headers].value_len = (size_t) (ve - v);
          m->n_headers++;
        }
      p = next;
    }
  return FB_FRAME_OK;
}

/* The body's length from its headers: *chunked, or *clen (-1: none given). */
static fb_frame_rc
body_kind (const fb_msg *m, bool *chunked, long long *clen, fb_error *err)
{
  *chunked = false;
  *clen = -1;
  for (size_t i = 0; i < m->n_headers; i++)
    {
      const char *v = m->headers[i].value;
      size_t vl = m->headers[i].value_len;
      if (header_is (m, i, "transfer-encoding"))
        /* chunked must be the last coding (RFC 9112 6.1) */
        *chunked = vl >= 7 && !strncasecmp (v + vl - 7, "chunked", 7);
      else if (header_is (m, i, "content-length"))
        {
          char num[24];
          if (!vl || vl >= sizeof num)
            return fb_error_set (err, EPROTO, "bad HTTP Content-Length"), FB_FRAME_BAD;
          memcpy (num, v, vl);
          num[vl] = '\0';
          char *e;
          long long n = strtoll (num, &e, 10);
          if (*e || n < 0 || !isdigit ((unsigned char) num[0]) || (*clen >= 0 && *clen != n))
            return fb_error_set (err, EPROTO, "bad HTTP Content-Length \"%s\"", num), FB_FRAME_BAD;
          *clen = n;
        }
    }
  return FB_FRAME_OK;
}

/* The end of a chunked body that starts at pos, or 0 while incomplete. */
static fb_frame_rc
chunked_end (const char *buf, size_t len, size_t pos, size_t *end, fb_error *err)
{
  for (;;)
    {
      const char *nl = memchr (buf + pos, '\n', len - pos);
      if (!nl)
        return len - pos > 1024 ? (fb_error_set (err, EPROTO, "HTTP chunk size line too long"), FB_FRAME_BAD)
                                : FB_FRAME_PARTIAL;
      char *e;
      unsigned long long size = strtoull (buf + pos, &e, 16);
      if (e == buf + pos || (*e != ';' && *e != '\r' && *e != '\n' && *e != ' ' && *e != '\t')
          || size > (1ULL << 40))
        return fb_error_set (err, EPROTO, "bad HTTP chunk size"), FB_FRAME_BAD;
      pos = (size_t) (nl - buf) + 1;
      if (size == 0)
        break;
      if (len - pos < size + 1)
        return FB_FRAME_PARTIAL;
      pos += size;
      if (buf[pos] == '\r')
        {
          if (len - pos < 2)
            return FB_FRAME_PARTIAL;
          pos++;
        }
      if (buf[pos] != '\n')
        return fb_error_set (err, EPROTO, "HTTP chunk not followed by a line end"), FB_FRAME_BAD;
      pos++;
    }
  /* trailer fields, then the empty line */
  for (;;)
    {
      const char *nl = memchr (buf + pos, '\n', len - pos);
      if (!nl)
        return FB_FRAME_PARTIAL;
      size_t n = (size_t) (nl - (buf + pos));
      pos += n + 1;
      if (n == 0 || (n == 1 && buf[pos - 2] == '\r'))
        break;
    }
  *end = pos;
  return FB_FRAME_OK;
}

/* The head and, when the message has one, the body's end. */
static fb_frame_rc
frame_body (const char *buf, size_t len, size_t head, fb_msg *m, bool may_run_to_close, fb_error *err)
{
  bool chunked;
  long long clen;
  if (body_kind (m, &chunked, &clen, err) < 0)
    return FB_FRAME_BAD;
  if (chunked)
    return chunked_end (buf, len, head, &m->len, err);
  if (clen >= 0)
    {
      if ((unsigned long long) clen > len - head)
        return FB_FRAME_PARTIAL;
      m->len = head + (size_t) clen;
      return FB_FRAME_OK;
    }
  m->len = head;
  m->until_close = may_run_to_close;
  return FB_FRAME_OK;
}

static void
copy_cut (char *dst, size_t cap, const char *src, size_t n)
{
  if (n >= cap)
    n = cap - 1;
  memcpy (dst, src, n);
  dst[n] = '\0';
}

/* The whole head's bounds, or why there is none yet. */
static fb_frame_rc
find_head (const char *buf, size_t len, const char *what, fb_msg *m, size_t *start, size_t *head, fb_error *err)
{
  memset (m, 0, sizeof *m);
  if ((*head = head_end (buf, len, start)))
    return FB_FRAME_OK;
  if (len > HTTP_MAX_HEAD)
    return fb_error_set (err, EMSGSIZE, "HTTP %s head over %d bytes", what, HTTP_MAX_HEAD), FB_FRAME_BAD;
  return FB_FRAME_PARTIAL;
}

static fb_frame_rc
http_frame_request (void *st, const char *buf, size_t len, fb_msg *m, fb_error *err)
{
  (void) st;
  size_t start, head;
  fb_frame_rc rc = find_head (buf, len, "request", m, &start, &head, err);
  if (rc != FB_FRAME_OK)
    return rc;
  const char *p = buf + start, *end = buf + head;
  size_t n = line_len (p, end);
  const char *sp1 = memchr (p, ' ', n);
  const char *sp2 = sp1 ? memchr (sp1 + 1, ' ', n - (size_t) (sp1 + 1 - p)) : NULL;
  if (!sp1 || !sp2 || sp1 == p || strncmp (sp2 + 1, "HTTP/1.", 7) != 0)
    return fb_error_set (err, EPROTO, "not an HTTP/1.x request line: \"%.*s\"", (int) (n < 60 ? n : 60), p),
           FB_FRAME_BAD;
  copy_cut (m->verb, sizeof m->verb, p, (size_t) (sp1 - p));
  const char *t = sp1 + 1;
  size_t tl = strcspn (t, "? ");
  /* an absolute-form target (through a forward proxy): its path */
  if (tl > 7 && (!strncmp (t, "http://", 7) || !strncmp (t, "https://", 8)))
    {
      const char *slash = memchr (t + 8, '/', tl - 8);
      t = slash ? slash : "/";
      tl = slash ? strcspn (t, "? ") : 1;
    }
  copy_cut (m->target, sizeof m->target, t, tl);
  m->head_only = !strcmp (m->verb, "HEAD");
  if (parse_headers (p + n + 1, end, m, err) < 0)
    return FB_FRAME_BAD;
  /* a request without a length has no body (RFC 9112 6.3) */
  return frame_body (buf, len, head, m, false, err);
}

static fb_frame_rc
http_frame_response (void *st, const char *buf, size_t len, const fb_msg *req, fb_msg *m, fb_error *err)
{
  (void) st;
  size_t start, head;
  fb_frame_rc rc = find_head (buf, len, "response", m, &start, &head, err);
  if (rc != FB_FRAME_OK)
    return rc;
  const char *p = buf + start, *end = buf + head;
  size_t n = line_len (p, end);
  if (n < 12 || strncmp (p, "HTTP/1.", 7) != 0 || p[8] != ' ' || !isdigit ((unsigned char) p[9]))
    return fb_error_set (err, EPROTO, "not an HTTP/1.x status line: \"%.*s\"", (int) (n < 60 ? n : 60), p),
           FB_FRAME_BAD;
  m->status = atoi (p + 9);
  if (parse_headers (p + n + 1, end, m, err) < 0)
    return FB_FRAME_BAD;
  bool connect_ok = req && !strcmp (req->verb, "CONNECT") && m->status / 100 == 2;
  if (m->status == 101 || connect_ok)
    m->upgrade = true;
  else if (m->status / 100 == 1)
    m->interim = true;
  if (m->status / 100 == 1 || m->status == 204 || m->status == 304 || connect_ok || (req && req->head_only))
    {
      m->len = head;
      return FB_FRAME_OK;
    }
  return frame_body (buf, len, head, m, true, err);
}

const char *
fb_http_reason (int status)
{
  static const struct { int code; const char *text; } table[] = {
    { 200, "OK" }, { 201, "Created" }, { 202, "Accepted" }, { 204, "No Content" },
    { 301, "Moved Permanently" }, { 302, "Found" }, { 303, "See Other" }, { 304, "Not Modified" },
    { 307, "Temporary Redirect" }, { 308, "Permanent Redirect" },
    { 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
    { 408, "Request Timeout" }, { 409, "Conflict" }, { 429, "Too Many Requests" },
    { 500, "Internal Server Error" }, { 502, "Bad Gateway" }, { 503, "Service Unavailable" },
    { 504, "Gateway Timeout" },
  };
  for (size_t i = 0; i < sizeof table / sizeof *table; i++)
    if (table[i].code == status)
      return table[i].text;
  return "Injected";
}

/* As Faultbox's proxy answers: the status (500 unless given), the body, or
 * {"error": message} when only a message is given, as JSON; the connection
 * stays open. */
static char *
http_reply (void *st, const fb_reply *r, const fb_msg *req, size_t *len)
{
  (void) st;
  int status = r->status ? r->status : 500;
  fb_buf body = FB_BUF_INIT;
  if (r->body)
    fb_buf_puts (&body, r->body);
  else if (r->message)
    {
      fb_buf_puts (&body, "{\"error\":\"");
      for (const char *c = r->message; *c; c++)
        if (*c == '"' || *c == '\\')
          fb_buf_printf (&body, "\\%c", *c);
        else if ((unsigned char) *c < 0x20)
          fb_buf_printf (&body, "\\u%04x", *c);
        else
          fb_buf_putc (&body, *c);
      fb_buf_puts (&body, "\"}");
    }
  fb_buf out = FB_BUF_INIT;
  fb_buf_printf (&out, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n", status,
                 fb_http_reason (status), body.len);
  if (!(req && req->head_only) && body.len)
    fb_buf_append (&out, body.data, body.len);
  fb_buf_free (&body);
  *len = out.len;
  return fb_buf_steal (&out);
}

static const char *const http_matchers[] = { "method", "path", "header", NULL };

const fb_framing fb_http_framing = {
  .request = http_frame_request,
  .response = http_frame_response,
  .reply = http_reply,
  .matchers = http_matchers,
  .event_verb = "method",
  .event_target = "path",
};
