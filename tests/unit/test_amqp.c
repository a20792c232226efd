/* AMQP 0-9-1 framing for the proxy (amqp_frame.c): the protocol header
 * and frames pass through, a Basic.Publish with its content header and
 * body frames is one message named by its routing key, in any number of
 * reads; error() is a Connection.Close with the code its text names.
 * ClickHouse's (clickhouse.c): HTTP/1.1 matched on the SQL of ?query= or
 * the body, error() as ClickHouse's exception text. */
#include "fb_test.h"

#include "faultbox/buf.h"
#include "faultbox/protocol.h"
#include "faultbox/proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

static void
put_frame (fb_buf *b, int type, int ch, const char *payload, size_t n)
{
  fb_buf_putc (b, (char) type);
  fb_buf_putc (b, (char) (ch >> 8)), fb_buf_putc (b, (char) ch);
  for (int s = 24; s >= 0; s -= 8)
    fb_buf_putc (b, (char) (n >> s));
  fb_buf_append (b, payload, n);
  fb_buf_putc (b, (char) 0xCE);
}

/* Basic.Publish on channel 1 to exchange ex with key, then its content
 * header and body (in two body frames). */
static void
put_publish (fb_buf *b, const char *ex, const char *key, const char *body)
{
  fb_buf p = FB_BUF_INIT;
  fb_buf_append (&p, "\0\x3c\0\x28\0\0", 6);
  fb_buf_putc (&p, (char) strlen (ex)), fb_buf_puts (&p, ex);
  fb_buf_putc (&p, (char) strlen (key)), fb_buf_puts (&p, key);
  fb_buf_putc (&p, 0);
  put_frame (b, 1, 1, p.data, p.len);
  size_t n = strlen (body);
  char h[14] = { 0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, (char) n, 0, 0 };
  put_frame (b, 2, 1, h, sizeof h);
  put_frame (b, 3, 1, body, n / 2);
  put_frame (b, 3, 1, body + n / 2, n - n / 2);
  fb_buf_free (&p);
}

static void
test_amqp_publish_is_one_message_across_partial_reads (void **state)
{
  (void) state;
  const fb_framing *f = &fb_amqp_framing;
  fb_msg m;
  fb_error e = { 0 };
  assert_int_equal (f->request (NULL, "AMQP\0\0", 6, &m, &e), FB_FRAME_PARTIAL);
  assert_int_equal (f->request (NULL, "AMQP\0\0\x09\x01", 8, &m, &e), FB_FRAME_OK);
  assert_true (m.len == 8 && m.passthrough && m.no_reply);
  fb_buf b = FB_BUF_INIT;
  put_publish (&b, "", "orders.new", "hello world");
  size_t whole = b.len;
  put_frame (&b, 8, 0, "", 0);
  for (size_t n = 0; n < whole; n++)
    assert_int_equal (f->request (NULL, b.data, n, &m, &e), FB_FRAME_PARTIAL);
  assert_int_equal (f->request (NULL, b.data, b.len, &m, &e), FB_FRAME_OK);
  assert_int_equal (m.len, whole);
  assert_string_equal (m.verb, "publish");
  assert_string_equal (m.target, "orders.new");
  assert_true (m.no_reply && !m.passthrough);
  /* the heartbeat after it passes through */
  assert_int_equal (f->request (NULL, b.data + whole, b.len - whole, &m, &e), FB_FRAME_OK);
  assert_true (m.len == 8 && m.passthrough);
  /* no routing key: the exchange names it */
  b.len = 0;
  put_publish (&b, "audit", "", "");
  assert_int_equal (f->request (NULL, b.data, b.len, &m, &e), FB_FRAME_OK);
  assert_string_equal (m.target, "audit");
  fb_buf_free (&b);
}

static void
test_amqp_bad_frames_and_server_frames (void **state)
{
  (void) state;
  const fb_framing *f = &fb_amqp_framing;
  fb_msg m;
  fb_error e = { 0 };
  assert_int_equal (f->request (NULL, "GET / HTTP/1.1\r\n", 16, &m, &e), FB_FRAME_BAD);
  assert_int_equal (f->request (NULL, "\x01\0\0\0\0\0\0X", 8, &m, &e), FB_FRAME_BAD);
  assert_non_null (strstr (e.msg, "end octet"));
  fb_buf b = FB_BUF_INIT;
  put_frame (&b, 1, 0, "\0\x0a\0\x0a", 4);
  assert_int_equal (f->response (NULL, b.data, b.len - 1, NULL, &m, &e), FB_FRAME_PARTIAL);
  assert_int_equal (f->response (NULL, b.data, b.len, NULL, &m, &e), FB_FRAME_OK);
  assert_int_equal (m.len, b.len);
  assert_string_equal (m.verb, "");
  fb_buf_free (&b);
}

