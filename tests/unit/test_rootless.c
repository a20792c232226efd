#include "fb_test.h"

#include "faultbox/rootless.h"

#include <unistd.h>

static char path[64];

static int
write_subuid (void **state)
{
  (void) state;
  snprintf (path, sizeof path, "/tmp/fb-subuid-%d", (int) getpid ());
  FILE *f = fopen (path, "w");
  if (!f)
    return -1;
  fputs ("alice:100000:65536\nbroken line\nbob:0:0\n1234:200000:1000\nbob:300000:10\n", f);
  fclose (f);
  return 0;
}

static int
remove_subuid (void **state)
{
  (void) state;
  unlink (path);
  return 0;
}

static void
test_subid_range_by_name_or_number_first_nonempty (void **state)
{
  (void) state;
  unsigned long s = 0, n = 0;
  assert_true (fb_rootless_subid_range (path, "alice", 1000, &s, &n));
  assert_int_equal (s, 100000);
  assert_int_equal (n, 65536);
  /* an empty range is none: the next line of bob's counts */
  assert_true (fb_rootless_subid_range (path, "bob", 1001, &s, &n));
  assert_int_equal (s, 300000);
  assert_int_equal (n, 10);
  assert_true (fb_rootless_subid_range (path, "carol", 1234, &s, &n));
  assert_int_equal (s, 200000);
  assert_int_equal (n, 1000);
  assert_false (fb_rootless_subid_range (path, "dave", 1235, &s, &n));
  assert_false (fb_rootless_subid_range (path, NULL, 1000, &s, &n));
  assert_false (fb_rootless_subid_range ("/nonexistent/subuid", "alice", 1000, &s, &n));
}

static void
test_inactive_until_entered (void **state)
{
  (void) state;
  assert_false (fb_rootless_get ()->active);
  assert_null (fb_rootless_get ()->cgroup);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_subid_range_by_name_or_number_first_nonempty, write_subuid, remove_subuid),
    cmocka_unit_test (test_inactive_until_entered),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
