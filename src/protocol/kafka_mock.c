/* The Kafka mock: a single broker that is its own coordinator, in the
 * place of Faultbox's kfake, speaking the least of the protocol
 * librdkafka needs to produce, fetch and commit: ApiVersions, Metadata,
 * Produce, Fetch, ListOffsets, FindCoordinator, OffsetCommit and
 * OffsetFetch, and a consumer group's membership (kafka_group.c), each at
 * versions below the "flexible" encodings (but
 * ApiVersions, which a client opens with at its own). Topics come from
 * config={"topics": ...} or are made on first use, with
 * config["partitions"] partitions each; a partition's log keeps the
 * record batches as produced, their base offsets rewritten, as a broker
 * does. Metadata and FindCoordinator name the address the runner gives
 * (the proxy's when there is one), so every later connection of a client
 * goes where its first did. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "protocol/internal.h"
#include "protocol/kafka_mock.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/time.h"

#define KMOCK_MAX_REQ (100u * 1024 * 1024)
/* a fetch waits for records this long at most, whatever it asks */
#define KMOCK_MAX_WAIT_MS 1000

typedef struct {
  int64_t base;
  int32_t count;
  fb_buf bytes;
} kbatch;

typedef struct {
  kbatch *b;
  size_t n, cap;
  int64_t next;          /* the high watermark */
} kpart;

typedef struct ktopic {
  char *name;
  kpart *parts;
  int n_parts;
} ktopic;

/* The versions served: min and max per API. */
static const struct {
  int api, min, max;
} served[] = {
  { FB_KAFKA_PRODUCE, 3, 7 },         { FB_KAFKA_FETCH, 4, 4 },         { FB_KAFKA_LIST_OFFSETS, 1, 1 },
  { FB_KAFKA_METADATA, 0, 4 },        { FB_KAFKA_OFFSET_COMMIT, 2, 2 }, { FB_KAFKA_OFFSET_FETCH, 1, 1 },
  { FB_KAFKA_FIND_COORDINATOR, 0, 1 }, { FB_KAFKA_API_VERSIONS, 0, 3 }, { FB_KAFKA_JOIN_GROUP, 0, 2 },
  { FB_KAFKA_HEARTBEAT, 0, 2 },       { FB_KAFKA_LEAVE_GROUP, 0, 2 },   { FB_KAFKA_SYNC_GROUP, 0, 2 },
};
#define N_SERVED (sizeof served / sizeof *served)

static ktopic *
topic_find (kstore *s, const char *name, size_t len, bool make)
{
  for (size_t i = 0; i < s->n; i++)
    if (strlen (s->t[i].name) == len && !memcmp (s->t[i].name, name, len))
      return &s->t[i];
  if (!make || !len)
    return NULL;
  FB_GROW (s->t, s->cap, s->n + 1);
  ktopic *t = &s->t[s->n++];
  t->name = fb_xstrndup (name, len);
  t->n_parts = s->partitions;
  t->parts = fb_xcalloc ((size_t) t->n_parts, sizeof *t->parts);
  return t;
}

static kpart *
part_find (kstore *s, const char *topic, size_t len, int64_t idx, bool make)
{
  ktopic *t = topic_find (s, topic, len, make);
  return t && idx >= 0 && idx < t->n_parts ? &t->parts[idx] : NULL;
}

static kcommit *
commit_find (kstore *s, const char *group, const char *topic, size_t tlen, int32_t part, bool make)
{
  for (size_t i = 0; i < s->n_c; i++)
    if (!strcmp (s->c[i].group, group) && strlen (s->c[i].topic) == tlen && !memcmp (s->c[i].topic, topic, tlen)
        && s->c[i].part == part)
      return &s->c[i];
  if (!make)
    return NULL;
  FB_GROW (s->c, s->cap_c, s->n_c + 1);
  s->c[s->n_c] = (kcommit) { fb_xstrdup (group), fb_xstrndup (topic, tlen), part, -1 };
  return &s->c[s->n_c++];
}

