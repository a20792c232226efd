/* String interpolation: the % operator and str.format. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "star/internal.h"

static bool
fmt_int (fb_star_thread *th, fb_buf *b, fb_value *v, char conv)
{
  if (vtype (v) == FB_V_FLOAT)
    {
      double d = AS (fv_float, v)->d;
      if (isnan (d) || isinf (d))
        {
          fb_star_errorf (th, "cannot convert float %s to integer", isnan (d) ? "NaN" : "infinity");
          return false;
        }
      if (fabs (d) < 9.2e18)
        v = fb_int (th, (int64_t) trunc (d));
      else
        v = int_from_big (th, fb_bigint_from_double (star_bigctx (th), trunc (d)));
    }
  if (vtype (v) != FB_V_INT)
    {
      fb_star_errorf (th, "%%%c format requires integer: got %s", conv,
                      type_name (v));
      return false;
    }
  if (conv == 'd' || conv == 'i')
    {
      star_repr_buf (th, v, b);
      return true;
    }
  int base = conv == 'o' ? 8 : 16;
  char *s = fb_bigint_format (int_to_big (th, v), base);
  if (conv == 'X')
    for (char *p = s; *p; p++)
      *p = (char) toupper ((unsigned char) *p);
  fb_buf_puts (b, s);
  free (s);
  return true;
}

static bool
format_one (fb_star_thread *th, fb_buf *b, char conv, fb_value *v)
{
  switch (conv)
    {
    case 's': star_str_buf (th, v, b); return true;
    case 'r': star_repr_buf (th, v, b); return true;
    case 'd': case 'i': case 'o': case 'x': case 'X':
      return fmt_int (th, b, v, conv);
    case 'e': case 'E': case 'f': case 'F': case 'g': case 'G':
      {
        double d;
        if (!fb_value_as_double (v, &d))
          {
            fb_star_errorf (th, "%%%c format requires float: got %s", conv,
                            type_name (v));
            return false;
          }
        format_float (b, d, conv, 6);
        return true;
      }
    case 'c':
      if (vtype (v) == FB_V_STRING)
        {
          if (utf8_count (STR (v)->s, STR (v)->len) != 1)
            {
              fb_star_errorf (th, "%%c format requires a single-character string");
              return false;
            }
          fb_buf_append (b, STR (v)->s, STR (v)->len);
          return true;
        }
      if (vtype (v) == FB_V_INT)
        {
          int64_t cp;
          fb_value_as_int64 (v, &cp);
          if (cp < 0 || cp > 0x10ffff)
            {
              fb_star_errorf (th, "%%c format requires a valid Unicode code point, got %" PRId64, cp);
              return false;
            }
          utf8_append (b, (uint32_t) cp);
          return true;
        }
      fb_star_errorf (th, "%%c format requires int or single-character string: got %s",
                      type_name (v));
      return false;
    default:
      fb_star_errorf (th, "unsupported format character '%c'", conv);
      return false;
    }
}

fb_value *
star_percent (fb_star_thread *th, fb_value *fmtv, fb_value *args)
{
  fv_string *f = STR (fmtv);
  fb_value **items = &args;
  size_t n = 1, used = 0;
  if (vtype (args) == FB_V_TUPLE)
    {
      items = TUPLE (args)->items;
      n = TUPLE (args)->len;
    }
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  bool mapping = false;
  for (size_t i = 0; i < f->len; i++)
    {
      char c = f->s[i];
      if (c != '%')
        {
          fb_buf_putc (&b, c);
          continue;
        }
      if (++i >= f->len)
        return fb_star_errorf (th, "incomplete format");
      c = f->s[i];
      if (c == '%')
        {
          fb_buf_putc (&b, '%');
          continue;
        }
      fb_value *v;
      if (c == '(')
        {
          const char *close = memchr (f->s + i, ')', f->len - i);
          if (!close)
            return fb_star_errorf (th, "incomplete format key");
          if (vtype (args) != FB_V_DICT)
            return fb_star_errorf (th, "format requires a mapping");
          fb_value *key = fb_string_n (th, f->s + i + 1,
                                       (size_t) (close - f->s) - i - 1);
          int rc = dict_lookup (th, args, key, &v);
          if (rc < 0)
            return NULL;
          if (!rc)
            return fb_star_errorf (th, "key \"%s\" not found", STR (key)->s);
          i = (size_t) (close - f->s) + 1;
          if (i >= f->len)
            return fb_star_errorf (th, "incomplete format");
          c = f->s[i];
          mapping = true;
        }
      else
        {
          if (used >= n)
            return fb_star_errorf (th, "not enough arguments for format string");
          v = items[used++];
        }
      if (!format_one (th, &b, c, v) || !star_fits (th, b.len))
        return NULL;
    }
  if (!mapping && used < n && !(n == 1 && vtype (args) == FB_V_DICT && used == 0))
    return fb_star_errorf (th, "too many arguments for format string");
  return fb_string_n (th, fb_buf_str (&b), b.len);
}

fb_value *
str_format (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  fv_string *f = STR (self);
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  int auto_index = 0; /* 0 unknown, 1 automatic, 2 manual */
  size_t next = 0;
  for (size_t i = 0; i < f->len; i++)
    {
      char c = f->s[i];
      if (c == '}')
        {
          if (i + 1 < f->len && f->s[i + 1] == '}')
            {
              fb_buf_putc (&b, '}');
              i++;
              continue;
            }
          return fb_star_errorf (th, "format: single '}' in format");
        }
      if (c != '{')
        {
          fb_buf_putc (&b, c);
          continue;
        }
      if (i + 1 < f->len && f->s[i + 1] == '{')
        {
          fb_buf_putc (&b, '{');
          i++;
          continue;
        }
      const char *close = memchr (f->s + i, '}', f->len - i);
      if (!close)
        return fb_star_errorf (th, "format: unmatched '{' in format");
      const char *field = f->s + i + 1;
      size_t flen = (size_t) (close - field);
      char conv = 's';
      const char *bang = memchr (field, '!', flen);
      const char *colon = memchr (field, ':', flen);
      if (colon && (!bang || colon < bang))
        return fb_star_errorf (th, "format spec features not supported in replacement fields: %.*s",
                               (int) flen, field);
      if (bang)
        {
          size_t rest = flen - (size_t) (bang - field) - 1;
          if (rest != 1 || (bang[1] != 's' && bang[1] != 'r'))
            return fb_star_errorf (th, "format: unknown conversion %.*s",
                                   (int) rest + 1, bang);
          conv = bang[1];
          flen = (size_t) (bang - field);
        }
      fb_value *v = NULL;
      if (flen == 0)
        {
          if (auto_index == 2)
            return fb_star_errorf (th, "format: cannot switch from manual field specification to automatic field numbering");
          auto_index = 1;
          if (next >= a->npos)
            return fb_star_errorf (th, "format: index %zu out of range", next);
          v = a->pos[next++];
        }
      else if (field[0] >= '0' && field[0] <= '9')
        {
          if (auto_index == 1)
            return fb_star_errorf (th, "format: cannot switch from automatic field numbering to manual field specification");
          auto_index = 2;
          char *end;
          unsigned long k = strtoul (field, &end, 10);
          if (end != field + flen)
            return fb_star_errorf (th, "format: invalid field name %.*s",
                                   (int) flen, field);
          if (k >= a->npos)
            return fb_star_errorf (th, "format: index %lu out of range", k);
          v = a->pos[k];
        }
      else
        {
          for (size_t k = 0; k < a->nkw; k++)
            if (strlen (a->kwnames[k]) == flen
                && !memcmp (a->kwnames[k], field, flen))
              v = a->kwvals[k];
          if (!v)
            return fb_star_errorf (th, "format: keyword %.*s not found",
                                   (int) flen, field);
        }
      if (conv == 'r')
        star_repr_buf (th, v, &b);
      else
        star_str_buf (th, v, &b);
      if (!star_fits (th, b.len))
        return NULL;
      i = (size_t) (close - f->s);
    }
  return fb_string_n (th, fb_buf_str (&b), b.len);
}
