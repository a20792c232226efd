/* A libmariadb client of the binary protocol, for the mysql proxy tests:
 * on one connection to argv[1]:3306 (root, password "secret", database
 * "app") it prepares and executes an INSERT twice, reads a SELECT through
 * a server-side cursor (COM_STMT_FETCH), runs two statements in one query
 * (two result sets), then counts the rows. One line per step: "ok ..." or
 * "error ERRNO SQLSTATE MESSAGE". */
#include <mysql.h>
#include <stdio.h>
#include <string.h>

static void
stmt_error (MYSQL_STMT *st)
{
  printf ("error %u %s %s\n", mysql_stmt_errno (st), mysql_stmt_sqlstate (st), mysql_stmt_error (st));
}

static void
insert_twice (MYSQL *m)
{
  MYSQL_STMT *st = mysql_stmt_init (m);
  const char *q = "INSERT INTO item VALUES (?, 0)";
  int id = 0;
  MYSQL_BIND b = { .buffer_type = MYSQL_TYPE_LONG, .buffer = &id };
  if (mysql_stmt_prepare (st, q, strlen (q)) || mysql_stmt_bind_param (st, &b))
    stmt_error (st);
  else
    for (id = 1; id <= 2; id++)
      if (mysql_stmt_execute (st))
        stmt_error (st);
      else
        printf ("ok insert %d\n", id);
  mysql_stmt_close (st);
}

static void
cursor_select (MYSQL *m)
{
  MYSQL_STMT *st = mysql_stmt_init (m);
  const char *q = "SELECT id FROM item WHERE id > ?";
  unsigned long cursor = CURSOR_TYPE_READ_ONLY, prefetch = 1;
  int lo = 0, id;
  MYSQL_BIND p = { .buffer_type = MYSQL_TYPE_LONG, .buffer = &lo }, r = { .buffer_type = MYSQL_TYPE_LONG, .buffer = &id };
  mysql_stmt_attr_set (st, STMT_ATTR_CURSOR_TYPE, &cursor);
  mysql_stmt_attr_set (st, STMT_ATTR_PREFETCH_ROWS, &prefetch);
  if (mysql_stmt_prepare (st, q, strlen (q)) || mysql_stmt_bind_param (st, &p) || mysql_stmt_execute (st)
      || mysql_stmt_bind_result (st, &r))
    stmt_error (st);
  else
    {
      int n = 0;
      while (mysql_stmt_fetch (st) == 0)
        n++;
      printf ("ok fetched %d\n", n);
    }
  mysql_stmt_close (st);
}

static void
query (MYSQL *m, const char *sql)
{
  if (mysql_query (m, sql))
    {
      printf ("error %u %s %s\n", mysql_errno (m), mysql_sqlstate (m), mysql_error (m));
      return;
    }
  printf ("ok");
  do
    {
      MYSQL_RES *res = mysql_store_result (m);
      MYSQL_ROW row = res ? mysql_fetch_row (res) : NULL;
      printf (" %s", row && row[0] ? row[0] : "-");
      mysql_free_result (res);
    }
  while (mysql_next_result (m) == 0);
  printf ("\n");
}

int
main (int argc, char **argv)
{
  MYSQL *m = mysql_init (NULL);
  unsigned timeout = 10;
  mysql_options (m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  if (argc < 2 || !mysql_real_connect (m, argv[1], "root", "secret", "app", 3306, NULL, CLIENT_MULTI_STATEMENTS))
    {
      printf ("error connect %s\n", mysql_error (m));
      return 1;
    }
  insert_twice (m);
  cursor_select (m);
  query (m, "SELECT 1; SELECT 2");
  query (m, "SELECT count(*) FROM item");
  mysql_close (m);
  return 0;
}
