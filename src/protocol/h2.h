/* HTTP/2 over cleartext (h2c, prior knowledge) with nghttp2: the blocking
 * client the http2 and grpc steps and healthchecks use, gRPC's message
 * framing, and the protocols' tables. TLS (h2 with ALPN) is not spoken. */
#ifndef FB_PROTOCOL_H2_H
#define FB_PROTOCOL_H2_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>

#include "faultbox/buf.h"
#include "faultbox/grpc.h"
#include "protocol/internal.h"

/* A name/value pair for nghttp2 from NUL-terminated strings (not copied). */
#define FB_H2_NV(n, v)                                                                                       \
  { (uint8_t *) (n), (uint8_t *) (v), strlen (n), strlen (v), NGHTTP2_NV_FLAG_NONE }

typedef struct fb_h2_req {
  const char *method, *path;
  const fb_kv *headers;       /* more request headers */
  size_t n_headers;
  const char *body;           /* NULL: none (the HEADERS frame ends the stream) */
  size_t body_len;
  bool grpc;                  /* content-type application/grpc, te: trailers */
  size_t max_body;            /* the rest of a longer reply body is read and dropped */
  /* non-NULL: over TLS (ALPN h2), the server's certificate verified
   * against this CA for tls_name, the request's authority */
  const char *ca_file, *tls_name;
} fb_h2_req;

/* One request on a new connection to host:port. Fails (err names the
 * cause) when no response arrived; out gets :status, the headers and
 * trailers (lower-case names, in order), the duration; body the reply's
 * bytes. */
int fb_h2_exchange (const char *host, int port, const fb_h2_req *rq, int64_t timeout_ms, fb_step_result *out,
                    fb_buf *body, fb_error *err);

/* 0 when the server at host:port answers the connection preface with its
 * SETTINGS within timeout_ms. */
int fb_h2_probe (const char *host, int port, int64_t timeout_ms, fb_error *err);

/* The value of name in a result's headers (the last one: a trailer wins
 * over a header), or NULL. */
const char *fb_h2_header (const fb_step_result *r, const char *name);

/* ---- gRPC ----------------------------------------------------------------- */

/* One length-prefixed message (uncompressed) around msg. */
void fb_grpc_frame (fb_buf *out, const char *msg, size_t len);
/* The first message of a body: 0 and *msg, *len; -1 when the body is
 * not a whole uncompressed message. */
int fb_grpc_unframe (const char *body, size_t n, const char **msg, size_t *len);
/* grpc-message's percent-encoding, both ways (malloc'd). */
char *fb_grpc_pct_encode (const char *s);
char *fb_grpc_pct_decode (const char *s);
extern const fb_mock_ops fb_http2_mock, fb_grpc_mock;
extern const fb_framing fb_http2_framing, fb_grpc_framing;
extern const fb_protocol fb_protocol_http2;
extern const fb_protocol fb_protocol_grpc;

#endif
