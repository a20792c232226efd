/* The Kafka mock's consumer groups: the classic membership protocol a
 * subscribing client (librdkafka's high-level consumer, kcat -G) runs
 * against its coordinator, at versions 0-2. A generation lasts while its
 * members do: a new member, one that leaves or one silent past its
 * session timeout makes the next, and the others learn it from their
 * Heartbeat (REBALANCE_IN_PROGRESS) and join again, into the same one.
 * The first member leads: its JoinGroup answer lists every member, its
 * SyncGroup hands out the assignments, which the others' SyncGroups wait
 * for. Joins and syncs are mock.kafka.group_join / group_sync events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/kafka_mock.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/time.h"

/* a follower's SyncGroup waits this long for the leader's */
#define KGROUP_SYNC_WAIT_MS 5000

typedef struct {
  char *id;
  fb_buf meta;           /* its subscription, for the leader */
  fb_buf assignment;
  int32_t assigned_gen;  /* the generation assignment is of, 0: none */
  int64_t session_ns, seen_ns;
} kmember;

struct kgroup {
  char *name, *protocol;
  int32_t generation;
  kmember *m;
  size_t n, cap;
};

static kgroup *
group_find (kstore *s, const char *name, size_t len, bool make)
{
  for (size_t i = 0; i < s->n_g; i++)
    if (strlen (s->g[i]->name) == len && !memcmp (s->g[i]->name, name, len))
      return s->g[i];
  if (!make)
    return NULL;
  FB_GROW (s->g, s->cap_g, s->n_g + 1);
  kgroup *g = s->g[s->n_g++] = FB_NEW (kgroup);
  g->name = fb_xstrndup (name, len);
  return g;
}

static kmember *
member_find (kgroup *g, const char *id, size_t len)
{
  for (size_t i = 0; g && i < g->n; i++)
    if (strlen (g->m[i].id) == len && !memcmp (g->m[i].id, id, len))
      return &g->m[i];
  return NULL;
}

static void
member_drop (kgroup *g, kmember *m)
{
  free (m->id);
  fb_buf_free (&m->meta);
  fb_buf_free (&m->assignment);
  memmove (m, m + 1, (size_t) (g->m + g->n - m - 1) * sizeof *m);
  g->n--;
  g->generation++;
}

/* Members silent past their session timeout are gone, as a broker's. */
static void
evict_silent (kgroup *g, int64_t now)
{
  for (size_t i = g->n; i-- > 0;)
    if (now - g->m[i].seen_ns > g->m[i].session_ns)
      member_drop (g, &g->m[i]);
}

static void
put_bytes (fb_buf *o, const char *p, size_t n)
{
  fb_kafka_put_int (o, (int64_t) n, 4);
  fb_buf_append (o, p, n);
}

static const char *
take_bytes (fb_kafka_rd *r, size_t *n)
{
  int64_t l = fb_kafka_int (r, 4);
  const char *p = r->p + r->pos;
  fb_kafka_skip (r, l > 0 ? (size_t) l : 0);
  *n = l > 0 && !r->bad ? (size_t) l : 0;
  return p;
}

static void
group_event (kx *x, const char *op, const kgroup *g, const kmember *m)
{
  char gen[16];
  snprintf (gen, sizeof gen, "%d", g->generation);
  _cleanup_free_ char *client = fb_xstrndup (x->h->client_id ? x->h->client_id : "", x->h->client_id_len);
  fb_mock_emit (x->c->srv, x->c->iface, op, (const char *const[]) { "group", g->name, "member_id", m->id,
                                                                    "client_id", client, "generation", gen, NULL });
}

/* The member a JoinGroup names ("" : a new one), its subscription taken. */
static kmember *
join_member (kx *x, kgroup *g, const char *id, size_t id_len, int64_t session_ms)
{
  fb_kafka_rd *r = &x->h->rd;
  size_t n;
  fb_kafka_str (r, false, &n);  /* protocol type */
  int64_t np = fb_kafka_count (r, false);
  const char *proto = np > 0 ? fb_kafka_str (r, false, &n) : NULL;
  size_t proto_len = n, meta_len = 0;
  const char *meta = np > 0 ? take_bytes (r, &meta_len) : NULL;
  kmember *m = id_len ? member_find (g, id, id_len) : NULL;
  if (r->bad || !proto || (id_len && !m))
    return NULL;
  if (!m)
    {
      FB_GROW (g->m, g->cap, g->n + 1);
      m = &g->m[g->n++];
      memset (m, 0, sizeof *m);
      m->id = fb_xasprintf ("faultbox-member-%u", ++x->s->next_member);
      g->generation++;
    }
  if (!g->protocol)
    g->protocol = fb_xstrndup (proto, proto_len);
  fb_buf_truncate (&m->meta, 0);
  fb_buf_append (&m->meta, meta, meta_len);
  m->session_ns = session_ms * FB_NS_PER_MS;
  m->seen_ns = fb_now_ns ();
  return m;
}

