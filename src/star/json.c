/* The json module: encode, decode, indent, encode_indent. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "star/internal.h"

static void
json_quote (fb_buf *b, const char *s, size_t n)
{
  fb_buf_putc (b, '"');
  for (size_t i = 0; i < n; i++)
    {
      unsigned char c = (unsigned char) s[i];
      switch (c)
        {
        case '"': fb_buf_puts (b, "\\\""); continue;
        case '\\': fb_buf_puts (b, "\\\\"); continue;
        case '\n': fb_buf_puts (b, "\\n"); continue;
        case '\r': fb_buf_puts (b, "\\r"); continue;
        case '\t': fb_buf_puts (b, "\\t"); continue;
        case '\b': fb_buf_puts (b, "\\b"); continue;
        case '\f': fb_buf_puts (b, "\\f"); continue;
        default: break;
        }
      if (c < 0x20)
        {
          fb_buf_printf (b, "\\u%04x", c);
          continue;
        }
      if (c < 0x80)
        {
          fb_buf_putc (b, (char) c);
          continue;
        }
      size_t len = utf8_valid (s + i, n - i);
      if (len)
        {
          fb_buf_append (b, s + i, len);
          i += len - 1;
        }
      else
        fb_buf_puts (b, "\\ufffd");
    }
  fb_buf_putc (b, '"');
}

static int
cmp_keys (const void *a, const void *b)
{
  const fv_string *x = *(fv_string *const *) a, *y = *(fv_string *const *) b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp (x->s, y->s, n);
  return c ? c : (x->len > y->len) - (x->len < y->len);
}

static bool
encode (fb_star_thread *th, fb_buf *b, fb_value *v, int depth)
{
  if (depth > 100)
    {
      fb_star_errorf (th, "json.encode: nesting too deep (cycle?)");
      return false;
    }
  switch (vtype (v))
    {
    case FB_V_NONE: fb_buf_puts (b, "null"); return true;
    case FB_V_BOOL: fb_buf_puts (b, v == TRUE_V ? "true" : "false"); return true;
    case FB_V_INT: star_repr_buf (th, v, b); return true;
    case FB_V_FLOAT:
      {
        double d = AS (fv_float, v)->d;
        if (!isfinite (d))
          {
            fb_star_errorf (th, "json.encode: cannot encode non-finite float %s",
                            isnan (d) ? "nan" : d > 0 ? "+inf" : "-inf");
            return false;
          }
        format_float (b, d, 'r', 0);
        return true;
      }
    case FB_V_STRING: json_quote (b, STR (v)->s, STR (v)->len); return true;
    case FB_V_LIST:
    case FB_V_TUPLE:
      {
        size_t n = (size_t) fb_value_len (v);
        fb_buf_putc (b, '[');
        for (size_t i = 0; i < n; i++)
          {
            if (i)
              fb_buf_putc (b, ',');
            if (!encode (th, b, fb_value_at (v, i), depth + 1))
              return false;
          }
        fb_buf_putc (b, ']');
        return true;
      }
    case FB_V_DICT:
      {
        fv_dict *d = DICT (v);
        fv_string **keys = star_alloc (th, (d->len + 1) * sizeof *keys);
        fb_value **vals = star_alloc (th, (d->len + 1) * sizeof *vals);
        size_t n = 0;
        fb_value *k, *val;
        for (size_t i = 0; fb_dict_entry (v, i, &k, &val); i++)
          {
            if (vtype (k) != FB_V_STRING)
              {
                fb_star_errorf (th, "json.encode: dict has %s key, want string",
                                type_name (k));
                return false;
              }
            keys[n++] = STR (k);
          }
        qsort (keys, n, sizeof *keys, cmp_keys);
        fb_buf_putc (b, '{');
        for (size_t i = 0; i < n; i++)
          {
            if (i)
              fb_buf_putc (b, ',');
            json_quote (b, keys[i]->s, keys[i]->len);
            fb_buf_putc (b, ':');
            dict_lookup (th, v, &keys[i]->h, &vals[i]);
            if (!encode (th, b, vals[i], depth + 1))
              return false;
          }
        fb_buf_putc (b, '}');
        return true;
      }
    case FB_V_STRUCT:
    case FB_V_MODULE:
      {
        fv_struct *s = AS (fv_struct, v);
        fb_buf_putc (b, '{');
        for (size_t i = 0; i < s->n; i++)
          {
            if (i)
              fb_buf_putc (b, ',');
            json_quote (b, s->names[i], strlen (s->names[i]));
            fb_buf_putc (b, ':');
            if (!encode (th, b, s->vals[i], depth + 1))
              return false;
          }
        fb_buf_putc (b, '}');
        return true;
      }
    default:
      fb_star_errorf (th, "json.encode: cannot encode %s as JSON", type_name (v));
      return false;
    }
}

/* ---- decoding ---------------------------------------------------------- */

