/* Arbitrary-precision integers: sign + magnitude in base 2^32 limbs.
 *
 * Magnitude helpers (mag_*) work on raw limb arrays; the public functions
 * handle signs and allocation. Scratch space that does not outlive a call
 * comes from fb_xmalloc, so temporaries do not pile up in the caller's
 * arena. */
#include "star/bigint.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

#define LIMB_BITS 32

/* One allocation for struct and limbs; n is the capacity, fixed up by
 * finish(). */
static fb_bigint *
alloc_big (const fb_bigint_ctx *c, size_t n)
{
  if (n > UINT32_MAX)
    abort (); /* the caller bounds sizes (bigint.h) */
  fb_bigint *b = c->alloc (c->ctx, sizeof (fb_bigint) + n * sizeof (uint32_t));
  b->sign = 0;
  b->n = (uint32_t) n;
  b->d = (uint32_t *) (b + 1);
  return b;
}

/* Drops high zero limbs and keeps the sign consistent with the value. */
static fb_bigint *
finish (fb_bigint *b, int sign)
{
  while (b->n > 0 && b->d[b->n - 1] == 0)
    b->n--;
  b->sign = b->n ? sign : 0;
  return b;
}

static fb_bigint *
copy_big (const fb_bigint_ctx *c, const fb_bigint *a, int sign)
{
  fb_bigint *r = alloc_big (c, a->n);
  if (a->n)
    memcpy (r->d, a->d, a->n * sizeof (uint32_t));
  return finish (r, sign);
}

static int
clz32 (uint32_t x)
{
  return x ? __builtin_clz (x) : 32;
}

/* ---- magnitude helpers ---- */

static int
mag_cmp (const uint32_t *a, size_t an, const uint32_t *b, size_t bn)
{
  if (an != bn)
    return an < bn ? -1 : 1;
  for (size_t i = an; i-- > 0;)
    if (a[i] != b[i])
      return a[i] < b[i] ? -1 : 1;
  return 0;
}

/* r = a + b, an >= bn; r holds an + 1 limbs (may alias a). */
static void
mag_add (uint32_t *r, const uint32_t *a, size_t an, const uint32_t *b,
         size_t bn)
{
  uint64_t carry = 0;
  size_t i = 0;
  for (; i < bn; i++)
    {
      carry += (uint64_t) a[i] + b[i];
      r[i] = (uint32_t) carry;
      carry >>= 32;
    }
  for (; i < an; i++)
    {
      carry += a[i];
      r[i] = (uint32_t) carry;
      carry >>= 32;
    }
  r[an] = (uint32_t) carry;
}

/* r = a - b, requires a >= b (so an >= bn); r holds an limbs (may alias a). */
static void
mag_sub (uint32_t *r, const uint32_t *a, size_t an, const uint32_t *b,
         size_t bn)
{
  uint32_t borrow = 0;
  size_t i = 0;
  for (; i < bn; i++)
    {
      uint64_t t = (uint64_t) a[i] - b[i] - borrow;
      r[i] = (uint32_t) t;
      borrow = (uint32_t) (t >> 63);
    }
  for (; i < an; i++)
    {
      uint64_t t = (uint64_t) a[i] - borrow;
      r[i] = (uint32_t) t;
      borrow = (uint32_t) (t >> 63);
    }
}

/* Adds 1 in place, the caller guaranteeing room for a final carry. */
static void
mag_inc (uint32_t *a, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (++a[i] != 0)
      return;
}

/* q = a / v (q may alias a), returns the remainder. */
static uint32_t
mag_divmod_1 (uint32_t *q, const uint32_t *a, size_t n, uint32_t v)
{
  uint64_t rem = 0;
  for (size_t i = n; i-- > 0;)
    {
      uint64_t cur = (rem << 32) | a[i];
      q[i] = (uint32_t) (cur / v);
      rem = cur % v;
    }
  return (uint32_t) rem;
}

/* Knuth's algorithm D (TAOCP 4.3.1), in the form of Hacker's Delight
 * divmnu: q (m-n+1 limbs) = u / v, r (n limbs) = u % v, for m >= n >= 2
 * and v[n-1] != 0. Inputs are not modified. */
