/* The proxy's framing (HTTP/1.1, RESP), its rule matching, and one proxy
 * on loopback sockets between a client and a server in the test. */
#include "fb_test.h"

#include "faultbox/proxy.h"
#include "util/buf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

static fb_frame_rc
req (const fb_framing *f, const char *s, fb_msg *m)
{
  fb_error e = { 0 };
  return f->request (s, strlen (s), m, &e);
}

static void
test_http_request_content_length_and_partial_reads (void **state)
{
  (void) state;
  const char *r = "POST /data/k?x=1 HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\nX-Tenant: blue\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n";
  fb_msg m;
  size_t whole = strlen (r) - strlen ("GET / HTTP/1.1\r\n\r\n");
  /* every prefix short of the whole request is partial */
  for (size_t n = 0; n < whole; n++)
    {
      fb_error e = { 0 };
      assert_int_equal (fb_http_framing.request (r, n, &m, &e), FB_FRAME_PARTIAL);
    }
  assert_int_equal (req (&fb_http_framing, r, &m), FB_FRAME_OK);
  assert_int_equal (m.len, whole);
  assert_string_equal (m.verb, "POST");
  assert_string_equal (m.target, "/data/k");
  fb_proxy_rule rule = { .verb = "post", .target = "/data/*", .header_name = "x-tenant", .header_glob = "bl*" };
  assert_true (fb_proxy_rule_matches (&rule, &m));
  rule.header_glob = "red";
  assert_false (fb_proxy_rule_matches (&rule, &m));
}

static void
test_http_chunked_request_and_response (void **state)
{
  (void) state;
  const char *r = "PUT /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4;ext=1\r\nabcd\r\n2\r\nef\r\n0\r\nTrailer: v\r\n\r\nNEXT";
  fb_msg m;
  assert_int_equal (req (&fb_http_framing, r, &m), FB_FRAME_OK);
  assert_int_equal (m.len, strlen (r) - 4);
  for (size_t n = 0; n < m.len; n++)
    {
      fb_error e = { 0 };
      fb_msg p;
      assert_int_equal (fb_http_framing.request (r, n, &p, &e), FB_FRAME_PARTIAL);
    }
  const char *resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  fb_error e = { 0 };
  fb_msg rm;
  assert_int_equal (fb_http_framing.response (resp, strlen (resp), &m, &rm, &e), FB_FRAME_OK);
  assert_int_equal (rm.len, strlen (resp));
  assert_int_equal (rm.status, 200);
  assert_int_equal (fb_http_framing.request ("GET / HTTP/1.1\r\n\r\n", 0, &m, &e), FB_FRAME_PARTIAL);
  assert_int_equal (req (&fb_http_framing, "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", &m), FB_FRAME_BAD);
}

static void
test_http_response_kinds (void **state)
{
  (void) state;
  fb_error e = { 0 };
  fb_msg head = { .head_only = true }, m;
  const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
  assert_int_equal (fb_http_framing.response (r, strlen (r), &head, &m, &e), FB_FRAME_OK);
  assert_int_equal (m.len, strlen (r));
  const char *cont = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
  assert_int_equal (fb_http_framing.response (cont, strlen (cont), NULL, &m, &e), FB_FRAME_OK);
  assert_true (m.interim);
  const char *eof = "HTTP/1.0 200 OK\r\n\r\nbody until close";
  assert_int_equal (fb_http_framing.response (eof, strlen (eof), NULL, &m, &e), FB_FRAME_OK);
  assert_true (m.until_close);
  assert_int_equal (fb_http_framing.response ("SSH-2.0\r\n\r\n", 11, NULL, &m, &e), FB_FRAME_BAD);
}

static void
test_resp_pipelined_commands_and_inline (void **state)
{
  (void) state;
  const char *p = "*3\r\n$3\r\nset\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\nPING\r\n\r\n";
  size_t off = 0, len = strlen (p);
  const char *want[][2] = { { "SET", "b" }, { "GET", "b" }, { "PING", "" }, { "", "" } };
  for (int i = 0; i < 4; i++)
    {
      fb_msg m;
      fb_error e = { 0 };
      /* the message is partial up to its last byte */
      for (size_t n = off; i < 2 && n < off + 8; n++)
        assert_int_equal (fb_resp_framing.request (p + off, n - off, &m, &e), FB_FRAME_PARTIAL);
      assert_int_equal (fb_resp_framing.request (p + off, len - off, &m, &e), FB_FRAME_OK);
      assert_string_equal (m.verb, want[i][0]);
      assert_string_equal (m.target, want[i][1]);
      assert_int_equal (m.no_reply, i == 3);
      off += m.len;
    }
  assert_int_equal (off, len);
  fb_proxy_rule rule = { .verb = "set" };
  fb_msg m;
  fb_error e = { 0 };
  fb_resp_framing.request (p, len, &m, &e);
  assert_true (fb_proxy_rule_matches (&rule, &m));
  rule.verb = "se*"; /* Faultbox: a glob is case-sensitive, commands are upper-case */
  assert_false (fb_proxy_rule_matches (&rule, &m));
}

