#include "fb_test.h"

#include "faultbox/protobuf.h"
#include "protocol/h2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
test_grpc_codes_by_name_and_camel (void **state)
{
  (void) state;
  assert_int_equal (fb_grpc_code ("OK"), 0);
  assert_int_equal (fb_grpc_code ("UNAVAILABLE"), 14);
  assert_int_equal (fb_grpc_code ("UNAUTHENTICATED"), 16);
  assert_int_equal (fb_grpc_code ("unavailable"), -1);
  assert_string_equal (fb_grpc_code_camel (5), "NotFound");
  assert_string_equal (fb_grpc_code_camel (99), "Unknown");
}

static void
test_grpc_message_frames_round_trip (void **state)
{
  (void) state;
  fb_buf b = FB_BUF_INIT;
  fb_grpc_frame (&b, "hi\0x", 4);
  assert_int_equal (b.len, 9);
  assert_memory_equal (b.data, "\0\0\0\0\4hi\0x", 9);
  const char *msg;
  size_t len;
  assert_int_equal (fb_grpc_unframe (b.data, b.len, &msg, &len), 0);
  assert_int_equal (len, 4);
  assert_memory_equal (msg, "hi\0x", 4);
  /* cut short, or compressed: not a whole message we can read */
  assert_int_equal (fb_grpc_unframe (b.data, 8, &msg, &len), -1);
  assert_int_equal (fb_grpc_unframe ("\1\0\0\0\0", 5, &msg, &len), -1);
  fb_buf_free (&b);
}

static void
test_grpc_message_percent_encoding (void **state)
{
  (void) state;
  char *e = fb_grpc_pct_encode ("50% off\nnow");
  assert_string_equal (e, "50%25 off%0Anow");
  char *d = fb_grpc_pct_decode (e);
  assert_string_equal (d, "50% off\nnow");
  free (e);
  free (d);
}

static void
test_grpc_struct_from_json (void **state)
{
  (void) state;
  fb_buf b = FB_BUF_INIT;
  char why[128];
  /* Struct{fields: {"a": Value{bool_value: true}}} */
  assert_int_equal (fb_grpc_struct_from_json ("{\"a\": true}", &b, why, sizeof why), 0);
  assert_int_equal (b.len, 9);
  assert_memory_equal (b.data, "\x0a\x07\x0a\x01" "a" "\x12\x02\x20\x01", 9);
  fb_buf_truncate (&b, 0);
  /* a string and a list of one null */
  assert_int_equal (fb_grpc_struct_from_json ("{\"s\": \"x\", \"l\": [null]}", &b, why, sizeof why), 0);
  assert_memory_equal (b.data, "\x0a\x08\x0a\x01" "s" "\x12\x03\x1a\x01" "x", 10);
  assert_memory_equal (b.data + 10, "\x0a\x0b\x0a\x01" "l" "\x12\x06\x32\x04\x0a\x02\x08\x00", 13);
  assert_int_equal (b.len, 23);
  assert_int_equal (fb_grpc_struct_from_json ("[1]", &b, why, sizeof why), -1);
  assert_non_null (strstr (why, "must be a dict"));
  fb_buf_free (&b);
}

/* tests/bad-input/data-files/flags.pb, the set of flags.proto beside it. */
static fb_pb_set *
flags_set (void)
{
  const char *src = getenv ("FAULTBOX_SRC");
  char path[4096];
  snprintf (path, sizeof path, "%s/tests/bad-input/data-files/flags.pb", src ? src : ".");
  FILE *f = fopen (path, "rb");
  assert_non_null (f);
  char buf[4096];
  size_t n = fread (buf, 1, sizeof buf, f);
  fclose (f);
  fb_pb_set *s = NULL;
  fb_error e = { 0 };
  assert_int_equal (fb_pb_set_parse (buf, n, &s, &e), 0);
  return s;
}

/* JSON with protojson's names encodes to the bytes `protoc --encode` made
 * of the same message (fields in number order), and decodes back with
 * the unpopulated ones shown; a method names its output type. */
