#include "fb_test.h"

#include "faultbox/plan.h"
#include "faultbox/runner.h"
#include "runner/match.h"
#include "util/alloc.h"

static bool
sel_cell (const char *pattern, const char *name, const char *scenario)
{
  fb_test_filter *f = NULL;
  assert_int_equal (fb_test_filter_new (pattern, &f, NULL), 0);
  bool r = fb_test_filter_match (f, name, scenario);
  fb_test_filter_free (f);
  return r;
}

static bool
sel (const char *pattern, const char *name)
{
  return sel_cell (pattern, name, NULL);
}

static void
test_filter_exact_short_glob_regex_and_matrix_base (void **state)
{
  assert_true (sel ("test_ping", "test_ping"));
  assert_true (sel ("ping", "test_ping"));
  assert_false (sel ("pin", "test_ping"));
  assert_true (sel ("set_*", "test_set_and_get"));
  assert_true (sel ("test_set_*", "test_set_and_get"));
  assert_false (sel ("get_*", "test_set_and_get"));
  assert_true (sel ("~matrix_.*_db_down$", "test_matrix_order_flow_db_down"));
  assert_false (sel ("~^order", "test_matrix_order_flow_db_down"));
  assert_true (sel_cell ("test_matrix_order_flow", "test_matrix_order_flow_db_down", "order_flow"));
  assert_true (sel_cell ("matrix_order_flow", "test_matrix_order_flow_disk_full", "order_flow"));
  assert_false (sel_cell ("matrix_order", "test_matrix_order_flow_disk_full", "order_flow"));
  assert_false (sel ("test_matrix_order_flow", "test_matrix_order_flow_db_down"));
}

static void
test_filter_bad_regex_is_an_error (void **state)
{
  fb_test_filter *f = NULL;
  fb_error err = { 0 };
  assert_true (fb_test_filter_new ("~(", &f, &err) < 0);
  assert_non_null (strstr (err.msg, "invalid --test regex"));
}

static void
add_service (fb_plan *p, const char *name, const char *iface, int port)
{
  p->services = fb_xreallocarray (p->services, p->n_services + 1, sizeof *p->services);
  fb_plan_service *s = &p->services[p->n_services++];
  memset (s, 0, sizeof *s);
  s->name = fb_xstrdup (name);
  s->ifaces = fb_xcalloc (1, sizeof *s->ifaces);
  s->ifaces[0].name = fb_xstrdup (iface);
  s->ifaces[0].protocol = fb_xstrdup ("tcp");
  s->ifaces[0].port = port;
  s->n_ifaces = 1;
}

static void
depend (fb_plan *p, size_t a, size_t b)
{
  fb_plan_service *s = &p->services[a];
  s->deps = fb_xreallocarray (s->deps, s->n_deps + 1, sizeof *s->deps);
  s->deps[s->n_deps++] = b;
}

static void
test_start_order_puts_dependencies_first (void **state)
{
  fb_plan p = { 0 };
  add_service (&p, "api", "public", 8080);
  add_service (&p, "db", "main", 5432);
  add_service (&p, "cache", "main", 6379);
  depend (&p, 0, 1);
  depend (&p, 0, 2);
  size_t order[3];
  assert_int_equal (fb_plan_start_order (&p, order, NULL), 0);
  assert_int_equal (order[0], 1);
  assert_int_equal (order[1], 2);
  assert_int_equal (order[2], 0);
  fb_plan_free (&p);
}

static void
test_start_order_names_the_cycle (void **state)
{
  fb_plan p = { 0 };
  add_service (&p, "a", "m", 1);
  add_service (&p, "b", "m", 2);
  add_service (&p, "c", "m", 3);
  depend (&p, 0, 1);
  depend (&p, 1, 2);
  depend (&p, 2, 0);
  size_t order[3];
  fb_error err = { 0 };
  assert_true (fb_plan_start_order (&p, order, &err) < 0);
  assert_string_equal (err.msg, "dependency cycle: a -> b -> c -> a");
  fb_plan_free (&p);
}

static void
test_service_env_generated_and_spec_wins (void **state)
{
  fb_plan p = { 0 };
  add_service (&p, "db", "main", 5432);
  add_service (&p, "api", "public", 8080);
  p.services[1].env = fb_xcalloc (2, sizeof (char *));
  p.services[1].env[0] = fb_xstrdup ("FAULTBOX_DB_MAIN_PORT=1");
  p.services[1].env[1] = fb_xstrdup ("PORT=8080");
  p.services[1].n_env = 2;
  const char *addrs[] = { "10.0.0.2", "10.0.0.3" };
  char **env = fb_plan_service_env (&p, 1, addrs);
  bool saw_addr = false, saw_port_override = false, saw_self = false, saw_port = false;
  for (char **e = env; *e; e++)
    {
      saw_addr |= strcmp (*e, "FAULTBOX_DB_MAIN_ADDR=10.0.0.2:5432") == 0;
      saw_port_override |= strcmp (*e, "FAULTBOX_DB_MAIN_PORT=1") == 0;
      saw_self |= strcmp (*e, "FAULTBOX_API_PUBLIC_HOST=localhost") == 0;
      saw_port |= strcmp (*e, "PORT=8080") == 0;
      assert_null (strstr (*e, "FAULTBOX_DB_MAIN_PORT=5432"));
    }
  assert_true (saw_addr && saw_port_override && saw_self && saw_port);
  for (char **e = env; *e; e++)
    free (*e);
  free (env);
  fb_plan_free (&p);
}

