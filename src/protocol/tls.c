/* TLS with OpenSSL: the mock CA and its leaf certificates, and a mock
 * connection's TLS side. OpenSSL is TLS done right (and audited): it is
 * already in every faultbox process's dependencies through libcurl, so
 * it costs nothing more to have, and it is loaded only when a spec asks
 * for TLS, like the protocols' client libraries. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "faultbox/tls.h"
#include "protocol/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"

#define OSSL_SYMS(X)                                                                                         \
  X (EVP_PKEY_Q_keygen) X (EVP_PKEY_free) X (EVP_sha256) X (X509_new) X (X509_free) X (X509_set_version)     \
  X (X509_get_serialNumber) X (ASN1_INTEGER_set_uint64) X (X509_getm_notBefore) X (X509_getm_notAfter)       \
  X (X509_gmtime_adj) X (X509_set_pubkey) X (X509_get_subject_name) X (X509_NAME_add_entry_by_txt)           \
  X (X509_set_issuer_name) X (X509V3_set_ctx) X (X509V3_EXT_conf_nid) X (X509_add_ext)                       \
  X (X509_EXTENSION_free) X (X509_sign) X (BIO_new) X (BIO_s_mem) X (BIO_ctrl) X (BIO_free)                  \
  X (BIO_new_mem_buf) X (PEM_write_bio_X509) X (PEM_write_bio_PrivateKey) X (PEM_read_bio_X509)              \
  X (PEM_read_bio_PrivateKey) X (RAND_bytes) X (ERR_get_error) X (ERR_error_string_n)                        \
  X (TLS_server_method) X (SSL_CTX_new) X (SSL_CTX_free) X (SSL_CTX_use_certificate)                         \
  X (SSL_CTX_use_PrivateKey) X (SSL_CTX_ctrl) X (SSL_CTX_set_alpn_select_cb) X (SSL_select_next_proto)       \
  X (SSL_new) X (SSL_free) X (SSL_set_fd) X (SSL_accept) X (SSL_read) X (SSL_write) X (SSL_shutdown)         \
  X (SSL_pending) X (TLS_client_method) X (SSL_CTX_load_verify_locations) X (SSL_CTX_set_verify)            \
  X (SSL_set1_host) X (SSL_ctrl) X (SSL_set_alpn_protos) X (SSL_connect) X (SSL_get_verify_result)           \
  X (X509_verify_cert_error_string)

#define OSSL_FIELD(n) __typeof__ (n) *n;
static struct {
  OSSL_SYMS (OSSL_FIELD)
} ossl;
#undef OSSL_FIELD
static char ossl_error[256];
static pthread_once_t ossl_once = PTHREAD_ONCE_INIT;

static void
ossl_load (void)
{
#define OSSL_SYM(n) { #n, (void **) &ossl.n },
  const fb_dl_sym syms[] = { OSSL_SYMS (OSSL_SYM) };
#undef OSSL_SYM
  /* libssl's handle finds libcrypto's symbols too: it is a dependency */
  fb_protocol_dlopen ("libssl.so.3", syms, sizeof syms / sizeof *syms, ossl_error, sizeof ossl_error);
}

static int
ossl_ready (fb_error *err)
{
  pthread_once (&ossl_once, ossl_load);
  return ossl.SSL_new ? 0 : fb_error_set (err, ENOSYS, "TLS: %s", ossl_error);
}

/* OpenSSL's reason for the last failure, after what. */
static int
ossl_fail (fb_error *err, const char *what)
{
  char why[256] = "unknown error";
  unsigned long e = ossl.ERR_get_error ();
  if (e)
    ossl.ERR_error_string_n (e, why, sizeof why);
  return fb_error_set (err, EPROTO, "TLS: %s: %s", what, why);
}

static void
x509_freep (X509 **x)
{
  if (*x)
    ossl.X509_free (*x);
}

static void
pkey_freep (EVP_PKEY **k)
{
  if (*k)
    ossl.EVP_PKEY_free (*k);
}

static void
bio_freep (BIO **b)
{
  if (*b)
    ossl.BIO_free (*b);
}

void
fb_tls_pair_clear (fb_tls_pair *p)
{
  free (p->cert);
  free (p->key);
  p->cert = p->key = NULL;
}