static void
test_protobuf_json_round_trip_by_descriptor_set (void **state)
{
  (void) state;
  fb_pb_set *s = flags_set ();
  fb_error e = { 0 };
  const char *type;
  assert_int_equal (fb_pb_method_output (s, "/flags.v1.Flags/Get", &type, &e), 0);
  assert_string_equal (type, "flags.v1.Flag");
  static const char json[] = "{\"name\":\"rollout\",\"enabled\":true,\"variant\":\"B\",\"rolloutPpm\":\"-5000000000\","
                             "\"buckets\":[1,-2,300],\"weights\":{\"eu\":7},\"owner\":{\"team\":\"core\",\"id\":42},"
                             "\"blob\":\"AQL/\",\"ratio\":0.25,\"delta\":-3,"
                             "\"reviewers\":[{\"team\":\"a\"},{\"team\":\"b\",\"id\":1}],\"line\":9}";
  static const char want[] =
    "\x0a\x07rollout\x10\x01\x18\x02\x20\x80\x9c\xe8\xaf\xed\xff\xff\xff\xff\x01"
    "\x2a\x0d\x01\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01\xac\x02\x32\x06\x0a\x02" "eu\x10\x07"
    "\x3a\x0b\x0a\x04" "core\x15\x2a\x00\x00\x00\x42\x03\x01\x02\xff\x49\x00\x00\x00\x00\x00\x00\xd0\x3f"
    "\x50\x05\x5a\x03\x0a\x01" "a\x5a\x08\x0a\x01" "b\x15\x01\x00\x00\x00\x68\x09";
  fb_buf b = FB_BUF_INIT;
  assert_int_equal (fb_pb_encode_json (s, type, json, &b, &e), 0);
  assert_int_equal (b.len, sizeof want - 1);
  assert_memory_equal (b.data, want, b.len);
  char *back = fb_pb_decode_json (s, type, b.data, b.len, &e);
  assert_non_null (back);
  assert_string_equal (back, "{\"name\":\"rollout\",\"enabled\":true,\"variant\":\"B\",\"rolloutPpm\":\"-5000000000\","
                             "\"buckets\":[1,-2,300],\"weights\":{\"eu\":7},\"owner\":{\"team\":\"core\",\"id\":42},"
                             "\"blob\":\"AQL/\",\"ratio\":0.25,\"delta\":-3,"
                             "\"reviewers\":[{\"team\":\"a\",\"id\":0},{\"team\":\"b\",\"id\":1}],\"line\":9}");
  free (back);
  /* proto names work too; an empty message shows every field's zero */
  b.len = 0;
  assert_int_equal (fb_pb_encode_json (s, type, "{\"rollout_ppm\": 7}", &b, &e), 0);
  assert_memory_equal (b.data, "\x20\x07", 2);
  back = fb_pb_decode_json (s, type, "", 0, &e);
  assert_string_equal (back, "{\"name\":\"\",\"enabled\":false,\"variant\":\"VARIANT_UNSPECIFIED\",\"rolloutPpm\":\"0\","
                             "\"buckets\":[],\"weights\":{},\"owner\":null,\"blob\":\"\",\"ratio\":0,\"delta\":0,"
                             "\"reviewers\":[]}");
  free (back);
  fb_buf_free (&b);
  fb_pb_set_free (s);
}

