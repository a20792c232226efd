#include "fb_test.h"

#include "protocol/internal.h"
#include "faultbox/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

/* A one-shot loopback server: answers each connection with `reply` after
 * reading what the client sent (up to a blank line or a newline). */
typedef struct {
  int lfd;
  int port;
  const char *reply;
  int conns;
} server;

static void *
serve (void *arg)
{
  server *s = arg;
  for (int i = 0; i < s->conns; i++)
    {
      int c = accept (s->lfd, NULL, NULL);
      if (c < 0)
        return NULL;
      char buf[4096];
      ssize_t n = recv (c, buf, sizeof buf, 0);
      (void) n;
      if (send (c, s->reply, strlen (s->reply), MSG_NOSIGNAL) < 0)
        {
          close (c);
          return NULL;
        }
      close (c);
    }
  return NULL;
}

static void
start (server *s, pthread_t *t, const char *reply, int conns)
{
  s->lfd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  assert_int_equal (bind (s->lfd, (struct sockaddr *) &a, sizeof a), 0);
  assert_int_equal (listen (s->lfd, 4), 0);
  socklen_t l = sizeof a;
  getsockname (s->lfd, (struct sockaddr *) &a, &l);
  s->port = ntohs (a.sin_port);
  s->reply = reply;
  s->conns = conns;
  pthread_create (t, NULL, serve, s);
}

static void
stop (server *s, pthread_t t)
{
  pthread_join (t, NULL);
  close (s->lfd);
}

static void
test_tcp_exchange_returns_first_line_trimmed (void **state)
{
  server s;
  pthread_t t;
  start (&s, &t, "PONG  \nextra\n", 1);
  char *reply = NULL;
  assert_int_equal (fb_tcp_exchange ("localhost", s.port, "PING", 2000, &reply, NULL), 0);
  assert_string_equal (reply, "PONG");
  free (reply);
  stop (&s, t);
}

static void
test_tcp_to_a_closed_port_names_address_and_errno (void **state)
{
  server s;
  pthread_t t;
  start (&s, &t, "", 0);
  int port = s.port;
  stop (&s, t); /* nothing listens there now */
  char *reply = NULL;
  fb_error err = { 0 };
  assert_true (fb_tcp_exchange ("127.0.0.1", port, "PING", 2000, &reply, &err) < 0);
  char want[128];
  snprintf (want, sizeof want, "tcp send to 127.0.0.1:%d failed: connect: Connection refused", port);
  assert_string_equal (err.msg, want);
  assert_true (fb_tcp_probe ("127.0.0.1", port, 500, &err) < 0);
}

