/* The mock server process: the faultbox binary re-exec'd as a service in
 * its own sandbox (own namespaces, veth, name, seccomp filter), so a mock
 * is reached, faulted and healthchecked like any service. It fetches its
 * route table from the runner's hub, listens on every interface, and
 * gives each connection a thread running the protocol's mock. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "protocol/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"

struct fb_mock_server {
  const char *service;
  fb_mock_config cfg;
  int hub;                  /* -1: no runner listening (events dropped) */
  pthread_mutex_t hub_mu;   /* one exchange at a time on the hub */
};

void
fb_mock_emit (fb_mock_server *s, const fb_mock_iface *f, const char *op, const char *const *kv)
{
  fb_mock_fields fs = { 0 };
  fb_mock_field_str (&fs, f->name);
  fb_mock_field_str (&fs, op);
  for (size_t i = 0; kv && kv[i]; i++)
    fb_mock_field_str (&fs, kv[i]);
  /* the hub acknowledges once the event is in the log: a client that got
   * its reply finds the mock's event already recorded */
  pthread_mutex_lock (&s->hub_mu);
  fb_mock_msg ack;
  if (s->hub >= 0 && fb_mock_send (s->hub, FB_MOCK_EVENT, &fs, NULL) == 0 && fb_mock_recv (s->hub, &ack, NULL) > 0)
    fb_mock_msg_clear (&ack);
  pthread_mutex_unlock (&s->hub_mu);
  fb_mock_fields_free (&fs);
}

/* Faultbox runs dynamic handlers one at a time; so does the hub, and the
 * mutex keeps each call and its reply together on the connection. */
int
fb_mock_dynamic (fb_mock_server *s, const fb_mock_iface *f, const fb_mock_route *r, const fb_mock_request *req,
                 fb_mock_response *out, char **error)
{
  fb_mock_fields fs = { 0 };
  fb_mock_field_num (&fs, r->dynamic);
  fb_mock_field_str (&fs, f->name);
  fb_mock_field_str (&fs, r->pattern);
  fb_mock_field_str (&fs, req->method);
  fb_mock_field_str (&fs, req->path);
  fb_mock_field (&fs, req->body, req->body_len);
  fb_mock_put_pairs (&fs, req->headers, req->n_headers);
  fb_mock_put_pairs (&fs, req->query, req->n_query);
  fb_error e = { 0 };
  fb_mock_msg m = { 0 };
  int rc = -1;
  pthread_mutex_lock (&s->hub_mu);
  if (s->hub < 0)
    fb_error_set (&e, ENOTCONN, "no runner to call the dynamic() handler");
  else if (fb_mock_send (s->hub, FB_MOCK_CALL, &fs, &e) == 0 && fb_mock_recv (s->hub, &m, &e) > 0)
    rc = 0;
  pthread_mutex_unlock (&s->hub_mu);
  fb_mock_fields_free (&fs);
  size_t i = 1;
  if (rc == 0 && (m.type != FB_MOCK_REPLY || m.n < 1))
    rc = fb_error_set (&e, EPROTO, "mock hub: unexpected reply");
  else if (rc == 0 && m.flen[0])
    rc = fb_error_set (&e, EINVAL, "%s", m.f[0]);
  else if (rc == 0)
    rc = fb_mock_take_response (&m, &i, out, &e);
  fb_mock_msg_clear (&m);
  if (rc < 0)
    *error = fb_xstrdup (e.msg[0] ? e.msg : "mock hub closed");
  return rc;
}

