/* MySQL and MariaDB through libmariadb: Faultbox's query(sql=) and
 * exec(sql=) steps, its credentials (MYSQL_USER and MYSQL_PASSWORD, else
 * root and MYSQL_ROOT_PASSWORD; MYSQL_DATABASE), a Go-style dsn=, and the
 * healthcheck's SELECT 1. A statement the server rejects is a failed
 * result with its message, as go-sql-driver words it, never an exception. */
#include <errno.h>
#include <mysql.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/time.h"

/* libmariadb links libssl and libcrypto: loaded on first use
 * (fb_protocol_dlopen says why). */
static struct {
  int (*library_init) (int, char **, char **);
  MYSQL *(*init) (MYSQL *);
  int (*options) (MYSQL *, enum mysql_option, const void *);
  MYSQL *(*real_connect) (MYSQL *, const char *, const char *, const char *, const char *, unsigned int,
                          const char *, unsigned long);
  int (*real_query) (MYSQL *, const char *, unsigned long);
  MYSQL_RES *(*store_result) (MYSQL *);
  unsigned int (*field_count) (MYSQL *);
  unsigned int (*num_fields) (MYSQL_RES *);
  my_ulonglong (*num_rows) (MYSQL_RES *);
  MYSQL_FIELD *(*fetch_fields) (MYSQL_RES *);
  MYSQL_ROW (*fetch_row) (MYSQL_RES *);
  my_ulonglong (*affected_rows) (MYSQL *);
  void (*free_result) (MYSQL_RES *);
  unsigned int (*errno_) (MYSQL *);
  const char *(*error) (MYSQL *);
  const char *(*sqlstate) (MYSQL *);
  void (*close) (MYSQL *);
} my;
static char my_error[256];
static pthread_once_t my_once = PTHREAD_ONCE_INIT;

#define MY_SONAME "libmariadb.so.3"
#define MY_STEP_CONNECT_S 10u
/* libmariadb's first client-side error number (errmsg.h's CR_MIN_ERROR):
 * below it the server answered */
#define MY_CLIENT_ERRORS 2000u

static void
my_load (void)
{
#define SYM(field, sym) { sym, (void **) &my.field }
  const fb_dl_sym syms[] = {
    SYM (init, "mysql_init"), SYM (options, "mysql_options"), SYM (real_connect, "mysql_real_connect"),
    SYM (real_query, "mysql_real_query"), SYM (store_result, "mysql_store_result"),
    SYM (field_count, "mysql_field_count"), SYM (num_fields, "mysql_num_fields"), SYM (num_rows, "mysql_num_rows"),
    SYM (fetch_fields, "mysql_fetch_fields"), SYM (fetch_row, "mysql_fetch_row"),
    SYM (affected_rows, "mysql_affected_rows"), SYM (free_result, "mysql_free_result"), SYM (errno_, "mysql_errno"),
    SYM (error, "mysql_error"), SYM (sqlstate, "mysql_sqlstate"), SYM (close, "mysql_close"),
    SYM (library_init, "mysql_server_init"),
  };
#undef SYM
  if (fb_protocol_dlopen (MY_SONAME, syms, sizeof syms / sizeof *syms, my_error, sizeof my_error) == 0
      && my.library_init (0, NULL, NULL) != 0)
    {
      snprintf (my_error, sizeof my_error, "%s: mysql_library_init failed", MY_SONAME);
      my.library_init = NULL;
    }
}

/* The words of go-sql-driver's errors, which Faultbox's .error carries:
 * "Error 1146 (42S02): Table 't.x' doesn't exist" from the server, the
 * client library's own message for a connection that failed. */
static char *
my_why (MYSQL *c)
{
  unsigned n = my.errno_ (c);
  if (n && n < MY_CLIENT_ERRORS)
    return fb_xasprintf ("Error %u (%s): %s", n, my.sqlstate (c), my.error (c));
  return fb_xstrdup (*my.error (c) ? my.error (c) : "mysql: unknown error");
}

typedef struct {
  char *user, *password, *host, *db;
  int port;
} my_target;

static void
my_target_clear (my_target *t)
{
  free (t->user), free (t->password), free (t->host), free (t->db);
}

/* Go's DSN, [user[:password]@][tcp[(host:port)]]/dbname[?params], as
 * dsn= gives it: the parts a connection needs; params are not read. */
