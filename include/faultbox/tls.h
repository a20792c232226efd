/* TLS for mocks: a CA per run and leaf certificates it signs (OpenSSL,
 * loaded the first time one is made). */
#ifndef FAULTBOX_TLS_H
#define FAULTBOX_TLS_H

#include "faultbox/error.h"

/* A certificate (PEM; a leaf's is followed by its CA's) and its key (PEM). */
typedef struct fb_tls_pair {
  char *cert;
  char *key;
} fb_tls_pair;

void fb_tls_pair_clear (fb_tls_pair *p);

/* A fresh ECDSA P-256 CA valid for 24 hours, as Faultbox's mock CA. */
int fb_tls_make_ca (fb_tls_pair *out, fb_error *err);

/* A server certificate signed by ca for names (DNS names or IP addresses,
 * NULL-terminated), valid for 24 hours. */
int fb_tls_make_leaf (const fb_tls_pair *ca, const char *const *names, fb_tls_pair *out, fb_error *err);

#endif
