/* The lab's proxy: listeners, connections and the one epoll loop that
 * serves them (see faultbox/proxy.h). A connection keeps the requests it
 * forwarded in order as slots, so a reply the proxy makes itself goes back
 * to the client in its place among the server's replies, pipelined or not. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "faultbox/proxy.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/hash.h"
#include "util/time.h"

/* A message larger than this is not one we hold in memory to frame: the
 * connection is closed, with an event saying why. */
#define PX_MAX_BUFFER (64u * 1024 * 1024)
#define PX_READ_CHUNK 65536

enum { TAG_LISTENER, TAG_CLIENT, TAG_UPSTREAM, TAG_WAKE, TAG_FLOW };

typedef struct {
  int kind;
  void *p;
} px_tag;

typedef struct px_listener {
  px_tag tag;
  int fd;
  char *service, *iface, *name;  /* name: "service.iface" */
  const fb_protocol *proto;      /* NULL: relay only */
  struct sockaddr_in upstream;
  bool dgram;                    /* a UDP socket: datagrams, per client flows */
  struct px_flow *flows;
} px_listener;

/* A datagram held back by delay(). */
typedef struct {
  int64_t due_ns;
  char *data;
  size_t len;
} px_dgram;

/* A UDP client of a listener: its own socket connected upstream, so the
 * replies come back to it alone; datagrams held back in order of due. */
typedef struct px_flow {
  px_tag tag;
  px_listener *l;
  struct sockaddr_in client;
  char name[INET_ADDRSTRLEN + 8];
  int ufd;
  px_dgram *held;
  size_t n_held, cap_held;
  struct px_flow *next;
} px_flow;

typedef struct {
  uint64_t id, scope;
  size_t listener;
  fb_proxy_rule rule;
  uint64_t matched, fired;
} px_rule;

/* One expected reply: a request forwarded (fwd) or a reply made here. */
typedef struct {
  bool fwd, done, discard;
  fb_msg req;        /* its headers point nowhere once framed: verb, target, head_only only */
  fb_buf out;        /* bytes for the client, in order */
} px_slot;

/* What the rules decided for the message at the head of the client's
 * buffer, applied when its delay is over. */
typedef struct {
  bool pending;
  int64_t until_ns;
  int action;        /* -1: forward */
  fb_reply reply;
  char *body, *message; /* the reply's strings: the rule may go meanwhile */
} px_hold;

/* A partition's share of the proxy: what a client at `client` sends to
 * `service` (up) or gets from it (down) is cut. */
typedef struct {
  uint64_t id;
  char client[INET_ADDRSTRLEN];
  char *service;
  bool up, down;
} px_cut;

typedef struct px_conn {
  px_tag ctag, utag;
  px_listener *l;
  int cfd, ufd;
  bool connected, c_eof, u_eof, u_shut, tunnel, streaming, dead;
  bool closing;            /* an injected reply ends the connection once sent (amqp) */
  fb_buf cin, uin, cout, uout;
  px_slot *slots;
  size_t n_slots, cap_slots;
  px_hold hold, uhold;     /* uhold: a server message the rules hold back */
  void *fst;               /* the framing's state of this connection (a session's) */
  fb_proxy *px;            /* a session's decide() reaches the rules through it */
  int64_t due_ns;          /* a session's next held request, 0: none */
  char client[INET_ADDRSTRLEN + 8];
  uint32_t cmask, umask;   /* epoll interest now */
  uint64_t cut_gen;        /* the cuts cut_up/cut_down were found in */
  bool cut_up, cut_down;
  struct px_conn *next;
} px_conn;

struct fb_proxy {
  uint64_t seed;
  fb_proxy_callbacks cb;
  px_listener **listeners;
  size_t n_listeners;
  int epfd, wakefd;
  px_tag wake_tag;
  pthread_t tid;
  bool running;
  atomic_bool stop;
  px_conn *conns;
  pthread_mutex_t mu;  /* rules and cuts */
  px_rule *rules;
  size_t n_rules;
  uint64_t next_id;
  px_cut *cuts;
  size_t n_cuts;
  atomic_uint_fast64_t cut_gen;  /* bumped on every change of cuts */
};

/* ---- setup ---------------------------------------------------------------- */

fb_proxy *
fb_proxy_new (uint64_t seed, const fb_proxy_callbacks *cb)
{
  fb_proxy *px = FB_NEW (fb_proxy);
  px->seed = seed;
  if (cb)
    px->cb = *cb;
  px->epfd = px->wakefd = -1;
  pthread_mutex_init (&px->mu, NULL);
  return px;
}

