/* Methods of the built-in types: string, bytes, list, dict, set. */
#include <ctype.h>
#include <stdlib.h>

#include "star/internal.h"

fb_value *star_recv (fb_value *self);
bool star_no_args (fb_star_thread *th, const char *fname, const fb_star_args *a);
int star_dict_update (fb_star_thread *th, fb_value *d, const char *fname,
                      const fb_star_args *a);

#define RECV star_recv (self)
#define METHOD(n) \
  static fb_value *n (fb_star_thread *th, fb_value *self, const fb_star_args *a)

/* ---- strings ----------------------------------------------------------- */

/* [start:end] of a string argument pair, as slice indices */
static bool
str_range (fb_star_thread *th, fb_value *start, fb_value *end, size_t len,
           size_t *lo, size_t *hi)
{
  int64_t a, b, step;
  if (star_slice_indices (th, start, end, NULL, (int64_t) len, &a, &b, &step) < 0)
    return false;
  *lo = (size_t) a;
  *hi = b < a ? (size_t) a : (size_t) b;
  return true;
}

static fb_value *
find_impl (fb_star_thread *th, fb_value *self, const fb_star_args *a,
           const char *fname, bool right, bool must)
{
  const char *sub;
  fb_value *start = NULL, *end = NULL;
  if (fb_star_unpack (th, fname, a, "sub:s", &sub, "start?", &start, "end?",
                      &end, NULL) < 0)
    return NULL;
  fv_string *s = STR (RECV);
  size_t lo, hi, n = strlen (sub);
  if (!str_range (th, start, end, s->len, &lo, &hi))
    return NULL;
  int64_t found = -1;
  if (hi - lo >= n)
    {
      if (!right)
        {
          const char *p = memmem (s->s + lo, hi - lo, sub, n);
          if (p)
            found = p - s->s;
        }
      else
        for (size_t i = hi - n + 1; i-- > lo;)
          if (!memcmp (s->s + i, sub, n))
            {
              found = (int64_t) i;
              break;
            }
    }
  if (found < 0 && must)
    return fb_star_errorf (th, "%s: substring not found", fname);
  return mk_small (found);
}

METHOD (s_find) { return find_impl (th, self, a, "find", false, false); }
METHOD (s_rfind) { return find_impl (th, self, a, "rfind", true, false); }
METHOD (s_index) { return find_impl (th, self, a, "index", false, true); }
METHOD (s_rindex) { return find_impl (th, self, a, "rindex", true, true); }

METHOD (s_count)
{
  const char *sub;
  fb_value *start = NULL, *end = NULL;
  if (fb_star_unpack (th, "count", a, "sub:s", &sub, "start?", &start, "end?",
                      &end, NULL) < 0)
    return NULL;
  fv_string *s = STR (RECV);
  size_t lo, hi, n = strlen (sub), c = 0;
  if (!str_range (th, start, end, s->len, &lo, &hi))
    return NULL;
  if (!n)
    return mk_small ((int64_t) (hi - lo + 1));
  for (const char *p = s->s + lo, *e = s->s + hi;
       (p = memmem (p, (size_t) (e - p), sub, n)); p += n)
    c++;
  return mk_small ((int64_t) c);
}

static fb_value *
affix_impl (fb_star_thread *th, fb_value *self, const fb_star_args *a,
            const char *fname, bool suffix)
{
  fb_value *x, *start = NULL, *end = NULL;
  if (fb_star_unpack (th, fname, a, suffix ? "suffix" : "prefix", &x, "start?",
                      &start, "end?", &end, NULL) < 0)
    return NULL;
  fv_string *s = STR (RECV);
  size_t lo, hi;
  if (!str_range (th, start, end, s->len, &lo, &hi))
    return NULL;
  fb_value **cands = &x;
  size_t nc = 1;
  if (vtype (x) == FB_V_TUPLE)
    {
      cands = TUPLE (x)->items;
      nc = TUPLE (x)->len;
    }
  for (size_t i = 0; i < nc; i++)
    {
      if (vtype (cands[i]) != vtype (RECV))
        return fb_star_errorf (th, "%s: got %s, want %s or tuple of %s", fname,
                               type_name (cands[i]), type_name (RECV),
                               type_name (RECV));
      fv_string *p = STR (cands[i]);
      if (p->len > hi - lo)
        continue;
      const char *at = suffix ? s->s + hi - p->len : s->s + lo;
      if (!memcmp (at, p->s, p->len))
        return TRUE_V;
    }
  return FALSE_V;
}

METHOD (s_startswith) { return affix_impl (th, self, a, "startswith", false); }
METHOD (s_endswith) { return affix_impl (th, self, a, "endswith", true); }

static fb_value *
same_kind (fb_star_thread *th, fb_value *like, const char *p, size_t n)
{
  return vtype (like) == FB_V_BYTES ? fb_bytes_n (th, p, n)
                                    : fb_string_n (th, p, n);
}

/* Simple case mapping of ASCII, Latin-1, Latin Extended-A, Greek and
   Cyrillic (what spec strings meet); other code points have no case. */
