/* The HTTP/1.1 mock: requests framed as the proxy frames them (any number
 * of reads, keep-alive, pipelined), routed by "METHOD /path" globs as
 * Faultbox's mock routes them, each answered and recorded as a
 * mock.<METHOD /path> event. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "protocol/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"

/* Faultbox reads at most 1 MiB of a request's body. */
#define MOCK_HTTP_MAX (1024 * 1024 + 64 * 1024)
/* An idle keep-alive connection is closed after this. */
#define MOCK_HTTP_IDLE_S 60

/* Segments of a path glob: "*" one segment, "**" any number, else
 * fnmatch within the segment. */
static bool
match_segments (char **pat, size_t np, char **seg, size_t ns)
{
  if (!np)
    return !ns;
  if (!strcmp (pat[0], "**"))
    {
      for (size_t i = 0; i <= ns; i++)
        if (match_segments (pat + 1, np - 1, seg + i, ns - i))
          return true;
      return false;
    }
  if (!ns)
    return false;
  if (strcmp (pat[0], "*") && strcmp (pat[0], seg[0]) && fnmatch (pat[0], seg[0], 0) != 0)
    return false;
  return match_segments (pat + 1, np - 1, seg + 1, ns - 1);
}

/* Splits s (its slashes trimmed at both ends) at '/' in place. */
static char **
split_path (char *s, size_t *n)
{
  while (*s == '/')
    s++;
  size_t len = strlen (s);
  while (len && s[len - 1] == '/')
    s[--len] = '\0';
  char **v = fb_xcalloc (len + 2, sizeof *v);
  *n = 0;
  if (len)
    for (char *save = NULL, *t = strtok_r (s, "/", &save); t; t = strtok_r (NULL, "/", &save))
      v[(*n)++] = t;
  return v;
}

static bool
path_match (const char *pattern, const char *path)
{
  if (!strchr (pattern, '*'))
    return !strcmp (pattern, path) || fnmatch (pattern, path, FNM_PATHNAME) == 0;
  char *p = fb_xstrdup (pattern), *t = fb_xstrdup (path);
  size_t np, nt;
  char **pv = split_path (p, &np), **tv = split_path (t, &nt);
  bool ok = match_segments (pv, np, tv, nt);
  free (pv), free (tv), free (p), free (t);
  return ok;
}

bool
fb_http_route_matches (const char *pattern, const void *ctx)
{
  const fb_http_route_key *k = ctx;
  size_t ml = strcspn (pattern, " ");
  if (!pattern[ml])
    return false;
  bool any = ml == 1 && pattern[0] == '*';
  if (!any && (strlen (k->method) != ml || strncasecmp (pattern, k->method, ml)))
    return false;
  return path_match (pattern + ml + 1, k->path);
}

static void
kv_add (fb_kv **kv, size_t *n, const char *k, size_t kl, const char *v, size_t vl)
{
  *kv = fb_xreallocarray (*kv, *n + 1, sizeof **kv);
  (*kv)[(*n)++] = (fb_kv) { fb_xstrndup (k, kl), fb_xstrndup (v, vl) };
}

static void
kv_clear (fb_kv *kv, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (kv[i].key), free (kv[i].value);
  free (kv);
}

void
fb_http_parse_query (const char *buf, size_t len, fb_mock_request *req, fb_kv **q)
{
  const char *sp = memchr (buf, ' ', len);
  const char *end = sp ? memchr (sp + 1, ' ', len - (size_t) (sp + 1 - buf)) : NULL;
  const char *qm = sp && end ? memchr (sp + 1, '?', (size_t) (end - sp - 1)) : NULL;
  for (const char *p = qm ? qm + 1 : NULL; p && p < end;)
    {
      const char *amp = memchr (p, '&', (size_t) (end - p));
      const char *stop = amp ? amp : end;
      const char *eq = memchr (p, '=', (size_t) (stop - p));
      size_t kl = (size_t) ((eq ? eq : stop) - p);
      bool seen = false;
      for (size_t i = 0; i < req->n_query; i++)
        seen |= strlen ((*q)[i].key) == kl && !strncmp ((*q)[i].key, p, kl);
      if (kl && !seen)
        kv_add (q, &req->n_query, p, kl, eq ? eq + 1 : stop, eq ? (size_t) (stop - eq - 1) : 0);
      p = stop + 1;
    }
  req->query = *q;
}

static bool
wants_close (const char *buf, const fb_msg *m)
{
  for (size_t i = 0; i < m->n_headers; i++)
    if (m->headers[i].name_len == 10 && !strncasecmp (m->headers[i].name, "connection", 10))
      return m->headers[i].value_len == 5 && !strncasecmp (m->headers[i].value, "close", 5);
  /* HTTP/1.0 closes unless asked not to */
  const char *nl = memchr (buf, '\r', m->len);
  return nl && nl - buf >= 8 && !strncmp (nl - 8, "HTTP/1.0", 8);
}

