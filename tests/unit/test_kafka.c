/* Kafka framing for the proxy (kafka_frame.c): requests cut by their size
 * in any number of reads, Produce and Fetch named by their first topic
 * (flexible versions too), the rest passed through, acks=0 answered by
 * nothing, and error() closing the connection (no reply bytes). */
#include "fb_test.h"

#include "faultbox/protocol.h"
#include "protocol/internal.h"

/* A request: size, header (api, version, correlation 7, client "c"),
 * then body; b is cleared first. */
static void
request (fb_buf *b, int api, int version, const fb_buf *body)
{
  bool fx = fb_kafka_flexible (api, version);
  fb_buf_truncate (b, 0);
  fb_kafka_put_int (b, 0, 4);
  fb_kafka_put_int (b, api, 2);
  fb_kafka_put_int (b, version, 2);
  fb_kafka_put_int (b, 7, 4);
  fb_kafka_put_str (b, false, "c", 1);
  fb_kafka_put_tags (b, fx);
  fb_buf_append (b, body->data, body->len);
  size_t n = b->len;
  b->len = 0;
  fb_kafka_put_int (b, (int64_t) n - 4, 4);
  b->len = n;
}

/* Produce's body up to its first topic's name. */
static void
produce_body (fb_buf *b, bool fx, int acks, const char *topic)
{
  fb_kafka_put_str (b, fx, NULL, 0);
  fb_kafka_put_int (b, acks, 2);
  fb_kafka_put_int (b, 1000, 4);
  fb_kafka_put_count (b, fx, 1);
  fb_kafka_put_str (b, fx, topic, strlen (topic));
}

static void
test_kafka_produce_framed_by_topic_across_partial_reads (void **state)
{
  (void) state;
  fb_buf body = FB_BUF_INIT, r = FB_BUF_INIT;
  produce_body (&body, false, -1, "orders");
  request (&r, FB_KAFKA_PRODUCE, 7, &body);
  fb_msg m;
  fb_error e = { 0 };
  for (size_t n = 0; n < r.len; n++)
    assert_int_equal (fb_kafka_framing.request (NULL, r.data, n, &m, &e), FB_FRAME_PARTIAL);
  assert_int_equal (fb_kafka_framing.request (NULL, r.data, r.len, &m, &e), FB_FRAME_OK);
  assert_int_equal (m.len, r.len);
  assert_string_equal (m.verb, "produce");
  assert_string_equal (m.target, "orders");
  assert_false (m.no_reply || m.passthrough);
  /* flexible (v9): compact strings; acks=0 gets no reply */
  fb_buf_truncate (&body, 0);
  produce_body (&body, true, 0, "payments");
  request (&r, FB_KAFKA_PRODUCE, 9, &body);
  assert_int_equal (fb_kafka_framing.request (NULL, r.data, r.len, &m, &e), FB_FRAME_OK);
  assert_string_equal (m.target, "payments");
  assert_true (m.no_reply);
  fb_buf_free (&body);
  fb_buf_free (&r);
}

static void
test_kafka_fetch_by_topic_and_the_rest_passes (void **state)
{
  (void) state;
  fb_buf body = FB_BUF_INIT, r = FB_BUF_INIT;
  fb_kafka_put_int (&body, -1, 4);
  fb_kafka_put_int (&body, 500, 4);
  fb_kafka_put_int (&body, 1, 4);
  fb_kafka_put_int (&body, 1 << 20, 4);
  fb_kafka_put_int (&body, 0, 1);
  fb_kafka_put_count (&body, false, 1);
  fb_kafka_put_str (&body, false, "audit", 5);
  request (&r, FB_KAFKA_FETCH, 4, &body);
  fb_msg m;
  fb_error e = { 0 };
  assert_int_equal (fb_kafka_framing.request (NULL, r.data, r.len, &m, &e), FB_FRAME_OK);
  assert_string_equal (m.verb, "fetch");
  assert_string_equal (m.target, "audit");
  fb_buf_truncate (&body, 0);
  fb_kafka_put_count (&body, false, -1);
  request (&r, FB_KAFKA_METADATA, 4, &body);
  assert_int_equal (fb_kafka_framing.request (NULL, r.data, r.len, &m, &e), FB_FRAME_OK);
  assert_true (m.passthrough);
  /* a response is its size */
  assert_int_equal (fb_kafka_framing.response (NULL, r.data, r.len - 1, NULL, &m, &e), FB_FRAME_PARTIAL);
  assert_int_equal (fb_kafka_framing.response (NULL, r.data, r.len, NULL, &m, &e), FB_FRAME_OK);
  assert_int_equal (m.len, r.len);
  /* a size no broker takes is not Kafka */
  assert_int_equal (fb_kafka_framing.request (NULL, "GET / HTTP/1.1\r\n", 16, &m, &e), FB_FRAME_BAD);
  size_t n = 1;
  assert_null (fb_kafka_framing.reply (NULL, &(fb_reply) { .error = true }, &m, &n));
  fb_buf_free (&body);
  fb_buf_free (&r);
}

static void
test_kafka_varints_and_strings_round_trip (void **state)
{
  (void) state;
  fb_buf b = FB_BUF_INIT;
  fb_kafka_put_uvarint (&b, 300);
  fb_kafka_put_int (&b, -2, 8);
  fb_kafka_put_str (&b, true, "ab", 2);
  fb_kafka_put_str (&b, false, NULL, 0);
  fb_kafka_rd r = { b.data, b.len, 0, false };
  assert_int_equal (fb_kafka_uvarint (&r), 300);
  assert_int_equal (fb_kafka_int (&r, 8), -2);
  size_t n;
  const char *s = fb_kafka_str (&r, true, &n);
  assert_int_equal (n, 2);
  assert_memory_equal (s, "ab", 2);
  assert_null (fb_kafka_str (&r, false, &n));
  assert_false (r.bad);
  fb_kafka_int (&r, 1);
  assert_true (r.bad);
  fb_buf_free (&b);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_kafka_produce_framed_by_topic_across_partial_reads),
    cmocka_unit_test (test_kafka_fetch_by_topic_and_the_rest_passes),
    cmocka_unit_test (test_kafka_varints_and_strings_round_trip),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
