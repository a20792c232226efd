#include "util/alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *
check (void *p)
{
  if (!p)
    abort ();
  return p;
}

void *
fb_xmalloc (size_t n)
{
  return check (malloc (n ? n : 1));
}

void *
fb_xcalloc (size_t nmemb, size_t size)
{
  return check (calloc (nmemb ? nmemb : 1, size ? size : 1));
}

void *
fb_xrealloc (void *p, size_t n)
{
  return check (realloc (p, n ? n : 1));
}

void *
fb_xreallocarray (void *p, size_t nmemb, size_t size)
{
  if (size && nmemb > SIZE_MAX / size)
    abort ();
  return fb_xrealloc (p, nmemb * size);
}

char *
fb_xstrdup (const char *s)
{
  return check (strdup (s));
}

char *
fb_xstrndup (const char *s, size_t n)
{
  return check (strndup (s, n));
}

char *
fb_xmemdup0 (const void *p, size_t n)
{
  char *d = fb_xmalloc (n + 1);
  if (n)
    memcpy (d, p, n);
  d[n] = '\0';
  return d;
}

char *
fb_xasprintf (const char *fmt, ...)
{
  va_list ap;
  char *s = NULL;
  va_start (ap, fmt);
  int r = vasprintf (&s, fmt, ap);
  va_end (ap);
  if (r < 0)
    abort ();
  return s;
}

void
fb_grow (void *arr, size_t *cap, size_t need, size_t elt)
{
  void **a = (void **) arr;
  if (need <= *cap)
    return;
  size_t n = *cap ? *cap : 8;
  while (n < need)
    {
      if (n > SIZE_MAX / 2)
        abort ();
      n *= 2;
    }
  *a = fb_xreallocarray (*a, n, elt);
  memset ((char *) *a + *cap * elt, 0, (n - *cap) * elt);
  *cap = n;
}

void
fb_strv_free_n (char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (v[i]);
  free (v);
}
