/* The universe: built-in functions every module sees, and the argument
 * unpacking helper builtins (ours and the host's) are written with. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <strings.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

#include "star/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/suggest.h"

/* ---- argument unpacking ------------------------------------------------ */

typedef struct {
  const char *name; /* without suffixes */
  size_t namelen;
  bool optional;
  char type; /* 0 value, 's', 'i', 'f', 'b' */
  int kind;  /* 0 named, 1 "*", 2 "**" */
  void *out;
  fb_value *val;
} uparam;

static bool
convert (fb_star_thread *th, const char *fname, uparam *p)
{
  fb_value *v = p->val;
  switch (p->type)
    {
    case 's':
      if (vtype (v) != FB_V_STRING)
        break;
      *(const char **) p->out = STR (v)->s;
      return true;
    case 'i':
      if (vtype (v) != FB_V_INT)
        break;
      if (!fb_value_as_int64 (v, (int64_t *) p->out))
        {
          _cleanup_buf_ fb_buf r = FB_BUF_INIT;
          star_repr_buf (th, v, &r);
          fb_star_errorf (th, "%s: for parameter %.*s: int %s out of range", fname,
                          (int) p->namelen, p->name, fb_buf_str (&r));
          return false;
        }
      return true;
    case 'f':
      if (!fb_value_as_double (v, (double *) p->out))
        break;
      return true;
    case 'b': /* a real bool, not a truth value (as starlark-go) */
      if (vtype (v) != FB_V_BOOL)
        break;
      *(bool *) p->out = v == TRUE_V;
      return true;
    default:
      *(fb_value **) p->out = v;
      return true;
    }
  static const char *const want[] = { ['s'] = "string", ['i'] = "int",
                                      ['f'] = "float", ['b'] = "bool" };
  fb_star_errorf (th, "%s: for parameter %.*s: got %s, want %s", fname,
                  (int) p->namelen, p->name, type_name (v), want[(int) p->type]);
  return false;
}

/* Out of line: its buffers would otherwise enlarge every unpack's frame. */
static __attribute__ ((noinline)) void
unknown_keyword (fb_star_thread *th, const char *fname, const char *kn,
                 const uparam *ps, size_t n)
{
  const char *cands[32];
  char names[32][64];
  size_t nc = 0;
  for (size_t j = 0; j < n; j++)
    if (ps[j].kind == 0)
      {
        snprintf (names[nc], sizeof names[nc], "%.*s", (int) ps[j].namelen,
                  ps[j].name);
        cands[nc] = names[nc];
        nc++;
      }
  const char *s = fb_suggest (kn, cands, nc);
  fb_star_errorf (th, "%s: unexpected keyword argument %s%s%s%s", fname, kn,
                  s ? " (did you mean " : "", s ? s : "", s ? "?)" : "");
}

int
fb_star_unpack (fb_star_thread *th, const char *fname,
                const fb_star_args *args, ...)
{
  uparam ps[32];
  size_t n = 0;
  int star = -1, kwargs = -1;
  va_list ap;
  va_start (ap, args);
  const char *spec;
  while ((spec = va_arg (ap, const char *)) && n < 32)
    {
      uparam *p = &ps[n];
      memset (p, 0, sizeof *p);
      p->out = va_arg (ap, void *);
      if (spec[0] == '*' && !spec[1])
        {
          p->kind = 1;
          star = (int) n;
        }
      else if (spec[0] == '*' && spec[1] == '*' && !spec[2])
        {
          p->kind = 2;
          kwargs = (int) n;
        }
      /* name, then optional '?', then optional ":t" (one pass: this runs
       * for every argument of every builtin call) */
      p->name = spec;
      const char *q = spec;
      while (*q && *q != '?' && *q != ':')
        q++;
      p->namelen = (size_t) (q - spec);
      if (*q == '?')
        p->optional = true, q++;
      if (*q == ':')
        p->type = q[1];
      n++;
    }
  va_end (ap);
  /* positionals fill named parameters in order, the rest go to "*" */
  size_t pi = 0;
  /* any number of positionals may go to "*" (max(*range(1000))) */
  fb_value *rest_buf[16];
  fb_value **rest = args->npos <= 16
                        ? rest_buf
                        : star_alloc (th, args->npos * sizeof *rest);
  size_t nrest = 0;
  for (size_t i = 0; i < args->npos; i++)
    {
      /* named parameters after "*" or "**" are keyword-only */
      if (pi < n && ps[pi].kind == 0)
        {
          ps[pi++].val = args->pos[i];
          continue;
        }
      if (star < 0)
        {
          size_t named = 0;
          for (size_t k = 0; k < n; k++)
            named += ps[k].kind == 0;
          fb_star_errorf (th, "%s: got %zu arguments, want at most %zu", fname,
                          args->npos, named);
          return -1;
        }
      rest[nrest++] = args->pos[i];
    }
  fb_value *kwdict = kwargs >= 0 ? fb_dict_new (th) : NULL;
  for (size_t i = 0; i < args->nkw; i++)
    {
      const char *kn = args->kwnames[i];
      size_t k;
      for (k = 0; k < n; k++)
        if (ps[k].kind == 0 && strlen (kn) == ps[k].namelen
            && !memcmp (kn, ps[k].name, ps[k].namelen))
          break;
      if (k < n)
        {
          if (ps[k].val)
            {
              fb_star_errorf (th, "%s: got multiple values for parameter %s",
                              fname, kn);
              return -1;
            }
          ps[k].val = args->kwvals[i];
          continue;
        }
      if (kwdict)
        {
          dict_put (th, kwdict, fb_string (th, kn), args->kwvals[i]);
          continue;
        }
      unknown_keyword (th, fname, kn, ps, n);
      return -1;
    }
  for (size_t k = 0; k < n; k++)
    {
      uparam *p = &ps[k];
      if (p->kind == 1)
        *(fb_value **) p->out = fb_tuple_new (th, nrest, rest);
      else if (p->kind == 2)
        *(fb_value **) p->out = kwdict;
      else if (!p->val)
        {
          if (!p->optional)
            {
              fb_star_errorf (th, "%s: missing argument for %.*s", fname,
                              (int) p->namelen, p->name);
              return -1;
            }
        }
      else if (!convert (th, fname, p))
        return -1;
    }
  return 0;
}

