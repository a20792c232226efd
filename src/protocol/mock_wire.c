/* The mock hub's messages and the route table as fields: what a mock
 * server and the runner say to each other over their one connection.
 * Lengths are explicit, so bodies may hold any bytes. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "faultbox/mock.h"
#include "util/alloc.h"
#include "faultbox/buf.h"

/* A message larger than this is not one we sent. */
#define MOCK_MSG_MAX (256u * 1024 * 1024)

void
fb_mock_response_clear (fb_mock_response *r)
{
  free (r->body);
  free (r->content_type);
  for (size_t i = 0; i < r->n_headers; i++)
    free (r->headers[i].key), free (r->headers[i].value);
  free (r->headers);
  memset (r, 0, sizeof *r);
}

static void
kv_free (fb_kv *kv, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (kv[i].key), free (kv[i].value);
  free (kv);
}

void
fb_mock_config_clear (fb_mock_config *c)
{
  for (size_t i = 0; i < c->n_ifaces; i++)
    {
      fb_mock_iface *f = &c->ifaces[i];
      free (f->name);
      free (f->protocol);
      for (size_t k = 0; k < f->n_routes; k++)
        {
          free (f->routes[k].pattern);
          fb_mock_response_clear (&f->routes[k].resp);
        }
      free (f->routes);
      fb_mock_response_clear (&f->dflt);
      kv_free (f->state, f->n_state);
      free (f->host);
      free (f->descriptors);
      fb_tls_pair_clear (&f->tls);
    }
  free (c->ifaces);
  memset (c, 0, sizeof *c);
}

void
fb_mock_field (fb_mock_fields *fs, const char *s, size_t len)
{
  if (fs->n == fs->cap)
    {
      fs->cap = fs->cap ? fs->cap * 2 : 16;
      fs->f = fb_xreallocarray (fs->f, fs->cap, sizeof *fs->f);
      fs->flen = fb_xreallocarray (fs->flen, fs->cap, sizeof *fs->flen);
    }
  fs->f[fs->n] = s ? s : "";
  fs->flen[fs->n++] = s ? len : 0;
}

void
fb_mock_field_str (fb_mock_fields *fs, const char *s)
{
  fb_mock_field (fs, s, s ? strlen (s) : 0);
}

void
fb_mock_fields_free (fb_mock_fields *fs)
{
  free (fs->f);
  free (fs->flen);
  for (size_t i = 0; i < fs->n_owned; i++)
    free (fs->owned[i]);
  free (fs->owned);
  memset (fs, 0, sizeof *fs);
}

static void
put_u32 (fb_buf *b, uint32_t v)
{
  uint32_t be = htonl (v);
  fb_buf_append (b, &be, sizeof be);
}

