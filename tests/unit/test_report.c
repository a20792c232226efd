#include "fb_test.h"

#include "faultbox/bundle.h"
#include "faultbox/report.h"
#include "util/proc.h"
#include "util/alloc.h"
#include "faultbox/buf.h"

#include <json-c/json.h>
#include <sys/stat.h>
#include <unistd.h>

static fb_test_result *
add (fb_report *r, const char *name, const char *scn, const char *fault, int64_t ms, bool pass)
{
  fb_test_result *t = fb_report_add_test (r, name);
  t->duration_ms = ms;
  if (scn)
    {
      t->matrix_scenario = fb_xstrdup (scn);
      t->matrix_fault = fb_xstrdup (fault);
    }
  if (!pass)
    fb_test_result_fail (t, FB_RESULT_FAIL, "assert_true: should fail");
  return t;
}

static void
seed_matrix (fb_report *r)
{
  r->star_file = fb_xstrdup ("domain-test.star");
  r->matrix_scenarios = fb_xcalloc (2, sizeof (char *));
  r->matrix_scenarios[0] = fb_xstrdup ("order_flow");
  r->matrix_scenarios[1] = fb_xstrdup ("health_check");
  r->n_matrix_scenarios = 2;
  r->matrix_faults = fb_xcalloc (2, sizeof (char *));
  r->matrix_faults[0] = fb_xstrdup ("db_down");
  r->matrix_faults[1] = fb_xstrdup ("disk_full");
  r->n_matrix_faults = 2;
}

static void
test_matrix_table_has_seed_layout (void **state)
{
  fb_report r = { 0 };
  seed_matrix (&r);
  add (&r, "test_matrix_health_check_db_down", "health_check", "db_down", 206, true);
  add (&r, "test_matrix_health_check_disk_full", "health_check", "disk_full", 208, true);
  add (&r, "test_matrix_order_flow_db_down", "order_flow", "db_down", 210, true);
  add (&r, "test_matrix_order_flow_disk_full", "order_flow", "disk_full", 210, true);
  fb_buf b = FB_BUF_INIT;
  fb_report_text_matrix (&r, &b);
  assert_string_equal (fb_buf_str (&b),
                       "\nFault Matrix: 2 scenarios × 2 faults = 4 cells\n\n"
                       "                    │ db_down       │ disk_full\n"
                       "────────────────────┼───────────────┼──────────────\n"
                       "order_flow          │ PASS (210ms)  │ PASS (210ms)\n"
                       "health_check        │ PASS (206ms)  │ PASS (208ms)\n"
                       "\nResult: 4/4 passed\n");
  fb_buf_free (&b);
  fb_report_free (&r);
}

static void
test_matrix_failures_are_listed_with_reason (void **state)
{
  fb_report r = { 0 };
  seed_matrix (&r);
  add (&r, "test_matrix_order_flow_db_down", "order_flow", "db_down", 210, false);
  add (&r, "test_matrix_order_flow_disk_full", "order_flow", "disk_full", 210, true);
  fb_buf b = FB_BUF_INIT;
  fb_report_text_matrix (&r, &b);
  assert_non_null (strstr (fb_buf_str (&b), "│ FAIL"));
  assert_non_null (strstr (fb_buf_str (&b), "— (excluded)"));
  assert_non_null (strstr (fb_buf_str (&b), "Result: 1/2 passed, 1 failed\nFailures:\n  order_flow × db_down: assert_true: should fail\n"));
  fb_buf_free (&b);
  fb_report_free (&r);
}

static void
test_fail_line_has_reason_and_replay (void **state)
{
  fb_report r = { 0 };
  r.star_file = fb_xstrdup ("spec.star");
  fb_test_result *t = add (&r, "test_db_down", NULL, NULL, 12, false);
  t->seed = 7;
  fb_buf b = FB_BUF_INIT;
  fb_report_text_test (&r, t, &b);
  assert_string_equal (fb_buf_str (&b), "--- FAIL: test_db_down (12ms, seed=7) ---\n"
                                        "  reason: assert_true: should fail\n"
                                        "  replay: faultbox test spec.star --test db_down --seed 7\n");
  fb_buf_truncate (&b, 0);
  fb_report_text_summary (&r, &b);
  assert_string_equal (fb_buf_str (&b), "\n0 passed, 1 failed\n");
  fb_buf_free (&b);
  fb_report_free (&r);
}

