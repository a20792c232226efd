/* Keyed 64-bit hashing (SipHash-2-4). Seeded decisions derive from
 * fb_hash_keyed(seed, ...) of their identifying fields, never from a shared
 * RNG, so the outcome does not depend on call order or thread timing. */
#ifndef FB_UTIL_HASH_H
#define FB_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

uint64_t fb_siphash (const uint8_t key[16], const void *data, size_t len);

/* SipHash keyed by a 64-bit seed. */
uint64_t fb_hash_seeded (uint64_t seed, const void *data, size_t len);

/* Hash of (seed, string, a, b): the identity of one seeded decision, e.g.
 * (seed, service name, rule id, occurrence). */
uint64_t fb_hash_decision (uint64_t seed, const char *name, uint64_t a, uint64_t b);

/* True with probability p (0..1) as a pure function of h. */
bool fb_hash_chance (uint64_t h, double p);

/* Unkeyed fast hash for hash tables (FNV-1a). */
uint64_t fb_hash_bytes (const void *data, size_t len);

#endif
