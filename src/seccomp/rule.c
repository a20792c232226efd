#include "faultbox/engine.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/parse.h"

#include <errno.h>
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
    case FB_ACT_ALLOW: snprintf (buf, len, "allow"); break;
    }
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
      free (r->dest);
      r->dest = fb_xstrdup (v);
      return 0;
    }
  return fb_error_set (err, EINVAL, "invalid --fault \"%s\": unknown option \"%.*s\" in segment \"%s\" (nth, after, max_fires, label, to)",
                       spec, (int) kl, seg, seg);
}

static int
bad_segment (const char *spec, const char *seg, const char *why, fb_error *err)
{
  return fb_error_set (err, EINVAL, "invalid --fault \"%s\": segment \"%s\": %s", spec, seg, why);
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
        ret = parse_option (r, seg, spec, err);
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

/* Matches one glob against a path; "**" may consume "/", "*" and "?" not. */
static bool
glob_at (const char *g, const char *p)
{
  while (*g)
    {
      if (g[0] == '*' && g[1] == '*')
        {
          g += 2;
          if (*g == '/' && g[1] == '\0')
            g++; /* a trailing slash-globstar also matches the directory itself */
          for (const char *q = p;; q++)
            {
              if (glob_at (g, q))
                return true;
              if (!*q)
                return false;
            }
        }
      if (*g == '*')
        {
          g++;
          for (const char *q = p;; q++)
            {
              if (glob_at (g, q))
                return true;
              if (!*q || *q == '/')
                return false;
            }
        }
      if (!*p)
        return false;
      if (*g == '?')
        {
          if (*p == '/')
            return false;
        }
      else if (*g == '[')
        {
          const char *c = g + 1;
          bool neg = *c == '!' || *c == '^';
          if (neg)
            c++;
          bool hit = false;
          for (; *c && *c != ']'; c++)
            if (c[1] == '-' && c[2] && c[2] != ']')
              {
                hit |= *p >= c[0] && *p <= c[2];
                c += 2;
              }
            else
              hit |= *p == *c;
          if (!*c || hit == neg)
            return false;
          g = c;
        }
      else
        {
          if (*g == '\\' && g[1])
            g++;
          if (*g != *p)
            return false;
        }
      g++;
      p++;
    }
  return *p == '\0';
}

bool
fb_path_glob_match (const char *glob, const char *path)
{
  if (glob_at (glob, path))
    return true;
  /* the directory named by a trailing slash-globstar matches too */
  size_t gl = strlen (glob);
  if (gl >= 3 && strcmp (glob + gl - 3, "/**") == 0)
    return strncmp (glob, path, gl - 3) == 0 && path[gl - 3] == '\0';
  return false;
}