int
fb_mock_write (int fd, const char *p, size_t n)
{
  while (n)
    {
      ssize_t w = write (fd, p, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return -1;
      p += w, n -= (size_t) w;
    }
  return 0;
}

void
fb_mock_timeout (int fd, int seconds)
{
  struct timeval tv = { .tv_sec = seconds };
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* The runner's hub, dialled by name (the lab's /etc/hosts has it); it
 * listens before any service starts. The table comes from it, so a mock
 * runs only under a runner that has one (faultbox test). */
static int
hub_dial (const char *hub, fb_error *err)
{
  _cleanup_free_ char *host = fb_xstrdup (hub);
  char *colon = strrchr (host, ':');
  if (!colon)
    return fb_error_set (err, EINVAL, "mock: hub address \"%s\" has no port", hub);
  *colon = '\0';
  struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai;
  int g = getaddrinfo (host, colon + 1, &hints, &ai);
  if (g)
    return fb_error_set (err, ENOENT, "mock: cannot resolve the hub %s: %s", hub, gai_strerror (g));
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int rc = fd < 0 ? -1 : connect (fd, ai->ai_addr, ai->ai_addrlen);
  int e = errno;
  freeaddrinfo (ai);
  if (rc < 0)
    {
      if (fd >= 0)
        close (fd);
      return fb_error_setsys (err, e, "mock: cannot reach the runner's hub at %s", hub);
    }
  return fd;
}

static int
fetch_config (fb_mock_server *s, const char *hub, fb_error *err)
{
  s->hub = hub_dial (hub, err);
  if (s->hub < 0)
    return -1;
  fb_mock_fields fs = { 0 };
  fb_mock_field_str (&fs, s->service);
  int rc = fb_mock_send (s->hub, FB_MOCK_HELLO, &fs, err);
  fb_mock_fields_free (&fs);
  fb_mock_msg m = { 0 };
  if (rc == 0 && (rc = fb_mock_recv (s->hub, &m, err)) == 0)
    rc = fb_error_set (err, ECONNRESET, "mock: the hub closed before sending %s's table", s->service);
  if (rc > 0 && m.type != FB_MOCK_CONFIG)
    rc = fb_error_set (err, EPROTO, "mock: the hub does not know service %s", s->service);
  if (rc > 0)
    rc = fb_mock_unpack (&m, &s->cfg, err);
  fb_mock_msg_clear (&m);
  return rc < 0 ? -1 : 0;
}

static int
listen_on (int port, bool dgram, fb_error *err)
{
  int fd = socket (AF_INET, (dgram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return fb_error_setsys (err, errno, "mock: socket");
  int one = 1;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port),
                           .sin_addr.s_addr = htonl (INADDR_ANY) };
  if (bind (fd, (struct sockaddr *) &a, sizeof a) < 0 || (!dgram && listen (fd, 128) < 0))
    {
      int e = errno;
      close (fd);
      return fb_error_setsys (err, e, "mock: cannot listen on port %d", port);
    }
  return fd;
}

typedef struct {
  fb_mock_conn c;
  const fb_mock_ops *ops;
} conn_job;

static void *
conn_main (void *p)
{
  conn_job *j = p;
  fb_error e = { 0 };
  /* TLS is a layer under the protocol's mock: it serves the plaintext */
  if (j->c.iface->tls.cert && !j->ops->datagram)
    j->c.fd = fb_tls_accept (&j->c.iface->tls, strcmp (j->c.iface->protocol, "http") ? "h2" : NULL, j->c.fd, &e);
  if (j->c.fd < 0 && e.code != ENODATA)
    fb_mock_emit (j->c.srv, j->c.iface, "tls_error", (const char *const[]) { "error", e.msg, NULL });
  else if (j->c.fd >= 0)
    {
      j->ops->serve (&j->c);
      close (j->c.fd);
    }
  free (j);
  return NULL;
}

/* Serves fd (a connection, or a datagram interface's socket) on a thread. */
static void
serve_on_thread (fb_mock_server *s, int fd, const fb_mock_iface *f, const fb_mock_ops *ops, void *state)
{
  conn_job *j = FB_NEW (conn_job);
  *j = (conn_job) { { s, f, state, fd }, ops };
  pthread_t t;
  pthread_attr_t at;
  pthread_attr_init (&at);
  pthread_attr_setdetachstate (&at, PTHREAD_CREATE_DETACHED);
  if (pthread_create (&t, &at, conn_main, j) != 0)
    {
      close (fd);
      free (j);
    }
  pthread_attr_destroy (&at);
}

static void
accept_one (fb_mock_server *s, int lfd, const fb_mock_iface *f, const fb_mock_ops *ops, void *state)
{
  int fd = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0)
    return;
  /* a datagram interface's TCP twin only says it is bound */
  if (ops->datagram)
    close (fd);
  else
    serve_on_thread (s, fd, f, ops, state);
}