static bool
has_header (const fb_mock_response *r, const char *name)
{
  for (size_t i = 0; i < r->n_headers; i++)
    if (!strcasecmp (r->headers[i].key, name))
      return true;
  return false;
}

static void
write_response (int fd, const fb_mock_response *r, bool head, bool close_after)
{
  int status = r->status ? r->status : 200;
  fb_buf out = FB_BUF_INIT;
  fb_buf_printf (&out, "HTTP/1.1 %d %s\r\n", status, fb_http_reason (status));
  for (size_t i = 0; i < r->n_headers; i++)
    fb_buf_printf (&out, "%s: %s\r\n", r->headers[i].key, r->headers[i].value);
  if (r->content_type && !has_header (r, "Content-Type"))
    fb_buf_printf (&out, "Content-Type: %s\r\n", r->content_type);
  fb_buf_printf (&out, "Content-Length: %zu\r\n%s\r\n", r->body_len, close_after ? "Connection: close\r\n" : "");
  if (!head)
    fb_buf_append (&out, r->body, r->body_len);
  fb_mock_write (fd, out.data, out.len);
  fb_buf_free (&out);
}

void
fb_http_mock_answer_req (fb_mock_conn *c, const fb_mock_request *req, const char *proto, fb_http_mock_answer *a)
{
  memset (a, 0, sizeof *a);
  fb_http_route_key key = { req->method, req->path };
  const fb_mock_route *route = fb_mock_pick (c->iface, fb_http_route_matches, &key);
  static const fb_mock_response not_found = { 404, "not found\n", 10, "text/plain", NULL, 0 };
  a->r = fb_mock_respond (c, route, req, &a->owned, &a->error);
  if (a->error)
    {
      a->failed = (fb_mock_response) { .status = 500, .content_type = "text/plain; charset=utf-8" };
      a->failed.body = fb_xasprintf ("dynamic handler error: %s\n", a->error);
      a->failed.body_len = strlen (a->failed.body);
      a->r = &a->failed;
    }
  else if (!a->r)
    a->r = &not_found;
  char op[600], status[16], body_size[24], req_size[24];
  snprintf (op, sizeof op, "%s %s", req->method, req->path);
  snprintf (status, sizeof status, "%d", a->r->status ? a->r->status : 200);
  snprintf (body_size, sizeof body_size, "%zu", a->r->body_len);
  snprintf (req_size, sizeof req_size, "%zu", req->body_len);
  const char *kv[11] = { "status", status, "body_size", body_size, "req_size", req_size };
  size_t k = 6;
  if (proto)
    kv[k++] = "proto", kv[k++] = proto;
  if (a->error)
    kv[k++] = "error", kv[k++] = a->error;
  fb_mock_emit (c->srv, c->iface, op, kv);
}

void
fb_http_mock_answer_clear (fb_http_mock_answer *a)
{
  free (a->error);
  free (a->failed.body);
  fb_mock_response_clear (&a->owned);
}

/* Answers the request framed at buf (m); false when the connection ends. */
static bool
answer (fb_mock_conn *c, const char *buf, const fb_msg *m)
{
  fb_mock_request req = { .method = m->verb, .path = m->target };
  fb_kv *headers = NULL, *query = NULL;
  for (size_t i = 0; i < m->n_headers; i++)
    kv_add (&headers, &req.n_headers, m->headers[i].name, m->headers[i].name_len, m->headers[i].value,
            m->headers[i].value_len);
  req.headers = headers;
  fb_http_parse_query (buf, m->len, &req, &query);
  const char *head_end = memmem (buf, m->len, "\r\n\r\n", 4);
  req.body = head_end ? head_end + 4 : buf + m->len;
  req.body_len = (size_t) (buf + m->len - req.body);
  fb_http_mock_answer a;
  fb_http_mock_answer_req (c, &req, NULL, &a);
  /* after the event: the client never sees the reply before it is logged */
  bool close_after = wants_close (buf, m);
  write_response (c->fd, a.r, m->head_only, close_after);
  fb_http_mock_answer_clear (&a);
  kv_clear (headers, req.n_headers);
  kv_clear (query, req.n_query);
  return !close_after;
}

static void
http_bad (fb_mock_conn *c, const char *why)
{
  (void) why;
  static const fb_mock_response bad = { 400, "bad request\n", 12, "text/plain", NULL, 0 };
  write_response (c->fd, &bad, false, true);
}

static void
http_mock_serve (fb_mock_conn *c)
{
  fb_mock_timeout (c->fd, MOCK_HTTP_IDLE_S);
  fb_mock_frames (c, &fb_http_framing, MOCK_HTTP_MAX, answer, http_bad);
}

const fb_mock_ops fb_http_mock = { .serve = http_mock_serve };
