/* The proxy's framing (HTTP/1.1, RESP, postgres, mysql, memcached), its rule matching, and one proxy
 * on loopback sockets between a client and a server in the test. */
#include "fb_test.h"

#include "faultbox/proxy.h"
#include "faultbox/buf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

static fb_frame_rc
req (const fb_framing *f, const char *s, fb_msg *m)
{
  fb_error e = { 0 };
  return f->request (NULL, s, strlen (s), m, &e);
}

static void
test_http_request_content_length_and_partial_reads (void **state)
{
  (void) state;
  const char *r = "POST /data/k?x=1 HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\nX-Tenant: blue\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n";
  fb_msg m;
  size_t whole = strlen (r) - strlen ("GET / HTTP/1.1\r\n\r\n");
  /* every prefix short of the whole request is partial */
  for (size_t n = 0; n < whole; n++)
    {
      fb_error e = { 0 };
      assert_int_equal (fb_http_framing.request (NULL, r, n, &m, &e), FB_FRAME_PARTIAL);
    }
  assert_int_equal (req (&fb_http_framing, r, &m), FB_FRAME_OK);
  assert_int_equal (m.len, whole);
  assert_string_equal (m.verb, "POST");
  assert_string_equal (m.target, "/data/k");
  fb_proxy_rule rule = { .verb = "post", .target = "/data/*", .header_name = "x-tenant", .header_glob = "bl*" };
  assert_true (fb_proxy_rule_matches (&rule, &m));
  rule.header_glob = "red";
  assert_false (fb_proxy_rule_matches (&rule, &m));
}

static void
test_http_chunked_request_and_response (void **state)
{
  (void) state;
  const char *r = "PUT /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4;ext=1\r\nabcd\r\n2\r\nef\r\n0\r\nTrailer: v\r\n\r\nNEXT";
  fb_msg m;
  assert_int_equal (req (&fb_http_framing, r, &m), FB_FRAME_OK);
  assert_int_equal (m.len, strlen (r) - 4);
  for (size_t n = 0; n < m.len; n++)
    {
      fb_error e = { 0 };
      fb_msg p;
      assert_int_equal (fb_http_framing.request (NULL, r, n, &p, &e), FB_FRAME_PARTIAL);
    }
  const char *resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  fb_error e = { 0 };
  fb_msg rm;
  assert_int_equal (fb_http_framing.response (NULL, resp, strlen (resp), &m, &rm, &e), FB_FRAME_OK);
  assert_int_equal (rm.len, strlen (resp));
  assert_int_equal (rm.status, 200);
  assert_int_equal (fb_http_framing.request (NULL, "GET / HTTP/1.1\r\n\r\n", 0, &m, &e), FB_FRAME_PARTIAL);
  assert_int_equal (req (&fb_http_framing, "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", &m), FB_FRAME_BAD);
}

static void
test_http_response_kinds (void **state)
{
  (void) state;
  fb_error e = { 0 };
  fb_msg head = { .head_only = true }, m;
  const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
  assert_int_equal (fb_http_framing.response (NULL, r, strlen (r), &head, &m, &e), FB_FRAME_OK);
  assert_int_equal (m.len, strlen (r));
  const char *cont = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
  assert_int_equal (fb_http_framing.response (NULL, cont, strlen (cont), NULL, &m, &e), FB_FRAME_OK);
  assert_true (m.interim);
  const char *eof = "HTTP/1.0 200 OK\r\n\r\nbody until close";
  assert_int_equal (fb_http_framing.response (NULL, eof, strlen (eof), NULL, &m, &e), FB_FRAME_OK);
  assert_true (m.until_close);
  assert_int_equal (fb_http_framing.response (NULL, "SSH-2.0\r\n\r\n", 11, NULL, &m, &e), FB_FRAME_BAD);
}

static void
test_resp_pipelined_commands_and_inline (void **state)
{
  (void) state;
  const char *p = "*3\r\n$3\r\nset\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\nPING\r\n\r\n";
  size_t off = 0, len = strlen (p);
  const char *want[][2] = { { "SET", "b" }, { "GET", "b" }, { "PING", "" }, { "", "" } };
  for (int i = 0; i < 4; i++)
    {
      fb_msg m;
      fb_error e = { 0 };
      /* the message is partial up to its last byte */
      for (size_t n = off; i < 2 && n < off + 8; n++)
        assert_int_equal (fb_resp_framing.request (NULL, p + off, n - off, &m, &e), FB_FRAME_PARTIAL);
      assert_int_equal (fb_resp_framing.request (NULL, p + off, len - off, &m, &e), FB_FRAME_OK);
      assert_string_equal (m.verb, want[i][0]);
      assert_string_equal (m.target, want[i][1]);
      assert_int_equal (m.no_reply, i == 3);
      off += m.len;
    }
  assert_int_equal (off, len);
  fb_proxy_rule rule = { .verb = "set" };
  fb_msg m;
  fb_error e = { 0 };
  fb_resp_framing.request (NULL, p, len, &m, &e);
  assert_true (fb_proxy_rule_matches (&rule, &m));
  rule.verb = "se*"; /* Faultbox: a glob is case-sensitive, commands are upper-case */
  assert_false (fb_proxy_rule_matches (&rule, &m));
}