/* halt() and a false assume=: neither passed nor failed, counted apart */
static void
test_halted_is_counted_apart (void **state)
{
  fb_report r = { 0 };
  r.star_file = fb_xstrdup ("spec.star");
  add (&r, "test_ok", NULL, NULL, 1, true);
  add (&r, "test_bad", NULL, NULL, 1, false);
  fb_test_result *h = add (&r, "test_leaf", NULL, NULL, 3, true);
  fb_test_result_fail (h, FB_RESULT_HALTED, "halt: not this leaf");
  assert_int_equal (fb_report_halted (&r), 1);
  assert_int_equal (fb_report_failed (&r), 1);
  fb_buf b = FB_BUF_INIT;
  fb_report_text_test (&r, h, &b);
  assert_non_null (strstr (fb_buf_str (&b), "--- HALTED: test_leaf (3ms, seed=0) ---\n  reason: halt: not this leaf\n"));
  fb_buf_truncate (&b, 0);
  fb_report_text_summary (&r, &b);
  assert_string_equal (fb_buf_str (&b), "\n1 passed, 1 failed, 1 halted\n");
  fb_buf_free (&b);
  fb_report_free (&r);
}

/* A run that writes a bundle names it under the replay command. */
static void
test_fail_line_names_the_bundle (void **state)
{
  fb_report r = { .bundle = ".faultbox/runs/20260101-000000-1" };
  r.star_file = fb_xstrdup ("spec.star");
  fb_test_result *t = add (&r, "test_db_down", NULL, NULL, 12, false);
  fb_buf b = FB_BUF_INIT;
  fb_report_text_test (&r, t, &b);
  assert_non_null (strstr (fb_buf_str (&b), "  replay: faultbox test spec.star --test db_down --seed 0\n"
                                            "          faultbox replay .faultbox/runs/20260101-000000-1 --test test_db_down\n"));
  fb_buf_free (&b);
  fb_report_free (&r);
}

/* The runs directory keeps the newest bundles; other files are left alone. */
static void
test_runs_keep_the_newest (void **state)
{
  char dir[] = "/tmp/fb-runs-XXXXXX";
  assert_non_null (mkdtemp (dir));
  setenv ("FAULTBOX_RUNS_DIR", dir, 1);
  fb_error err = { 0 };
  assert_null (fb_runs_latest (&err));
  assert_non_null (strstr (err.msg, "no failed run under"));
  const char *names[] = { "20260101-000001-5", "20260101-000002-3", "20260101-000003-9", "notes" };
  for (size_t i = 0; i < 4; i++)
    {
      char *d = fb_xasprintf ("%s/%s", dir, names[i]), *m = fb_xasprintf ("%s/bundle.json", d);
      assert_int_equal (mkdir (d, 0755), 0);
      FILE *f = fopen (m, "w");
      assert_non_null (f);
      fclose (f);
      free (d);
      free (m);
    }
  char *p = fb_runs_new_path ();
  assert_true (strncmp (p, dir, strlen (dir)) == 0);
  free (p);
  fb_runs_prune (2);
  char *latest = fb_runs_latest (&err);
  char *want = fb_xasprintf ("%s/20260101-000003-9", dir);
  assert_string_equal (latest, want);
  char *gone = fb_xasprintf ("%s/20260101-000001-5", dir), *notes = fb_xasprintf ("%s/notes", dir);
  assert_int_not_equal (access (gone, F_OK), 0);
  assert_int_equal (access (notes, F_OK), 0);
  free (latest);
  free (want);
  free (gone);
  free (notes);
  fb_rm_rf (dir);
  unsetenv ("FAULTBOX_RUNS_DIR");
}

