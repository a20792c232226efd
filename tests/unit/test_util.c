#include "fb_test.h"

#include "faultbox/error.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/hash.h"
#include "util/parse.h"
#include "util/suggest.h"
#include "util/time.h"

#include <errno.h>
#include <fcntl.h>

static void
test_error_set_fills_message_and_returns_negative_code (void **state)
{
  fb_error err = { 0 };
  int r = fb_error_set (&err, ENOENT, "cannot open %s", "x.star");
  assert_int_equal (r, -ENOENT);
  assert_int_equal (err.code, ENOENT);
  assert_string_equal (err.msg, "cannot open x.star");
}

static void
test_error_setsys_appends_strerror (void **state)
{
  fb_error err = { 0 };
  fb_error_setsys (&err, ENOENT, "open %s", "/nope");
  assert_string_equal (err.msg, "open /nope: No such file or directory");
}

static void
test_error_prefix_adds_context (void **state)
{
  fb_error err = { 0 };
  fb_error_set (&err, EINVAL, "bad errno");
  assert_int_equal (fb_error_prefix (&err, "spec.star:%d:%d", 3, 5), -EINVAL);
  assert_string_equal (err.msg, "spec.star:3:5: bad errno");
}

static void
test_error_null_is_allowed_and_code_zero_maps_to_minus_one (void **state)
{
  assert_int_equal (fb_error_set (NULL, EIO, "x"), -EIO);
  fb_error err = { 0 };
  assert_int_equal (fb_error_set (&err, 0, "y"), -1);
  assert_int_equal (err.code, EINVAL);
}

static void
test_error_long_message_is_truncated_not_overflowed (void **state)
{
  fb_error err = { 0 };
  char big[FB_ERROR_MSG_MAX * 2];
  memset (big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  fb_error_set (&err, EIO, "%s", big);
  assert_int_equal (strlen (err.msg), FB_ERROR_MSG_MAX - 1);
  fb_error_prefix (&err, "ctx");
  assert_int_equal (strlen (err.msg), FB_ERROR_MSG_MAX - 1);
  assert_memory_equal (err.msg, "ctx: aaa", 8);
}

static void
test_buf_grows_and_stays_terminated (void **state)
{
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  assert_string_equal (fb_buf_str (&b), "");
  for (int i = 0; i < 1000; i++)
    fb_buf_printf (&b, "%d,", i);
  assert_true (b.cap > b.len);
  assert_int_equal (b.data[b.len], '\0');
  assert_memory_equal (b.data, "0,1,2,", 6);
  assert_non_null (strstr (b.data, "999,"));
  fb_buf_truncate (&b, 2);
  assert_string_equal (fb_buf_str (&b), "0,");
  fb_buf_putc (&b, 'x');
  fb_buf_append (&b, "yz", 2);
  assert_string_equal (b.data, "0,xyz");
  char *s = fb_buf_steal (&b);
  assert_string_equal (s, "0,xyz");
  assert_null (b.data);
  free (s);
}

static void
test_buf_handles_embedded_nul (void **state)
{
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  fb_buf_append (&b, "a\0b", 3);
  assert_int_equal (b.len, 3);
  assert_memory_equal (b.data, "a\0b", 4);
}

static char *
make_owned (void)
{
  _cleanup_free_ char *p = fb_xstrdup ("owned");
  return steal_pointer (&p);
}

static int
open_and_return_early (int *leaked_fd)
{
  _cleanup_close_ int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  *leaked_fd = fd;
  return fd >= 0 ? 0 : -1;
}

static void
write_tmp (char *path, const char *data, size_t len)
{
  int fd = mkstemp (path);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, data, len), (ssize_t) len);
  close (fd);
}

/* The tail of a log: whole lines, the newest kept, bytes that would break
 * JSON or XML replaced. */
