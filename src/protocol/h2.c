/* The HTTP/2 client of the http2 and grpc steps and healthchecks: one
 * connection per request, prior knowledge (h2c) or h2 over TLS to a TLS
 * mock, nghttp2's session driven over the socket with poll. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protocol/h2.h"
#include "protocol/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/time.h"

typedef struct {
  int fd;
  fb_tls_client *tls;       /* NULL: h2c on fd */
  int32_t stream;
  fb_step_result *out;
  fb_buf *body;
  size_t max_body;
  const char *src;
  size_t src_len, src_off;
  bool closed, got_settings;
  uint32_t reset;           /* the stream's RST_STREAM code */
} h2_client;

static ssize_t
on_send (nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
  (void) s, (void) flags;
  h2_client *c = ud;
  ssize_t n = c->tls ? fb_tls_send (c->tls, data, len) : send (c->fd, data, len, MSG_NOSIGNAL);
  if (n < 0)
    return errno == EAGAIN || errno == EINTR ? NGHTTP2_ERR_WOULDBLOCK : NGHTTP2_ERR_CALLBACK_FAILURE;
  return n;
}

static int
on_header (nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen, const uint8_t *value,
           size_t valuelen, uint8_t flags, void *ud)
{
  (void) s, (void) flags;
  h2_client *c = ud;
  if (f->hd.type != NGHTTP2_HEADERS || f->hd.stream_id != c->stream)
    return 0;
  if (namelen == 7 && !memcmp (name, ":status", 7))
    c->out->status = strtol ((const char *) value, NULL, 10);
  else if (namelen && name[0] != ':')
    {
      fb_step_result *r = c->out;
      r->headers = fb_xreallocarray (r->headers, r->n_headers + 1, sizeof *r->headers);
      r->headers[r->n_headers++] = (fb_kv) { fb_xstrndup ((const char *) name, namelen),
                                             fb_xstrndup ((const char *) value, valuelen) };
    }
  return 0;
}

static int
on_data (nghttp2_session *s, uint8_t flags, int32_t stream, const uint8_t *data, size_t len, void *ud)
{
  (void) s, (void) flags;
  h2_client *c = ud;
  if (stream == c->stream && c->body && c->body->len < c->max_body)
    fb_buf_append (c->body, data, len < c->max_body - c->body->len ? len : c->max_body - c->body->len);
  return 0;
}

static int
on_close (nghttp2_session *s, int32_t stream, uint32_t code, void *ud)
{
  (void) s;
  h2_client *c = ud;
  if (stream == c->stream)
    c->closed = true, c->reset = code;
  return 0;
}

static int
on_frame (nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
  (void) s;
  h2_client *c = ud;
  if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK))
    c->got_settings = true;
  return 0;
}

static ssize_t
read_body (nghttp2_session *s, int32_t stream, uint8_t *buf, size_t len, uint32_t *flags,
           nghttp2_data_source *src, void *ud)
{
  (void) s, (void) stream, (void) src;
  h2_client *c = ud;
  size_t n = c->src_len - c->src_off < len ? c->src_len - c->src_off : len;
  memcpy (buf, c->src + c->src_off, n);
  c->src_off += n;
  if (c->src_off == c->src_len)
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t) n;
}