static uint32_t
case_map (uint32_t cp, bool upper)
{
  if (cp < 0x80)
    return (uint32_t) (upper ? toupper ((int) cp) : tolower ((int) cp));
  if (upper)
    {
      if ((cp >= 0xe0 && cp <= 0xfe && cp != 0xf7)
          || (cp >= 0x3b1 && cp <= 0x3cb && cp != 0x3c2)
          || (cp >= 0x430 && cp <= 0x44f))
        return cp - 0x20;
      if (cp == 0xff)
        return 0x178;
      if (cp == 0x3c2)
        return 0x3a3;
      if (cp >= 0x450 && cp <= 0x45f)
        return cp - 0x50;
    }
  else
    {
      if ((cp >= 0xc0 && cp <= 0xde && cp != 0xd7)
          || (cp >= 0x391 && cp <= 0x3ab && cp != 0x3a2)
          || (cp >= 0x410 && cp <= 0x42f))
        return cp + 0x20;
      if (cp == 0x178)
        return 0xff;
      if (cp >= 0x400 && cp <= 0x40f)
        return cp + 0x50;
    }
  /* Latin Extended-A pairs: even upper/odd lower, then odd/even */
  bool even_pairs = (cp >= 0x100 && cp <= 0x12f) || (cp >= 0x132 && cp <= 0x137)
                    || (cp >= 0x14a && cp <= 0x177);
  bool odd_pairs = (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e);
  if (even_pairs || odd_pairs)
    {
      bool is_upper = (cp % 2 == 0) == even_pairs;
      if (is_upper != upper)
        return upper ? cp - 1 : cp + 1;
    }
  return cp;
}

static bool
is_cased (uint32_t cp)
{
  return case_map (cp, true) != cp || case_map (cp, false) != cp;
}

static bool
ascii_only (const fv_string *s)
{
  for (size_t i = 0; i < s->len; i++)
    if (s->s[i] & 0x80)
      return false;
  return true;
}

/* mode: 0 lower, 1 upper, 2 capitalize, 3 title */
static fb_value *
map_chars (fb_star_thread *th, fb_value *self, const fb_star_args *a,
           const char *fname, int mode)
{
  if (!star_no_args (th, fname, a))
    return NULL;
  fv_string *s = STR (RECV);
  if (mode < 2 && ascii_only (s))
    {
      fv_string *r = star_string_new (th, s->len, vtype (RECV));
      char lo = mode ? 'a' : 'A', flip = 'a' - 'A';
      for (size_t i = 0; i < s->len; i++)
        r->s[i] = s->s[i] >= lo && s->s[i] <= lo + 25 ? s->s[i] ^ flip : s->s[i];
      return &r->h;
    }
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  bool start = true;
  for (size_t i = 0; i < s->len;)
    {
      size_t len = utf8_valid (s->s + i, s->len - i);
      if (!len) /* a stray byte is kept */
        {
          fb_buf_putc (&b, s->s[i++]);
          start = true;
          continue;
        }
      uint32_t cp = utf8_decode ((const unsigned char *) s->s + i, len);
      bool up = mode == 1 || (mode == 2 && i == 0) || (mode == 3 && start);
      utf8_append (&b, case_map (cp, up));
      start = !(cp < 0x80 ? isalpha ((int) cp) != 0 : is_cased (cp));
      i += len;
    }
  return same_kind (th, RECV, fb_buf_str (&b), b.len);
}

METHOD (s_lower) { return map_chars (th, self, a, "lower", 0); }
METHOD (s_upper) { return map_chars (th, self, a, "upper", 1); }
METHOD (s_capitalize) { return map_chars (th, self, a, "capitalize", 2); }
METHOD (s_title) { return map_chars (th, self, a, "title", 3); }

static fb_value *
test_chars (fb_star_thread *th, fb_value *self, const fb_star_args *a,
            const char *fname, int (*pred) (int))
{
  if (!star_no_args (th, fname, a))
    return NULL;
  fv_string *s = STR (RECV);
  if (!s->len)
    return FALSE_V;
  for (size_t i = 0; i < s->len; i++)
    if (!pred ((unsigned char) s->s[i]))
      return FALSE_V;
  return TRUE_V;
}

METHOD (s_isalnum) { return test_chars (th, self, a, "isalnum", isalnum); }
METHOD (s_isalpha) { return test_chars (th, self, a, "isalpha", isalpha); }
METHOD (s_isdigit) { return test_chars (th, self, a, "isdigit", isdigit); }
METHOD (s_isspace) { return test_chars (th, self, a, "isspace", isspace); }

static fb_value *
case_test (fb_star_thread *th, fb_value *self, const fb_star_args *a,
           const char *fname, bool upper)
{
  if (!star_no_args (th, fname, a))
    return NULL;
  fv_string *s = STR (RECV);
  bool cased = false;
  for (size_t i = 0; i < s->len; i++)
    {
      int c = (unsigned char) s->s[i];
      if (upper ? islower (c) : isupper (c))
        return FALSE_V;
      cased |= isalpha (c) != 0;
    }
  return BOOLV (cased);
}

METHOD (s_islower) { return case_test (th, self, a, "islower", false); }
METHOD (s_isupper) { return case_test (th, self, a, "isupper", true); }