/* ---- helpers ----------------------------------------------------------- */

static fb_value *
recv_of (fb_value *self)
{
  return AS (fv_builtin, self)->recv;
}

static bool
no_args (fb_star_thread *th, const char *fname, const fb_star_args *a)
{
  return fb_star_unpack (th, fname, a, NULL) == 0;
}

/* Stable merge sort of keys (and vals alongside, unless NULL) whose
   comparison may fail; tk and tv hold n items each. */
typedef struct {
  fb_star_thread *th;
  int (*cmp) (fb_star_thread *th, fb_value *a, fb_value *b, int *c);
  bool reverse;
  fb_value **tk, **tv;
} sort_ctx;

static int
merge_sort (sort_ctx *sc, fb_value **keys, fb_value **vals, size_t n)
{
  if (n < 2)
    return 0;
  size_t h = n / 2;
  if (merge_sort (sc, keys, vals, h) < 0
      || merge_sort (sc, keys + h, vals ? vals + h : NULL, n - h) < 0)
    return -1;
  size_t i = 0, j = h, k = 0;
  while (i < h && j < n)
    {
      int c;
      if (sc->cmp (sc->th, keys[j], keys[i], &c) < 0)
        return -1;
      size_t from = (sc->reverse ? c > 0 : c < 0) ? j++ : i++;
      if (vals)
        sc->tv[k] = vals[from];
      sc->tk[k++] = keys[from];
    }
  /* what is left of the right half is already in place */
  memcpy (sc->tk + k, keys + i, (h - i) * sizeof *keys);
  memcpy (keys, sc->tk, (k + h - i) * sizeof *keys);
  if (vals)
    {
      memcpy (sc->tv + k, vals + i, (h - i) * sizeof *vals);
      memcpy (vals, sc->tv, (k + h - i) * sizeof *vals);
    }
  return 0;
}

/* Comparisons for keys all of one kind: no dispatch, no failure. Small
   ints keep their order when tagged. */
static int
cmp_small (fb_star_thread *th, fb_value *a, fb_value *b, int *c)
{
  (void) th;
  *c = ((intptr_t) a > (intptr_t) b) - ((intptr_t) a < (intptr_t) b);
  return 0;
}

static int
cmp_str (fb_star_thread *th, fb_value *a, fb_value *b, int *c)
{
  (void) th;
  fv_string *x = STR (a), *y = STR (b);
  int r = memcmp (x->s, y->s, x->len < y->len ? x->len : y->len);
  *c = r ? (r > 0) - (r < 0) : (x->len > y->len) - (x->len < y->len);
  return 0;
}

static void
pick_cmp (sort_ctx *sc, fb_value **keys, size_t n)
{
  bool small = true, str = true;
  for (size_t i = 0; i < n && (small || str); i++)
    {
      small &= IS_SMALL (keys[i]);
      str &= vtype (keys[i]) == FB_V_STRING;
    }
  sc->cmp = small ? cmp_small : str ? cmp_str : star_compare;
}

static fb_value *
call1 (fb_star_thread *th, fb_value *fn, fb_value *arg)
{
  fb_star_args a = { 1, &arg, 0, NULL, NULL };
  return star_call_value (th, fn, &a);
}

/* ---- the built-in functions -------------------------------------------- */

static fb_value *
b_abs (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x;
  if (fb_star_unpack (th, "abs", a, "x", &x, NULL) < 0)
    return NULL;
  if (vtype (x) == FB_V_FLOAT)
    return fb_float (th, fabs (AS (fv_float, x)->d));
  if (vtype (x) != FB_V_INT)
    return fb_star_errorf (th, "abs: got %s, want int or float", type_name (x));
  bool neg = IS_SMALL (x) ? SMALL_VAL (x) < 0 : AS (fv_bigint, x)->b.sign < 0;
  return neg ? star_unary (th, T_MINUS, x) : x;
}

