#include "util/suggest.h"
#include "util/alloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Optimal string alignment distance: Levenshtein plus adjacent
 * transpositions, the commonest typo ("wirte"). */
size_t
fb_edit_distance (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b);
  size_t w = lb + 1;
  size_t *d = fb_xmalloc ((la + 1) * w * sizeof *d);
  for (size_t i = 0; i <= la; i++)
    d[i * w] = i;
  for (size_t j = 0; j <= lb; j++)
    d[j] = j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++)
      {
        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
        size_t best = d[(i - 1) * w + j - 1] + cost;
        if (d[(i - 1) * w + j] + 1 < best)
          best = d[(i - 1) * w + j] + 1;
        if (d[i * w + j - 1] + 1 < best)
          best = d[i * w + j - 1] + 1;
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[(i - 2) * w + j - 2] + 1 < best)
          best = d[(i - 2) * w + j - 2] + 1;
        d[i * w + j] = best;
      }
  size_t r = d[la * w + lb];
  free (d);
  return r;
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