METHOD (s_istitle)
{
  if (!star_no_args (th, "istitle", a))
    return NULL;
  fv_string *s = STR (RECV);
  bool cased = false, prev_cased = false;
  for (size_t i = 0; i < s->len; i++)
    {
      int c = (unsigned char) s->s[i];
      if (isupper (c))
        {
          if (prev_cased)
            return FALSE_V;
          prev_cased = cased = true;
        }
      else if (islower (c))
        {
          if (!prev_cased)
            return FALSE_V;
          prev_cased = cased = true;
        }
      else
        prev_cased = false;
    }
  return BOOLV (cased);
}

METHOD (s_join)
{
  fb_value *x, **items;
  size_t n;
  if (fb_star_unpack (th, "join", a, "iterable", &x, NULL) < 0)
    return NULL;
  if (iter_collect (th, x, &items, &n) < 0)
    return fb_star_errorf (th, "join: got %s, want iterable", type_name (x));
  fv_string *sep = STR (RECV);
  size_t total = 0; /* checked before building: ["x" * 10**6] * 10**5 */
  for (size_t i = 0; i < n; i++)
    {
      if (vtype (items[i]) != FB_V_STRING)
        return fb_star_errorf (th, "join: in list, want string, got %s",
                               type_name (items[i]));
      total += STR (items[i])->len + (i ? sep->len : 0);
      if (!star_fits (th, total))
        return NULL;
    }
  fv_string *r = star_string_new (th, total, FB_V_STRING);
  char *p = r->s;
  for (size_t i = 0; i < n; i++)
    {
      if (i)
        p = mempcpy (p, sep->s, sep->len);
      p = mempcpy (p, STR (items[i])->s, STR (items[i])->len);
    }
  return &r->h;
}

static fb_value *
strip_impl (fb_star_thread *th, fb_value *self, const fb_star_args *a,
            const char *fname, bool left, bool right)
{
  fb_value *chars = NONE;
  if (fb_star_unpack (th, fname, a, "chars?", &chars, NULL) < 0)
    return NULL;
  const char *set = NULL;
  if (chars != NONE)
    {
      if (vtype (chars) != FB_V_STRING)
        return fb_star_errorf (th, "%s: got %s, want string", fname,
                               type_name (chars));
      if (STR (chars)->len) /* "" strips white space, as in starlark-go */
        set = STR (chars)->s;
    }
  fv_string *s = STR (RECV);
  size_t lo = 0, hi = s->len;
#define STRIPPABLE(c) (set ? strchr (set, (c)) != NULL && (c) : isspace ((unsigned char) (c)))
  while (left && lo < hi && STRIPPABLE (s->s[lo]))
    lo++;
  while (right && hi > lo && STRIPPABLE (s->s[hi - 1]))
    hi--;
#undef STRIPPABLE
  return same_kind (th, RECV, s->s + lo, hi - lo);
}

METHOD (s_strip) { return strip_impl (th, self, a, "strip", true, true); }
METHOD (s_lstrip) { return strip_impl (th, self, a, "lstrip", true, false); }
METHOD (s_rstrip) { return strip_impl (th, self, a, "rstrip", false, true); }

static fb_value *
partition_impl (fb_star_thread *th, fb_value *self, const fb_star_args *a,
                const char *fname, bool right)
{
  const char *sep;
  if (fb_star_unpack (th, fname, a, "sep:s", &sep, NULL) < 0)
    return NULL;
  size_t n = strlen (sep);
  if (!n)
    return fb_star_errorf (th, "%s: empty separator", fname);
  fv_string *s = STR (RECV);
  const char *p = NULL;
  if (!right)
    p = memmem (s->s, s->len, sep, n);
  else
    for (size_t i = s->len >= n ? s->len - n + 1 : 0; i-- > 0;)
      if (!memcmp (s->s + i, sep, n))
        {
          p = s->s + i;
          break;
        }
  fb_value *parts[3];
  fb_value *empty = fb_string_n (th, "", 0);
  if (!p)
    {
      parts[0] = right ? empty : RECV;
      parts[1] = empty;
      parts[2] = right ? RECV : empty;
    }
  else
    {
      parts[0] = fb_string_n (th, s->s, (size_t) (p - s->s));
      parts[1] = fb_string_n (th, sep, n);
      parts[2] = fb_string_n (th, p + n, s->len - (size_t) (p - s->s) - n);
    }
  return fb_tuple_new (th, 3, parts);
}

METHOD (s_partition) { return partition_impl (th, self, a, "partition", false); }
METHOD (s_rpartition) { return partition_impl (th, self, a, "rpartition", true); }

static fb_value *
affix_remove (fb_star_thread *th, fb_value *self, const fb_star_args *a,
              const char *fname, bool suffix)
{
  const char *x;
  if (fb_star_unpack (th, fname, a, suffix ? "suffix:s" : "prefix:s", &x, NULL) < 0)
    return NULL;
  fv_string *s = STR (RECV);
  size_t n = strlen (x);
  if (n > s->len)
    return RECV;
  if (!suffix && !memcmp (s->s, x, n))
    return fb_string_n (th, s->s + n, s->len - n);
  if (suffix && !memcmp (s->s + s->len - n, x, n))
    return fb_string_n (th, s->s, s->len - n);
  return RECV;
}