static void
test_buf_read_tail_keeps_last_lines_as_utf8 (void **state)
{
  char path[] = "/tmp/fb-tail-XXXXXX";
  fb_buf in = FB_BUF_INIT, out = FB_BUF_INIT;
  for (int i = 1; i <= 60; i++)
    fb_buf_printf (&in, "line %d\n", i);
  write_tmp (path, in.data, in.len);
  bool cut = false;
  assert_int_equal (fb_buf_read_tail (&out, path, 3, 8192, &cut, NULL), 0);
  assert_string_equal (fb_buf_str (&out), "line 58\nline 59\nline 60\n");
  assert_true (cut);
  fb_buf_truncate (&out, 0);
  /* 20 bytes: "ne 58\n" is cut mid-line, so it starts at line 59 */
  assert_int_equal (fb_buf_read_tail (&out, path, 0, 20, &cut, NULL), 0);
  assert_string_equal (fb_buf_str (&out), "line 59\nline 60\n");
  unlink (path);
  char path2[] = "/tmp/fb-tail-XXXXXX";
  write_tmp (path2, "caf\xc3\xa9 \xff\x1b[1mbold\r\n", 17);
  fb_buf_truncate (&out, 0);
  assert_int_equal (fb_buf_read_tail (&out, path2, 50, 8192, &cut, NULL), 0);
  assert_string_equal (fb_buf_str (&out), "caf\xc3\xa9 ?[1mbold\n");
  assert_false (cut);
  unlink (path2);
  fb_error err = { 0 };
  assert_true (fb_buf_read_tail (&out, path2, 50, 8192, &cut, &err) < 0);
  assert_non_null (strstr (err.msg, "No such file"));
  fb_buf_free (&in);
  fb_buf_free (&out);
}

static void
test_cleanup_frees_and_closes_on_scope_exit (void **state)
{
  char *p = make_owned ();
  assert_string_equal (p, "owned");
  free (p);
  int fd = -1;
  assert_int_equal (open_and_return_early (&fd), 0);
  assert_true (fd >= 0);
  assert_int_equal (fcntl (fd, F_GETFD), -1);
  assert_int_equal (errno, EBADF);
  _cleanup_close_ int keep = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  int moved = steal_fd (&keep);
  assert_int_equal (keep, -1);
  assert_true (fcntl (moved, F_GETFD) >= 0);
  close (moved);
}

static void
test_grow_zero_fills_new_space (void **state)
{
  int *arr = NULL;
  size_t cap = 0;
  FB_GROW (arr, cap, 100);
  assert_true (cap >= 100);
  for (size_t i = 0; i < cap; i++)
    assert_int_equal (arr[i], 0);
  free (arr);
}

static void
test_time_is_monotonic_and_sleep_waits (void **state)
{
  int64_t a = fb_now_ns ();
  fb_sleep_ns (2 * FB_NS_PER_MS);
  int64_t b = fb_now_ns ();
  assert_true (b - a >= 2 * FB_NS_PER_MS);
}

static void
test_siphash_matches_reference_vector (void **state)
{
  /* SipHash-2-4 paper, appendix A: key 00..0f, message 00..0e. */
  uint8_t key[16], msg[15];
  for (int i = 0; i < 16; i++)
    key[i] = (uint8_t) i;
  for (int i = 0; i < 15; i++)
    msg[i] = (uint8_t) i;
  assert_true (fb_siphash (key, msg, 15) == UINT64_C (0xa129ca6149be45e5));
  assert_true (fb_siphash (key, msg, 0) == UINT64_C (0x726fdb47dd0e0e31));
}

static void
test_hash_decision_depends_on_every_field (void **state)
{
  uint64_t h = fb_hash_decision (1, "db", 2, 3);
  assert_true (h == fb_hash_decision (1, "db", 2, 3));
  assert_true (h != fb_hash_decision (2, "db", 2, 3));
  assert_true (h != fb_hash_decision (1, "api", 2, 3));
  assert_true (h != fb_hash_decision (1, "db", 3, 3));
  assert_true (h != fb_hash_decision (1, "db", 2, 4));
}