static void *
kafka_mock_start (fb_mock_server *srv, const fb_mock_iface *f)
{
  kstore *s = FB_NEW (kstore);
  pthread_mutex_init (&s->mu, NULL);
  pthread_cond_init (&s->grew, NULL);
  s->partitions = f->partitions > 0 ? f->partitions : 1;
  for (size_t i = 0; i < f->n_state; i++)
    topic_find (s, f->state[i].key, strlen (f->state[i].key), true);
  char addr[32], topics[24];
  snprintf (addr, sizeof addr, "0.0.0.0:%d", f->port);
  snprintf (topics, sizeof topics, "%zu", f->n_state);
  fb_mock_emit (srv, f, "started", (const char *const[]) { "addr", addr, "topics", topics, NULL });
  return s;
}

/* ---- answers -------------------------------------------------------------- */

static void
put_api_versions (kx *x)
{
  fb_buf *o = x->out;
  int v = x->h->version;
  bool fx = v >= 3;
  fb_kafka_put_int (o, x->unsupported ? KERR_UNSUPPORTED_VERSION : KERR_NONE, 2);
  fb_kafka_put_count (o, fx, N_SERVED);
  for (size_t i = 0; i < N_SERVED; i++)
    {
      fb_kafka_put_int (o, served[i].api, 2);
      fb_kafka_put_int (o, served[i].min, 2);
      fb_kafka_put_int (o, served[i].max, 2);
      fb_kafka_put_tags (o, fx);
    }
  if (v >= 1)
    fb_kafka_put_int (o, 0, 4);
  fb_kafka_put_tags (o, fx);
}

/* The broker's address: the runner's, else the one this client reached. */
static void
put_broker_addr (kx *x)
{
  char host[INET_ADDRSTRLEN] = "127.0.0.1";
  const char *h = x->c->iface->host;
  if (!h)
    {
      struct sockaddr_in a;
      socklen_t al = sizeof a;
      if (getsockname (x->c->fd, (struct sockaddr *) &a, &al) == 0)
        inet_ntop (AF_INET, &a.sin_addr, host, sizeof host);
      h = host;
    }
  fb_kafka_put_str (x->out, false, h, strlen (h));
  fb_kafka_put_int (x->out, x->c->iface->port, 4);
}

static void
put_metadata_topic (kx *x, const ktopic *t, const char *name, size_t len)
{
  fb_buf *o = x->out;
  int v = x->h->version;
  fb_kafka_put_int (o, t ? KERR_NONE : KERR_UNKNOWN_PARTITION, 2);
  fb_kafka_put_str (o, false, name, len);
  if (v >= 1)
    fb_kafka_put_int (o, 0, 1);  /* is_internal */
  fb_kafka_put_count (o, false, t ? t->n_parts : 0);
  for (int p = 0; t && p < t->n_parts; p++)
    {
      fb_kafka_put_int (o, KERR_NONE, 2);
      fb_kafka_put_int (o, p, 4);
      fb_kafka_put_int (o, KMOCK_NODE, 4);
      for (int k = 0; k < 2; k++)  /* replicas, in-sync replicas: this one */
        {
          fb_kafka_put_count (o, false, 1);
          fb_kafka_put_int (o, KMOCK_NODE, 4);
        }
    }
}

/* Topics asked for are made (auto.create.topics.enable, as kfake); none
 * (v0: an empty list, later a null one) means all. */
static void
put_metadata (kx *x)
{
  fb_buf *o = x->out;
  int v = x->h->version;
  fb_kafka_rd *r = &x->h->rd;
  if (v >= 3)
    fb_kafka_put_int (o, 0, 4);
  fb_kafka_put_count (o, false, 1);
  fb_kafka_put_int (o, KMOCK_NODE, 4);
  put_broker_addr (x);
  if (v >= 1)
    fb_kafka_put_str (o, false, NULL, 0);  /* rack */
  if (v >= 2)
    fb_kafka_put_str (o, false, "faultbox-mock", 13);
  if (v >= 1)
    fb_kafka_put_int (o, KMOCK_NODE, 4);
  int64_t n = fb_kafka_count (r, false);
  if (n <= 0)
    {
      fb_kafka_put_count (o, false, (int64_t) x->s->n);
      for (size_t i = 0; i < x->s->n; i++)
        put_metadata_topic (x, &x->s->t[i], x->s->t[i].name, strlen (x->s->t[i].name));
      return;
    }
  fb_kafka_put_count (o, false, n);
  for (int64_t i = 0; i < n; i++)
    {
      size_t len;
      const char *name = fb_kafka_str (r, false, &len);
      put_metadata_topic (x, name ? topic_find (x->s, name, len, true) : NULL, name, len);
    }
}