static int
dsn_parse (const char *dsn, my_target *t, char **why)
{
  const char *slash = strrchr (dsn, '/'), *at = NULL;
  if (!slash)
    return *why = fb_xstrdup ("invalid DSN: missing the slash separating the database name"), -1;
  for (const char *p = dsn; p < slash; p++)
    if (*p == '@')
      at = p;
  if (at)
    {
      const char *colon = memchr (dsn, ':', (size_t) (at - dsn));
      t->user = fb_xstrndup (dsn, (size_t) ((colon ? colon : at) - dsn));
      t->password = colon ? fb_xstrndup (colon + 1, (size_t) (at - colon - 1)) : NULL;
    }
  const char *net = at ? at + 1 : dsn, *open = memchr (net, '(', (size_t) (slash - net));
  if (open)
    {
      const char *close = memchr (open, ')', (size_t) (slash - open));
      const char *colon = close ? memrchr (open, ':', (size_t) (close - open)) : NULL;
      if (!close || strncmp (net, "tcp(", 4))
        return *why = fb_xasprintf ("invalid DSN: only tcp(host:port) addresses are supported, got \"%.*s\"",
                                    (int) (slash - net), net), -1;
      t->host = fb_xstrndup (open + 1, (size_t) ((colon ? colon : close) - open - 1));
      t->port = colon ? atoi (colon + 1) : 3306;
    }
  size_t dl = strcspn (slash + 1, "?");
  t->db = dl ? fb_xstrndup (slash + 1, dl) : NULL;
  return 0;
}

/* Faultbox's applyServiceCredentials: a MYSQL_USER brings its
 * MYSQL_PASSWORD; root, MYSQL_ROOT_PASSWORD. */
static void
env_credentials (char *const *env, size_t n_env, const char **user, const char **password)
{
  const char *u = fb_step_env (env, n_env, "MYSQL_USER");
  bool app = u && *u;
  *user = app ? u : "root";
  *password = fb_step_env (env, n_env, app ? "MYSQL_PASSWORD" : "MYSQL_ROOT_PASSWORD");
}

static MYSQL *
my_connect (const char *host, int port, const char *user, const char *password, const char *db,
            unsigned timeout_s, char **why)
{
  MYSQL *c = my.init (NULL);
  if (!c)
    return *why = fb_xstrdup ("cannot allocate a mysql connection"), NULL;
  /* TCP even for "localhost" (libmariadb would take its socket), and
   * read/write deadlines so a dropped reply cannot hang the step */
  unsigned proto = MYSQL_PROTOCOL_TCP, rw = 30;
  my.options (c, MYSQL_OPT_PROTOCOL, &proto);
  my.options (c, MYSQL_OPT_CONNECT_TIMEOUT, &timeout_s);
  my.options (c, MYSQL_OPT_READ_TIMEOUT, &rw);
  my.options (c, MYSQL_OPT_WRITE_TIMEOUT, &rw);
  if (!my.real_connect (c, host, user, password && *password ? password : NULL, db && *db ? db : NULL,
                        (unsigned) port, NULL, 0))
    {
      *why = my_why (c);
      my.close (c);
      return NULL;
    }
  return c;
}

/* What Faultbox's driver hands back as numbers (go-sql-driver parses
 * integer and float columns of text rows); DECIMAL and the rest as text. */
static fb_cell_kind
field_kind (enum enum_field_types t)
{
  switch (t)
    {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_YEAR:
      return FB_CELL_INT;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
      return FB_CELL_FLOAT;
    default:
      return FB_CELL_TEXT;
    }
}

static void
rows_body (MYSQL_RES *res, fb_step_result *out)
{
  size_t rows = res ? (size_t) my.num_rows (res) : 0, cols = res ? my.num_fields (res) : 0;
  _cleanup_free_ const char **names = fb_xcalloc (cols + 1, sizeof *names);
  _cleanup_free_ fb_cell_kind *kinds = fb_xcalloc (cols + 1, sizeof *kinds);
  _cleanup_free_ const char **cells = fb_xcalloc (rows * cols + 1, sizeof *cells);
  MYSQL_FIELD *f = res ? my.fetch_fields (res) : NULL;
  for (size_t j = 0; j < cols; j++)
    names[j] = f[j].name, kinds[j] = field_kind (f[j].type);
  MYSQL_ROW row;
  for (size_t i = 0; i < rows && (row = my.fetch_row (res)); i++)
    memcpy (&cells[i * cols], row, cols * sizeof *cells);
  out->body = fb_sql_rows_json (rows, cols, names, kinds, cells);
  char n[32];
  snprintf (n, sizeof n, "%zu", rows);
  fb_step_field (out, "rows", n);
}