static void
test_amqp_error_is_a_connection_close_with_its_code (void **state)
{
  (void) state;
  const struct {
    const char *message;
    int status;
    int code;
  } cases[] = {
    { "CHANNEL_ERROR - precondition failed", 0, 504 },  { "RESOURCE_LOCKED - locked", 0, 405 },
    { "publish nacked by broker - queue unavailable", 0, 541 }, { NULL, 0, 320 },
    { "ACCESS_REFUSED - no", 530, 530 },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      size_t n;
      unsigned char *r = (unsigned char *) fb_amqp_framing.reply (
          NULL, &(fb_reply) { .error = true, .status = cases[i].status, .message = cases[i].message }, NULL, &n);
      const char *text = cases[i].message ? cases[i].message : "CONNECTION_FORCED - injected fault";
      size_t tl = strlen (text);
      assert_int_equal (n, 7 + 4 + 2 + 1 + tl + 4 + 1);
      assert_int_equal (r[0], 1);
      assert_int_equal (r[7] << 8 | r[8], 10);
      assert_int_equal (r[9] << 8 | r[10], 50);
      assert_int_equal (r[11] << 8 | r[12], cases[i].code);
      assert_int_equal (r[13], tl);
      assert_memory_equal (r + 14, text, tl);
      assert_int_equal (r[n - 1], 0xCE);
      free (r);
    }
  assert_true (fb_amqp_framing.error_closes && fb_amqp_framing.drop_message && fb_amqp_framing.no_respond);
}

static void
test_clickhouse_rules_see_the_sql (void **state)
{
  (void) state;
  const fb_framing *f = &fb_clickhouse_framing;
  void *st = f->state_new ();
  fb_msg m;
  fb_error e = { 0 };
  const char *post = "POST /?default_format=JSON HTTP/1.1\r\nContent-Length: 20\r\n\r\nINSERT INTO t VALUES";
  assert_int_equal (f->request (st, post, strlen (post) - 1, &m, &e), FB_FRAME_PARTIAL);
  assert_int_equal (f->request (st, post, strlen (post), &m, &e), FB_FRAME_OK);
  assert_string_equal (m.text, "INSERT INTO t VALUES");
  const char *get = "GET /?query=SELECT%20*+FROM%20t&x=1 HTTP/1.1\r\n\r\n";
  assert_int_equal (f->request (st, get, strlen (get), &m, &e), FB_FRAME_OK);
  assert_string_equal (m.text, "SELECT * FROM t");
  assert_string_equal (m.target, "SELECT * FROM t");
  size_t n;
  char *r = f->reply (st, &(fb_reply) { .error = true, .message = "Too many parts" }, &m, &n);
  assert_non_null (strstr (r, "HTTP/1.1 500 "));
  assert_non_null (strstr (r, "\r\n\r\nCode: 0. DB::Exception: Too many parts"));
  free (r);
  f->state_free (st);
}

typedef struct {
  int fd;
  size_t got;   /* the bytes the server received before the proxy closed */
} sink;

static void *
sink_server (void *p)
{
  sink *s = p;
  int c = accept (s->fd, NULL, NULL);
  char buf[4096];
  ssize_t k;
  while ((k = recv (c, buf, sizeof buf, 0)) > 0)
    s->got += (size_t) k;
  close (c);
  return NULL;
}

/* error(): the client gets the Connection.Close, then the end of the
 * connection; the server never sees the publish nor what followed it. */
static void
test_amqp_error_closes_the_connection_after_its_reply (void **state)
{
  (void) state;
  int pport, tmp = fb_test_listener (&pport);
  close (tmp);
  sink s = { 0 };
  int sport;
  s.fd = fb_test_listener (&sport);
  pthread_t t;
  pthread_create (&t, NULL, sink_server, &s);
  fb_proxy *px = fb_proxy_new (1, NULL);
  fb_error e = { 0 };
  assert_int_equal (fb_proxy_listen (px, "mq", "main", fb_protocol_find ("amqp"), "127.0.0.1", pport, "127.0.0.1",
                                     sport, &e), 0);
  assert_int_equal (fb_proxy_start (px, &e), 0);
  uint64_t id;
  fb_proxy_rule r = { .action = FB_PX_ERROR, .target = "orders", .message = "NOT_FOUND - gone", .probability = 1 };
  assert_int_equal (fb_proxy_add_rule (px, 0, &r, 1, &id, &e), 0);
  int c = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) pport),
                           .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  assert_int_equal (connect (c, (struct sockaddr *) &a, sizeof a), 0);
  fb_buf b = FB_BUF_INIT;
  fb_buf_append (&b, "AMQP\0\0\x09\x01", 8);
  put_publish (&b, "", "orders", "lost");
  put_frame (&b, 1, 1, "\0\x14\0\x28\0\0\0\0\0\0", 10);
  assert_int_equal (send (c, b.data, b.len, 0), (ssize_t) b.len);
  unsigned char got[256];
  size_t n = 0;
  ssize_t k = 1;
  while (k > 0)
    {
      struct pollfd pf = { c, POLLIN, 0 };
      assert_int_equal (poll (&pf, 1, 5000), 1);
      k = recv (c, got + n, sizeof got - n, 0);
      n += k > 0 ? (size_t) k : 0;
    }
  assert_int_equal (n, 7 + 4 + 2 + 1 + 16 + 4 + 1);
  assert_int_equal (got[11] << 8 | got[12], 404);
  close (c);
  fb_proxy_free (px);
  pthread_join (t, NULL);
  close (s.fd);
  /* the protocol header at most (the upstream may not be connected yet) */
  assert_true (s.got <= 8);
  fb_buf_free (&b);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_amqp_publish_is_one_message_across_partial_reads),
    cmocka_unit_test (test_amqp_bad_frames_and_server_frames),
    cmocka_unit_test (test_amqp_error_is_a_connection_close_with_its_code),
    cmocka_unit_test (test_clickhouse_rules_see_the_sql),
    cmocka_unit_test (test_amqp_error_closes_the_connection_after_its_reply),
  };
  return cmocka_run_group_tests_name ("amqp_frame", tests, NULL, NULL);
}
