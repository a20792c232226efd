/* ClickHouse over its HTTP interface (port 8123), as Faultbox speaks it:
 * query(sql=) and exec(sql=) POST the statement as the body, ready()
 * asks GET /ping; the proxy frames HTTP/1.1 (http_frame.c) and matches
 * rules' query= on the SQL, taken from ?query= or the body, and error()
 * answers as ClickHouse does: a text/plain "Code: N. DB::Exception: ...".
 * The native protocol (port 9000) is not spoken, as in Faultbox. */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/time.h"

#define CH_STEP_TIMEOUT_MS 30000

/* Faultbox appends FORMAT JSON to a query unless it names a format. */
static char *
query_sql (const char *sql)
{
  _cleanup_free_ char *upper = fb_xstrdup (sql);
  for (char *p = upper; *p; p++)
    *p = (char) toupper ((unsigned char) *p);
  if (strstr (upper, "FORMAT "))
    return fb_xstrdup (sql);
  size_t n = strlen (sql);
  while (n && (sql[n - 1] == ' ' || sql[n - 1] == ';'))
    n--;
  return fb_xasprintf ("%.*s FORMAT JSON", (int) n, sql);
}

/* A query's rows: the "data" array of ClickHouse's JSON format, and its
 * "rows"; NULL when the reply is not that JSON. */
static char *
rows_of (const char *body, long long *rows)
{
  json_object *j = json_tokener_parse (body), *data, *n;
  char *out = NULL;
  if (j && json_object_object_get_ex (j, "data", &data))
    {
      out = fb_xstrdup (json_object_to_json_string_ext (data, JSON_C_TO_STRING_PLAIN));
      *rows = json_object_object_get_ex (j, "rows", &n) ? json_object_get_int64 (n) : 0;
    }
  json_object_put (j);
  return out;
}

static int
ch_step (const fb_step_call *c, fb_step_result *out, fb_error *err)
{
  const char *m = c->method->name, *sql = fb_step_string (c, "sql");
  if (!sql || !*sql)
    return fb_error_set (err, EINVAL, "%s: sql must not be empty (clickhouse.%s requires sql= argument)", m, m);
  const char *user = fb_step_credential (fb_step_string (c, "user"), c->env, c->n_env, "CLICKHOUSE_USER", NULL);
  const char *pass = fb_step_credential (fb_step_string (c, "password"), c->env, c->n_env, "CLICKHOUSE_PASSWORD", NULL);
  const char *db = fb_step_credential (fb_step_string (c, "database"), c->env, c->n_env, "CLICKHOUSE_DB", NULL);
  c->on_send (c->ctx, (const char *const[]) { "method", m, "sql", sql, NULL });
  bool query = !strcmp (m, "query");
  _cleanup_free_ char *body = query ? query_sql (sql) : fb_xstrdup (sql);
  /* a database name is an identifier: no escaping in the URL */
  _cleanup_free_ char *url = fb_xasprintf ("http://%s:%d/?default_format=JSON%s%s", c->host, c->port,
                                           db ? "&database=" : "", db ? db : "");
  /* ClickHouse's own headers for credentials: no Basic auth to encode */
  fb_kv hdr[3] = { { (char *) "Content-Type", (char *) "text/plain" }, { (char *) "X-ClickHouse-User", (char *) user },
                   { (char *) "X-ClickHouse-Key", (char *) (pass ? pass : "") } };
  fb_error e = { 0 };
  int64_t t0 = fb_now_ns ();
  char *why = NULL;
  if (fb_http_request ("POST", url, body, hdr, user ? 3 : 1, CH_STEP_TIMEOUT_MS, out, &e) < 0)
    why = fb_xstrdup (e.msg);
  else if (out->status != 200)
    {
      /* .error as Faultbox's code has it, .data.error as its docs do */
      why = fb_xstrdup (out->body ? out->body : "");
      json_object *j = json_object_new_object ();
      json_object_object_add (j, "error", json_object_new_string (why));
      free (out->body);
      out->body = fb_xstrdup (json_object_to_json_string_ext (j, JSON_C_TO_STRING_PLAIN));
      json_object_put (j);
    }
  else if (query)
    {
      long long rows = 0;
      char *data = rows_of (out->body, &rows), n[32];
      if (!data)
        why = fb_xstrdup ("parse: the reply is not ClickHouse's JSON format");
      free (out->body);
      out->body = data;
      out->status = 0;
      snprintf (n, sizeof n, "%lld", rows);
      fb_step_field (out, "rows", n);
    }
  else
    {
      free (out->body);
      out->body = fb_xstrdup ("{\"ok\":true}");
    }
  fb_step_finish (out, t0, why, m);
  return 0;
}

static int
ch_ready (const fb_ready_call *c, fb_error *err)
{
  _cleanup_free_ char *url = fb_xasprintf ("http://%s:%d/ping", c->host, c->port);
  fb_step_result r = { 0 };
  if (fb_http_request ("GET", url, NULL, NULL, 0, c->timeout_ms, &r, err) < 0)
    return -1;
  long st = r.status;
  fb_step_result_clear (&r);
  return st == 200 ? 0 : fb_error_set (err, EAGAIN, "GET %s answered %ld", url, st);
}

