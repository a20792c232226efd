/* The protocols' own clients, under their fb_protocol tables: HTTP through
 * libcurl, TCP line exchanges, and the probes healthchecks poll. The
 * caller's thread must already be in the network namespace the address
 * belongs to. */
#ifndef FB_PROTOCOL_INTERNAL_H
#define FB_PROTOCOL_INTERNAL_H

#include <stdint.h>
#include "faultbox/error.h"
#include "faultbox/protocol.h"

/* One HTTP request. Fails (and fills err naming the URL and the cause) only
 * when no response arrived; any status code is a success here. out gets
 * the status, the body (whitespace-trimmed, as Faultbox's step returns it),
 * the headers (lower-cased names) and the duration. */
int fb_http_request (const char *method, const char *url, const char *body, const fb_kv *headers,
                     size_t n_headers, int64_t timeout_ms, fb_step_result *out, fb_error *err);

/* Connects to host:port, writes data (adding "\n" when missing), reads one
 * line and returns it without the line end ("" when the peer closed first). */
int fb_tcp_exchange (const char *host, int port, const char *data, int64_t timeout_ms, char **reply,
                     fb_error *err);

/* 0 when a TCP connection to host:port is accepted within timeout_ms. */
int fb_tcp_probe (const char *host, int port, int64_t timeout_ms, fb_error *err);

/* 0 when GET url answers 200-399 within timeout_ms. */
int fb_http_probe (const char *url, int64_t timeout_ms, fb_error *err);

/* Strips leading and trailing white space in place. */
char *fb_protocol_trim (char *s);
/* Appends k=v (copied) to a result's event fields. */
void fb_step_field (fb_step_result *r, const char *k, const char *v);

extern const fb_protocol fb_protocol_http;
extern const fb_protocol fb_protocol_tcp;
extern const fb_protocol fb_protocol_redis;

#endif
