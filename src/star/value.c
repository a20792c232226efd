/* Values: construction, truth, hashing, equality, ordering, repr/str,
 * lists, dicts and sets, iteration. */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "star/internal.h"
#include "util/alloc.h"
#include "util/hash.h"

fb_value fb_none_value = { FB_V_NONE, 1, 0, 0 };
fb_value fb_true_value = { FB_V_BOOL, 1, 0, 0 };
fb_value fb_false_value = { FB_V_BOOL, 1, 0, 0 };

static const char *const type_names[] = {
  [FB_V_NONE] = "NoneType", [FB_V_BOOL] = "bool", [FB_V_INT] = "int",
  [FB_V_FLOAT] = "float", [FB_V_STRING] = "string", [FB_V_BYTES] = "bytes",
  [FB_V_LIST] = "list", [FB_V_TUPLE] = "tuple", [FB_V_DICT] = "dict",
  [FB_V_SET] = "set", [FB_V_FUNCTION] = "function",
  [FB_V_BUILTIN] = "builtin_function_or_method", [FB_V_RANGE] = "range",
  [FB_V_STRUCT] = "struct", [FB_V_MODULE] = "module", [FB_V_HOST] = "host",
  [FB_V_CELL] = "cell",
};

const char *
type_name (const fb_value *v)
{
  if (!IS_SMALL (v) && v->type == FB_V_HOST)
    return AS (fv_host, v)->type->name;
  return type_names[vtype (v)];
}

/* ---- allocation -------------------------------------------------------- */

void *
star_alloc (fb_star_thread *th, size_t n)
{
  return heap_alloc (&th->heap, n);
}

fb_value *
star_new (fb_star_thread *th, size_t size, fb_value_type t)
{
  fb_value *v = heap_alloc (&th->heap, size);
  memset (v, 0, size);
  v->type = (uint8_t) t;
  return v;
}

char *
star_strdup (fb_star_thread *th, const char *s, size_t len)
{
  char *p = star_alloc (th, len + 1);
  memcpy (p, s, len);
  p[len] = '\0';
  return p;
}

static void *
big_alloc (void *ctx, size_t n)
{
  return star_alloc (ctx, n);
}

const fb_bigint_ctx *
star_bigctx (fb_star_thread *th)
{
  /* The context is rebuilt per call; it only captures th. */
  static _Thread_local fb_bigint_ctx c;
  c.alloc = big_alloc;
  c.ctx = th;
  return &c;
}

/* ---- scalars ----------------------------------------------------------- */

fb_value *
fb_none (void)
{
  return NONE;
}

fb_value *
fb_bool (bool b)
{
  return BOOLV (b);
}

fb_value *
fb_int (fb_star_thread *th, int64_t i)
{
  if (fits_small (i))
    return mk_small (i);
  fv_bigint *b = AS (fv_bigint, star_new (th, sizeof *b, FB_V_INT));
  b->b = *fb_bigint_from_i64 (star_bigctx (th), i);
  return &b->h;
}

fb_value *
int_from_big (fb_star_thread *th, fb_bigint *b)
{
  int64_t i;
  if (fb_bigint_to_i64 (b, &i) && fits_small (i))
    return mk_small (i);
  fv_bigint *v = AS (fv_bigint, star_new (th, sizeof *v, FB_V_INT));
  v->b = *b;
  return &v->h;
}

fb_bigint *
int_to_big (fb_star_thread *th, fb_value *v)
{
  if (IS_SMALL (v))
    return fb_bigint_from_i64 (star_bigctx (th), SMALL_VAL (v));
  return &AS (fv_bigint, v)->b;
}

fb_value *
int_parse (fb_star_thread *th, const char *s, size_t n, int base)
{
  fb_bigint *b;
  if (!fb_bigint_parse (star_bigctx (th), s, n, base, &b))
    return NULL;
  return int_from_big (th, b);
}

bool
int_to_double (fb_value *v, double *out)
{
  if (IS_SMALL (v))
    {
      *out = (double) SMALL_VAL (v);
      return true;
    }
  bool overflow = false;
  *out = fb_bigint_to_double (&AS (fv_bigint, v)->b, &overflow);
  return !overflow;
}

fb_value *
fb_float (fb_star_thread *th, double d)
{
  fv_float *f = AS (fv_float, star_new (th, sizeof *f, FB_V_FLOAT));
  f->d = d;
  return &f->h;
}

/* Decimal text of i, right-aligned at the end of out[24]; its length. */
static size_t
small_int_text (int64_t i, char out[24])
{
  char *e = out + 24, *p = e;
  uint64_t u = i < 0 ? -(uint64_t) i : (uint64_t) i;
  do
    *--p = (char) ('0' + u % 10);
  while (u /= 10);
  if (i < 0)
    *--p = '-';
  return (size_t) (e - p);
}

fv_string *
star_string_new (fb_star_thread *th, size_t len, fb_value_type t)
{
  fv_string *s = star_alloc (th, sizeof *s + len + 1);
  s->h = (fb_value) { (uint8_t) t, 1, 0, 0 };
  s->hash = s->spare = 0;
  s->len = len;
  s->s[len] = '\0';
  return s;
}

fb_value *
fb_string_n (fb_star_thread *th, const char *p, size_t len)
{
  fv_string *s = star_string_new (th, len, FB_V_STRING);
  memcpy (s->s, p, len);
  return &s->h;
}

fb_value *
fb_string (fb_star_thread *th, const char *p)
{
  return fb_string_n (th, p, strlen (p));
}

fb_value *
fb_string_printf (fb_star_thread *th, const char *fmt, ...)
{
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  va_list ap;
  va_start (ap, fmt);
  fb_buf_vprintf (&b, fmt, ap);
  va_end (ap);
  return fb_string_n (th, fb_buf_str (&b), b.len);
}

fb_value *
fb_bytes_n (fb_star_thread *th, const void *p, size_t len)
{
  fv_string *s = star_string_new (th, len, FB_V_BYTES);
  memcpy (s->s, p, len);
  return &s->h;
}

/* ---- containers -------------------------------------------------------- */

fb_value *
list_with_cap (fb_star_thread *th, size_t cap)
{
  fv_list *l = AS (fv_list, star_new (th, sizeof *l, FB_V_LIST));
  l->cap = cap < 4 ? 4 : cap;
  l->items = star_alloc (th, l->cap * sizeof *l->items);
  return &l->h;
}

fb_value *
list_from (fb_star_thread *th, size_t n, fb_value *const *items)
{
  fb_value *l = list_with_cap (th, n);
  if (n)
    memcpy (LIST (l)->items, items, n * sizeof *items);
  LIST (l)->len = n;
  return l;
}

