/* RSS across 1,000 evaluations of one Starlark function, each bracketed by
 * a heap mark and release the way `faultbox test` brackets a test. Prints
 * RSS after evaluation 1, 10, 100 and 1,000 and the growth from 10 to 1,000
 * (target: flat, i.e. no growth beyond noise). */
#include <stdio.h>
#include <string.h>

#include "faultbox/star.h"

static long
rss_kb (void)
{
  FILE *f = fopen ("/proc/self/status", "re");
  char line[256];
  long kb = -1;
  while (f && fgets (line, sizeof line, f))
    if (sscanf (line, "VmRSS: %ld kB", &kb) == 1)
      break;
  if (f)
    fclose (f);
  return kb;
}

int
main (void)
{
  static const char src[] =
      "def work():\n"
      "    d = {}\n"
      "    for i in range(5000):\n"
      "        d[str(i)] = [i, \"x\" * 10, {\"k\": i}]\n"
      "    return len(d)\n";
  fb_star_thread *th = fb_star_thread_new (NULL);
  fb_star_module *m;
  fb_error err = { 0 };
  if (fb_star_exec_string (th, "rss.star", src, strlen (src), &m, &err) < 0)
    {
      fprintf (stderr, "%s\n", err.msg);
      return 1;
    }
  fb_value *fn = fb_star_module_get (m, "work");
  long at10 = 0;
  for (int i = 1; i <= 1000; i++)
    {
      fb_star_mark mark = fb_star_mark_heap (th);
      if (!fb_star_call (th, fn, NULL))
        {
          fb_star_take_error (th, &err);
          fprintf (stderr, "%s\n", err.msg);
          return 1;
        }
      fb_star_release (th, mark);
      if (i == 1 || i == 10 || i == 100 || i == 1000)
        printf ("after %4d evaluations: RSS %ld kB\n", i, rss_kb ());
      if (i == 10)
        at10 = rss_kb ();
    }
  long growth = rss_kb () - at10;
  printf ("growth from 10 to 1000 evaluations: %ld kB (%.1f%%)\n", growth,
          100.0 * (double) growth / (double) at10);
  fb_star_thread_free (th);
  return 0;
}
