/* The runner's end of the mock servers: one thread that hands each mock
 * its route table, records what it reports as mock.<op> events, and runs
 * its dynamic() handlers. The handlers run on a Starlark thread of their
 * own, spawned from the interpreter's before the services start: the test
 * body keeps the interpreter's thread (it may be waiting on a step that
 * is itself waiting on the mock), as parallel()'s branches do. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lang/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"

typedef struct {
  int fd;
  ssize_t svc;            /* -1 until it said hello */
} hub_conn;

struct session_mock {
  fb_session *ss;
  int lfd, wake;
  pthread_t tid;
  bool running;
  fb_star_thread *th;     /* the handlers' */
  hub_conn *conns;
  size_t n;
};

static void
hub_hello (struct session_mock *h, hub_conn *c, const fb_mock_msg *m)
{
  const fb_plan *p = &h->ss->spec->plan;
  ssize_t svc = m->n ? fb_plan_find_service (p, m->f[0]) : -1;
  fb_mock_fields fs = { 0 };
  if (svc < 0 || !p->services[svc].mock)
    {
      fb_mock_field_str (&fs, "not a mock service");
      fb_mock_send (c->fd, FB_MOCK_REPLY, &fs, NULL);
    }
  else
    {
      c->svc = svc;
      fb_mock_pack (p->services[svc].mock, &fs);
      fb_mock_pack_host (session_step_host (h->ss, (size_t) svc), &fs);
      fb_mock_send (c->fd, FB_MOCK_CONFIG, &fs, NULL);
    }
  fb_mock_fields_free (&fs);
}

/* mock.<op> on the mock's service: interface, kind, op, then its fields,
 * as Faultbox records them. */
static void
hub_event (struct session_mock *h, const hub_conn *c, const fb_mock_msg *m)
{
  if (c->svc < 0 || m->n < 2)
    {
      fb_mock_send (c->fd, FB_MOCK_REPLY, NULL, NULL);
      return;
    }
  const char **kv = fb_xcalloc (m->n + 8, sizeof *kv);
  size_t k = 0;
  kv[k++] = "interface", kv[k++] = m->f[0], kv[k++] = "kind", kv[k++] = "mock", kv[k++] = "op", kv[k++] = m->f[1];
  for (size_t i = 2; i + 1 < m->n; i += 2)
    kv[k++] = m->f[i], kv[k++] = m->f[i + 1];
  _cleanup_free_ char *type = fb_xasprintf ("mock.%s", m->f[1]);
  session_event (h->ss, type, h->ss->spec->plan.services[c->svc].name, kv);
  free (kv);
  fb_mock_send (c->fd, FB_MOCK_REPLY, NULL, NULL);
}

/* fields from *i on: a count, then that many name, value pairs */
static fb_value *
pairs_dict (fb_star_thread *th, const fb_mock_msg *m, size_t *i)
{
  fb_value *d = fb_dict_new (th);
  size_t n = *i < m->n ? (size_t) strtoul (m->f[*i], NULL, 10) : 0;
  (*i)++;
  for (size_t k = 0; k < n && *i + 1 < m->n; k++, *i += 2)
    if (!fb_dict_get_str (d, m->f[*i]))
      fb_dict_set_str (th, d, m->f[*i], fb_string_n (th, m->f[*i + 1], m->flen[*i + 1]));
  return d;
}

/* Faultbox's request dict: method, path, headers, query, body. */
static fb_value *
request_dict (fb_star_thread *th, const fb_mock_msg *m)
{
  fb_value *req = fb_dict_new (th);
  fb_dict_set_str (th, req, "method", fb_string (th, m->f[3]));
  fb_dict_set_str (th, req, "path", fb_string (th, m->f[4]));
  size_t i = 6;
  fb_dict_set_str (th, req, "headers", pairs_dict (th, m, &i));
  fb_dict_set_str (th, req, "query", pairs_dict (th, m, &i));
  fb_dict_set_str (th, req, "body", fb_string_n (th, m->f[5], m->flen[5]));
  return req;
}

/* A dynamic() route: fields handler, interface, pattern, method, path,
 * body, headers, query. The reply is "" and a response, or why not. */
static void
hub_call (struct session_mock *h, const hub_conn *c, const fb_mock_msg *m)
{
  fb_spec *sp = h->ss->spec;
  unsigned long id = m->n >= 6 ? strtoul (m->f[0], NULL, 10) : 0;
  fb_mock_fields fs = { 0 };
  _cleanup_free_ char *why = NULL;
  if (c->svc < 0 || id < 1 || id > sp->n_mock_fns)
    why = fb_xstrdup ("no such dynamic() handler");
  else
    {
      fb_value *req = request_dict (h->th, m), *fn;
      fb_value *r = fb_star_call (h->th, sp->mock_fns[id - 1], &(fb_star_args) { .npos = 1, .pos = &req });
      const fb_mock_response *resp = r ? spec_mock_response (r, &fn) : NULL;
      fb_error e = { 0 };
      if (!r && fb_star_take_error (h->th, &e) < 0)
        why = fb_xasprintf ("dynamic handler %s: %.*s", m->f[2], (int) strcspn (e.msg, "\n"), e.msg);
      else if (!resp || fn)
        why = fb_xasprintf ("dynamic handler must return a mock_response (got %s)",
                            fn ? "dynamic()" : fb_value_type_name (r));
      else
        {
          fb_mock_field_str (&fs, "");
          fb_mock_put_response (resp, &fs);
        }
    }
  if (why)
    fb_mock_field_str (&fs, why);
  fb_mock_send (c->fd, FB_MOCK_REPLY, &fs, NULL);
  fb_mock_fields_free (&fs);
}

