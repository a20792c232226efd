#include "runner/match.h"
#include "util/alloc.h"

#include <errno.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

struct fb_test_filter {
  char *pattern;
  bool is_regex;
  bool is_glob;
  regex_t re;
};

int
fb_test_filter_new (const char *pattern, fb_test_filter **out, fb_error *err)
{
  fb_test_filter *f = FB_NEW (fb_test_filter);
  if (pattern[0] == '~')
    {
      int r = regcomp (&f->re, pattern + 1, REG_EXTENDED | REG_NOSUB);
      if (r != 0)
        {
          char msg[256];
          regerror (r, &f->re, msg, sizeof msg);
          free (f);
          return fb_error_set (err, EINVAL, "invalid --test regex \"%s\": %s", pattern + 1, msg);
        }
      f->is_regex = true;
    }
  else
    f->is_glob = strpbrk (pattern, "*?[") != NULL;
  f->pattern = fb_xstrdup (pattern);
  *out = f;
  return 0;
}

static bool
name_eq (const char *pat, const char *name, bool glob)
{
  return glob ? fnmatch (pat, name, 0) == 0 : strcmp (pat, name) == 0;
}

bool
fb_test_filter_match (const fb_test_filter *f, const char *name, const char *matrix_scenario)
{
  if (f->is_regex)
    return regexec (&f->re, name, 0, NULL, 0) == 0;
  const char *bare = strncmp (name, "test_", 5) == 0 ? name + 5 : name;
  if (name_eq (f->pattern, name, f->is_glob) || name_eq (f->pattern, bare, f->is_glob))
    return true;
  /* a matrix base "test_matrix_<scenario>" names all of its cells */
  const char *base = strncmp (f->pattern, "test_", 5) == 0 ? f->pattern + 5 : f->pattern;
  return matrix_scenario && !f->is_glob && strncmp (base, "matrix_", 7) == 0
         && strcmp (base + 7, matrix_scenario) == 0;
}

void
fb_test_filter_free (fb_test_filter *f)
{
  if (!f)
    return;
  if (f->is_regex)
    regfree (&f->re);
  free (f->pattern);
  free (f);
}