/* The text a memory BIO holds, appended to *s. */
static void
bio_take (BIO *b, char **s)
{
  char *data;
  long n = ossl.BIO_ctrl (b, BIO_CTRL_INFO, 0, &data);
  char *out = fb_xasprintf ("%s%.*s", *s ? *s : "", (int) n, data);
  free (*s);
  *s = out;
}

static int
add_ext (X509 *x, X509 *issuer, int nid, const char *value)
{
  X509V3_CTX ctx;
  ossl.X509V3_set_ctx (&ctx, issuer, x, NULL, NULL, 0);
  X509_EXTENSION *e = ossl.X509V3_EXT_conf_nid (NULL, &ctx, nid, value);
  if (!e)
    return -1;
  int ok = ossl.X509_add_ext (x, e, -1);
  ossl.X509_EXTENSION_free (e);
  return ok ? 0 : -1;
}

/* A certificate for key named cn, signed by issuer_key (issuer NULL: by
 * itself), valid from a minute ago for 24 hours, with the extensions
 * exts ({nid, value} pairs, nid 0 ends). */
typedef struct {
  int nid;
  const char *value;
} cert_ext;

static X509 *
make_cert (EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, const cert_ext *exts)
{
  X509 *x = ossl.X509_new ();
  uint64_t serial;
  if (!x || ossl.RAND_bytes ((unsigned char *) &serial, sizeof serial) != 1)
    goto fail;
  ossl.X509_set_version (x, 2);
  ossl.ASN1_INTEGER_set_uint64 (ossl.X509_get_serialNumber (x), serial >> 1);
  ossl.X509_gmtime_adj (ossl.X509_getm_notBefore (x), -60);
  ossl.X509_gmtime_adj (ossl.X509_getm_notAfter (x), 24 * 3600);
  ossl.X509_set_pubkey (x, key);
  ossl.X509_NAME_add_entry_by_txt (ossl.X509_get_subject_name (x), "CN", MBSTRING_ASC, (const unsigned char *) cn,
                                   -1, -1, 0);
  ossl.X509_set_issuer_name (x, ossl.X509_get_subject_name (issuer ? issuer : x));
  for (size_t i = 0; exts[i].nid; i++)
    if (add_ext (x, issuer ? issuer : x, exts[i].nid, exts[i].value) < 0)
      goto fail;
  if (ossl.X509_sign (x, issuer_key ? issuer_key : key, ossl.EVP_sha256 ()) <= 0)
    goto fail;
  return x;
fail:
  if (x)
    ossl.X509_free (x);
  return NULL;
}

/* cert's and key's PEM (the key unencrypted) into out. */
static int
write_pair (X509 *cert, X509 *chain, EVP_PKEY *key, fb_tls_pair *out, fb_error *err)
{
  __attribute__ ((cleanup (bio_freep))) BIO *c = ossl.BIO_new (ossl.BIO_s_mem ());
  __attribute__ ((cleanup (bio_freep))) BIO *k = ossl.BIO_new (ossl.BIO_s_mem ());
  if (!c || !k || !ossl.PEM_write_bio_X509 (c, cert) || (chain && !ossl.PEM_write_bio_X509 (c, chain))
      || !ossl.PEM_write_bio_PrivateKey (k, key, NULL, NULL, 0, NULL, NULL))
    return ossl_fail (err, "cannot write a certificate");
  fb_tls_pair p = { 0 };
  bio_take (c, &p.cert);
  bio_take (k, &p.key);
  *out = p;
  return 0;
}

