/* Operators: arithmetic on ints (small and big) and floats, sequence
 * concatenation and repetition, set and dict algebra, membership. */
#include <math.h>
#include <stdlib.h>

#include "star/internal.h"

static fb_value *
big_result (fb_star_thread *th, fb_bigint *b)
{
  return int_from_big (th, b);
}

static fb_value *
int_add (fb_star_thread *th, fb_value *a, fb_value *b, bool sub)
{
  if (IS_SMALL (a) && IS_SMALL (b))
    return fb_int (th, sub ? SMALL_VAL (a) - SMALL_VAL (b)
                           : SMALL_VAL (a) + SMALL_VAL (b));
  const fb_bigint_ctx *c = star_bigctx (th);
  fb_bigint *x = int_to_big (th, a), *y = int_to_big (th, b);
  return big_result (th, sub ? fb_bigint_sub (c, x, y) : fb_bigint_add (c, x, y));
}

static fb_value *
int_mul (fb_star_thread *th, fb_value *a, fb_value *b)
{
  int64_t r;
  if (IS_SMALL (a) && IS_SMALL (b)
      && !__builtin_mul_overflow (SMALL_VAL (a), SMALL_VAL (b), &r))
    return fb_int (th, r);
  return big_result (th, fb_bigint_mul (star_bigctx (th), int_to_big (th, a),
                                        int_to_big (th, b)));
}

static bool
is_zero (fb_value *v)
{
  return IS_SMALL (v) && SMALL_VAL (v) == 0;
}

static fb_value *
int_divmod (fb_star_thread *th, fb_value *a, fb_value *b, bool want_mod)
{
  if (is_zero (b))
    return fb_star_errorf (th, "integer %s by zero",
                           want_mod ? "modulo" : "division");
  if (IS_SMALL (a) && IS_SMALL (b))
    {
      int64_t x = SMALL_VAL (a), y = SMALL_VAL (b);
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0)))
        {
          q--;
          m += y;
        }
      return fb_int (th, want_mod ? m : q);
    }
  fb_bigint *q, *m;
  fb_bigint_divmod (star_bigctx (th), int_to_big (th, a), int_to_big (th, b),
                    &q, &m);
  return big_result (th, want_mod ? m : q);
}

static fb_value *
int_shift (fb_star_thread *th, fb_value *a, fb_value *b, bool left)
{
  int64_t n;
  if (!fb_value_as_int64 (b, &n) || n >= 512)
    return fb_star_errorf (th, "shift count too large: %s",
                           fb_value_as_int64 (b, &n) ? "over 511" : "huge");
  if (n < 0)
    return fb_star_errorf (th, "negative shift count: %lld", (long long) n);
  if (IS_SMALL (a))
    {
      int64_t x = SMALL_VAL (a);
      if (!left)
        return mk_small (n >= 63 ? (x < 0 ? -1 : 0) : x >> n);
      if (n < 62)
        {
          int64_t r = (int64_t) ((uint64_t) x << n);
          if ((r >> n) == x && fits_small (r))
            return mk_small (r);
        }
    }
  const fb_bigint_ctx *c = star_bigctx (th);
  fb_bigint *x = int_to_big (th, a);
  return big_result (th, left ? fb_bigint_shl (c, x, (uint64_t) n)
                              : fb_bigint_shr (c, x, (uint64_t) n));
}

static fb_value *
int_bitwise (fb_star_thread *th, tok_kind op, fb_value *a, fb_value *b)
{
  if (IS_SMALL (a) && IS_SMALL (b))
    {
      int64_t x = SMALL_VAL (a), y = SMALL_VAL (b);
      return mk_small (op == T_AMP ? (x & y) : op == T_PIPE ? (x | y) : (x ^ y));
    }
  const fb_bigint_ctx *c = star_bigctx (th);
  fb_bigint *x = int_to_big (th, a), *y = int_to_big (th, b);
  return big_result (th, op == T_AMP ? fb_bigint_and (c, x, y)
                         : op == T_PIPE ? fb_bigint_or (c, x, y)
                                        : fb_bigint_xor (c, x, y));
}

