#include "fb_test.h"

#include "protocol/h2.h"

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

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_grpc_codes_by_name_and_camel),
    cmocka_unit_test (test_grpc_message_frames_round_trip),
    cmocka_unit_test (test_grpc_message_percent_encoding),
    cmocka_unit_test (test_grpc_struct_from_json),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