static void
test_resp_replies_of_every_type (void **state)
{
  (void) state;
  const char *r = "*2\r\n$-1\r\n%1\r\n+k\r\n:1\r\n|1\r\n+a\r\n+b\r\n,1.5\r\n>2\r\n+m\r\n+x\r\n-ERR no\r\n";
  size_t off = 0, len = strlen (r);
  int n = 0;
  bool push = false;
  while (off < len)
    {
      fb_msg m;
      fb_error e = { 0 };
      for (size_t k = off; k < off + 3; k++)
        assert_int_equal (fb_resp_framing.response (NULL, r + off, k - off, NULL, &m, &e), FB_FRAME_PARTIAL);
      assert_int_equal (fb_resp_framing.response (NULL, r + off, len - off, NULL, &m, &e), FB_FRAME_OK);
      push |= m.interim;
      off += m.len;
      n++;
    }
  assert_int_equal (n, 4); /* the array, the attributed double, the push, the error */
  assert_true (push);
  size_t rl;
  char *x = fb_resp_framing.reply (NULL, &(fb_reply) { .error = true, .message = "READONLY no" }, NULL, &rl);
  assert_string_equal (x, "-READONLY no\r\n");
  free (x);
  x = fb_resp_framing.reply (NULL, &(fb_reply) { 0 }, NULL, &rl);
  assert_string_equal (x, "$-1\r\n");
  free (x);
}

static void
test_glob_as_faultbox (void **state)
{
  (void) state;
  assert_true (fb_proxy_glob_match ("/api/*", "/api/v1/x")); /* the prefix fallback */
  assert_false (fb_proxy_glob_match ("/a/*/c", "/a/b/d/c"));
  assert_true (fb_proxy_glob_match ("*.json", "/x/y.json"));
  assert_true (fb_proxy_glob_match ("POST", "post"));
  assert_false (fb_proxy_glob_match ("PO*", "post"));
  assert_true (fb_proxy_glob_match (NULL, "anything"));
}

/* ---- postgres --------------------------------------------------------- */

/* Appends a typed message: its type, its length, then n bytes of body. */
static void
pg_put (fb_buf *b, char type, const char *body, size_t n)
{
  uint32_t l = htonl ((uint32_t) n + 4);
  if (type)
    fb_buf_putc (b, type);
  fb_buf_append (b, (const char *) &l, 4);
  fb_buf_append (b, body, n);
}

static void
test_pg_startup_passes_unseen_and_partial_reads (void **state)
{
  (void) state;
  void *st = fb_pg_framing.state_new ();
  fb_buf b = FB_BUF_INIT;
  pg_put (&b, 0, "\x04\xd2\x16\x2f", 4); /* SSLRequest */
  pg_put (&b, 0, "\0\3\0\0user\0postgres\0\0", 19);
  fb_msg m;
  fb_error e = { 0 };
  for (size_t n = 0; n < 8; n++)
    assert_int_equal (fb_pg_framing.request (st, b.data, n, &m, &e), FB_FRAME_PARTIAL);
  assert_int_equal (fb_pg_framing.request (st, b.data, b.len, &m, &e), FB_FRAME_OK);
  assert_string_equal (m.verb, "SSLRequest");
  assert_true (m.passthrough && !m.no_reply && m.len == 8);
  fb_msg r;
  /* 'N': go on in the clear; 'S': TLS, a tunnel from here */
  assert_int_equal (fb_pg_framing.response (st, "N", 1, &m, &r, &e), FB_FRAME_OK);
  assert_true (r.len == 1 && !r.upgrade && !r.interim);
  assert_int_equal (fb_pg_framing.response (st, "S", 1, &m, &r, &e), FB_FRAME_OK);
  assert_true (r.upgrade);
  for (size_t n = 8; n < b.len; n++)
    assert_int_equal (fb_pg_framing.request (st, b.data + 8, n - 8, &m, &e), FB_FRAME_PARTIAL);
  assert_int_equal (fb_pg_framing.request (st, b.data + 8, b.len - 8, &m, &e), FB_FRAME_OK);
  assert_string_equal (m.verb, "StartupMessage");
  assert_true (m.passthrough && m.len == b.len - 8);
  /* a rule without query= matches anything the rules see, but not this */
  assert_int_equal (fb_pg_framing.request (st, "p\0\0\0\x08pw\0\0", 9, &m, &e), FB_FRAME_OK);
  assert_true (m.passthrough && m.no_reply);
  assert_int_equal (fb_pg_framing.request (st, "\0\0\0\x08\0\0\0\x01", 8, &m, &e), FB_FRAME_BAD);
  fb_buf_free (&b);
  fb_pg_framing.state_free (st);
}