static bool
to_float (fb_star_thread *th, fb_value *v, double *out)
{
  if (vtype (v) == FB_V_FLOAT)
    {
      *out = AS (fv_float, v)->d;
      return true;
    }
  if (!int_to_double (v, out))
    {
      fb_star_errorf (th, "int too large to convert to float");
      return false;
    }
  return true;
}

static bool
is_number (fb_value *v)
{
  fb_value_type t = vtype (v);
  return t == FB_V_INT || t == FB_V_FLOAT;
}

static fb_value *
float_op (fb_star_thread *th, tok_kind op, fb_value *a, fb_value *b)
{
  double x, y;
  if (!to_float (th, a, &x) || !to_float (th, b, &y))
    return NULL;
  switch (op)
    {
    case T_PLUS: return fb_float (th, x + y);
    case T_MINUS: return fb_float (th, x - y);
    case T_STAR: return fb_float (th, x * y);
    case T_SLASH:
      if (y == 0)
        return fb_star_errorf (th, "floating-point division by zero");
      return fb_float (th, x / y);
    case T_SLASHSLASH:
      if (y == 0)
        return fb_star_errorf (th, "floored division by zero");
      return fb_float (th, floor (x / y));
    case T_PERCENT:
      {
        if (y == 0)
          return fb_star_errorf (th, "floating-point modulo by zero");
        double m = fmod (x, y);
        if (m != 0 && ((m < 0) != (y < 0)))
          m += y;
        return fb_float (th, m);
      }
    default:
      return NULL;
    }
}

static fb_value *
repeat (fb_star_thread *th, fb_value *seq, fb_value *nv)
{
  int64_t n;
  if (!fb_value_as_int64 (nv, &n))
    return fb_star_errorf (th, "repeat count too large");
  if (n < 0)
    n = 0;
  fb_value_type t = vtype (seq);
  size_t len = (size_t) fb_value_len (seq);
  size_t elt = (t == FB_V_STRING || t == FB_V_BYTES) ? 1 : sizeof (fb_value *);
  if (len && (uint64_t) n > (th->cfg.max_memory / elt) / len)
    return fb_star_errorf (th, "excessive repeat (%zu * %lld elements)", len,
                           (long long) n);
  size_t total = len * (size_t) n;
  if (t == FB_V_STRING || t == FB_V_BYTES)
    {
      char *buf = star_alloc (th, total + 1);
      for (int64_t i = 0; i < n; i++)
        memcpy (buf + (size_t) i * len, STR (seq)->s, len);
      return t == FB_V_STRING ? fb_string_n (th, buf, total)
                              : fb_bytes_n (th, buf, total);
    }
  fb_value **src = t == FB_V_LIST ? LIST (seq)->items : TUPLE (seq)->items;
  fb_value **items = star_alloc (th, (total ? total : 1) * sizeof *items);
  for (int64_t i = 0; i < n; i++)
    memcpy (items + (size_t) i * len, src, len * sizeof *items);
  return t == FB_V_LIST ? list_from (th, total, items)
                        : fb_tuple_new (th, total, items);
}

static fb_value *
concat (fb_star_thread *th, fb_value *a, fb_value *b)
{
  fb_value_type t = vtype (a);
  if (t == FB_V_STRING || t == FB_V_BYTES)
    {
      size_t n = STR (a)->len + STR (b)->len;
      if (!star_fits (th, n + 1))
        return NULL;
      fv_string *r = star_string_new (th, n, t);
      memcpy (r->s, STR (a)->s, STR (a)->len);
      memcpy (r->s + STR (a)->len, STR (b)->s, STR (b)->len);
      return &r->h;
    }
  fb_value **xa, **xb;
  size_t na, nb;
  iter_collect (th, a, &xa, &na);
  iter_collect (th, b, &xb, &nb);
  if (!star_fits (th, (na + nb + 1) * sizeof (fb_value *)))
    return NULL;
  fb_value *r = t == FB_V_LIST ? list_with_cap (th, na + nb)
                               : fb_tuple_new (th, na + nb, NULL);
  fb_value **items = t == FB_V_LIST ? LIST (r)->items : TUPLE (r)->items;
  memcpy (items, xa, na * sizeof *items);
  memcpy (items + na, xb, nb * sizeof *items);
  if (t == FB_V_LIST)
    LIST (r)->len = na + nb;
  return r;
}