/* ---- proxy framing: HTTP/1.1, matched on the SQL ----------------------- */

typedef struct {
  char *sql;   /* the last request's, fb_msg.text points at it */
} ch_frame_state;

static void *
ch_state_new (void)
{
  return fb_xcalloc (1, sizeof (ch_frame_state));
}

static void
ch_state_free (void *st)
{
  ch_frame_state *s = st;
  if (s)
    free (s->sql);
  free (s);
}

static int
hexval (int c)
{
  return isdigit (c) ? c - '0' : isxdigit (c) ? tolower (c) - 'a' + 10 : -1;
}

/* A URL query value, its %XX and '+' decoded. */
static char *
url_decode (const char *p, size_t n)
{
  char *out = fb_xmalloc (n + 1), *o = out;
  for (size_t i = 0; i < n; i++)
    if (p[i] == '%' && i + 2 < n && hexval ((unsigned char) p[i + 1]) >= 0
        && hexval ((unsigned char) p[i + 2]) >= 0)
      {
        *o++ = (char) (hexval ((unsigned char) p[i + 1]) * 16 + hexval ((unsigned char) p[i + 2]));
        i += 2;
      }
    else
      *o++ = p[i] == '+' ? ' ' : p[i];
  *o = '\0';
  return out;
}

/* The SQL of a request, as Faultbox's proxy reads it: ?query=, else the
 * body (at most 1 MiB). */
static char *
request_sql (const char *buf, const fb_msg *m)
{
  fb_mock_request req = { 0 };
  fb_kv *q = NULL;
  fb_http_parse_query (buf, m->len, &req, &q);
  char *sql = NULL;
  for (size_t i = 0; i < req.n_query && !sql; i++)
    if (!strcmp (q[i].key, "query") && *q[i].value)
      sql = url_decode (q[i].value, strlen (q[i].value));
  for (size_t i = 0; i < req.n_query; i++)
    free (q[i].key), free (q[i].value);
  free (q);
  if (sql)
    return sql;
  const char *head = memmem (buf, m->len, "\r\n\r\n", 4);
  const char *body = head ? head + 4 : buf + m->len;
  size_t n = (size_t) (buf + m->len - body);
  return fb_xstrndup (body, n < 1024 * 1024 ? n : 1024 * 1024);
}

static fb_frame_rc
ch_frame_request (void *st, const char *buf, size_t len, fb_msg *m, fb_error *err)
{
  fb_frame_rc rc = fb_http_framing.request (NULL, buf, len, m, err);
  if (rc != FB_FRAME_OK)
    return rc;
  ch_frame_state *s = st;
  free (s->sql);
  s->sql = request_sql (buf, m);
  snprintf (m->target, sizeof m->target, "%s", s->sql);
  m->text = s->sql;
  return rc;
}

static fb_frame_rc
ch_frame_response (void *st, const char *buf, size_t len, const fb_msg *req, fb_msg *m, fb_error *err)
{
  (void) st;
  return fb_http_framing.response (NULL, buf, len, req, m, err);
}

/* As Faultbox's proxy answers error() (and response()): the status (500
 * unless given) and ClickHouse's exception text, which drivers parse. */
static char *
ch_reply (void *st, const fb_reply *r, const fb_msg *req, size_t *len)
{
  (void) st;
  int status = r->status ? r->status : 500;
  _cleanup_free_ char *body = fb_xasprintf ("Code: 0. DB::Exception: %s",
                                            r->message && *r->message ? r->message : "injected fault");
  fb_buf out = FB_BUF_INIT;
  fb_buf_printf (&out,
                 "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=UTF-8\r\nX-ClickHouse-Exception-Code: 0\r\n"
                 "Content-Length: %zu\r\n\r\n",
                 status, fb_http_reason (status), strlen (body));
  if (!req->head_only)
    fb_buf_puts (&out, body);
  *len = out.len;
  return fb_buf_steal (&out);
}

static const char *const ch_matchers[] = { "query", NULL };

const fb_framing fb_clickhouse_framing = {
  .state_new = ch_state_new,
  .state_free = ch_state_free,
  .request = ch_frame_request,
  .response = ch_frame_response,
  .reply = ch_reply,
  .matchers = ch_matchers,
  .event_target = "query",
  .default_error = "injected fault",
};

#define CH_METHOD(m)                                                                                         \
  { .name = m, .n_params = 4,                                                                                \
    .params = { { "sql", FB_PARAM_STRING, true, NULL }, { "user", FB_PARAM_STRING, false, NULL },           \
                { "password", FB_PARAM_STRING, false, NULL }, { "database", FB_PARAM_STRING, false, NULL } } }

static const fb_step_method ch_methods[] = { CH_METHOD ("query"), CH_METHOD ("exec") };

const fb_protocol fb_protocol_clickhouse = {
  .name = "clickhouse",
  .methods = ch_methods,
  .n_methods = sizeof ch_methods / sizeof *ch_methods,
  .methods_hint = "query/exec",
  .step = ch_step,
  .ready = ch_ready,
  .ready_timeout_ms = 2000,
  .framing = &fb_clickhouse_framing,
  /* an HTTP mock_service answers as a stand-in: routes on "POST /" */
  .mock = &fb_http_mock,
};