static nghttp2_session *
client_session (h2_client *c)
{
  nghttp2_session_callbacks *cb;
  nghttp2_session_callbacks_new (&cb);
  nghttp2_session_callbacks_set_send_callback (cb, on_send);
  nghttp2_session_callbacks_set_on_header_callback (cb, on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback (cb, on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback (cb, on_close);
  nghttp2_session_callbacks_set_on_frame_recv_callback (cb, on_frame);
  nghttp2_session *s = NULL;
  nghttp2_session_client_new (&s, cb, c);
  nghttp2_session_callbacks_del (cb);
  nghttp2_submit_settings (s, NGHTTP2_FLAG_NONE, NULL, 0);
  return s;
}

/* Runs the session until done(c) or the deadline; NULL, or why not. */
static const char *
pump (nghttp2_session *s, h2_client *c, bool (*done) (const h2_client *), int64_t deadline)
{
  uint8_t buf[16384];
  while (!done (c))
    {
      if (nghttp2_session_send (s) != 0)
        return "the connection failed";
      if (!nghttp2_session_want_read (s) && !nghttp2_session_want_write (s))
        return "the server ended the connection";
      struct pollfd p = { c->fd, POLLIN | (nghttp2_session_want_write (s) ? POLLOUT : 0), 0 };
      int64_t left = (deadline - fb_now_ns ()) / FB_NS_PER_MS;
      /* bytes TLS already decrypted are not the socket's to signal */
      bool ready = c->tls && fb_tls_pending (c->tls);
      if (!ready && (left <= 0 || poll (&p, 1, (int) left) == 0))
        return "timed out";
      if (!ready && !(p.revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      ssize_t n = c->tls ? fb_tls_recv (c->tls, buf, sizeof buf) : recv (c->fd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        return "the server closed the connection";
      if (n > 0 && nghttp2_session_mem_recv (s, buf, (size_t) n) < 0)
        return "the server's reply is not HTTP/2";
    }
  return NULL;
}

static bool
stream_done (const h2_client *c)
{
  return c->closed;
}

static bool
settings_done (const h2_client *c)
{
  return c->got_settings;
}

static void
request_headers (const char *host, int port, const fb_h2_req *rq, nghttp2_nv *nv, size_t *n, char *authority,
                 size_t alen)
{
  snprintf (authority, alen, "%s:%d", rq->tls_name ? rq->tls_name : host, port);
  nv[(*n)++] = (nghttp2_nv) FB_H2_NV (":method", rq->method);
  nv[(*n)++] = (nghttp2_nv) FB_H2_NV (":scheme", rq->ca_file ? "https" : "http");
  nv[(*n)++] = (nghttp2_nv) FB_H2_NV (":authority", authority);
  nv[(*n)++] = (nghttp2_nv) FB_H2_NV (":path", rq->path);
  if (rq->grpc)
    {
      nv[(*n)++] = (nghttp2_nv) FB_H2_NV ("content-type", "application/grpc");
      nv[(*n)++] = (nghttp2_nv) FB_H2_NV ("te", "trailers");
    }
  for (size_t i = 0; i < rq->n_headers; i++)
    nv[(*n)++] = (nghttp2_nv) FB_H2_NV (rq->headers[i].key, rq->headers[i].value);
}

int
fb_h2_exchange (const char *host, int port, const fb_h2_req *rq, int64_t timeout_ms, fb_step_result *out,
                fb_buf *body, fb_error *err)
{
  int64_t t0 = fb_now_ns ();
  _cleanup_close_ int fd = fb_tcp_dial (host, port, timeout_ms);
  if (fd < 0)
    return fb_error_setsys (err, -fd, "connect %s:%d", host, port);
  fb_step_result r = { 0 };
  h2_client c = { .fd = fd, .out = &r, .body = body, .max_body = rq->max_body, .src = rq->body,
                  .src_len = rq->body_len };
  fb_error te = { 0 };
  if (rq->ca_file && !(c.tls = fb_tls_connect (fd, rq->ca_file, rq->tls_name, "h2", timeout_ms, &te)))
    return fb_error_set (err, te.code, "%s %s on %s:%d: %s", rq->method, rq->path, host, port, te.msg);
  nghttp2_session *s = client_session (&c);
  _cleanup_free_ nghttp2_nv *nv = fb_xcalloc (rq->n_headers + 6, sizeof *nv);
  size_t n = 0;
  char authority[300];
  request_headers (host, port, rq, nv, &n, authority, sizeof authority);
  nghttp2_data_provider dp = { .read_callback = read_body };
  c.stream = nghttp2_submit_request (s, NULL, nv, n, rq->body ? &dp : NULL, NULL);
  const char *why = c.stream < 0 ? nghttp2_strerror (c.stream) : pump (s, &c, stream_done, t0 + timeout_ms * FB_NS_PER_MS);
  nghttp2_session_del (s);
  fb_tls_client_free (c.tls);
  r.duration_ms = (fb_now_ns () - t0) / FB_NS_PER_MS;
  if (!why && !r.status)
    why = c.reset ? nghttp2_http2_strerror (c.reset) : "no response";
  if (why)
    {
      fb_step_result_clear (&r);
      return fb_error_set (err, EIO, "%s %s on %s:%d: %s", rq->method, rq->path, host, port, why);
    }
  *out = r;
  return 0;
}

int
fb_h2_probe (const char *host, int port, int64_t timeout_ms, fb_error *err)
{
  int64_t t0 = fb_now_ns ();
  _cleanup_close_ int fd = fb_tcp_dial (host, port, timeout_ms);
  if (fd < 0)
    return fb_error_setsys (err, -fd, "connect %s:%d", host, port);
  h2_client c = { .fd = fd };
  nghttp2_session *s = client_session (&c);
  const char *why = pump (s, &c, settings_done, t0 + timeout_ms * FB_NS_PER_MS);
  nghttp2_session_del (s);
  if (why)
    return fb_error_set (err, EAGAIN, "HTTP/2 preface to %s:%d: %s", host, port, why);
  return 0;
}

const char *
fb_h2_header (const fb_step_result *r, const char *name)
{
  const char *v = NULL;
  for (size_t i = 0; i < r->n_headers; i++)
    if (!strcasecmp (r->headers[i].key, name))
      v = r->headers[i].value;
  return v;
}