static fb_value *
set_op (fb_star_thread *th, tok_kind op, fb_value *a, fb_value *b)
{
  fb_value *r = &dict_new (th, FB_V_SET)->h;
  fb_value *k, *found;
  if (op == T_PIPE)
    {
      for (size_t i = 0; fb_dict_entry (a, i, &k, NULL); i++)
        dict_put (th, r, k, NULL);
      for (size_t i = 0; fb_dict_entry (b, i, &k, NULL); i++)
        dict_put (th, r, k, NULL);
      return r;
    }
  for (size_t i = 0; fb_dict_entry (a, i, &k, NULL); i++)
    {
      bool in_b = dict_lookup (th, b, k, &found) > 0;
      if ((op == T_AMP && in_b) || (op != T_AMP && !in_b))
        dict_put (th, r, k, NULL);
    }
  if (op == T_CIRCUMFLEX)
    for (size_t i = 0; fb_dict_entry (b, i, &k, NULL); i++)
      if (dict_lookup (th, a, k, &found) == 0)
        dict_put (th, r, k, NULL);
  return r;
}

static int
contains (fb_star_thread *th, fb_value *c, fb_value *x, bool *res)
{
  fb_value_type t = vtype (c);
  switch (t)
    {
    case FB_V_LIST:
    case FB_V_TUPLE:
      {
        fb_value **items = t == FB_V_LIST ? LIST (c)->items : TUPLE (c)->items;
        size_t n = (size_t) fb_value_len (c);
        for (size_t i = 0; i < n; i++)
          {
            bool eq;
            if (star_equal (th, items[i], x, &eq) < 0)
              return -1;
            if (eq)
              {
                *res = true;
                return 0;
              }
          }
        *res = false;
        return 0;
      }
    case FB_V_DICT:
    case FB_V_SET:
      {
        fb_value *v;
        int rc = dict_lookup (th, c, x, &v);
        if (rc < 0)
          return -1;
        *res = rc > 0;
        return 0;
      }
    case FB_V_STRING:
    case FB_V_BYTES:
      {
        fb_value_type tx = vtype (x);
        if (t == FB_V_BYTES && tx == FB_V_INT)
          {
            int64_t b;
            if (!fb_value_as_int64 (x, &b) || b < 0 || b > 255)
              {
                fb_star_errorf (th, "int in bytes: %lld out of range",
                                (long long) b);
                return -1;
              }
            *res = memchr (STR (c)->s, (int) b, STR (c)->len) != NULL;
            return 0;
          }
        if (tx != t)
          {
            fb_star_errorf (th, "'in <%s>' requires %s as left operand, not %s",
                            type_name (c), type_name (c), type_name (x));
            return -1;
          }
        *res = memmem (STR (c)->s, STR (c)->len, STR (x)->s, STR (x)->len)
               != NULL;
        return 0;
      }
    case FB_V_RANGE:
      {
        fv_range *r = AS (fv_range, c);
        int64_t i;
        *res = false;
        if (vtype (x) == FB_V_FLOAT)
          {
            double d = AS (fv_float, x)->d;
            if (d != floor (d) || fabs (d) > 9e18)
              return 0;
            i = (int64_t) d;
          }
        else if (vtype (x) != FB_V_INT)
          {
            fb_star_errorf (th, "'in <range>' requires integer as left operand, not %s",
                            type_name (x));
            return -1;
          }
        else if (!fb_value_as_int64 (x, &i))
          return 0;
        if (r->len == 0)
          return 0;
        if (r->step > 0 ? (i < r->start || i >= r->stop)
                        : (i > r->start || i <= r->stop))
          return 0;
        *res = (i - r->start) % r->step == 0;
        return 0;
      }
    default:
      fb_star_errorf (th, "unknown binary op: %s in %s",
                      type_name (x), type_name (c));
      return -1;
    }
}

static const char *
op_text (tok_kind op)
{
  return tok_name (op);
}

