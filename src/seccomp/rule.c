#include "faultbox/engine.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/parse.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
fb_rule_clear (fb_rule *r)
{
  if (!r)
    return;
  free (r->keyword);
  fb_strv_free (r->syscalls);
  free (r->path_glob);
  free (r->dest);
  free (r->label);
  memset (r, 0, sizeof *r);
}

void
fb_rule_describe_action (const fb_rule *r, char *buf, size_t len)
{
  char d[32];
  switch (r->action)
    {
    case FB_ACT_DENY: snprintf (buf, len, "deny(%s)", fb_errno_name (r->err)); break;
    case FB_ACT_DELAY:
      fb_format_duration (r->delay_ns, d, sizeof d);
      snprintf (buf, len, "delay(%s)", d);
      break;
    case FB_ACT_HOLD: snprintf (buf, len, "hold(%s)", r->label ? r->label : ""); break;
    case FB_ACT_ALLOW: snprintf (buf, len, "allow"); break;
    }
}

static int
bad_segment (const char *spec, const char *seg, const char *why, fb_error *err)
{
  return fb_error_set (err, EINVAL, "invalid --fault \"%s\": segment \"%s\": %s", spec, seg, why);
}

static int
parse_option (fb_rule *r, const char *seg, const char *spec, fb_error *err)
{
  const char *eq = strchr (seg, '=');
  size_t kl = (size_t) (eq - seg);
  const char *v = eq + 1;
  long long n;
  fb_error e2 = { 0 };
  if ((kl == 3 && strncmp (seg, "nth", 3) == 0) || (kl == 5 && strncmp (seg, "after", 5) == 0)
      || (kl == 9 && strncmp (seg, "max_fires", 9) == 0))
    {
      if (fb_parse_int (v, kl == 5 ? 0 : 1, INT64_MAX, &n, &e2) < 0)
        return fb_error_set (err, EINVAL, "invalid --fault \"%s\": segment \"%s\": %s", spec, seg, e2.msg);
      if (kl == 3)
        r->nth = (uint64_t) n;
      else if (kl == 5)
        r->after = (uint64_t) n;
      else
        r->max_fires = (uint64_t) n;
      return 0;
    }
  if (kl == 5 && strncmp (seg, "label", 5) == 0)
    {
      free (r->label);
      r->label = fb_xstrdup (v);
      return 0;
    }
  if (kl == 2 && strncmp (seg, "to", 2) == 0)
    {
      if (fb_parse_addr (v, &e2) < 0)
        return bad_segment (spec, seg, e2.msg, err);
      free (r->dest);
      r->dest = fb_xstrdup (v);
      return 0;
    }
  return fb_error_set (err, EINVAL, "invalid --fault \"%s\": unknown option \"%.*s\" in segment \"%s\" (nth, after, max_fires, label, to)",
                       spec, (int) kl, seg, seg);
}

/* to=IP:PORT spans two ':' segments: when the one after seg is all digits
 * it is the port, and the ':' strtok_r cut between them goes back. */
static void
join_port (char *seg, char **save)
{
  size_t n = strspn (*save, "0123456789");
  if (n == 0 || ((*save)[n] != ':' && (*save)[n] != '\0'))
    return;
  seg[strlen (seg)] = ':';
  if ((*save)[n] == ':')
    (*save)[n++] = '\0';
  *save += n;
}