fb_value *
fb_list_new (fb_star_thread *th, size_t n, fb_value *const *items)
{
  return list_from (th, n, items);
}

void
list_reserve (fb_star_thread *th, fb_value *list, size_t cap)
{
  fv_list *l = LIST (list);
  if (cap <= l->cap)
    return;
  fb_value **items = star_alloc (th, cap * sizeof *items);
  memcpy (items, l->items, l->len * sizeof *items);
  l->items = items;
  l->cap = cap;
}

void
list_push (fb_star_thread *th, fb_value *list, fb_value *v)
{
  fv_list *l = LIST (list);
  if (l->len == l->cap)
    list_reserve (th, list, l->cap * 2);
  l->items[l->len++] = v;
}

bool
check_mutable (fb_star_thread *th, fb_value *v, const char *what)
{
  if (v->frozen)
    {
      fb_star_errorf (th, "cannot %s frozen %s", what, type_name (v));
      return false;
    }
  if (v->itercount)
    {
      fb_star_errorf (th, "cannot %s %s during iteration", what,
                      type_name (v));
      return false;
    }
  return true;
}

int
fb_list_append (fb_star_thread *th, fb_value *list, fb_value *item)
{
  if (!check_mutable (th, list, "append to"))
    return -1;
  list_push (th, list, item);
  return 0;
}

fb_value *
fb_tuple_new (fb_star_thread *th, size_t n, fb_value *const *items)
{
  fv_tuple *t = star_alloc (th, sizeof *t + n * sizeof (fb_value *));
  t->h = (fb_value) { FB_V_TUPLE, 0, 0, 0 };
  t->len = n;
  if (n && items) /* NULL: the caller fills them */
    memcpy (t->items, items, n * sizeof *items);
  return &t->h;
}

fv_dict *
dict_new (fb_star_thread *th, fb_value_type t)
{
  return AS (fv_dict, star_new (th, sizeof (fv_dict), t));
}

fb_value *
fb_dict_new (fb_star_thread *th)
{
  return &dict_new (th, FB_V_DICT)->h;
}

static void
dict_reindex (fb_star_thread *th, fv_dict *d, size_t need)
{
  /* compact the entries, then rebuild an index at most 1/2 full */
  size_t j = 0;
  for (size_t i = 0; i < d->used; i++)
    if (d->entries[i].key)
      d->entries[j++] = d->entries[i];
  d->used = j;
  size_t cap = 8;
  while (cap < need * 2)
    cap *= 2;
  if (cap != d->index_cap)
    {
      d->index = star_alloc (th, cap * sizeof *d->index);
      d->index_cap = cap;
    }
  memset (d->index, 0xff, cap * sizeof *d->index);
  for (size_t i = 0; i < d->used; i++)
    {
      size_t k = d->entries[i].hash & (cap - 1);
      while (d->index[k] != -1)
        k = (k + 1) & (cap - 1);
      d->index[k] = (int32_t) i;
    }
}

/* Finds the index slot of k: *slot is its index position (or the first
 * free one when absent). Returns the entry number or -1. */
static int
dict_find (fb_star_thread *th, fv_dict *d, fb_value *k, uint64_t h,
           size_t *slot, int *err)
{
  *err = 0;
  if (!d->index_cap)
    return -1;
  size_t mask = d->index_cap - 1, i = h & mask;
  for (;;)
    {
      int32_t ix = d->index[i];
      if (ix == -1)
        {
          *slot = i;
          return -1;
        }
      if (ix >= 0 && d->entries[ix].hash == h)
        {
          fb_value *ek = d->entries[ix].key;
          bool eq = ek == k;
          if (!eq && star_equal (th, ek, k, &eq) < 0)
            {
              *err = -1;
              return -1;
            }
          if (eq)
            {
              *slot = i;
              return ix;
            }
        }
      i = (i + 1) & mask;
    }
}

int
dict_lookup (fb_star_thread *th, fb_value *dv, fb_value *k, fb_value **out)
{
  uint64_t h;
  if (star_hash (th, k, &h) < 0)
    return -1;
  size_t slot;
  int err;
  int ix = dict_find (th, DICT (dv), k, h, &slot, &err);
  if (err)
    return -1;
  *out = ix < 0 ? NULL : DICT (dv)->entries[ix].val;
  return ix >= 0;
}

int
dict_put (fb_star_thread *th, fb_value *dv, fb_value *k, fb_value *v)
{
  fv_dict *d = DICT (dv);
  uint64_t h;
  if (star_hash (th, k, &h) < 0)
    return -1;
  size_t slot;
  int err;
  int ix = dict_find (th, d, k, h, &slot, &err);
  if (err)
    return -1;
  if (ix >= 0)
    {
      if (!check_mutable (th, dv, "insert into"))
        return -1;
      d->entries[ix].val = v;
      return 0;
    }
  if (!check_mutable (th, dv, "insert into"))
    return -1;
  if (d->used == d->cap)
    {
      size_t cap = d->cap ? d->cap * 2 : 8;
      fv_entry *e = star_alloc (th, cap * sizeof *e);
      if (d->used)
        memcpy (e, d->entries, d->used * sizeof *e);
      d->entries = e;
      d->cap = cap;
    }
  if ((d->used + 1) * 2 > d->index_cap)
    {
      dict_reindex (th, d, d->len + 1);
      dict_find (th, d, k, h, &slot, &err);
    }
  d->entries[d->used] = (fv_entry) { h, k, v };
  d->index[slot] = (int32_t) d->used;
  d->used++;
  d->len++;
  return 0;
}

int
dict_del (fb_star_thread *th, fb_value *dv, fb_value *k, fb_value **old)
{
  fv_dict *d = DICT (dv);
  uint64_t h;
  /* frozen even when the key is absent, as in Go */
  if (!check_mutable (th, dv, "delete from") || star_hash (th, k, &h) < 0)
    return -1;
  size_t slot;
  int err;
  int ix = dict_find (th, d, k, h, &slot, &err);
  if (err)
    return -1;
  if (ix < 0)
    {
      *old = NULL;
      return 0;
    }
  *old = d->entries[ix].val;
  if (!*old)
    *old = d->entries[ix].key;
  d->entries[ix].key = NULL;
  d->index[slot] = -2;
  d->len--;
  return 1;
}

void
dict_clear (fv_dict *d)
{
  d->len = d->used = 0;
  if (d->index_cap)
    memset (d->index, 0xff, d->index_cap * sizeof *d->index);
}

