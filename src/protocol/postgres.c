/* Postgres through libpq: Faultbox's query(sql=) and exec(sql=) steps,
 * credentials from the service's env (POSTGRES_USER, POSTGRES_PASSWORD,
 * POSTGRES_DB), and the healthcheck's SELECT 1. A statement the server
 * rejects is a failed result with its message, never an exception. */
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/time.h"

/* libpq is loaded on first use (fb_protocol_dlopen says why). */
static struct {
  PGconn *(*connectdb_params) (const char *const *, const char *const *, int);
  PGconn *(*connectdb) (const char *);
  ConnStatusType (*status) (const PGconn *);
  char *(*error_message) (const PGconn *);
  void (*finish) (PGconn *);
  PQnoticeProcessor (*set_notice_processor) (PGconn *, PQnoticeProcessor, void *);
  PGresult *(*exec) (PGconn *, const char *);
  ExecStatusType (*result_status) (const PGresult *);
  char *(*result_error_field) (const PGresult *, int);
  char *(*result_error_message) (const PGresult *);
  int (*ntuples) (const PGresult *);
  int (*nfields) (const PGresult *);
  char *(*fname) (const PGresult *, int);
  Oid (*ftype) (const PGresult *, int);
  char *(*getvalue) (const PGresult *, int, int);
  int (*getisnull) (const PGresult *, int, int);
  char *(*cmd_tuples) (PGresult *);
  void (*clear) (PGresult *);
} pq;
static char pq_error[256];
static pthread_once_t pq_once = PTHREAD_ONCE_INIT;

#define PQ_SONAME "libpq.so.5"
#define PG_STEP_CONNECT_S "10"

static void
pq_load (void)
{
#define SYM(field, sym) { sym, (void **) &pq.field }
  const fb_dl_sym syms[] = {
    SYM (connectdb, "PQconnectdb"), SYM (status, "PQstatus"), SYM (error_message, "PQerrorMessage"),
    SYM (finish, "PQfinish"), SYM (set_notice_processor, "PQsetNoticeProcessor"), SYM (exec, "PQexec"),
    SYM (result_status, "PQresultStatus"), SYM (result_error_field, "PQresultErrorField"),
    SYM (result_error_message, "PQresultErrorMessage"), SYM (ntuples, "PQntuples"), SYM (nfields, "PQnfields"),
    SYM (fname, "PQfname"), SYM (ftype, "PQftype"), SYM (getvalue, "PQgetvalue"), SYM (getisnull, "PQgetisnull"),
    SYM (cmd_tuples, "PQcmdTuples"), SYM (clear, "PQclear"),
    SYM (connectdb_params, "PQconnectdbParams"),
  };
#undef SYM
  fb_protocol_dlopen (PQ_SONAME, syms, sizeof syms / sizeof *syms, pq_error, sizeof pq_error);
}

/* the type oids of pg_type.h that Faultbox's driver hands back as numbers
 * and booleans; the rest arrive as text */
enum { OID_BOOL = 16, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_OID = 26, OID_FLOAT4 = 700, OID_FLOAT8 = 701 };

static fb_cell_kind
oid_kind (unsigned oid)
{
  switch (oid)
    {
    case OID_BOOL:
      return FB_CELL_BOOL;
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID:
      return FB_CELL_INT;
    case OID_FLOAT4:
    case OID_FLOAT8:
      return FB_CELL_FLOAT;
    default:
      return FB_CELL_TEXT;
    }
}

static void
discard_notice (void *arg, const char *message)
{
  /* the library never prints: libpq's default writes NOTICEs to stderr */
}

/* The server's words: lib/pq's "pq: MESSAGE", as Faultbox's .error reads. */
static char *
pq_conn_error (const PGconn *c)
{
  const char *m = pq.error_message (c);
  const char *fatal = strstr (m, "FATAL:  ");
  char *s = fatal ? fb_xasprintf ("pq: %s", fatal + 8) : fb_xstrdup (m);
  return fb_protocol_trim (s);
}

static PGconn *
pg_connect (const char *connstr, const char *host, int port, const char *user, const char *password,
            const char *db, const char *timeout_s, char **why)
{
  PGconn *c;
  if (connstr && *connstr)
    c = pq.connectdb (connstr);
  else
    {
      char portbuf[16];
      snprintf (portbuf, sizeof portbuf, "%d", port);
      /* an empty value is unset; no TLS or Kerberos, as Faultbox's sslmode=disable */
      const char *const keys[] = { "host", "port", "user", "password", "dbname", "sslmode", "gssencmode",
                                   "connect_timeout", NULL };
      const char *const vals[] = { host, portbuf, user, password ? password : "", db ? db : "", "disable",
                                   "disable", timeout_s, NULL };
      c = pq.connectdb_params (keys, vals, 0);
    }
  if (!c)
    {
      *why = fb_xstrdup ("cannot allocate a postgres connection");
      return NULL;
    }
  if (pq.status (c) != CONNECTION_OK)
    {
      *why = pq_conn_error (c);
      pq.finish (c);
      return NULL;
    }
  pq.set_notice_processor (c, discard_notice, NULL);
  return c;
}

