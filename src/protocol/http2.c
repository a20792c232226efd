/* HTTP/2 (h2c): HTTP's get/post/put/delete/patch steps and Response over
 * nghttp2, a healthcheck that waits for the server's SETTINGS. */
#include <stdio.h>
#include <string.h>

#include "protocol/h2.h"
#include "util/alloc.h"
#include "util/cleanup.h"

#define HTTP2_STEP_TIMEOUT_MS 30000
/* Faultbox reads at most 64 KiB of a body. */
#define HTTP2_MAX_BODY 65536

static int
http2_step (const fb_step_call *c, fb_step_result *out, fb_error *err)
{
  const char *path = c->args[0].s, *body = c->args[1].s;
  char upper[16];
  fb_step_verb (c, upper, sizeof upper);
  _cleanup_free_ char *full = fb_xasprintf ("%s%s", path[0] == '/' ? "" : "/", path);
  c->on_send (c->ctx, (const char *const[]) { "method", upper, "path", full, NULL });
  bool with_body = body && (strcmp (upper, "GET") != 0 || *body);
  fb_h2_req rq = { .method = upper, .path = full, .headers = c->args[2].kv, .n_headers = c->args[2].n_kv,
                   .body = with_body ? body : NULL, .body_len = with_body ? strlen (body) : 0,
                   .max_body = HTTP2_MAX_BODY, .ca_file = c->ca_file, .tls_name = c->ca_file ? c->service : NULL };
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  fb_error e = { 0 };
  if (fb_h2_exchange (c->host, c->port, &rq, HTTP2_STEP_TIMEOUT_MS, out, &b, &e) < 0)
    {
      fb_step_field (out, "method", upper);
      fb_step_field (out, "success", "false");
      fb_step_field (out, "error", e.msg);
      return fb_error_set (err, e.code, "%s(%s): %s (service %s at %s:%d)", c->method->name, path, e.msg,
                           c->service, c->host, c->port);
    }
  fb_buf_putc (&b, '\0');
  out->body = fb_protocol_trim (fb_xstrdup (b.data));
  char status[16], ms[32];
  snprintf (status, sizeof status, "%ld", out->status);
  snprintf (ms, sizeof ms, "%lld", (long long) out->duration_ms);
  fb_step_field (out, "method", upper);
  fb_step_field (out, "status_code", status);
  fb_step_field (out, "duration_ms", ms);
  fb_step_field (out, "success", "true");
  fb_step_field (out, "proto", "HTTP/2.0");
  return 0;
}

static int
http2_ready (const fb_ready_call *c, fb_error *err)
{
  return fb_h2_probe (c->host, c->port, c->timeout_ms, err);
}

const fb_protocol fb_protocol_http2 = {
  .name = "http2",
  .methods = fb_http_methods,
  .n_methods = FB_HTTP_N_METHODS,
  .methods_hint = "get/post/put/delete/patch",
  .step = http2_step,
  .ready = http2_ready,
  .ready_timeout_ms = 1000,
  .framing = &fb_http2_framing,
  .mock = &fb_http2_mock,
};
