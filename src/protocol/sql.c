/* What the SQL protocols (postgres, mysql) share: Faultbox's canonical
 * form of a statement, which both proxies match query= in, and the JSON
 * rows a query step returns. */
#include <ctype.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "faultbox/buf.h"

char *
fb_sql_canonical (const char *sql, size_t len)
{
  while (len && (isspace ((unsigned char) *sql)))
    sql++, len--;
  while (len && (isspace ((unsigned char) sql[len - 1]) || sql[len - 1] == ';'))
    len--;
  fb_buf b = FB_BUF_INIT;
  bool quoted = false;
  for (size_t i = 0; i < len; i++)
    {
      char c = sql[i];
      if (c == '\'' || quoted)
        {
          quoted ^= c == '\'';
          fb_buf_putc (&b, c);
          continue;
        }
      /* two-character operators first, so "<=" is not a lone "<" */
      if (i + 1 < len && strchr ("!<>", c) && (sql[i + 1] == '=' || (c == '<' && sql[i + 1] == '>')))
        {
          fb_buf_printf (&b, " %c%c ", c, sql[i + 1]);
          i++;
        }
      else if (strchr ("=<>,()", c))
        fb_buf_printf (&b, " %c ", c);
      else if (c == '?' || (c == '$' && i + 1 < len && isdigit ((unsigned char) sql[i + 1])))
        {
          fb_buf_puts (&b, "$?");
          while (c == '$' && i + 1 < len && isdigit ((unsigned char) sql[i + 1]))
            i++;
        }
      else
        fb_buf_putc (&b, (char) tolower ((unsigned char) c));
    }
  /* white space outside literals collapsed to one space, as Go's
   * strings.Fields joined (which does not spare literals either) */
  fb_buf out = FB_BUF_INIT;
  const char *s = fb_buf_str (&b);
  for (size_t i = 0; i < b.len; i++)
    if (!isspace ((unsigned char) s[i]))
      fb_buf_putc (&out, s[i]);
    else if (out.len && !isspace ((unsigned char) s[i + 1]) && s[i + 1])
      fb_buf_putc (&out, ' ');
  fb_buf_free (&b);
  fb_buf_str (&out);
  return fb_buf_steal (&out);
}

static json_object *
cell_json (fb_cell_kind kind, const char *text)
{
  if (!text)
    return NULL;
  switch (kind)
    {
    case FB_CELL_BOOL:
      return json_object_new_boolean (text[0] == 't');
    case FB_CELL_INT:
      return json_object_new_int64 (strtoll (text, NULL, 10));
    case FB_CELL_FLOAT:
      {
        double d = strtod (text, NULL);
        /* NaN and Infinity have no JSON number */
        return isfinite (d) ? json_object_new_double_s (d, text) : json_object_new_string (text);
      }
    default:
      return json_object_new_string (text);
    }
}

static int
by_name (const void *a, const void *b, void *names)
{
  size_t x = *(const size_t *) a, y = *(const size_t *) b;
  int c = strcmp (((const char *const *) names)[x], ((const char *const *) names)[y]);
  return c ? c : (x > y) - (x < y);
}

char *
fb_sql_rows_json (size_t n_rows, size_t n_cols, const char *const *names, const fb_cell_kind *kinds,
                  const char *const *cells)
{
  /* Faultbox's drivers return a nil list for no rows: .data is None */
  if (n_rows == 0)
    return fb_xstrdup ("null");
  _cleanup_free_ size_t *order = fb_xcalloc (n_cols ? n_cols : 1, sizeof *order);
  for (size_t i = 0; i < n_cols; i++)
    order[i] = i;
  qsort_r (order, n_cols, sizeof *order, by_name, (void *) names);
  json_object *rows = json_object_new_array ();
  for (size_t r = 0; r < n_rows; r++)
    {
      json_object *row = json_object_new_object ();
      for (size_t i = 0; i < n_cols; i++)
        json_object_object_add (row, names[order[i]], cell_json (kinds[order[i]], cells[r * n_cols + order[i]]));
      json_object_array_add (rows, row);
    }
  char *s = fb_xstrdup (json_object_to_json_string_ext (rows, JSON_C_TO_STRING_PLAIN));
  json_object_put (rows);
  return s;
}

int
fb_sql_ready_result (char *why, fb_error *err)
{
  if (!why)
    return 0;
  fb_error_set (err, EAGAIN, "%s", why);
  free (why);
  return -1;
}