typedef struct {
  fb_star_thread *th;
  const char *s, *p, *end;
  int depth;
} jdec;

static fb_value *
jerr (jdec *d, const char *what)
{
  if (d->p >= d->end)
    return fb_star_errorf (d->th, "json.decode: at offset %zu, unexpected end of file (%s)",
                           (size_t) (d->p - d->s), what);
  return fb_star_errorf (d->th, "json.decode: at offset %zu, unexpected character '%c' (%s)",
                         (size_t) (d->p - d->s), *d->p, what);
}

static void
skip_ws (jdec *d)
{
  while (d->p < d->end && (*d->p == ' ' || *d->p == '\t' || *d->p == '\n'
                           || *d->p == '\r'))
    d->p++;
}

static int
hex4 (const char *p)
{
  int v = 0;
  for (int i = 0; i < 4; i++)
    {
      char c = p[i];
      int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (h < 0)
        return -1;
      v = v * 16 + h;
    }
  return v;
}

static fb_value *
dec_string (jdec *d)
{
  d->p++; /* opening quote */
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  fb_buf_reserve (&b, 8);
  while (d->p < d->end && *d->p != '"')
    {
      unsigned char c = (unsigned char) *d->p;
      if (c < 0x20)
        return jerr (d, "control character in string");
      if (c != '\\')
        {
          fb_buf_putc (&b, (char) c);
          d->p++;
          continue;
        }
      if (d->p + 1 >= d->end)
        return jerr (d, "string escape");
      char e = d->p[1];
      d->p += 2;
      switch (e)
        {
        case '"': fb_buf_putc (&b, '"'); break;
        case '\\': fb_buf_putc (&b, '\\'); break;
        case '/': fb_buf_putc (&b, '/'); break;
        case 'b': fb_buf_putc (&b, '\b'); break;
        case 'f': fb_buf_putc (&b, '\f'); break;
        case 'n': fb_buf_putc (&b, '\n'); break;
        case 'r': fb_buf_putc (&b, '\r'); break;
        case 't': fb_buf_putc (&b, '\t'); break;
        case 'u':
          {
            int v = d->end - d->p >= 4 ? hex4 (d->p) : -1;
            if (v < 0)
              return jerr (d, "\\u escape");
            d->p += 4;
            uint32_t cp = (uint32_t) v;
            if (cp >= 0xd800 && cp < 0xdc00 && d->end - d->p >= 6
                && d->p[0] == '\\' && d->p[1] == 'u')
              {
                int lo = hex4 (d->p + 2);
                if (lo >= 0xdc00 && lo < 0xe000)
                  {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t) lo - 0xdc00);
                    d->p += 6;
                  }
              }
            if (cp >= 0xd800 && cp < 0xe000)
              cp = 0xfffd;
            utf8_append (&b, cp);
            break;
          }
        default:
          d->p -= 1;
          return jerr (d, "string escape");
        }
    }
  if (d->p >= d->end)
    return jerr (d, "unterminated string");
  d->p++;
  return fb_string_n (d->th, fb_buf_str (&b), b.len);
}

static fb_value *dec_value (jdec *d);

/* d->p at '{' */
static fb_value *
dec_object (jdec *d)
{
  d->p++;
  fb_value *r = fb_dict_new (d->th);
  skip_ws (d);
  if (d->p < d->end && *d->p == '}')
    {
      d->p++;
      return r;
    }
  for (;;)
    {
      skip_ws (d);
      if (d->p >= d->end || *d->p != '"')
        return jerr (d, "want object key string");
      fb_value *k = dec_string (d);
      if (!k)
        return NULL;
      skip_ws (d);
      if (d->p >= d->end || *d->p != ':')
        return jerr (d, "want ':'");
      d->p++;
      fb_value *v = dec_value (d);
      if (!v)
        return NULL;
      dict_put (d->th, r, k, v);
      skip_ws (d);
      if (d->p < d->end && *d->p == ',')
        {
          d->p++;
          continue;
        }
      if (d->p < d->end && *d->p == '}')
        {
          d->p++;
          return r;
        }
      return jerr (d, "want ',' or '}'");
    }
}