int
fb_mock_serve (const char *hub, const char *service, fb_error *err)
{
  /* clients' traffic goes through write() (what write= faults target): a
   * client gone away is an error to the writer, not a signal */
  signal (SIGPIPE, SIG_IGN);
  fb_mock_server s = { .service = service, .hub = -1 };
  pthread_mutex_init (&s.hub_mu, NULL);
  if (fetch_config (&s, hub, err) < 0)
    return -1;
  size_t n = s.cfg.n_ifaces;
  struct pollfd *pf = fb_xcalloc (n + 1, sizeof *pf);
  void **state = fb_xcalloc (n + 1, sizeof *state);
  const fb_mock_ops **ops = fb_xcalloc (n + 1, sizeof *ops);
  int *dgram = fb_xcalloc (n + 1, sizeof *dgram);
  /* every interface listens before any is served: the healthcheck's
   * connect to the first then means all are up (a datagram interface
   * also listens on TCP at its port, for that connect) */
  for (size_t i = 0; i < n; i++)
    {
      const fb_protocol *p = fb_protocol_find (s.cfg.ifaces[i].protocol);
      if (!p || !p->mock)
        return fb_error_set (err, EINVAL, "mock: protocol %s has no mock", s.cfg.ifaces[i].protocol);
      ops[i] = p->mock;
      if ((pf[i].fd = listen_on (s.cfg.ifaces[i].port, false, err)) < 0
          || (ops[i]->datagram && (dgram[i] = listen_on (s.cfg.ifaces[i].port, true, err)) < 0))
        return -1;
      pf[i].events = POLLIN;
    }
  for (size_t i = 0; i < n; i++)
    {
      state[i] = ops[i]->start ? ops[i]->start (&s, &s.cfg.ifaces[i]) : NULL;
      if (ops[i]->datagram)
        serve_on_thread (&s, dgram[i], &s.cfg.ifaces[i], ops[i], state[i]);
    }
  for (;;)
    {
      if (poll (pf, n, -1) < 0 && errno != EINTR)
        return fb_error_setsys (err, errno, "mock: poll");
      for (size_t i = 0; i < n; i++)
        if (pf[i].revents & POLLIN)
          accept_one (&s, pf[i].fd, &s.cfg.ifaces[i], ops[i], state[i]);
    }
}

/* ---- what the protocols' mocks share ------------------------------------ */

const fb_mock_route *
fb_mock_pick (const fb_mock_iface *f, bool (*match) (const char *pattern, const void *ctx), const void *ctx)
{
  for (size_t i = 0; i < f->n_routes; i++)
    if (match (f->routes[i].pattern, ctx))
      return &f->routes[i];
  return NULL;
}

/* The response for a request that matched route r (NULL: none matched):
 * the route's, the dynamic() handler's, or the default; NULL when there is
 * none. *owned is set when the caller must clear it; *error when the
 * dynamic() handler failed. */
const fb_mock_response *
fb_mock_respond (fb_mock_conn *c, const fb_mock_route *r, const fb_mock_request *req, fb_mock_response *owned,
                 char **error)
{
  *error = NULL;
  if (r && r->dynamic)
    return fb_mock_dynamic (c->srv, c->iface, r, req, owned, error) < 0 ? NULL : owned;
  if (r)
    return &r->resp;
  return c->iface->has_default ? &c->iface->dflt : NULL;
}

void
fb_mock_frames (fb_mock_conn *c, const fb_framing *fr, size_t max,
                bool (*on_msg) (fb_mock_conn *c, const char *buf, const fb_msg *m),
                void (*on_bad) (fb_mock_conn *c, const char *why))
{
  fb_buf in = FB_BUF_INIT;
  void *st = fr->state_new ? fr->state_new () : NULL;
  for (bool open = true; open;)
    {
      fb_msg m;
      fb_error e = { 0 };
      fb_frame_rc rc = in.len ? fr->request (st, in.data, in.len, &m, &e) : FB_FRAME_PARTIAL;
      if (rc == FB_FRAME_BAD || (rc == FB_FRAME_PARTIAL && in.len > max))
        {
          on_bad (c, e.msg[0] ? e.msg : "request too large");
          break;
        }
      if (rc == FB_FRAME_OK)
        {
          open = on_msg (c, in.data, &m);
          memmove (in.data, in.data + m.len, in.len - m.len);
          fb_buf_truncate (&in, in.len - m.len);
          continue;
        }
      /* a message may come in any number of reads */
      fb_buf_reserve (&in, 16384);
      ssize_t r = read (c->fd, in.data + in.len, 16384);
      if (r <= 0)
        break;
      in.len += (size_t) r;
    }
  if (st)
    fr->state_free (st);
  fb_buf_free (&in);
}