static void
test_hash_chance_approximates_probability (void **state)
{
  int hits = 0;
  for (uint64_t i = 0; i < 10000; i++)
    hits += fb_hash_chance (fb_hash_decision (42, "svc", 1, i), 0.3);
  assert_in_range (hits, 2800, 3200);
  assert_false (fb_hash_chance (0, 0.0));
  assert_true (fb_hash_chance (UINT64_MAX, 1.0));
}

static void
test_parse_duration_accepts_units (void **state)
{
  int64_t ns;
  assert_int_equal (fb_parse_duration ("500ms", &ns, NULL), 0);
  assert_true (ns == 500 * FB_NS_PER_MS);
  assert_int_equal (fb_parse_duration ("1.5s", &ns, NULL), 0);
  assert_true (ns == 1500 * FB_NS_PER_MS);
  assert_int_equal (fb_parse_duration ("1m30s", &ns, NULL), 0);
  assert_true (ns == 90 * FB_NS_PER_S);
  assert_int_equal (fb_parse_duration ("100us", &ns, NULL), 0);
  assert_true (ns == 100000);
}

static void
test_parse_duration_rejects_bad_input_with_reason (void **state)
{
  int64_t ns = 7;
  fb_error err = { 0 };
  assert_true (fb_parse_duration ("5", &ns, &err) < 0);
  assert_non_null (strstr (err.msg, "missing unit"));
  assert_true (fb_parse_duration ("-1s", &ns, &err) < 0);
  assert_non_null (strstr (err.msg, "negative"));
  assert_true (fb_parse_duration ("3 parsecs", &ns, &err) < 0);
  assert_true (fb_parse_duration ("10q", &ns, &err) < 0);
  assert_non_null (strstr (err.msg, "unknown unit \"q\""));
  assert_true (fb_parse_duration ("", &ns, &err) < 0);
  assert_true (fb_parse_duration ("1.5.3ms", &ns, &err) < 0);
  assert_string_equal (err.msg, "invalid duration \"1.5.3ms\": a second decimal point at \".3ms\"");
  assert_true (fb_parse_duration ("0x10s", &ns, &err) < 0);
  assert_true (fb_parse_duration ("1e3ms", &ns, &err) < 0);
  assert_true (ns == 7);
  assert_int_equal (fb_parse_duration ("1.5ms", &ns, NULL), 0);
  assert_true (ns == 1500000);
}

static void
test_parse_addr_wants_ipv4_and_a_port_in_range (void **state)
{
  fb_error err = { 0 };
  assert_int_equal (fb_parse_addr ("10.0.0.2", NULL), 0);
  assert_int_equal (fb_parse_addr ("10.0.0.2:5432", NULL), 0);
  const char *bad[] = { "", "db", "999.1.1.1", "10.0.0.2:", "10.0.0.2:0", "10.0.0.2:x", "1.2.3.4.5", "::1" };
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
    assert_true (fb_parse_addr (bad[k], &err) < 0);
  assert_true (fb_parse_addr ("10.0.0.2:65536", &err) < 0);
  assert_string_equal (err.msg, "invalid address \"10.0.0.2:65536\": port: number 65536 out of range [1, 65535]");
}

static void
test_parse_percent_and_sizes (void **state)
{
  double p;
  uint64_t v;
  fb_error err = { 0 };
  assert_int_equal (fb_parse_percent ("30%", &p, NULL), 0);
  assert_true (p > 0.2999 && p < 0.3001);
  assert_int_equal (fb_parse_percent ("0.5", &p, NULL), 0);
  assert_true (fb_parse_percent ("150%", &p, &err) < 0);
  assert_true (fb_parse_percent ("abc", &p, &err) < 0);
  assert_int_equal (fb_parse_size ("64k", &v, NULL), 0);
  assert_true (v == 65536);
  assert_int_equal (fb_parse_rate ("1mbit", &v, NULL), 0);
  assert_true (v == 125000);
  assert_true (fb_parse_size ("12x", &v, &err) < 0);
  long long n;
  assert_int_equal (fb_parse_int ("8080", 1, 65535, &n, NULL), 0);
  assert_true (fb_parse_int ("70000", 1, 65535, &n, &err) < 0);
  assert_non_null (strstr (err.msg, "out of range"));
}