static int
write_all (int fd, const char *p, size_t n, fb_error *err)
{
  while (n)
    {
      ssize_t w = send (fd, p, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return fb_error_setsys (err, errno, "mock hub: write");
      p += w, n -= (size_t) w;
    }
  return 0;
}

int
fb_mock_send (int fd, char type, const fb_mock_fields *fs, fb_error *err)
{
  fb_buf b = FB_BUF_INIT;
  put_u32 (&b, 0);
  fb_buf_putc (&b, type);
  for (size_t i = 0; fs && i < fs->n; i++)
    {
      put_u32 (&b, (uint32_t) fs->flen[i]);
      fb_buf_append (&b, fs->f[i], fs->flen[i]);
    }
  uint32_t be = htonl ((uint32_t) (b.len - 4));
  memcpy (b.data, &be, sizeof be);
  int rc = write_all (fd, b.data, b.len, err);
  fb_buf_free (&b);
  return rc;
}

/* 1 when n bytes were read, 0 at a clean end before any, -1 otherwise.
 * send/recv, not write/read: a spec's read=/write= faults on a mock are
 * meant for its clients' traffic, not its link to the runner. */
static int
read_full (int fd, void *p, size_t n, fb_error *err)
{
  size_t got = 0;
  while (got < n)
    {
      ssize_t r = recv (fd, (char *) p + got, n - got, 0);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return fb_error_setsys (err, errno, "mock hub: read");
      if (r == 0)
        return got ? fb_error_set (err, EPROTO, "mock hub: message cut short") : 0;
      got += (size_t) r;
    }
  return 1;
}

int
fb_mock_recv (int fd, fb_mock_msg *m, fb_error *err)
{
  memset (m, 0, sizeof *m);
  uint32_t be;
  int rc = read_full (fd, &be, sizeof be, err);
  if (rc <= 0)
    return rc;
  uint32_t len = ntohl (be);
  if (len < 1 || len > MOCK_MSG_MAX)
    return fb_error_set (err, EPROTO, "mock hub: bad message length %u", len);
  char *raw = fb_xmalloc (len);
  if ((rc = read_full (fd, raw, len, err)) <= 0)
    {
      free (raw);
      return rc < 0 ? rc : fb_error_set (err, EPROTO, "mock hub: message cut short");
    }
  m->type = raw[0];
  for (size_t pos = 1; pos < len;)
    {
      uint32_t fl;
      if (len - pos < 4 || (memcpy (&fl, raw + pos, 4), fl = ntohl (fl), len - pos - 4 < fl))
        {
          char type = raw[0];
          free (raw);
          fb_mock_msg_clear (m);
          return fb_error_set (err, EPROTO, "mock hub: bad field in a '%c' message", type);
        }
      m->f = fb_xreallocarray (m->f, m->n + 1, sizeof *m->f);
      m->flen = fb_xreallocarray (m->flen, m->n + 1, sizeof *m->flen);
      m->f[m->n] = fb_xmemdup0 (raw + pos + 4, fl);
      m->flen[m->n++] = fl;
      pos += 4 + fl;
    }
  free (raw);
  return 1;
}

void
fb_mock_msg_clear (fb_mock_msg *m)
{
  for (size_t i = 0; i < m->n; i++)
    free (m->f[i]);
  free (m->f);
  free (m->flen);
  memset (m, 0, sizeof *m);
}

/* ---- the table as fields ------------------------------------------------ */

void
fb_mock_field_num (fb_mock_fields *fs, long long v)
{
  fs->owned = fb_xreallocarray (fs->owned, fs->n_owned + 1, sizeof *fs->owned);
  char *s = fs->owned[fs->n_owned++] = fb_xasprintf ("%lld", v);
  fb_mock_field_str (fs, s);
}

void
fb_mock_put_pairs (fb_mock_fields *fs, const fb_kv *kv, size_t n)
{
  fb_mock_field_num (fs, (long long) n);
  for (size_t i = 0; i < n; i++)
    {
      fb_mock_field_str (fs, kv[i].key);
      fb_mock_field_str (fs, kv[i].value);
    }
}

void
fb_mock_put_response (const fb_mock_response *r, fb_mock_fields *fs)
{
  fb_mock_field_num (fs, r->status);
  fb_mock_field (fs, r->body, r->body_len);
  fb_mock_field_str (fs, r->content_type);
  fb_mock_put_pairs (fs, r->headers, r->n_headers);
}

void
fb_mock_pack (const fb_mock_config *c, fb_mock_fields *fs)
{
  fb_mock_field_num (fs, (long long) c->n_ifaces);
  for (size_t i = 0; i < c->n_ifaces; i++)
    {
      const fb_mock_iface *f = &c->ifaces[i];
      fb_mock_field_str (fs, f->name);
      fb_mock_field_str (fs, f->protocol);
      fb_mock_field_num (fs, f->port);
      fb_mock_field_num (fs, (long long) f->n_routes);
      for (size_t k = 0; k < f->n_routes; k++)
        {
          fb_mock_field_str (fs, f->routes[k].pattern);
          fb_mock_field_num (fs, f->routes[k].dynamic);
          fb_mock_put_response (&f->routes[k].resp, fs);
        }
      fb_mock_field_num (fs, f->has_default);
      fb_mock_put_response (&f->dflt, fs);
      fb_mock_put_pairs (fs, f->state, f->n_state);
      fb_mock_field_num (fs, f->partitions);
      fb_mock_field (fs, f->descriptors ? f->descriptors : "", f->descriptors_len);
      fb_mock_field_str (fs, f->tls.cert ? f->tls.cert : "");
      fb_mock_field_str (fs, f->tls.key ? f->tls.key : "");
    }
}

void
fb_mock_pack_host (const char *host, fb_mock_fields *fs)
{
  fb_mock_field_str (fs, host);
}

/* ---- reading it back ---------------------------------------------------- */

typedef struct {
  const fb_mock_msg *m;
  size_t i;
  bool bad;
} cursor;

static const char *
take (cursor *c, size_t *len)
{
  if (c->bad || c->i >= c->m->n)
    {
      c->bad = true;
      return "";
    }
  if (len)
    *len = c->m->flen[c->i];
  return c->m->f[c->i++];
}

static long long
take_num (cursor *c)
{
  char *end;
  const char *s = take (c, NULL);
  long long v = strtoll (s, &end, 10);
  if (!*s || *end)
    c->bad = true;
  return v;
}

static fb_kv *
take_kv (cursor *c, size_t *n)
{
  long long k = take_num (c);
  if (c->bad || k < 0 || (size_t) k > c->m->n)
    {
      c->bad = true;
      *n = 0;
      return NULL;
    }
  fb_kv *kv = fb_xcalloc ((size_t) k + 1, sizeof *kv);
  for (long long i = 0; i < k; i++)
    {
      kv[i].key = fb_xstrdup (take (c, NULL));
      kv[i].value = fb_xstrdup (take (c, NULL));
    }
  *n = (size_t) k;
  return kv;
}

static void
take_resp (cursor *c, fb_mock_response *r)
{
  r->status = (int) take_num (c);
  size_t bl = 0;
  const char *body = take (c, &bl);
  r->body = fb_xmalloc (bl + 1);
  memcpy (r->body, body, bl + 1);
  r->body_len = bl;
  const char *ct = take (c, NULL);
  r->content_type = *ct ? fb_xstrdup (ct) : NULL;
  r->headers = take_kv (c, &r->n_headers);
}

int
fb_mock_take_response (const fb_mock_msg *m, size_t *i, fb_mock_response *r, fb_error *err)
{
  cursor c = { m, *i, false };
  memset (r, 0, sizeof *r);
  take_resp (&c, r);
  if (c.bad)
    {
      fb_mock_response_clear (r);
      return fb_error_set (err, EPROTO, "mock hub: bad response");
    }
  *i = c.i;
  return 0;
}

int
fb_mock_unpack (const fb_mock_msg *m, fb_mock_config *out, fb_error *err)
{
  memset (out, 0, sizeof *out);
  cursor c = { m, 0, false };
  long long n = take_num (&c);
  if (c.bad || n < 0 || n > 64)
    return fb_error_set (err, EPROTO, "mock hub: bad table");
  out->ifaces = fb_xcalloc ((size_t) n + 1, sizeof *out->ifaces);
  for (long long i = 0; i < n && !c.bad; i++, out->n_ifaces++)
    {
      fb_mock_iface *f = &out->ifaces[i];
      f->name = fb_xstrdup (take (&c, NULL));
      f->protocol = fb_xstrdup (take (&c, NULL));
      f->port = (int) take_num (&c);
      long long nr = take_num (&c);
      if (nr < 0 || (size_t) nr > m->n)
        c.bad = true, nr = 0;
      f->routes = fb_xcalloc ((size_t) nr + 1, sizeof *f->routes);
      for (long long k = 0; k < nr && !c.bad; k++, f->n_routes++)
        {
          f->routes[k].pattern = fb_xstrdup (take (&c, NULL));
          f->routes[k].dynamic = (unsigned) take_num (&c);
          take_resp (&c, &f->routes[k].resp);
        }
      f->has_default = take_num (&c) != 0;
      take_resp (&c, &f->dflt);
      f->state = take_kv (&c, &f->n_state);
      f->partitions = (int) take_num (&c);
      const char *d = take (&c, &f->descriptors_len);
      f->descriptors = f->descriptors_len ? fb_xmemdup0 (d, f->descriptors_len) : NULL;
      const char *cert = take (&c, NULL), *key = take (&c, NULL);
      if (*cert)
        f->tls = (fb_tls_pair) { fb_xstrdup (cert), fb_xstrdup (key) };
    }
  /* the runner's address of the mock, when it says one */
  const char *host = c.i < m->n ? take (&c, NULL) : "";
  for (size_t i = 0; i < out->n_ifaces && *host; i++)
    out->ifaces[i].host = fb_xstrdup (host);
  if (c.bad)
    {
      fb_mock_config_clear (out);
      return fb_error_set (err, EPROTO, "mock hub: bad table");
    }
  return 0;
}