int
fb_tls_make_ca (fb_tls_pair *out, fb_error *err)
{
  if (ossl_ready (err) < 0)
    return -1;
  __attribute__ ((cleanup (pkey_freep))) EVP_PKEY *key = ossl.EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
  if (!key)
    return ossl_fail (err, "cannot make the mock CA's key");
  static const cert_ext exts[] = {
    { NID_basic_constraints, "critical,CA:TRUE" },
    { NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature" },
    { NID_subject_key_identifier, "hash" },
    { 0, NULL },
  };
  __attribute__ ((cleanup (x509_freep))) X509 *ca = make_cert (key, "Faultbox Mock CA", NULL, NULL, exts);
  if (!ca)
    return ossl_fail (err, "cannot make the mock CA");
  return write_pair (ca, NULL, key, out, err);
}

/* "DNS:a,IP:b,..." for names. */
static char *
san_of (const char *const *names)
{
  char *s = fb_xstrdup ("");
  for (size_t i = 0; names[i]; i++)
    {
      unsigned char a[16];
      bool ip = inet_pton (AF_INET, names[i], a) == 1 || inet_pton (AF_INET6, names[i], a) == 1;
      char *t = fb_xasprintf ("%s%s%s:%s", s, i ? "," : "", ip ? "IP" : "DNS", names[i]);
      free (s);
      s = t;
    }
  return s;
}

static X509 *
read_x509 (const char *pem)
{
  __attribute__ ((cleanup (bio_freep))) BIO *b = ossl.BIO_new_mem_buf (pem, -1);
  return b ? ossl.PEM_read_bio_X509 (b, NULL, NULL, NULL) : NULL;
}

static EVP_PKEY *
read_key (const char *pem)
{
  __attribute__ ((cleanup (bio_freep))) BIO *b = ossl.BIO_new_mem_buf (pem, -1);
  return b ? ossl.PEM_read_bio_PrivateKey (b, NULL, NULL, NULL) : NULL;
}

int
fb_tls_make_leaf (const fb_tls_pair *ca, const char *const *names, fb_tls_pair *out, fb_error *err)
{
  if (ossl_ready (err) < 0)
    return -1;
  __attribute__ ((cleanup (x509_freep))) X509 *ca_cert = read_x509 (ca->cert);
  __attribute__ ((cleanup (pkey_freep))) EVP_PKEY *ca_key = read_key (ca->key);
  __attribute__ ((cleanup (pkey_freep))) EVP_PKEY *key = ossl.EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
  if (!ca_cert || !ca_key || !key)
    return ossl_fail (err, "cannot make a mock's key");
  _cleanup_free_ char *san = san_of (names);
  const cert_ext exts[] = {
    { NID_basic_constraints, "critical,CA:FALSE" },
    { NID_key_usage, "critical,digitalSignature" },
    { NID_ext_key_usage, "serverAuth" },
    { NID_subject_alt_name, san },
    { 0, NULL },
  };
  __attribute__ ((cleanup (x509_freep))) X509 *leaf = make_cert (key, "Faultbox Mock Server", ca_cert, ca_key, exts);
  if (!leaf)
    return ossl_fail (err, "cannot make a mock's certificate");
  return write_pair (leaf, ca_cert, key, out, err);
}

/* OpenSSL writes to its socket with write(): a peer gone raises SIGPIPE in
 * the writing thread, which must not end a runner that never asked to
 * ignore it. Blocked around each call, and one it raised taken back. */
typedef struct {
  sigset_t old;
  bool was_pending;
} sigpipe_guard;

static void
sigpipe_block (sigpipe_guard *g)
{
  sigset_t s, pending;
  sigemptyset (&s);
  sigaddset (&s, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &s, &g->old);
  sigpending (&pending);
  g->was_pending = sigismember (&pending, SIGPIPE);
}

static void
sigpipe_restore (sigpipe_guard *g)
{
  sigset_t s, pending;
  sigemptyset (&s);
  sigaddset (&s, SIGPIPE);
  sigpending (&pending);
  if (!g->was_pending && sigismember (&pending, SIGPIPE))
    sigtimedwait (&s, NULL, &(struct timespec) { 0, 0 });
  pthread_sigmask (SIG_SETMASK, &g->old, NULL);
}

/* ---- a mock connection's TLS side ---------------------------------------- */

/* ALPN: the protocol the mock speaks when the client offers it (h2 for
 * HTTP/2 and gRPC, as Faultbox), else none is chosen. */
static int
alpn_select (SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in, unsigned inlen,
             void *arg)
{
  (void) ssl;
  const unsigned char *want = arg;
  unsigned char *sel;
  if (ossl.SSL_select_next_proto (&sel, outlen, want, want[0] + 1u, in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = sel;
  return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *
server_ctx (const fb_tls_pair *pair, const char *alpn, fb_error *err)
{
  __attribute__ ((cleanup (bio_freep))) BIO *b = ossl.BIO_new_mem_buf (pair->cert, -1);
  X509 *leaf = b ? ossl.PEM_read_bio_X509 (b, NULL, NULL, NULL) : NULL;
  X509 *chain = leaf ? ossl.PEM_read_bio_X509 (b, NULL, NULL, NULL) : NULL;
  EVP_PKEY *key = read_key (pair->key);
  SSL_CTX *ctx = leaf && chain && key ? ossl.SSL_CTX_new (ossl.TLS_server_method ()) : NULL;
  bool ok = ctx && ossl.SSL_CTX_use_certificate (ctx, leaf) == 1 && ossl.SSL_CTX_use_PrivateKey (ctx, key) == 1
            && ossl.SSL_CTX_ctrl (ctx, SSL_CTRL_EXTRA_CHAIN_CERT, 0, chain) == 1;
  if (ok)
    chain = NULL; /* the context owns it now */
  x509_freep (&leaf);
  x509_freep (&chain);
  pkey_freep (&key);
  if (!ok)
    {
      if (ctx)
        ossl.SSL_CTX_free (ctx);
      ossl_fail (err, "cannot load a mock's certificate");
      return NULL;
    }
  /* wire format: a length byte, then the name */
  static unsigned char h2[] = "\x02h2";
  if (alpn && !strcmp (alpn, "h2"))
    ossl.SSL_CTX_set_alpn_select_cb (ctx, alpn_select, h2);
  return ctx;
}

typedef struct {
  SSL_CTX *ctx;
  SSL *ssl;
  int net, plain;  /* the client's socket; our end of the pair */
} tls_pump;

/* The plaintext the client sent, to the mock; false at its end. */
static bool
pump_in (tls_pump *p)
{
  char buf[16384];
  do
    {
      int n = ossl.SSL_read (p->ssl, buf, sizeof buf);
      if (n <= 0 || fb_mock_write (p->plain, buf, (size_t) n) < 0)
        return false;
    }
  while (ossl.SSL_pending (p->ssl) > 0);
  return true;
}

/* The mock's reply, to the client; false at its end. */
static bool
pump_out (tls_pump *p)
{
  char buf[16384];
  ssize_t n = read (p->plain, buf, sizeof buf);
  return n > 0 && ossl.SSL_write (p->ssl, buf, (int) n) == (int) n;
}

static void *
pump_main (void *arg)
{
  tls_pump *p = arg;
  bool in_open = true;
  sigpipe_guard g;
  sigpipe_block (&g); /* for the thread's life: its own */
  for (;;)
    {
      struct pollfd pf[2] = { { p->plain, POLLIN, 0 }, { in_open ? p->net : -1, POLLIN, 0 } };
      if (poll (pf, 2, -1) < 0 && errno != EINTR)
        break;
      if ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) && !pump_out (p))
        {
          ossl.SSL_shutdown (p->ssl);
          break;
        }
      /* the client done sending: the mock sees its end, may still reply */
      if ((pf[1].revents & (POLLIN | POLLHUP | POLLERR)) && !pump_in (p))
        in_open = false, shutdown (p->plain, SHUT_WR);
    }
  ossl.SSL_free (p->ssl);
  ossl.SSL_CTX_free (p->ctx);
  close (p->net);
  close (p->plain);
  free (p);
  return NULL;
}

/* The server's side of the handshake on fd; ENODATA: the client closed
 * before it began (a TCP healthcheck), no failure worth reporting. */
static SSL *
handshake (SSL_CTX *ctx, int fd, fb_error *err)
{
  char b;
  /* a client that never finishes its handshake does not hold the thread */
  fb_mock_timeout (fd, 10);
  if (recv (fd, &b, 1, MSG_PEEK) <= 0)
    {
      fb_error_set (err, ENODATA, "TLS: the client closed before its handshake");
      return NULL;
    }
  SSL *ssl = ossl.SSL_new (ctx);
  sigpipe_guard g;
  sigpipe_block (&g);
  bool ok = ssl && ossl.SSL_set_fd (ssl, fd) == 1 && ossl.SSL_accept (ssl) == 1;
  sigpipe_restore (&g);
  if (ok)
    return ssl;
  ossl_fail (err, "handshake failed");
  if (ssl)
    ossl.SSL_free (ssl);
  return NULL;
}

int
fb_tls_accept (const fb_tls_pair *pair, const char *alpn, int fd, fb_error *err)
{
  _cleanup_close_ int net = fd;
  if (ossl_ready (err) < 0)
    return -1;
  SSL_CTX *ctx = server_ctx (pair, alpn, err);
  if (!ctx)
    return -1;
  SSL *ssl = handshake (ctx, net, err);
  int sp[2];
  if (!ssl || socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
    {
      if (ssl)
        ossl.SSL_free (ssl);
      ossl.SSL_CTX_free (ctx);
      return ssl ? fb_error_setsys (err, errno, "TLS: socketpair") : -1;
    }
  tls_pump *p = FB_NEW (tls_pump);
  *p = (tls_pump) { ctx, ssl, net, sp[0] };
  pthread_t t;
  pthread_attr_t at;
  pthread_attr_init (&at);
  pthread_attr_setdetachstate (&at, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create (&t, &at, pump_main, p);
  pthread_attr_destroy (&at);
  if (rc != 0)
    {
      ossl.SSL_free (ssl);
      ossl.SSL_CTX_free (ctx);
      close (sp[0]);
      close (sp[1]);
      free (p);
      return fb_error_set (err, rc, "TLS: cannot start a connection's thread");
    }
  net = -1; /* the pump's now */
  return sp[1];
}

/* ---- a step's TLS side --------------------------------------------------- */

struct fb_tls_client {
  SSL_CTX *ctx;
  SSL *ssl;
};

void
fb_tls_client_free (fb_tls_client *c)
{
  if (!c)
    return;
  if (c->ssl)
    ossl.SSL_free (c->ssl);
  if (c->ctx)
    ossl.SSL_CTX_free (c->ctx);
  free (c);
}

/* The handshake's failure: the certificate's verdict when it was that. */
static int
connect_fail (fb_tls_client *c, const char *name, fb_error *err)
{
  long v = ossl.SSL_get_verify_result (c->ssl);
  if (v != X509_V_OK)
    return fb_error_set (err, EPROTO, "TLS: the certificate of %s does not verify: %s", name,
                         ossl.X509_verify_cert_error_string (v));
  return ossl_fail (err, "handshake failed");
}

fb_tls_client *
fb_tls_connect (int fd, const char *ca_file, const char *name, const char *alpn, int64_t timeout_ms,
                fb_error *err)
{
  if (ossl_ready (err) < 0)
    return NULL;
  fb_tls_client *c = FB_NEW (fb_tls_client);
  c->ctx = ossl.SSL_CTX_new (ossl.TLS_client_method ());
  if (!c->ctx || ossl.SSL_CTX_load_verify_locations (c->ctx, ca_file, NULL) != 1)
    {
      ossl_fail (err, "cannot load the CA");
      fb_tls_client_free (c);
      return NULL;
    }
  ossl.SSL_CTX_set_verify (c->ctx, SSL_VERIFY_PEER, NULL);
  c->ssl = ossl.SSL_new (c->ctx);
  unsigned char protos[32];
  size_t plen = alpn && strlen (alpn) < sizeof protos ? strlen (alpn) : 0;
  protos[0] = (unsigned char) plen;
  if (plen)
    memcpy (protos + 1, alpn, plen);
  /* blocking from here, each read or write bounded by the step's timeout */
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK);
  struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sigpipe_guard g;
  sigpipe_block (&g);
  bool ok = c->ssl && ossl.SSL_set_fd (c->ssl, fd) == 1 && ossl.SSL_set1_host (c->ssl, name) == 1
            && ossl.SSL_ctrl (c->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *) name) == 1
            && (!plen || ossl.SSL_set_alpn_protos (c->ssl, protos, (unsigned) plen + 1) == 0)
            && ossl.SSL_connect (c->ssl) == 1;
  sigpipe_restore (&g);
  if (!ok)
    {
      if (c->ssl)
        connect_fail (c, name, err);
      else
        ossl_fail (err, "cannot set up a connection");
      fb_tls_client_free (c);
      return NULL;
    }
  return c;
}

ssize_t
fb_tls_send (fb_tls_client *c, const void *p, size_t n)
{
  sigpipe_guard g;
  sigpipe_block (&g);
  int w = ossl.SSL_write (c->ssl, p, (int) n);
  sigpipe_restore (&g);
  return w > 0 ? w : -1;
}

ssize_t
fb_tls_recv (fb_tls_client *c, void *p, size_t n)
{
  /* reading may answer the server (a key update): a write too */
  sigpipe_guard g;
  sigpipe_block (&g);
  int r = ossl.SSL_read (c->ssl, p, (int) n);
  sigpipe_restore (&g);
  return r > 0 ? r : 0;
}

bool
fb_tls_pending (fb_tls_client *c)
{
  return ossl.SSL_pending (c->ssl) > 0;
}
