#include "fb_test.h"

#include "faultbox/lab.h"

#include <linux/capability.h>

static void
test_cap_names_accept_short_prefixed_and_any_case (void **state)
{
  assert_int_equal (fb_cap_from_name ("net_admin"), CAP_NET_ADMIN);
  assert_int_equal (fb_cap_from_name ("CAP_NET_ADMIN"), CAP_NET_ADMIN);
  assert_int_equal (fb_cap_from_name ("Net_Admin"), CAP_NET_ADMIN);
  assert_int_equal (fb_cap_from_name ("cap_checkpoint_restore"), CAP_CHECKPOINT_RESTORE);
  assert_int_equal (fb_cap_from_name ("net_admn"), -1);
  assert_int_equal (fb_cap_from_name ("cap_"), -1);
  assert_int_equal (fb_cap_from_name (""), -1);
}

static void
test_cap_name_lists_every_capability_in_order (void **state)
{
  for (int c = 0; c <= CAP_LAST_CAP; c++)
    {
      assert_non_null (fb_cap_name (c));
      assert_int_equal (fb_cap_from_name (fb_cap_name (c)), c);
    }
  assert_null (fb_cap_name (CAP_LAST_CAP + 1));
  assert_null (fb_cap_name (-1));
  assert_int_equal (fb_cap_all_mask (), (UINT64_C (1) << (CAP_LAST_CAP + 1)) - 1);
}

/* The container default (Docker's CapEff), never sys_admin, net_admin,
 * sys_ptrace or sys_module. */
static void
test_default_caps_are_the_container_default (void **state)
{
  assert_int_equal (fb_cap_default_mask (), 0xa80425fbu);
  static const int never[] = { CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_PTRACE, CAP_SYS_MODULE };
  for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
    assert_false (fb_cap_default_mask () >> never[i] & 1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_cap_names_accept_short_prefixed_and_any_case),
    cmocka_unit_test (test_cap_name_lists_every_capability_in_order),
    cmocka_unit_test (test_default_caps_are_the_container_default),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