static void
test_zero_traffic_rule_warns_with_hint (void **state)
{
  fb_report r = { 0 };
  r.star_file = fb_xstrdup ("s.star");
  fb_test_result *t = add (&r, "test_x", NULL, NULL, 5, true);
  t->faults = fb_xcalloc (1, sizeof *t->faults);
  t->n_faults = 1;
  t->faults[0] = (fb_fault_summary){ .service = fb_xstrdup ("db"), .keyword = fb_xstrdup ("connect"),
                                      .action = fb_xstrdup ("deny"), .errno_name = fb_xstrdup ("ECONNREFUSED"),
                                      .filter = fb_xstrdup ("connect"), .hint = fb_xstrdup ("db never calls connect()") };
  fb_buf b = FB_BUF_INIT;
  fb_report_text_test (&r, t, &b);
  assert_non_null (strstr (fb_buf_str (&b), "  fault rule on db: connect=deny(ECONNREFUSED) → filter:[connect] (0 hits)\n"));
  assert_non_null (strstr (fb_buf_str (&b), "WARNING: fault rules were installed but no injections fired\n    hint: db never calls connect()\n"));
  fb_buf_free (&b);
  fb_report_free (&r);
}

static void
test_json_report_round_trips (void **state)
{
  fb_report r = { 0 };
  seed_matrix (&r);
  fb_test_result *t = add (&r, "test_matrix_order_flow_db_down", "order_flow", "db_down", 210, false);
  t->seed = 3;
  t->events = fb_xcalloc (1, sizeof *t->events);
  t->n_events = 1;
  fb_event_init (&t->events[0], "syscall", "db");
  t->events[0].seq = 1;
  fb_event_set (&t->events[0], "syscall", "write");
  fb_event_set (&t->events[0], "decision", "deny(no space left on device)");
  add (&r, "test_order_flow", NULL, NULL, 5, true);
  fb_buf b = FB_BUF_INIT;
  assert_int_equal (fb_report_json (&r, &b, NULL), 0);
  json_object *root = json_tokener_parse (fb_buf_str (&b));
  assert_non_null (root);
  json_object *v;
  assert_true (json_object_object_get_ex (root, "version", &v));
  assert_int_equal (json_object_get_int (v), 2);
  assert_true (json_object_object_get_ex (root, "fail", &v));
  assert_int_equal (json_object_get_int (v), 1);
  json_object *tests, *t0, *evs, *ev0;
  assert_true (json_object_object_get_ex (root, "tests", &tests));
  t0 = json_object_array_get_idx (tests, 0);
  assert_true (json_object_object_get_ex (t0, "replay_command", &v));
  assert_string_equal (json_object_get_string (v), "faultbox test domain-test.star --test matrix_order_flow_db_down --seed 3");
  assert_true (json_object_object_get_ex (t0, "events", &evs));
  ev0 = json_object_array_get_idx (evs, 0);
  assert_true (json_object_object_get_ex (ev0, "event_type", &v));
  assert_string_equal (json_object_get_string (v), "syscall.write");
  json_object *m, *cells;
  assert_true (json_object_object_get_ex (root, "matrix", &m));
  assert_true (json_object_object_get_ex (m, "cells", &cells));
  assert_int_equal (json_object_array_length (cells), 1);
  json_object_put (root);
  fb_buf_free (&b);
  fb_report_free (&r);
}