/* false when the connection ended */
static bool
hub_read (struct session_mock *h, hub_conn *c)
{
  fb_mock_msg m;
  if (fb_mock_recv (c->fd, &m, NULL) <= 0)
    return false;
  if (m.type == FB_MOCK_HELLO)
    hub_hello (h, c, &m);
  else if (m.type == FB_MOCK_EVENT)
    hub_event (h, c, &m);
  else if (m.type == FB_MOCK_CALL)
    hub_call (h, c, &m);
  fb_mock_msg_clear (&m);
  return true;
}

static void *
hub_main (void *p)
{
  struct session_mock *h = p;
  for (;;)
    {
      struct pollfd *pf = fb_xcalloc (h->n + 2, sizeof *pf);
      pf[0] = (struct pollfd) { .fd = h->wake, .events = POLLIN };
      pf[1] = (struct pollfd) { .fd = h->lfd, .events = POLLIN };
      for (size_t i = 0; i < h->n; i++)
        pf[i + 2] = (struct pollfd) { .fd = h->conns[i].fd, .events = POLLIN };
      int r = poll (pf, h->n + 2, -1);
      bool stop = r < 0 ? errno != EINTR : (pf[0].revents & POLLIN) != 0;
      /* backwards: a closed connection is swapped with the last */
      for (size_t i = h->n; !stop && r > 0 && i-- > 0;)
        if (pf[i + 2].revents && !hub_read (h, &h->conns[i]))
          {
            close (h->conns[i].fd);
            h->conns[i] = h->conns[--h->n];
          }
      if (!stop && r > 0 && (pf[1].revents & POLLIN))
        {
          int fd = accept4 (h->lfd, NULL, NULL, SOCK_CLOEXEC);
          if (fd >= 0)
            {
              h->conns = fb_xreallocarray (h->conns, h->n + 1, sizeof *h->conns);
              h->conns[h->n++] = (hub_conn) { fd, -1 };
            }
        }
      free (pf);
      if (stop)
        return NULL;
    }
}

static int
hub_listen (const char *addr, fb_error *err)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return fb_error_setsys (err, errno, "mock hub: socket");
  int one = 1;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (FB_MOCK_HUB_PORT) };
  if (inet_pton (AF_INET, addr, &a.sin_addr) != 1 || bind (fd, (struct sockaddr *) &a, sizeof a) < 0
      || listen (fd, 64) < 0)
    {
      int e = errno;
      close (fd);
      return fb_error_setsys (err, e, "mock hub: cannot listen on %s:%d", addr, FB_MOCK_HUB_PORT);
    }
  return fd;
}

int
session_mock_start (fb_session *ss, fb_error *err)
{
  const fb_plan *p = &ss->spec->plan;
  bool any = false;
  for (size_t i = 0; i < p->n_services; i++)
    any |= p->services[i].mock != NULL;
  if (!any)
    return 0;
  int lfd = hub_listen (fb_lab_worker_addr (ss->lab), err);
  if (lfd < 0)
    return -1;
  struct session_mock *h = ss->mock = FB_NEW (struct session_mock);
  *h = (struct session_mock) { .ss = ss, .lfd = lfd, .wake = eventfd (0, EFD_CLOEXEC) };
  h->th = fb_star_thread_spawn (ss->spec->th);
  if (h->wake < 0 || pthread_create (&h->tid, NULL, hub_main, h) != 0)
    return fb_error_setsys (err, errno ? errno : EAGAIN, "mock hub: cannot start its thread");
  h->running = true;
  return 0;
}

void
session_mock_close (fb_session *ss)
{
  struct session_mock *h = ss->mock;
  if (!h)
    return;
  if (h->running)
    {
      uint64_t one = 1;
      if (write (h->wake, &one, sizeof one) == sizeof one)
        pthread_join (h->tid, NULL);
    }
  for (size_t i = 0; i < h->n; i++)
    close (h->conns[i].fd);
  free (h->conns);
  close (h->lfd);
  if (h->wake >= 0)
    close (h->wake);
  /* what the handlers made goes with the test's values */
  fb_star_thread_join (ss->spec->th, h->th);
  free (h);
  ss->mock = NULL;
}
