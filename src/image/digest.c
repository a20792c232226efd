/* sha256 through nettle: libarchive (which unpacks the layers) already
 * links it on Debian, so checking digests adds no library at run time;
 * libcrypto would bring OpenSSL into every faultbox process for one hash. */
#include "image/image.h"

#include <nettle/sha2.h>
#include <stdio.h>
#include <string.h>

bool
img_digest_valid (const char *d)
{
  if (!d || strncmp (d, "sha256:", 7) != 0 || strlen (d) != 7 + 64)
    return false;
  for (const char *p = d + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

void
img_sha256 (const void *data, size_t len, char out[72])
{
  struct sha256_ctx c;
  uint8_t h[SHA256_DIGEST_SIZE];
  sha256_init (&c);
  sha256_update (&c, len, data);
  sha256_digest (&c, sizeof h, h);
  img_digest_hex (h, out);
}

void
img_digest_hex (const uint8_t h[32], char out[72])
{
  memcpy (out, "sha256:", 7);
  for (size_t i = 0; i < 32; i++)
    snprintf (out + 7 + 2 * i, 3, "%02x", h[i]);
}
