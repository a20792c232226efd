/* The table of protocols and what their steps share. Adding a protocol:
 * a file with its fb_protocol, one line in protocols[] (doc/architecture.md). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/internal.h"
#include "util/alloc.h"

static const fb_protocol *const protocols[] = { &fb_protocol_tcp, &fb_protocol_http, &fb_protocol_redis };

const fb_protocol *
fb_protocol_find (const char *name)
{
  for (size_t i = 0; i < sizeof protocols / sizeof *protocols; i++)
    if (!strcmp (protocols[i]->name, name))
      return protocols[i];
  return NULL;
}

const char *
fb_protocol_names (void)
{
  return "tcp, http or redis";
}

const fb_step_method *
fb_protocol_method (const fb_protocol *p, const char *name)
{
  for (size_t i = 0; i < p->n_methods; i++)
    if (!strcmp (p->methods[i].name, name))
      return &p->methods[i];
  return NULL;
}

const fb_protocol *
fb_protocol_with_method (const char *name)
{
  for (size_t i = 0; i < sizeof protocols / sizeof *protocols; i++)
    if (fb_protocol_method (protocols[i], name))
      return protocols[i];
  return NULL;
}

static void
kv_free (fb_kv *kv, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (kv[i].key);
      free (kv[i].value);
    }
  free (kv);
}

void
fb_step_result_clear (fb_step_result *r)
{
  free (r->body);
  kv_free (r->headers, r->n_headers);
  kv_free (r->fields, r->n_fields);
  memset (r, 0, sizeof *r);
}

void
fb_step_field (fb_step_result *r, const char *k, const char *v)
{
  r->fields = fb_xreallocarray (r->fields, r->n_fields + 1, sizeof *r->fields);
  r->fields[r->n_fields++] = (fb_kv) { fb_xstrdup (k), fb_xstrdup (v) };
}

char *
fb_protocol_trim (char *s)
{
  size_t n = strlen (s);
  while (n && isspace ((unsigned char) s[n - 1]))
    s[--n] = '\0';
  size_t i = 0;
  while (s[i] && isspace ((unsigned char) s[i]))
    i++;
  memmove (s, s + i, n - i + 1);
  return s;
}