static void
put_join (kx *x)
{
  fb_kafka_rd *r = &x->h->rd;
  fb_buf *o = x->out;
  size_t gl, il;
  const char *gname = fb_kafka_str (r, false, &gl);
  int64_t session_ms = fb_kafka_int (r, 4);
  if (x->h->version >= 1)
    fb_kafka_skip (r, 4);  /* rebalance timeout */
  const char *id = fb_kafka_str (r, false, &il);
  kgroup *g = group_find (x->s, gname ? gname : "", gl, true);
  evict_silent (g, fb_now_ns ());
  kmember *m = join_member (x, g, id, il, session_ms);
  bool lead = m && &g->m[0] == m;
  if (x->h->version >= 2)
    fb_kafka_put_int (o, 0, 4);
  fb_kafka_put_int (o, m ? KERR_NONE : KERR_UNKNOWN_MEMBER_ID, 2);
  fb_kafka_put_int (o, m ? g->generation : -1, 4);
  fb_kafka_put_str (o, false, g->protocol ? g->protocol : "", g->protocol ? strlen (g->protocol) : 0);
  fb_kafka_put_str (o, false, g->n ? g->m[0].id : "", g->n ? strlen (g->m[0].id) : 0);
  fb_kafka_put_str (o, false, m ? m->id : "", m ? strlen (m->id) : 0);
  fb_kafka_put_count (o, false, lead ? (int64_t) g->n : 0);
  for (size_t i = 0; lead && i < g->n; i++)
    {
      fb_kafka_put_str (o, false, g->m[i].id, strlen (g->m[i].id));
      put_bytes (o, g->m[i].meta.data, g->m[i].meta.len);
    }
  if (m)
    group_event (x, "kafka.group_join", g, m);
}

/* The leader's assignments, stored for their members. */
static void
take_assignments (kx *x, kgroup *g)
{
  fb_kafka_rd *r = &x->h->rd;
  int64_t n = fb_kafka_count (r, false);
  for (int64_t i = 0; i < n && !r->bad; i++)
    {
      size_t il, al;
      const char *id = fb_kafka_str (r, false, &il);
      const char *a = take_bytes (r, &al);
      kmember *m = id ? member_find (g, id, il) : NULL;
      if (!m)
        continue;
      fb_buf_truncate (&m->assignment, 0);
      fb_buf_append (&m->assignment, a, al);
      m->assigned_gen = g->generation;
    }
  if (n > 0)
    pthread_cond_broadcast (&x->s->grew);
}

static void
put_sync (kx *x)
{
  fb_kafka_rd *r = &x->h->rd;
  size_t gl, il;
  const char *gname = fb_kafka_str (r, false, &gl);
  int32_t gen = (int32_t) fb_kafka_int (r, 4);
  const char *id = fb_kafka_str (r, false, &il);
  kgroup *g = gname ? group_find (x->s, gname, gl, false) : NULL;
  _cleanup_free_ char *mid = fb_xstrndup (id ? id : "", il);
  int e = !member_find (g, mid, il) ? KERR_UNKNOWN_MEMBER_ID : gen != g->generation ? KERR_ILLEGAL_GENERATION
                                                                                     : KERR_NONE;
  if (!e)
    take_assignments (x, g);
  /* a follower waits for the leader's SyncGroup; the group may change meanwhile */
  int64_t deadline = fb_now_ns () + KGROUP_SYNC_WAIT_MS * FB_NS_PER_MS;
  kmember *m;
  while (!e && (m = member_find (g, mid, il)) && m->assigned_gen != gen && g->generation == gen
         && fb_now_ns () < deadline)
    {
      struct timespec ts;
      clock_gettime (CLOCK_REALTIME, &ts);
      ts.tv_nsec += 100 * 1000000;
      ts.tv_sec += ts.tv_nsec / 1000000000, ts.tv_nsec %= 1000000000;
      pthread_cond_timedwait (&x->s->grew, &x->s->mu, &ts);
    }
  m = e ? NULL : member_find (g, mid, il);
  if (!e && (!m || m->assigned_gen != gen))
    e = KERR_REBALANCE_IN_PROGRESS;
  if (x->h->version >= 1)
    fb_kafka_put_int (x->out, 0, 4);
  fb_kafka_put_int (x->out, e, 2);
  put_bytes (x->out, e ? "" : m->assignment.data, e ? 0 : m->assignment.len);
  if (!e)
    {
      m->seen_ns = fb_now_ns ();
      group_event (x, "kafka.group_sync", g, m);
    }
}

/* Heartbeat and LeaveGroup: group, then (Heartbeat) generation, member. */
static void
put_heartbeat_or_leave (kx *x, bool leave)
{
  fb_kafka_rd *r = &x->h->rd;
  size_t gl, il;
  const char *gname = fb_kafka_str (r, false, &gl);
  int32_t gen = leave ? 0 : (int32_t) fb_kafka_int (r, 4);
  const char *id = fb_kafka_str (r, false, &il);
  kgroup *g = gname ? group_find (x->s, gname, gl, false) : NULL;
  kmember *m = id ? member_find (g, id, il) : NULL;
  int e = !m ? KERR_UNKNOWN_MEMBER_ID : !leave && gen != g->generation ? KERR_REBALANCE_IN_PROGRESS : KERR_NONE;
  if (m && leave)
    {
      group_event (x, "kafka.group_leave", g, m);
      member_drop (g, m);
    }
  else if (m)
    m->seen_ns = fb_now_ns ();
  if (x->h->version >= 1)
    fb_kafka_put_int (x->out, 0, 4);
  fb_kafka_put_int (x->out, e, 2);
}

void
fb_kafka_mock_group (kx *x)
{
  switch (x->h->api)
    {
    case FB_KAFKA_JOIN_GROUP: put_join (x); break;
    case FB_KAFKA_SYNC_GROUP: put_sync (x); break;
    case FB_KAFKA_HEARTBEAT: put_heartbeat_or_leave (x, false); break;
    default: put_heartbeat_or_leave (x, true); break;
    }
}
