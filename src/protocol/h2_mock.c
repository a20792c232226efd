/* The HTTP/2 and gRPC mocks (h2c): an nghttp2 server session per
 * connection. http2 routes "METHOD /path" globs as the HTTP mock does;
 * grpc routes the method path as Faultbox's grpc mock (the path, a
 * service's path and a "*" for any of its methods, or "/" and "**"), answers one message per call and ends it with
 * grpc-status trailers (a status != 0 response is that gRPC error, its
 * body the message). With descriptors=, a grpc_typed_response's JSON is
 * encoded as the called method's output message. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "faultbox/grpc.h"
#include "faultbox/protobuf.h"
#include "protocol/h2.h"
#include "util/alloc.h"
#include "util/cleanup.h"

/* Faultbox reads at most 1 MiB of a request's body. */
#define MOCK_H2_MAX_BODY (1024 * 1024 + 64)
#define MOCK_H2_IDLE_S 60

typedef struct h2_stream {
  fb_buf method, path, body;
  fb_kv *headers;
  size_t n_headers;
  fb_buf out;               /* the reply's DATA */
  size_t off;
  char status[16];          /* grpc-status trailer, "" for http2 */
  char *message;            /* grpc-message, percent-encoded */
} h2_stream;

typedef struct {
  fb_mock_conn *c;
  bool grpc;
} h2_mock;

static void
stream_free (h2_stream *st)
{
  fb_buf_free (&st->method);
  fb_buf_free (&st->path);
  fb_buf_free (&st->body);
  fb_buf_free (&st->out);
  for (size_t i = 0; i < st->n_headers; i++)
    free (st->headers[i].key), free (st->headers[i].value);
  free (st->headers);
  free (st->message);
  free (st);
}

static ssize_t
on_send (nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
  (void) s, (void) flags;
  h2_mock *m = ud;
  return fb_mock_write (m->c->fd, (const char *) data, len) < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : (ssize_t) len;
}

static int
on_begin (nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
  (void) ud;
  if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
    nghttp2_session_set_stream_user_data (s, f->hd.stream_id, fb_xcalloc (1, sizeof (h2_stream)));
  return 0;
}

static int
on_header (nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen, const uint8_t *value,
           size_t valuelen, uint8_t flags, void *ud)
{
  (void) flags, (void) ud;
  h2_stream *st = nghttp2_session_get_stream_user_data (s, f->hd.stream_id);
  if (!st)
    return 0;
  if (namelen == 7 && !memcmp (name, ":method", 7))
    fb_buf_append (&st->method, value, valuelen);
  else if (namelen == 5 && !memcmp (name, ":path", 5))
    fb_buf_append (&st->path, value, valuelen);
  else if (namelen && name[0] != ':')
    {
      st->headers = fb_xreallocarray (st->headers, st->n_headers + 1, sizeof *st->headers);
      st->headers[st->n_headers++] = (fb_kv) { fb_xstrndup ((const char *) name, namelen),
                                               fb_xstrndup ((const char *) value, valuelen) };
    }
  return 0;
}

static int
on_data (nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *ud)
{
  (void) flags, (void) ud;
  h2_stream *st = nghttp2_session_get_stream_user_data (s, id);
  if (st && st->body.len + len <= MOCK_H2_MAX_BODY)
    fb_buf_append (&st->body, data, len);
  return 0;
}

static int
on_close (nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
  (void) code, (void) ud;
  h2_stream *st = nghttp2_session_get_stream_user_data (s, id);
  if (st)
    stream_free (st);
  return 0;
}

static ssize_t
read_out (nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags, nghttp2_data_source *src,
          void *ud)
{
  (void) src, (void) ud;
  h2_stream *st = nghttp2_session_get_stream_user_data (s, id);
  size_t n = st->out.len - st->off < len ? st->out.len - st->off : len;
  memcpy (buf, st->out.data + st->off, n);
  st->off += n;
  if (st->off < st->out.len)
    return (ssize_t) n;
  *flags |= NGHTTP2_DATA_FLAG_EOF;
  if (st->status[0])
    {
      /* gRPC ends with its status in trailers */
      nghttp2_nv tr[] = { FB_H2_NV ("grpc-status", st->status) };
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      nghttp2_submit_trailer (s, id, tr, 1);
    }
  return (ssize_t) n;
}

/* ---- http2 ---------------------------------------------------------------- */

static void
lower (char *s)
{
  for (; *s; s++)
    *s = (char) tolower ((unsigned char) *s);
}

