#include "util/buf.h"
#include "util/alloc.h"
#include "util/cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
fb_buf_reserve (fb_buf *b, size_t extra)
{
  size_t need = b->len + extra + 1;
  if (need <= b->cap)
    return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap *= 2;
  b->data = fb_xrealloc (b->data, cap);
  b->cap = cap;
}

void
fb_buf_append (fb_buf *b, const void *data, size_t n)
{
  fb_buf_reserve (b, n);
  if (n)
    memcpy (b->data + b->len, data, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void
fb_buf_puts (fb_buf *b, const char *s)
{
  fb_buf_append (b, s, strlen (s));
}

void
fb_buf_putc (fb_buf *b, char c)
{
  fb_buf_append (b, &c, 1);
}

void
fb_buf_vprintf (fb_buf *b, const char *fmt, va_list ap)
{
  va_list ap2;
  va_copy (ap2, ap);
  int n = vsnprintf (NULL, 0, fmt, ap2);
  va_end (ap2);
  if (n <= 0)
    {
      fb_buf_reserve (b, 0);
      b->data[b->len] = '\0';
      return;
    }
  fb_buf_reserve (b, (size_t) n);
  vsnprintf (b->data + b->len, (size_t) n + 1, fmt, ap);
  b->len += (size_t) n;
}

void
fb_buf_printf (fb_buf *b, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fb_buf_vprintf (b, fmt, ap);
  va_end (ap);
}

void
fb_buf_truncate (fb_buf *b, size_t len)
{
  if (len < b->len)
    {
      b->len = len;
      b->data[len] = '\0';
    }
}

const char *
fb_buf_str (const fb_buf *b)
{
  return b->data ? b->data : "";
}

char *
fb_buf_steal (fb_buf *b)
{
  char *s = b->data ? b->data : fb_xstrdup ("");
  b->data = NULL;
  b->len = b->cap = 0;
  return s;
}

void
fb_buf_free (fb_buf *b)
{
  free (b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

int
fb_buf_read_file (fb_buf *b, const char *path, fb_error *err)
{
  _cleanup_fclose_ FILE *f = fopen (path, "rbe");
  if (!f)
    return fb_error_setsys (err, errno, "cannot open %s", path);
  char tmp[65536];
  size_t n;
  while ((n = fread (tmp, 1, sizeof tmp, f)) > 0)
    fb_buf_append (b, tmp, n);
  if (ferror (f))
    return fb_error_setsys (err, errno ? errno : EIO, "cannot read %s", path);
  return 0;
}