static fb_value *
any_all (fb_star_thread *th, const fb_star_args *a, bool all)
{
  fb_value *x, **items;
  size_t n;
  if (fb_star_unpack (th, all ? "all" : "any", a, "x", &x, NULL) < 0
      || iter_collect (th, x, &items, &n) < 0)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if (truth (items[i]) != all)
      return BOOLV (!all);
  return BOOLV (all);
}

static fb_value *
b_all (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return any_all (th, a, true);
}

static fb_value *
b_any (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return any_all (th, a, false);
}

static fb_value *
b_bool (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x = FALSE_V;
  if (fb_star_unpack (th, "bool", a, "x?", &x, NULL) < 0)
    return NULL;
  return BOOLV (truth (x));
}

static fb_value *
b_bytes (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x;
  if (fb_star_unpack (th, "bytes", a, "x", &x, NULL) < 0)
    return NULL;
  fb_value_type t = vtype (x);
  if (t == FB_V_BYTES)
    return x;
  if (t == FB_V_STRING)
    {
      _cleanup_buf_ fb_buf b = FB_BUF_INIT;
      utf8_sanitize (&b, STR (x)->s, STR (x)->len);
      return fb_bytes_n (th, fb_buf_str (&b), b.len);
    }
  fb_value **items;
  size_t n;
  if (iter_collect (th, x, &items, &n) < 0)
    return fb_star_errorf (th, "bytes: got %s, want string, bytes, or iterable of ints",
                           type_name (x));
  char *buf = star_alloc (th, n + 1);
  for (size_t i = 0; i < n; i++)
    {
      int64_t b;
      if (!fb_value_as_int64 (items[i], &b) || b < 0 || b > 255)
        return fb_star_errorf (th, "bytes: at index %zu, %s out of range (want value in unsigned 8-bit range)",
                               i, type_name (items[i]));
      buf[i] = (char) b;
    }
  return fb_bytes_n (th, buf, n);
}

static fb_value *
b_chr (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  int64_t i;
  if (fb_star_unpack (th, "chr", a, "i:i", &i, NULL) < 0)
    return NULL;
  if (i < 0 || i > 0x10ffff)
    return fb_star_errorf (th, "chr: Unicode code point %lld out of range (<0 or >0x10FFFF)",
                           (long long) i);
  uint32_t cp = (uint32_t) i;
  if (cp >= 0xd800 && cp < 0xe000)
    cp = 0xfffd;
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  utf8_append (&b, cp);
  return fb_string_n (th, fb_buf_str (&b), b.len);
}

static int
dict_update (fb_star_thread *th, fb_value *d, const char *fname,
             const fb_star_args *a)
{
  if (a->npos > 1)
    {
      fb_star_errorf (th, "%s: got %zu arguments, want at most 1", fname,
                      a->npos);
      return -1;
    }
  if (a->npos == 1)
    {
      fb_value *src = a->pos[0];
      if (vtype (src) == FB_V_DICT)
        {
          fb_value *k, *v;
          for (size_t i = 0; fb_dict_entry (src, i, &k, &v); i++)
            if (dict_put (th, d, k, v) < 0)
              return -1;
        }
      else
        {
          fb_value **items;
          size_t n;
          if (iter_collect (th, src, &items, &n) < 0)
            {
              fb_star_errorf (th, "%s: got %s, want iterable", fname,
                              type_name (src));
              return -1;
            }
          for (size_t i = 0; i < n; i++)
            {
              fb_value **pair;
              size_t pn;
              fb_value_type pt = vtype (items[i]);
              if (pt == FB_V_STRING || pt == FB_V_BYTES
                  || iter_collect (th, items[i], &pair, &pn) < 0)
                {
                  fb_star_errorf (th, "%s: dictionary update sequence element #%zu is not iterable (%s)",
                                  fname, i, type_name (items[i]));
                  return -1;
                }
              if (pn != 2)
                {
                  fb_star_errorf (th, "%s: dictionary update sequence element #%zu has length %zu, want 2",
                                  fname, i, pn);
                  return -1;
                }
              if (dict_put (th, d, pair[0], pair[1]) < 0)
                return -1;
            }
        }
    }
  for (size_t i = 0; i < a->nkw; i++)
    if (dict_put (th, d, fb_string (th, a->kwnames[i]), a->kwvals[i]) < 0)
      return -1;
  return 0;
}

static fb_value *
b_dict (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *d = fb_dict_new (th);
  return dict_update (th, d, "dict", a) < 0 ? NULL : d;
}

