/* Arbitrary-precision integers for the Starlark interpreter.
 *
 * Values are immutable: every operation returns a new fb_bigint allocated
 * through the caller's allocator (struct and limbs together) and never
 * modifies its inputs. Nothing is freed individually; the caller uses arenas.
 * Semantics follow Python/Starlark: floored division, infinite two's
 * complement for bitwise operations on negatives, floor for >>. */
#ifndef FB_STAR_BIGINT_H
#define FB_STAR_BIGINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* never returns NULL */
typedef void *(*fb_bigint_alloc_fn) (void *ctx, size_t size);

typedef struct fb_bigint {
  int sign;      /* -1, 0, +1 */
  uint32_t n;    /* limbs used */
  uint32_t *d;   /* little-endian base 2^32 magnitude, normalized:
                    n == 0 iff sign == 0, d[n-1] != 0 */
} fb_bigint;

typedef struct fb_bigint_ctx {
  fb_bigint_alloc_fn alloc;
  void *ctx;
} fb_bigint_ctx;

fb_bigint *fb_bigint_from_i64 (const fb_bigint_ctx *c, int64_t v);
fb_bigint *fb_bigint_from_u64 (const fb_bigint_ctx *c, uint64_t v);
/* false if it does not fit */
bool fb_bigint_to_i64 (const fb_bigint *a, int64_t *out);

/* Parses digits (no sign, no prefix, underscores NOT allowed) in base 2..36;
 * letters may be either case. False on an invalid digit, an empty string or
 * a base outside 2..36; *out is set only on success. */
bool fb_bigint_parse (const fb_bigint_ctx *c, const char *s, size_t len,
                      int base, fb_bigint **out);
/* Formats in base 2..36 (lowercase digits), with '-' for negatives, no
 * prefix; returns a malloc'd NUL-terminated string (caller frees), or NULL
 * for a base outside 2..36. */
char *fb_bigint_format (const fb_bigint *a, int base);

int fb_bigint_cmp (const fb_bigint *a, const fb_bigint *b); /* -1/0/1 */
fb_bigint *fb_bigint_neg (const fb_bigint_ctx *c, const fb_bigint *a);
fb_bigint *fb_bigint_add (const fb_bigint_ctx *c, const fb_bigint *a,
                          const fb_bigint *b);
fb_bigint *fb_bigint_sub (const fb_bigint_ctx *c, const fb_bigint *a,
                          const fb_bigint *b);
fb_bigint *fb_bigint_mul (const fb_bigint_ctx *c, const fb_bigint *a,
                          const fb_bigint *b);
/* Floored division like Python: q = floor(a/b), r = a - q*b (r has the sign
 * of b). b != 0 (caller checks). Either out pointer may be NULL. */
void fb_bigint_divmod (const fb_bigint_ctx *c, const fb_bigint *a,
                       const fb_bigint *b, fb_bigint **q, fb_bigint **r);

/* Bitwise ops with Python's infinite two's-complement semantics for
 * negatives. */
fb_bigint *fb_bigint_and (const fb_bigint_ctx *c, const fb_bigint *a,
                          const fb_bigint *b);
fb_bigint *fb_bigint_or (const fb_bigint_ctx *c, const fb_bigint *a,
                         const fb_bigint *b);
fb_bigint *fb_bigint_xor (const fb_bigint_ctx *c, const fb_bigint *a,
                          const fb_bigint *b);
fb_bigint *fb_bigint_not (const fb_bigint_ctx *c, const fb_bigint *a); /* -a-1 */
/* The caller bounds n: a result too large to count its limbs in 32 bits
 * aborts. */
fb_bigint *fb_bigint_shl (const fb_bigint_ctx *c, const fb_bigint *a,
                          uint64_t n);
fb_bigint *fb_bigint_shr (const fb_bigint_ctx *c, const fb_bigint *a,
                          uint64_t n); /* floor, like Python >> */

/* Nearest double (correctly rounded); *overflow = true (and the result is
 * +-inf) if |a| rounds beyond DBL_MAX, as Python's float(int) overflows. */
double fb_bigint_to_double (const fb_bigint *a, bool *overflow);
/* Truncates a finite double toward zero (NaN and infinities give 0; the
 * caller rejects them first). */
fb_bigint *fb_bigint_from_double (const fb_bigint_ctx *c, double d);

/* Equal values hash equal; for values fitting int64 it equals
 * (uint64_t) value, so small ints and big ints agree. */
uint64_t fb_bigint_hash (const fb_bigint *a);
size_t fb_bigint_bitlen (const fb_bigint *a); /* bits of |a| */

#endif
