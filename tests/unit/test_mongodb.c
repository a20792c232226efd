/* MongoDB framing for the proxy (mongo_frame.c) and the step's BSON as
 * JSON (mongodb.c): OP_MSG commands named by their first key and
 * collection across partial reads, what passes unseen, moreToCome both
 * ways, a message too short for its flags, error()'s reply, and
 * Faultbox's JSON forms of BSON values (an empty document too). */
#include "fb_test.h"

#include "protocol/mongo.h"

#include <stdlib.h>
#include <string.h>

/* An OP_MSG of doc (section 0) with flags, and a section 1 of one document
 * before it when seq: as drivers send writes. */
static char *
op_msg (uint32_t id, uint32_t flags, const bson_t *doc, bool seq, size_t *len)
{
  size_t n;
  char *m = fb_mongo_message (id, 0, false, doc, &n);
  memcpy (m + 16, &flags, 4);
  if (!seq)
    return *len = n, m;
  /* kind 1: size, "documents\0", the document */
  uint32_t sz = 4 + 10 + doc->len;
  *len = n + 1 + sz;
  char *w = calloc (1, *len);
  memcpy (w, m, 20);
  w[20] = 1;
  memcpy (w + 21, &sz, 4);
  memcpy (w + 25, "documents", 10);
  memcpy (w + 35, bson_get_data (doc), doc->len);
  memcpy (w + 21 + sz, m + 20, n - 20);
  uint32_t total = (uint32_t) *len;
  memcpy (w, &total, 4);
  free (m);
  return w;
}

static fb_frame_rc
req (void *st, const char *s, size_t n, fb_msg *m)
{
  fb_error e = { 0 };
  return fb_mongo_framing.request (st, s, n, m, &e);
}

static void
test_mongo_command_framed_by_name_and_collection_across_partial_reads (void **state)
{
  (void) state;
  bson_t *doc = BCON_NEW ("insert", BCON_UTF8 ("orders"), "ordered", BCON_BOOL (true), "$db", BCON_UTF8 ("test"));
  size_t n;
  char *m = op_msg (7, 0, doc, true, &n);
  void *st = fb_mongo_framing.state_new ();
  fb_msg msg;
  for (size_t k = 0; k < n; k++)
    assert_int_equal (req (st, m, k, &msg), FB_FRAME_PARTIAL);
  assert_int_equal (req (st, m, n, &msg), FB_FRAME_OK);
  assert_int_equal (msg.len, n);
  assert_string_equal (msg.verb, "insert");
  assert_string_equal (msg.target, "orders");
  assert_false (msg.passthrough || msg.no_reply);
  /* error(): an OP_MSG answering request 7 with ok: 0 */
  size_t rl;
  char *r = fb_mongo_framing.reply (st, &(fb_reply) { .error = true, .message = "disk full" }, &msg, &rl);
  fb_mongo_head h;
  assert_int_equal (fb_mongo_cut (r, rl, &h, NULL), FB_FRAME_OK);
  assert_int_equal (h.response_to, 7);
  assert_int_equal (h.opcode, FB_MONGO_OP_MSG);
  bson_t reply;
  assert_true (fb_mongo_command (r, &h, &reply));
  char *json = bson_as_relaxed_extended_json (&reply, NULL);
  assert_string_equal (json, "{ \"ok\" : 0.0, \"errmsg\" : \"disk full\", \"code\" : 1 }");
  bson_free (json);
  free (r);
  free (m);
  fb_mongo_framing.state_free (st);
  bson_destroy (doc);
}

static void
test_mongo_handshake_legacy_and_more_to_come (void **state)
{
  (void) state;
  fb_msg msg;
  size_t n;
  /* hello is the driver's, not a command rules see */
  bson_t *hello = BCON_NEW ("hello", BCON_INT32 (1));
  char *m = op_msg (1, 0, hello, false, &n);
  assert_int_equal (req (NULL, m, n, &msg), FB_FRAME_OK);
  assert_true (msg.passthrough);
  assert_false (msg.no_reply);
  free (m);
  /* a command the client wants no answer to */
  bson_t *ping = BCON_NEW ("ping", BCON_INT32 (1));
  m = op_msg (2, FB_MONGO_MORE_TO_COME, ping, false, &n);
  assert_int_equal (req (NULL, m, n, &msg), FB_FRAME_OK);
  assert_string_equal (msg.verb, "ping");
  assert_string_equal (msg.target, "");
  assert_true (msg.no_reply);
  /* a reply with moreToCome is followed by more (exhaust) */
  fb_error e = { 0 };
  assert_int_equal (fb_mongo_framing.response (NULL, m, n, NULL, &msg, &e), FB_FRAME_OK);
  assert_true (msg.interim);
  free (m);
  /* OP_QUERY: the drivers' first handshake, passed through with its reply */
  m = fb_mongo_message (3, 0, true, ping, &n);
  memcpy (m + 12, &(uint32_t) { FB_MONGO_OP_QUERY }, 4);
  assert_int_equal (req (NULL, m, n, &msg), FB_FRAME_OK);
  assert_true (msg.passthrough);
  assert_false (msg.no_reply);
  free (m);
  /* an OP_MSG too short for its flags: framed, passed through */
  char shortmsg[18] = { 18, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, (char) 0xdd, 7, 0, 0, 2, 0 };
  assert_int_equal (req (NULL, shortmsg, sizeof shortmsg, &msg), FB_FRAME_OK);
  assert_true (msg.passthrough);
  assert_false (msg.no_reply);
  /* a length no MongoDB message has */
  const char bad[16] = { 3, 0, 0, 0 };
  assert_int_equal (req (NULL, bad, sizeof bad, &msg), FB_FRAME_BAD);
  bson_destroy (hello);
  bson_destroy (ping);
}

static void
test_mongo_json_as_faultbox_writes_it (void **state)
{
  (void) state;
  bson_oid_t oid;
  bson_oid_init_from_string (&oid, "6632a1b2c3d4e5f601234567");
  bson_t *doc = BCON_NEW ("z", BCON_DOUBLE (2.0), "a", BCON_OID (&oid), "when", BCON_DATE_TIME (1700000000123),
                          "n", BCON_INT64 (5), "list", "[", BCON_UTF8 ("x"), BCON_NULL, "]", "f", BCON_DOUBLE (1.5),
                          "sub", "{", "b", BCON_BOOL (true), "a", BCON_INT32 (1), "}", "e", "{", "}");
  json_object *o = fb_mongo_json (doc);
  assert_string_equal (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN),
                       "{\"a\":\"6632a1b2c3d4e5f601234567\",\"e\":{},\"f\":1.5,\"list\":[\"x\",null],\"n\":5,"
                       "\"sub\":{\"a\":1,\"b\":true},\"when\":\"2023-11-14T22:13:20.123Z\",\"z\":2}");
  json_object_put (o);
  bson_destroy (doc);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_mongo_command_framed_by_name_and_collection_across_partial_reads),
    cmocka_unit_test (test_mongo_handshake_legacy_and_more_to_come),
    cmocka_unit_test (test_mongo_json_as_faultbox_writes_it),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