/* Runs sql; fills out's body (rows, or rows_affected) or *why. */
static void
my_run (MYSQL *c, const char *sql, bool query, fb_step_result *out, char **why)
{
  if (my.real_query (c, sql, strlen (sql)) != 0)
    {
      *why = my_why (c);
      return;
    }
  MYSQL_RES *res = my.store_result (c);
  if (!res && my.field_count (c) != 0)
    {
      *why = my_why (c);
      return;
    }
  if (query)
    rows_body (res, out);
  else
    {
      /* a statement with rows run as exec affects none, as with Go's Exec */
      long long affected = res ? 0 : (long long) my.affected_rows (c);
      char n[32];
      out->body = fb_xasprintf ("{\"rows_affected\":%lld}", affected);
      snprintf (n, sizeof n, "%lld", affected);
      fb_step_field (out, "rows_affected", n);
    }
  if (res)
    my.free_result (res);
}

/* Where a step connects: dsn= is the whole connection (nothing is filled
 * in but the service's address); else the step's arguments, then the
 * service's env. A step's own user brings its own password (or none). */
static int
step_target (const fb_step_call *c, my_target *t, char **why)
{
  *t = (my_target) { .port = c->port };
  const char *dsn = c->args[4].s;
  if (dsn && *dsn)
    {
      if (dsn_parse (dsn, t, why) < 0)
        return -1;
    }
  else
    {
      const char *user, *password, *given = c->args[1].s;
      env_credentials (c->env, c->n_env, &user, &password);
      if (given && *given)
        user = given, password = NULL;
      t->user = fb_xstrdup (user);
      t->password = fb_xstrdup (fb_step_credential (c->args[2].s, NULL, 0, "", password ? password : ""));
      t->db = fb_xstrdup (fb_step_credential (c->args[3].s, c->env, c->n_env, "MYSQL_DATABASE", ""));
    }
  if (!t->host)
    t->host = fb_xstrdup (c->host);
  return 0;
}

static int
my_step (const fb_step_call *c, fb_step_result *out, fb_error *err)
{
  const char *name = c->method->name, *sql = c->args[0].s;
  if (!*sql)
    return fb_error_set (err, EINVAL, "%s: sql must not be empty (mysql.%s requires sql= argument)", name, name);
  pthread_once (&my_once, my_load);
  if (!my.library_init)
    return fb_error_set (err, ENOSYS, "%s: %s", name, my_error);
  c->on_send (c->ctx, (const char *const[]) { "method", name, "sql", sql, NULL });
  char *why = NULL;
  int64_t t0 = fb_now_ns ();
  my_target t;
  MYSQL *conn = step_target (c, &t, &why) < 0 ? NULL
                : my_connect (t.host, t.port, t.user ? t.user : "", t.password, t.db, MY_STEP_CONNECT_S, &why);
  if (conn)
    {
      my_run (conn, sql, !strcmp (name, "query"), out, &why);
      my.close (conn);
    }
  my_target_clear (&t);
  out->duration_ms = (fb_now_ns () - t0) / FB_NS_PER_MS;
  if (why)
    fb_step_fail (out, why);
  free (why);
  fb_step_outcome (out, name);
  return 0;
}

/* A TCP connect, then SELECT 1 with the env's credentials: ready means the
 * server authenticated us and answered, not that a port is bound. */
static int
my_ready (const fb_ready_call *c, fb_error *err)
{
  if (fb_tcp_probe (c->host, c->port, c->timeout_ms, err) < 0)
    return -1;
  pthread_once (&my_once, my_load);
  if (!my.library_init)
    return fb_error_set (err, ENOSYS, "%s", my_error);
  const char *user, *password;
  env_credentials (c->env, c->n_env, &user, &password);
  const char *db = fb_step_env (c->env, c->n_env, "MYSQL_DATABASE");
  unsigned tmo = c->timeout_ms < 2000 ? 1 : (unsigned) (c->timeout_ms / 1000);
  char *why = NULL;
  MYSQL *conn = my_connect (c->host, c->port, user, password, db, tmo, &why);
  fb_step_result r = { 0 };
  if (conn)
    {
      my_run (conn, "SELECT 1", true, &r, &why);
      my.close (conn);
    }
  fb_step_result_clear (&r);
  return fb_sql_ready_result (why, err);
}

static const fb_step_method my_methods[] = { FB_SQL_METHOD ("query", "dsn"), FB_SQL_METHOD ("exec", "dsn") };

const fb_protocol fb_protocol_mysql = {
  .name = "mysql",
  .methods = my_methods,
  .n_methods = sizeof my_methods / sizeof *my_methods,
  .methods_hint = "query/exec(sql=...)",
  .step = my_step,
  .ready = my_ready,
  .ready_timeout_ms = 5000,
  .framing = &fb_mysql_framing,
};