/* Parse s1 + Sync, then two Bind/Execute/Sync of s1, a Query, a Close of
 * s1 and a Bind of it: in one buffer, as a pipelining client writes. */
static void
test_pg_pipelined_extended_query_matches_statement_text (void **state)
{
  (void) state;
  void *st = fb_pg_framing.state_new ();
  fb_buf b = FB_BUF_INIT;
  pg_put (&b, 'P', "s1\0INSERT INTO t VALUES($1);\0\0\0", 31);
  pg_put (&b, 'S', "", 0);
  size_t first = b.len;
  for (int i = 0; i < 2; i++)
    {
      pg_put (&b, 'B', "\0s1\0\0\0\0\1\0\0\0\1" "7\0\0", 15);
      pg_put (&b, 'E', "\0\0\0\0\0", 5);
      pg_put (&b, 'S', "", 0);
    }
  pg_put (&b, 'Q', "select 1\0", 9);
  pg_put (&b, 'C', "Ss1\0", 4);
  pg_put (&b, 'B', "\0s1\0\0\0\0\0\0\0", 10);
  pg_put (&b, 'S', "", 0);
  fb_proxy_rule rule = { .target = fb_sql_canonical ("insert into t values (?)", 24) };
  const char *verbs[] = { "extended", "extended", "extended", "query", "extended" };
  const bool hit[] = { true, true, true, false, false };
  size_t off = 0;
  for (int i = 0; i < 5; i++)
    {
      fb_msg m;
      fb_error e = { 0 };
      /* partial up to the Sync that ends the batch */
      for (size_t n = off; n < off + (i ? 12 : first); n++)
        assert_int_equal (fb_pg_framing.request (st, b.data + off, n - off, &m, &e), FB_FRAME_PARTIAL);
      assert_int_equal (fb_pg_framing.request (st, b.data + off, b.len - off, &m, &e), FB_FRAME_OK);
      assert_string_equal (m.verb, verbs[i]);
      assert_false (m.no_reply);
      assert_int_equal (fb_proxy_rule_matches (&rule, &m), hit[i]);
      /* a Bind of a statement closed is no query the rules know */
      assert_int_equal (m.passthrough, i == 4);
      if (i == 1)
        assert_string_equal (m.target, "INSERT INTO t VALUES($1);");
      off += m.len;
    }
  assert_int_equal (off, b.len);
  free (rule.target);
  fb_buf_free (&b);
  fb_pg_framing.state_free (st);
}

/* One batch, one Sync, three statements (as libpq's pipeline mode or a
 * JDBC batch writes them): a rule matches any of them, and says which. */
static void
test_pg_batch_matches_rules_per_statement (void **state)
{
  (void) state;
  void *st = fb_pg_framing.state_new ();
  fb_buf b = FB_BUF_INIT;
  const char *sql[] = { "INSERT INTO t VALUES ($1)", "UPDATE t SET n = $1", "SELECT n FROM t WHERE n = $1" };
  for (int i = 0; i < 3; i++)
    {
      /* the unnamed statement, its text, no parameter types */
      fb_buf parse = FB_BUF_INIT;
      fb_buf_append (&parse, "", 1);
      fb_buf_append (&parse, sql[i], strlen (sql[i]) + 1);
      fb_buf_append (&parse, "\0\0", 2);
      pg_put (&b, 'P', parse.data, parse.len);
      fb_buf_free (&parse);
      pg_put (&b, 'B', "\0\0\0\0\0\1\0\0\0\1" "7\0\0", 14);
      pg_put (&b, 'E', "\0\0\0\0\0", 5);
    }
  pg_put (&b, 'S', "", 0);
  fb_msg m;
  fb_error e = { 0 };
  assert_int_equal (fb_pg_framing.request (st, b.data, b.len, &m, &e), FB_FRAME_OK);
  assert_int_equal (m.len, b.len);
  assert_int_equal (m.n_parts, 3);
  assert_string_equal (m.target, sql[0]);
  const char *pattern[] = { "insert into t*", "update t set n = ?", "select n from t where n = ?", "delete*" };
  const ssize_t want[] = { 0, 1, 2, -1 };
  for (int i = 0; i < 4; i++)
    {
      fb_proxy_rule rule = { .target = fb_sql_canonical (pattern[i], strlen (pattern[i])) };
      assert_int_equal (fb_proxy_rule_match_part (&rule, &m), want[i]);
      assert_int_equal (fb_proxy_rule_matches (&rule, &m), want[i] >= 0);
      if (want[i] >= 0)
        assert_string_equal (m.part_target[want[i]], sql[i]);
      free (rule.target);
    }
  /* the next request is one statement again */
  assert_int_equal (fb_pg_framing.request (st, "Q\0\0\0\x0dselect 1\0", 14, &m, &e), FB_FRAME_OK);
  assert_int_equal (m.n_parts, 1);
  fb_buf_free (&b);
  fb_pg_framing.state_free (st);
}