static void
test_http_request_reads_status_body_headers (void **state)
{
  server s;
  pthread_t t;
  start (&s, &t, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 15\r\nX-Why: db\r\nConnection: close\r\n\r\ndb error: down\n", 1);
  char url[64];
  snprintf (url, sizeof url, "http://127.0.0.1:%d/health", s.port);
  fb_step_result r = { 0 };
  assert_int_equal (fb_http_request ("GET", url, NULL, NULL, 0, 2000, &r, NULL), 0);
  assert_int_equal (r.status, 503);
  assert_string_equal (r.body, "db error: down");
  bool saw = false;
  for (size_t i = 0; i < r.n_headers; i++)
    saw |= strcmp (r.headers[i].key, "x-why") == 0 && strcmp (r.headers[i].value, "db") == 0;
  assert_true (saw);
  assert_true (r.duration_ms >= 0);
  fb_step_result_clear (&r);
  stop (&s, t);
}

static void
test_http_probe_wants_2xx_or_3xx (void **state)
{
  server s;
  pthread_t t;
  start (&s, &t, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 1);
  char url[64];
  snprintf (url, sizeof url, "http://127.0.0.1:%d/", s.port);
  fb_error err = { 0 };
  assert_true (fb_http_probe (url, 2000, &err) < 0);
  assert_non_null (strstr (err.msg, "answered 500"));
  stop (&s, t);
}

/* ---- redis replies and postgres rows, as a step's JSON body ---- */

static void
redis_json (const char *resp, const char *want_json, const char *want_error)
{
  char *json = NULL, *error = NULL;
  assert_int_equal (fb_redis_decode (resp, strlen (resp), &json, &error, NULL), 0);
  if (want_json)
    assert_string_equal (json, want_json);
  else
    assert_null (json);
  if (want_error)
    assert_string_equal (error, want_error);
  else
    assert_null (error);
  free (json);
  free (error);
}

static void
test_redis_reply_is_value_object (void **state)
{
  redis_json ("+OK\r\n", "{\"value\":\"OK\"}", NULL);
  redis_json ("$3\r\nb\"r\r\n", "{\"value\":\"b\\\"r\"}", NULL);
  redis_json (":-42\r\n", "{\"value\":-42}", NULL);
  redis_json ("$-1\r\n", "{\"value\":null}", NULL);
  redis_json ("*-1\r\n", "{\"value\":null}", NULL);
  redis_json ("*0\r\n", "{\"value\":[]}", NULL);
  redis_json ("*3\r\n$1\r\na\r\n:1\r\n*1\r\n$-1\r\n", "{\"value\":[\"a\",1,[null]]}", NULL);
}

static void
test_redis_error_reply_is_a_failure (void **state)
{
  redis_json ("-ERR value is not an integer or out of range\r\n", NULL,
              "redis error: ERR value is not an integer or out of range");
  /* an error inside an array (EXEC) fails the whole step, as in Faultbox */
  redis_json ("*2\r\n+OK\r\n-WRONGTYPE bad\r\n", NULL, "redis error: WRONGTYPE bad");
}

static void
test_redis_truncated_reply_is_an_error (void **state)
{
  char *json = NULL, *error = NULL;
  fb_error err = { 0 };
  assert_true (fb_redis_decode ("$5\r\nab", 6, &json, &error, &err) < 0);
  assert_non_null (strstr (err.msg, "not a whole RESP reply"));
  assert_true (fb_redis_decode ("?x\r\n", 4, &json, &error, &err) < 0);
}

static void
test_pg_rows_sorted_and_typed (void **state)
{
  const char *names[] = { "name", "id", "ok", "price", "n", "nothing" };
  const fb_cell_kind kinds[] = { FB_CELL_TEXT, FB_CELL_INT, FB_CELL_BOOL, FB_CELL_FLOAT, FB_CELL_TEXT, FB_CELL_TEXT };
  const char *cells[] = { "a", "1", "t", "1.5", "2.50", NULL,
                          "b", "-2", "f", "NaN", "1", "x" };
  char *s = fb_sql_rows_json (2, 6, names, kinds, cells);
  assert_string_equal (s, "[{\"id\":1,\"n\":\"2.50\",\"name\":\"a\",\"nothing\":null,\"ok\":true,\"price\":1.5},"
                          "{\"id\":-2,\"n\":\"1\",\"name\":\"b\",\"nothing\":\"x\",\"ok\":false,\"price\":\"NaN\"}]");
  free (s);
}

static void
test_pg_no_rows_is_null (void **state)
{
  /* Faultbox's .data is None, not [], for a query without rows */
  const char *names[] = { "id" };
  const fb_cell_kind kinds[] = { FB_CELL_INT };
  char *s = fb_sql_rows_json (0, 1, names, kinds, NULL);
  assert_string_equal (s, "null");
  free (s);
}

/* A route table survives the hub's wire: bodies with NULs, headers, a
 * dynamic route, the default, the redis seed. */
static void
test_mock_table_round_trips_over_the_hub_wire (void **state)
{
  (void) state;
  fb_kv hdr = { "X-Mock", "yes" }, seed = { "k", "v" };
  fb_mock_route routes[] = {
    { "GET /users/*", { 201, "a\0b", 3, "application/json", &hdr, 1 }, 0 },
    { "* /dyn/**", { 0 }, 4 },
  };
  fb_mock_iface f = { "main", "http", 8080, routes, 2, true, { 418, "teapot", 6, NULL, NULL, 0 }, &seed, 1, 3, NULL,
                      "\x0a\0", 2, { "CERT", "KEY" } };
  fb_mock_config c = { &f, 1 };
  fb_mock_fields fs = { 0 };
  fb_mock_pack (&c, &fs);
  fb_mock_pack_host ("10.0.0.9", &fs);
  int sv[2];
  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), 0);
  fb_error err = { 0 };
  assert_int_equal (fb_mock_send (sv[0], FB_MOCK_CONFIG, &fs, &err), 0);
  fb_mock_fields_free (&fs);
  fb_mock_msg m;
  assert_int_equal (fb_mock_recv (sv[1], &m, &err), 1);
  assert_int_equal (m.type, FB_MOCK_CONFIG);
  fb_mock_config out;
  assert_int_equal (fb_mock_unpack (&m, &out, &err), 0);
  assert_int_equal (out.n_ifaces, 1);
  fb_mock_iface *g = &out.ifaces[0];
  assert_string_equal (g->protocol, "http");
  assert_int_equal (g->port, 8080);
  assert_int_equal (g->partitions, 3);
  assert_string_equal (g->host, "10.0.0.9");
  assert_int_equal (g->n_routes, 2);
  assert_int_equal (g->routes[0].resp.status, 201);
  assert_int_equal (g->routes[0].resp.body_len, 3);
  assert_memory_equal (g->routes[0].resp.body, "a\0b", 3);
  assert_string_equal (g->routes[0].resp.headers[0].value, "yes");
  assert_int_equal (g->routes[1].dynamic, 4);
  assert_true (g->has_default);
  assert_string_equal (g->dflt.body, "teapot");
  assert_null (g->dflt.content_type);
  assert_string_equal (g->state[0].key, "k");
  assert_int_equal (g->descriptors_len, 2);
  assert_memory_equal (g->descriptors, "\x0a\0", 2);
  assert_string_equal (g->tls.cert, "CERT");
  assert_string_equal (g->tls.key, "KEY");
  fb_mock_config_clear (&out);
  fb_mock_msg_clear (&m);
  /* the peer gone: a clean end is 0 */
  close (sv[0]);
  assert_int_equal (fb_mock_recv (sv[1], &m, &err), 0);
  close (sv[1]);
}

