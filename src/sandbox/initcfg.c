/* What init needs to know, as bytes: it is exec'd, so it shares no memory
 * with the runner. Numbers are u64 in host order (both ends are
 * the same machine), strings a u64 length (NONE for NULL) then the bytes
 * and a NUL, so that unpacking can point into the buffer. */
#include "sandbox/init.h"
#include "util/alloc.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define NONE UINT64_MAX

static void
put_u64 (fb_buf *b, uint64_t v)
{
  fb_buf_append (b, &v, sizeof v);
}

static void
put_str (fb_buf *b, const char *s)
{
  put_u64 (b, s ? strlen (s) : NONE);
  if (s)
    fb_buf_append (b, s, strlen (s) + 1);
}

static void
put_strv (fb_buf *b, const char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  put_u64 (b, v ? n : NONE);
  for (size_t i = 0; i < n; i++)
    put_str (b, v[i]);
}

void
fb_init_pack (const fb_init_args *a, fb_buf *b)
{
  const fb_service_plan *p = a->plan;
  put_str (b, a->workdir);
  put_str (b, a->log_path);
  put_u64 (b, a->addr);
  put_u64 (b, (uint64_t) a->prefix);
  put_u64 (b, a->gateway);
  put_str (b, p->name);
  put_strv (b, (const char *const *) p->argv);
  put_strv (b, (const char *const *) p->envp);
  put_strv (b, p->ro_binds);
  put_u64 (b, p->seccomp_filter ? p->seccomp_filter->len : NONE);
  if (p->seccomp_filter)
    fb_buf_append (b, p->seccomp_filter->filter, p->seccomp_filter->len * sizeof (struct sock_filter));
  put_u64 (b, p->inherit_stdio);
  put_u64 (b, p->echo_output);
  put_u64 (b, p->n_binds);
  for (size_t i = 0; i < p->n_binds; i++)
    {
      put_str (b, p->binds[i].src);
      put_str (b, p->binds[i].dst);
      put_u64 (b, p->binds[i].writable);
    }
  put_str (b, p->rootfs);
  put_u64 (b, p->caps_add);
  put_u64 (b, p->caps_drop);
  put_u64 (b, (uint64_t) p->capture_stdout | (uint64_t) p->capture_stderr << 1 | (uint64_t) p->set_user << 2);
  put_strv (b, p->lowers);
  put_str (b, p->cwd);
  put_u64 (b, p->uid);
  put_u64 (b, p->gid);
}

typedef struct {
  char *p, *end;
  bool bad;
} cursor;

static void *
take (cursor *c, uint64_t n)
{
  if (c->bad || n > (uint64_t) (c->end - c->p))
    {
      c->bad = true;
      return NULL;
    }
  void *r = c->p;
  c->p += n;
  return r;
}

static uint64_t
get_u64 (cursor *c)
{
  uint64_t v = 0;
  void *p = take (c, sizeof v);
  if (p)
    memcpy (&v, p, sizeof v);
  return v;
}

static char *
get_str (cursor *c)
{
  uint64_t n = get_u64 (c);
  if (n == NONE)
    return NULL;
  char *s = take (c, n + 1);
  if (s && s[n] != '\0')
    c->bad = true;
  return c->bad ? NULL : s;
}

static char **
get_strv (cursor *c)
{
  uint64_t n = get_u64 (c);
  if (n == NONE || n > (uint64_t) (c->end - c->p))
    {
      c->bad |= n != NONE;
      return NULL;
    }
  char **v = fb_xcalloc (n + 1, sizeof *v);
  for (uint64_t i = 0; i < n; i++)
    v[i] = get_str (c);
  return v;
}