METHOD (s_removeprefix) { return affix_remove (th, self, a, "removeprefix", false); }
METHOD (s_removesuffix) { return affix_remove (th, self, a, "removesuffix", true); }

/* replace with a non-empty old: the length first, then the string. */
static fb_value *
replace_found (fb_star_thread *th, fv_string *s, const char *old, size_t no,
               const char *new, size_t nn, int64_t count)
{
  const char *end = s->s + s->len, *p = s->s;
  size_t k = 0;
  for (; (count < 0 || (int64_t) k < count)
         && (p = memmem (p, (size_t) (end - p), old, no));
       p += no)
    k++;
  size_t len = s->len - k * no + k * nn;
  if (nn > no && !star_fits (th, len + 1))
    return NULL;
  fv_string *r = star_string_new (th, len, FB_V_STRING);
  char *d = r->s;
  p = s->s;
  for (size_t j = 0; j < k; j++)
    {
      const char *q = memmem (p, (size_t) (end - p), old, no);
      d = mempcpy (mempcpy (d, p, (size_t) (q - p)), new, nn);
      p = q + no;
    }
  memcpy (d, p, (size_t) (end - p));
  return &r->h;
}

METHOD (s_replace)
{
  const char *old, *new;
  int64_t count = -1;
  if (fb_star_unpack (th, "replace", a, "old:s", &old, "new:s", &new,
                      "count?:i", &count, NULL) < 0)
    return NULL;
  fv_string *s = STR (RECV);
  size_t no = strlen (old), nn = strlen (new);
  if (no)
    return replace_found (th, s, old, no, new, nn, count);
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  for (size_t i = 0; i <= s->len && (count < 0 || (int64_t) i < count); i++)
    {
      fb_buf_append (&b, new, nn);
      if (i < s->len)
        fb_buf_putc (&b, s->s[i]);
    }
  size_t i = count < 0 ? s->len + 1 : (size_t) count;
  if (i < s->len)
    fb_buf_append (&b, s->s + i, s->len - i);
  return fb_string_n (th, fb_buf_str (&b), b.len);
}

static fb_value *
split_impl (fb_star_thread *th, fb_value *self, const fb_star_args *a,
            const char *fname, bool right)
{
  fb_value *sepv = NONE;
  int64_t maxsplit = -1;
  if (fb_star_unpack (th, fname, a, "sep?", &sepv, "maxsplit?:i", &maxsplit,
                      NULL) < 0)
    return NULL;
  fv_string *s = STR (RECV);
  fb_value *l = list_from (th, 0, NULL);
  if (sepv == NONE)
    {
      /* runs of whitespace; leading/trailing ignored */
      size_t lo = 0, hi = s->len;
      if (!right)
        {
          int64_t done = 0;
          while (lo < hi)
            {
              while (lo < hi && isspace ((unsigned char) s->s[lo]))
                lo++;
              if (lo == hi)
                break;
              if (maxsplit >= 0 && done == maxsplit)
                {
                  /* like Python, the rest keeps its trailing space */
                  list_push (th, l, fb_string_n (th, s->s + lo, hi - lo));
                  break;
                }
              size_t e = lo;
              while (e < hi && !isspace ((unsigned char) s->s[e]))
                e++;
              list_push (th, l, fb_string_n (th, s->s + lo, e - lo));
              done++;
              lo = e;
            }
          return l;
        }
      fb_value *rev = list_from (th, 0, NULL);
      int64_t done = 0;
      while (hi > lo)
        {
          while (hi > lo && isspace ((unsigned char) s->s[hi - 1]))
            hi--;
          if (hi == lo)
            break;
          if (maxsplit >= 0 && done == maxsplit)
            {
              list_push (th, rev, fb_string_n (th, s->s + lo, hi - lo));
              break;
            }
          size_t b = hi;
          while (b > lo && !isspace ((unsigned char) s->s[b - 1]))
            b--;
          list_push (th, rev, fb_string_n (th, s->s + b, hi - b));
          done++;
          hi = b;
        }
      for (size_t i = LIST (rev)->len; i-- > 0;)
        list_push (th, l, LIST (rev)->items[i]);
      return l;
    }
  if (vtype (sepv) != FB_V_STRING)
    return fb_star_errorf (th, "%s: got %s for sep, want string", fname,
                           type_name (sepv));
  const char *sep = STR (sepv)->s;
  size_t n = STR (sepv)->len;
  if (!n)
    return fb_star_errorf (th, "%s: empty separator", fname);
  if (!right)
    {
      size_t i = 0, k = 1;
      int64_t done = 0;
      for (const char *p = s->s, *e = s->s + s->len;
           (maxsplit < 0 || (int64_t) k <= maxsplit)
           && (p = memmem (p, (size_t) (e - p), sep, n));
           p += n)
        k++;
      list_reserve (th, l, k);
      for (;;)
        {
          const char *p = (maxsplit < 0 || done < maxsplit)
                              ? memmem (s->s + i, s->len - i, sep, n)
                              : NULL;
          if (!p)
            {
              list_push (th, l, fb_string_n (th, s->s + i, s->len - i));
              return l;
            }
          list_push (th, l, fb_string_n (th, s->s + i, (size_t) (p - s->s) - i));
          i = (size_t) (p - s->s) + n;
          done++;
        }
    }
  fb_value *rev = list_from (th, 0, NULL);
  size_t hi = s->len;
  int64_t done = 0;
  for (;;)
    {
      const char *p = NULL;
      if ((maxsplit < 0 || done < maxsplit) && hi >= n)
        for (size_t i = hi - n + 1; i-- > 0;)
          if (!memcmp (s->s + i, sep, n))
            {
              p = s->s + i;
              break;
            }
      if (!p)
        {
          list_push (th, rev, fb_string_n (th, s->s, hi));
          break;
        }
      list_push (th, rev, fb_string_n (th, p + n, hi - (size_t) (p - s->s) - n));
      hi = (size_t) (p - s->s);
      done++;
    }
  for (size_t i = LIST (rev)->len; i-- > 0;)
    list_push (th, l, LIST (rev)->items[i]);
  return l;
}

