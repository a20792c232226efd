/* The test client: HTTP steps through libcurl, TCP line exchanges, and the
 * probes healthchecks poll. The caller's thread must already be in the
 * network namespace the address belongs to. */
#ifndef FB_PROTOCOL_CLIENT_H
#define FB_PROTOCOL_CLIENT_H

#include <stdint.h>
#include "faultbox/error.h"
#include "faultbox/report.h"

typedef struct fb_http_response {
  long status;
  char *body;            /* whitespace-trimmed, as Faultbox's step returns it */
  fb_kv *headers;        /* lower-cased names */
  size_t n_headers;
  int64_t duration_ms;
} fb_http_response;

void fb_http_response_clear (fb_http_response *r);

/* One HTTP request. Fails (and fills err naming the URL and the cause) only
 * when no response arrived; any status code is a success here. */
int fb_http_request (const char *method, const char *url, const char *body, const fb_kv *headers,
                     size_t n_headers, int64_t timeout_ms, fb_http_response *out, fb_error *err);

/* Connects to host:port, writes data (adding "\n" when missing), reads one
 * line and returns it without the line end ("" when the peer closed first). */
int fb_tcp_exchange (const char *host, int port, const char *data, int64_t timeout_ms, char **reply,
                     fb_error *err);

/* 0 when a TCP connection to host:port is accepted within timeout_ms. */
int fb_tcp_probe (const char *host, int port, int64_t timeout_ms, fb_error *err);

/* 0 when GET url answers 200-399 within timeout_ms. */
int fb_http_probe (const char *url, int64_t timeout_ms, fb_error *err);

#endif