int
fb_init_unpack (char *data, size_t len, fb_init_args *a, fb_service_plan *p)
{
  cursor c = { data, data + len, false };
  *p = (fb_service_plan) { 0 };
  a->plan = p;
  a->workdir = get_str (&c);
  a->log_path = get_str (&c);
  a->addr = (uint32_t) get_u64 (&c);
  a->prefix = (int) get_u64 (&c);
  a->gateway = (uint32_t) get_u64 (&c);
  p->name = get_str (&c);
  p->argv = get_strv (&c);
  p->envp = get_strv (&c);
  p->ro_binds = (const char *const *) get_strv (&c);
  uint64_t insns = get_u64 (&c);
  if (insns != NONE && insns <= USHRT_MAX)
    {
      struct sock_fprog *f = FB_NEW (struct sock_fprog);
      f->len = (unsigned short) insns;
      f->filter = fb_xcalloc (insns + 1, sizeof *f->filter);
      void *src = take (&c, insns * sizeof *f->filter);
      if (src)
        memcpy (f->filter, src, insns * sizeof *f->filter);
      p->seccomp_filter = f;
    }
  else
    c.bad |= insns != NONE;
  p->inherit_stdio = get_u64 (&c);
  p->echo_output = get_u64 (&c);
  uint64_t nb = get_u64 (&c);
  if (nb > (uint64_t) (c.end - c.p))
    return -1;
  fb_bind *binds = fb_xcalloc (nb + 1, sizeof *binds);
  for (uint64_t i = 0; i < nb; i++)
    {
      binds[i].src = get_str (&c);
      binds[i].dst = get_str (&c);
      binds[i].writable = get_u64 (&c);
    }
  p->binds = binds;
  p->n_binds = nb;
  p->rootfs = get_str (&c);
  p->caps_add = get_u64 (&c);
  p->caps_drop = get_u64 (&c);
  uint64_t flags = get_u64 (&c);
  p->capture_stdout = flags & 1;
  p->capture_stderr = flags >> 1 & 1;
  p->set_user = flags >> 2 & 1;
  p->lowers = (const char *const *) get_strv (&c);
  p->cwd = get_str (&c);
  p->uid = (uint32_t) get_u64 (&c);
  p->gid = (uint32_t) get_u64 (&c);
  return c.bad || c.p != c.end || !p->name || !p->argv || !p->argv[0] || !a->workdir || !a->log_path
             ? -1 : 0;
}

int
fb_init_send (int fd, char type, const void *data, size_t len)
{
  char buf[512];
  buf[0] = type;
  if (len > sizeof buf - 1)
    len = sizeof buf - 1;
  if (len)
    memcpy (buf + 1, data, len);
  return send (fd, buf, len + 1, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

char
fb_init_recv (int fd, char *payload, size_t len)
{
  char buf[512];
  ssize_t n;
  while ((n = recv (fd, buf, sizeof buf - 1, 0)) < 0 && errno == EINTR)
    ;
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  snprintf (payload, len, "%s", buf + 1);
  return buf[0];
}

int
fb_init_send_fds (int sock, const void *data, size_t len, const int *fds, size_t n)
{
  char cbuf[CMSG_SPACE (FB_INIT_MAX_FDS * sizeof (int))] = { 0 };
  struct iovec iov = { (void *) data, len };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
  if (n)
    {
      m.msg_control = cbuf;
      m.msg_controllen = CMSG_SPACE (n * sizeof (int));
      struct cmsghdr *cm = CMSG_FIRSTHDR (&m);
      *cm = (struct cmsghdr) { .cmsg_len = CMSG_LEN (n * sizeof (int)), .cmsg_level = SOL_SOCKET,
                               .cmsg_type = SCM_RIGHTS };
      memcpy (CMSG_DATA (cm), fds, n * sizeof (int));
    }
  ssize_t r;
  while ((r = sendmsg (sock, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
    ;
  return r < 0 ? -errno : 0;
}

ssize_t
fb_init_recv_fds (int sock, void *data, size_t len, int *fds, size_t *n)
{
  char cbuf[CMSG_SPACE (FB_INIT_MAX_FDS * sizeof (int))];
  struct iovec iov = { data, len };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  ssize_t r;
  while ((r = recvmsg (sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
    ;
  *n = 0;
  for (struct cmsghdr *cm = r >= 0 ? CMSG_FIRSTHDR (&m) : NULL; cm; cm = CMSG_NXTHDR (&m, cm))
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
      {
        size_t k = (cm->cmsg_len - CMSG_LEN (0)) / sizeof (int);
        memcpy (fds + *n, CMSG_DATA (cm), k * sizeof (int));
        *n += k;
      }
  return r;
}