/* Parses what follows "=": ACTION[:PROB][:PATH][:key=value]... */
static int
parse_body (fb_rule *r, char *rest, const char *spec, fb_error *err)
{
  fb_error e2 = { 0 };
  char *save = NULL;
  char *seg = strtok_r (rest, ":", &save);
  if (!seg)
    return fb_error_set (err, EINVAL, "invalid --fault \"%s\": missing action after \"=\" (an errno such as EIO, or delay:DURATION)", spec);
  if (strcmp (seg, "delay") == 0)
    {
      r->action = FB_ACT_DELAY;
      char *d = strtok_r (NULL, ":", &save);
      if (!d)
        return bad_segment (spec, seg, "delay needs a duration, e.g. delay:200ms", err);
      if (fb_parse_duration (d, &r->delay_ns, &e2) < 0)
        return bad_segment (spec, d, e2.msg, err);
    }
  else
    {
      r->action = FB_ACT_DENY;
      if (fb_errno_from_name (seg, &r->err, &e2) < 0)
        return bad_segment (spec, seg, e2.msg, err);
    }
  bool have_prob = false;
  while ((seg = strtok_r (NULL, ":", &save)))
    {
      int ret = 0;
      if (!have_prob && strchr (seg, '%'))
        {
          if (fb_parse_percent (seg, &r->probability, &e2) < 0)
            return bad_segment (spec, seg, e2.msg, err);
          have_prob = true;
        }
      else if (strchr (seg, '=') && seg[0] != '/')
        {
          if (strncmp (seg, "to=", 3) == 0)
            join_port (seg, &save);
          ret = parse_option (r, seg, spec, err);
        }
      else if (!r->path_glob)
        r->path_glob = fb_xstrdup (seg);
      else
        ret = bad_segment (spec, seg, "unexpected segment (one path glob per rule)", err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

int
fb_rule_parse (const char *spec, fb_rule *out, fb_error *err)
{
  const char *eq = strchr (spec, '=');
  if (!eq || eq == spec)
    return fb_error_set (err, EINVAL, "invalid --fault \"%s\": expected SYSCALL=ERRNO:PROB[:PATH] or SYSCALL=delay:DURATION:PROB", spec);
  fb_rule r = { 0 };
  r.keyword = fb_xstrndup (spec, (size_t) (eq - spec));
  r.probability = 1.0;
  fb_error e2 = { 0 };
  char *rest = fb_xstrdup (eq + 1);
  int ret = fb_syscall_family (r.keyword, &r.syscalls, &e2) < 0
                ? fb_error_set (err, EINVAL, "invalid --fault \"%s\": %s", spec, e2.msg)
                : parse_body (&r, rest, spec, err);
  free (rest);
  if (ret < 0)
    {
      fb_rule_clear (&r);
      return ret;
    }
  *out = r;
  return 0;
}

/* Glob matching, memoized on (glob position, path position) so that globs
 * with many stars stay polynomial (plain backtracking is exponential). */
typedef struct {
  const char *g, *p;
  size_t gl, pl;
  uint8_t *memo;   /* 0 unknown, 1 no, 2 yes */
} glob_ctx;

static bool glob_at (glob_ctx *c, size_t gi, size_t pi);

static bool
glob_star (glob_ctx *c, size_t gi, size_t pi, bool cross)
{
  for (size_t q = pi;; q++)
    {
      if (glob_at (c, gi, q))
        return true;
      if (q >= c->pl || (!cross && c->p[q] == '/'))
        return false;
    }
}

static bool
glob_at (glob_ctx *c, size_t gi, size_t pi)
{
  uint8_t *m = &c->memo[gi * (c->pl + 1) + pi];
  if (*m)
    return *m == 2;
  const char *g = c->g, *p = c->p;
  bool r;
  if (gi == c->gl)
    r = pi == c->pl;
  else if (g[gi] == '*' && g[gi + 1] == '*')
    {
      size_t next = gi + 2;
      while (next < c->gl && g[next] == '*')
        next++;
      if (next < c->gl && g[next] == '/' && next + 1 == c->gl)
        next++; /* a trailing slash-globstar also matches the directory itself */
      r = glob_star (c, next, pi, true);
    }
  else if (g[gi] == '*')
    r = glob_star (c, gi + 1, pi, false);
  else if (pi == c->pl)
    r = false;
  else if (g[gi] == '?')
    r = p[pi] != '/' && glob_at (c, gi + 1, pi + 1);
  else if (g[gi] == '[')
    {
      size_t k = gi + 1;
      bool neg = k < c->gl && (g[k] == '!' || g[k] == '^');
      if (neg)
        k++;
      bool hit = false;
      for (; k < c->gl && g[k] != ']'; k++)
        if (k + 2 < c->gl && g[k + 1] == '-' && g[k + 2] != ']')
          {
            hit |= p[pi] >= g[k] && p[pi] <= g[k + 2];
            k += 2;
          }
        else
          hit |= p[pi] == g[k];
      r = k < c->gl && hit != neg && glob_at (c, k + 1, pi + 1);
    }
  else
    {
      size_t k = g[gi] == '\\' && gi + 1 < c->gl ? gi + 1 : gi;
      r = g[k] == p[pi] && glob_at (c, k + 1, pi + 1);
    }
  *m = r ? 2 : 1;
  return r;
}

static bool
glob_match (const char *glob, const char *path)
{
  glob_ctx c = { glob, path, strlen (glob), strlen (path), NULL };
  size_t cells = (c.gl + 1) * (c.pl + 1);
  uint8_t small[4096];
  c.memo = cells <= sizeof small ? small : fb_xmalloc (cells);
  memset (c.memo, 0, cells);
  bool r = glob_at (&c, 0, 0);
  if (c.memo != small)
    free (c.memo);
  return r;
}

bool
fb_path_glob_match (const char *glob, const char *path)
{
  if (glob_match (glob, path))
    return true;
  /* the directory named by a trailing slash-globstar matches too */
  size_t gl = strlen (glob);
  if (gl >= 3 && strcmp (glob + gl - 3, "/**") == 0)
    return strncmp (glob, path, gl - 3) == 0 && path[gl - 3] == '\0';
  return false;
}