METHOD (s_split) { return split_impl (th, self, a, "split", false); }
METHOD (s_rsplit) { return split_impl (th, self, a, "rsplit", true); }

METHOD (s_splitlines)
{
  bool keep = false;
  if (fb_star_unpack (th, "splitlines", a, "keepends?:b", &keep, NULL) < 0)
    return NULL;
  fv_string *s = STR (RECV);
  fb_value *l = list_from (th, 0, NULL);
  size_t i = 0;
  while (i < s->len)
    {
      size_t e = i;
      while (e < s->len && s->s[e] != '\n' && s->s[e] != '\r')
        e++;
      size_t nl = 0;
      if (e < s->len)
        nl = (s->s[e] == '\r' && e + 1 < s->len && s->s[e + 1] == '\n') ? 2 : 1;
      list_push (th, l, fb_string_n (th, s->s + i, e - i + (keep ? nl : 0)));
      i = e + nl;
    }
  return l;
}

/* mode: 0 elems (1-byte strings), 1 elem_ords, 2 codepoints, 3 codepoint_ords */
static fb_value *
elems_impl (fb_star_thread *th, fb_value *self, const fb_star_args *a,
            const char *fname, int mode)
{
  if (!star_no_args (th, fname, a))
    return NULL;
  fv_string *s = STR (RECV);
  fb_value *l = list_from (th, 0, NULL);
  bool bytes = vtype (RECV) == FB_V_BYTES;
  for (size_t i = 0; i < s->len;)
    {
      const unsigned char *p = (const unsigned char *) s->s + i;
      /* an invalid byte is one code point: itself, or U+FFFD as an ord (as
         starlark-go) */
      size_t len = mode >= 2 ? utf8_valid ((const char *) p, s->len - i) : 1;
      fb_value *v;
      if (mode == 0 && bytes)
        v = mk_small (p[0]);
      else if (mode == 0 || mode == 2)
        v = fb_string_n (th, (const char *) p, len ? len : 1);
      else if (mode == 1)
        v = mk_small (p[0]);
      else
        v = mk_small (len ? utf8_decode (p, len) : 0xfffd);
      list_push (th, l, v);
      i += len ? len : 1;
    }
  return l;
}

METHOD (s_elems) { return elems_impl (th, self, a, "elems", 0); }
METHOD (s_elem_ords) { return elems_impl (th, self, a, "elem_ords", 1); }
METHOD (s_codepoints) { return elems_impl (th, self, a, "codepoints", 2); }
METHOD (s_codepoint_ords) { return elems_impl (th, self, a, "codepoint_ords", 3); }

METHOD (s_format) { return str_format (th, RECV, a); }

static const method_entry string_methods[] = {
  { "capitalize", s_capitalize, false }, { "codepoint_ords", s_codepoint_ords, false },
  { "codepoints", s_codepoints, false }, { "count", s_count, false },
  { "elem_ords", s_elem_ords, false }, { "elems", s_elems, false },
  { "endswith", s_endswith, false }, { "find", s_find, false }, { "format", s_format, true },
  { "index", s_index, false }, { "isalnum", s_isalnum, false }, { "isalpha", s_isalpha, false },
  { "isdigit", s_isdigit, false }, { "islower", s_islower, false },
  { "isspace", s_isspace, false }, { "istitle", s_istitle, false },
  { "isupper", s_isupper, false }, { "join", s_join, false }, { "lower", s_lower, false },
  { "lstrip", s_lstrip, false }, { "partition", s_partition, false },
  { "removeprefix", s_removeprefix, false }, { "removesuffix", s_removesuffix, false },
  { "replace", s_replace, false }, { "rfind", s_rfind, false }, { "rindex", s_rindex, false },
  { "rpartition", s_rpartition, false }, { "rsplit", s_rsplit, true },
  { "rstrip", s_rstrip, false }, { "split", s_split, true },
  { "splitlines", s_splitlines, true }, { "startswith", s_startswith, false },
  { "strip", s_strip, false }, { "title", s_title, false }, { "upper", s_upper, false },
};

static const method_entry bytes_methods[] = {
  { "elems", s_elems, false },
};

/* ---- lists ------------------------------------------------------------- */