static void
test_parse_shard_checks_bounds (void **state)
{
  unsigned i, n;
  fb_error err = { 0 };
  assert_int_equal (fb_parse_shard ("2/4", &i, &n, NULL), 0);
  assert_true (i == 2 && n == 4);
  assert_int_equal (fb_parse_shard ("1/1", &i, &n, NULL), 0);
  assert_true (fb_parse_shard ("0/3", &i, &n, &err) < 0);
  assert_string_equal (err.msg, "shard 0/3: want 1 <= I <= N");
  assert_true (fb_parse_shard ("4/3", &i, &n, &err) < 0);
  const char *bad[] = { "3", "a/3", "1/", "/3", "-1/3", "1/3x", " 1/3", "1/+3", "1/2/3", "9999999/9999999" };
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
    assert_true (fb_parse_shard (bad[k], &i, &n, &err) < 0);
  assert_string_equal (err.msg, "want I/N, the I-th of N shards (e.g. 2/4), not \"9999999/9999999\"");
}

static void
test_format_duration_round_trips (void **state)
{
  char b[32];
  fb_format_duration (500 * FB_NS_PER_MS, b, sizeof b);
  assert_string_equal (b, "500ms");
  fb_format_duration (2 * FB_NS_PER_S, b, sizeof b);
  assert_string_equal (b, "2s");
  fb_format_duration (1500 * FB_NS_PER_MS, b, sizeof b);
  assert_string_equal (b, "1.5s");
}

static void
test_suggest_finds_close_names_only (void **state)
{
  static const char *const names[] = { "ENOSPC", "ENOENT", "ECONNREFUSED", NULL };
  assert_string_equal (fb_suggest ("ENOSPACE", names, (size_t) -1), "ENOSPC");
  assert_string_equal (fb_suggest ("econnrefused", names, 3), "ECONNREFUSED");
  assert_null (fb_suggest ("XYZZY", names, (size_t) -1));
  assert_int_equal (fb_edit_distance ("kitten", "sitting"), 3);
  assert_int_equal (fb_edit_distance ("wirte", "write"), 1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_error_set_fills_message_and_returns_negative_code),
    cmocka_unit_test (test_error_setsys_appends_strerror),
    cmocka_unit_test (test_error_prefix_adds_context),
    cmocka_unit_test (test_error_null_is_allowed_and_code_zero_maps_to_minus_one),
    cmocka_unit_test (test_error_long_message_is_truncated_not_overflowed),
    cmocka_unit_test (test_buf_grows_and_stays_terminated),
    cmocka_unit_test (test_buf_handles_embedded_nul),
    cmocka_unit_test (test_buf_read_tail_keeps_last_lines_as_utf8),
    cmocka_unit_test (test_cleanup_frees_and_closes_on_scope_exit),
    cmocka_unit_test (test_grow_zero_fills_new_space),
    cmocka_unit_test (test_time_is_monotonic_and_sleep_waits),
    cmocka_unit_test (test_siphash_matches_reference_vector),
    cmocka_unit_test (test_hash_decision_depends_on_every_field),
    cmocka_unit_test (test_hash_chance_approximates_probability),
    cmocka_unit_test (test_parse_duration_accepts_units),
    cmocka_unit_test (test_parse_duration_rejects_bad_input_with_reason),
    cmocka_unit_test (test_parse_addr_wants_ipv4_and_a_port_in_range),
    cmocka_unit_test (test_parse_percent_and_sizes),
    cmocka_unit_test (test_parse_shard_checks_bounds),
    cmocka_unit_test (test_format_duration_round_trips),
    cmocka_unit_test (test_suggest_finds_close_names_only),
  };
  return cmocka_run_group_tests_name ("util", tests, NULL, NULL);
}
