/* The proxy's HTTP/2 and gRPC side (h2c): a connection is two nghttp2
 * sessions, a server one toward the client and a client one toward the
 * service. Each client stream is a request the rules see whole (method,
 * path, headers; gRPC: the method path) and then forwarded on a stream of
 * the service's connection, answered here, reset, sent twice or held
 * back; the service's reply is passed back whole with its trailers.
 * Streams are buffered, not streamed: a streaming RPC's messages arrive
 * together at its end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultbox/proxy.h"
#include "protocol/h2.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/time.h"

/* The largest request or reply body held. */
#define H2PX_MAX_BODY (64u * 1024 * 1024)
#define GRPC_UNAVAILABLE 14

typedef struct {
  fb_kv *kv;
  size_t n;
} kv_list;

typedef struct px_stream {
  int32_t id;                 /* the client's stream */
  fb_buf method, path, authority, scheme, body;
  kv_list headers;            /* the request's, pseudo-headers apart */
  bool held;
  fb_proxy_verdict v;
  char status[8];             /* the reply going back */
  kv_list rhead, rtrail;
  fb_buf out;
  size_t off;
  bool replied;
  int refs;                   /* the client's stream and each upstream one */
  struct px_stream *next;
} px_stream;

/* One request on the service's connection; dup: its reply is dropped. */
typedef struct px_up {
  px_stream *st;
  size_t off;
  bool dup;
  struct px_up *next;
} px_up;

typedef struct {
  nghttp2_session *down, *up;
  fb_buf *cout, *uout;
  fb_proxy_decide_fn decide;
  void *ctx;
  bool grpc;
  px_stream *streams;
  px_up *ups;                 /* the requests on the service's connection */
} h2px;

static void
kv_add (kv_list *l, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
  l->kv = fb_xreallocarray (l->kv, l->n + 1, sizeof *l->kv);
  l->kv[l->n++] = (fb_kv) { fb_xstrndup ((const char *) k, kl), fb_xstrndup ((const char *) v, vl) };
}

static void
kv_clear (kv_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    free (l->kv[i].key), free (l->kv[i].value);
  free (l->kv);
  l->kv = NULL, l->n = 0;
}

static void
unref (h2px *x, px_stream *st)
{
  if (--st->refs > 0)
    return;
  for (px_stream **p = &x->streams; *p; p = &(*p)->next)
    if (*p == st)
      {
        *p = st->next;
        break;
      }
  fb_buf *bufs[] = { &st->method, &st->path, &st->authority, &st->scheme, &st->body, &st->out };
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
    fb_buf_free (bufs[i]);
  kv_clear (&st->headers), kv_clear (&st->rhead), kv_clear (&st->rtrail);
  free (st->v.body), free (st->v.message);
  free (st);
}

static ssize_t
to_client (nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
  (void) s, (void) flags;
  fb_buf_append (((h2px *) ud)->cout, data, len);
  return (ssize_t) len;
}

static ssize_t
to_server (nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
  (void) s, (void) flags;
  fb_buf_append (((h2px *) ud)->uout, data, len);
  return (ssize_t) len;
}

/* ---- replies toward the client --------------------------------------------- */

/* Appends l's pairs to nv at *n. */
static void
nv_of (const kv_list *l, nghttp2_nv *nv, size_t *n)
{
  for (size_t i = 0; i < l->n; i++)
    nv[(*n)++] = (nghttp2_nv) FB_H2_NV (l->kv[i].key, l->kv[i].value);
}

static ssize_t
read_reply (nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags, nghttp2_data_source *src,
            void *ud)
{
  (void) id, (void) ud;
  px_stream *st = src->ptr;
  size_t n = st->out.len - st->off < len ? st->out.len - st->off : len;
  memcpy (buf, st->out.data + st->off, n);
  st->off += n;
  if (st->off < st->out.len)
    return (ssize_t) n;
  *flags |= NGHTTP2_DATA_FLAG_EOF;
  if (st->rtrail.n)
    {
      _cleanup_free_ nghttp2_nv *nv = fb_xcalloc (st->rtrail.n, sizeof *nv);
      size_t k = 0;
      nv_of (&st->rtrail, nv, &k);
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      nghttp2_submit_trailer (s, st->id, nv, k);
    }
  return (ssize_t) n;
}

/* The reply in st (status, rhead, out, rtrail) to the client's stream. */
static void
send_reply (h2px *x, px_stream *st)
{
  if (st->replied)
    return;
  st->replied = true;
  _cleanup_free_ nghttp2_nv *nv = fb_xcalloc (st->rhead.n + 1, sizeof *nv);
  size_t n = 0;
  nv[n++] = (nghttp2_nv) FB_H2_NV (":status", st->status);
  nv_of (&st->rhead, nv, &n);
  nghttp2_data_provider dp = { .source.ptr = st, .read_callback = read_reply };
  bool data = st->out.len || st->rtrail.n;
  nghttp2_submit_response (x->down, st->id, nv, n, data ? &dp : NULL);
}