static void
test_pg_response_up_to_ready_for_query_and_injected_error (void **state)
{
  (void) state;
  void *st = fb_pg_framing.state_new ();
  fb_buf b = FB_BUF_INIT;
  pg_put (&b, '1', "", 0);
  pg_put (&b, 'C', "INSERT 0 1\0", 11);
  pg_put (&b, 'Z', "T", 1);
  pg_put (&b, 'Z', "I", 1);
  fb_msg req = { .verb = "extended" }, m;
  fb_error e = { 0 };
  assert_int_equal (fb_pg_framing.response (st, b.data, 3, &req, &m, &e), FB_FRAME_PARTIAL);
  /* what has come is passed on before the reply is whole */
  assert_int_equal (fb_pg_framing.response (st, b.data, 7, &req, &m, &e), FB_FRAME_OK);
  assert_true (m.interim && m.len == 5);
  assert_int_equal (fb_pg_framing.response (st, b.data + 5, b.len - 5, &req, &m, &e), FB_FRAME_OK);
  assert_false (m.interim);
  assert_int_equal (m.len, 16 + 6);
  /* inside the server's transaction, an injected error says so */
  size_t n;
  char *x = fb_pg_framing.reply (st, &(fb_reply) { .error = true, .message = "disk full", .code = "53100" }, &req, &n);
  static const char want[] = "E\0\0\0\x25SERROR\0VERROR\0C53100\0Mdisk full\0\0Z\0\0\0\x05T";
  assert_int_equal (n, sizeof want - 1);
  assert_memory_equal (x, want, n);
  free (x);
  assert_int_equal (fb_pg_framing.response (st, "Z\0\0\0\x05I", 6, &req, &m, &e), FB_FRAME_OK);
  x = fb_pg_framing.reply (st, &(fb_reply) { .error = true }, &req, &n);
  assert_memory_equal (x + 5, "SERROR\0VERROR\0MERROR: injected fault\0\0Z\0\0\0\x05I", n - 5);
  free (x);
  assert_int_equal (fb_pg_framing.response (st, "X\0\0\0\x02", 5, &req, &m, &e), FB_FRAME_BAD);
  fb_buf_free (&b);
  fb_pg_framing.state_free (st);
}

/* Appends a MySQL packet: 3-byte length, sequence, payload. */
static void
my_put (fb_buf *b, uint8_t seq, const char *payload, size_t n)
{
  char h[4] = { (char) n, (char) (n >> 8), (char) (n >> 16), (char) seq };
  fb_buf_append (b, h, 4);
  fb_buf_append (b, payload, n);
}

static fb_frame_rc
my_resp (void *st, const fb_buf *b, const char *verb, fb_msg *m)
{
  fb_msg r = { 0 };
  fb_error e = { 0 };
  strcpy (r.verb, verb);
  return fb_mysql_framing.response (st, b->data, b->len, &r, m, &e);
}

/* The greeting and the client's answer pass unseen; then a COM_QUERY is
 * matched by its SQL, and its result set (columns, EOF, rows, EOF) is
 * one reply however it arrives. */
