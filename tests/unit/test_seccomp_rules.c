#include "fb_test.h"

#include "faultbox/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void
test_parse_deny_with_probability_path_and_nth (void **state)
{
  fb_rule r;
  assert_int_equal (fb_rule_parse ("openat=ENOENT:100%:/tmp/x*:nth=3", &r, NULL), 0);
  assert_string_equal (r.keyword, "openat");
  assert_int_equal (r.action, FB_ACT_DENY);
  assert_int_equal (r.err, ENOENT);
  assert_true (r.probability == 1.0);
  assert_string_equal (r.path_glob, "/tmp/x*");
  assert_int_equal (r.nth, 3);
  assert_string_equal (r.syscalls[0], "open");
  assert_string_equal (r.syscalls[2], "openat2");
  fb_rule_clear (&r);
}

static void
test_parse_delay_and_family_expansion (void **state)
{
  fb_rule r;
  assert_int_equal (fb_rule_parse ("write=delay:200ms:30%:label=slow", &r, NULL), 0);
  assert_int_equal (r.action, FB_ACT_DELAY);
  assert_true (r.delay_ns == 200000000);
  assert_true (r.probability > 0.29 && r.probability < 0.31);
  assert_string_equal (r.label, "slow");
  const char *want[] = { "write", "writev", "pwrite64", "pwritev", "pwritev2", NULL };
  for (int i = 0; want[i]; i++)
    assert_string_equal (r.syscalls[i], want[i]);
  assert_null (r.syscalls[5]);
  char buf[64];
  fb_rule_describe_action (&r, buf, sizeof buf);
  assert_string_equal (buf, "delay(200ms)");
  fb_rule_clear (&r);
}

static void
test_parse_to_keeps_the_port_of_its_address (void **state)
{
  fb_rule r;
  fb_error err = { 0 };
  assert_int_equal (fb_rule_parse ("connect=ECONNREFUSED:to=10.0.0.2:5432:50%:/x", &r, NULL), 0);
  assert_string_equal (r.dest, "10.0.0.2:5432");
  assert_string_equal (r.path_glob, "/x");
  assert_true (r.probability > 0.49 && r.probability < 0.51);
  fb_rule_clear (&r);
  assert_int_equal (fb_rule_parse ("connect=ECONNREFUSED:to=10.0.0.2", &r, NULL), 0);
  assert_string_equal (r.dest, "10.0.0.2");
  fb_rule_clear (&r);
  assert_true (fb_rule_parse ("connect=ECONNREFUSED:to=10.0.0.2:70000", &r, &err) < 0);
  assert_non_null (strstr (err.msg, "invalid address \"10.0.0.2:70000\": port: number 70000 out of range"));
  assert_true (fb_rule_parse ("connect=ECONNREFUSED:to=db", &r, &err) < 0);
  assert_non_null (strstr (err.msg, "invalid address \"db\""));
}

static void
test_parse_errors_name_the_bad_segment (void **state)
{
  fb_rule r;
  fb_error err = { 0 };
  assert_true (fb_rule_parse ("write=ENOSPACE:100%", &r, &err) < 0);
  assert_non_null (strstr (err.msg, "segment \"ENOSPACE\": unknown errno \"ENOSPACE\" (did you mean ENOSPC?)"));
  assert_true (fb_rule_parse ("write=delay:5:100%", &r, &err) < 0);
  assert_non_null (strstr (err.msg, "segment \"5\""));
  assert_true (fb_rule_parse ("write=EIO:100%:nth=0", &r, &err) < 0);
  assert_non_null (strstr (err.msg, "segment \"nth=0\""));
  assert_true (fb_rule_parse ("write=EIO:100%:bogus=1", &r, &err) < 0);
  assert_non_null (strstr (err.msg, "unknown option \"bogus\""));
  assert_true (fb_rule_parse ("EIO", &r, &err) < 0);
  assert_true (fb_rule_parse ("write=", &r, &err) < 0);
  assert_non_null (strstr (err.msg, "missing action"));
  assert_true (fb_rule_parse ("frobnicate=EIO", &r, &err) < 0);
  assert_non_null (strstr (err.msg, "unknown syscall \"frobnicate\""));
}

static void
test_errno_table_has_every_libc_name (void **state)
{
  int e;
  assert_int_equal (fb_errno_from_name ("econnrefused", &e, NULL), 0);
  assert_int_equal (e, ECONNREFUSED);
  assert_int_equal (fb_errno_from_name ("EHWPOISON", &e, NULL), 0);
  assert_int_equal (fb_errno_from_name ("EPIPE", &e, NULL), 0);
  assert_string_equal (fb_errno_name (ENOSPC), "ENOSPC");
}