/* d->p at '[' */
static fb_value *
dec_array (jdec *d)
{
  d->p++;
  fb_value *r = list_from (d->th, 0, NULL);
  skip_ws (d);
  if (d->p < d->end && *d->p == ']')
    {
      d->p++;
      return r;
    }
  for (;;)
    {
      fb_value *v = dec_value (d);
      if (!v)
        return NULL;
      list_push (d->th, r, v);
      skip_ws (d);
      if (d->p < d->end && *d->p == ',')
        {
          d->p++;
          continue;
        }
      if (d->p < d->end && *d->p == ']')
        {
          d->p++;
          return r;
        }
      return jerr (d, "want ',' or ']'");
    }
}

/* d->p at '-' or a digit */
static fb_value *
dec_number (jdec *d)
{
  const char *s = d->p;
  if (*d->p == '-')
    d->p++;
  if (d->p >= d->end || !(*d->p >= '0' && *d->p <= '9'))
    return jerr (d, "want digit");
  if (*d->p == '0' && d->p + 1 < d->end && d->p[1] >= '0' && d->p[1] <= '9')
    return jerr (d, "leading zero");
  bool is_float = false;
  while (d->p < d->end && *d->p >= '0' && *d->p <= '9')
    d->p++;
  if (d->p < d->end && *d->p == '.')
    {
      is_float = true;
      d->p++;
      if (d->p >= d->end || !(*d->p >= '0' && *d->p <= '9'))
        return jerr (d, "want digit after '.'");
      while (d->p < d->end && *d->p >= '0' && *d->p <= '9')
        d->p++;
    }
  if (d->p < d->end && (*d->p == 'e' || *d->p == 'E'))
    {
      is_float = true;
      d->p++;
      if (d->p < d->end && (*d->p == '+' || *d->p == '-'))
        d->p++;
      if (d->p >= d->end || !(*d->p >= '0' && *d->p <= '9'))
        return jerr (d, "want exponent digit");
      while (d->p < d->end && *d->p >= '0' && *d->p <= '9')
        d->p++;
    }
  size_t n = (size_t) (d->p - s);
  if (is_float)
    {
      char *tmp = star_strdup (d->th, s, n);
      return fb_float (d->th, strtod (tmp, NULL));
    }
  bool neg = *s == '-';
  fb_value *r = int_parse (d->th, s + neg, n - neg, 10);
  if (neg)
    r = star_unary (d->th, T_MINUS, r);
  return r;
}

static fb_value *
dec_value (jdec *d)
{
  skip_ws (d);
  if (d->p >= d->end)
    return jerr (d, "want value");
  if (++d->depth > 500)
    return fb_star_errorf (d->th, "json.decode: nesting too deep");
  fb_value *r = NULL;
  char c = *d->p;
  if (c == '{')
    r = dec_object (d);
  else if (c == '[')
    r = dec_array (d);
  else if (c == '"')
    r = dec_string (d);
  else if (d->end - d->p >= 4 && !memcmp (d->p, "null", 4))
    r = NONE, d->p += 4;
  else if (d->end - d->p >= 4 && !memcmp (d->p, "true", 4))
    r = TRUE_V, d->p += 4;
  else if (d->end - d->p >= 5 && !memcmp (d->p, "false", 5))
    r = FALSE_V, d->p += 5;
  else if (c == '-' || (c >= '0' && c <= '9'))
    r = dec_number (d);
  else
    return jerr (d, "want value");
  d->depth--;
  return r;
}

static fb_value *
j_encode (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x;
  if (fb_star_unpack (th, "json.encode", a, "x", &x, NULL) < 0)
    return NULL;
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  if (!encode (th, &b, x, 0))
    return NULL;
  return fb_string_n (th, fb_buf_str (&b), b.len);
}

char *
fb_star_json_encode (fb_star_thread *th, fb_value *v)
{
  fb_buf b = FB_BUF_INIT;
  if (!encode (th, &b, v, 0))
    {
      fb_buf_free (&b);
      return NULL;
    }
  return fb_buf_steal (&b);
}

static fb_value *
j_decode (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x, *dflt = NULL;
  if (fb_star_unpack (th, "json.decode", a, "x", &x, "default?", &dflt, NULL) < 0)
    return NULL;
  if (vtype (x) != FB_V_STRING && vtype (x) != FB_V_BYTES)
    return fb_star_errorf (th, "json.decode: got %s, want string", type_name (x));
  jdec d = { th, STR (x)->s, STR (x)->s, STR (x)->s + STR (x)->len, 0 };
  fb_value *v = dec_value (&d);
  if (v)
    {
      skip_ws (&d);
      if (d.p < d.end)
        v = jerr (&d, "trailing data after value");
    }
  if (!v && dflt)
    {
      th->err_set = false;
      return dflt;
    }
  return v;
}