/* What a worker sends and merge reads must print and serialize the same. */
static void
test_json_reader_reproduces_the_report (void **state)
{
  fb_report r = { 0 };
  seed_matrix (&r);
  fb_test_result *t = add (&r, "test_matrix_order_flow_db_down", "order_flow", "db_down", 210, false);
  t->seed = 3;
  t->failure_type = fb_xstrdup ("assertion");
  t->assertions = 2;
  t->faults = fb_xcalloc (1, sizeof *t->faults);
  t->n_faults = 1;
  t->faults[0] = (fb_fault_summary){ .service = fb_xstrdup ("db"), .keyword = fb_xstrdup ("connect"),
                                      .action = fb_xstrdup ("deny"), .errno_name = fb_xstrdup ("ECONNREFUSED"),
                                      .filter = fb_xstrdup ("connect"), .hint = fb_xstrdup ("db never calls connect()"),
                                      .matched = 4 };
  t->events = fb_xcalloc (1, sizeof *t->events);
  t->n_events = 1;
  fb_event_init (&t->events[0], "syscall", "db");
  t->events[0].seq = 1;
  t->events[0].time_ns = 1234;
  fb_event_set (&t->events[0], "syscall", "write");
  fb_event_set (&t->events[0], "decision", "deny(EIO)");
  t->events[0].clock = fb_xcalloc (1, sizeof *t->events[0].clock);
  t->events[0].clock[0] = (fb_clock_entry){ fb_xstrdup ("db"), 3 };
  t->events[0].n_clock = 1;
  t->runs = 2, t->runs_passed = 1, t->runs_wanted = 5;
  t->phase_us[FB_PHASE_HEALTH] = 4321;
  add (&r, "test_order_flow", NULL, NULL, 5, true)->return_value = fb_xstrdup ("\"ok\"");
  r.not_run = 2;
  fb_buf a = FB_BUF_INIT, b = FB_BUF_INIT, ta = FB_BUF_INIT, tb = FB_BUF_INIT;
  assert_int_equal (fb_report_json (&r, &a, NULL), 0);
  fb_report back = { 0 };
  fb_error err = { 0 };
  assert_int_equal (fb_report_from_json (fb_buf_str (&a), &back, &err), 0);
  assert_int_equal (fb_report_json (&back, &b, NULL), 0);
  assert_string_equal (fb_buf_str (&a), fb_buf_str (&b));
  fb_report_text_test (&r, &r.tests[0], &ta);
  fb_report_text_test (&back, &back.tests[0], &tb);
  assert_string_equal (fb_buf_str (&ta), fb_buf_str (&tb));
  fb_buf_truncate (&a, 0);
  fb_test_result one = { 0 };
  assert_int_equal (fb_test_result_json (&r, &r.tests[0], &a, NULL), 0);
  assert_null (strchr (fb_buf_str (&a), '\n'));
  assert_int_equal (fb_test_result_from_json (fb_buf_str (&a), &one, &err), 0);
  assert_string_equal (one.faults[0].hint, "db never calls connect()");
  assert_string_equal (fb_event_get (&one.events[0], "decision"), "deny(EIO)");
  assert_true (one.events[0].n_clock == 1 && one.events[0].clock[0].n == 3 && one.runs_wanted == 5);
  assert_int_equal (one.phase_us[FB_PHASE_HEALTH], 4321);
  fb_test_result_clear (&one);
  fb_report_free (&back);
  fb_report_free (&r);
  fb_buf_free (&a);
  fb_buf_free (&b);
  fb_buf_free (&ta);
  fb_buf_free (&tb);
}

static void
test_json_reader_names_what_is_wrong (void **state)
{
  fb_report r = { 0 };
  fb_error err = { 0 };
  assert_int_equal (fb_report_from_json ("{\"version\": 2, \"tests\": [{\"name\": \"t\", \"result\": \"pass\", \"seed\": \"x\"}]}", &r, &err), -1);
  assert_string_equal (err.msg, "tests[0].seed: not an integer");
  assert_int_equal (fb_report_from_json ("{\"version\": 1}", &r, &err), -1);
  assert_string_equal (err.msg, "report version 1 is not supported (want 2)");
  assert_int_equal (fb_report_from_json ("{\"version\": 2, \"tests\": [{\"name\": \"t\", \"result\": \"maybe\"}]}", &r, &err), -1);
  assert_string_equal (err.msg, "tests[0].result: \"maybe\" is not pass, fail, error, inconclusive or halted");
  /* null where a string belongs (found by fuzz_report: it crashed) */
  assert_int_equal (fb_report_from_json ("{\"version\": 2, \"tests\": [{\"name\": \"t\", \"result\": null}]}", &r, &err), -1);
  assert_string_equal (err.msg, "tests[0].result: missing or not a string");
  assert_int_equal (fb_report_from_json ("{\"version\": 2, \"star_file\": 7}", &r, &err), -1);
  assert_string_equal (err.msg, "report.star_file: not a string");
  fb_test_result t = { 0 };
  assert_int_equal (fb_test_result_from_json ("{\"name\": \"t\", \"result\": null}", &t, &err), -1);
  assert_string_equal (err.msg, "test.result: missing or not a string");
  assert_int_equal (fb_report_from_json ("{\"version\": 2,", &r, &err), -1);
  assert_non_null (strstr (err.msg, "not JSON"));
  assert_null (r.tests);
}