METHOD (l_append)
{
  fb_value *x;
  if (a->npos == 1)
    x = a->pos[0]; /* hot: no generic unpacking */
  else if (fb_star_unpack (th, "append", a, "x", &x, NULL) < 0)
    return NULL;
  return fb_list_append (th, RECV, x) < 0 ? NULL : NONE;
}

METHOD (l_clear)
{
  if (!star_no_args (th, "clear", a) || !check_mutable (th, RECV, "clear"))
    return NULL;
  LIST (RECV)->len = 0;
  return NONE;
}

METHOD (l_extend)
{
  fb_value *x, **items;
  size_t n;
  if (fb_star_unpack (th, "extend", a, "iterable", &x, NULL) < 0
      || !check_mutable (th, RECV, "extend"))
    return NULL;
  if (iter_collect (th, x, &items, &n) < 0)
    return fb_star_errorf (th, "extend: got %s, want iterable", type_name (x));
  for (size_t i = 0; i < n; i++)
    list_push (th, RECV, items[i]);
  return NONE;
}

METHOD (l_index)
{
  fb_value *x, *start = NULL, *end = NULL;
  if (fb_star_unpack (th, "index", a, "x", &x, "start?", &start, "end?", &end,
                      NULL) < 0)
    return NULL;
  fv_list *l = LIST (RECV);
  size_t lo, hi;
  if (!str_range (th, start, end, l->len, &lo, &hi))
    return NULL;
  for (size_t i = lo; i < hi; i++)
    {
      bool eq;
      if (star_equal (th, l->items[i], x, &eq) < 0)
        return NULL;
      if (eq)
        return mk_small ((int64_t) i);
    }
  char *r = fb_value_repr (th, x);
  fb_star_errorf (th, "index: value %s not in list", r);
  free (r);
  return NULL;
}

METHOD (l_insert)
{
  int64_t i;
  fb_value *x;
  if (fb_star_unpack (th, "insert", a, "index:i", &i, "x", &x, NULL) < 0
      || !check_mutable (th, RECV, "insert into"))
    return NULL;
  fv_list *l = LIST (RECV);
  int64_t n = (int64_t) l->len;
  if (i < 0)
    i += n;
  if (i < 0)
    i = 0;
  if (i > n)
    i = n;
  list_push (th, RECV, x);
  memmove (l->items + i + 1, l->items + i, (size_t) (n - i) * sizeof *l->items);
  l->items[i] = x;
  return NONE;
}

METHOD (l_pop)
{
  fv_list *l = LIST (RECV);
  int64_t i = (int64_t) l->len - 1;
  fb_value *iv = NULL;
  if (a->npos <= 1)
    iv = a->npos ? a->pos[0] : NULL; /* hot: no generic unpacking */
  else if (fb_star_unpack (th, "pop", a, "index?", &iv, NULL) < 0)
    return NULL;
  if (!check_mutable (th, RECV, "pop from"))
    return NULL;
  if (iv)
    {
      if (!fb_value_as_int64 (iv, &i))
        return fb_star_errorf (th, "pop: got %s, want int", type_name (iv));
      if (i < 0)
        i += (int64_t) l->len;
    }
  if (i < 0 || i >= (int64_t) l->len)
    return fb_star_errorf (th, "pop: index %lld out of range [0:%zu]",
                           (long long) i, l->len);
  fb_value *v = l->items[i];
  memmove (l->items + i, l->items + i + 1,
           (l->len - (size_t) i - 1) * sizeof *l->items);
  l->len--;
  return v;
}

METHOD (l_remove)
{
  fb_value *x;
  if (fb_star_unpack (th, "remove", a, "x", &x, NULL) < 0
      || !check_mutable (th, RECV, "remove from"))
    return NULL;
  fv_list *l = LIST (RECV);
  for (size_t i = 0; i < l->len; i++)
    {
      bool eq;
      if (star_equal (th, l->items[i], x, &eq) < 0)
        return NULL;
      if (eq)
        {
          memmove (l->items + i, l->items + i + 1,
                   (l->len - i - 1) * sizeof *l->items);
          l->len--;
          return NONE;
        }
    }
  char *r = fb_value_repr (th, x);
  fb_star_errorf (th, "remove: element %s not found", r);
  free (r);
  return NULL;
}

static const method_entry list_methods[] = {
  { "append", l_append, false }, { "clear", l_clear, false }, { "extend", l_extend, false },
  { "index", l_index, false }, { "insert", l_insert, false }, { "pop", l_pop, false },
  { "remove", l_remove, false },
};

/* ---- dicts ------------------------------------------------------------- */

METHOD (d_clear)
{
  if (!star_no_args (th, "clear", a) || !check_mutable (th, RECV, "clear"))
    return NULL;
  dict_clear (DICT (RECV));
  return NONE;
}

METHOD (d_get)
{
  fb_value *k, *dflt = NONE, *v;
  /* hot: skip the generic unpacking (keywords were refused already) */
  if (a->npos == 1 || a->npos == 2)
    {
      k = a->pos[0];
      if (a->npos == 2)
        dflt = a->pos[1];
    }
  else if (fb_star_unpack (th, "get", a, "key", &k, "default?", &dflt,
                           NULL) < 0)
    return NULL;
  int rc = dict_lookup (th, RECV, k, &v);
  if (rc < 0)
    return NULL;
  return rc ? v : dflt;
}