fb_value *
fb_star_json_decode (fb_star_thread *th, const char *s, size_t n)
{
  jdec d = { th, s, s, s + n, 0 };
  fb_value *v = dec_value (&d);
  if (v)
    {
      skip_ws (&d);
      if (d.p < d.end)
        v = NULL;
    }
  if (!v)
    th->err_set = false;
  return v;
}

/* Re-indents valid JSON text token by token. */
static fb_value *
indent_text (fb_star_thread *th, const char *s, size_t n, const char *prefix,
             const char *ind)
{
  jdec d = { th, s, s, s + n, 0 };
  /* validate first, so errors name the offending offset */
  fb_value *v = dec_value (&d);
  if (!v)
    return NULL;
  skip_ws (&d);
  if (d.p < d.end)
    return jerr (&d, "trailing data after value");
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  int level = 0;
  bool empty_container = false;
  for (const char *p = s; p < s + n; p++)
    {
      char c = *p;
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        continue;
      if (c == '"')
        {
          const char *q = p + 1;
          while (*q != '"')
            q += *q == '\\' ? 2 : 1;
          fb_buf_append (&b, p, (size_t) (q - p + 1));
          p = q;
          continue;
        }
      if (c == '{' || c == '[')
        {
          fb_buf_putc (&b, c);
          const char *q = p + 1;
          while (q < s + n && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
            q++;
          empty_container = q < s + n && (*q == '}' || *q == ']');
          if (!empty_container)
            {
              level++;
              fb_buf_printf (&b, "\n%s", prefix);
              for (int i = 0; i < level; i++)
                fb_buf_puts (&b, ind);
            }
          continue;
        }
      if (c == '}' || c == ']')
        {
          if (!empty_container)
            {
              level--;
              fb_buf_printf (&b, "\n%s", prefix);
              for (int i = 0; i < level; i++)
                fb_buf_puts (&b, ind);
            }
          empty_container = false;
          fb_buf_putc (&b, c);
          continue;
        }
      if (c == ',')
        {
          fb_buf_printf (&b, ",\n%s", prefix);
          for (int i = 0; i < level; i++)
            fb_buf_puts (&b, ind);
          continue;
        }
      if (c == ':')
        {
          fb_buf_puts (&b, ": ");
          continue;
        }
      fb_buf_putc (&b, c);
    }
  return fb_string_n (th, fb_buf_str (&b), b.len);
}

static fb_value *
j_indent (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x;
  const char *prefix = "", *ind = "\t";
  if (fb_star_unpack (th, "json.indent", a, "str", &x, "prefix?:s", &prefix,
                      "indent?:s", &ind, NULL) < 0)
    return NULL;
  if (vtype (x) != FB_V_STRING)
    return fb_star_errorf (th, "json.indent: got %s, want string", type_name (x));
  return indent_text (th, STR (x)->s, STR (x)->len, prefix, ind);
}

static fb_value *
j_encode_indent (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x;
  const char *prefix = "", *ind = "\t";
  if (fb_star_unpack (th, "json.encode_indent", a, "x", &x, "prefix?:s",
                      &prefix, "indent?:s", &ind, NULL) < 0)
    return NULL;
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  if (!encode (th, &b, x, 0))
    return NULL;
  return indent_text (th, fb_buf_str (&b), b.len, prefix, ind);
}

/* The module is shared by every thread: static storage, never freed. */
static fv_builtin json_fns[4];
static const char *json_names[4] = { "decode", "encode", "encode_indent", "indent" };
static fb_value *json_vals[4];
static fv_struct json_mod;

fb_value *
json_module (fb_star_thread *th)
{
  (void) th;
  fb_builtin_fn fns[4] = { j_decode, j_encode, j_encode_indent, j_indent };
  for (int i = 0; i < 4; i++)
    {
      json_fns[i] = (fv_builtin) { { FB_V_BUILTIN, 1, 0, 0 }, NULL, fns[i], NULL, NULL };
      json_vals[i] = &json_fns[i].h;
    }
  json_fns[0].name = "json.decode";
  json_fns[1].name = "json.encode";
  json_fns[2].name = "json.encode_indent";
  json_fns[3].name = "json.indent";
  json_mod = (fv_struct) { { FB_V_MODULE, 1, 0, 0 }, "json", 4, json_names, json_vals };
  return &json_mod.h;
}