static void
test_junit_escapes_and_counts_failures (void **state)
{
  fb_report r = { 0 };
  r.star_file = fb_xstrdup ("specs/a&b.star");
  add (&r, "test_ok", NULL, NULL, 1500, true);
  fb_test_result *t = add (&r, "test_bad", NULL, NULL, 20, false);
  fb_test_result_fail (t, FB_RESULT_FAIL, "assert_eq: <500> != \"200\"\x01");
  fb_buf b = FB_BUF_INIT;
  fb_report_junit (&r, &b);
  const char *x = fb_buf_str (&b);
  assert_non_null (strstr (x, "<testsuite name=\"specs/a&amp;b.star\" tests=\"2\" failures=\"1\" errors=\"0\""));
  assert_non_null (strstr (x, "<testcase classname=\"a&amp;b\" name=\"test_ok\" time=\"1.500\"/>"));
  assert_non_null (strstr (x, "message=\"assert_eq: &lt;500&gt; != &quot;200&quot;\""));
  assert_non_null (strstr (x, "replay: faultbox test specs/a&amp;b.star --test bad --seed 0</failure>"));
  assert_null (strchr (x, '\x01'));
  fb_buf_free (&b);
  fb_report_free (&r);
}

static fb_event *
add_event (fb_test_result *t, const char *type, const char *service, int64_t ms)
{
  /* Doubling at powers of two: +1 growth is quadratic under ASan, whose realloc
     always copies (20000 events took 70 s). */
  size_t n = t->n_events;
  if ((n & (n - 1)) == 0)
    t->events = fb_xreallocarray (t->events, n ? 2 * n : 1, sizeof *t->events);
  fb_event *ev = &t->events[t->n_events];
  fb_event_init (ev, type, service);
  ev->seq = ++t->n_events;
  ev->time_ns = ms * 1000000;
  return ev;
}

static size_t
count (const char *hay, const char *needle)
{
  size_t n = 0;
  for (const char *p = hay; (p = strstr (p, needle)); p++)
    n++;
  return n;
}

