/* `faultbox check`: what a loaded spec declares but nothing uses. A global
 * bound to a service or a fault assumption that the spec's code never
 * names again (as a word, or a service as a string: events(service="db"))
 * can reach no test; a matrix cell with no oracle passes whenever its
 * scenario returns. What fault_matrix() and fault_scenario() apply is
 * known exactly (the tests they registered), so a name inside those calls
 * does not count: one in a call never made while loading applies nothing. */
#include <ctype.h>
#include <string.h>

#include "faultbox/buf.h"
#include "lang/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"

/* A global the check looks for: its binding name, for a service also the
 * service's name (a word or a string); how often the code names it. */
typedef struct {
  const char *word, *svc_name;
  size_t uses;
  int line, col;    /* of the first use: its binding */
} word_count;

/* domain: the word stands inside a fault_matrix()/fault_scenario() call */
static void
count (word_count *w, size_t n, const char *s, size_t len, bool string, bool domain, int line, int col)
{
  for (size_t i = 0; i < n; i++)
    {
      if (domain && !w[i].svc_name)
        continue;
      bool hit = (!string && strlen (w[i].word) == len && !memcmp (w[i].word, s, len))
                 || (w[i].svc_name && strlen (w[i].svc_name) == len && !memcmp (w[i].svc_name, s, len));
      if (hit && !w[i].uses++)
        w[i].line = line, w[i].col = col;
    }
}

/* Counts the words of src outside comments, and string literals equal to
 * a service's name; positions are 1-based. */
static bool
is_domain_call (const char *word, size_t len, const char *after)
{
  static const char *const calls[] = { "fault_matrix", "fault_scenario" };
  after += strspn (after, " \t");
  for (size_t i = 0; i < sizeof calls / sizeof *calls; i++)
    if (strlen (calls[i]) == len && !memcmp (calls[i], word, len) && *after == '(')
      return true;
  return false;
}

static void
scan_source (const char *src, word_count *w, size_t n)
{
  int line = 1, depth = 0, domain = 0; /* domain: the depth inside such a call, 0: outside */
  const char *bol = src;
  for (const char *p = src; *p;)
    {
      if (*p == '\n')
        line++, bol = ++p;
      else if (*p == '#')
        p += strcspn (p, "\n");
      else if (*p == '"' || *p == '\'')
        {
          char q = *p;
          bool triple = p[1] == q && p[2] == q;
          const char *start = p += triple ? 3 : 1;
          while (*p && !(*p == q && (!triple || (p[1] == q && p[2] == q))))
            {
              line += *p == '\n';
              p += *p == '\\' && p[1] ? 2 : 1;
            }
          count (w, n, start, (size_t) (p - start), true, domain, line, (int) (start - bol));
          p += *p ? (triple ? 3 : 1) : 0;
        }
      else if (isalpha ((unsigned char) *p) || *p == '_')
        {
          const char *start = p;
          while (isalnum ((unsigned char) *p) || *p == '_')
            p++;
          count (w, n, start, (size_t) (p - start), false, domain, line, (int) (start - bol) + 1);
          if (!domain && is_domain_call (start, (size_t) (p - start), p))
            domain = depth + 1;
        }
      else
        {
          depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
          if (domain && depth < domain)
            domain = 0;
          p++;
        }
    }
}

static void
warn (char ***out, size_t *n, char *msg)
{
  *out = fb_xreallocarray (*out, *n + 2, sizeof **out);
  (*out)[(*n)++] = msg;
  (*out)[*n] = NULL;
}

/* Whether a registered test (a matrix cell, a fault_scenario) applies v. */
static bool
applied (const fb_spec *sp, const fb_value *v)
{
  for (size_t t = 0; t < sp->n_tests; t++)
    for (long i = 0; sp->tests[t].faults && i < fb_value_len (sp->tests[t].faults); i++)
      if (fb_value_at (sp->tests[t].faults, (size_t) i) == v)
        return true;
  return false;
}

/* Globals bound to a service or an assumption that nothing names again:
 * a service's definition names it twice (binding, service("db")). */
static void
unused_globals (const fb_spec *sp, char ***out, size_t *n)
{
  size_t size = fb_star_module_size (sp->mod), nw = 0;
  _cleanup_free_ word_count *w = fb_xcalloc (size + 1, sizeof *w);
  for (size_t i = 0; i < size; i++)
    {
      fb_value *v;
      const char *name = fb_star_module_name_at (sp->mod, i, &v);
      service_ref *r = v ? fb_host_data (v, &spec_service_type) : NULL;
      if (r || (v && fb_host_data (v, &spec_assumption_type) && !applied (sp, v)))
        w[nw++] = (word_count) { .word = name, .svc_name = r ? sp->plan.services[r->svc].name : NULL };
    }
  for (size_t f = 0; f < sp->n_files; f++)
    {
      _cleanup_buf_ fb_buf b = FB_BUF_INIT;
      fb_error err = { 0 };
      if (fb_buf_read_file (&b, sp->files[f], &err) == 0)
        scan_source (fb_buf_str (&b), w, nw);
    }
  for (size_t i = 0; i < nw; i++)
    if (w[i].uses <= (w[i].svc_name ? 2u : 1u))
      warn (out, n,
            fb_xasprintf ("%s:%d:%d: %s \"%s\" is never used: %s", sp->file, w[i].line, w[i].col,
                          w[i].svc_name ? "service" : "fault assumption", w[i].word,
                          w[i].svc_name ? "nothing depends on it and no test names it"
                                        : "no test, scenario or matrix applies it"));
}

int
fb_spec_check (const fb_spec *sp, char ***warnings)
{
  size_t n = 0;
  *warnings = NULL;
  unused_globals (sp, warnings, &n);
  for (size_t i = 0; i < sp->n_tests; i++)
    if (sp->tests[i].matrix_scenario && !sp->tests[i].expect)
      warn (warnings, &n,
            fb_xasprintf ("%s: matrix cell %s has the default oracle (no overrides= entry, no default_expect=): "
                          "it passes whenever the scenario returns",
                          sp->tests[i].decl ? sp->tests[i].decl : sp->file, sp->tests[i].name));
  return (int) n;
}