static int
parse_ipv4 (const char *ip, int port, struct sockaddr_in *sa, fb_error *err)
{
  memset (sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons ((uint16_t) port);
  if (inet_pton (AF_INET, ip, &sa->sin_addr) != 1)
    return fb_error_set (err, EINVAL, "proxy: \"%s\" is not an IPv4 address", ip);
  return 0;
}

int
fb_proxy_listen (fb_proxy *px, const char *service, const char *iface, const fb_protocol *p,
                 const char *listen_ip, int port, const char *upstream_ip, int upstream_port, fb_error *err)
{
  struct sockaddr_in la;
  px_listener *l = FB_NEW (px_listener);
  l->fd = -1;
  if (parse_ipv4 (listen_ip, port, &la, err) < 0 || parse_ipv4 (upstream_ip, upstream_port, &l->upstream, err) < 0)
    goto fail;
  l->dgram = p && p->datagram;
  l->fd = socket (AF_INET, (l->dgram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  if (l->fd < 0 || setsockopt (l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
      || bind (l->fd, (struct sockaddr *) &la, sizeof la) < 0 || (!l->dgram && listen (l->fd, 128) < 0))
    {
      fb_error_setsys (err, errno, "proxy for %s.%s: cannot listen on %s:%d", service, iface, listen_ip, port);
      goto fail;
    }
  l->tag = (px_tag) { TAG_LISTENER, l };
  l->service = fb_xstrdup (service);
  l->iface = fb_xstrdup (iface);
  l->name = fb_xasprintf ("%s.%s", service, iface);
  l->proto = p && p->framing ? p : NULL;
  px->listeners = fb_xreallocarray (px->listeners, px->n_listeners + 1, sizeof *px->listeners);
  px->listeners[px->n_listeners++] = l;
  return 0;
fail:
  if (l->fd >= 0)
    close (l->fd);
  free (l);
  return -1;
}

ssize_t
fb_proxy_find (const fb_proxy *px, const char *service, const char *iface)
{
  for (size_t i = 0; px && i < px->n_listeners; i++)
    if (!strcmp (px->listeners[i]->service, service) && !strcmp (px->listeners[i]->iface, iface)
        && px->listeners[i]->proto)
      return (ssize_t) i;
  return -1;
}

/* ---- rules ---------------------------------------------------------------- */

static char *
dup_or_null (const char *s)
{
  return s ? fb_xstrdup (s) : NULL;
}

int
fb_proxy_add_rule (fb_proxy *px, size_t listener, const fb_proxy_rule *r, uint64_t scope, uint64_t *id,
                   fb_error *err)
{
  if (listener >= px->n_listeners || !px->listeners[listener]->proto)
    return fb_error_set (err, EINVAL, "proxy: no framing listener %zu", listener);
  px_rule nr = { .scope = scope, .listener = listener };
  nr.rule = *r;
  nr.rule.verb = dup_or_null (r->verb);
  const fb_framing *fr = px->listeners[listener]->proto->framing;
  /* a protocol that matches a canonical form gets the pattern in it too */
  nr.rule.target = r->target && fr->canonical ? fr->canonical (r->target) : dup_or_null (r->target);
  nr.rule.header_name = dup_or_null (r->header_name);
  nr.rule.header_glob = dup_or_null (r->header_glob);
  nr.rule.body = dup_or_null (r->body);
  nr.rule.message = dup_or_null (r->message);
  pthread_mutex_lock (&px->mu);
  nr.id = ++px->next_id;
  px->rules = fb_xreallocarray (px->rules, px->n_rules + 1, sizeof *px->rules);
  px->rules[px->n_rules++] = nr;
  pthread_mutex_unlock (&px->mu);
  *id = nr.id;
  return 0;
}

void
fb_proxy_remove_scope (fb_proxy *px, uint64_t scope)
{
  if (!px)
    return;
  pthread_mutex_lock (&px->mu);
  size_t k = 0;
  for (size_t i = 0; i < px->n_rules; i++)
    if (px->rules[i].scope == scope)
      fb_proxy_rule_clear (&px->rules[i].rule);
    else
      px->rules[k++] = px->rules[i];
  px->n_rules = k;
  pthread_mutex_unlock (&px->mu);
}

void
fb_proxy_rule_stats (fb_proxy *px, uint64_t id, uint64_t *matched, uint64_t *fired)
{
  *matched = *fired = 0;
  if (!px)
    return;
  pthread_mutex_lock (&px->mu);
  for (size_t i = 0; i < px->n_rules; i++)
    if (px->rules[i].id == id)
      *matched = px->rules[i].matched, *fired = px->rules[i].fired;
  pthread_mutex_unlock (&px->mu);
}

/* ---- partitions ----------------------------------------------------------- */

/* The loop looks at every connection again (a cut came or went). */
static void
wake (fb_proxy *px)
{
  uint64_t one = 1;
  if (px->running && write (px->wakefd, &one, sizeof one) < 0)
    abort (); /* an eventfd write fails only on overflow */
}

void
fb_proxy_cut (fb_proxy *px, uint64_t id, const char *client, const char *service, bool up, bool down)
{
  if (!px)
    return;
  px_cut cut = { .id = id, .service = fb_xstrdup (service), .up = up, .down = down };
  snprintf (cut.client, sizeof cut.client, "%s", client);
  pthread_mutex_lock (&px->mu);
  px->cuts = fb_xreallocarray (px->cuts, px->n_cuts + 1, sizeof *px->cuts);
  px->cuts[px->n_cuts++] = cut;
  atomic_fetch_add (&px->cut_gen, 1);
  pthread_mutex_unlock (&px->mu);
  wake (px);
}

void
fb_proxy_heal (fb_proxy *px, uint64_t id)
{
  if (!px)
    return;
  pthread_mutex_lock (&px->mu);
  size_t k = 0;
  for (size_t i = 0; i < px->n_cuts; i++)
    if (px->cuts[i].id == id)
      free (px->cuts[i].service);
    else
      px->cuts[k++] = px->cuts[i];
  px->n_cuts = k;
  atomic_fetch_add (&px->cut_gen, 1);
  pthread_mutex_unlock (&px->mu);
  wake (px);
}

/* Which ways the cuts in force stop traffic between client and l's
 * service; the lock is taken only when the cuts changed. */
static void
find_cuts (fb_proxy *px, const px_listener *l, const char *client, uint64_t *gen, bool *up, bool *down)
{
  uint64_t now = atomic_load (&px->cut_gen);
  if (*gen == now)
    return;
  *up = *down = false;
  pthread_mutex_lock (&px->mu);
  for (size_t i = 0; i < px->n_cuts; i++)
    if (!strcmp (px->cuts[i].client, client) && !strcmp (px->cuts[i].service, l->service))
      *up |= px->cuts[i].up, *down |= px->cuts[i].down;
  pthread_mutex_unlock (&px->mu);
  *gen = now;
}

/* The `fired` callback, its message naming the statement the rule matched
 * when m has several. */
static void
fire (fb_proxy *px, const px_listener *l, const char *client, const px_rule *r, const fb_msg *m, ssize_t part)
{
  fb_msg shown;
  if (part > 0)
    {
      shown = *m;
      snprintf (shown.target, sizeof shown.target, "%s", m->part_target[part]);
      shown.text = m->part_text[part];
      m = &shown;
    }
  px->cb.fired (px->cb.ctx, &(fb_proxy_event) { l->service, l->iface, l->proto->name, &r->rule, r->id, m, client });
}

/* The rules in insertion order, as Faultbox evaluates them: a match, then
 * the seeded probability, then the action; delays add up and let later
 * rules apply, any other action ends the evaluation. */
static void
decide (fb_proxy *px, px_listener *l, const char *client, const fb_msg *m, px_hold *h)
{
  size_t li = 0;
  while (px->listeners[li] != l)
    li++;
  int64_t delay = 0;
  h->action = -1;
  h->pending = true;
  h->until_ns = 0;
  /* a handshake, a password, COPY data: no rule's business */
  if (m->passthrough)
    return;
  bool final = false;
  pthread_mutex_lock (&px->mu);
  for (size_t i = 0; i < px->n_rules && h->action < 0 && !final; i++)
    {
      px_rule *r = &px->rules[i];
      ssize_t part = r->listener == li ? fb_proxy_rule_match_part (&r->rule, m) : -1;
      if (part < 0)
        continue;
      uint64_t occ = r->matched++;
      if (!fb_hash_chance (fb_hash_decision (px->seed, l->name, r->id, occ), r->rule.probability))
        continue;
      r->fired++;
      if (r->rule.action == FB_PX_DELAY)
        {
          delay += r->rule.delay_ns;
          final = l->proto->framing->delay_final;
        }
      else
        {
          h->action = (int) r->rule.action;
          h->body = dup_or_null (r->rule.body);
          h->message = dup_or_null (r->rule.message);
          h->reply = (fb_reply) { r->rule.action == FB_PX_ERROR, r->rule.status, h->body, h->message,
                                  r->rule.sqlstate[0] ? r->rule.sqlstate : NULL };
        }
      if (px->cb.fired)
        fire (px, l, client, r, m, part);
    }
  pthread_mutex_unlock (&px->mu);
  h->until_ns = delay ? fb_now_ns () + delay : 0;
}

/* A session protocol's request: decide() as for a framed message, the
 * verdict handed over instead of held on the connection. */
static void
session_decide (void *ctx, const fb_msg *m, fb_proxy_verdict *v)
{
  px_conn *c = ctx;
  decide (c->px, c->l, c->client, m, &c->hold);
  px_hold *h = &c->hold;
  *v = (fb_proxy_verdict) { h->action, h->reply, h->body, h->message, h->until_ns };
  memset (h, 0, sizeof *h);
}

/* ---- connections ---------------------------------------------------------- */

static void
take_front (fb_buf *b, size_t n)
{
  /* (a buffer never read into has no data to terminate: a relayed
   * connection's first event is often its upstream's connect) */
  if (!n)
    return;
  memmove (b->data, b->data + n, b->len - n);
  b->len -= n;
  b->data[b->len] = '\0';
}

static void
hold_clear (px_hold *h)
{
  free (h->body);
  free (h->message);
  memset (h, 0, sizeof *h);
}

static void
conn_event (fb_proxy *px, px_conn *c, const char *what, const char *reason)
{
  if (px->cb.conn && c->l->proto)
    px->cb.conn (px->cb.ctx, &(fb_proxy_conn_event) { c->l->service, c->l->iface, c->l->proto->name, what,
                                                      reason });
}

static void
conn_kill (px_conn *c)
{
  c->dead = true;
}

static px_slot *
slot_push (px_conn *c, bool fwd, const fb_msg *req)
{
  FB_GROW (c->slots, c->cap_slots, c->n_slots + 1);
  px_slot *s = &c->slots[c->n_slots++];
  memset (s, 0, sizeof *s);
  s->fwd = fwd;
  s->done = !fwd;
  if (req)
    {
      s->req = *req;
      s->req.n_headers = 0;
      s->req.text = NULL;
      s->req.n_parts = 0;
    }
  return s;
}

/* Moves the replies that are next in order to the client's buffer. */
static void
flush_slots (px_conn *c)
{
  size_t k = 0;
  while (k < c->n_slots)
    {
      px_slot *s = &c->slots[k];
      if (s->out.len && !s->discard)
        fb_buf_append (&c->cout, s->out.data, s->out.len);
      fb_buf_free (&s->out);
      if (!s->done)
        break;
      k++;
    }
  if (k)
    memmove (c->slots, c->slots + k, (c->n_slots - k) * sizeof *c->slots);
  c->n_slots -= k;
}

/* What the rules decided, for the framed message m at the head of cin. */
static void
apply (fb_proxy *px, px_conn *c, const fb_msg *m)
{
  px_hold *h = &c->hold;
  const char *bytes = c->cin.data;
  switch (h->action)
    {
    case FB_PX_DROP:
      if (!c->l->proto->framing->drop_message)
        conn_kill (c);
      break;
    case FB_PX_RESPOND:
    case FB_PX_ERROR:
      {
        size_t n;
        char *r = c->l->proto->framing->reply (c->fst, &h->reply, m, &n);
        /* no reply to make (kafka's error()): the connection closes */
        if (!r)
          {
            conn_kill (c);
            break;
          }
        px_slot *s = slot_push (c, false, m);
        fb_buf_append (&s->out, r, n);
        free (r);
        flush_slots (c);
        c->closing = h->action == FB_PX_ERROR && c->l->proto->framing->error_closes;
        break;
      }
    case FB_PX_DUPLICATE:
      fb_buf_append (&c->uout, bytes, m->len);
      if (!m->no_reply)
        slot_push (c, true, m)->discard = true;
      /* and once more below, whose reply the client gets */
      __attribute__ ((fallthrough));
    default:
      fb_buf_append (&c->uout, bytes, m->len);
      if (!m->no_reply)
        slot_push (c, true, m);
      if (m->upgrade)
        c->tunnel = true;
      break;
    }
  (void) px;
  hold_clear (h);
  take_front (&c->cin, m->len);
}

/* True when rc framed no message: a partial one too large to hold closes
 * the connection; bytes that cannot be framed still reach the peer, but
 * as a plain tunnel, unfaulted, with an event saying so. */
static bool
not_framed (fb_proxy *px, px_conn *c, fb_frame_rc rc, const fb_buf *in, const char *what, const fb_error *e)
{
  if (rc == FB_FRAME_OK)
    return false;
  if (rc == FB_FRAME_PARTIAL && in->len > PX_MAX_BUFFER)
    {
      char why[64];
      snprintf (why, sizeof why, "%s larger than the proxy buffers", what);
      conn_event (px, c, "closed", why);
      conn_kill (c);
    }
  else if (rc == FB_FRAME_BAD)
    {
      conn_event (px, c, "unframed", e->msg);
      c->tunnel = true;
    }
  return true;
}

/* Frames and decides what the client sent, up to a held message. */
static void
from_client (fb_proxy *px, px_conn *c)
{
  fb_msg m;
  /* past an injected close, nothing more reaches the server */
  if (c->closing)
    take_front (&c->cin, c->cin.len);
  while (!c->dead && !c->closing && c->cin.len)
    {
      if (c->tunnel)
        {
          fb_buf_append (&c->uout, c->cin.data, c->cin.len);
          take_front (&c->cin, c->cin.len);
          return;
        }
      fb_error e = { 0 };
      fb_frame_rc rc = c->l->proto->framing->request (c->fst, c->cin.data, c->cin.len, &m, &e);
      if (not_framed (px, c, rc, &c->cin, "request", &e))
        {
          if (rc == FB_FRAME_PARTIAL)
            return;
          continue;
        }
      if (!c->hold.pending)
        decide (px, c->l, c->client, &m, &c->hold);
      if (c->hold.until_ns > fb_now_ns ())
        return;
      apply (px, c, &m);
    }
}

/* A server message the rules see (nats' MSG): false while it is held
 * back; *copies is how many times it goes on (drop: 0, duplicate: 2). */
static bool
delivery_ruled (fb_proxy *px, px_conn *c, const fb_msg *m, int *copies)
{
  px_hold *h = &c->uhold;
  if (!h->pending)
    decide (px, c->l, c->client, m, h);
  if (h->until_ns > fb_now_ns ())
    return false;
  *copies = h->action == FB_PX_DROP ? 0 : h->action == FB_PX_DUPLICATE ? 2 : 1;
  hold_clear (h);
  return true;
}

/* Frames what the server sent and puts each reply in its slot. */
static void
from_upstream (fb_proxy *px, px_conn *c)
{
  fb_msg m;
  while (!c->dead && c->uin.len)
    {
      px_slot *s = NULL;
      for (size_t i = 0; i < c->n_slots && !s; i++)
        if (c->slots[i].fwd && !c->slots[i].done)
          s = &c->slots[i];
      if (c->tunnel || c->streaming)
        {
          fb_buf_append (s && c->streaming ? &s->out : &c->cout, c->uin.data, c->uin.len);
          take_front (&c->uin, c->uin.len);
          break;
        }
      fb_error e = { 0 };
      fb_frame_rc rc = c->l->proto->framing->response (c->fst, c->uin.data, c->uin.len, s ? &s->req : NULL, &m, &e);
      if (not_framed (px, c, rc, &c->uin, "reply", &e))
        {
          if (rc == FB_FRAME_PARTIAL)
            break;
          continue;
        }
      int copies = 1;
      if (c->l->proto->framing->deliveries && m.verb[0] && !delivery_ruled (px, c, &m, &copies))
        break;
      for (int k = 0; k < copies; k++)
        fb_buf_append (s ? &s->out : &c->cout, c->uin.data, m.len);
      take_front (&c->uin, m.len);
      if (s && !m.interim)
        s->done = !m.until_close;
      c->streaming = m.until_close;
      c->tunnel |= m.upgrade;
    }
  flush_slots (c);
}

/* ---- datagrams ------------------------------------------------------------ */

#define PX_MAX_DATAGRAM 65536

/* The flow of the client at from, made on its first datagram. */
static px_flow *
flow_for (fb_proxy *px, px_listener *l, const struct sockaddr_in *from)
{
  for (px_flow *f = l->flows; f; f = f->next)
    if (f->client.sin_addr.s_addr == from->sin_addr.s_addr && f->client.sin_port == from->sin_port)
      return f;
  int ufd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (ufd < 0 || connect (ufd, (struct sockaddr *) &l->upstream, sizeof l->upstream) < 0)
    {
      if (ufd >= 0)
        close (ufd);
      return NULL;
    }
  px_flow *f = FB_NEW (px_flow);
  f->tag = (px_tag) { TAG_FLOW, f };
  f->l = l;
  f->client = *from;
  f->ufd = ufd;
  inet_ntop (AF_INET, &from->sin_addr, f->name, sizeof f->name);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &f->tag };
  epoll_ctl (px->epfd, EPOLL_CTL_ADD, ufd, &ev);
  f->next = l->flows;
  l->flows = f;
  return f;
}

/* Keeps a copy of a datagram until due, after those due no later. */
static void
flow_hold (px_flow *f, int64_t due_ns, const char *p, size_t n)
{
  FB_GROW (f->held, f->cap_held, f->n_held + 1);
  size_t k = f->n_held;
  while (k && f->held[k - 1].due_ns > due_ns)
    k--;
  memmove (f->held + k + 1, f->held + k, (f->n_held - k) * sizeof *f->held);
  f->held[k] = (px_dgram) { due_ns, fb_xmalloc (n ? n : 1), n };
  memcpy (f->held[k].data, p, n);
  f->n_held++;
}

/* Each datagram clients sent: the rules decide, then it goes upstream
 * now, later, twice or not at all. */
static void
dgram_from_clients (fb_proxy *px, px_listener *l)
{
  static __thread char buf[PX_MAX_DATAGRAM];
  for (int i = 0; i < 64; i++)
    {
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom (l->fd, buf, sizeof buf, 0, (struct sockaddr *) &from, &fl);
      if (n < 0)
        return;
      px_flow *f = flow_for (px, l, &from);
      if (!f)
        continue;
      fb_msg m;
      fb_error e = { 0 };
      px_hold h = { .action = -1 };
      if (l->proto && l->proto->framing->request (NULL, buf, (size_t) n, &m, &e) == FB_FRAME_OK)
        decide (px, l, f->name, &m, &h);
      int action = h.action;
      int64_t until = h.until_ns;
      hold_clear (&h);
      for (int k = 0; action != FB_PX_DROP && k < (action == FB_PX_DUPLICATE ? 2 : 1); k++)
        if (until)
          flow_hold (f, until, buf, (size_t) n);
        else if (send (f->ufd, buf, (size_t) n, 0) < 0)
          break;
    }
}

/* The server's datagrams go back to the client of the flow. */
static void
dgram_from_upstream (px_flow *f)
{
  static __thread char buf[PX_MAX_DATAGRAM];
  for (int i = 0; i < 64; i++)
    {
      ssize_t n = recv (f->ufd, buf, sizeof buf, 0);
      if (n < 0)
        return;
      sendto (f->l->fd, buf, (size_t) n, 0, (struct sockaddr *) &f->client, sizeof f->client);
    }
}

/* Sends the held datagrams due by now when release is set; the earliest
 * due time left, 0: none. */
static int64_t
flows_due (fb_proxy *px, int64_t now, bool release)
{
  int64_t next = 0;
  for (size_t i = 0; i < px->n_listeners; i++)
    for (px_flow *f = px->listeners[i]->flows; f; f = f->next)
      {
        size_t k = 0;
        for (; release && k < f->n_held && f->held[k].due_ns <= now; k++)
          {
            /* a datagram the kernel refuses is lost, as on the wire */
            send (f->ufd, f->held[k].data, f->held[k].len, 0);
            free (f->held[k].data);
          }
        if (k)
          memmove (f->held, f->held + k, (f->n_held - k) * sizeof *f->held);
        f->n_held -= k;
        if (f->n_held && (!next || f->held[0].due_ns < next))
          next = f->held[0].due_ns;
      }
  return next;
}

static void
flows_free (px_listener *l)
{
  while (l->flows)
    {
      px_flow *f = l->flows;
      l->flows = f->next;
      for (size_t k = 0; k < f->n_held; k++)
        free (f->held[k].data);
      free (f->held);
      close (f->ufd);
      free (f);
    }
}

/* ---- the loop ------------------------------------------------------------- */

/* After an event the loop polls this long before it sleeps: the reply to
 * what it just forwarded, or the client's next request, mostly comes
 * within it, and a thread caught awake needs no wake-up (on our VMs the
 * costliest part of the hop: a context switch or a cross-CPU wake-up).
 * Each empty poll yields the CPU, so a client or server placed beside the
 * thread runs at once rather than wait for it; held messages are still
 * released on time (release_due runs per poll). See tests/bench/proxy. */
#define PX_SPIN_NS (50 * FB_NS_PER_MS / 1000)

static void
set_mask (fb_proxy *px, int fd, px_tag *tag, uint32_t *have, uint32_t want)
{
  if (fd < 0 || *have == want)
    return;
  struct epoll_event ev = { .events = want, .data.ptr = tag };
  /* (an interest of 0 stays registered: a later one modifies it) */
  if (epoll_ctl (px->epfd, *have ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0 && errno == EEXIST)
    epoll_ctl (px->epfd, EPOLL_CTL_MOD, fd, &ev);
  *have = want;
}

/* Reads are paused while a buffer is full or a message is held. */
static void
update_masks (fb_proxy *px, px_conn *c)
{
  /* a cut way is neither read nor written: its bytes wait in the
   * kernel's buffers and flow on when the partition heals */
  uint32_t cw = (c->cout.len && !c->cut_down ? EPOLLOUT : 0);
  if (!c->c_eof && c->cin.len < PX_MAX_BUFFER && !c->hold.until_ns && !c->cut_up)
    cw |= EPOLLIN | EPOLLRDHUP;
  uint32_t uw = (!c->connected || (c->uout.len && !c->cut_up) ? EPOLLOUT : 0);
  if (!c->u_eof && c->uin.len < PX_MAX_BUFFER && !c->cut_down)
    uw |= EPOLLIN | EPOLLRDHUP;
  set_mask (px, c->cfd, &c->ctag, &c->cmask, cw);
  set_mask (px, c->ufd, &c->utag, &c->umask, uw);
}

/* Writes what is pending; false when the peer is gone. */
static bool
write_out (int fd, fb_buf *b)
{
  while (b->len)
    {
      ssize_t n = send (fd, b->data, b->len, MSG_NOSIGNAL);
      if (n < 0)
        return errno == EAGAIN || errno == EINTR;
      take_front (b, (size_t) n);
    }
  return true;
}

/* Reads what is there; false on EOF or error. */
static bool
read_in (int fd, fb_buf *b)
{
  for (int i = 0; i < 16; i++)
    {
      fb_buf_reserve (b, PX_READ_CHUNK);
      ssize_t n = recv (fd, b->data + b->len, PX_READ_CHUNK, 0);
      if (n == 0)
        return false;
      if (n < 0)
        return errno == EAGAIN || errno == EINTR;
      b->len += (size_t) n;
      b->data[b->len] = '\0';
      if ((size_t) n < PX_READ_CHUNK)
        break;
    }
  return true;
}

static void
conn_free (fb_proxy *px, px_conn *c)
{
  for (px_conn **p = &px->conns; *p; p = &(*p)->next)
    if (*p == c)
      {
        *p = c->next;
        break;
      }
  /* out of the epoll set first: a fork elsewhere in the process (nft for
   * a partition) may hold the sockets a while after close, and epoll
   * would go on reporting them with this freed connection as their tag */
  if (c->cfd >= 0)
    epoll_ctl (px->epfd, EPOLL_CTL_DEL, c->cfd, NULL), close (c->cfd);
  if (c->ufd >= 0)
    epoll_ctl (px->epfd, EPOLL_CTL_DEL, c->ufd, NULL), close (c->ufd);
  fb_buf_free (&c->cin);
  fb_buf_free (&c->uin);
  fb_buf_free (&c->cout);
  fb_buf_free (&c->uout);
  for (size_t i = 0; i < c->n_slots; i++)
    fb_buf_free (&c->slots[i].out);
  free (c->slots);
  hold_clear (&c->hold);
  hold_clear (&c->uhold);
  if (c->fst && c->l->proto->framing->session)
    c->l->proto->framing->session->close (c->fst);
  else if (c->fst)
    c->l->proto->framing->state_free (c->fst);
  free (c);
}

static void
accept_one (fb_proxy *px, px_listener *l)
{
  struct sockaddr_in peer;
  socklen_t pl = sizeof peer;
  int cfd = accept4 (l->fd, (struct sockaddr *) &peer, &pl, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (cfd < 0)
    return;
  char client[INET_ADDRSTRLEN];
  inet_ntop (AF_INET, &peer.sin_addr, client, sizeof client);
  uint64_t gen = UINT64_MAX;
  bool up, down;
  find_cuts (px, l, client, &gen, &up, &down);
  int ufd = up || down ? -1 : socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (ufd < 0 || (connect (ufd, (struct sockaddr *) &l->upstream, sizeof l->upstream) < 0 && errno != EINPROGRESS))
    {
      /* the service is not there, or a partition is in the way: the
       * client sees its connection reset */
      struct linger lg = { 1, 0 };
      setsockopt (cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      close (cfd);
      if (ufd >= 0)
        close (ufd);
      return;
    }
  int one = 1;
  setsockopt (cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt (ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  px_conn *c = FB_NEW (px_conn);
  c->l = l;
  c->cfd = cfd;
  c->ufd = ufd;
  c->ctag = (px_tag) { TAG_CLIENT, c };
  c->utag = (px_tag) { TAG_UPSTREAM, c };
  c->tunnel = !l->proto;
  c->px = px;
  if (l->proto && l->proto->framing->session)
    c->fst = l->proto->framing->session->open (session_decide, c);
  else if (l->proto && l->proto->framing->state_new)
    c->fst = l->proto->framing->state_new ();
  snprintf (c->client, sizeof c->client, "%s", client);
  c->cut_gen = gen;
  c->next = px->conns;
  px->conns = c;
  update_masks (px, c);
}

/* One readiness event on a connection's side. */
static void
on_conn (fb_proxy *px, px_conn *c, bool upstream, uint32_t ev)
{
  if (upstream && !c->connected && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
    {
      int soerr = 0;
      socklen_t sl = sizeof soerr;
      getsockopt (c->ufd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
      if (soerr)
        {
          struct linger lg = { 1, 0 };
          setsockopt (c->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
          conn_kill (c);
          return;
        }
      c->connected = true;
    }
  if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
    {
      bool *eof = upstream ? &c->u_eof : &c->c_eof;
      if (!*eof && !read_in (upstream ? c->ufd : c->cfd, upstream ? &c->uin : &c->cin))
        *eof = true;
    }
}

/* Frames and decides, or relays, what both sides sent. */
static void
exchange (fb_proxy *px, px_conn *c)
{
  if (!c->dead && c->l->proto)
    from_client (px, c);
  else if (!c->dead)
    {
      fb_buf_append (&c->uout, c->cin.data, c->cin.len);
      take_front (&c->cin, c->cin.len);
    }
  if (!c->dead && c->l->proto)
    from_upstream (px, c);
  else if (!c->dead)
    {
      fb_buf_append (&c->cout, c->uin.data, c->uin.len);
      take_front (&c->uin, c->uin.len);
    }
}

/* After any event: frame, decide, write, and close what is finished. */
static void
progress (fb_proxy *px, px_conn *c)
{
  const fb_proxy_session_ops *so = c->l->proto ? c->l->proto->framing->session : NULL;
  if (!so)
    exchange (px, c);
  else if (!c->dead && so->io (c->fst, &c->cin, &c->uin, &c->cout, &c->uout, &c->due_ns) < 0)
    conn_kill (c);
  find_cuts (px, c->l, c->client, &c->cut_gen, &c->cut_up, &c->cut_down);
  if (!c->dead && c->connected && !c->cut_up && !write_out (c->ufd, &c->uout))
    conn_kill (c);
  if (!c->dead && !c->cut_down && !write_out (c->cfd, &c->cout))
    conn_kill (c);
  /* a reply running to the end of the stream ends with it */
  if (c->u_eof && c->streaming)
    {
      for (size_t i = 0; i < c->n_slots; i++)
        if (c->slots[i].fwd && !c->slots[i].done)
          {
            c->slots[i].done = true;
            break;
          }
      c->streaming = false;
      flush_slots (c);
      if (!c->cut_down && !write_out (c->cfd, &c->cout))
        conn_kill (c);
    }
  if (!c->dead && c->c_eof && !c->cin.len && !c->uout.len && c->connected && !c->u_shut && !c->hold.pending)
    {
      shutdown (c->ufd, SHUT_WR);
      c->u_shut = true;
    }
  if (c->dead || (c->u_eof && !c->cout.len) || (c->c_eof && c->u_eof) || (c->closing && !c->cout.len))
    conn_free (px, c);
  else
    update_masks (px, c);
}

/* Milliseconds until the next held message is due, -1: none. */
static int
next_timeout (fb_proxy *px)
{
  int64_t now = fb_now_ns (), best = -1, dg = flows_due (px, now, false);
  if (dg)
    best = dg > now ? dg - now : 0;
  for (px_conn *c = px->conns; c; c = c->next)
    for (int k = 0; k < 3; k++)
      {
        int64_t u = k == 0 ? c->hold.until_ns : k == 1 ? c->uhold.until_ns : c->due_ns;
        int64_t d = u > now ? u - now : 0;
        if (u && (best < 0 || d < best))
          best = d;
      }
  return best < 0 ? -1 : (int) ((best + FB_NS_PER_MS - 1) / FB_NS_PER_MS);
}

/* True when h's delay is over (it is then no longer waited on). */
static bool
hold_due (px_hold *h, int64_t now)
{
  if (!h->until_ns || h->until_ns > now)
    return false;
  h->until_ns = 0;
  return true;
}

static void
release_due (fb_proxy *px)
{
  int64_t now = fb_now_ns ();
  flows_due (px, now, true);
  for (px_conn *c = px->conns, *next; c; c = next)
    {
      next = c->next;
      bool due = hold_due (&c->hold, now);
      due |= hold_due (&c->uhold, now);
      if (due || (c->due_ns && c->due_ns <= now))
        progress (px, c);
    }
}

static void *
proxy_main (void *p)
{
  fb_proxy *px = p;
  struct epoll_event evs[64];
  int64_t awake_until = 0;
  for (;;)
    {
      bool recheck = false, polling = fb_now_ns () < awake_until;
      int n = epoll_wait (px->epfd, evs, 64, polling ? 0 : next_timeout (px));
      if (n < 0 && errno != EINTR)
        break;
      if (n > 0)
        awake_until = fb_now_ns () + PX_SPIN_NS;
      else if (polling)
        sched_yield ();
      for (int i = 0; i < n; i++)
        {
          px_tag *t = evs[i].data.ptr;
          if (t->kind == TAG_WAKE)
            {
              uint64_t v;
              if (atomic_load (&px->stop))
                return NULL;
              if (read (px->wakefd, &v, sizeof v) == sizeof v)
                recheck = true;
            }
          if (t->kind == TAG_LISTENER)
            ((px_listener *) t->p)->dgram ? dgram_from_clients (px, t->p) : accept_one (px, t->p);
          if (t->kind == TAG_FLOW)
            dgram_from_upstream (t->p);
        }
      /* a connection may go away in the middle of the batch, its tags
       * with it: find a still-listed one by their addresses before
       * reading anything through the event */
      for (int i = 0; i < n; i++)
        {
          const void *t = evs[i].data.ptr;
          for (px_conn *c = px->conns; c; c = c->next)
            if (t == &c->ctag || t == &c->utag)
              {
                on_conn (px, c, t == &c->utag, evs[i].events);
                progress (px, c);
                break;
              }
        }
      release_due (px);
      /* the cuts changed: every connection's ways open or close */
      for (px_conn *c = recheck ? px->conns : NULL, *next; c; c = next)
        {
          next = c->next;
          progress (px, c);
        }
    }
  return NULL;
}

int
fb_proxy_start (fb_proxy *px, fb_error *err)
{
  px->epfd = epoll_create1 (EPOLL_CLOEXEC);
  px->wakefd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (px->epfd < 0 || px->wakefd < 0)
    return fb_error_setsys (err, errno, "proxy: cannot set up its event loop");
  px->wake_tag = (px_tag) { TAG_WAKE, NULL };
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &px->wake_tag };
  epoll_ctl (px->epfd, EPOLL_CTL_ADD, px->wakefd, &ev);
  for (size_t i = 0; i < px->n_listeners; i++)
    {
      ev = (struct epoll_event) { .events = EPOLLIN, .data.ptr = &px->listeners[i]->tag };
      epoll_ctl (px->epfd, EPOLL_CTL_ADD, px->listeners[i]->fd, &ev);
    }
  /* a new thread starts in its creator's network namespace: the lab's,
   * where it makes the upstream connections */
  int r = pthread_create (&px->tid, NULL, proxy_main, px);
  if (r)
    return fb_error_setsys (err, r, "proxy: cannot start its thread");
  px->running = true;
  return 0;
}

void
fb_proxy_free (fb_proxy *px)
{
  if (!px)
    return;
  if (px->running)
    {
      atomic_store (&px->stop, true);
      wake (px);
      pthread_join (px->tid, NULL);
    }
  while (px->conns)
    conn_free (px, px->conns);
  for (size_t i = 0; i < px->n_listeners; i++)
    {
      close (px->listeners[i]->fd);
      flows_free (px->listeners[i]);
      free (px->listeners[i]->service);
      free (px->listeners[i]->iface);
      free (px->listeners[i]->name);
      free (px->listeners[i]);
    }
  free (px->listeners);
  for (size_t i = 0; i < px->n_rules; i++)
    fb_proxy_rule_clear (&px->rules[i].rule);
  free (px->rules);
  for (size_t i = 0; i < px->n_cuts; i++)
    free (px->cuts[i].service);
  free (px->cuts);
  if (px->epfd >= 0)
    close (px->epfd);
  if (px->wakefd >= 0)
    close (px->wakefd);
  pthread_mutex_destroy (&px->mu);
  free (px);
}