static fb_value *
dict_view (fb_star_thread *th, fb_value *self, const fb_star_args *a,
           const char *fname, int mode)
{
  if (!star_no_args (th, fname, a))
    return NULL;
  fv_dict *d = DICT (RECV);
  fb_value **items = star_alloc (th, (d->len + 1) * sizeof *items);
  size_t n = 0;
  for (size_t i = 0; i < d->used; i++)
    {
      fv_entry *e = &d->entries[i];
      if (!e->key)
        continue;
      if (mode == 0)
        items[n++] = e->key;
      else if (mode == 1)
        items[n++] = e->val;
      else
        {
          fb_value *pair[2] = { e->key, e->val };
          items[n++] = fb_tuple_new (th, 2, pair);
        }
    }
  return list_from (th, n, items);
}

METHOD (d_keys) { return dict_view (th, self, a, "keys", 0); }
METHOD (d_values) { return dict_view (th, self, a, "values", 1); }
METHOD (d_items) { return dict_view (th, self, a, "items", 2); }

METHOD (d_pop)
{
  fb_value *k, *dflt = NULL, *old;
  if (fb_star_unpack (th, "pop", a, "key", &k, "default?", &dflt, NULL) < 0)
    return NULL;
  int rc = dict_del (th, RECV, k, &old);
  if (rc < 0)
    return NULL;
  if (rc)
    return old;
  if (dflt)
    return dflt;
  char *r = fb_value_repr (th, k);
  fb_star_errorf (th, "pop: missing key %s", r);
  free (r);
  return NULL;
}

METHOD (d_popitem)
{
  if (!star_no_args (th, "popitem", a))
    return NULL;
  fb_value *k, *v, *old;
  if (!fb_dict_entry (RECV, 0, &k, &v))
    return fb_star_errorf (th, "popitem: empty dict");
  if (dict_del (th, RECV, k, &old) < 0)
    return NULL;
  fb_value *pair[2] = { k, v };
  return fb_tuple_new (th, 2, pair);
}

METHOD (d_setdefault)
{
  fb_value *k, *dflt = NONE, *v;
  if (fb_star_unpack (th, "setdefault", a, "key", &k, "default?", &dflt, NULL) < 0)
    return NULL;
  int rc = dict_lookup (th, RECV, k, &v);
  if (rc < 0)
    return NULL;
  if (rc)
    return v;
  return dict_put (th, RECV, k, dflt) < 0 ? NULL : dflt;
}

METHOD (d_update)
{
  return star_dict_update (th, RECV, "update", a) < 0 ? NULL : NONE;
}

static const method_entry dict_methods[] = {
  { "clear", d_clear, false }, { "get", d_get, false }, { "items", d_items, false },
  { "keys", d_keys, false }, { "pop", d_pop, false }, { "popitem", d_popitem, false },
  { "setdefault", d_setdefault, false }, { "update", d_update, true },
  { "values", d_values, false },
};

/* ---- sets -------------------------------------------------------------- */

METHOD (st_add)
{
  fb_value *x, *v;
  if (fb_star_unpack (th, "add", a, "x", &x, NULL) < 0)
    return NULL;
  int rc = dict_lookup (th, RECV, x, &v);
  if (rc < 0)
    return NULL;
  if (rc)
    return NONE; /* adding a present element is not a mutation */
  return dict_put (th, RECV, x, NULL) < 0 ? NULL : NONE;
}

METHOD (st_clear)
{
  if (!star_no_args (th, "clear", a) || !check_mutable (th, RECV, "clear"))
    return NULL;
  dict_clear (DICT (RECV));
  return NONE;
}

static fb_value *
set_remove (fb_star_thread *th, fb_value *self, const fb_star_args *a,
            const char *fname, bool must)
{
  fb_value *x, *old;
  if (fb_star_unpack (th, fname, a, "x", &x, NULL) < 0)
    return NULL;
  int rc = dict_del (th, RECV, x, &old);
  if (rc < 0)
    return NULL;
  if (!rc && must)
    {
      char *r = fb_value_repr (th, x);
      fb_star_errorf (th, "remove: missing key %s", r);
      free (r);
      return NULL;
    }
  return NONE;
}

METHOD (st_discard) { return set_remove (th, self, a, "discard", false); }
METHOD (st_remove) { return set_remove (th, self, a, "remove", true); }

METHOD (st_pop)
{
  if (!star_no_args (th, "pop", a))
    return NULL;
  fb_value *k, *old;
  if (!fb_dict_entry (RECV, 0, &k, NULL))
    return fb_star_errorf (th, "pop: empty set");
  if (dict_del (th, RECV, k, &old) < 0)
    return NULL;
  return k;
}