/* An injected reply: HTTP's as the HTTP/1.1 proxy makes it; gRPC's an
 * error in trailers-only form, or response()'s body as the message. */
static void
inject (h2px *x, px_stream *st, const fb_reply *r)
{
  kv_clear (&st->rhead);
  if (x->grpc)
    {
      bool ok = !r->error && !r->status;
      snprintf (st->status, sizeof st->status, "200");
      char code[16];
      snprintf (code, sizeof code, "%d", ok ? 0 : r->status ? r->status : GRPC_UNAVAILABLE);
      _cleanup_free_ char *msg = fb_grpc_pct_encode (r->message ? r->message : r->error ? "injected fault" : "");
      const char *kv[] = { "content-type", "application/grpc", "grpc-status", code, "grpc-message", msg };
      /* a message, then the status in trailers; an error alone: trailers-only */
      for (size_t i = 0; i < 6; i += 2)
        kv_add (i && ok ? &st->rtrail : &st->rhead, (const uint8_t *) kv[i], strlen (kv[i]),
                (const uint8_t *) kv[i + 1], strlen (kv[i + 1]));
      if (ok)
        fb_grpc_frame (&st->out, r->body ? r->body : "", r->body ? strlen (r->body) : 0);
      send_reply (x, st);
      return;
    }
  size_t len;
  _cleanup_free_ char *raw = fb_http_framing.reply (NULL, r, NULL, &len);
  const char *body = strstr (raw, "\r\n\r\n");
  snprintf (st->status, sizeof st->status, "%d", r->status ? r->status : 500);
  kv_add (&st->rhead, (const uint8_t *) "content-type", 12, (const uint8_t *) "application/json", 16);
  if (body)
    fb_buf_append (&st->out, body + 4, len - (size_t) (body + 4 - raw));
  send_reply (x, st);
}

/* ---- toward the service ------------------------------------------------------ */

static ssize_t
read_request (nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags, nghttp2_data_source *src,
              void *ud)
{
  (void) s, (void) id, (void) ud;
  px_up *u = src->ptr;
  const fb_buf *b = &u->st->body;
  size_t n = b->len - u->off < len ? b->len - u->off : len;
  memcpy (buf, b->data + u->off, n);
  u->off += n;
  if (u->off == b->len)
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t) n;
}