/* What does not fit the type, and a method the set lacks, say what and where. */
static void
test_protobuf_errors_name_the_field (void **state)
{
  (void) state;
  fb_pb_set *s = flags_set ();
  fb_buf b = FB_BUF_INIT;
  static const struct {
    const char *json, *msg;
  } bad[] = {
    { "{\"nam\": \"x\"}", "encode as flags.v1.Flag: unknown field \"nam\" of flags.v1.Flag (did you mean \"name\"?)" },
    { "{\"enabled\": \"yes\"}", "encode as flags.v1.Flag: enabled: invalid value \"yes\" (want a bool)" },
    { "{\"delta\": 3000000000}", "encode as flags.v1.Flag: delta: invalid value 3000000000 (want an integer in range)" },
    { "{\"variant\": \"C\"}", "encode as flags.v1.Flag: variant: invalid value \"C\" (want an enum name or number)" },
    { "{\"owner\": {\"team\": 1}}", "encode as flags.v1.Flag: owner: team: invalid value 1 (want a string)" },
    { "{\"reviewers\": [{}, {\"x\": 1}]}", "encode as flags.v1.Flag: reviewers[1]: unknown field \"x\" of flags.v1.Flag.Owner" },
    { "[1]", "encode as flags.v1.Flag: flags.v1.Flag wants an object, got [1]" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      fb_error e = { 0 };
      assert_true (fb_pb_encode_json (s, "flags.v1.Flag", bad[i].json, &b, &e) < 0);
      assert_string_equal (e.msg, bad[i].msg);
    }
  fb_error e = { 0 };
  const char *type;
  assert_true (fb_pb_method_output (s, "/flags.v1.Flags/Nope", &type, &e) < 0);
  assert_string_equal (e.msg, "method \"Nope\" not found on service \"flags.v1.Flags\"");
  assert_true (fb_pb_method_output (s, "/x.Y/Z", &type, &e) < 0);
  assert_string_equal (e.msg, "service \"x.Y\" not found in descriptor set");
  assert_true (fb_pb_set_parse ("\x0a\x05zz", 3, &(fb_pb_set *) { NULL }, &e) < 0);
  fb_buf_free (&b);
  fb_pb_set_free (s);
}

/* client() lists a service's methods with their request and reply types. */
static void
test_protobuf_methods_in_set_order (void **state)
{
  (void) state;
  fb_pb_set *s = flags_set ();
  fb_pb_method_info m;
  assert_true (fb_pb_method_at (s, 0, &m));
  assert_string_equal (m.path, "/flags.v1.Flags/Get");
  assert_string_equal (m.input, "flags.v1.GetRequest");
  assert_string_equal (m.output, "flags.v1.Flag");
  assert_false (m.streaming);
  assert_true (fb_pb_method_at (s, 1, &m));
  assert_string_equal (m.path, "/flags.v1.Flags/List");
  assert_string_equal (m.output, "flags.v1.FlagList");
  assert_false (fb_pb_method_at (s, 2, &m));
  fb_pb_set_free (s);
}

/* Bytes that are not a message of the type, or not a set at all, fail
 * cleanly whatever they hold (run under ASan and UBSan in CI). */
static void
test_protobuf_garbage_fails_cleanly (void **state)
{
  (void) state;
  fb_pb_set *s = flags_set ();
  unsigned seed = 7;
  unsigned char junk[64];
  for (int round = 0; round < 2000; round++)
    {
      size_t n = (size_t) (rand_r (&seed) % sizeof junk);
      for (size_t i = 0; i < n; i++)
        junk[i] = (unsigned char) rand_r (&seed);
      fb_error e = { 0 };
      free (fb_pb_decode_json (s, "flags.v1.Flag", junk, n, &e));
      fb_pb_set *other = NULL;
      if (fb_pb_set_parse (junk, n, &other, &e) == 0)
        fb_pb_set_free (other);
    }
  /* a string field sent as a varint is not a Flag */
  fb_error e = { 0 };
  assert_null (fb_pb_decode_json (s, "flags.v1.Flag", "\x08\x01", 2, &e));
  assert_string_equal (e.msg, "decode as flags.v1.Flag: not a message of that type");
  fb_pb_set_free (s);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_grpc_codes_by_name_and_camel),
    cmocka_unit_test (test_grpc_message_frames_round_trip),
    cmocka_unit_test (test_grpc_message_percent_encoding),
    cmocka_unit_test (test_grpc_struct_from_json),
    cmocka_unit_test (test_protobuf_json_round_trip_by_descriptor_set),
    cmocka_unit_test (test_protobuf_errors_name_the_field),
    cmocka_unit_test (test_protobuf_methods_in_set_order),
    cmocka_unit_test (test_protobuf_garbage_fails_cleanly),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
