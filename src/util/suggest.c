#include "util/suggest.h"
#include "util/alloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

size_t
fb_edit_distance (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b);
  size_t *row = fb_xmalloc ((lb + 1) * sizeof *row);
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++)
    {
      size_t diag = row[0];
      row[0] = i;
      for (size_t j = 1; j <= lb; j++)
        {
          size_t up = row[j];
          size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
          size_t best = diag + cost;
          if (up + 1 < best)
            best = up + 1;
          if (row[j - 1] + 1 < best)
            best = row[j - 1] + 1;
          row[j] = best;
          diag = up;
        }
    }
  size_t d = row[lb];
  free (row);
  return d;
}

const char *
fb_suggest (const char *word, const char *const *candidates, size_t n)
{
  size_t len = strlen (word);
  size_t limit = len / 3 > 1 ? len / 3 : 1;
  const char *best = NULL;
  size_t best_d = (size_t) -1;
  for (size_t i = 0; n == (size_t) -1 ? candidates[i] != NULL : i < n; i++)
    {
      const char *c = candidates[i];
      if (strcmp (c, word) == 0)
        continue;
      /* a case-only difference is the likeliest typo */
      size_t d = strcasecmp (c, word) == 0 ? 0 : fb_edit_distance (word, c);
      if (d < best_d)
        {
          best_d = d;
          best = c;
        }
    }
  return best_d <= limit ? best : NULL;
}