static void
forward (h2px *x, px_stream *st, bool dup)
{
  _cleanup_free_ nghttp2_nv *nv = fb_xcalloc (st->headers.n + 4, sizeof *nv);
  size_t n = 0;
  nv[n++] = (nghttp2_nv) FB_H2_NV (":method", st->method.data);
  nv[n++] = (nghttp2_nv) FB_H2_NV (":scheme", st->scheme.len ? st->scheme.data : "http");
  if (st->authority.len)
    nv[n++] = (nghttp2_nv) FB_H2_NV (":authority", st->authority.data);
  nv[n++] = (nghttp2_nv) FB_H2_NV (":path", st->path.data);
  nv_of (&st->headers, nv, &n);
  px_up *u = FB_NEW (px_up);
  *u = (px_up) { st, 0, dup, x->ups };
  nghttp2_data_provider dp = { .source.ptr = u, .read_callback = read_request };
  if (nghttp2_submit_request (x->up, NULL, nv, n, st->body.len ? &dp : NULL, u) < 0)
    {
      free (u);
      nghttp2_submit_rst_stream (x->down, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
      return;
    }
  x->ups = u;
  st->refs++;
}

/* What the rules decided, once any delay is over. */
static void
apply (h2px *x, px_stream *st)
{
  fb_proxy_verdict *v = &st->v;
  st->held = false;
  switch (v->action)
    {
    case FB_PX_DROP:
      /* Faultbox: a reset stream; gRPC: UNAVAILABLE "connection dropped" */
      if (x->grpc)
        inject (x, st, &(fb_reply) { .error = true, .status = GRPC_UNAVAILABLE, .message = "connection dropped" });
      else
        nghttp2_submit_rst_stream (x->down, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
      break;
    case FB_PX_RESPOND:
    case FB_PX_ERROR:
      inject (x, st, &v->reply);
      break;
    case FB_PX_DUPLICATE:
      forward (x, st, true);
      __attribute__ ((fallthrough));
    default:
      forward (x, st, false);
      break;
    }
}

/* A whole request: what rules match it on, and their verdict. */
static void
request_done (h2px *x, px_stream *st)
{
  fb_buf *bufs[] = { &st->method, &st->path, &st->authority, &st->scheme };
  for (size_t i = 0; i < 4; i++)
    {
      fb_buf_putc (bufs[i], '\0');
      bufs[i]->len--;
    }
  fb_msg m;
  memset (&m, 0, sizeof m);
  m.len = st->body.len;
  size_t pl = x->grpc ? st->path.len : strcspn (st->path.data, "?");
  snprintf (m.verb, sizeof m.verb, "%s", x->grpc ? st->path.data : st->method.data);
  snprintf (m.target, sizeof m.target, "%.*s", (int) pl, st->path.data);
  for (size_t i = 0; i < st->headers.n && i < FB_MSG_MAX_HEADERS; i++, m.n_headers++)
    {
      m.headers[i].name = st->headers.kv[i].key;
      m.headers[i].name_len = strlen (st->headers.kv[i].key);
      m.headers[i].value = st->headers.kv[i].value;
      m.headers[i].value_len = strlen (st->headers.kv[i].value);
    }
  x->decide (x->ctx, &m, &st->v);
  st->v.reply.body = st->v.body;
  st->v.reply.message = st->v.message;
  st->held = st->v.until_ns > fb_now_ns ();
  if (!st->held)
    apply (x, st);
}

/* ---- the client's session ---------------------------------------------------- */

static int
down_begin (nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
  h2px *x = ud;
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  px_stream *st = FB_NEW (px_stream);
  st->id = f->hd.stream_id;
  st->refs = 1;
  st->next = x->streams;
  x->streams = st;
  nghttp2_session_set_stream_user_data (s, st->id, st);
  return 0;
}

static int
down_header (nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen, const uint8_t *value,
             size_t valuelen, uint8_t flags, void *ud)
{
  (void) flags, (void) ud;
  px_stream *st = nghttp2_session_get_stream_user_data (s, f->hd.stream_id);
  static const char *const pseudo[] = { ":method", ":path", ":authority", ":scheme" };
  if (!st)
    return 0;
  fb_buf *slot[] = { &st->method, &st->path, &st->authority, &st->scheme };
  for (size_t i = 0; i < 4; i++)
    if (namelen == strlen (pseudo[i]) && !memcmp (name, pseudo[i], namelen))
      {
        fb_buf_append (slot[i], value, valuelen);
        return 0;
      }
  if (namelen && name[0] != ':')
    kv_add (&st->headers, name, namelen, value, valuelen);
  return 0;
}

static int
down_data (nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *ud)
{
  (void) flags, (void) ud;
  px_stream *st = nghttp2_session_get_stream_user_data (s, id);
  if (!st || st->body.len + len > H2PX_MAX_BODY)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  fb_buf_append (&st->body, data, len);
  return 0;
}

static int
down_frame (nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
  if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
    return 0;
  px_stream *st = nghttp2_session_get_stream_user_data (s, f->hd.stream_id);
  if (st)
    request_done (ud, st);
  return 0;
}

static int
down_close (nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
  (void) code;
  px_stream *st = nghttp2_session_get_stream_user_data (s, id);
  if (st)
    {
      st->id = -1;
      st->held = false;
      unref (ud, st);
    }
  return 0;
}

/* ---- the service's session --------------------------------------------------- */

static int
up_header (nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen, const uint8_t *value,
           size_t valuelen, uint8_t flags, void *ud)
{
  (void) flags, (void) ud;
  px_up *u = nghttp2_session_get_stream_user_data (s, f->hd.stream_id);
  if (!u || u->dup || f->hd.type != NGHTTP2_HEADERS)
    return 0;
  px_stream *st = u->st;
  if (namelen == 7 && !memcmp (name, ":status", 7))
    snprintf (st->status, sizeof st->status, "%.*s", (int) valuelen, (const char *) value);
  else if (namelen && name[0] != ':')
    kv_add (f->headers.cat == NGHTTP2_HCAT_HEADERS ? &st->rtrail : &st->rhead, name, namelen, value, valuelen);
  return 0;
}

static int
up_data (nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *ud)
{
  (void) flags, (void) ud;
  px_up *u = nghttp2_session_get_stream_user_data (s, id);
  if (u && !u->dup && u->st->out.len + len <= H2PX_MAX_BODY)
    fb_buf_append (&u->st->out, data, len);
  return 0;
}

static int
up_frame (nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
  if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
    return 0;
  px_up *u = nghttp2_session_get_stream_user_data (s, f->hd.stream_id);
  if (u && !u->dup && u->st->id > 0 && u->st->status[0])
    send_reply (ud, u->st);
  return 0;
}

static void
up_free (h2px *x, px_up *u)
{
  for (px_up **p = &x->ups; *p; p = &(*p)->next)
    if (*p == u)
      {
        *p = u->next;
        break;
      }
  unref (x, u->st);
  free (u);
}

static int
up_close (nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
  h2px *x = ud;
  px_up *u = nghttp2_session_get_stream_user_data (s, id);
  if (!u)
    return 0;
  /* the service reset it, or never answered: so does the client's stream */
  if (!u->dup && u->st->id > 0 && !u->st->replied)
    nghttp2_submit_rst_stream (x->down, NGHTTP2_FLAG_NONE, u->st->id, code ? code : NGHTTP2_INTERNAL_ERROR);
  up_free (x, u);
  return 0;
}

/* ---- the proxy's side ---------------------------------------------------------- */

static nghttp2_session *
new_session (h2px *x, bool server)
{
  nghttp2_session_callbacks *cb;
  nghttp2_session_callbacks_new (&cb);
  nghttp2_session_callbacks_set_send_callback (cb, server ? to_client : to_server);
  nghttp2_session_callbacks_set_on_header_callback (cb, server ? down_header : up_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback (cb, server ? down_data : up_data);
  nghttp2_session_callbacks_set_on_frame_recv_callback (cb, server ? down_frame : up_frame);
  nghttp2_session_callbacks_set_on_stream_close_callback (cb, server ? down_close : up_close);
  if (server)
    nghttp2_session_callbacks_set_on_begin_headers_callback (cb, down_begin);
  nghttp2_session *s;
  if (server)
    nghttp2_session_server_new (&s, cb, x);
  else
    nghttp2_session_client_new (&s, cb, x);
  nghttp2_session_callbacks_del (cb);
  nghttp2_submit_settings (s, NGHTTP2_FLAG_NONE, NULL, 0);
  return s;
}

static void *
open_session (bool grpc, fb_proxy_decide_fn decide, void *ctx)
{
  h2px *x = FB_NEW (h2px);
  *x = (h2px) { .decide = decide, .ctx = ctx, .grpc = grpc };
  x->down = new_session (x, true);
  x->up = new_session (x, false);
  return x;
}

static void *
http2_open (fb_proxy_decide_fn decide, void *ctx)
{
  return open_session (false, decide, ctx);
}

static void *
grpc_open (fb_proxy_decide_fn decide, void *ctx)
{
  return open_session (true, decide, ctx);
}

static int
session_io (void *p, fb_buf *cin, fb_buf *uin, fb_buf *cout, fb_buf *uout, int64_t *due_ns)
{
  h2px *x = p;
  x->cout = cout, x->uout = uout;
  if (cin->len && nghttp2_session_mem_recv (x->down, (const uint8_t *) cin->data, cin->len) < 0)
    return -1;
  fb_buf_truncate (cin, 0);
  if (uin->len && nghttp2_session_mem_recv (x->up, (const uint8_t *) uin->data, uin->len) < 0)
    return -1;
  fb_buf_truncate (uin, 0);
  int64_t now = fb_now_ns ();
  *due_ns = 0;
  for (px_stream *st = x->streams; st; st = st->next)
    if (st->held && st->v.until_ns <= now)
      apply (x, st);
    else if (st->held && (!*due_ns || st->v.until_ns < *due_ns))
      *due_ns = st->v.until_ns;
  if (nghttp2_session_send (x->down) != 0 || nghttp2_session_send (x->up) != 0)
    return -1;
  return nghttp2_session_want_read (x->down) || nghttp2_session_want_write (x->down) ? 0 : -1;
}

static void
session_close (void *p)
{
  h2px *x = p;
  nghttp2_session_del (x->down);
  nghttp2_session_del (x->up);
  while (x->ups)
    up_free (x, x->ups);
  while (x->streams)
    {
      x->streams->refs = 1;
      unref (x, x->streams);
    }
  free (x);
}

static const fb_proxy_session_ops http2_session = { http2_open, session_io, session_close };
static const fb_proxy_session_ops grpc_session = { grpc_open, session_io, session_close };

static const char *const http2_matchers[] = { "method", "path", "header", NULL };
static const char *const grpc_matchers[] = { "method", NULL };

const fb_framing fb_http2_framing = {
  .matchers = http2_matchers,
  .event_verb = "method",
  .event_target = "path",
  .session = &http2_session,
};

const fb_framing fb_grpc_framing = {
  .matchers = grpc_matchers,
  .event_verb = "method",
  .grpc_status = true,
  .session = &grpc_session,
};