static void
http2_reply (nghttp2_session *s, int32_t id, h2_stream *st, const fb_mock_response *r)
{
  char status[16], length[24];
  snprintf (status, sizeof status, "%d", r->status ? r->status : 200);
  snprintf (length, sizeof length, "%zu", r->body_len);
  _cleanup_free_ nghttp2_nv *nv = fb_xcalloc (r->n_headers + 3, sizeof *nv);
  _cleanup_strv_ char **names = fb_xcalloc (r->n_headers + 1, sizeof *names);
  size_t n = 0;
  bool has_ct = false;
  nv[n++] = (nghttp2_nv) FB_H2_NV (":status", status);
  for (size_t i = 0; i < r->n_headers; i++)
    {
      /* HTTP/2 header names are lower-case */
      lower (names[i] = fb_xstrdup (r->headers[i].key));
      has_ct |= !strcmp (names[i], "content-type");
      nv[n++] = (nghttp2_nv) FB_H2_NV (names[i], r->headers[i].value);
    }
  if (r->content_type && !has_ct)
    nv[n++] = (nghttp2_nv) FB_H2_NV ("content-type", r->content_type);
  nv[n++] = (nghttp2_nv) FB_H2_NV ("content-length", length);
  fb_buf_append (&st->out, r->body ? r->body : "", r->body_len);
  nghttp2_data_provider dp = { .read_callback = read_out };
  nghttp2_submit_response (s, id, nv, n, &dp);
}

static void
http2_answer (h2_mock *m, nghttp2_session *s, int32_t id, h2_stream *st, fb_mock_request *req)
{
  _cleanup_free_ char *line = fb_xasprintf ("%s %s H", req->method, st->path.data);
  fb_kv *query = NULL;
  fb_http_parse_query (line, strlen (line), req, &query);
  fb_http_mock_answer a;
  fb_http_mock_answer_req (m->c, req, "HTTP/2.0", &a);
  http2_reply (s, id, st, a.r);
  fb_http_mock_answer_clear (&a);
  for (size_t i = 0; i < req->n_query; i++)
    free (query[i].key), free (query[i].value);
  free (query);
}

/* ---- grpc ----------------------------------------------------------------- */

static bool
grpc_route_matches (const char *pattern, const void *ctx)
{
  const char *method = ctx;
  size_t pl = strlen (pattern);
  if (!strcmp (pattern, method) || !strcmp (pattern, "/**"))
    return true;
  /* a pattern ending in "/" "*": any method of that service */
  return pl > 2 && !strcmp (pattern + pl - 2, "/*") && strlen (method) > pl - 1 && !strncmp (pattern, method, pl - 1);
}

/* A gRPC error: trailers-only, the status in the one HEADERS frame. */
static void
grpc_fail (nghttp2_session *s, int32_t id, int code, const char *message)
{
  char st[16];
  snprintf (st, sizeof st, "%d", code);
  _cleanup_free_ char *enc = fb_grpc_pct_encode (message);
  nghttp2_nv nv[] = { FB_H2_NV (":status", "200"), FB_H2_NV ("content-type", "application/grpc"),
                      FB_H2_NV ("grpc-status", st), FB_H2_NV ("grpc-message", enc) };
  nghttp2_submit_response (s, id, nv, 4, NULL);
}

/* The interface's descriptor set, parsed once when the server starts (it
 * lives as long as the mock server process). */
static void *
grpc_start (struct fb_mock_server *srv, const fb_mock_iface *f)
{
  (void) srv;
  fb_pb_set *set = NULL;
  fb_error e = { 0 };
  if (f->descriptors && fb_pb_set_parse (f->descriptors, f->descriptors_len, &set, &e) < 0)
    return NULL;
  return set;
}

/* A typed response's wire bytes: its JSON as the method's output type.
 * NULL and *op, *why (Faultbox's event and words) when it cannot be. */
static const char *
typed_body (const fb_pb_set *set, const char *method, const fb_mock_response *r, fb_buf *wire, const char **op,
            char **why)
{
  const char *type;
  fb_error e = { 0 };
  if (!set)
    {
      *op = "resolve_error";
      *why = fb_xstrdup ("mock: grpc_typed_response needs descriptors=");
    }
  else if (fb_pb_method_output (set, method, &type, &e) < 0)
    {
      *op = "resolve_error";
      *why = fb_xasprintf ("mock: %s", e.msg);
    }
  else if (fb_pb_encode_json (set, type, r->body ? r->body : "{}", wire, &e) < 0)
    {
      *op = "encode_error";
      *why = fb_xasprintf ("mock: encode response for %s: %s", method, e.msg);
    }
  else
    return wire->data ? wire->data : "";
  return NULL;
}