static void
test_mysql_handshake_passes_and_result_set_is_one_reply (void **state)
{
  (void) state;
  void *st = fb_mysql_framing.state_new ();
  fb_buf b = FB_BUF_INIT;
  fb_msg m;
  fb_error e = { 0 };
  /* protocol 10, "10.11", id, 8 bytes of scramble, filler, capabilities */
  my_put (&b, 0, "\x0a" "10.11\0" "\1\0\0\0" "abcdefgh" "\0" "\xff\xf7" "\x08" "\x02\0" "\xff\x81", 27);
  assert_int_equal (fb_mysql_framing.response (st, b.data, b.len - 1, NULL, &m, &e), FB_FRAME_PARTIAL);
  assert_int_equal (fb_mysql_framing.response (st, b.data, b.len, NULL, &m, &e), FB_FRAME_OK);
  assert_true (m.len == b.len && !m.interim);
  b.len = 0;
  char auth[40] = { (char) 0x85, (char) 0xa6, 0x0f, 0 }; /* protocol 41, no DEPRECATE_EOF */
  my_put (&b, 1, auth, sizeof auth);
  assert_int_equal (fb_mysql_framing.request (st, b.data, b.len, &m, &e), FB_FRAME_OK);
  assert_true (m.passthrough && !m.no_reply && !m.upgrade);
  b.len = 0;
  my_put (&b, 2, "\0\0\0\2\0\0\0", 7);
  assert_int_equal (my_resp (st, &b, "auth", &m), FB_FRAME_OK);
  assert_false (m.interim);
  b.len = 0;
  my_put (&b, 0, "\x03SELECT  id FROM t WHERE id=?;", 30);
  assert_int_equal (fb_mysql_framing.request (st, b.data, b.len, &m, &e), FB_FRAME_OK);
  assert_string_equal (m.verb, "query");
  assert_string_equal (m.text, "select id from t where id = $?");
  assert_false (m.passthrough);
  b.len = 0;
  my_put (&b, 1, "\x01", 1);                       /* one column */
  my_put (&b, 2, "\x03" "def" "\0\0\0\x02" "id\0\x0c\x3f\0\x0b\0\0\0\x03\0\0\0\0\0", 25);
  my_put (&b, 3, "\xfe\0\0\x22\0", 5);             /* EOF after the columns */
  my_put (&b, 4, "\x01" "7", 2);                   /* a row */
  my_put (&b, 5, "\xfe\0\0\x22\0", 5);             /* EOF: the end */
  fb_buf half = { .data = b.data, .len = 20 };
  assert_int_equal (my_resp (st, &half, "query", &m), FB_FRAME_OK);
  assert_true (m.interim && m.len == 5);
  fb_buf rest = { .data = b.data + 5, .len = b.len - 5 };
  assert_int_equal (my_resp (st, &rest, "query", &m), FB_FRAME_OK);
  assert_true (!m.interim && m.len == b.len - 5);
  fb_buf_free (&b);
  fb_mysql_framing.state_free (st);
}

/* A MySQL 8 connection past its handshake, with DEPRECATE_EOF. */
static void *
my_connected (void)
{
  void *st = fb_mysql_framing.state_new ();
  fb_buf b = FB_BUF_INIT;
  fb_msg m;
  fb_error e = { 0 };
  my_put (&b, 0, "\x0a" "8.0\0" "\1\0\0\0" "abcdefgh" "\0" "\xff\xf7" "\x08" "\x02\0" "\xff\x81", 25);
  assert_int_equal (fb_mysql_framing.response (st, b.data, b.len, NULL, &m, &e), FB_FRAME_OK);
  b.len = 0;
  char auth[40] = { (char) 0x85, (char) 0xa6, 0x0f, 0x01 };
  my_put (&b, 1, auth, sizeof auth);
  fb_mysql_framing.request (st, b.data, b.len, &m, &e);
  b.len = 0;
  my_put (&b, 2, "\0\0\0\2\0\0\0", 7);
  my_resp (st, &b, "auth", &m);
  fb_buf_free (&b);
  return st;
}

/* COM_STMT_PREPARE's text is remembered under the id the server gives;
 * COM_STMT_EXECUTE matches by it until COM_STMT_CLOSE; an injected ERR
 * answers in sequence. */
static void
test_mysql_prepared_statement_matches_its_text (void **state)
{
  (void) state;
  void *st = my_connected ();
  fb_buf b = FB_BUF_INIT;
  fb_msg m;
  fb_error e = { 0 };
  my_put (&b, 0, "\x16INSERT INTO t VALUES (?)", 25);
  assert_int_equal (fb_mysql_framing.request (st, b.data, b.len, &m, &e), FB_FRAME_OK);
  assert_string_equal (m.verb, "prepare");
  b.len = 0;
  /* PREPARE_OK: id 7, no columns, one parameter: its definition, no EOF */
  my_put (&b, 1, "\0\x07\0\0\0\0\0\x01\0\0\0\0", 12);
  my_put (&b, 2, "\x03" "def" "\0\0\0\x01" "?\0\x0c\x3f\0\0\0\0\0\xfd\x80\0\0\0\0", 24);
  assert_int_equal (my_resp (st, &b, "prepare", &m), FB_FRAME_OK);
  assert_true (!m.interim && m.len == b.len);
  b.len = 0;
  my_put (&b, 0, "\x17\x07\0\0\0\0\1\0\0\0", 10);
  assert_int_equal (fb_mysql_framing.request (st, b.data, b.len, &m, &e), FB_FRAME_OK);
  assert_string_equal (m.verb, "execute");
  assert_string_equal (m.text, "insert into t values ( $? )");
  assert_false (m.passthrough);
  size_t n;
  char *x = fb_mysql_framing.reply (st, &(fb_reply) { .error = true, .message = "disk full" }, &m, &n);
  static const char want[] = "\x12\0\0\x01\xff\x51\x04#HY000disk full";
  assert_int_equal (n, sizeof want - 1);
  assert_memory_equal (x, want, n);
  free (x);
  b.len = 0;
  my_put (&b, 0, "\x19\x07\0\0\0", 5);
  assert_int_equal (fb_mysql_framing.request (st, b.data, b.len, &m, &e), FB_FRAME_OK);
  assert_true (m.passthrough && m.no_reply);
  b.len = 0;
  my_put (&b, 0, "\x17\x07\0\0\0\0\1\0\0\0", 10);
  fb_mysql_framing.request (st, b.data, b.len, &m, &e);
  assert_true (m.passthrough);
  fb_buf_free (&b);
  fb_mysql_framing.state_free (st);
}

