/* A Postgres client that speaks only the extended query protocol, through
 * libpq, for the proxy tests: a named prepared statement run twice (Bind
 * without a Parse the second time), then three statements pipelined, each
 * with its Sync, before any answer is read, then a count on the same
 * connection. One line per result: "ok <command status>" or
 * "error <message>".
 *
 *   pg_client CONNINFO
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
show (PGresult *r)
{
  ExecStatusType s = PQresultStatus (r);
  if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
    printf ("ok %s%s%s\n", PQcmdStatus (r), PQntuples (r) ? " " : "", PQntuples (r) ? PQgetvalue (r, 0, 0) : "");
  else
    {
      const char *m = PQresultErrorField (r, PG_DIAG_MESSAGE_PRIMARY);
      const char *code = PQresultErrorField (r, PG_DIAG_SQLSTATE);
      printf ("error %s%s%s\n", m ? m : PQresStatus (s), code ? " " : "", code ? code : "");
    }
  PQclear (r);
}

/* The pipelined statements' results, each followed by its Sync's. */
static int
pipeline (PGconn *c)
{
  static const char *const sql[] = {
    "INSERT INTO item (id, n) VALUES ($1, 0)",
    "UPDATE item SET n = n + 1 WHERE id = $1",
    "SELECT count(*) FROM item WHERE id >= $1",
  };
  if (!PQenterPipelineMode (c))
    return 1;
  for (int i = 0; i < 3; i++)
    {
      const char *v = "10";
      if (!PQsendQueryParams (c, sql[i], 1, NULL, &v, NULL, NULL, 0) || !PQpipelineSync (c))
        return fprintf (stderr, "send: %s", PQerrorMessage (c)), 1;
    }
  for (int i = 0; i < 3; i++)
    {
      PGresult *r;
      while ((r = PQgetResult (c)))
        show (r);
      r = PQgetResult (c);
      if (PQresultStatus (r) != PGRES_PIPELINE_SYNC)
        return fprintf (stderr, "expected the Sync's result\n"), 1;
      PQclear (r);
    }
  return !PQexitPipelineMode (c);
}

int
main (int argc, char **argv)
{
  if (argc != 2)
    return fprintf (stderr, "usage: pg_client CONNINFO\n"), 2;
  PGconn *c = PQconnectdb (argv[1]);
  if (PQstatus (c) != CONNECTION_OK)
    return fprintf (stderr, "connect: %s", PQerrorMessage (c)), 1;
  show (PQprepare (c, "ins", "INSERT INTO item (id, n) VALUES ($1, 0)", 1, NULL));
  for (int i = 1; i <= 2; i++)
    {
      char v[8];
      snprintf (v, sizeof v, "%d", i);
      const char *p = v;
      show (PQexecPrepared (c, "ins", 1, &p, NULL, NULL, 0));
    }
  int rc = pipeline (c);
  show (PQexecParams (c, "SELECT count(*) FROM item", 0, NULL, NULL, NULL, NULL, 0));
  fflush (stdout);
  PQfinish (c);
  return rc;
}