/* Runs sql; fills out's body (rows, or rows_affected) or *why. */
static void
pg_run (PGconn *conn, const char *sql, bool query, fb_step_result *out, char **why)
{
  PGresult *res = pq.exec (conn, sql);
  ExecStatusType st = pq.result_status (res);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && st != PGRES_EMPTY_QUERY)
    {
      const char *primary = res ? pq.result_error_field (res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
      *why = primary ? fb_xasprintf ("pq: %s", primary)
                     : fb_protocol_trim (fb_xstrdup (res ? pq.result_error_message (res) : pq.error_message (conn)));
      pq.clear (res);
      return;
    }
  char n[32];
  if (query)
    {
      size_t rows = (size_t) pq.ntuples (res), cols = (size_t) pq.nfields (res);
      _cleanup_free_ const char **names = fb_xcalloc (cols + 1, sizeof *names);
      _cleanup_free_ fb_cell_kind *kinds = fb_xcalloc (cols + 1, sizeof *kinds);
      _cleanup_free_ const char **cells = fb_xcalloc (rows * cols + 1, sizeof *cells);
      for (size_t j = 0; j < cols; j++)
        {
          names[j] = pq.fname (res, (int) j);
          kinds[j] = oid_kind (pq.ftype (res, (int) j));
          for (size_t i = 0; i < rows; i++)
            cells[i * cols + j] = pq.getisnull (res, (int) i, (int) j) ? NULL : pq.getvalue (res, (int) i, (int) j);
        }
      out->body = fb_sql_rows_json (rows, cols, names, kinds, cells);
      snprintf (n, sizeof n, "%zu", rows);
      fb_step_field (out, "rows", n);
    }
  else
    {
      long long affected = strtoll (pq.cmd_tuples (res), NULL, 10);
      out->body = fb_xasprintf ("{\"rows_affected\":%lld}", affected);
      snprintf (n, sizeof n, "%lld", affected);
      fb_step_field (out, "rows_affected", n);
    }
  pq.clear (res);
}

static int
pg_step (const fb_step_call *c, fb_step_result *out, fb_error *err)
{
  const char *name = c->method->name;
  const char *sql = c->args[0].s, *connstr = c->args[4].s;
  if (!*sql)
    return fb_error_set (err, EINVAL, "%s: sql must not be empty (postgres.%s requires sql= argument)", name, name);
  pthread_once (&pq_once, pq_load);
  if (!pq.connectdb_params)
    return fb_error_set (err, ENOSYS, "%s: %s", name, pq_error);
  /* connstr= is the whole connection: nothing is filled in */
  const char *user = fb_step_credential (c->args[1].s, c->env, c->n_env, "POSTGRES_USER", "postgres");
  const char *password = fb_step_credential (c->args[2].s, c->env, c->n_env, "POSTGRES_PASSWORD", NULL);
  const char *db = fb_step_credential (c->args[3].s, c->env, c->n_env, "POSTGRES_DB", NULL);
  c->on_send (c->ctx, (const char *const[]) { "method", name, "sql", sql, NULL });
  char *why = NULL;
  int64_t t0 = fb_now_ns ();
  PGconn *conn = pg_connect (connstr, c->host, c->port, user, password, db, PG_STEP_CONNECT_S, &why);
  if (conn)
    {
      pg_run (conn, sql, !strcmp (name, "query"), out, &why);
      pq.finish (conn);
    }
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
pg_ready (const fb_ready_call *c, fb_error *err)
{
  if (fb_tcp_probe (c->host, c->port, c->timeout_ms, err) < 0)
    return -1;
  pthread_once (&pq_once, pq_load);
  if (!pq.connectdb_params)
    return fb_error_set (err, ENOSYS, "%s", pq_error);
  char tmo[16];
  /* libpq's connect_timeout is whole seconds, at least 2 */
  snprintf (tmo, sizeof tmo, "%lld", (long long) (c->timeout_ms < 2000 ? 2 : c->timeout_ms / 1000));
  const char *user = fb_step_credential (NULL, c->env, c->n_env, "POSTGRES_USER", "postgres");
  const char *password = fb_step_env (c->env, c->n_env, "POSTGRES_PASSWORD");
  const char *db = fb_step_env (c->env, c->n_env, "POSTGRES_DB");
  char *why = NULL;
  PGconn *conn = pg_connect (NULL, c->host, c->port, user, password, db, tmo, &why);
  fb_step_result r = { 0 };
  if (conn)
    {
      pg_run (conn, "SELECT 1", true, &r, &why);
      pq.finish (conn);
    }
  fb_step_result_clear (&r);
  return fb_sql_ready_result (why, err);
}

static const fb_step_method pg_methods[] = { FB_SQL_METHOD ("query", "connstr"), FB_SQL_METHOD ("exec", "connstr") };

const fb_protocol fb_protocol_postgres = {
  .name = "postgres",
  .methods = pg_methods,
  .n_methods = sizeof pg_methods / sizeof *pg_methods,
  .methods_hint = "query/exec(sql=...)",
  .step = pg_step,
  .ready = pg_ready,
  .ready_timeout_ms = 5000,
  .framing = &fb_pg_framing,
};
