/* HTTP/1.1 through libcurl: the get/post/put/delete/patch steps, their
 * Response, and the healthcheck's GET. */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/time.h"

/* libcurl and the TLS, Kerberos and LDAP libraries it pulls in are loaded
 * the first time a step or healthcheck speaks HTTP, not at exec: they are
 * over half the resident memory of a faultbox process that never does
 * (the parent of -j workers, list, merge, star) and most of its start-up.
 * curl.easy_init is non-NULL once all of it is there. */
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
#define SYM(field, sym) { sym, (void **) &curl.field }
  const fb_dl_sym syms[] = {
    SYM (global_init, "curl_global_init"), SYM (easy_setopt, "curl_easy_setopt"),
    SYM (easy_perform, "curl_easy_perform"), SYM (easy_getinfo, "curl_easy_getinfo"),
    SYM (easy_cleanup, "curl_easy_cleanup"), SYM (easy_strerror, "curl_easy_strerror"),
    SYM (slist_append, "curl_slist_append"), SYM (slist_free_all, "curl_slist_free_all"),
    SYM (easy_init, "curl_easy_init"),
  };
#undef SYM
  if (fb_protocol_dlopen (CURL_SONAME, syms, sizeof syms / sizeof *syms, curl_error, sizeof curl_error) == 0)
    curl.global_init (CURL_GLOBAL_DEFAULT);
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
  fb_step_result *r = ud;
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

/* tls: NULL for plain HTTP, else the CA to verify the server against and
 * where the URL's host is (curl's "host:port:address"). */
typedef struct {
  const char *ca_file;
  const char *resolve;
} http_tls;

static int
http_request (const char *method, const char *url, const http_tls *tls, const char *body, const fb_kv *headers,
              size_t n_headers, int64_t timeout_ms, fb_step_result *out, fb_error *err)
{
  pthread_once (&curl_once, curl_load);
  if (!curl.easy_init)
    return fb_error_set (err, ENOSYS, "%s %s: %s", method, url, curl_error);
  CURL *c = curl.easy_init ();
  if (!c)
    return fb_error_set (err, ENOMEM, "%s %s: cannot create an HTTP client", method, url);
  fb_step_result r = { 0 };
  fb_buf b = FB_BUF_INIT;
  struct curl_slist *hl = NULL;
  for (size_t i = 0; i < n_headers; i++)
    {
      _cleanup_free_ char *h = fb_xasprintf ("%s: %s", headers[i].key, headers[i].value);
      hl = curl.slist_append (hl, h);
    }
  struct curl_slist *resolve = tls ? curl.slist_append (NULL, tls->resolve) : NULL;
  if (tls)
    {
      curl.easy_setopt (c, CURLOPT_CAINFO, tls->ca_file);
      curl.easy_setopt (c, CURLOPT_RESOLVE, resolve);
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
  curl.slist_free_all (resolve);
  curl.easy_cleanup (c);
  if (rc != CURLE_OK)
    {
      fb_buf_free (&b);
      fb_step_result_clear (&r);
      return fb_error_set (err, os_errno ? (int) os_errno : EIO, "%s %s failed: %s%s%s", method, url,
                           errbuf[0] ? errbuf : curl.easy_strerror (rc), os_errno ? ": " : "",
                           os_errno ? strerror ((int) os_errno) : "");
    }
  r.body = fb_protocol_trim (fb_buf_steal (&b));
  *out = r;
  return 0;
}

int
fb_http_request (const char *method, const char *url, const char *body, const fb_kv *headers,
                 size_t n_headers, int64_t timeout_ms, fb_step_result *out, fb_error *err)
{
  return http_request (method, url, NULL, body, headers, n_headers, timeout_ms, out, err);
}

int
fb_http_probe (const char *url, int64_t timeout_ms, fb_error *err)
{
  fb_step_result r = { 0 };
  int ret = fb_http_request ("GET", url, NULL, NULL, 0, timeout_ms, &r, err);
  if (ret < 0)
    return ret;
  long st = r.status;
  fb_step_result_clear (&r);
  if (st < 200 || st >= 400)
    return fb_error_set (err, EAGAIN, "GET %s answered %ld", url, st);
  return 0;
}

#define HTTP_STEP_TIMEOUT_MS 30000

static int
http_step (const fb_step_call *c, fb_step_result *out, fb_error *err)
{
  const char *path = c->args[0].s, *body = c->args[1].s;
  char upper[16];
  fb_step_verb (c, upper, sizeof upper);
  /* a TLS mock is asked for by its name, which its certificate names */
  _cleanup_free_ char *url = fb_xasprintf ("%s://%s:%d%s%s", c->ca_file ? "https" : "http",
                                           c->ca_file ? c->service : c->host, c->port, path[0] == '/' ? "" : "/", path);
  _cleanup_free_ char *resolve = fb_xasprintf ("%s:%d:%s", c->service, c->port, c->host);
  http_tls tls = { c->ca_file, resolve };
  c->on_send (c->ctx, (const char *const[]) { "method", upper, "path", path, NULL });
  fb_error e = { 0 };
  if (http_request (upper, url, c->ca_file ? &tls : NULL, body, c->args[2].kv, c->args[2].n_kv,
                    HTTP_STEP_TIMEOUT_MS, out, &e) < 0)
    {
      fb_step_field (out, "method", upper);
      fb_step_field (out, "success", "false");
      fb_step_field (out, "error", e.msg);
      return fb_error_set (err, e.code, "%s(%s): %s %s (service %s at %s:%d): %s", c->method->name, path, upper,
                           url, c->service, c->host, c->port, e.msg);
    }
  char status[16], ms[32];
  snprintf (status, sizeof status, "%ld", out->status);
  snprintf (ms, sizeof ms, "%lld", (long long) out->duration_ms);
  fb_step_field (out, "method", upper);
  fb_step_field (out, "status_code", status);
  fb_step_field (out, "duration_ms", ms);
  fb_step_field (out, "success", "true");
  return 0;
}

static int
http_ready (const fb_ready_call *c, fb_error *err)
{
  _cleanup_free_ char *url = fb_xasprintf ("http://%s:%d%s", c->host, c->port, c->path ? c->path : "/");
  return fb_http_probe (url, c->timeout_ms, err);
}

#define HTTP_METHOD(m)                                                                                       \
  { .name = m, .n_params = 3,                                                                                \
    .params = { { "path", FB_PARAM_STRING, false, "/" }, { "body", FB_PARAM_STRING, false, NULL },           \
                { "headers", FB_PARAM_DICT, false, NULL } } }

const fb_step_method fb_http_methods[FB_HTTP_N_METHODS] = {
  HTTP_METHOD ("get"), HTTP_METHOD ("post"), HTTP_METHOD ("put"), HTTP_METHOD ("delete"), HTTP_METHOD ("patch"),
};

const fb_protocol fb_protocol_http = {
  .name = "http",
  .methods = fb_http_methods,
  .n_methods = FB_HTTP_N_METHODS,
  .methods_hint = "get/post/put/delete/patch",
  .step = http_step,
  .ready = http_ready,
  .ready_timeout_ms = 1000,
  .framing = &fb_http_framing,
  .mock = &fb_http_mock,
};