static void
test_html_has_grid_escaping_and_replay (void **state)
{
  fb_report r = { 0 };
  seed_matrix (&r);
  add (&r, "test_matrix_health_check_db_down", "health_check", "db_down", 206, true);
  fb_test_result *t = add (&r, "test_matrix_order_flow_db_down", "order_flow", "db_down", 210, false);
  fb_test_result_fail (t, FB_RESULT_FAIL, "got <script>alert('x')</script> & \"more\"");
  t->seed = 3;
  add_event (t, "service_started", "db", 1);
  add_event (t, "service_ready", "db", 5);
  fb_event_set (add_event (t, "step_send", "test", 6), "target", "db");
  fb_event *ev = add_event (t, "syscall", "db", 7);
  fb_event_set (ev, "syscall", "write");
  fb_event_set (ev, "decision", "deny(EIO)");
  fb_event_set (ev, "path", "/tmp/<img src=http://x>");
  fb_event_set (add_event (t, "step_recv", "test", 8), "target", "db");
  add_event (t, "service_started", "inventory-<service>-primary", 9);
  fb_buf b = FB_BUF_INIT;
  fb_report_html (&r, &b);
  const char *h = fb_buf_str (&b);
  /* scenarios × faults: one PASS, one FAIL, two cells that did not run */
  assert_int_equal (count (h, "<td class=\"cell pass\">"), 1);
  assert_int_equal (count (h, "<td class=\"cell fail\">"), 1);
  assert_int_equal (count (h, "<td class=\"cell none\">"), 2);
  assert_non_null (strstr (h, "<tr><th>order_flow</th><td class=\"cell fail\"><a href=\"#t-test_matrix_order_flow_db_down\">FAIL"));
  assert_non_null (strstr (h, "<tr><th>health_check</th><td class=\"cell pass\"><a href=\"#t-test_matrix_health_check_db_down\">PASS<small>206 ms</small>"));
  /* nothing from a reason or a service reaches the page as markup */
  assert_null (strstr (h, "<script"));
  assert_null (strstr (h, "<img"));
  assert_non_null (strstr (h, "got &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;"));
  assert_non_null (strstr (h, "/tmp/&lt;img src=http://x&gt;"));
  assert_non_null (strstr (h, "faultbox test domain-test.star --test matrix_order_flow_db_down --seed 3"));
  /* the timeline: lanes, the injected fault */
  assert_non_null (strstr (h, "<svg class=\"tl\""));
  assert_non_null (strstr (h, ">db</text>"));
  assert_non_null (strstr (h, "<title>inventory-&lt;service&gt;-primary</title>inventory-&lt;serv…</text>"));
  assert_non_null (strstr (h, "#4 db write deny(EIO)"));
  /* self-contained: nothing is fetched */
  for (const char *tag = h; (tag = strchr (tag, '<')); tag++)
    {
      size_t len = strcspn (tag, ">");
      char *one = fb_xstrndup (tag, len);
      const char *href = strstr (one, "href=");
      assert_null (strstr (one, "src="));
      assert_true (!href || !strncmp (href, "href=\"#", 7));
      free (one);
    }
  assert_null (strstr (h, "http://www"));
  assert_null (strstr (h, "https://"));
  assert_non_null (strstr (h, "default-src 'none'"));
  fb_buf_free (&b);
  fb_report_free (&r);
}

static void
test_html_size_is_bounded_by_the_plot_not_the_events (void **state)
{
  fb_report r = { 0 };
  r.star_file = fb_xstrdup ("busy.star");
  fb_test_result *t = add (&r, "test_busy", NULL, NULL, 10000, true);
  add_event (t, "service_started", "db", 0);
  for (int i = 0; i < 20000; i++)
    {
      fb_event *ev = add_event (t, "syscall", "db", i / 2);
      fb_event_set (ev, "syscall", "write");
      fb_event_set (ev, "decision", i % 4 ? "allow" : "deny(ENOSPC)");
      fb_event_set (ev, "path", "/var/lib/db/wal-0001");
    }
  fb_buf b = FB_BUF_INIT;
  fb_report_html (&r, &b);
  const char *h = fb_buf_str (&b);
  assert_true (b.len < 256 * 1024);
  assert_non_null (strstr (h, "20000 syscalls: 5000 injected faults (marked), 15000 others (allowed, traced) not drawn"));
  assert_non_null (strstr (h, "… 4960 more injected faults"));
  assert_true (count (h, "<line x1=") < 1000 + 20);
  fb_buf_free (&b);
  fb_report_free (&r);
}

static fb_service_log *
add_log (fb_test_result *t, const char *service, const char *tail, bool cut)
{
  t->logs = fb_xreallocarray (t->logs, t->n_logs + 1, sizeof *t->logs);
  t->logs[t->n_logs] = (fb_service_log){ fb_xstrdup (service), fb_xstrdup (tail), cut };
  return &t->logs[t->n_logs++];
}

