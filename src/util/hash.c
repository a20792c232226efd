#include "util/hash.h"

#include <string.h>

#define ROTL(x, b) (uint64_t) (((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                               \
  do                                                                           \
    {                                                                          \
      v0 += v1; v1 = ROTL (v1, 13); v1 ^= v0; v0 = ROTL (v0, 32);              \
      v2 += v3; v3 = ROTL (v3, 16); v3 ^= v2;                                  \
      v0 += v3; v3 = ROTL (v3, 21); v3 ^= v0;                                  \
      v2 += v1; v1 = ROTL (v1, 17); v1 ^= v2; v2 = ROTL (v2, 32);              \
    }                                                                          \
  while (0)

static uint64_t
load64_le (const uint8_t *p)
{
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

uint64_t
fb_siphash (const uint8_t key[16], const void *data, size_t len)
{
  const uint8_t *in = data;
  uint64_t k0 = load64_le (key), k1 = load64_le (key + 8);
  uint64_t v0 = UINT64_C (0x736f6d6570736575) ^ k0;
  uint64_t v1 = UINT64_C (0x646f72616e646f6d) ^ k1;
  uint64_t v2 = UINT64_C (0x6c7967656e657261) ^ k0;
  uint64_t v3 = UINT64_C (0x7465646279746573) ^ k1;
  const uint8_t *end = in + len - (len % 8);
  for (; in != end; in += 8)
    {
      uint64_t m = load64_le (in);
      v3 ^= m;
      SIPROUND;
      SIPROUND;
      v0 ^= m;
    }
  uint64_t b = (uint64_t) len << 56;
  switch (len & 7)
    {
    case 7: b |= (uint64_t) in[6] << 48; /* fall through */
    case 6: b |= (uint64_t) in[5] << 40; /* fall through */
    case 5: b |= (uint64_t) in[4] << 32; /* fall through */
    case 4: b |= (uint64_t) in[3] << 24; /* fall through */
    case 3: b |= (uint64_t) in[2] << 16; /* fall through */
    case 2: b |= (uint64_t) in[1] << 8; /* fall through */
    case 1: b |= (uint64_t) in[0]; break;
    case 0: break;
    }
  v3 ^= b;
  SIPROUND;
  SIPROUND;
  v0 ^= b;
  v2 ^= 0xff;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
fb_hash_seeded (uint64_t seed, const void *data, size_t len)
{
  uint8_t key[16];
  for (int i = 0; i < 8; i++)
    {
      key[i] = (uint8_t) (seed >> (8 * i));
      key[8 + i] = (uint8_t) ((seed ^ UINT64_C (0x9e3779b97f4a7c15)) >> (8 * i));
    }
  return fb_siphash (key, data, len);
}

uint64_t
fb_hash_decision (uint64_t seed, const char *name, uint64_t a, uint64_t b)
{
  size_t n = name ? strlen (name) : 0;
  uint8_t buf[256 + 17];
  if (n > 256)
    n = 256;
  if (n)
    memcpy (buf, name, n);
  buf[n] = 0; /* separator: ("ab", 1) and ("a", ...) cannot collide */
  for (int i = 0; i < 8; i++)
    {
      buf[n + 1 + i] = (uint8_t) (a >> (8 * i));
      buf[n + 9 + i] = (uint8_t) (b >> (8 * i));
    }
  return fb_hash_seeded (seed, buf, n + 17);
}

bool
fb_hash_chance (uint64_t h, double p)
{
  if (p <= 0.0)
    return false;
  if (p >= 1.0)
    return true;
  /* top 53 bits give a uniform double in [0, 1) */
  double u = (double) (h >> 11) * (1.0 / 9007199254740992.0);
  return u < p;
}

uint64_t
fb_hash_bytes (const void *data, size_t len)
{
  const uint8_t *p = data;
  uint64_t h = UINT64_C (0xcbf29ce484222325);
  for (size_t i = 0; i < len; i++)
    {
      h ^= p[i];
      h *= UINT64_C (0x100000001b3);
    }
  return h;
}
