#include "protocol/client.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/time.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* libcurl and the TLS, Kerberos and LDAP libraries it pulls in are loaded
 * the first time a step or healthcheck speaks HTTP, not at exec: they are
 * over half the resident memory of a faultbox process that never does
 * (the parent of -j workers, list, merge, star) and most of its start-up. */
static struct {
  CURLcode (*global_init) (long);
  CURL *(*easy_init) (void);
  CURLcode (*easy_setopt) (CURL *, CURLoption, ...);
  CURLcode (*easy_perform) (CURL *);
  CURLcode (*easy_getinfo) (CURL *, CURLINFO, ...);
  void (*easy_cleanup) (CURL *);
  const char *(*easy_strerror) (CURLcode);
  struct curl_slist *(*slist_append) (struct curl_slist *, const char *);
  void (*slist_free_all) (struct curl_slist *);
} curl;
static char curl_error[256];
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

#define CURL_SONAME "libcurl.so.4"

static void
curl_load (void)
{
  void *h = dlopen (CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!h)
    {
      snprintf (curl_error, sizeof curl_error, "cannot load %s: %s", CURL_SONAME, dlerror ());
      return;
    }
  /* dlsym returns void *; POSIX guarantees it converts to a function pointer */
#define LOAD(field, sym)                                                                         \
  if (!(*(void **) &curl.field = dlsym (h, sym)))                                              \
    {                                                                                            \
      snprintf (curl_error, sizeof curl_error, "%s has no %s", CURL_SONAME, sym);               \
      return;                                                                                    \
    }
  LOAD (global_init, "curl_global_init");
  LOAD (easy_setopt, "curl_easy_setopt");
  LOAD (easy_perform, "curl_easy_perform");
  LOAD (easy_getinfo, "curl_easy_getinfo");
  LOAD (easy_cleanup, "curl_easy_cleanup");
  LOAD (easy_strerror, "curl_easy_strerror");
  LOAD (slist_append, "curl_slist_append");
  LOAD (slist_free_all, "curl_slist_free_all");
  LOAD (easy_init, "curl_easy_init"); /* last: non-NULL means all are there */
#undef LOAD
  curl.global_init (CURL_GLOBAL_DEFAULT);
}

void
fb_http_response_clear (fb_http_response *r)
{
  free (r->body);
  for (size_t i = 0; i < r->n_headers; i++)
    {
      free (r->headers[i].key);
      free (r->headers[i].value);
    }
  free (r->headers);
  memset (r, 0, sizeof *r);
}

static size_t
on_body (char *data, size_t size, size_t n, void *ud)
{
  fb_buf *b = ud;
  /* Faultbox reads at most 64 KiB of a body. */
  size_t len = size * n;
  if (b->len < 65536)
    fb_buf_append (b, data, len < 65536 - b->len ? len : 65536 - b->len);
  return len;
}