int
fb_dict_set (fb_star_thread *th, fb_value *dict, fb_value *key, fb_value *val)
{
  return dict_put (th, dict, key, val);
}

int
fb_dict_set_str (fb_star_thread *th, fb_value *dict, const char *key,
                 fb_value *val)
{
  return dict_put (th, dict, fb_string (th, key), val);
}

fb_value *
fb_dict_get (fb_value *dict, fb_value *key)
{
  /* Lookups of hashable keys cannot fail; an unhashable key is absent.
   * Hashing strings and ints needs no thread. */
  fb_value *out = NULL;
  if (dict_lookup (NULL, dict, key, &out) <= 0)
    return NULL;
  return out;
}

fb_value *
fb_dict_get_str (fb_value *dict, const char *key)
{
  size_t n = strlen (key);
  /* a union, not a struct: a flexible array member must come last */
  union { fv_string s; char raw[sizeof (fv_string) + 256]; } tmp;
  if (n >= 256)
    return NULL;
  tmp.s.h = (fb_value) { FB_V_STRING, 1, 0, 0 };
  tmp.s.hash = tmp.s.spare = 0;
  tmp.s.len = n;
  memcpy (tmp.s.s, key, n + 1);
  return fb_dict_get (dict, &tmp.s.h);
}

bool
fb_dict_entry (const fb_value *dict, size_t i, fb_value **k, fb_value **v)
{
  const fv_dict *d = AS (const fv_dict, dict);
  for (size_t j = 0; j < d->used; j++)
    if (d->entries[j].key && i-- == 0)
      {
        *k = d->entries[j].key;
        if (v)
          *v = d->entries[j].val;
        return true;
      }
  return false;
}

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (**(const char *const *const *) a,
                 **(const char *const *const *) b);
}

fb_value *
fb_module_value_new (fb_star_thread *th, const char *name, size_t n,
                     const char *const *names, fb_value *const *vals)
{
  fv_struct *s = AS (fv_struct, star_new (th, sizeof *s,
                                          name ? FB_V_MODULE : FB_V_STRUCT));
  s->name = name ? star_strdup (th, name, strlen (name)) : NULL;
  s->n = n;
  s->names = star_alloc (th, (n + 1) * sizeof *s->names);
  s->vals = star_alloc (th, (n + 1) * sizeof *s->vals);
  /* sort (name, value) pairs by name through an index permutation */
  const char *const **order = fb_xmalloc ((n + 1) * sizeof *order);
  for (size_t i = 0; i < n; i++)
    order[i] = &names[i];
  qsort (order, n, sizeof *order, cmp_names);
  for (size_t i = 0; i < n; i++)
    {
      size_t k = (size_t) (order[i] - names);
      s->names[i] = star_strdup (th, names[k], strlen (names[k]));
      s->vals[i] = vals[k];
    }
  free (order);
  s->h.frozen = 1;
  return &s->h;
}

fb_value *
fb_struct_new (fb_star_thread *th, size_t n, const char *const *names,
               fb_value *const *vals)
{
  fb_value *v = fb_module_value_new (th, NULL, n, names, vals);
  v->frozen = 0; /* a struct is frozen with its module, like its fields */
  return v;
}

