/* Mock services: mock_service() builds a route table per interface (plain
 * C here), and a mock server process — the faultbox binary re-exec'd in
 * the mock's own sandbox — serves it. The server asks the runner for its
 * table over a "hub" connection at start, reports what it serves as
 * events over it, and forwards dynamic() routes to it: the Starlark
 * function lives in the runner's interpreter. */
#ifndef FAULTBOX_MOCK_H
#define FAULTBOX_MOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "faultbox/tls.h"

#include "faultbox/error.h"
#include "faultbox/report.h"

/* The hub listens here on the lab's worker address ("faultbox-worker" in
 * every service's /etc/hosts); the lab network is private, so a fixed
 * port cannot collide. */
#define FB_MOCK_HUB_PORT 7419
#define FB_MOCK_HUB_ENV "FAULTBOX_MOCK_HUB"

typedef struct fb_mock_response {
  int status;             /* 0: the protocol's default (HTTP 200) */
  char *body;             /* may hold NULs: body_len */
  size_t body_len;
  char *content_type;     /* NULL: none */
  fb_kv *headers;
  size_t n_headers;
} fb_mock_response;

typedef struct fb_mock_route {
  char *pattern;          /* "METHOD /path" (http), a byte prefix (tcp) */
  fb_mock_response resp;
  unsigned dynamic;       /* > 0: the runner's dynamic() handler number; resp unused */
} fb_mock_route;

typedef struct fb_mock_iface {
  char *name, *protocol;
  int port;
  fb_mock_route *routes;  /* first match wins, in the spec's order */
  size_t n_routes;
  bool has_default;
  fb_mock_response dflt;
  fb_kv *state;           /* redis: config={"state": {...}}; mongodb: each collection's JSON; kafka: its topics; seeded at start */
  size_t n_state;
  int partitions;         /* kafka: config={"partitions": N} per topic, 0: 1 */
  /* The address clients reach the mock at (the proxy's when it is
   * proxied), as the runner says at start: kafka's Metadata advertises it. */
  char *host;
  char *descriptors;      /* grpc: descriptors=, a FileDescriptorSet's bytes; NULL: none */
  size_t descriptors_len;
  fb_tls_pair tls;        /* mock_service(tls=True): its certificate; cert NULL: plaintext */
} fb_mock_iface;

typedef struct fb_mock_config {
  fb_mock_iface *ifaces;
  size_t n_ifaces;
} fb_mock_config;

void fb_mock_response_clear (fb_mock_response *r);
void fb_mock_config_clear (fb_mock_config *c);

/* ---- the hub's wire ------------------------------------------------------
 * A message: u32 length (big-endian) of what follows, a type byte, then
 * fields, each a u32 length and its bytes. */
enum {
  FB_MOCK_HELLO = 'H',    /* server -> hub: service name */
  FB_MOCK_CONFIG = 'C',   /* hub -> server: the table (fb_mock_pack) */
  FB_MOCK_EVENT = 'E',    /* server -> hub: interface, op, then key, value, ... */
  FB_MOCK_CALL = 'D',     /* server -> hub: handler, interface, then the request's fields */
  FB_MOCK_REPLY = 'R',    /* hub -> server: "" then a response (fb_mock_put_response), or an error text */
};

typedef struct fb_mock_msg {
  char type;
  char **f;               /* each NUL-terminated after its flen bytes */
  size_t *flen;
  size_t n;
} fb_mock_msg;

/* Collects a message's fields. */
typedef struct fb_mock_fields {
  const char **f;
  size_t *flen;
  size_t n, cap;
  char **owned;           /* numbers written by fb_mock_field_num */
  size_t n_owned;
} fb_mock_fields;

void fb_mock_field (fb_mock_fields *fs, const char *s, size_t len);
void fb_mock_field_str (fb_mock_fields *fs, const char *s);
void fb_mock_field_num (fb_mock_fields *fs, long long v);
void fb_mock_fields_free (fb_mock_fields *fs);
int fb_mock_send (int fd, char type, const fb_mock_fields *fs, fb_error *err);
/* 1 with a message, 0 at end of stream, -1 on error. */
int fb_mock_recv (int fd, fb_mock_msg *m, fb_error *err);
void fb_mock_msg_clear (fb_mock_msg *m);

/* A table as fields and back (out is cleared first; on failure left empty). */
void fb_mock_pack (const fb_mock_config *c, fb_mock_fields *fs);
/* The runner's last field after the table: the address its clients reach
 * the mock at (fb_mock_iface.host). */
void fb_mock_pack_host (const char *host, fb_mock_fields *fs);
int fb_mock_unpack (const fb_mock_msg *m, fb_mock_config *out, fb_error *err);
/* One response as fields, from field *i on; fb_mock_take_response reads it back. */
void fb_mock_put_response (const fb_mock_response *r, fb_mock_fields *fs);
/* n, then each key and value. */
void fb_mock_put_pairs (fb_mock_fields *fs, const fb_kv *kv, size_t n);
int fb_mock_take_response (const fb_mock_msg *m, size_t *i, fb_mock_response *r, fb_error *err);

/* The mock server process: connects to the hub at hub ("host:port"), asks
 * for service's table, listens on every interface and serves until killed.
 * Returns only on failure. */
int fb_mock_serve (const char *hub, const char *service, fb_error *err);

#endif
