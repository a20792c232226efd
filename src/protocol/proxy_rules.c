/* The proxy's rules as pure functions: globs, matching a framed message,
 * and the action names; no sockets here, so they are unit-tested alone. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "faultbox/proxy.h"

void
fb_proxy_rule_clear (fb_proxy_rule *r)
{
  if (!r)
    return;
  free (r->verb);
  free (r->target);
  free (r->header_name);
  free (r->header_glob);
  free (r->body);
  free (r->message);
  memset (r, 0, sizeof *r);
}

const char *
fb_proxy_action_name (fb_proxy_action a)
{
  static const char *const names[] = {
    [FB_PX_RESPOND] = "respond", [FB_PX_ERROR] = "error", [FB_PX_DROP] = "drop",
    [FB_PX_DUPLICATE] = "duplicate", [FB_PX_DELAY] = "delay",
  };
  return names[a];
}

bool
fb_proxy_glob_match (const char *pattern, const char *s)
{
  if (!pattern || !*pattern)
    return true;
  if (!strchr (pattern, '*'))
    return !strcasecmp (pattern, s);
  if (fnmatch (pattern, s, FNM_PATHNAME) == 0)
    return true;
  /* Faultbox falls back to a prefix or suffix test, so "/api/..." with a star also
   * matches "/api/v1/x" */
  size_t pl = strlen (pattern), sl = strlen (s);
  if (pattern[pl - 1] == '*' && !strncmp (pattern, s, pl - 1))
    return true;
  return pattern[0] == '*' && sl >= pl - 1 && !strcmp (pattern + 1, s + sl - (pl - 1));
}

static bool
header_matches (const fb_proxy_rule *r, const fb_msg *m)
{
  if (!r->header_name)
    return true;
  size_t nl = strlen (r->header_name);
  for (size_t i = 0; i < m->n_headers; i++)
    {
      if (m->headers[i].name_len != nl || strncasecmp (m->headers[i].name, r->header_name, nl))
        continue;
      char v[512];
      size_t vl = m->headers[i].value_len < sizeof v - 1 ? m->headers[i].value_len : sizeof v - 1;
      memcpy (v, m->headers[i].value, vl);
      v[vl] = '\0';
      if (fb_proxy_glob_match (r->header_glob, v))
        return true;
    }
  return false;
}

ssize_t
fb_proxy_rule_match_part (const fb_proxy_rule *r, const fb_msg *m)
{
  if (!fb_proxy_glob_match (r->verb, m->verb) || !header_matches (r, m))
    return -1;
  if (!m->n_parts)
    return fb_proxy_glob_match (r->target, m->text ? m->text : m->target) ? 0 : -1;
  for (size_t i = 0; i < m->n_parts; i++)
    if (fb_proxy_glob_match (r->target, m->part_text[i]))
      return (ssize_t) i;
  return -1;
}

bool
fb_proxy_rule_matches (const fb_proxy_rule *r, const fb_msg *m)
{
  return fb_proxy_rule_match_part (r, m) >= 0;
}