static void
mag_divmod_knuth (uint32_t *q, uint32_t *r, const uint32_t *u, size_t m,
                  const uint32_t *v, size_t n)
{
  /* normalize so the divisor's top bit is set, which bounds qhat's error */
  int s = clz32 (v[n - 1]);
  uint32_t *vn = fb_xmalloc (n * sizeof (uint32_t));
  uint32_t *un = fb_xmalloc ((m + 1) * sizeof (uint32_t));
  for (size_t i = n - 1; i > 0; i--)
    vn[i] = (v[i] << s) | (s ? v[i - 1] >> (32 - s) : 0);
  vn[0] = v[0] << s;
  un[m] = s ? u[m - 1] >> (32 - s) : 0;
  for (size_t i = m - 1; i > 0; i--)
    un[i] = (u[i] << s) | (s ? u[i - 1] >> (32 - s) : 0);
  un[0] = u[0] << s;

  const uint64_t base = UINT64_C (1) << 32;
  for (size_t j = m - n + 1; j-- > 0;)
    {
      /* estimate from the top two limbs, then correct it at most twice */
      uint64_t num = ((uint64_t) un[j + n] << 32) | un[j + n - 1];
      uint64_t qhat = num / vn[n - 1];
      uint64_t rhat = num % vn[n - 1];
      while (qhat >= base
             || qhat * vn[n - 2] > ((rhat << 32) | un[j + n - 2]))
        {
          qhat--;
          rhat += vn[n - 1];
          if (rhat >= base)
            break;
        }

      /* un[j..j+n] -= qhat * vn */
      uint64_t carry = 0;
      uint32_t borrow = 0;
      for (size_t i = 0; i < n; i++)
        {
          uint64_t p = qhat * vn[i] + carry;
          carry = p >> 32;
          uint64_t t = (uint64_t) un[i + j] - (uint32_t) p - borrow;
          un[i + j] = (uint32_t) t;
          borrow = (uint32_t) (t >> 63);
        }
      uint64_t t = (uint64_t) un[j + n] - carry - borrow;
      un[j + n] = (uint32_t) t;

      if (t >> 63)
        {
          /* qhat was one too large (rare): add the divisor back */
          qhat--;
          uint64_t c = 0;
          for (size_t i = 0; i < n; i++)
            {
              c += (uint64_t) un[i + j] + vn[i];
              un[i + j] = (uint32_t) c;
              c >>= 32;
            }
          un[j + n] += (uint32_t) c;
        }
      q[j] = (uint32_t) qhat;
    }

  if (r)
    {
      for (size_t i = 0; i + 1 < n; i++)
        r[i] = (un[i] >> s) | (s ? un[i + 1] << (32 - s) : 0);
      r[n - 1] = un[n - 1] >> s;
    }
  free (vn);
  free (un);
}

/* Truncating division of magnitudes: quotient and remainder as new
 * non-negative bigints (sign left for the caller). */
static void
mag_divmod (const fb_bigint_ctx *c, const fb_bigint *a, const fb_bigint *b,
            fb_bigint **q, fb_bigint **r)
{
  if (mag_cmp (a->d, a->n, b->d, b->n) < 0)
    {
      *q = alloc_big (c, 0);
      finish (*q, 1);
      *r = copy_big (c, a, 1);
      return;
    }
  *q = alloc_big (c, a->n - b->n + 1);
  *r = alloc_big (c, b->n);
  if (b->n == 1)
    (*r)->d[0] = mag_divmod_1 ((*q)->d, a->d, a->n, b->d[0]);
  else
    mag_divmod_knuth ((*q)->d, (*r)->d, a->d, a->n, b->d, b->n);
  finish (*q, 1);
  finish (*r, 1);
}

/* ---- conversions ---- */

fb_bigint *
fb_bigint_from_u64 (const fb_bigint_ctx *c, uint64_t v)
{
  fb_bigint *b = alloc_big (c, 2);
  b->d[0] = (uint32_t) v;
  b->d[1] = (uint32_t) (v >> 32);
  return finish (b, 1);
}

fb_bigint *
fb_bigint_from_i64 (const fb_bigint_ctx *c, int64_t v)
{
  /* negate in unsigned arithmetic so INT64_MIN does not overflow */
  uint64_t m = v < 0 ? -(uint64_t) v : (uint64_t) v;
  fb_bigint *b = fb_bigint_from_u64 (c, m);
  return finish (b, v < 0 ? -1 : 1);
}

