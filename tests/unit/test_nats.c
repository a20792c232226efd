/* NATS framing for the proxy (nats_frame.c): operations cut at their
 * payloads in any number of reads, only PUB/HPUB seen by rules, the
 * server's MSG/HMSG named by subject, and the -ERR line error() injects. */
#include "fb_test.h"

#include "faultbox/protocol.h"

static fb_frame_rc
req (const char *s, size_t n, fb_msg *m)
{
  fb_error e = { 0 };
  return fb_nats_framing.request (NULL, s, n, m, &e);
}

static void
test_nats_publish_framed_by_subject_across_partial_reads (void **state)
{
  (void) state;
  const char *r = "PUB orders.new _INBOX.1 5\r\nhello\r\nPING\r\n";
  size_t whole = strlen (r) - strlen ("PING\r\n");
  fb_msg m;
  for (size_t n = 0; n < whole; n++)
    assert_int_equal (req (r, n, &m), FB_FRAME_PARTIAL);
  assert_int_equal (req (r, strlen (r), &m), FB_FRAME_OK);
  assert_int_equal (m.len, whole);
  assert_string_equal (m.verb, "publish");
  assert_string_equal (m.target, "orders.new");
  assert_true (m.no_reply);
  assert_false (m.passthrough);
  /* what follows is no rule's business and expects no paired reply */
  assert_int_equal (req (r + whole, strlen (r) - whole, &m), FB_FRAME_OK);
  assert_true (m.passthrough && m.no_reply);
  /* HPUB: the total size counts, headers included; lower case is accepted */
  const char *h = "hpub a.b 12 14\r\nNATS/1.0\r\n\r\nhi\r\n";
  assert_int_equal (req (h, strlen (h), &m), FB_FRAME_OK);
  assert_int_equal (m.len, strlen (h));
  assert_string_equal (m.target, "a.b");
  /* CONNECT carries credentials: passed through, never matched */
  const char *c = "CONNECT {\"user\":\"a\",\"pass\":\"b\"}\r\n";
  assert_int_equal (req (c, strlen (c), &m), FB_FRAME_OK);
  assert_true (m.passthrough);
}

static void
test_nats_bad_bytes_and_server_messages (void **state)
{
  (void) state;
  fb_msg m;
  fb_error e = { 0 };
  const char *bad = "PUB x 3\r\nabcdef\r\n";
  assert_int_equal (req (bad, strlen (bad), &m), FB_FRAME_BAD);
  const char *nosize = "PUB x\r\n";
  assert_int_equal (req (nosize, strlen (nosize), &m), FB_FRAME_BAD);
  const char *bin = "\x16\x03\x01\r\n";
  assert_int_equal (req (bin, strlen (bin), &m), FB_FRAME_BAD);
  const char *s = "MSG orders.new 1 5\r\nhello\r\nHMSG _INBOX.x 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n+OK\r\n";
  size_t n = strlen (s);
  assert_int_equal (fb_nats_framing.response (NULL, s, n, NULL, &m, &e), FB_FRAME_OK);
  assert_string_equal (m.verb, "deliver");
  assert_string_equal (m.target, "orders.new");
  s += m.len, n -= m.len;
  assert_int_equal (fb_nats_framing.response (NULL, s, n, NULL, &m, &e), FB_FRAME_OK);
  assert_string_equal (m.target, "_INBOX.x");
  s += m.len, n -= m.len;
  assert_int_equal (fb_nats_framing.response (NULL, s, n, NULL, &m, &e), FB_FRAME_OK);
  assert_int_equal (m.len, n);
  assert_string_equal (m.verb, "");
}

static void
test_nats_injected_error_is_an_err_line (void **state)
{
  (void) state;
  size_t len;
  char *r = fb_nats_framing.reply (NULL, &(fb_reply) { .error = true, .message = "Stale 'x'\nConnection" }, NULL,
                                   &len);
  assert_string_equal (r, "-ERR 'Stale  x  Connection'\r\n");
  assert_int_equal (len, strlen (r));
  free (r);
  r = fb_nats_framing.reply (NULL, &(fb_reply) { .error = true }, NULL, &len);
  assert_string_equal (r, "-ERR 'injected fault'\r\n");
  free (r);
  assert_true (fb_nats_framing.drop_message && fb_nats_framing.no_respond && fb_nats_framing.deliveries);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_nats_publish_framed_by_subject_across_partial_reads),
    cmocka_unit_test (test_nats_bad_bytes_and_server_messages),
    cmocka_unit_test (test_nats_injected_error_is_an_err_line),
  };
  return cmocka_run_group_tests_name ("nats", tests, NULL, NULL);
}