static int
cmp_cstr (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static fb_value *
b_dir (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x;
  if (fb_star_unpack (th, "dir", a, "x", &x, NULL) < 0)
    return NULL;
  fb_value *l = list_from (th, 0, NULL);
  fb_value_type t = vtype (x);
  if (t == FB_V_STRUCT || t == FB_V_MODULE)
    {
      fv_struct *s = AS (fv_struct, x);
      for (size_t i = 0; i < s->n; i++)
        list_push (th, l, fb_string (th, s->names[i]));
      return l;
    }
  if (t == FB_V_HOST)
    {
      const char *const *names = AS (fv_host, x)->type->attr_names;
      size_t n = 0;
      while (names && names[n])
        n++;
      const char **sorted = fb_xmalloc ((n + 1) * sizeof *sorted);
      for (size_t i = 0; i < n; i++)
        sorted[i] = names[i];
      qsort (sorted, n, sizeof *sorted, cmp_cstr);
      for (size_t i = 0; i < n; i++)
        list_push (th, l, fb_string (th, sorted[i]));
      free (sorted);
      return l;
    }
  size_t n;
  const method_entry *m = methods_for (t, &n);
  for (size_t i = 0; i < n; i++)
    list_push (th, l, fb_string (th, m[i].name));
  return l;
}

static fb_value *
b_enumerate (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x, **items;
  int64_t start = 0;
  size_t n;
  if (fb_star_unpack (th, "enumerate", a, "x", &x, "start?:i", &start, NULL) < 0
      || iter_collect (th, x, &items, &n) < 0)
    return NULL;
  fb_value *l = list_from (th, 0, NULL);
  for (size_t i = 0; i < n; i++)
    {
      fb_value *pair[2] = { fb_int (th, start + (int64_t) i), items[i] };
      list_push (th, l, fb_tuple_new (th, 2, pair));
    }
  return l;
}

static fb_value *
b_fail (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *rest;
  const char *sep = " ";
  if (fb_star_unpack (th, "fail", a, "*", &rest, "sep?:s", &sep, NULL) < 0)
    return NULL;
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  fb_buf_puts (&b, "fail: ");
  for (size_t i = 0; i < TUPLE (rest)->len; i++)
    {
      if (i)
        fb_buf_puts (&b, sep);
      star_str_buf (th, TUPLE (rest)->items[i], &b);
    }
  return fb_star_errorf (th, "%s", fb_buf_str (&b));
}

static fb_value *
b_float (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x = NULL;
  if (fb_star_unpack (th, "float", a, "x?", &x, NULL) < 0)
    return NULL;
  if (!x)
    return fb_float (th, 0.0);
  switch (vtype (x))
    {
    case FB_V_FLOAT: return x;
    case FB_V_BOOL: return fb_float (th, x == TRUE_V ? 1.0 : 0.0);
    case FB_V_INT:
      {
        double d;
        if (!int_to_double (x, &d))
          return fb_star_errorf (th, "float: int too large to convert to float");
        return fb_float (th, d);
      }
    case FB_V_STRING:
      {
        const char *s = STR (x)->s;
        const char *p = s;
        if (*p == '+' || *p == '-')
          p++;
        if (!strcasecmp (p, "inf") || !strcasecmp (p, "infinity")
            || !strcasecmp (p, "nan"))
          {
            double d = tolower ((unsigned char) *p) == 'n' ? NAN : INFINITY;
            return fb_float (th, *s == '-' ? -d : d);
          }
        char *end;
        errno = 0;
        double d = strtod (s, &end);
        bool ok = *s && !*end && end == s + STR (x)->len
                  && !strpbrk (s, "xXpP \t\n") && !strchr (s, '_');
        if (!ok)
          return fb_star_errorf (th, "float: invalid float literal: %s",
                                 fb_buf_str (&(fb_buf) { 0 })[0] ? "" : s);
        if (isinf (d))
          return fb_star_errorf (th, "float: floating-point number too large: %s", s);
        return fb_float (th, d);
      }
    default:
      return fb_star_errorf (th, "float: got %s, want number or string",
                             type_name (x));
    }
}

static fb_value *
b_getattr (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x, *dflt = NULL;
  const char *name;
  if (fb_star_unpack (th, "getattr", a, "x", &x, "name:s", &name, "default?",
                      &dflt, NULL) < 0)
    return NULL;
  fb_value *v = star_getattr (th, x, name);
  if (!v && dflt)
    {
      th->err_set = false;
      return dflt;
    }
  return v;
}

static fb_value *
b_hasattr (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x;
  const char *name;
  if (fb_star_unpack (th, "hasattr", a, "x", &x, "name:s", &name, NULL) < 0)
    return NULL;
  fb_value *v = star_getattr (th, x, name);
  th->err_set = false;
  return BOOLV (v != NULL);
}

static fb_value *
b_hash (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x;
  if (fb_star_unpack (th, "hash", a, "x", &x, NULL) < 0)
    return NULL;
  if (vtype (x) != FB_V_STRING && vtype (x) != FB_V_BYTES)
    return fb_star_errorf (th, "hash: got %s, want string or bytes",
                           type_name (x));
  const unsigned char *p = (const unsigned char *) STR (x)->s;
  size_t n = STR (x)->len;
  if (vtype (x) == FB_V_BYTES)
    {
      /* 32-bit FNV-1a, non-negative, as in Go */
      uint32_t h = 2166136261u;
      for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
      return mk_small (h);
    }
  /* Java's String.hashCode over UTF-16 code units, as the spec defines it;
   * invalid UTF-8 counts as U+FFFD */
  uint32_t h = 0;
  for (size_t i = 0; i < n;)
    {
      uint32_t cp = 0xfffd;
      size_t len = p[i] < 0x80 ? 1 : p[i] >> 5 == 6 ? 2 : p[i] >> 4 == 14 ? 3
                   : p[i] >> 3 == 30 ? 4 : 0;
      bool ok = len && i + len <= n;
      for (size_t k = 1; ok && k < len; k++)
        ok = (p[i + k] & 0xc0) == 0x80;
      if (ok)
        {
          cp = len == 1 ? p[i] : p[i] & (0x7f >> len);
          for (size_t k = 1; k < len; k++)
            cp = cp << 6 | (p[i + k] & 0x3f);
          i += len;
        }
      else
        i++;
      if (cp >= 0x10000)
        {
          h = h * 31 + (0xd800 + ((cp - 0x10000) >> 10));
          h = h * 31 + (0xdc00 + ((cp - 0x10000) & 0x3ff));
        }
      else
        h = h * 31 + cp;
    }
  return mk_small ((int32_t) h);
}

static fb_value *
parse_int_string (fb_star_thread *th, fb_value *x, int64_t base, bool has_base)
{
  const char *s = STR (x)->s;
  size_t n = STR (x)->len;
  bool neg = false;
  size_t i = 0;
  if (i < n && (s[i] == '+' || s[i] == '-'))
    neg = s[i++] == '-';
  int b = (int) base;
  if (i + 1 < n && s[i] == '0')
    {
      char p = (char) tolower ((unsigned char) s[i + 1]);
      int pb = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
      if (pb && (b == 0 || b == pb))
        {
          b = pb;
          i += 2;
        }
    }
  if (b == 0)
    {
      b = 10;
      if (n - i > 1 && s[i] == '0')
        goto bad; /* "0123" is ambiguous with base 0 */
    }
  {
    fb_value *v = i < n ? int_parse (th, s + i, n - i, b) : NULL;
    if (!v)
      goto bad;
    return neg ? star_unary (th, T_MINUS, v) : v;
  }
bad:
  (void) has_base;
  {
    _cleanup_buf_ fb_buf q = FB_BUF_INIT;
    quote_string (&q, s, n, false);
    return fb_star_errorf (th, "int: invalid literal with base %d: %s",
                           (int) (base ? base : 10), fb_buf_str (&q));
  }
}

static fb_value *
b_int (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x = NULL;
  int64_t base = 10;
  bool has_base = false;
  fb_value *basev = NULL;
  if (fb_star_unpack (th, "int", a, "x", &x, "base?", &basev, NULL) < 0)
    return NULL;
  if (basev)
    {
      if (!fb_value_as_int64 (basev, &base))
        return fb_star_errorf (th, "int: for parameter base: got %s, want int",
                               type_name (basev));
      has_base = true;
      if (base != 0 && (base < 2 || base > 36))
        return fb_star_errorf (th, "int: base must be an integer >= 2 && <= 36");
    }
  if (vtype (x) == FB_V_STRING)
    return parse_int_string (th, x, base, has_base);
  if (has_base)
    return fb_star_errorf (th, "int: can't convert non-string with explicit base");
  switch (vtype (x))
    {
    case FB_V_INT: return x;
    case FB_V_BOOL: return mk_small (x == TRUE_V);
    case FB_V_FLOAT:
      {
        double d = AS (fv_float, x)->d;
        if (isnan (d) || isinf (d))
          return fb_star_errorf (th, "int: cannot convert float %s to integer",
                                 isnan (d) ? "NaN" : "infinity");
        d = trunc (d);
        if (fabs (d) < 9.2e18)
          return fb_int (th, (int64_t) d);
        return int_from_big (th, fb_bigint_from_double (star_bigctx (th), d));
      }
    default:
      return fb_star_errorf (th, "int: got %s, want int, float, bool or string",
                             type_name (x));
    }
}

static fb_value *
b_len (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x;
  if (a->npos == 1 && !a->nkw)
    x = a->pos[0]; /* hot: no generic unpacking */
  else if (fb_star_unpack (th, "len", a, "x", &x, NULL) < 0)
    return NULL;
  long n = fb_value_len (x);
  if (n < 0)
    return fb_star_errorf (th, "len: value of type %s has no len", type_name (x));
  return mk_small (n);
}

static fb_value *
b_list (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x = NULL, **items;
  size_t n;
  if (fb_star_unpack (th, "list", a, "x?", &x, NULL) < 0)
    return NULL;
  if (!x)
    return list_from (th, 0, NULL);
  if (iter_collect (th, x, &items, &n) < 0)
    return fb_star_errorf (th, "list: got %s, want iterable", type_name (x));
  return list_from (th, n, items);
}

static fb_value *
minmax (fb_star_thread *th, const fb_star_args *a, bool is_max)
{
  const char *fname = is_max ? "max" : "min";
  fb_value *key = NULL, **items;
  size_t n;
  for (size_t i = 0; i < a->nkw; i++)
    {
      if (strcmp (a->kwnames[i], "key"))
        return fb_star_errorf (th, "%s: unexpected keyword argument %s", fname,
                               a->kwnames[i]);
      key = a->kwvals[i];
    }
  if (a->npos == 0)
    return fb_star_errorf (th, "%s: got 0 arguments, want at least 1", fname);
  if (a->npos == 1)
    {
      if (iter_collect (th, a->pos[0], &items, &n) < 0)
        return fb_star_errorf (th, "%s: got %s, want iterable", fname,
                               type_name (a->pos[0]));
    }
  else
    {
      items = (fb_value **) a->pos;
      n = a->npos;
    }
  if (!n)
    return fb_star_errorf (th, "%s: argument is an empty sequence", fname);
  fb_value *best = items[0], *bestk = key ? call1 (th, key, best) : best;
  if (!bestk)
    return NULL;
  for (size_t i = 1; i < n; i++)
    {
      fb_value *k = key ? call1 (th, key, items[i]) : items[i];
      int c;
      if (!k || star_compare (th, k, bestk, &c) < 0)
        return NULL;
      if (is_max ? c > 0 : c < 0)
        {
          best = items[i];
          bestk = k;
        }
    }
  return best;
}

static fb_value *
b_max (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return minmax (th, a, true);
}

static fb_value *
b_min (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return minmax (th, a, false);
}

static fb_value *
b_ord (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x;
  if (fb_star_unpack (th, "ord", a, "s", &x, NULL) < 0)
    return NULL;
  if (vtype (x) == FB_V_BYTES)
    {
      if (STR (x)->len != 1)
        return fb_star_errorf (th, "ord: bytes has length %zu, want 1",
                               STR (x)->len);
      return mk_small ((unsigned char) STR (x)->s[0]);
    }
  if (vtype (x) != FB_V_STRING)
    return fb_star_errorf (th, "ord: got %s, want string", type_name (x));
  const char *s = STR (x)->s;
  size_t n = STR (x)->len;
  /* an invalid byte counts as one code point, U+FFFD (as starlark-go) */
  size_t len = n ? utf8_valid (s, n) : 0;
  if (n != (len ? len : 1))
    return fb_star_errorf (th, "ord: string encodes %zu Unicode code points, want 1",
                           utf8_count (s, n));
  uint32_t cp = len ? utf8_decode ((const unsigned char *) s, len) : 0xfffd;
  return mk_small (cp);
}

static fb_value *
b_print (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *rest;
  const char *sep = " ";
  if (fb_star_unpack (th, "print", a, "*", &rest, "sep?:s", &sep, NULL) < 0)
    return NULL;
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  for (size_t i = 0; i < TUPLE (rest)->len; i++)
    {
      if (i)
        fb_buf_puts (&b, sep);
      star_str_buf (th, TUPLE (rest)->items[i], &b);
    }
  if (th->cfg.print)
    th->cfg.print (th->cfg.print_ctx, fb_buf_str (&b));
  return NONE;
}

static fb_value *
b_range (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  int64_t start = 0, stop = 0, step = 1;
  fb_value *x1, *x2 = NULL, *x3 = NULL;
  if (a->nkw)
    return fb_star_errorf (th, "range: unexpected keyword arguments");
  if (fb_star_unpack (th, "range", a, "start_or_stop", &x1, "stop?", &x2,
                      "step?", &x3, NULL) < 0)
    return NULL;
  fb_value *vs[3] = { x1, x2, x3 };
  int64_t *outs[3] = { &start, &stop, &step };
  if (!x2)
    outs[0] = &stop;
  for (int i = 0; i < 3; i++)
    if (vs[i] && !fb_value_as_int64 (vs[i], outs[i]))
      return vtype (vs[i]) == FB_V_INT
                 ? fb_star_errorf (th, "range: argument out of range")
                 : fb_star_errorf (th, "range: got %s, want int",
                                   type_name (vs[i]));
  if (step == 0)
    return fb_star_errorf (th, "range: step argument must not be zero");
  fv_range *r = AS (fv_range, star_new (th, sizeof *r, FB_V_RANGE));
  r->start = start;
  r->stop = stop;
  r->step = step;
  __int128 len = 0;
  if (step > 0 && stop > start)
    len = ((__int128) stop - start + step - 1) / step;
  else if (step < 0 && start > stop)
    len = ((__int128) start - stop - step - 1) / -(__int128) step;
  if (len > INT32_MAX * (__int128) 1024)
    return fb_star_errorf (th, "range: result has too many elements");
  r->len = (int64_t) len;
  r->h.frozen = 1;
  return &r->h;
}

static fb_value *
b_repr (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x;
  if (fb_star_unpack (th, "repr", a, "x", &x, NULL) < 0)
    return NULL;
  return star_repr (th, x);
}

static fb_value *
b_reversed (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x, **items;
  size_t n;
  if (fb_star_unpack (th, "reversed", a, "sequence", &x, NULL) < 0)
    return NULL;
  if (iter_collect (th, x, &items, &n) < 0)
    return fb_star_errorf (th, "reversed: got %s, want iterable", type_name (x));
  fb_value **r = star_alloc (th, (n + 1) * sizeof *r);
  for (size_t i = 0; i < n; i++)
    r[i] = items[n - 1 - i];
  return list_from (th, n, r);
}

static fb_value *
b_set (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x = NULL, **items;
  size_t n;
  if (fb_star_unpack (th, "set", a, "x?", &x, NULL) < 0)
    return NULL;
  fb_value *s = &dict_new (th, FB_V_SET)->h;
  if (!x)
    return s;
  if (iter_collect (th, x, &items, &n) < 0)
    return fb_star_errorf (th, "set: got %s, want iterable", type_name (x));
  for (size_t i = 0; i < n; i++)
    if (dict_put (th, s, items[i], NULL) < 0)
      return NULL;
  return s;
}

static fb_value *
b_sorted (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x, *key = NULL, **items;
  bool reverse = false;
  size_t n;
  if (fb_star_unpack (th, "sorted", a, "iterable", &x, "key?", &key,
                      "reverse?:b", &reverse, NULL) < 0)
    return NULL;
  if (key == NONE)
    key = NULL;
  if (iter_collect (th, x, &items, &n) < 0)
    return fb_star_errorf (th, "sorted: got %s, want iterable", type_name (x));
  /* the result's own array is sorted in place; keys and scratch are
     malloc'd, freed on return rather than left in the region */
  fb_value *r = list_with_cap (th, n);
  fb_value **vals = LIST (r)->items;
  memcpy (vals, items, n * sizeof *vals);
  _cleanup_free_ fb_value **keys = NULL, **tk = fb_xmalloc ((n + 1) * sizeof *tk);
  _cleanup_free_ fb_value **tv = NULL;
  if (key)
    {
      keys = fb_xmalloc ((n + 1) * sizeof *keys);
      tv = fb_xmalloc ((n + 1) * sizeof *tv);
      for (size_t i = 0; i < n; i++)
        if (!(keys[i] = call1 (th, key, vals[i])))
          return NULL;
    }
  sort_ctx sc = { th, NULL, reverse, tk, tv };
  pick_cmp (&sc, key ? keys : vals, n);
  if (merge_sort (&sc, key ? keys : vals, key ? vals : NULL, n) < 0)
    return NULL;
  LIST (r)->len = n;
  return r;
}

static fb_value *
b_str (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x = NULL;
  if (a->npos == 1 && !a->nkw)
    x = a->pos[0]; /* hot: no generic unpacking */
  else if (fb_star_unpack (th, "str", a, "x?", &x, NULL) < 0)
    return NULL;
  if (!x)
    return fb_string_n (th, "", 0); /* str() is "", as in Python */
  if (vtype (x) == FB_V_BYTES)
    {
      _cleanup_buf_ fb_buf b = FB_BUF_INIT;
      utf8_sanitize (&b, STR (x)->s, STR (x)->len);
      return fb_string_n (th, fb_buf_str (&b), b.len);
    }
  return star_str (th, x);
}

static fb_value *
b_tuple (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x = NULL, **items;
  size_t n;
  if (fb_star_unpack (th, "tuple", a, "x?", &x, NULL) < 0)
    return NULL;
  if (!x)
    return fb_tuple_new (th, 0, NULL);
  if (vtype (x) == FB_V_TUPLE)
    return x;
  if (iter_collect (th, x, &items, &n) < 0)
    return fb_star_errorf (th, "tuple: got %s, want iterable", type_name (x));
  return fb_tuple_new (th, n, items);
}

static fb_value *
b_type (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x;
  if (fb_star_unpack (th, "type", a, "x", &x, NULL) < 0)
    return NULL;
  return fb_string (th, type_name (x));
}

static fb_value *
b_zip (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  if (a->nkw)
    return fb_star_errorf (th, "zip: unexpected keyword argument %s",
                           a->kwnames[0]);
  size_t m = a->npos, n = SIZE_MAX;
  fb_value ***cols = star_alloc (th, (m + 1) * sizeof *cols);
  for (size_t i = 0; i < m; i++)
    {
      size_t len;
      if (iter_collect (th, a->pos[i], &cols[i], &len) < 0)
        return fb_star_errorf (th, "zip: argument #%zu is not iterable: %s",
                               i + 1, type_name (a->pos[i]));
      if (len < n)
        n = len;
    }
  if (!m)
    n = 0;
  fb_value *l = list_from (th, 0, NULL);
  fb_value **row = star_alloc (th, (m + 1) * sizeof *row);
  for (size_t j = 0; j < n; j++)
    {
      for (size_t i = 0; i < m; i++)
        row[i] = cols[i][j];
      list_push (th, l, fb_tuple_new (th, m, row));
    }
  return l;
}

static fb_value *
b_struct (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  if (a->npos)
    return fb_star_errorf (th, "struct: unexpected positional arguments");
  return fb_struct_new (th, a->nkw, a->kwnames, a->kwvals);
}

/* ---- test-suite builtins (faultbox star --test-builtins) --------------- */

static fb_value *
b_catch (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *fn;
  if (fb_star_unpack (th, "catch", a, "fn", &fn, NULL) < 0)
    return NULL;
  frame *saved = th->frame;
  unsigned depth = th->depth;
  fb_star_args none = { 0 };
  fb_value *r = star_call_value (th, fn, &none);
  th->frame = saved;
  th->depth = depth;
  if (r)
    return NONE;
  fb_value *msg = fb_string (th, fb_buf_str (&th->err_msg));
  th->err_set = th->err_located = false;
  return msg;
}

static fb_value *
b_matches (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  const char *re, *s;
  if (fb_star_unpack (th, "matches", a, "regex:s", &re, "s:s", &s, NULL) < 0)
    return NULL;
  regex_t rx;
  int rc = regcomp (&rx, re, REG_EXTENDED | REG_NOSUB);
  if (rc)
    {
      char msg[256];
      regerror (rc, &rx, msg, sizeof msg);
      return fb_star_errorf (th, "matches: bad regex %s: %s", re, msg);
    }
  bool m = regexec (&rx, s, 0, NULL, 0) == 0;
  regfree (&rx);
  return BOOLV (m);
}

static fb_value *
b_freeze (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_value *x;
  if (fb_star_unpack (th, "freeze", a, "x", &x, NULL) < 0)
    return NULL;
  fb_value_freeze (x);
  return x;
}

static fb_value *
b_module (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  const char *name;
  fb_star_args pos = { a->npos, a->pos, 0, NULL, NULL };
  if (fb_star_unpack (th, "module", &pos, "name:s", &name, NULL) < 0)
    return NULL;
  return fb_module_value_new (th, name, a->nkw, a->kwnames, a->kwvals);
}

/* ---- the universe table ------------------------------------------------ */

typedef struct {
  const char *name;
  fb_builtin_fn fn;
} uentry;

static const uentry universe_fns[] = {
  { "abs", b_abs }, { "all", b_all }, { "any", b_any }, { "bool", b_bool },
  { "bytes", b_bytes }, { "chr", b_chr }, { "dict", b_dict }, { "dir", b_dir },
  { "enumerate", b_enumerate }, { "fail", b_fail }, { "float", b_float },
  { "getattr", b_getattr }, { "hasattr", b_hasattr }, { "hash", b_hash },
  { "int", b_int }, { "len", b_len }, { "list", b_list }, { "max", b_max },
  { "min", b_min }, { "ord", b_ord }, { "print", b_print },
  { "range", b_range }, { "repr", b_repr }, { "reversed", b_reversed },
  { "set", b_set }, { "sorted", b_sorted }, { "str", b_str },
  { "struct", b_struct }, { "tuple", b_tuple }, { "type", b_type },
  { "zip", b_zip },
};
#define NFNS (sizeof universe_fns / sizeof *universe_fns)

static fv_builtin universe_vals[NFNS];
char star_positional_only;

/* the built-ins of Go's that take keyword arguments */
static bool
takes_kwargs (const char *name)
{
  static const char *const kw[] = {
    "dict", "enumerate", "fail", "int", "max", "min", "print", "sorted",
    "struct",
  };
  for (size_t i = 0; i < sizeof kw / sizeof *kw; i++)
    if (!strcmp (kw[i], name))
      return true;
  return false;
}
static const char *universe_all[NFNS + 5];
static fb_value *json_value;
static pthread_once_t universe_once = PTHREAD_ONCE_INIT;

static void
universe_build (void)
{
  for (size_t i = 0; i < NFNS; i++)
    {
      universe_vals[i] = (fv_builtin) { { FB_V_BUILTIN, 1, 0, 0 },
                                        universe_fns[i].name,
                                        universe_fns[i].fn,
                                        takes_kwargs (universe_fns[i].name)
                                            ? NULL : POSITIONAL_ONLY,
                                        NULL };
      universe_all[i] = universe_fns[i].name;
    }
  universe_all[NFNS] = "None";
  universe_all[NFNS + 1] = "True";
  universe_all[NFNS + 2] = "False";
  universe_all[NFNS + 3] = "json";
  universe_all[NFNS + 4] = NULL;
  json_value = json_module (NULL);
}

void
universe_init (void)
{
  pthread_once (&universe_once, universe_build);
}

const char *const *
universe_names (void)
{
  return universe_all;
}

fb_value *
universe_lookup (const char *name)
{
  if (!strcmp (name, "None"))
    return NONE;
  if (!strcmp (name, "True"))
    return TRUE_V;
  if (!strcmp (name, "False"))
    return FALSE_V;
  if (!strcmp (name, "json"))
    return json_value;
  size_t lo = 0, hi = NFNS;
  while (lo < hi)
    {
      size_t mid = (lo + hi) / 2;
      int c = strcmp (universe_fns[mid].name, name);
      if (!c)
        return &universe_vals[mid].h;
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return NULL;
}

void
fb_star_predeclare_test_builtins (fb_star_thread *th)
{
  static const uentry t[] = {
    { "catch", b_catch }, { "matches", b_matches }, { "freeze", b_freeze },
    { "module", b_module },
  };
  for (size_t i = 0; i < sizeof t / sizeof *t; i++)
    fb_star_predeclare (th, t[i].name, fb_builtin_new (th, t[i].name, t[i].fn, NULL));
}

/* helpers for methods.c */
fb_value *star_recv (fb_value *self);
fb_value *
star_recv (fb_value *self)
{
  return recv_of (self);
}

bool star_no_args (fb_star_thread *th, const char *fname, const fb_star_args *a);
bool
star_no_args (fb_star_thread *th, const char *fname, const fb_star_args *a)
{
  return no_args (th, fname, a);
}

int star_dict_update (fb_star_thread *th, fb_value *d, const char *fname,
                      const fb_star_args *a);
int
star_dict_update (fb_star_thread *th, fb_value *d, const char *fname,
                  const fb_star_args *a)
{
  return dict_update (th, d, fname, a);
}