static void
put_find_coordinator (kx *x)
{
  if (x->h->version >= 1)
    fb_kafka_put_int (x->out, 0, 4);
  fb_kafka_put_int (x->out, KERR_NONE, 2);
  if (x->h->version >= 1)
    fb_kafka_put_str (x->out, false, NULL, 0);
  fb_kafka_put_int (x->out, KMOCK_NODE, 4);
  put_broker_addr (x);
}

/* Appends a partition's record batches (magic 2), their base offsets
 * rewritten to the log's; the first's base, or -1 and an error. */
static int
append_batches (kpart *p, const char *rec, size_t len, int64_t *base)
{
  fb_kafka_rd r = { rec, len, 0, false };
  *base = p->next;
  while (r.pos < len)
    {
      size_t at = r.pos;
      fb_kafka_skip (&r, 8);
      int64_t blen = fb_kafka_int (&r, 4);
      fb_kafka_skip (&r, 4);
      int64_t magic = fb_kafka_int (&r, 1);
      fb_kafka_skip (&r, 4 + 2);
      int64_t last = fb_kafka_int (&r, 4);
      if (r.bad || magic != 2 || blen < 49 || (uint64_t) blen > len - at - 12 || last < 0)
        return -1;
      FB_GROW (p->b, p->cap, p->n + 1);
      kbatch *b = &p->b[p->n++];
      *b = (kbatch) { p->next, (int32_t) last + 1, FB_BUF_INIT };
      fb_buf_append (&b->bytes, rec + at, (size_t) blen + 12);
      b->bytes.len = 0;
      fb_kafka_put_int (&b->bytes, p->next, 8);
      b->bytes.len = (size_t) blen + 12;
      p->next += last + 1;
      r.pos = at + (size_t) blen + 12;
    }
  return 0;
}

static void
put_produce (kx *x)
{
  fb_buf *o = x->out;
  fb_kafka_rd *r = &x->h->rd;
  size_t len;
  fb_kafka_str (r, false, &len);  /* transactional_id */
  fb_kafka_skip (r, 2 + 4);       /* acks, timeout */
  int64_t nt = fb_kafka_count (r, false);
  fb_kafka_put_count (o, false, nt < 0 ? 0 : nt);
  for (int64_t i = 0; i < nt && !r->bad; i++)
    {
      const char *topic = fb_kafka_str (r, false, &len);
      fb_kafka_put_str (o, false, topic, len);
      int64_t np = fb_kafka_count (r, false);
      fb_kafka_put_count (o, false, np < 0 ? 0 : np);
      for (int64_t k = 0; k < np && !r->bad; k++)
        {
          int32_t idx = (int32_t) fb_kafka_int (r, 4);
          int64_t rl = fb_kafka_int (r, 4), base = -1;
          const char *rec = rl > 0 && (size_t) rl <= r->len - r->pos ? r->p + r->pos : NULL;
          fb_kafka_skip (r, rl > 0 ? (size_t) rl : 0);
          kpart *p = topic ? part_find (x->s, topic, len, idx, true) : NULL;
          int e = !p ? KERR_UNKNOWN_PARTITION : !rec || append_batches (p, rec, (size_t) rl, &base) < 0
                                                    ? KERR_CORRUPT_MESSAGE : KERR_NONE;
          fb_kafka_put_int (o, idx, 4);
          fb_kafka_put_int (o, e, 2);
          fb_kafka_put_int (o, e ? -1 : base, 8);
          fb_kafka_put_int (o, -1, 8);  /* log_append_time: CreateTime */
          if (x->h->version >= 5)
            fb_kafka_put_int (o, 0, 8);
        }
    }
  fb_kafka_put_int (o, 0, 4);
  pthread_cond_broadcast (&x->s->grew);
}

/* One partition of a Fetch: the batches from offset on, up to max bytes
 * (one at least); how many bytes of records it gave. */