/* what `faultbox init` makes of the answers it got */
static void
test_init_classifies_what_a_port_answers (void **state)
{
  (void) state;
  assert_int_equal (fb_speaks_classify (NULL, 0, "+PONG\r\n", NULL, NULL, 0, NULL), FB_SPEAKS_REDIS);
  assert_int_equal (fb_speaks_classify ("-DENIED Redis is running in protected mode\r\n", 44, NULL, NULL, NULL, 0, NULL),
                    FB_SPEAKS_REDIS);
  /* nginx answers a PING line with a 400 */
  assert_int_equal (fb_speaks_classify (NULL, 0, "HTTP/1.1 400 Bad Request\r\n\r\n", NULL, NULL, 0, NULL), FB_SPEAKS_HTTP);
  assert_int_equal (fb_speaks_classify (NULL, 0, NULL, "HTTP/1.0 200 OK\r\n", NULL, 0, NULL), FB_SPEAKS_HTTP);
  assert_int_equal (fb_speaks_classify (NULL, 0, NULL, NULL, "N", 1, NULL), FB_SPEAKS_POSTGRES);
  /* an echo server is not redis; a banner (SSH) is none of ours */
  assert_int_equal (fb_speaks_classify (NULL, 0, "*1\r\n$4\r\nPING\r\n", NULL, NULL, 0, NULL), FB_SPEAKS_TCP);
  assert_int_equal (fb_speaks_classify ("SSH-2.0-OpenSSH\r\n", 17, NULL, NULL, NULL, 0, NULL), FB_SPEAKS_TCP);
  /* a MariaDB greeting: length 8, sequence 0, protocol 10, its version */
  assert_int_equal (fb_speaks_classify ("\x08\0\0\0\x0a" "5.5.5\0", 12, NULL, NULL, NULL, 0, NULL), FB_SPEAKS_MYSQL);
  assert_int_equal (fb_speaks_classify ("\x08\0\0\0\x0a" "5.5.5\0", 11, NULL, NULL, NULL, 0, NULL), FB_SPEAKS_TCP);
  assert_string_equal (fb_speaks_name (FB_SPEAKS_MYSQL), "mysql");
  assert_int_equal (fb_speaks_classify (NULL, 0, NULL, NULL, "X", 1, NULL), FB_SPEAKS_TCP);
  assert_string_equal (fb_speaks_name (FB_SPEAKS_POSTGRES), "postgres");
  /* memcached calls each line of the PING an ERROR, and answers version */
  assert_int_equal (fb_speaks_classify (NULL, 0, "ERROR\r\nERROR\r\n", NULL, NULL, 0, "VERSION 1.6.18\r\n"),
                    FB_SPEAKS_MEMCACHED);
  assert_int_equal (fb_speaks_classify (NULL, 0, "ERROR\r\n", NULL, NULL, 0, "ERROR\r\n"), FB_SPEAKS_TCP);
  assert_string_equal (fb_speaks_name (FB_SPEAKS_MEMCACHED), "memcached");
  /* NATS talks first: one INFO line of JSON */
  static const char info[] = "INFO {\"server_id\":\"N1\",\"version\":\"2.9.11\"} \r\n";
  assert_int_equal (fb_speaks_classify (info, sizeof info - 1, NULL, NULL, NULL, 0, NULL), FB_SPEAKS_NATS);
  assert_int_equal (fb_speaks_classify ("INFO x\r\n", 8, NULL, NULL, NULL, 0, NULL), FB_SPEAKS_TCP);
  assert_string_equal (fb_speaks_name (FB_SPEAKS_NATS), "nats");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_filter_exact_short_glob_regex_and_matrix_base),
    cmocka_unit_test (test_filter_bad_regex_is_an_error),
    cmocka_unit_test (test_start_order_puts_dependencies_first),
    cmocka_unit_test (test_start_order_names_the_cycle),
    cmocka_unit_test (test_service_env_generated_and_spec_wins),
    cmocka_unit_test (test_init_classifies_what_a_port_answers),
  };
  return cmocka_run_group_tests_name ("runner_pure", tests, NULL, NULL);
}