/* Sends one request packet and returns the text rules would see. */
static const char *
my_request_text (void *st, const char *payload, size_t n, fb_msg *m)
{
  fb_buf b = FB_BUF_INIT;
  fb_error e = { 0 };
  my_put (&b, 0, payload, n);
  assert_int_equal (fb_mysql_framing.request (st, b.data, b.len, m, &e), FB_FRAME_OK);
  fb_buf_free (&b);
  return m->passthrough ? NULL : m->text;
}

/* PREPARE_OK of a statement without columns or parameters, id given. */
static void
my_prepare_ok (void *st, char id)
{
  fb_buf b = FB_BUF_INIT;
  fb_msg m;
  char ok[12] = { 0, id };
  my_put (&b, 1, ok, sizeof ok);
  assert_int_equal (my_resp (st, &b, "prepare", &m), FB_FRAME_OK);
  fb_buf_free (&b);
}

/* Each id keeps the text of the prepare it answered: the same text twice
 * is two ids, pipelined prepares take their ids in order, an id the
 * server gives again (after COM_RESET_CONNECTION, or a server that
 * reuses them) names the newest text, and a reset forgets them all. */
static void
test_mysql_prepared_ids_keep_their_own_text (void **state)
{
  (void) state;
  void *st = my_connected ();
  fb_msg m;
  my_request_text (st, "\x16SELECT a FROM t", 16, &m);
  my_prepare_ok (st, 1);
  my_request_text (st, "\x16SELECT a FROM t", 16, &m);
  my_prepare_ok (st, 2);
  my_request_text (st, "\x16SELECT b FROM t", 16, &m);
  my_request_text (st, "\x16SELECT c FROM t", 16, &m);
  my_prepare_ok (st, 3);
  my_prepare_ok (st, 4);
  static const char *const want[] = { "select a from t", "select a from t", "select b from t", "select c from t" };
  for (char id = 1; id <= 4; id++)
    {
      char exec[10] = { 0x17, id, 0, 0, 0, 0, 1, 0, 0, 0 };
      const char *text = my_request_text (st, exec, sizeof exec, &m);
      assert_non_null (text);
      assert_string_equal (text, want[id - 1]);
    }
  my_request_text (st, "\x16SELECT d FROM t", 16, &m);
  my_prepare_ok (st, 2);
  assert_string_equal (my_request_text (st, "\x17\x02\0\0\0\0\1\0\0\0", 10, &m), "select d from t");
  assert_string_equal (my_request_text (st, "\x17\x01\0\0\0\0\1\0\0\0", 10, &m), "select a from t");
  my_request_text (st, "\x1f", 1, &m);
  assert_false (m.no_reply);
  assert_null (my_request_text (st, "\x17\x01\0\0\0\0\1\0\0\0", 10, &m));
  my_request_text (st, "\x16SELECT e FROM t", 16, &m);
  my_prepare_ok (st, 1);
  assert_string_equal (my_request_text (st, "\x17\x01\0\0\0\0\1\0\0\0", 10, &m), "select e from t");
  fb_mysql_framing.state_free (st);
}

/* A storage command waits for its data block; a get's reply runs to END
 * over its VALUE blocks (which may hold "END" themselves); noreply asks
 * for nothing; injected lines are Faultbox's. */
static void
test_memcached_text_commands_and_replies (void **state)
{
  (void) state;
  const fb_framing *f = &fb_memcached_framing;
  fb_msg m, r;
  fb_error e = { 0 };
  static const char set[] = "set user:1 0 0 5\r\nalice\r\nget user:1 x\r\n";
  for (size_t n = 0; n < 25; n++)
    assert_int_equal (f->request (NULL, set, n, &m, &e), FB_FRAME_PARTIAL);
  assert_int_equal (f->request (NULL, set, sizeof set - 1, &m, &e), FB_FRAME_OK);
  assert_int_equal (m.len, 25);
  assert_string_equal (m.verb, "SET");
  assert_string_equal (m.target, "user:1");
  assert_false (m.no_reply || m.passthrough);
  assert_int_equal (req (f, set + 25, &m), FB_FRAME_OK);
  assert_string_equal (m.verb, "GET");
  static const char got[] = "VALUE user:1 0 5\r\nEND\r\n\r\nEND\r\nSTORED\r\n";
  assert_int_equal (f->response (NULL, got, 20, &m, &r, &e), FB_FRAME_PARTIAL);
  assert_int_equal (f->response (NULL, got, sizeof got - 1, &m, &r, &e), FB_FRAME_OK);
  assert_int_equal (r.len, sizeof got - 1 - 8);
  assert_int_equal (f->response (NULL, "SERVER_ERROR busy\r\n", 19, &m, &r, &e), FB_FRAME_OK);
  assert_int_equal (r.len, 19);
  assert_int_equal (req (f, "delete k noreply\r\n", &m), FB_FRAME_OK);
  assert_true (m.no_reply);
  assert_int_equal (req (f, "\x80\x01\0\0", &m), FB_FRAME_BAD);
  size_t n;
  char *x = f->reply (NULL, &(fb_reply) { .error = true }, &m, &n);
  assert_string_equal (x, "SERVER_ERROR injected fault\r\n");
  free (x);
  x = f->reply (NULL, &(fb_reply) { .error = false }, &m, &n);
  assert_string_equal (x, "NOT_FOUND\r\n");
  free (x);
}