static size_t
put_fetch_part (kx *x, const char *topic, size_t tlen, int32_t idx, int64_t offset, int64_t max)
{
  fb_buf *o = x->out;
  kpart *p = part_find (x->s, topic, tlen, idx, false);
  fb_kafka_put_int (o, idx, 4);
  fb_kafka_put_int (o, p ? KERR_NONE : KERR_UNKNOWN_PARTITION, 2);
  fb_kafka_put_int (o, p ? p->next : -1, 8);
  fb_kafka_put_int (o, p ? p->next : -1, 8);  /* last stable offset */
  fb_kafka_put_count (o, false, 0);          /* aborted transactions */
  size_t at = o->len, n = 0;
  fb_kafka_put_int (o, 0, 4);
  for (size_t i = 0; p && i < p->n; i++)
    if (p->b[i].base + p->b[i].count > offset && (!n || (int64_t) (n + p->b[i].bytes.len) <= max))
      {
        fb_buf_append (o, p->b[i].bytes.data, p->b[i].bytes.len);
        n += p->b[i].bytes.len;
      }
  size_t end = o->len;
  o->len = at;
  fb_kafka_put_int (o, (int64_t) n, 4);
  o->len = end;
  return n;
}

/* Fetch v4; a fetch that finds nothing waits for records as long as it
 * asks (KMOCK_MAX_WAIT_MS at most), then answers again. */