bool
fb_bigint_to_i64 (const fb_bigint *a, int64_t *out)
{
  if (a->n > 2)
    return false;
  uint64_t m = 0;
  if (a->n > 0)
    m = a->d[0];
  if (a->n > 1)
    m |= (uint64_t) a->d[1] << 32;
  if (a->sign >= 0)
    {
      if (m > (uint64_t) INT64_MAX)
        return false;
      *out = (int64_t) m;
    }
  else
    {
      if (m > (uint64_t) INT64_MAX + 1)
        return false;
      /* -(m-1)-1 stays in range even for m == 2^63 */
      *out = -(int64_t) (m - 1) - 1;
    }
  return true;
}

static int
digit_value (char ch)
{
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'z')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'Z')
    return ch - 'A' + 10;
  return 99;
}

/* Largest power of base that fits a limb, and its exponent: digits are
 * handled that many at a time so each step is one limb-sized operation. */
static uint32_t
chunk_power (int base, int *digits)
{
  uint64_t p = (uint64_t) base;
  int k = 1;
  while (p * (uint64_t) base <= UINT32_MAX)
    {
      p *= (uint64_t) base;
      k++;
    }
  *digits = k;
  return (uint32_t) p;
}

bool
fb_bigint_parse (const fb_bigint_ctx *c, const char *s, size_t len, int base,
                 fb_bigint **out)
{
  if (len == 0 || base < 2 || base > 36)
    return false;
  for (size_t i = 0; i < len; i++)
    if (digit_value (s[i]) >= base)
      return false;
  /* at most 6 bits per digit (36 < 64), plus a limb of slack */
  if (len > ((size_t) UINT32_MAX - 64) / 6)
    return false;
  fb_bigint *b = alloc_big (c, (len * 6) / 32 + 2);
  size_t n = 0;
  int k;
  chunk_power (base, &k);
  size_t i = 0;
  while (i < len)
    {
      uint32_t mult = 1, chunk = 0;
      for (int j = 0; j < k && i < len; j++, i++)
        {
          mult *= (uint32_t) base;
          chunk = chunk * (uint32_t) base + (uint32_t) digit_value (s[i]);
        }
      /* b = b * mult + chunk */
      uint64_t carry = chunk;
      for (size_t l = 0; l < n; l++)
        {
          carry += (uint64_t) b->d[l] * mult;
          b->d[l] = (uint32_t) carry;
          carry >>= 32;
        }
      if (carry)
        b->d[n++] = (uint32_t) carry;
    }
  b->n = (uint32_t) n;
  *out = finish (b, 1);
  return true;
}