/* Workers send results as JSON frames: the log tails must survive it. */
static void
test_service_logs_round_trip_through_json (void **state)
{
  fb_report r = { .star_file = fb_xstrdup ("a.star"), .start_time = 1700000000, .hostname = fb_xstrdup ("ci-7") };
  fb_test_result *t = add (&r, "test_x", NULL, NULL, 5, false);
  add_log (t, "db", "listening on :5432\n\"quoted\" <tag> caf\xc3\xa9\n", true);
  add_log (t, "api", "one line without a newline", false);
  fb_buf a = FB_BUF_INIT, b = FB_BUF_INIT;
  fb_error err = { 0 };
  fb_test_result one = { 0 };
  assert_int_equal (fb_test_result_json (&r, t, &a, NULL), 0);
  assert_int_equal (fb_test_result_from_json (fb_buf_str (&a), &one, &err), 0);
  assert_int_equal (one.n_logs, 2);
  assert_string_equal (one.logs[0].service, "db");
  assert_string_equal (one.logs[0].tail, t->logs[0].tail);
  assert_true (one.logs[0].cut && !one.logs[1].cut);
  assert_string_equal (one.logs[1].tail, "one line without a newline");
  fb_test_result_clear (&one);
  fb_buf_truncate (&a, 0);
  fb_report back = { 0 };
  assert_int_equal (fb_report_json (&r, &a, NULL), 0);
  assert_int_equal (fb_report_from_json (fb_buf_str (&a), &back, &err), 0);
  assert_int_equal (fb_report_json (&back, &b, NULL), 0);
  assert_string_equal (fb_buf_str (&a), fb_buf_str (&b));
  assert_true (back.start_time == 1700000000 && !strcmp (back.hostname, "ci-7"));
  assert_int_equal (fb_test_result_from_json ("{\"name\": \"t\", \"result\": \"pass\", \"logs\": [{\"service\": \"db\"}]}", &one, &err), -1);
  assert_string_equal (err.msg, "test.logs[0]: \"tail\" is missing");
  assert_int_equal (fb_test_result_from_json ("{\"name\": \"t\", \"result\": \"pass\", \"logs\": [{\"service\": \"db\", \"tail\": \"\", \"cut\": 1}]}", &one, &err), -1);
  assert_string_equal (err.msg, "test.logs[0].cut: not a boolean");
  fb_report_free (&back);
  fb_report_free (&r);
  fb_buf_free (&a);
  fb_buf_free (&b);
}

static void
test_junit_system_out_holds_log_tails (void **state)
{
  fb_report r = { .star_file = fb_xstrdup ("a.star"), .start_time = 86400 + 3661, .hostname = fb_xstrdup ("ci-7") };
  add (&r, "test_quiet", NULL, NULL, 1, true);
  fb_test_result *t = add (&r, "test_loud", NULL, NULL, 1, false);
  add_log (t, "db", "a <b>\n", true);
  add_log (t, "api", "c", false);
  fb_buf b = FB_BUF_INIT;
  fb_report_junit (&r, &b);
  const char *x = fb_buf_str (&b);
  assert_non_null (strstr (x, " timestamp=\"1970-01-02T01:01:01\" hostname=\"ci-7\" id=\"0\" package=\"a\">"));
  assert_non_null (strstr (x, "<testcase classname=\"a\" name=\"test_quiet\" time=\"0.001\"/>"));
  assert_non_null (strstr (x, "</failure>\n      <system-out>--- db (last lines) ---\na &lt;b&gt;\n--- api ---\nc\n</system-out>\n    </testcase>"));
  assert_non_null (strstr (x, "    <system-out/>\n    <system-err/>\n  </testsuite>"));
  fb_buf_free (&b);
  fb_report_free (&r);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_matrix_table_has_seed_layout),
    cmocka_unit_test (test_matrix_failures_are_listed_with_reason),
    cmocka_unit_test (test_fail_line_has_reason_and_replay),
    cmocka_unit_test (test_halted_is_counted_apart),
    cmocka_unit_test (test_fail_line_names_the_bundle),
    cmocka_unit_test (test_runs_keep_the_newest),
    cmocka_unit_test (test_zero_traffic_rule_warns_with_hint),
    cmocka_unit_test (test_json_report_round_trips),
    cmocka_unit_test (test_json_reader_reproduces_the_report),
    cmocka_unit_test (test_json_reader_names_what_is_wrong),
    cmocka_unit_test (test_junit_escapes_and_counts_failures),
    cmocka_unit_test (test_html_has_grid_escaping_and_replay),
    cmocka_unit_test (test_html_size_is_bounded_by_the_plot_not_the_events),
    cmocka_unit_test (test_service_logs_round_trip_through_json),
    cmocka_unit_test (test_junit_system_out_holds_log_tails),
  };
  return cmocka_run_group_tests_name ("report", tests, NULL, NULL);
}