static void
test_sql_canonical_as_faultbox (void **state)
{
  (void) state;
  const char *same[][2] = {
    { "SELECT * FROM users WHERE id = ?", "select * from users where id=$1;" },
    { "  insert INTO t(a,b) values ($1, $22) ;; ", "insert into t ( a , b ) values ( ? , $9 )" },
    { "select 'A  B' from t where x<=1", "select 'A B' from t where x <= 1" },
    { "update t set a=1 where b<>2", "update t set a = 1 where b <> 2" },
  };
  for (size_t i = 0; i < sizeof same / sizeof *same; i++)
    {
      char *a = fb_sql_canonical (same[i][0], strlen (same[i][0])), *c = fb_sql_canonical (same[i][1], strlen (same[i][1]));
      assert_string_equal (a, c);
      free (a), free (c);
    }
  char *k = fb_sql_canonical ("SELECT 'ABC'", 12);
  assert_string_equal (k, "select 'ABC'");
  free (k);
}

/* ---- one proxy on loopback -------------------------------------------- */

/* A server answering each RESP command, byte by byte, with +OK<n>. */
static void *
resp_server (void *p)
{
  int c = accept (*(int *) p, NULL, NULL);
  char buf[4096];
  fb_buf in = FB_BUF_INIT;
  int n = 0;
  ssize_t got;
  while ((got = recv (c, buf, sizeof buf, 0)) > 0)
    {
      fb_buf_append (&in, buf, (size_t) got);
      fb_msg m;
      fb_error e = { 0 };
      while (in.len && fb_resp_framing.request (NULL, in.data, in.len, &m, &e) == FB_FRAME_OK)
        {
          char r[32];
          int rl = snprintf (r, sizeof r, "+OK%d\r\n", ++n);
          for (int i = 0; i < rl; i++)
            if (send (c, r + i, 1, MSG_NOSIGNAL) != 1)
              goto out;
          memmove (in.data, in.data + m.len, in.len - m.len);
          in.len -= m.len;
        }
    }
out:
  fb_buf_free (&in);
  close (c);
  return NULL;
}

static int fired;

static void
on_fired (void *ctx, const fb_proxy_event *ev)
{
  (void) ctx;
  assert_string_equal (ev->msg->verb, "SET");
  fired++;
}

static void
test_proxy_injects_a_reply_in_its_place_among_pipelined_commands (void **state)
{
  (void) state;
  int sport, pport;
  int sfd = fb_test_listener (&sport);
  int tmp = fb_test_listener (&pport);
  close (tmp);
  pthread_t t;
  pthread_create (&t, NULL, resp_server, &sfd);
  fb_proxy_callbacks cb = { .fired = on_fired };
  fb_proxy *px = fb_proxy_new (1, &cb);
  fb_error e = { 0 };
  assert_int_equal (fb_proxy_listen (px, "cache", "main", fb_protocol_find ("redis"), "127.0.0.1", pport, "127.0.0.1",
                                     sport, &e), 0);
  assert_int_equal (fb_proxy_start (px, &e), 0);
  uint64_t id;
  fb_proxy_rule r = { .action = FB_PX_ERROR, .verb = "SET", .target = "b", .message = "READONLY x", .probability = 1 };
  assert_int_equal (fb_proxy_add_rule (px, 0, &r, 1, &id, &e), 0);
  int c = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) pport),
                           .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  assert_int_equal (connect (c, (struct sockaddr *) &a, sizeof a), 0);
  const char *cmds = "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n1\r\nPING\r\n";
  /* in two writes that split a command */
  assert_int_equal (send (c, cmds, 10, 0), 10);
  usleep (20000);
  assert_int_equal (send (c, cmds + 10, strlen (cmds) - 10, 0), (ssize_t) strlen (cmds) - 10);
  const char *want = "+OK1\r\n-READONLY x\r\n+OK2\r\n";
  char got[128] = "";
  size_t n = 0;
  while (n < strlen (want))
    {
      struct pollfd pf = { c, POLLIN, 0 };
      assert_int_equal (poll (&pf, 1, 5000), 1);
      ssize_t k = recv (c, got + n, sizeof got - 1 - n, 0);
      assert_true (k > 0);
      n += (size_t) k;
    }
  got[n] = '\0';
  assert_string_equal (got, want);
  uint64_t matched, fired_n;
  fb_proxy_rule_stats (px, id, &matched, &fired_n);
  assert_int_equal (matched, 1);
  assert_int_equal (fired_n, 1);
  assert_int_equal (fired, 1);
  close (c);
  fb_proxy_free (px);
  pthread_join (t, NULL);
  close (sfd);
}

