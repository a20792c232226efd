#include "faultbox/buf.h"
#include "util/alloc.h"
#include "util/cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

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

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t
utf8_len (const unsigned char *s, size_t n)
{
  size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : s[0] >= 0xE0 && s[0] < 0xF0 ? 3
             : s[0] >= 0xF0 && s[0] < 0xF5 ? 4 : 0;
  if (!len || len > n)
    return 0;
  for (size_t i = 1; i < len; i++)
    if ((s[i] & 0xC0) != 0x80)
      return 0;
  /* overlong forms, surrogates, beyond U+10FFFF */
  if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0) || (s[0] == 0xF0 && s[1] < 0x90)
      || (s[0] == 0xF4 && s[1] >= 0x90))
    return 0;
  return len;
}

int
fb_buf_read_tail (fb_buf *b, const char *path, size_t max_lines, size_t max_bytes, bool *cut,
                  fb_error *err)
{
  _cleanup_fclose_ FILE *f = fopen (path, "rbe");
  if (!f)
    return fb_error_setsys (err, errno, "cannot open %s", path);
  if (fseeko (f, 0, SEEK_END) < 0)
    return fb_error_setsys (err, errno, "cannot read %s", path);
  off_t size = ftello (f);
  off_t from = size > (off_t) max_bytes ? size - (off_t) max_bytes : 0;
  _cleanup_free_ char *raw = fb_xmalloc ((size_t) (size - from) + 1);
  size_t n = 0;
  if (fseeko (f, from, SEEK_SET) == 0)
    n = fread (raw, 1, (size_t) (size - from), f);
  if (ferror (f))
    return fb_error_setsys (err, errno ? errno : EIO, "cannot read %s", path);
  size_t start = 0;
  *cut = from > 0;
  /* a cut mid-line starts at the next line, if there is one */
  if (*cut)
    {
      char *nl = memchr (raw, '\n', n);
      if (nl && (size_t) (nl - raw) + 1 < n)
        start = (size_t) (nl - raw) + 1;
    }
  if (max_lines)
    {
      size_t lines = 0, i = n && raw[n - 1] == '\n' ? n - 1 : n;
      for (; i > start; i--)
        if (raw[i - 1] == '\n' && ++lines == max_lines)
          {
            *cut = true;
            start = i;
            break;
          }
    }
  const unsigned char *s = (const unsigned char *) raw;
  /* nor with the rest of a character the cut split */
  while (*cut && start < n && (s[start] & 0xC0) == 0x80)
    start++;
  for (size_t i = start; i < n;)
    {
      size_t len = utf8_len (s + i, n - i);
      if (!len)
        fb_buf_putc (b, '?');
      else if (s[i] >= 0x20 || s[i] == '\n' || s[i] == '\t')
        fb_buf_append (b, s + i, len);
      i += len ? len : 1;
    }
  return 0;
}

void
fb_buf_put_markup (fb_buf *b, const char *s)
{
  for (; s && *s; s++)
    {
      unsigned char c = (unsigned char) *s;
      switch (c)
        {
        case '<': fb_buf_puts (b, "&lt;"); break;
        case '>': fb_buf_puts (b, "&gt;"); break;
        case '&': fb_buf_puts (b, "&amp;"); break;
        case '"': fb_buf_puts (b, "&quot;"); break;
        case '\'': fb_buf_puts (b, "&#39;"); break;
        default:
          if (c >= 0x20 || c == '\n' || c == '\t' || c == '\r')
            fb_buf_putc (b, (char) c);
        }
    }
}