static void
test_resp_replies_of_every_type (void **state)
{
  (void) state;
  const char *r = "*2\r\n$-1\r\n%1\r\n+k\r\n:1\r\n|1\r\n+a\r\n+b\r\n,1.5\r\n>2\r\n+m\r\n+x\r\n-ERR no\r\n";
  size_t off = 0, len = strlen (r);
  int n = 0;
  bool push = false;
  while (off < len)
    {
      fb_msg m;
      fb_error e = { 0 };
      for (size_t k = off; k < off + 3; k++)
        assert_int_equal (fb_resp_framing.response (r + off, k - off, NULL, &m, &e), FB_FRAME_PARTIAL);
      assert_int_equal (fb_resp_framing.response (r + off, len - off, NULL, &m, &e), FB_FRAME_OK);
      push |= m.interim;
      off += m.len;
      n++;
    }
  assert_int_equal (n, 4); /* the array, the attributed double, the push, the error */
  assert_true (push);
  size_t rl;
  char *x = fb_resp_framing.reply (&(fb_reply) { .error = true, .message = "READONLY no" }, NULL, &rl);
  assert_string_equal (x, "-READONLY no\r\n");
  free (x);
  x = fb_resp_framing.reply (&(fb_reply) { 0 }, NULL, &rl);
  assert_string_equal (x, "$-1\r\n");
  free (x);
}

static void
test_glob_as_faultbox (void **state)
{
  (void) state;
  assert_true (fb_proxy_glob_match ("/api/*", "/api/v1/x")); /* the prefix fallback */
  assert_false (fb_proxy_glob_match ("/a/*/c", "/a/b/d/c"));
  assert_true (fb_proxy_glob_match ("*.json", "/x/y.json"));
  assert_true (fb_proxy_glob_match ("POST", "post"));
  assert_false (fb_proxy_glob_match ("PO*", "post"));
  assert_true (fb_proxy_glob_match (NULL, "anything"));
}

/* ---- one proxy on loopback -------------------------------------------- */

static int
listener (int *port)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t l = sizeof a;
  assert_int_equal (bind (fd, (struct sockaddr *) &a, sizeof a), 0);
  assert_int_equal (listen (fd, 8), 0);
  getsockname (fd, (struct sockaddr *) &a, &l);
  *port = ntohs (a.sin_port);
  return fd;
}

/* A server answering each RESP command, byte by byte, with +OK<n>. */
static void *
resp_server (void *p)
{
  int c = accept (*(int *) p, NULL, NULL);
  char buf[4096];
  fb_buf in = FB_BUF_INIT;
  int n = 0;
  ssize_t got;
  while ((got = recv (c, buf, sizeof buf, 0)) > 0)
    {
      fb_buf_append (&in, buf, (size_t) got);
      fb_msg m;
      fb_error e = { 0 };
      while (in.len && fb_resp_framing.request (in.data, in.len, &m, &e) == FB_FRAME_OK)
        {
          char r[32];
          int rl = snprintf (r, sizeof r, "+OK%d\r\n", ++n);
          for (int i = 0; i < rl; i++)
            if (send (c, r + i, 1, MSG_NOSIGNAL) != 1)
              goto out;
          memmove (in.data, in.data + m.len, in.len - m.len);
          in.len -= m.len;
        }
    }
out:
  fb_buf_free (&in);
  close (c);
  return NULL;
}

static int fired;

static void
on_fired (void *ctx, const fb_proxy_event *ev)
{
  (void) ctx;
  assert_string_equal (ev->msg->verb, "SET");
  fired++;
}

static void
test_proxy_injects_a_reply_in_its_place_among_pipelined_commands (void **state)
{
  (void) state;
  int sport, pport;
  int sfd = listener (&sport);
  int tmp = listener (&pport);
  close (tmp);
  pthread_t t;
  pthread_create (&t, NULL, resp_server, &sfd);
  fb_proxy_callbacks cb = { .fired = on_fired };
  fb_proxy *px = fb_proxy_new (1, &cb);
  fb_error e = { 0 };
  assert_int_equal (fb_proxy_listen (px, "cache", "main", fb_protocol_find ("redis"), "127.0.0.1", pport, "127.0.0.1",
                                     sport, &e), 0);
  assert_int_equal (fb_proxy_start (px, &e), 0);
  uint64_t id;
  fb_proxy_rule r = { .action = FB_PX_ERROR, .verb = "SET", .target = "b", .message = "READONLY x", .probability = 1 };
  assert_int_equal (fb_proxy_add_rule (px, 0, &r, 1, &id, &e), 0);
  int c = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) pport),
                           .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  assert_int_equal (connect (c, (struct sockaddr *) &a, sizeof a), 0);
  const char *cmds = "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n1\r\nPING\r\n";
  /* in two writes that split a command */
  assert_int_equal (send (c, cmds, 10, 0), 10);
  usleep (20000);
  assert_int_equal (send (c, cmds + 10, strlen (cmds) - 10, 0), (ssize_t) strlen (cmds) - 10);
  const char *want = "+OK1\r\n-READONLY x\r\n+OK2\r\n";
  char got[128] = "";
  size_t n = 0;
  while (n < strlen (want))
    {
      struct pollfd pf = { c, POLLIN, 0 };
      assert_int_equal (poll (&pf, 1, 5000), 1);
      ssize_t k = recv (c, got + n, sizeof got - 1 - n, 0);
      assert_true (k > 0);
      n += (size_t) k;
    }
  got[n] = '\0';
  assert_string_equal (got, want);
  uint64_t matched, fired_n;
  fb_proxy_rule_stats (px, id, &matched, &fired_n);
  assert_int_equal (matched, 1);
  assert_int_equal (fired_n, 1);
  assert_int_equal (fired, 1);
  close (c);
  fb_proxy_free (px);
  pthread_join (t, NULL);
  close (sfd);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_http_request_content_length_and_partial_reads),
    cmocka_unit_test (test_http_chunked_request_and_response),
    cmocka_unit_test (test_http_response_kinds),
    cmocka_unit_test (test_resp_pipelined_commands_and_inline),
    cmocka_unit_test (test_resp_replies_of_every_type),
    cmocka_unit_test (test_glob_as_faultbox),
    cmocka_unit_test (test_proxy_injects_a_reply_in_its_place_among_pipelined_commands),
  };
  return cmocka_run_group_tests_name ("proxy", tests, NULL, NULL);
}
