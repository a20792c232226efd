/* TCP: a line exchange (send(data=)) and the healthcheck's connect. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protocol/internal.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/time.h"

int
fb_tcp_dial (const char *host, int port, int64_t timeout_ms)
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
  int fd = fb_tcp_dial (host, port, timeout_ms);
  if (fd < 0)
    return fb_error_setsys (err, -fd, "connect %s:%d", host, port);
  close (fd);
  return 0;
}

int
fb_tcp_exchange (const char *host, int port, const char *data, int64_t timeout_ms, char **reply, fb_error *err)
{
  _cleanup_close_ int fd = fb_tcp_dial (host, port, timeout_ms);
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
  *reply = fb_protocol_trim (s);
  return 0;
}


#define TCP_STEP_TIMEOUT_MS 10000

static int
tcp_step (const fb_step_call *c, fb_step_result *out, fb_error *err)
{
  const char *data = c->args[0].s;
  if (!*data)
    return fb_error_set (err, EINVAL, "send: data must not be empty");
  c->on_send (c->ctx, (const char *const[]) { "method", "send", "data", data, NULL });
  fb_error e = { 0 };
  if (fb_tcp_exchange (c->host, c->port, data, TCP_STEP_TIMEOUT_MS, &out->body, &e) < 0)
    {
      fb_step_field (out, "success", "false");
      fb_step_field (out, "error", e.msg);
      return fb_error_set (err, e.code, "send: %s (service %s)", e.msg, c->service);
    }
  fb_step_field (out, "success", "true");
  fb_step_field (out, "reply", out->body);
  return 0;
}

static int
tcp_ready (const fb_ready_call *c, fb_error *err)
{
  return fb_tcp_probe (c->host, c->port, c->timeout_ms, err);
}

static const fb_step_method tcp_methods[] = {
  { .name = "send", .n_params = 1, .params = { { "data", FB_PARAM_STRING, true, NULL } }, .returns_text = true },
};

const fb_protocol fb_protocol_tcp = {
  .name = "tcp",
  .methods = tcp_methods,
  .n_methods = sizeof tcp_methods / sizeof *tcp_methods,
  .methods_hint = "send(data=...)",
  .step = tcp_step,
  .ready = tcp_ready,
  .ready_timeout_ms = 500,
  .mock = &fb_tcp_mock,
};