static void
grpc_answer (h2_mock *m, nghttp2_session *s, int32_t id, h2_stream *st, fb_mock_request *req)
{
  const char *msg;
  size_t len;
  if (fb_grpc_unframe (st->body.data ? st->body.data : "", st->body.len, &msg, &len) == 0)
    req->body = msg, req->body_len = len;
  const fb_mock_route *route = fb_mock_pick (m->c->iface, grpc_route_matches, req->path);
  fb_mock_response owned = { 0 };
  char *error = NULL;
  const fb_mock_response *r = route || m->c->iface->has_default ? fb_mock_respond (m->c, route, req, &owned, &error)
                                                                  : NULL;
  char code[16], size[24];
  _cleanup_buf_ fb_buf wire = FB_BUF_INIT;
  const char *body = r ? r->body : NULL, *fail_op = NULL;
  size_t body_len = r ? r->body_len : 0;
  if (r && !r->status && r->content_type && !strcmp (r->content_type, FB_GRPC_TYPED)
      && !(body = typed_body (m->c->state, req->path, r, &wire, &fail_op, &error)))
    {
      fb_mock_emit (m->c->srv, m->c->iface, fail_op, (const char *[]) { "method", req->path, "error", error, NULL });
      grpc_fail (s, id, fb_grpc_code ("INTERNAL"), error);
    }
  else if (error)
    {
      fb_mock_emit (m->c->srv, m->c->iface, "dynamic_error", (const char *[]) { "method", req->path, "error", error, NULL });
      grpc_fail (s, id, fb_grpc_code ("INTERNAL"), error);
    }
  else if (!r)
    {
      fb_mock_emit (m->c->srv, m->c->iface, "unmatched", (const char *[]) { "method", req->path, NULL });
      _cleanup_free_ char *why = fb_xasprintf ("mock: no route for %s", req->path);
      grpc_fail (s, id, fb_grpc_code ("UNIMPLEMENTED"), why);
    }
  else if (r->status)
    {
      snprintf (code, sizeof code, "%d", r->status);
      fb_mock_emit (m->c->srv, m->c->iface, "error", (const char *[]) { "method", req->path, "code", code, NULL });
      grpc_fail (s, id, r->status, r->body ? r->body : "");
    }
  else
    {
      body_len = wire.data ? wire.len : body_len;
      snprintf (size, sizeof size, "%zu", body_len);
      fb_mock_emit (m->c->srv, m->c->iface, "ok", (const char *[]) { "method", req->path, "resp_size", size, NULL });
      fb_grpc_frame (&st->out, body ? body : "", body_len);
      snprintf (st->status, sizeof st->status, "0");
      nghttp2_nv nv[] = { FB_H2_NV (":status", "200"), FB_H2_NV ("content-type", "application/grpc") };
      nghttp2_data_provider dp = { .read_callback = read_out };
      nghttp2_submit_response (s, id, nv, 2, &dp);
    }
  free (error);
  fb_mock_response_clear (&owned);
}

/* A whole request (its stream ended): answered. */
static int
on_frame (nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
  h2_mock *m = ud;
  if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
    return 0;
  h2_stream *st = nghttp2_session_get_stream_user_data (s, f->hd.stream_id);
  if (!st)
    return 0;
  fb_buf_putc (&st->method, '\0');
  fb_buf_putc (&st->path, '\0');
  st->method.len--, st->path.len--;
  _cleanup_free_ char *path = fb_xstrndup (st->path.data, strcspn (st->path.data, "?"));
  fb_mock_request req = { .method = st->method.data, .path = path, .body = st->body.data ? st->body.data : "",
                          .body_len = st->body.len, .headers = st->headers, .n_headers = st->n_headers };
  if (m->grpc)
    grpc_answer (m, s, f->hd.stream_id, st, &req);
  else
    http2_answer (m, s, f->hd.stream_id, st, &req);
  return 0;
}

static void
serve (fb_mock_conn *c, bool grpc)
{
  fb_mock_timeout (c->fd, MOCK_H2_IDLE_S);
  h2_mock m = { c, grpc };
  nghttp2_session_callbacks *cb;
  nghttp2_session_callbacks_new (&cb);
  nghttp2_session_callbacks_set_send_callback (cb, on_send);
  nghttp2_session_callbacks_set_on_begin_headers_callback (cb, on_begin);
  nghttp2_session_callbacks_set_on_header_callback (cb, on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback (cb, on_data);
  nghttp2_session_callbacks_set_on_frame_recv_callback (cb, on_frame);
  nghttp2_session_callbacks_set_on_stream_close_callback (cb, on_close);
  nghttp2_session *s;
  nghttp2_session_server_new (&s, cb, &m);
  nghttp2_session_callbacks_del (cb);
  nghttp2_settings_entry iv = { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100 };
  nghttp2_submit_settings (s, NGHTTP2_FLAG_NONE, &iv, 1);
  uint8_t buf[16384];
  /* a client that does not speak HTTP/2 gets a GOAWAY and the end */
  while (nghttp2_session_send (s) == 0 && (nghttp2_session_want_read (s) || nghttp2_session_want_write (s)))
    {
      ssize_t n = recv (c->fd, buf, sizeof buf, 0);
      if (n <= 0 || nghttp2_session_mem_recv (s, buf, (size_t) n) < 0)
        break;
    }
  nghttp2_session_send (s);
  nghttp2_session_del (s);
}

static void
http2_serve (fb_mock_conn *c)
{
  serve (c, false);
}

static void
grpc_serve (fb_mock_conn *c)
{
  serve (c, true);
}

const fb_mock_ops fb_http2_mock = { .serve = http2_serve };
const fb_mock_ops fb_grpc_mock = { .start = grpc_start, .serve = grpc_serve };