fb_value *
fb_struct_get (const fb_value *st, const char *name)
{
  const fv_struct *s = AS (const fv_struct, st);
  size_t lo = 0, hi = s->n;
  while (lo < hi)
    {
      size_t mid = (lo + hi) / 2;
      int c = strcmp (s->names[mid], name);
      if (!c)
        return s->vals[mid];
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return NULL;
}

static void
host_fin (void *p)
{
  fv_host *h = p;
  h->type->destroy (h->data);
}

fb_value *
fb_host_new (fb_star_thread *th, const fb_host_type *type, void *data)
{
  fv_host *h = AS (fv_host, star_new (th, sizeof *h, FB_V_HOST));
  h->type = type;
  h->data = data;
  if (type->destroy)
    heap_add_fin (&th->heap, host_fin, h);
  return &h->h;
}

void *
fb_host_data (const fb_value *v, const fb_host_type *type)
{
  if (vtype (v) != FB_V_HOST || AS (const fv_host, v)->type != type)
    return NULL;
  return AS (const fv_host, v)->data;
}

/* The list a sequence-like host value stands for, else v. */
fb_value *
star_host_items (fb_value *v)
{
  if (vtype (v) != FB_V_HOST || !AS (const fv_host, v)->type->items)
    return v;
  return AS (const fv_host, v)->type->items (v);
}

/* ---- accessors --------------------------------------------------------- */

fb_value_type
fb_value_type_of (const fb_value *v)
{
  return vtype (v);
}

const char *
fb_value_type_name (const fb_value *v)
{
  return type_name (v);
}

bool
truth (const fb_value *v)
{
  if (IS_SMALL (v))
    return SMALL_VAL (v) != 0;
  switch ((fb_value_type) v->type)
    {
    case FB_V_NONE: return false;
    case FB_V_BOOL: return v == TRUE_V;
    case FB_V_INT: return true; /* big ints are never zero */
    case FB_V_FLOAT: return AS (fv_float, v)->d != 0;
    case FB_V_STRING:
    case FB_V_BYTES: return STR (v)->len != 0;
    case FB_V_LIST: return LIST (v)->len != 0;
    case FB_V_TUPLE: return TUPLE (v)->len != 0;
    case FB_V_DICT:
    case FB_V_SET: return DICT (v)->len != 0;
    case FB_V_RANGE: return AS (fv_range, v)->len != 0;
    case FB_V_HOST:
      {
        const fv_host *h = AS (const fv_host, v);
        return h->type->truth ? h->type->truth ((fb_value *) v) : true;
      }
    default: return true;
    }
}

bool
fb_value_truth (const fb_value *v)
{
  return truth (v);
}

bool
fb_value_is_callable (const fb_value *v)
{
  fb_value_type t = vtype (v);
  return t == FB_V_FUNCTION || t == FB_V_BUILTIN;
}

bool
fb_value_as_int64 (const fb_value *v, int64_t *out)
{
  if (IS_SMALL (v))
    {
      *out = SMALL_VAL (v);
      return true;
    }
  if (v->type != FB_V_INT)
    return false;
  return fb_bigint_to_i64 (&AS (const fv_bigint, v)->b, out);
}

bool
fb_value_as_double (const fb_value *v, double *out)
{
  if (vtype (v) == FB_V_FLOAT)
    {
      *out = AS (const fv_float, v)->d;
      return true;
    }
  if (vtype (v) == FB_V_INT)
    return int_to_double ((fb_value *) v, out);
  return false;
}

const char *
fb_value_as_string (const fb_value *v, size_t *len)
{
  fb_value_type t = vtype (v);
  if (t != FB_V_STRING && t != FB_V_BYTES)
    return NULL;
  if (len)
    *len = STR (v)->len;
  return STR (v)->s;
}

long
fb_value_len (const fb_value *v)
{
  if (vtype (v) == FB_V_HOST)
    v = star_host_items ((fb_value *) v);
  switch (vtype (v))
    {
    case FB_V_STRING:
    case FB_V_BYTES: return (long) STR (v)->len;
    case FB_V_LIST: return (long) LIST (v)->len;
    case FB_V_TUPLE: return (long) TUPLE (v)->len;
    case FB_V_DICT:
    case FB_V_SET: return (long) DICT (v)->len;
    case FB_V_RANGE: return (long) AS (fv_range, v)->len;
    default: return -1;
    }
}

fb_value *
fb_value_at (const fb_value *v, size_t i)
{
  if (vtype (v) == FB_V_HOST)
    v = star_host_items ((fb_value *) v);
  if (vtype (v) == FB_V_LIST)
    return i < LIST (v)->len ? LIST (v)->items[i] : NULL;
  if (vtype (v) == FB_V_TUPLE)
    return i < TUPLE (v)->len ? TUPLE (v)->items[i] : NULL;
  return NULL;
}

const char *
fb_value_func_name (const fb_value *v)
{
  if (vtype (v) == FB_V_FUNCTION)
    return AS (const fv_function, v)->def->name;
  if (vtype (v) == FB_V_BUILTIN)
    return AS (const fv_builtin, v)->name;
  return NULL;
}

bool
fb_value_func_position (const fb_value *v, const char **file, int *line,
                        int *col)
{
  if (vtype (v) != FB_V_FUNCTION)
    return false;
  const fn_def *d = AS (const fv_function, v)->def;
  *file = d->file;
  *line = d->pos.line;
  *col = d->pos.col;
  return true;
}

/* ---- freezing ---------------------------------------------------------- */

void
fb_value_freeze (fb_value *v)
{
  if (IS_SMALL (v) || v->frozen)
    return;
  v->frozen = 1;
  switch ((fb_value_type) v->type)
    {
    case FB_V_LIST:
      for (size_t i = 0; i < LIST (v)->len; i++)
        fb_value_freeze (LIST (v)->items[i]);
      break;
    case FB_V_TUPLE:
      for (size_t i = 0; i < TUPLE (v)->len; i++)
        fb_value_freeze (TUPLE (v)->items[i]);
      break;
    case FB_V_DICT:
    case FB_V_SET:
      for (size_t i = 0; i < DICT (v)->used; i++)
        if (DICT (v)->entries[i].key)
          {
            fb_value_freeze (DICT (v)->entries[i].key);
            if (DICT (v)->entries[i].val)
              fb_value_freeze (DICT (v)->entries[i].val);
          }
      break;
    case FB_V_STRUCT:
      for (size_t i = 0; i < AS (fv_struct, v)->n; i++)
        fb_value_freeze (AS (fv_struct, v)->vals[i]);
      break;
    case FB_V_FUNCTION:
      {
        fv_function *f = AS (fv_function, v);
        /* one default per named parameter: *args and **kwargs have none */
        for (int i = 0; i < f->def->npositional + f->def->nkwonly; i++)
          if (f->defaults[i])
            fb_value_freeze (f->defaults[i]);
        for (int i = 0; i < f->def->nfree; i++)
          fb_value_freeze (f->free[i]);
        break;
      }
    case FB_V_CELL:
      if (AS (fv_cell, v)->v)
        fb_value_freeze (AS (fv_cell, v)->v);
      break;
    case FB_V_BUILTIN:
      if (AS (fv_builtin, v)->recv)
        fb_value_freeze (AS (fv_builtin, v)->recv);
      break;
    default:
      break;
    }
}

/* ---- hashing and equality ---------------------------------------------- */

static uint64_t
mix (uint64_t h)
{
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

/* depth bounds nested tuples and structs, as enter_recursion bounds
 * comparisons: deep data is an error, not a C stack overflow */
static int
hash_value (fb_star_thread *th, fb_value *v, uint64_t *out, int depth)
{
  if (depth > 200)
    {
      if (th)
        fb_star_errorf (th, "hash exceeds maximum recursion depth");
      return -1;
    }
  if (IS_SMALL (v))
    {
      *out = mix ((uint64_t) SMALL_VAL (v));
      return 0;
    }
  switch ((fb_value_type) v->type)
    {
    case FB_V_STRING:
    case FB_V_BYTES:
      {
        fv_string *s = STR (v);
        if (!s->hash)
          {
            uint32_t h = (uint32_t) fb_hash_bytes (s->s, s->len);
            s->hash = h ? h : 1;
          }
        *out = s->hash;
        return 0;
      }
    case FB_V_INT:
      *out = mix (fb_bigint_hash (&AS (fv_bigint, v)->b));
      return 0;
    case FB_V_FLOAT:
      {
        double d = AS (fv_float, v)->d;
        if (d == floor (d) && fabs (d) < 9.2e18)
          *out = mix ((uint64_t) (int64_t) d);
        else if (isnan (d))
          *out = 0x7ff8;
        else
          {
            uint64_t bits;
            memcpy (&bits, &d, sizeof bits);
            *out = mix (bits);
          }
        return 0;
      }
    case FB_V_NONE: *out = 0x9e37; return 0;
    case FB_V_BOOL: *out = v == TRUE_V ? 0x51 : 0x50; return 0;
    case FB_V_TUPLE:
      {
        uint64_t h = 0x345678;
        for (size_t i = 0; i < TUPLE (v)->len; i++)
          {
            uint64_t e;
            if (hash_value (th, TUPLE (v)->items[i], &e, depth + 1) < 0)
              return -1;
            h = (h ^ e) * 1000003;
          }
        *out = h;
        return 0;
      }
    case FB_V_FUNCTION:
    case FB_V_BUILTIN:
    case FB_V_HOST:
    case FB_V_MODULE:
      /* range is not hashable: it compares by content (as in Go) */
      *out = mix ((uint64_t) (uintptr_t) v);
      return 0;
    case FB_V_STRUCT:
      {
        uint64_t h = 0x5151;
        fv_struct *s = AS (fv_struct, v);
        for (size_t i = 0; i < s->n; i++)
          {
            uint64_t e;
            if (hash_value (th, s->vals[i], &e, depth + 1) < 0)
              return -1;
            h = (h ^ fb_hash_bytes (s->names[i], strlen (s->names[i])) ^ e)
                * 1000003;
          }
        *out = h;
        return 0;
      }
    default:
      if (th)
        fb_star_errorf (th, "unhashable type: %s", type_name (v));
      return -1;
    }
}

int
star_hash (fb_star_thread *th, fb_value *v, uint64_t *out)
{
  return hash_value (th, v, out, 0);
}

static int
cmp_int_float (fb_value *i, double f)
{
  if (isnan (f))
    return -1; /* NaN sorts above every number */
  double d;
  if (int_to_double (i, &d) && d != f)
    return d < f ? -1 : 1;
  if (isinf (f))
    return f > 0 ? -1 : 1;
  /* equal as doubles: compare exactly via the truncated float */
  int64_t iv;
  if (fb_value_as_int64 (i, &iv) && fabs (f) < 9.2e18)
    {
      int64_t fv = (int64_t) f;
      if (iv != fv)
        return iv < fv ? -1 : 1;
      double frac = f - (double) fv;
      return frac > 0 ? -1 : frac < 0 ? 1 : 0;
    }
  return 0;
}

static int
cmp_float (double a, double b)
{
  if (isnan (a) || isnan (b))
    return isnan (a) ? (isnan (b) ? 0 : 1) : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

static int
cmp_ints (fb_star_thread *th, fb_value *a, fb_value *b)
{
  if (IS_SMALL (a) && IS_SMALL (b))
    {
      int64_t x = SMALL_VAL (a), y = SMALL_VAL (b);
      return x < y ? -1 : x > y;
    }
  /* big ints are normalized: a small one lies between the two signs */
  if (IS_SMALL (a))
    return -AS (fv_bigint, b)->b.sign;
  if (IS_SMALL (b))
    return AS (fv_bigint, a)->b.sign;
  return fb_bigint_cmp (int_to_big (th, a), int_to_big (th, b));
}

static int
cmp_bytes (const fv_string *a, const fv_string *b)
{
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp (a->s, b->s, n);
  if (c)
    return c < 0 ? -1 : 1;
  return a->len < b->len ? -1 : a->len > b->len;
}

static bool
enter_recursion (fb_star_thread *th)
{
  if (th && th->recursion_guard > 200)
    {
      fb_star_errorf (th, "comparison exceeds maximum recursion depth");
      return false;
    }
  if (th)
    th->recursion_guard++;
  return true;
}

static void
leave_recursion (fb_star_thread *th)
{
  if (th)
    th->recursion_guard--;
}

/* Containers are compared element by element even when identical, so that
   comparing a cyclic structure fails (as in starlark-go) instead of
   answering. */
static bool
identity_decides (fb_value *v)
{
  switch (vtype (v))
    {
    case FB_V_LIST: case FB_V_TUPLE: case FB_V_DICT: case FB_V_SET:
    case FB_V_STRUCT:
      return false;
    default:
      return true;
    }
}

static int
seq_compare (fb_star_thread *th, fb_value *const *a, size_t na,
             fb_value *const *b, size_t nb, bool eq_only, int *cmp)
{
  if (eq_only && na != nb)
    {
      *cmp = 1;
      return 0;
    }
  if (!enter_recursion (th))
    return -1;
  size_t n = na < nb ? na : nb;
  for (size_t i = 0; i < n; i++)
    {
      bool eq;
      if (a[i] != b[i] || !identity_decides (a[i]))
        {
          if (star_equal (th, a[i], b[i], &eq) < 0)
            goto fail;
          if (!eq)
            {
              if (eq_only)
                *cmp = 1;
              else if (star_compare (th, a[i], b[i], cmp) < 0)
                goto fail;
              leave_recursion (th);
              return 0;
            }
        }
    }
  leave_recursion (th);
  *cmp = na < nb ? -1 : na > nb;
  return 0;
fail:
  leave_recursion (th);
  return -1;
}

int
star_equal (fb_star_thread *th, fb_value *a, fb_value *b, bool *eq)
{
  if (a == b && identity_decides (a))
    {
      *eq = true; /* NaN too: floats are totally ordered */
      return 0;
    }
  fb_value_type ta = vtype (a), tb = vtype (b);
  if (ta != tb)
    {
      if ((ta == FB_V_INT && tb == FB_V_FLOAT)
          || (ta == FB_V_FLOAT && tb == FB_V_INT))
        {
          int c = ta == FB_V_INT ? cmp_int_float (a, AS (fv_float, b)->d)
                                 : -cmp_int_float (b, AS (fv_float, a)->d);
          *eq = c == 0;
          return 0;
        }
      *eq = false;
      return 0;
    }
  int c = 0;
  switch (ta)
    {
    case FB_V_INT: *eq = cmp_ints (th, a, b) == 0; return 0;
    case FB_V_FLOAT:
      *eq = cmp_float (AS (fv_float, a)->d, AS (fv_float, b)->d) == 0;
      return 0;
    case FB_V_STRING:
    case FB_V_BYTES:
      *eq = STR (a)->len == STR (b)->len
            && !memcmp (STR (a)->s, STR (b)->s, STR (a)->len);
      return 0;
    case FB_V_LIST:
      if (seq_compare (th, LIST (a)->items, LIST (a)->len, LIST (b)->items,
                       LIST (b)->len, true, &c) < 0)
        return -1;
      *eq = c == 0;
      return 0;
    case FB_V_TUPLE:
      if (seq_compare (th, TUPLE (a)->items, TUPLE (a)->len, TUPLE (b)->items,
                       TUPLE (b)->len, true, &c) < 0)
        return -1;
      *eq = c == 0;
      return 0;
    case FB_V_DICT:
    case FB_V_SET:
      {
        fv_dict *x = DICT (a), *y = DICT (b);
        *eq = false;
        if (x->len != y->len)
          return 0;
        if (!enter_recursion (th))
          return -1;
        for (size_t i = 0; i < x->used; i++)
          {
            if (!x->entries[i].key)
              continue;
            fb_value *other;
            int r = dict_lookup (th, b, x->entries[i].key, &other);
            if (r <= 0)
              {
                leave_recursion (th);
                return r;
              }
            if (ta == FB_V_DICT)
              {
                bool e;
                if (star_equal (th, x->entries[i].val, other, &e) < 0)
                  {
                    leave_recursion (th);
                    return -1;
                  }
                if (!e)
                  {
                    leave_recursion (th);
                    return 0;
                  }
              }
          }
        leave_recursion (th);
        *eq = true;
        return 0;
      }
    case FB_V_RANGE:
      {
        fv_range *x = AS (fv_range, a), *y = AS (fv_range, b);
        *eq = x->len == y->len
              && (x->len == 0
                  || (x->start == y->start
                      && (x->len == 1 || x->step == y->step)));
        return 0;
      }
    case FB_V_STRUCT:
      {
        fv_struct *x = AS (fv_struct, a), *y = AS (fv_struct, b);
        *eq = false;
        if (x->n != y->n)
          return 0;
        for (size_t i = 0; i < x->n; i++)
          if (strcmp (x->names[i], y->names[i]))
            return 0;
        if (seq_compare (th, x->vals, x->n, y->vals, y->n, true, &c) < 0)
          return -1;
        *eq = c == 0;
        return 0;
      }
    case FB_V_HOST:
      {
        fv_host *x = AS (fv_host, a), *y = AS (fv_host, b);
        *eq = x->type == y->type && x->type->equal && x->type->equal (a, b);
        return 0;
      }
    default:
      *eq = false;
      return 0;
    }
}

int
fb_value_equal (fb_star_thread *th, fb_value *a, fb_value *b, bool *eq)
{
  return star_equal (th, a, b, eq);
}

int
star_compare (fb_star_thread *th, fb_value *a, fb_value *b, int *cmp)
{
  fb_value_type ta = vtype (a), tb = vtype (b);
  if (ta == FB_V_INT && tb == FB_V_INT)
    {
      *cmp = cmp_ints (th, a, b);
      return 0;
    }
  if (ta == FB_V_INT && tb == FB_V_FLOAT)
    {
      *cmp = cmp_int_float (a, AS (fv_float, b)->d);
      return 0;
    }
  if (ta == FB_V_FLOAT && tb == FB_V_INT)
    {
      *cmp = -cmp_int_float (b, AS (fv_float, a)->d);
      return 0;
    }
  if (ta == tb)
    switch (ta)
      {
      case FB_V_FLOAT:
        *cmp = cmp_float (AS (fv_float, a)->d, AS (fv_float, b)->d);
        return 0;
      case FB_V_STRING:
      case FB_V_BYTES:
        *cmp = cmp_bytes (STR (a), STR (b));
        return 0;
      case FB_V_BOOL:
        *cmp = (a == TRUE_V) - (b == TRUE_V);
        return 0;
      case FB_V_LIST:
        return seq_compare (th, LIST (a)->items, LIST (a)->len,
                            LIST (b)->items, LIST (b)->len, false, cmp);
      case FB_V_TUPLE:
        return seq_compare (th, TUPLE (a)->items, TUPLE (a)->len,
                            TUPLE (b)->items, TUPLE (b)->len, false, cmp);
      default:
        break;
      }
  /* Go's wording, naming the operator the user wrote */
  static const char *const ops[] = { [T_LT] = "<", [T_GT] = ">",
                                     [T_LE] = "<=", [T_GE] = ">=" };
  tok_kind op = th->cmp_op;
  fb_star_errorf (th, "%s %s %s not implemented", type_name (a),
                  op >= T_LT && op <= T_LE ? ops[op] : "<", type_name (b));
  return -1;
}

int
star_compare_op (fb_star_thread *th, tok_kind op, fb_value *a, fb_value *b,
                 bool *res)
{
  if (op == T_EQL || op == T_NEQ)
    {
      bool eq;
      if (star_equal (th, a, b, &eq) < 0)
        return -1;
      *res = op == T_EQL ? eq : !eq;
      return 0;
    }
  int c;
  th->cmp_op = op;
  int rc = star_compare (th, a, b, &c);
  th->cmp_op = T_LT;
  if (rc < 0)
    return -1;
  switch (op)
    {
    case T_LT: *res = c < 0; break;
    case T_GT: *res = c > 0; break;
    case T_LE: *res = c <= 0; break;
    default: *res = c >= 0; break;
    }
  return 0;
}

/* ---- repr and str ------------------------------------------------------ */

/* ---- UTF-8 ------------------------------------------------------------- */

void
utf8_append (fb_buf *b, uint32_t cp)
{
  char o[4];
  size_t n;
  if (cp < 0x80)
    o[0] = (char) cp, n = 1;
  else if (cp < 0x800)
    o[0] = (char) (0xc0 | cp >> 6), n = 2;
  else if (cp < 0x10000)
    o[0] = (char) (0xe0 | cp >> 12), n = 3;
  else
    o[0] = (char) (0xf0 | cp >> 18), n = 4;
  for (size_t k = 1; k < n; k++)
    o[k] = (char) (0x80 | ((cp >> (6 * (n - 1 - k))) & 0x3f));
  fb_buf_append (b, o, n);
}

size_t
utf8_valid (const char *s, size_t n)
{
  unsigned char c = (unsigned char) s[0];
  size_t len = c < 0x80 ? 1 : c >= 0xf8 ? 0 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3
               : c >= 0xc0 ? 2 : 0;
  if (!len || len > n)
    return 0;
  for (size_t k = 1; k < len; k++)
    if (((unsigned char) s[k] & 0xc0) != 0x80)
      return 0;
  /* overlong forms, surrogates and values past U+10FFFF are invalid too */
  static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
  uint32_t cp = utf8_decode ((const unsigned char *) s, len);
  if (cp < min[len] || (cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff)
    return 0;
  return len;
}

void
utf8_sanitize (fb_buf *b, const char *s, size_t n)
{
  for (size_t i = 0; i < n;)
    {
      size_t len = utf8_valid (s + i, n - i);
      if (len)
        fb_buf_append (b, s + i, len);
      else
        fb_buf_puts (b, "\xef\xbf\xbd");
      i += len ? len : 1;
    }
}

size_t
utf8_count (const char *s, size_t n)
{
  size_t count = 0;
  for (size_t i = 0; i < n; count++)
    {
      size_t len = utf8_valid (s + i, n - i);
      i += len ? len : 1;
    }
  return count;
}

uint32_t
utf8_decode (const unsigned char *s, size_t len)
{
  uint32_t cp = len == 1 ? s[0] : s[0] & (0x7f >> len);
  for (size_t k = 1; k < len; k++)
    cp = cp << 6 | (s[k] & 0x3f);
  return cp;
}

void
quote_string (fb_buf *b, const char *s, size_t n, bool bytes)
{
  if (bytes)
    fb_buf_putc (b, 'b');
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
        default: break;
        }
      if (c < 0x20 || c == 0x7f)
        {
          fb_buf_printf (b, "\\x%02x", c);
          continue;
        }
      if (c < 0x80)
        {
          fb_buf_putc (b, (char) c);
          continue;
        }
      /* keep valid UTF-8 sequences, escape stray bytes (bytes too, as
         starlark-go) */
      size_t len = utf8_valid (s + i, n - i);
      if (len)
        {
          uint32_t cp = utf8_decode ((const unsigned char *) s + i, len);
          /* invisible code points (C1 controls, non-ASCII spaces, zero-width
           * and direction marks, BOM) are escaped, as Go does for
           * non-printable runes */
          if ((cp >= 0x80 && cp <= 0xa0) || cp == 0xad
              || (cp >= 0x2000 && cp <= 0x200f)
              || (cp >= 0x2028 && cp <= 0x202f)
              || (cp >= 0x205f && cp <= 0x2064) || cp == 0x3000
              || cp == 0xfeff)
            fb_buf_printf (b, "\\u%04x", (unsigned) cp);
          else
            fb_buf_append (b, s + i, len);
          i += len - 1;
        }
      else
        fb_buf_printf (b, "\\x%02x", c);
    }
  fb_buf_putc (b, '"');
}

void
format_float (fb_buf *b, double d, char conv, int prec)
{
  if (isnan (d))
    {
      fb_buf_puts (b, "nan");
      return;
    }
  if (isinf (d))
    {
      fb_buf_puts (b, d > 0 ? "+inf" : "-inf");
      return;
    }
  if (conv != 'r')
    {
      char fmt[16];
      snprintf (fmt, sizeof fmt, "%%.%d%c", prec, conv);
      fb_buf_printf (b, fmt, d);
      return;
    }
  /* shortest digits that read back as d, laid out as Python's repr */
  char tmp[64];
  for (int p = 1; p <= 17; p++)
    {
      snprintf (tmp, sizeof tmp, "%.*e", p - 1, d);
      if (strtod (tmp, NULL) == d)
        break;
    }
  char digits[32];
  size_t nd = 0;
  const char *q = tmp;
  bool neg = *q == '-';
  if (neg)
    q++;
  for (; *q && *q != 'e'; q++)
    if (*q >= '0' && *q <= '9')
      digits[nd++] = *q;
  int exp = atoi (q + 1);
  while (nd > 1 && digits[nd - 1] == '0')
    nd--;
  if (neg)
    fb_buf_putc (b, '-');
  if (exp >= 16 || exp < -4)
    {
      fb_buf_putc (b, digits[0]);
      if (nd > 1)
        {
          fb_buf_putc (b, '.');
          fb_buf_append (b, digits + 1, nd - 1);
        }
      fb_buf_printf (b, "e%c%02d", exp < 0 ? '-' : '+', abs (exp));
      return;
    }
  if (exp < 0)
    {
      fb_buf_puts (b, "0.");
      for (int i = 0; i < -exp - 1; i++)
        fb_buf_putc (b, '0');
      fb_buf_append (b, digits, nd);
      return;
    }
  for (int i = 0; i <= exp; i++)
    fb_buf_putc (b, (size_t) i < nd ? digits[i] : '0');
  fb_buf_putc (b, '.');
  if ((size_t) exp + 1 < nd)
    fb_buf_append (b, digits + exp + 1, nd - (size_t) exp - 1);
  else
    fb_buf_putc (b, '0');
}

static void repr_rec (fb_star_thread *th, fb_value *v, fb_buf *b, int depth,
                      fb_value **seen);

static void
repr_items (fb_star_thread *th, fb_value *const *items, size_t n, fb_buf *b,
            int depth, fb_value **seen)
{
  for (size_t i = 0; i < n; i++)
    {
      if (i)
        fb_buf_puts (b, ", ");
      repr_rec (th, items[i], b, depth, seen);
    }
}

static void
repr_dict (fb_star_thread *th, fb_value *v, fb_buf *b, int depth,
           fb_value **seen)
{
  fb_value_type t = (fb_value_type) v->type;
  fv_dict *d = DICT (v);
  if (t == FB_V_SET)
    fb_buf_puts (b, "set([");
  else
    fb_buf_putc (b, '{');
  bool first = true;
  for (size_t i = 0; i < d->used; i++)
    {
      if (!d->entries[i].key)
        continue;
      if (!first)
        fb_buf_puts (b, ", ");
      first = false;
      repr_rec (th, d->entries[i].key, b, depth, seen);
      if (t == FB_V_DICT)
        {
          fb_buf_puts (b, ": ");
          repr_rec (th, d->entries[i].val, b, depth, seen);
        }
    }
  fb_buf_puts (b, t == FB_V_SET ? "])" : "}");
}

/* Values whose repr shows no elements: nothing to recurse into. */
static void
repr_opaque (fb_value *v, fb_buf *b)
{
  switch ((fb_value_type) v->type)
    {
    case FB_V_FUNCTION:
      fb_buf_printf (b, "<function %s>", AS (fv_function, v)->def->name);
      break;
    case FB_V_BUILTIN:
      {
        fv_builtin *bi = AS (fv_builtin, v);
        if (bi->recv)
          fb_buf_printf (b, "<built-in method %s of %s value>", bi->name,
                         type_name (bi->recv));
        else
          fb_buf_printf (b, "<built-in function %s>", bi->name);
        break;
      }
    case FB_V_RANGE:
      {
        fv_range *r = AS (fv_range, v);
        if (r->step == 1 && r->start == 0) /* as starlark-go */
          fb_buf_printf (b, "range(%" PRId64 ")", r->stop);
        else if (r->step == 1)
          fb_buf_printf (b, "range(%" PRId64 ", %" PRId64 ")", r->start,
                         r->stop);
        else
          fb_buf_printf (b, "range(%" PRId64 ", %" PRId64 ", %" PRId64 ")",
                         r->start, r->stop, r->step);
        break;
      }
    case FB_V_MODULE:
      fb_buf_printf (b, "<module \"%s\">", AS (fv_struct, v)->name);
      break;
    case FB_V_HOST:
      {
        fv_host *h = AS (fv_host, v);
        char *s = h->type->repr ? h->type->repr (v) : NULL;
        if (s)
          fb_buf_puts (b, s);
        else
          fb_buf_printf (b, "<%s>", h->type->name);
        free (s);
        break;
      }
    default:
      fb_buf_printf (b, "<%s>", type_name (v));
    }
}

static void
repr_rec (fb_star_thread *th, fb_value *v, fb_buf *b, int depth,
          fb_value **seen)
{
  if (IS_SMALL (v))
    {
      char tmp[24];
      size_t n = small_int_text (SMALL_VAL (v), tmp);
      fb_buf_append (b, tmp + sizeof tmp - n, n);
      return;
    }
  fb_value_type t = (fb_value_type) v->type;
  if (t == FB_V_LIST || t == FB_V_DICT || t == FB_V_SET || t == FB_V_TUPLE
      || t == FB_V_STRUCT)
    {
      for (int i = 0; i < depth; i++)
        if (seen[i] == v)
          {
            fb_buf_puts (b, t == FB_V_LIST ? "[...]" : "{...}");
            return;
          }
      if (depth >= 64)
        {
          fb_buf_puts (b, "...");
          return;
        }
      seen[depth++] = v;
    }
  switch (t)
    {
    case FB_V_NONE: fb_buf_puts (b, "None"); break;
    case FB_V_BOOL: fb_buf_puts (b, v == TRUE_V ? "True" : "False"); break;
    case FB_V_INT:
      {
        char *s = fb_bigint_format (&AS (fv_bigint, v)->b, 10);
        fb_buf_puts (b, s);
        free (s);
        break;
      }
    case FB_V_FLOAT: format_float (b, AS (fv_float, v)->d, 'r', 0); break;
    case FB_V_STRING:
    case FB_V_BYTES:
      quote_string (b, STR (v)->s, STR (v)->len, t == FB_V_BYTES);
      break;
    case FB_V_LIST:
      fb_buf_putc (b, '[');
      repr_items (th, LIST (v)->items, LIST (v)->len, b, depth, seen);
      fb_buf_putc (b, ']');
      break;
    case FB_V_TUPLE:
      fb_buf_putc (b, '(');
      repr_items (th, TUPLE (v)->items, TUPLE (v)->len, b, depth, seen);
      if (TUPLE (v)->len == 1)
        fb_buf_putc (b, ',');
      fb_buf_putc (b, ')');
      break;
    case FB_V_DICT:
    case FB_V_SET:
      repr_dict (th, v, b, depth, seen);
      break;
    case FB_V_STRUCT:
      {
        fv_struct *s = AS (fv_struct, v);
        fb_buf_puts (b, "struct(");
        for (size_t i = 0; i < s->n; i++)
          {
            fb_buf_printf (b, "%s%s = ", i ? ", " : "", s->names[i]);
            repr_rec (th, s->vals[i], b, depth, seen);
          }
        fb_buf_putc (b, ')');
        break;
      }
    default:
      repr_opaque (v, b);
    }
}

void
star_repr_buf (fb_star_thread *th, fb_value *v, fb_buf *b)
{
  fb_value *seen[64];
  repr_rec (th, v, b, 0, seen);
}

void
star_str_buf (fb_star_thread *th, fb_value *v, fb_buf *b)
{
  if (vtype (v) == FB_V_STRING)
    fb_buf_append (b, STR (v)->s, STR (v)->len);
  else
    star_repr_buf (th, v, b);
}

fb_value *
star_repr (fb_star_thread *th, fb_value *v)
{
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  star_repr_buf (th, v, &b);
  return fb_string_n (th, fb_buf_str (&b), b.len);
}

fb_value *
star_str (fb_star_thread *th, fb_value *v)
{
  if (vtype (v) == FB_V_STRING)
    return v;
  if (IS_SMALL (v))
    {
      /* str(i) is common in loops: no buffer, no printf */
      char tmp[24];
      size_t n = small_int_text (SMALL_VAL (v), tmp);
      return fb_string_n (th, tmp + sizeof tmp - n, n);
    }
  return star_repr (th, v);
}

char *
fb_value_repr (fb_star_thread *th, fb_value *v)
{
  fb_buf b = FB_BUF_INIT;
  star_repr_buf (th, v, &b);
  return fb_buf_steal (&b);
}

char *
fb_value_str (fb_star_thread *th, fb_value *v)
{
  fb_buf b = FB_BUF_INIT;
  star_str_buf (th, v, &b);
  return fb_buf_steal (&b);
}

/* ---- iteration --------------------------------------------------------- */

int
iter_start (fb_star_thread *th, fb_value *seq, star_iter *it)
{
  seq = star_host_items (seq);
  it->seq = seq;
  it->i = 0;
  switch (vtype (seq))
    {
    case FB_V_LIST:
    case FB_V_DICT:
    case FB_V_SET:
      seq->itercount++;
      return 0;
    case FB_V_TUPLE:
      return 0;
    case FB_V_RANGE:
      it->r = AS (fv_range, seq)->start;
      return 0;
    default:
      fb_star_errorf (th, "%s value is not iterable", type_name (seq));
      return -1;
    }
}

bool
iter_next (star_iter *it, fb_value **out, fb_star_thread *th)
{
  fb_value *s = it->seq;
  switch (vtype (s))
    {
    case FB_V_LIST:
      if (it->i >= LIST (s)->len)
        return false;
      *out = LIST (s)->items[it->i++];
      return true;
    case FB_V_TUPLE:
      if (it->i >= TUPLE (s)->len)
        return false;
      *out = TUPLE (s)->items[it->i++];
      return true;
    case FB_V_DICT:
    case FB_V_SET:
      while (it->i < DICT (s)->used && !DICT (s)->entries[it->i].key)
        it->i++;
      if (it->i >= DICT (s)->used)
        return false;
      *out = DICT (s)->entries[it->i++].key;
      return true;
    case FB_V_RANGE:
      {
        fv_range *r = AS (fv_range, s);
        if (it->i >= (size_t) r->len)
          return false;
        *out = fb_int (th, r->start + (int64_t) it->i * r->step);
        it->i++;
        return true;
      }
    default:
      return false;
    }
}

void
iter_done (star_iter *it)
{
  fb_value_type t = vtype (it->seq);
  if (t == FB_V_LIST || t == FB_V_DICT || t == FB_V_SET)
    it->seq->itercount--;
}

int
iter_collect (fb_star_thread *th, fb_value *seq, fb_value ***items, size_t *n)
{
  if (vtype (seq) == FB_V_LIST)
    {
      *items = LIST (seq)->items;
      *n = LIST (seq)->len;
      return 0;
    }
  if (vtype (seq) == FB_V_TUPLE)
    {
      *items = TUPLE (seq)->items;
      *n = TUPLE (seq)->len;
      return 0;
    }
  star_iter it;
  if (iter_start (th, seq, &it) < 0)
    return -1;
  long len = fb_value_len (seq);
  if (len > 0 && !star_fits (th, (size_t) len * sizeof (fb_value *)))
    {
      iter_done (&it);
      return -1;
    }
  fb_value **arr = star_alloc (th, (size_t) (len > 0 ? len : 1) * sizeof *arr);
  size_t k = 0;
  fb_value *x;
  while (iter_next (&it, &x, th))
    arr[k++] = x;
  iter_done (&it);
  *items = arr;
  *n = k;
  return 0;
}