/* ---- TLS: the mock CA, a leaf, both sides of a handshake ---------------- */

typedef struct {
  const fb_tls_pair *leaf;
  int fd;
} tls_srv;

/* Echoes one read over TLS. */
static void *
tls_echo (void *p)
{
  tls_srv *a = p;
  fb_error e = { 0 };
  int plain = fb_tls_accept (a->leaf, NULL, a->fd, &e);
  if (plain >= 0)
    {
      char buf[16];
      ssize_t n = read (plain, buf, sizeof buf);
      if (n > 0 && write (plain, buf, (size_t) n) != n)
        n = -1;
      close (plain);
    }
  return NULL;
}

/* A client for name trusting ca_file: 0 when its "ping" comes back. */
static int
tls_ping (const fb_tls_pair *leaf, const char *ca_file, const char *name, fb_error *err)
{
  int sv[2];
  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  tls_srv a = { leaf, sv[1] };
  pthread_t t;
  assert_int_equal (pthread_create (&t, NULL, tls_echo, &a), 0);
  fb_tls_client *c = fb_tls_connect (sv[0], ca_file, name, NULL, 2000, err);
  int rc = -1;
  char buf[8] = "";
  if (c && fb_tls_send (c, "ping", 4) == 4 && fb_tls_recv (c, buf, sizeof buf) == 4 && !memcmp (buf, "ping", 4))
    rc = 0;
  fb_tls_client_free (c);
  close (sv[0]);
  pthread_join (t, NULL);
  return rc;
}

static void
test_tls_leaf_verifies_for_its_names_only (void **state)
{
  (void) state;
  fb_tls_pair ca = { 0 }, leaf = { 0 };
  fb_error err = { 0 };
  assert_int_equal (fb_tls_make_ca (&ca, &err), 0);
  const char *const names[] = { "localhost", "secure", "127.0.0.1", "::1", NULL };
  assert_int_equal (fb_tls_make_leaf (&ca, names, &leaf, &err), 0);
  char ca_file[] = "/tmp/fb-unit-ca.XXXXXX";
  int fd = mkstemp (ca_file);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, ca.cert, strlen (ca.cert)), (ssize_t) strlen (ca.cert));
  close (fd);
  for (size_t i = 0; names[i]; i++)
    assert_int_equal (tls_ping (&leaf, ca_file, names[i], &err), 0);
  assert_int_equal (tls_ping (&leaf, ca_file, "elsewhere", &err), -1);
  assert_non_null (strstr (err.msg, "the certificate of elsewhere does not verify"));
  /* another run's CA does not vouch for it */
  fb_tls_pair other = { 0 };
  assert_int_equal (fb_tls_make_ca (&other, &err), 0);
  fd = open (ca_file, O_WRONLY | O_TRUNC);
  assert_int_equal (write (fd, other.cert, strlen (other.cert)), (ssize_t) strlen (other.cert));
  close (fd);
  assert_int_equal (tls_ping (&leaf, ca_file, "secure", &err), -1);
  assert_non_null (strstr (err.msg, "does not verify"));
  unlink (ca_file);
  fb_tls_pair_clear (&ca);
  fb_tls_pair_clear (&leaf);
  fb_tls_pair_clear (&other);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_tcp_exchange_returns_first_line_trimmed),
    cmocka_unit_test (test_tcp_to_a_closed_port_names_address_and_errno),
    cmocka_unit_test (test_http_request_reads_status_body_headers),
    cmocka_unit_test (test_http_probe_wants_2xx_or_3xx),
    cmocka_unit_test (test_redis_reply_is_value_object),
    cmocka_unit_test (test_redis_error_reply_is_a_failure),
    cmocka_unit_test (test_redis_truncated_reply_is_an_error),
    cmocka_unit_test (test_pg_rows_sorted_and_typed),
    cmocka_unit_test (test_pg_no_rows_is_null),
    cmocka_unit_test (test_mock_table_round_trips_over_the_hub_wire),
    cmocka_unit_test (test_tls_leaf_verifies_for_its_names_only),
  };
  return cmocka_run_group_tests_name ("runner_client", tests, NULL, NULL);
}