static void
put_fetch (kx *x)
{
  fb_kafka_rd *r = &x->h->rd, start;
  fb_kafka_skip (r, 4);
  int64_t wait_ms = fb_kafka_int (r, 4);
  fb_kafka_skip (r, 4 + 4 + 1);
  start = *r;
  int64_t deadline = fb_now_ns () + (wait_ms < KMOCK_MAX_WAIT_MS ? wait_ms : KMOCK_MAX_WAIT_MS) * FB_NS_PER_MS;
  size_t from = x->out->len;
  for (;;)
    {
      *r = start;
      x->out->len = from;
      size_t got = 0;
      fb_kafka_put_int (x->out, 0, 4);
      int64_t nt = fb_kafka_count (r, false);
      fb_kafka_put_count (x->out, false, nt < 0 ? 0 : nt);
      for (int64_t i = 0; i < nt && !r->bad; i++)
        {
          size_t len;
          const char *topic = fb_kafka_str (r, false, &len);
          fb_kafka_put_str (x->out, false, topic, len);
          int64_t np = fb_kafka_count (r, false);
          fb_kafka_put_count (x->out, false, np < 0 ? 0 : np);
          for (int64_t k = 0; k < np && !r->bad; k++)
            {
              int32_t idx = (int32_t) fb_kafka_int (r, 4);
              int64_t off = fb_kafka_int (r, 8), max = fb_kafka_int (r, 4);
              got += put_fetch_part (x, topic ? topic : "", len, idx, off, max);
            }
        }
      int64_t now = fb_now_ns ();
      if (got || r->bad || now >= deadline)
        return;
      struct timespec ts;
      clock_gettime (CLOCK_REALTIME, &ts);
      int64_t at = (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec + (deadline - now);
      ts = (struct timespec) { at / 1000000000, at % 1000000000 };
      pthread_cond_timedwait (&x->s->grew, &x->s->mu, &ts);
    }
}

/* ListOffsets v1: earliest (-2) is 0, anything else the end. */
static void
put_list_offsets (kx *x)
{
  fb_buf *o = x->out;
  fb_kafka_rd *r = &x->h->rd;
  fb_kafka_skip (r, 4);
  int64_t nt = fb_kafka_count (r, false);
  fb_kafka_put_count (o, false, nt < 0 ? 0 : nt);
  for (int64_t i = 0; i < nt && !r->bad; i++)
    {
      size_t len;
      const char *topic = fb_kafka_str (r, false, &len);
      fb_kafka_put_str (o, false, topic, len);
      int64_t np = fb_kafka_count (r, false);
      fb_kafka_put_count (o, false, np < 0 ? 0 : np);
      for (int64_t k = 0; k < np && !r->bad; k++)
        {
          int32_t idx = (int32_t) fb_kafka_int (r, 4);
          int64_t ts = fb_kafka_int (r, 8);
          kpart *p = topic ? part_find (x->s, topic, len, idx, false) : NULL;
          fb_kafka_put_int (o, idx, 4);
          fb_kafka_put_int (o, p ? KERR_NONE : KERR_UNKNOWN_PARTITION, 2);
          fb_kafka_put_int (o, -1, 8);
          fb_kafka_put_int (o, !p ? -1 : ts == -2 ? 0 : p->next, 8);
        }
    }
}

/* OffsetCommit v2 and OffsetFetch v1: the group's offsets, whoever asks
 * (a consumer that assigned itself partitions is no member). */
static void
put_offsets (kx *x, bool commit)
{
  fb_buf *o = x->out;
  fb_kafka_rd *r = &x->h->rd;
  size_t glen, len;
  const char *g = fb_kafka_str (r, false, &glen);
  _cleanup_free_ char *group = fb_xstrndup (g ? g : "", glen);
  if (commit)
    {
      fb_kafka_skip (r, 4);           /* generation */
      fb_kafka_str (r, false, &len);  /* member */
      fb_kafka_skip (r, 8);           /* retention */
    }
  int64_t nt = fb_kafka_count (r, false);
  fb_kafka_put_count (o, false, nt < 0 ? 0 : nt);
  for (int64_t i = 0; i < nt && !r->bad; i++)
    {
      const char *topic = fb_kafka_str (r, false, &len);
      fb_kafka_put_str (o, false, topic, len);
      int64_t np = fb_kafka_count (r, false);
      fb_kafka_put_count (o, false, np < 0 ? 0 : np);
      for (int64_t k = 0; k < np && !r->bad; k++)
        {
          int32_t idx = (int32_t) fb_kafka_int (r, 4);
          kcommit *kc = commit_find (x->s, group, topic ? topic : "", len, idx, commit);
          fb_kafka_put_int (o, idx, 4);
          if (commit)
            {
              size_t ml;
              kc->offset = fb_kafka_int (r, 8);
              fb_kafka_str (r, false, &ml);
            }
          else
            {
              fb_kafka_put_int (o, kc ? kc->offset : -1, 8);
              fb_kafka_put_str (o, false, "", 0);
            }
          fb_kafka_put_int (o, KERR_NONE, 2);
        }
    }
}

/* ---- serving -------------------------------------------------------------- */

static bool
served_version (int api, int version)
{
  for (size_t i = 0; i < N_SERVED; i++)
    if (served[i].api == api)
      return version >= served[i].min && version <= served[i].max;
  return false;
}

static bool
kafka_mock_msg (fb_mock_conn *c, const char *buf, const fb_msg *m)
{
  fb_kafka_req h;
  if (fb_kafka_header (buf, m->len, &h) < 0)
    return false;
  _cleanup_buf_ fb_buf out = FB_BUF_INIT;
  fb_kafka_put_int (&out, 0, 4);
  fb_kafka_put_int (&out, h.correlation, 4);
  kx x = { c, c->state, &h, &out, false };
  if (!served_version (h.api, h.version))
    {
      /* a client's ApiVersions above ours learns ours from a v0 answer */
      if (h.api != FB_KAFKA_API_VERSIONS)
        return false;
      x.unsupported = true;
      h.version = 0;
    }
  pthread_mutex_lock (&x.s->mu);
  switch (h.api)
    {
    case FB_KAFKA_API_VERSIONS: put_api_versions (&x); break;
    case FB_KAFKA_METADATA: put_metadata (&x); break;
    case FB_KAFKA_PRODUCE: put_produce (&x); break;
    case FB_KAFKA_FETCH: put_fetch (&x); break;
    case FB_KAFKA_LIST_OFFSETS: put_list_offsets (&x); break;
    case FB_KAFKA_FIND_COORDINATOR: put_find_coordinator (&x); break;
    case FB_KAFKA_OFFSET_COMMIT: put_offsets (&x, true); break;
    case FB_KAFKA_OFFSET_FETCH: put_offsets (&x, false); break;
    default: fb_kafka_mock_group (&x); break;
    }
  pthread_mutex_unlock (&x.s->mu);
  if (m->no_reply)
    return true;
  size_t n = out.len;
  out.len = 0;
  fb_kafka_put_int (&out, (int64_t) n - 4, 4);
  out.len = n;
  return fb_mock_write (c->fd, out.data, out.len) == 0;
}

static void
kafka_mock_bad (fb_mock_conn *c, const char *why)
{
  fb_mock_emit (c->srv, c->iface, "recv_error", (const char *const[]) { "error", why, NULL });
}

static void
kafka_mock_serve (fb_mock_conn *c)
{
  fb_mock_frames (c, &fb_kafka_framing, KMOCK_MAX_REQ, kafka_mock_msg, kafka_mock_bad);
}

const fb_mock_ops fb_kafka_mock = {
  .start = kafka_mock_start,
  .serve = kafka_mock_serve,
};