static fb_value *
set_algebra (fb_star_thread *th, fb_value *self, const fb_star_args *a,
             const char *fname, tok_kind op)
{
  fb_value *rest;
  if (fb_star_unpack (th, fname, a, "*", &rest, NULL) < 0)
    return NULL;
  fb_value *acc = RECV;
  for (size_t i = 0; i < TUPLE (rest)->len; i++)
    {
      fb_value *other = TUPLE (rest)->items[i], **items;
      size_t n;
      if (vtype (other) != FB_V_SET)
        {
          if (iter_collect (th, other, &items, &n) < 0)
            return fb_star_errorf (th, "%s: got %s, want iterable", fname,
                                   type_name (other));
          fb_value *s = &dict_new (th, FB_V_SET)->h;
          for (size_t k = 0; k < n; k++)
            if (dict_put (th, s, items[k], NULL) < 0)
              return NULL;
          other = s;
        }
      if (!(acc = star_binary (th, op, acc, other)))
        return NULL;
    }
  if (acc == RECV)
    acc = star_binary (th, T_PIPE, acc, &dict_new (th, FB_V_SET)->h);
  return acc;
}

METHOD (st_union) { return set_algebra (th, self, a, "union", T_PIPE); }
METHOD (st_intersection) { return set_algebra (th, self, a, "intersection", T_AMP); }
METHOD (st_difference) { return set_algebra (th, self, a, "difference", T_MINUS); }
METHOD (st_symmetric_difference)
{
  return set_algebra (th, self, a, "symmetric_difference", T_CIRCUMFLEX);
}

static fb_value *
subset_impl (fb_star_thread *th, fb_value *self, const fb_star_args *a,
             const char *fname, bool super)
{
  fb_value *x, **items, *v;
  size_t n;
  if (fb_star_unpack (th, fname, a, "x", &x, NULL) < 0)
    return NULL;
  if (iter_collect (th, x, &items, &n) < 0)
    return fb_star_errorf (th, "%s: got %s, want iterable", fname, type_name (x));
  fb_value *other = &dict_new (th, FB_V_SET)->h;
  for (size_t i = 0; i < n; i++)
    if (dict_put (th, other, items[i], NULL) < 0)
      return NULL;
  fb_value *small = super ? other : RECV, *big = super ? RECV : other, *k;
  for (size_t i = 0; fb_dict_entry (small, i, &k, NULL); i++)
    if (dict_lookup (th, big, k, &v) <= 0)
      return FALSE_V;
  return TRUE_V;
}

/* x.<op>_update(*iterables): x takes the value of x.<op>(*iterables) */
static fb_value *
set_update_impl (fb_star_thread *th, fb_value *self, const fb_star_args *a,
                 const char *fname, tok_kind op)
{
  if (!check_mutable (th, RECV, "insert into"))
    return NULL;
  fb_value *r = set_algebra (th, self, a, fname, op), *k;
  if (!r)
    return NULL;
  dict_clear (DICT (RECV));
  for (size_t i = 0; fb_dict_entry (r, i, &k, NULL); i++)
    if (dict_put (th, RECV, k, NULL) < 0)
      return NULL;
  return NONE;
}

METHOD (st_update) { return set_update_impl (th, self, a, "update", T_PIPE); }
METHOD (st_difference_update)
{
  return set_update_impl (th, self, a, "difference_update", T_MINUS);
}
METHOD (st_intersection_update)
{
  return set_update_impl (th, self, a, "intersection_update", T_AMP);
}
METHOD (st_symmetric_difference_update)
{
  return set_update_impl (th, self, a, "symmetric_difference_update",
                          T_CIRCUMFLEX);
}

METHOD (st_isdisjoint)
{
  fb_value *x, **items, *v;
  size_t n;
  if (fb_star_unpack (th, "isdisjoint", a, "x", &x, NULL) < 0)
    return NULL;
  if (iter_collect (th, x, &items, &n) < 0)
    return fb_star_errorf (th, "isdisjoint: got %s, want iterable",
                           type_name (x));
  for (size_t i = 0; i < n; i++)
    {
      int rc = dict_lookup (th, RECV, items[i], &v);
      if (rc < 0)
        return NULL;
      if (rc)
        return FALSE_V;
    }
  return TRUE_V;
}

METHOD (st_issubset) { return subset_impl (th, self, a, "issubset", false); }
METHOD (st_issuperset) { return subset_impl (th, self, a, "issuperset", true); }

static const method_entry set_methods[] = {
  { "add", st_add, false }, { "clear", st_clear, false },
  { "difference", st_difference, false },
  { "difference_update", st_difference_update, false },
  { "discard", st_discard, false }, { "intersection", st_intersection, false },
  { "intersection_update", st_intersection_update, false },
  { "isdisjoint", st_isdisjoint, false },
  { "issubset", st_issubset, false }, { "issuperset", st_issuperset, false },
  { "pop", st_pop, false }, { "remove", st_remove, false },
  { "symmetric_difference", st_symmetric_difference, false },
  { "symmetric_difference_update", st_symmetric_difference_update, false },
  { "union", st_union, false }, { "update", st_update, false },
};

#define TABLE(t) \
  do { *n = sizeof t / sizeof *t; return t; } while (0)

const method_entry *
methods_for (fb_value_type t, size_t *n)
{
  switch (t)
    {
    case FB_V_STRING: TABLE (string_methods);
    case FB_V_BYTES: TABLE (bytes_methods);
    case FB_V_LIST: TABLE (list_methods);
    case FB_V_DICT: TABLE (dict_methods);
    case FB_V_SET: TABLE (set_methods);
    default:
      *n = 0;
      return NULL;
    }
}
