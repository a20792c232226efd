/* UDP: Faultbox's steps, send (one datagram, one reply back as hex) and
 * send_no_reply, and the proxy's "framing": a datagram is a whole message
 * that rules see with nothing to match on (drop, delay, duplicate apply to
 * all of an interface's datagrams). */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protocol/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/time.h"

/* Faultbox reads at most one 64 KiB datagram back */
#define UDP_MAX_DATAGRAM 65536

static int
hex_digit (char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The datagram: data= when given, else hex= decoded; -1 and *why (in
 * Faultbox's words) when neither or bad hex. */
static int
udp_payload (const char *data, const char *hex, fb_buf *out, char **why)
{
  if (data && *data)
    {
      fb_buf_puts (out, data);
      return 0;
    }
  if (!hex || !*hex)
    return *why = fb_xstrdup ("udp.send requires data= or hex= argument"), -1;
  size_t n = strlen (hex);
  for (size_t i = 0; i < n; i += 2)
    {
      int hi = hex_digit (hex[i]), lo = i + 1 < n ? hex_digit (hex[i + 1]) : -2;
      if (hi < 0 || lo < 0)
        return *why = fb_xasprintf ("invalid hex: %s", lo == -2 ? "odd length" : "not a hex digit"), -1;
      fb_buf_putc (out, (char) (hi << 4 | lo));
    }
  return 0;
}

static char *
size_json (const char *raw_hex, size_t n)
{
  json_object *j = json_object_new_object ();
  if (raw_hex)
    json_object_object_add (j, "raw", json_object_new_string (raw_hex));
  json_object_object_add (j, "size", json_object_new_int64 ((int64_t) n));
  char *s = fb_xstrdup (json_object_to_json_string_ext (j, JSON_C_TO_STRING_PLAIN));
  json_object_put (j);
  return s;
}

/* Sends p and, when timeout_ms >= 0, waits that long for one datagram
 * back: the body, or -1 and *why. */
static int
udp_exchange (const char *host, int port, const fb_buf *p, int64_t timeout_ms, char **body, char **why)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
  if (inet_pton (AF_INET, strcmp (host, "localhost") ? host : "127.0.0.1", &sa.sin_addr) != 1)
    return *why = fb_xasprintf ("dial udp %s:%d: not an IPv4 address", host, port), -1;
  _cleanup_close_ int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    return *why = fb_xasprintf ("dial udp %s:%d: %s", host, port, strerror (errno)), -1;
  if (send (fd, p->data ? p->data : "", p->len, 0) < 0)
    return *why = fb_xasprintf ("write: %s", strerror (errno)), -1;
  if (timeout_ms < 0)
    {
      *body = size_json (NULL, p->len);
      return 0;
    }
  struct pollfd pf = { .fd = fd, .events = POLLIN };
  int r = poll (&pf, 1, (int) timeout_ms);
  if (r <= 0)
    return *why = fb_xasprintf ("read: %s", r == 0 ? "i/o timeout" : strerror (errno)), -1;
  _cleanup_free_ unsigned char *in = fb_xmalloc (UDP_MAX_DATAGRAM);
  ssize_t n = recv (fd, in, UDP_MAX_DATAGRAM, 0);
  if (n < 0)
    return *why = fb_xasprintf ("read: %s", strerror (errno)), -1;
  _cleanup_free_ char *hex = fb_xmalloc ((size_t) n * 2 + 1);
  for (ssize_t i = 0; i < n; i++)
    snprintf (hex + 2 * i, 3, "%02x", in[i]);
  hex[2 * n] = '\0';
  *body = size_json (hex, (size_t) n);
  return 0;
}

static int
udp_step (const fb_step_call *c, fb_step_result *out, fb_error *err)
{
  (void) err;
  bool reply = !strcmp (c->method->name, "send");
  const char *data = c->args[0].s, *hex = c->args[1].s;
  c->on_send (c->ctx, (const char *const[]) { "method", c->method->name, *data ? "data" : "hex", *data ? data : hex,
                                              NULL });
  char *why = NULL;
  _cleanup_buf_ fb_buf p = FB_BUF_INIT;
  int64_t t0 = fb_now_ns ();
  if (udp_payload (data, hex, &p, &why) == 0)
    udp_exchange (c->host, c->port, &p, reply ? strtoll (c->args[2].s, NULL, 10) : -1, &out->body, &why);
  fb_step_finish (out, t0, why, c->method->name);
  return 0;
}

/* As Faultbox's: UDP has no handshake, so a "dial" is all there is. */
static int
udp_ready (const fb_ready_call *c, fb_error *err)
{
  (void) c;
  (void) err;
  return 0;
}

static fb_frame_rc
udp_frame (void *st, const char *buf, size_t len, fb_msg *m, fb_error *err)
{
  (void) st;
  (void) buf;
  (void) err;
  memset (m, 0, sizeof *m);
  m->len = len;
  m->no_reply = true;
  return FB_FRAME_OK;
}

static const char *const udp_matchers[] = { NULL };

/* rules match every datagram: no matcher, no reply of the proxy's making */
const fb_framing fb_udp_framing = {
  .request = udp_frame,
  .matchers = udp_matchers,
  .delay_final = true,
  .drop_message = true,
};

#define PAYLOAD { "data", FB_PARAM_STRING, false, "" }, { "hex", FB_PARAM_STRING, false, "" }

static const fb_step_method udp_methods[] = {
  { .name = "send", .n_params = 3, .params = { PAYLOAD, { "timeout_ms", FB_PARAM_INT, false, "5000" } } },
  { .name = "send_no_reply", .n_params = 2, .params = { PAYLOAD } },
};

const fb_protocol fb_protocol_udp = {
  .name = "udp",
  .methods = udp_methods,
  .n_methods = sizeof udp_methods / sizeof *udp_methods,
  .methods_hint = "send/send_no_reply",
  .step = udp_step,
  .ready = udp_ready,
  .ready_timeout_ms = 100,
  .framing = &fb_udp_framing,
  .mock = &fb_udp_mock,
  .datagram = true,
};
