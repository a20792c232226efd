#include "fb_test.h"

#include "faultbox/engine.h"
#include "runner/internal.h"

static void
perm (uint64_t index, size_t n, const size_t *want)
{
  size_t got[8];
  runner_permutation (index, n, got);
  for (size_t i = 0; i < n; i++)
    assert_int_equal (got[i], want[i]);
}

static void
test_permutation_is_the_lehmer_code_of_the_index (void **state)
{
  perm (0, 3, (size_t[]) { 0, 1, 2 });
  perm (1, 3, (size_t[]) { 0, 2, 1 });
  perm (2, 3, (size_t[]) { 1, 0, 2 });
  perm (5, 3, (size_t[]) { 2, 1, 0 });
  perm (1, 2, (size_t[]) { 1, 0 });
  /* modulo n! */
  perm (6, 3, (size_t[]) { 0, 1, 2 });
  perm (7, 2, (size_t[]) { 1, 0 });
  runner_permutation (3, 0, NULL);
}

static void
test_every_index_below_n_factorial_is_a_different_order (void **state)
{
  for (uint64_t i = 0; i < 120; i++)
    {
      size_t p[5];
      runner_permutation (i, 5, p);
      size_t code = 0;
      bool used[5] = { false };
      for (size_t k = 0; k < 5; k++)
        {
          assert_true (p[k] < 5 && !used[p[k]]);
          used[p[k]] = true;
          code = code * 5 + p[k];
        }
      /* base-5 code of the order: distinct orders, distinct codes */
      for (uint64_t j = 0; j < i; j++)
        {
          size_t q[5], other = 0;
          runner_permutation (j, 5, q);
          for (size_t k = 0; k < 5; k++)
            other = other * 5 + q[k];
          assert_true (other != code);
        }
    }
}

static void
test_runs_are_n_factorial_capped (void **state)
{
  assert_int_equal (runner_explore_runs (0), 1);
  assert_int_equal (runner_explore_runs (1), 1);
  assert_int_equal (runner_explore_runs (2), 2);
  assert_int_equal (runner_explore_runs (4), 24);
  assert_int_equal (runner_explore_runs (7), 5040);
  assert_int_equal (runner_explore_runs (8), FB_EXPLORE_MAX_RUNS);
  assert_int_equal (runner_explore_runs (40), FB_EXPLORE_MAX_RUNS);
}

static void
test_held_syscalls_are_the_families (void **state)
{
  char **v = spec_explore_syscalls ();
  const char *want[] = { "write", "writev", "pwrite64", "read", "readv", "connect", "openat", "fsync",
                         "sendto", "recvfrom" };
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    {
      bool found = false;
      for (char **p = v; *p; p++)
        found |= !strcmp (*p, want[i]);
      assert_true (found);
    }
  fb_strv_free (v);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_permutation_is_the_lehmer_code_of_the_index),
    cmocka_unit_test (test_every_index_below_n_factorial_is_a_different_order),
    cmocka_unit_test (test_runs_are_n_factorial_capped),
    cmocka_unit_test (test_held_syscalls_are_the_families),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