static int
dial (int port)
{
  int c = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port),
                           .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  assert_int_equal (connect (c, (struct sockaddr *) &a, sizeof a), 0);
  return c;
}

/* What c receives within ms milliseconds ("" when nothing, "EOF" when the
 * connection ends); at most n - 1 bytes. */
static const char *
recv_within (int c, int ms, char *buf, size_t n)
{
  struct pollfd pf = { c, POLLIN, 0 };
  if (poll (&pf, 1, ms) != 1)
    return "";
  ssize_t k = recv (c, buf, n - 1, 0);
  if (k <= 0)
    return "EOF";
  buf[k] = '\0';
  return buf;
}

static void
test_proxy_partition_refuses_and_holds_until_healed (void **state)
{
  (void) state;
  int sport, pport;
  int sfd = fb_test_listener (&sport);
  int tmp = fb_test_listener (&pport);
  close (tmp);
  pthread_t t;
  pthread_create (&t, NULL, resp_server, &sfd);
  fb_proxy *px = fb_proxy_new (1, NULL);
  fb_error e = { 0 };
  assert_int_equal (fb_proxy_listen (px, "cache", "main", fb_protocol_find ("redis"), "127.0.0.1", pport, "127.0.0.1",
                                     sport, &e), 0);
  assert_int_equal (fb_proxy_start (px, &e), 0);
  char buf[64];
  int c = dial (pport);
  assert_int_equal (send (c, "PING\r\n", 6, 0), 6);
  assert_string_equal (recv_within (c, 5000, buf, sizeof buf), "+OK1\r\n");
  /* cuts of other clients or services leave this connection alone */
  fb_proxy_cut (px, 8, "127.0.0.2", "cache", true, true);
  fb_proxy_cut (px, 9, "127.0.0.1", "db", true, true);
  assert_int_equal (send (c, "PING\r\n", 6, 0), 6);
  assert_string_equal (recv_within (c, 5000, buf, sizeof buf), "+OK2\r\n");
  fb_proxy_cut (px, 7, "127.0.0.1", "cache", true, false);
  assert_int_equal (send (c, "PING\r\n", 6, 0), 6);
  assert_string_equal (recv_within (c, 200, buf, sizeof buf), "");
  /* a new connection is refused (its server never sees it) */
  int d = dial (pport);
  assert_string_equal (recv_within (d, 5000, buf, sizeof buf), "EOF");
  close (d);
  /* the held command goes on once healed */
  fb_proxy_heal (px, 7);
  assert_string_equal (recv_within (c, 5000, buf, sizeof buf), "+OK3\r\n");
  close (c);
  fb_proxy_free (px);
  pthread_join (t, NULL);
  close (sfd);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_http_request_content_length_and_partial_reads),
    cmocka_unit_test (test_http_chunked_request_and_response),
    cmocka_unit_test (test_http_response_kinds),
    cmocka_unit_test (test_resp_pipelined_commands_and_inline),
    cmocka_unit_test (test_resp_replies_of_every_type),
    cmocka_unit_test (test_glob_as_faultbox),
    cmocka_unit_test (test_pg_startup_passes_unseen_and_partial_reads),
    cmocka_unit_test (test_pg_pipelined_extended_query_matches_statement_text),
    cmocka_unit_test (test_pg_batch_matches_rules_per_statement),
    cmocka_unit_test (test_pg_response_up_to_ready_for_query_and_injected_error),
    cmocka_unit_test (test_mysql_handshake_passes_and_result_set_is_one_reply),
    cmocka_unit_test (test_mysql_prepared_statement_matches_its_text),
    cmocka_unit_test (test_mysql_prepared_ids_keep_their_own_text),
    cmocka_unit_test (test_memcached_text_commands_and_replies),
    cmocka_unit_test (test_sql_canonical_as_faultbox),
    cmocka_unit_test (test_proxy_injects_a_reply_in_its_place_among_pipelined_commands),
    cmocka_unit_test (test_proxy_partition_refuses_and_holds_until_healed),
  };
  return cmocka_run_group_tests_name ("proxy", tests, NULL, NULL);
}