static size_t
on_header (char *data, size_t size, size_t n, void *ud)
{
  fb_http_response *r = ud;
  size_t len = size * n;
  const char *colon = memchr (data, ':', len);
  if (!colon)
    return len;
  size_t kl = (size_t) (colon - data);
  const char *v = colon + 1;
  size_t vl = len - kl - 1;
  while (vl && isspace ((unsigned char) *v))
    v++, vl--;
  while (vl && isspace ((unsigned char) v[vl - 1]))
    vl--;
  r->headers = fb_xreallocarray (r->headers, r->n_headers + 1, sizeof *r->headers);
  char *k = fb_xstrndup (data, kl);
  for (char *p = k; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  r->headers[r->n_headers].key = k;
  r->headers[r->n_headers].value = fb_xstrndup (v, vl);
  r->n_headers++;
  return len;
}

static char *
trim (char *s)
{
  size_t n = strlen (s);
  while (n && isspace ((unsigned char) s[n - 1]))
    s[--n] = '\0';
  size_t i = 0;
  while (s[i] && isspace ((unsigned char) s[i]))
    i++;
  memmove (s, s + i, n - i + 1);
  return s;
}

int
fb_http_request (const char *method, const char *url, const char *body, const fb_kv *headers,
                 size_t n_headers, int64_t timeout_ms, fb_http_response *out, fb_error *err)
{
  pthread_once (&curl_once, curl_load);
  if (!curl.easy_init)
    return fb_error_set (err, ENOSYS, "%s %s: %s", method, url, curl_error);
  CURL *c = curl.easy_init ();
  if (!c)
    return fb_error_set (err, ENOMEM, "%s %s: cannot create an HTTP client", method, url);
  fb_http_response r = { 0 };
  fb_buf b = FB_BUF_INIT;
  struct curl_slist *hl = NULL;
  for (size_t i = 0; i < n_headers; i++)
    {
      _cleanup_free_ char *h = fb_xasprintf ("%s: %s", headers[i].key, headers[i].value);
      hl = curl.slist_append (hl, h);
    }
  char errbuf[CURL_ERROR_SIZE] = "";
  curl.easy_setopt (c, CURLOPT_URL, url);
  curl.easy_setopt (c, CURLOPT_CUSTOMREQUEST, method);
  if (body && (strcmp (method, "GET") != 0 || *body))
    {
      curl.easy_setopt (c, CURLOPT_POSTFIELDS, body);
      curl.easy_setopt (c, CURLOPT_POSTFIELDSIZE, (long) strlen (body));
    }
  curl.easy_setopt (c, CURLOPT_HTTPHEADER, hl);
  curl.easy_setopt (c, CURLOPT_WRITEFUNCTION, on_body);
  curl.easy_setopt (c, CURLOPT_WRITEDATA, &b);
  curl.easy_setopt (c, CURLOPT_HEADERFUNCTION, on_header);
  curl.easy_setopt (c, CURLOPT_HEADERDATA, &r);
  curl.easy_setopt (c, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
  curl.easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl.easy_setopt (c, CURLOPT_NOPROXY, "*");
  curl.easy_setopt (c, CURLOPT_ERRORBUFFER, errbuf);
  curl.easy_setopt (c, CURLOPT_FORBID_REUSE, 1L);
  int64_t t0 = fb_now_ns ();
  CURLcode rc = curl.easy_perform (c);
  r.duration_ms = (fb_now_ns () - t0) / FB_NS_PER_MS;
  long os_errno = 0;
  curl.easy_getinfo (c, CURLINFO_OS_ERRNO, &os_errno);
  curl.easy_getinfo (c, CURLINFO_RESPONSE_CODE, &r.status);
  curl.slist_free_all (hl);
  curl.easy_cleanup (c);
  if (rc != CURLE_OK)
    {
      fb_buf_free (&b);
      fb_http_response_clear (&r);
      return fb_error_set (err, os_errno ? (int) os_errno : EIO, "%s %s failed: %s%s%s", method, url,
                           errbuf[0] ? errbuf : curl.easy_strerror (rc), os_errno ? ": " : "",
                           os_errno ? strerror ((int) os_errno) : "");
    }
  r.body = trim (fb_buf_steal (&b));
  *out = r;
  return 0;
}

/* Connects with a deadline; returns the socket or -errno. */
static int
dial (const char *host, int port, int64_t timeout_ms)
{
  struct sockaddr_storage ss;
  socklen_t sl;
  memset (&ss, 0, sizeof ss);
  struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;
  const char *h = strcmp (host, "localhost") == 0 ? "127.0.0.1" : host;
  if (inet_pton (AF_INET, h, &s4->sin_addr) == 1)
    {
      s4->sin_family = AF_INET;
      s4->sin_port = htons ((uint16_t) port);
      sl = sizeof *s4;
    }
  else if (inet_pton (AF_INET6, h, &s6->sin6_addr) == 1)
    {
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons ((uint16_t) port);
      sl = sizeof *s6;
    }
  else
    return -EADDRNOTAVAIL;
  int fd = socket (ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -errno;
  if (connect (fd, (struct sockaddr *) &ss, sl) < 0)
    {
      if (errno != EINPROGRESS)
        {
          int e = errno;
          close (fd);
          return -e;
        }
      struct pollfd p = { .fd = fd, .events = POLLOUT };
      int r = poll (&p, 1, (int) timeout_ms);
      int soerr = 0;
      socklen_t el = sizeof soerr;
      if (r <= 0)
        soerr = r == 0 ? ETIMEDOUT : errno;
      else
        getsockopt (fd, SOL_SOCKET, SO_ERROR, &soerr, &el);
      if (soerr)
        {
          close (fd);
          return -soerr;
        }
    }
  return fd;
}

int
fb_tcp_probe (const char *host, int port, int64_t timeout_ms, fb_error *err)
{
  int fd = dial (host, port, timeout_ms);
  if (fd < 0)
    return fb_error_setsys (err, -fd, "connect %s:%d", host, port);
  close (fd);
  return 0;
}

int
fb_tcp_exchange (const char *host, int port, const char *data, int64_t timeout_ms, char **reply, fb_error *err)
{
  _cleanup_close_ int fd = dial (host, port, timeout_ms);
  if (fd < 0)
    return fb_error_setsys (err, -fd, "tcp send to %s:%d failed: connect", host, port);
  _cleanup_buf_ fb_buf msg = FB_BUF_INIT;
  fb_buf_puts (&msg, data);
  if (msg.len == 0 || msg.data[msg.len - 1] != '\n')
    fb_buf_putc (&msg, '\n');
  int64_t deadline = fb_now_ns () + timeout_ms * FB_NS_PER_MS;
  size_t off = 0;
  while (off < msg.len)
    {
      ssize_t n = send (fd, msg.data + off, msg.len - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EAGAIN)
        {
          struct pollfd p = { .fd = fd, .events = POLLOUT };
          int64_t left = (deadline - fb_now_ns ()) / FB_NS_PER_MS;
          if (left <= 0 || poll (&p, 1, (int) left) <= 0)
            return fb_error_set (err, ETIMEDOUT, "tcp send to %s:%d failed: write timed out", host, port);
          continue;
        }
      if (n < 0)
        return fb_error_setsys (err, errno, "tcp send to %s:%d failed: write", host, port);
      off += (size_t) n;
    }
  _cleanup_buf_ fb_buf in = FB_BUF_INIT;
  for (;;)
    {
      char chunk[4096];
      ssize_t n = recv (fd, chunk, sizeof chunk, 0);
      if (n > 0)
        {
          fb_buf_append (&in, chunk, (size_t) n);
          if (memchr (chunk, '\n', (size_t) n))
            break;
          continue;
        }
      if (n == 0)
        break;
      if (errno != EAGAIN && errno != EINTR)
        return fb_error_setsys (err, errno, "tcp send to %s:%d failed: read", host, port);
      struct pollfd p = { .fd = fd, .events = POLLIN };
      int64_t left = (deadline - fb_now_ns ()) / FB_NS_PER_MS;
      if (left <= 0 || poll (&p, 1, (int) left) == 0)
        return fb_error_set (err, ETIMEDOUT, "tcp send to %s:%d failed: no reply within %lldms", host, port,
                             (long long) timeout_ms);
    }
  char *s = fb_buf_steal (&in);
  s[strcspn (s, "\n")] = '\0';
  *reply = trim (s);
  return 0;
}

int
fb_http_probe (const char *url, int64_t timeout_ms, fb_error *err)
{
  fb_http_response r = { 0 };
  int ret = fb_http_request ("GET", url, NULL, NULL, 0, timeout_ms, &r, err);
  if (ret < 0)
    return ret;
  long st = r.status;
  fb_http_response_clear (&r);
  if (st < 200 || st >= 400)
    return fb_error_set (err, EAGAIN, "GET %s answered %ld", url, st);
  return 0;
}
