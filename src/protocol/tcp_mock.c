/* The TCP line mock, as Faultbox's: per connection one line is read, the
 * first route whose pattern is a prefix of it answers (its body written
 * back), and the connection is closed. No route and no default: closed
 * without a reply. The UDP mock routes each datagram by the same byte
 * prefixes and answers the sender only with a non-empty body. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protocol/internal.h"
#include "faultbox/buf.h"

#define MOCK_LINE_MAX (64 * 1024)
#define MOCK_TCP_TIMEOUT_S 10

typedef struct {
  const char *line;
  size_t len;
} line_key;

static bool
prefix_matches (const char *pattern, const void *ctx)
{
  const line_key *k = ctx;
  size_t pl = strlen (pattern);
  return pl <= k->len && !memcmp (pattern, k->line, pl);
}

static void
tcp_mock_serve (fb_mock_conn *c)
{
  fb_mock_timeout (c->fd, MOCK_TCP_TIMEOUT_S);
  fb_buf in = FB_BUF_INIT;
  for (;;)
    {
      char ch;
      ssize_t r = read (c->fd, &ch, 1);
      if (r <= 0)
        break;
      fb_buf_putc (&in, ch);
      if (ch == '\n' || in.len >= MOCK_LINE_MAX)
        break;
    }
  if (!in.len)
    {
      fb_mock_emit (c->srv, c->iface, "recv_error", (const char *const[]) { "error", "no line before EOF", NULL });
      fb_buf_free (&in);
      return;
    }
  line_key key = { in.data, in.len };
  const fb_mock_route *route = fb_mock_pick (c->iface, prefix_matches, &key);
  fb_mock_request req = { .method = "", .path = "", .body = in.data, .body_len = in.len };
  fb_mock_response owned = { 0 };
  char *error;
  const fb_mock_response *resp = fb_mock_respond (c, route, &req, &owned, &error);
  char req_size[24], resp_size[24];
  snprintf (req_size, sizeof req_size, "%zu", in.len);
  snprintf (resp_size, sizeof resp_size, "%zu", resp ? resp->body_len : 0);
  /* recorded before the reply goes: the client never sees it first */
  if (error)
    fb_mock_emit (c->srv, c->iface, "dynamic_error", (const char *const[]) { "error", error, NULL });
  else
    fb_mock_emit (c->srv, c->iface, "recv",
                  (const char *const[]) { "req_size", req_size, "resp_size", resp_size, "matched",
                                          route ? "true" : "false", NULL });
  if (!error && resp && resp->body_len && fb_mock_write (c->fd, resp->body, resp->body_len) < 0)
    fb_mock_emit (c->srv, c->iface, "write_error", (const char *const[]) { "req_size", req_size, NULL });
  free (error);
  fb_mock_response_clear (&owned);
  fb_buf_free (&in);
}

const fb_mock_ops fb_tcp_mock = { .serve = tcp_mock_serve };

#define MOCK_DATAGRAM_MAX 65536

static void
udp_mock_serve (fb_mock_conn *c)
{
  /* the thread serves the socket for the life of the mock */
  char *buf = malloc (MOCK_DATAGRAM_MAX);
  if (!buf)
    return;
  for (;;)
    {
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom (c->fd, buf, MOCK_DATAGRAM_MAX, 0, (struct sockaddr *) &from, &fl);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      line_key key = { buf, (size_t) n };
      const fb_mock_route *route = fb_mock_pick (c->iface, prefix_matches, &key);
      fb_mock_request req = { .method = "", .path = "", .body = buf, .body_len = (size_t) n };
      fb_mock_response owned = { 0 };
      char *error;
      const fb_mock_response *resp = fb_mock_respond (c, route, &req, &owned, &error);
      char req_size[24], resp_size[24], src[INET_ADDRSTRLEN + 8], ip[INET_ADDRSTRLEN];
      snprintf (req_size, sizeof req_size, "%zd", n);
      snprintf (resp_size, sizeof resp_size, "%zu", resp ? resp->body_len : 0);
      inet_ntop (AF_INET, &from.sin_addr, ip, sizeof ip);
      snprintf (src, sizeof src, "%s:%d", ip, ntohs (from.sin_port));
      if (error)
        fb_mock_emit (c->srv, c->iface, "dynamic_error", (const char *const[]) { "error", error, NULL });
      else
        fb_mock_emit (c->srv, c->iface, "recv",
                      (const char *const[]) { "req_size", req_size, "resp_size", resp_size, "matched",
                                              route ? "true" : "false", "src", src, NULL });
      if (!error && resp && resp->body_len)
        sendto (c->fd, resp->body, resp->body_len, 0, (struct sockaddr *) &from, fl);
      free (error);
      fb_mock_response_clear (&owned);
    }
  free (buf);
}

const fb_mock_ops fb_udp_mock = { .serve = udp_mock_serve, .datagram = true };