static void
test_glob_star_stays_in_component_globstar_crosses (void **state)
{
  assert_true (fb_path_glob_match ("/data/*", "/data/x"));
  assert_false (fb_path_glob_match ("/data/*", "/data/a/b"));
  assert_true (fb_path_glob_match ("/data/**", "/data/a/b"));
  assert_true (fb_path_glob_match ("/data/**", "/data"));
  assert_true (fb_path_glob_match ("/tmp/faultbox*", "/tmp/faultbox-target-test"));
  assert_true (fb_path_glob_match ("/tmp/*.wal", "/tmp/inventory.wal"));
  assert_false (fb_path_glob_match ("/tmp/*.wal", "/tmp/inventory.log"));
  assert_true (fb_path_glob_match ("/x/?/[a-c]", "/x/1/b"));
  assert_false (fb_path_glob_match ("/x/?/[!a-c]", "/x/1/b"));
  assert_true (fb_path_glob_match ("**/*.log", "/var/log/a.log"));
}

static void
test_hold_describes_its_label (void **state)
{
  fb_rule r = { .action = FB_ACT_HOLD, .label = "gate" };
  char buf[64];
  fb_rule_describe_action (&r, buf, sizeof buf);
  assert_string_equal (buf, "hold(gate)");
}

static void
test_syscall_numbers_are_the_native_arch_s (void **state)
{
  assert_int_equal (fb_syscall_number ("write"), SYS_write);
  assert_int_equal (fb_syscall_number ("openat2"), SYS_openat2);
#ifdef SYS_open
  assert_int_equal (fb_syscall_number ("open"), SYS_open);
#else
  assert_int_equal (fb_syscall_number ("open"), -1); /* aarch64 has openat only */
#endif
  assert_int_equal (fb_syscall_number ("frobnicate"), -1);
}

static void
test_filter_builds_for_families (void **state)
{
  char *names[] = { "write", "writev", "openat2", "creat", NULL };
  struct sock_fprog p = { 0 };
  assert_int_equal (fb_filter_build (names, &p, NULL), 0);
  assert_true (p.len > 4);
  fb_filter_free (&p);
}

/* A listener the loop cannot receive from (here a pipe: ENOTTY) ends its
 * supervision and is reported, naming the service, so a test fails. */
static void
test_engine_reports_a_failed_listener (void **state)
{
  fb_engine *e = NULL;
  fb_error err = { 0 };
  int p[2];
  assert_int_equal (pipe2 (p, O_CLOEXEC), 0);
  assert_int_equal (write (p[1], "x", 1), 1);
  assert_int_equal (fb_engine_new (0, NULL, NULL, &e, &err), 0);
  assert_int_equal (fb_engine_check (e, &err), 0);
  assert_int_equal (fb_engine_add_service (e, "svc", getpid (), p[0], &err), 0);
  assert_int_equal (fb_engine_start (e, &err), 0);
  /* the loop's thread sees it readable at once; 10 s for a loaded machine */
  for (int i = 0; i < 1000 && fb_engine_check (e, NULL) == 0; i++)
    usleep (10000);
  assert_true (fb_engine_check (e, &err) < 0);
  assert_string_equal (err.msg, "engine: the seccomp listener of service svc failed, its intercepted syscalls "
                                "went unanswered: Inappropriate ioctl for device");
  assert_true (fb_engine_idle (e));
  fb_engine_free (e);
  close (p[1]);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse_deny_with_probability_path_and_nth),
    cmocka_unit_test (test_parse_delay_and_family_expansion),
    cmocka_unit_test (test_parse_to_keeps_the_port_of_its_address),
    cmocka_unit_test (test_parse_errors_name_the_bad_segment),
    cmocka_unit_test (test_errno_table_has_every_libc_name),
    cmocka_unit_test (test_glob_star_stays_in_component_globstar_crosses),
    cmocka_unit_test (test_hold_describes_its_label),
    cmocka_unit_test (test_syscall_numbers_are_the_native_arch_s),
    cmocka_unit_test (test_filter_builds_for_families),
    cmocka_unit_test (test_engine_reports_a_failed_listener),
  };
  return cmocka_run_group_tests_name ("seccomp_rules", tests, NULL, NULL);
}