char *
fb_bigint_format (const fb_bigint *a, int base)
{
  static const char digs[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  if (base < 2 || base > 36)
    return NULL;
  /* bitlen digits suffice for any base >= 2; + sign + NUL (+1 for zero) */
  size_t cap = fb_bigint_bitlen (a) + 3;
  char *buf = fb_xmalloc (cap);
  char *p = buf + cap;
  *--p = '\0';
  if (a->sign == 0)
    *--p = '0';
  else
    {
      int k;
      uint32_t pw = chunk_power (base, &k);
      uint32_t *t = fb_xmalloc (a->n * sizeof (uint32_t));
      memcpy (t, a->d, a->n * sizeof (uint32_t));
      size_t n = a->n;
      /* peel k digits per division by base^k (10^9 for decimal) */
      while (n > 0)
        {
          uint32_t rem = mag_divmod_1 (t, t, n, pw);
          while (n > 0 && t[n - 1] == 0)
            n--;
          for (int j = 0; j < k && (n > 0 || rem != 0); j++)
            {
              *--p = digs[rem % (uint32_t) base];
              rem /= (uint32_t) base;
            }
        }
      free (t);
      if (a->sign < 0)
        *--p = '-';
    }
  memmove (buf, p, (size_t) (buf + cap - p));
  return buf;
}

/* ---- comparison and arithmetic ---- */

int
fb_bigint_cmp (const fb_bigint *a, const fb_bigint *b)
{
  if (a->sign != b->sign)
    return a->sign < b->sign ? -1 : 1;
  int m = mag_cmp (a->d, a->n, b->d, b->n);
  return a->sign >= 0 ? m : -m;
}

fb_bigint *
fb_bigint_neg (const fb_bigint_ctx *c, const fb_bigint *a)
{
  return copy_big (c, a, -a->sign);
}

fb_bigint *
fb_bigint_add (const fb_bigint_ctx *c, const fb_bigint *a, const fb_bigint *b)
{
  if (a->sign == 0)
    return copy_big (c, b, b->sign);
  if (b->sign == 0)
    return copy_big (c, a, a->sign);
  if (a->n < b->n)
    {
      const fb_bigint *t = a;
      a = b;
      b = t;
    }
  if (a->sign == b->sign)
    {
      fb_bigint *r = alloc_big (c, (size_t) a->n + 1);
      mag_add (r->d, a->d, a->n, b->d, b->n);
      return finish (r, a->sign);
    }
  /* opposite signs: subtract the smaller magnitude from the larger */
  int m = mag_cmp (a->d, a->n, b->d, b->n);
  if (m == 0)
    return finish (alloc_big (c, 0), 0);
  if (m < 0)
    {
      const fb_bigint *t = a;
      a = b;
      b = t;
    }
  fb_bigint *r = alloc_big (c, a->n);
  mag_sub (r->d, a->d, a->n, b->d, b->n);
  return finish (r, a->sign);
}

fb_bigint *
fb_bigint_sub (const fb_bigint_ctx *c, const fb_bigint *a, const fb_bigint *b)
{
  /* a view of -b sharing b's limbs; add() does not keep it */
  fb_bigint nb = *b;
  nb.sign = -b->sign;
  return fb_bigint_add (c, a, &nb);
}

fb_bigint *
fb_bigint_mul (const fb_bigint_ctx *c, const fb_bigint *a, const fb_bigint *b)
{
  if (a->sign == 0 || b->sign == 0)
    return finish (alloc_big (c, 0), 0);
  size_t rn = (size_t) a->n + b->n;
  fb_bigint *r = alloc_big (c, rn);
  memset (r->d, 0, rn * sizeof (uint32_t));
  for (size_t i = 0; i < a->n; i++)
    {
      uint64_t carry = 0;
      uint64_t ai = a->d[i];
      for (size_t j = 0; j < b->n; j++)
        {
          /* (2^32-1)^2 + 2 * (2^32-1) fits 64 bits exactly */
          carry += ai * b->d[j] + r->d[i + j];
          r->d[i + j] = (uint32_t) carry;
          carry >>= 32;
        }
      r->d[i + b->n] = (uint32_t) carry;
    }
  return finish (r, a->sign * b->sign);
}

void
fb_bigint_divmod (const fb_bigint_ctx *c, const fb_bigint *a,
                  const fb_bigint *b, fb_bigint **q, fb_bigint **r)
{
  fb_bigint *qm, *rm;
  mag_divmod (c, a, b, &qm, &rm);
  int qs = a->sign * b->sign;
  if (rm->sign != 0 && a->sign != b->sign)
    {
      /* truncation rounded toward zero; floor needs q - 1 and r + b,
       * i.e. |q| + 1 and |b| - |r| with the sign of b */
      fb_bigint *q1 = alloc_big (c, (size_t) qm->n + 1);
      if (qm->n)
        memcpy (q1->d, qm->d, qm->n * sizeof (uint32_t));
      q1->d[qm->n] = 0;
      mag_inc (q1->d, q1->n);
      qm = q1;
      fb_bigint *r1 = alloc_big (c, b->n);
      mag_sub (r1->d, b->d, b->n, rm->d, rm->n);
      rm = r1;
    }
  if (q)
    *q = finish (qm, qs);
  if (r)
    *r = finish (rm, b->sign);
}

/* ---- bitwise ---- */

/* Writes x as n limbs of two's complement (n > x->n, so the top limb
 * carries the sign). */
static void
to_twos (uint32_t *dst, size_t n, const fb_bigint *x)
{
  memset (dst, 0, n * sizeof (uint32_t));
  if (x->n)
    memcpy (dst, x->d, x->n * sizeof (uint32_t));
  if (x->sign < 0)
    {
      for (size_t i = 0; i < n; i++)
        dst[i] = ~dst[i];
      mag_inc (dst, n);
    }
}

enum bitop { OP_AND, OP_OR, OP_XOR };

static fb_bigint *
bitwise (const fb_bigint_ctx *c, const fb_bigint *a, const fb_bigint *b,
         enum bitop op)
{
  /* one extra limb keeps the sign bit of both operands and the result */
  size_t n = (size_t) (a->n > b->n ? a->n : b->n) + 1;
  fb_bigint *r = alloc_big (c, n);
  uint32_t *t = fb_xmalloc (n * sizeof (uint32_t));
  to_twos (r->d, n, a);
  to_twos (t, n, b);
  for (size_t i = 0; i < n; i++)
    switch (op)
      {
      case OP_AND: r->d[i] &= t[i]; break;
      case OP_OR: r->d[i] |= t[i]; break;
      case OP_XOR: r->d[i] ^= t[i]; break;
      }
  free (t);
  int sign = 1;
  if (r->d[n - 1] >> 31)
    {
      /* negative: back to magnitude by negating the two's complement */
      sign = -1;
      for (size_t i = 0; i < n; i++)
        r->d[i] = ~r->d[i];
      mag_inc (r->d, n);
    }
  return finish (r, sign);
}

fb_bigint *
fb_bigint_and (const fb_bigint_ctx *c, const fb_bigint *a, const fb_bigint *b)
{
  return bitwise (c, a, b, OP_AND);
}

fb_bigint *
fb_bigint_or (const fb_bigint_ctx *c, const fb_bigint *a, const fb_bigint *b)
{
  return bitwise (c, a, b, OP_OR);
}

fb_bigint *
fb_bigint_xor (const fb_bigint_ctx *c, const fb_bigint *a, const fb_bigint *b)
{
  return bitwise (c, a, b, OP_XOR);
}

fb_bigint *
fb_bigint_not (const fb_bigint_ctx *c, const fb_bigint *a)
{
  /* ~a == -a - 1 == -(a + 1) */
  uint32_t one = 1;
  const fb_bigint b1 = { 1, 1, &one };
  fb_bigint *s = fb_bigint_add (c, a, &b1);
  s->sign = -s->sign;
  return s;
}

fb_bigint *
fb_bigint_shl (const fb_bigint_ctx *c, const fb_bigint *a, uint64_t n)
{
  if (a->sign == 0)
    return finish (alloc_big (c, 0), 0);
  uint64_t limbs = n / LIMB_BITS;
  unsigned bits = (unsigned) (n % LIMB_BITS);
  if (limbs > UINT32_MAX)
    limbs = UINT32_MAX; /* alloc_big aborts on this */
  fb_bigint *r = alloc_big (c, (size_t) limbs + a->n + 1);
  memset (r->d, 0, (size_t) limbs * sizeof (uint32_t));
  uint32_t carry = 0;
  for (size_t i = 0; i < a->n; i++)
    {
      r->d[limbs + i] = (a->d[i] << bits) | carry;
      carry = bits ? a->d[i] >> (32 - bits) : 0;
    }
  r->d[limbs + a->n] = carry;
  return finish (r, a->sign);
}

fb_bigint *
fb_bigint_shr (const fb_bigint_ctx *c, const fb_bigint *a, uint64_t n)
{
  if (n >= fb_bigint_bitlen (a))
    {
      /* everything shifted out: floor gives 0, or -1 for negatives */
      if (a->sign < 0)
        return fb_bigint_from_i64 (c, -1);
      return finish (alloc_big (c, 0), 0);
    }
  size_t limbs = (size_t) (n / LIMB_BITS);
  unsigned bits = (unsigned) (n % LIMB_BITS);
  size_t rn = a->n - limbs;
  /* one spare limb for the +1 below */
  fb_bigint *r = alloc_big (c, rn + 1);
  for (size_t i = 0; i < rn; i++)
    {
      uint32_t hi = (bits && limbs + i + 1 < a->n)
                        ? a->d[limbs + i + 1] << (32 - bits)
                        : 0;
      r->d[i] = (a->d[limbs + i] >> bits) | hi;
    }
  r->d[rn] = 0;
  if (a->sign < 0)
    {
      /* floor(-m / 2^n) == -ceil(m / 2^n): round the magnitude up if any
       * 1 bit was shifted out */
      bool lost = bits && (a->d[limbs] & ((UINT32_C (1) << bits) - 1));
      for (size_t i = 0; i < limbs && !lost; i++)
        lost = a->d[i] != 0;
      if (lost)
        mag_inc (r->d, rn + 1);
    }
  return finish (r, a->sign);
}

/* ---- floating point ---- */

static double
double_from_bits (uint64_t bits)
{
  double d;
  memcpy (&d, &bits, sizeof d);
  return d;
}

double
fb_bigint_to_double (const fb_bigint *a, bool *overflow)
{
  *overflow = false;
  size_t bl = fb_bigint_bitlen (a);
  double sign = a->sign < 0 ? -1.0 : 1.0;
  if (bl > 1024)
    {
      *overflow = true;
      return sign * double_from_bits (UINT64_C (0x7ff0000000000000));
    }
  uint64_t top;
  size_t shift = 0;
  if (bl <= 64)
    {
      top = 0;
      for (size_t i = a->n; i-- > 0;)
        top = (top << 32) | a->d[i];
    }
  else
    {
      /* top 64 bits, with every lower 1 bit folded into the lowest one
       * (sticky), so the single u64 -> double rounding is still correct */
      shift = bl - 64;
      size_t limbs = shift / 32;
      unsigned bits = (unsigned) (shift % 32);
      uint64_t hi = (uint64_t) a->d[limbs + 1] << 32 | a->d[limbs];
      uint64_t x = limbs + 2 < a->n ? a->d[limbs + 2] : 0;
      top = bits ? (hi >> bits) | (x << (64 - bits)) : hi;
      bool sticky = bits && (a->d[limbs] & ((UINT32_C (1) << bits) - 1));
      for (size_t i = 0; i < limbs && !sticky; i++)
        sticky = a->d[i] != 0;
      top |= sticky ? 1 : 0;
    }
  double r = (double) top;
  if (shift)
    {
      /* exact scaling by 2^shift (shift <= 960); only overflow can occur */
      r *= double_from_bits ((uint64_t) (1023 + shift) << 52);
    }
  if (r > DBL_MAX)
    *overflow = true;
  return sign * r;
}

fb_bigint *
fb_bigint_from_double (const fb_bigint_ctx *c, double d)
{
  uint64_t bits;
  memcpy (&bits, &d, sizeof bits);
  int exp = (int) ((bits >> 52) & 0x7ff);
  int sign = (bits >> 63) ? -1 : 1;
  /* |d| < 1 truncates to 0; exp 0x7ff is inf/NaN, which callers reject */
  if (exp < 1023 || exp == 0x7ff)
    return finish (alloc_big (c, 0), 0);
  uint64_t mant = (bits & ((UINT64_C (1) << 52) - 1)) | (UINT64_C (1) << 52);
  int e = exp - 1075; /* d == mant * 2^e */
  fb_bigint *m;
  if (e >= 0)
    {
      fb_bigint tmp = { 1, 2, NULL };
      uint32_t limbs[2] = { (uint32_t) mant, (uint32_t) (mant >> 32) };
      tmp.d = limbs;
      m = fb_bigint_shl (c, &tmp, (uint64_t) e);
    }
  else
    m = fb_bigint_from_u64 (c, mant >> -e);
  return finish (m, sign);
}

/* ---- misc ---- */

size_t
fb_bigint_bitlen (const fb_bigint *a)
{
  if (a->n == 0)
    return 0;
  return (size_t) a->n * 32 - (size_t) clz32 (a->d[a->n - 1]);
}

uint64_t
fb_bigint_hash (const fb_bigint *a)
{
  int64_t v;
  if (fb_bigint_to_i64 (a, &v))
    return (uint64_t) v;
  /* FNV-1a over the limbs and sign; collisions with small values are
   * harmless, only equal values must agree */
  uint64_t h = UINT64_C (0xcbf29ce484222325);
  for (size_t i = 0; i < a->n; i++)
    {
      h ^= a->d[i];
      h *= UINT64_C (0x100000001b3);
    }
  h ^= (uint64_t) (a->sign < 0);
  h *= UINT64_C (0x100000001b3);
  return h;
}