fb_value *
star_binary (fb_star_thread *th, tok_kind op, fb_value *x, fb_value *y)
{
  fb_value_type tx = vtype (x), ty = vtype (y);
  switch (op)
    {
    case T_PLUS:
      if (tx == FB_V_INT && ty == FB_V_INT)
        return int_add (th, x, y, false);
      if (is_number (x) && is_number (y))
        return float_op (th, op, x, y);
      if (tx == ty && (tx == FB_V_STRING || tx == FB_V_BYTES || tx == FB_V_LIST
                       || tx == FB_V_TUPLE))
        return concat (th, x, y);
      break;
    case T_MINUS:
      if (tx == FB_V_INT && ty == FB_V_INT)
        return int_add (th, x, y, true);
      if (is_number (x) && is_number (y))
        return float_op (th, op, x, y);
      if (tx == FB_V_SET && ty == FB_V_SET)
        return set_op (th, op, x, y);
      break;
    case T_STAR:
      if (tx == FB_V_INT && ty == FB_V_INT)
        return int_mul (th, x, y);
      if (is_number (x) && is_number (y))
        return float_op (th, op, x, y);
      if (ty == FB_V_INT && (tx == FB_V_STRING || tx == FB_V_BYTES
                             || tx == FB_V_LIST || tx == FB_V_TUPLE))
        return repeat (th, x, y);
      if (tx == FB_V_INT && (ty == FB_V_STRING || ty == FB_V_BYTES
                             || ty == FB_V_LIST || ty == FB_V_TUPLE))
        return repeat (th, y, x);
      break;
    case T_SLASH:
      if (is_number (x) && is_number (y))
        return float_op (th, op, x, y);
      break;
    case T_SLASHSLASH:
      if (tx == FB_V_INT && ty == FB_V_INT)
        return int_divmod (th, x, y, false);
      if (is_number (x) && is_number (y))
        return float_op (th, op, x, y);
      break;
    case T_PERCENT:
      if (tx == FB_V_STRING)
        return star_percent (th, x, y);
      if (tx == FB_V_INT && ty == FB_V_INT)
        return int_divmod (th, x, y, true);
      if (is_number (x) && is_number (y))
        return float_op (th, op, x, y);
      break;
    case T_AMP:
    case T_PIPE:
    case T_CIRCUMFLEX:
      if (tx == FB_V_INT && ty == FB_V_INT)
        return int_bitwise (th, op, x, y);
      if (tx == FB_V_SET && ty == FB_V_SET)
        return set_op (th, op, x, y);
      if (op == T_PIPE && tx == FB_V_DICT && ty == FB_V_DICT)
        {
          fb_value *r = fb_dict_new (th), *k, *v;
          for (size_t i = 0; fb_dict_entry (x, i, &k, &v); i++)
            dict_put (th, r, k, v);
          for (size_t i = 0; fb_dict_entry (y, i, &k, &v); i++)
            dict_put (th, r, k, v);
          return r;
        }
      break;
    case T_LTLT:
    case T_GTGT:
      if (tx == FB_V_INT && ty == FB_V_INT)
        return int_shift (th, x, y, op == T_LTLT);
      break;
    case T_EQL: case T_NEQ: case T_LT: case T_GT: case T_LE: case T_GE:
      {
        bool r;
        if (star_compare_op (th, op, x, y, &r) < 0)
          return NULL;
        return BOOLV (r);
      }
    case T_IN:
    case T_NOT_IN:
      {
        bool r;
        if (contains (th, y, x, &r) < 0)
          return NULL;
        return BOOLV (op == T_IN ? r : !r);
      }
    default:
      break;
    }
  return fb_star_errorf (th, "unknown binary op: %s %s %s",
                         type_name (x), op_text (op), type_name (y));
}

fb_value *
star_unary (fb_star_thread *th, tok_kind op, fb_value *x)
{
  fb_value_type t = vtype (x);
  if (t == FB_V_INT)
    {
      if (op == T_PLUS)
        return x;
      if (IS_SMALL (x))
        return fb_int (th, op == T_MINUS ? -SMALL_VAL (x) : ~SMALL_VAL (x));
      const fb_bigint_ctx *c = star_bigctx (th);
      fb_bigint *b = int_to_big (th, x);
      return big_result (th, op == T_MINUS ? fb_bigint_neg (c, b)
                                           : fb_bigint_not (c, b));
    }
  if (t == FB_V_FLOAT && op != T_TILDE)
    return op == T_PLUS ? x : fb_float (th, -AS (fv_float, x)->d);
  return fb_star_errorf (th, "unknown unary op: %s %s", tok_name (op),
                         type_name (x));
}
