/* The Redis mock: an in-memory server speaking RESP to real clients
 * (strings, counters, lists), seeded from config={"state": {...}}, in the
 * place of Faultbox's miniredis. Like Faultbox's it records mock.started
 * with what it seeded, and no event per command. */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "protocol/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"

#define REDIS_MAX_REQ (64 * 1024 * 1024)

typedef struct {
  char *key;
  bool is_list;
  fb_buf str;         /* a string value */
  fb_buf *items;      /* a list's, head first */
  size_t n_items;
} entry;

typedef struct {
  pthread_mutex_t mu;
  entry *e;
  size_t n;
} store;

typedef struct {
  char **v;
  size_t *len;
  size_t n;
} args;

static entry *
find (store *s, const char *key)
{
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp (s->e[i].key, key))
      return &s->e[i];
  return NULL;
}

static void
entry_drop (store *s, entry *e)
{
  free (e->key);
  fb_buf_free (&e->str);
  for (size_t i = 0; i < e->n_items; i++)
    fb_buf_free (&e->items[i]);
  free (e->items);
  *e = s->e[--s->n];
}

static entry *
make (store *s, const char *key, bool list)
{
  s->e = fb_xreallocarray (s->e, s->n + 1, sizeof *s->e);
  entry *e = &s->e[s->n++];
  *e = (entry) { .key = fb_xstrdup (key), .is_list = list };
  return e;
}

static void
put_bulk (fb_buf *o, const char *p, size_t n)
{
  fb_buf_printf (o, "$%zu\r\n", n);
  fb_buf_append (o, p, n);
  fb_buf_puts (o, "\r\n");
}

#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"

static void
cmd_set (store *s, const args *a, fb_buf *o)
{
  bool nx = false, xx = false;
  for (size_t i = 3; i < a->n; i++)
    nx |= !strcasecmp (a->v[i], "NX"), xx |= !strcasecmp (a->v[i], "XX");
  entry *e = find (s, a->v[1]);
  if ((nx && e) || (xx && !e))
    {
      fb_buf_puts (o, "$-1\r\n");
      return;
    }
  if (e)
    entry_drop (s, e);
  e = make (s, a->v[1], false);
  fb_buf_append (&e->str, a->v[2], a->len[2]);
  fb_buf_puts (o, "+OK\r\n");
}

static void
cmd_get (store *s, const args *a, fb_buf *o)
{
  for (size_t i = 1; i < a->n; i++)
    {
      entry *e = find (s, a->v[i]);
      if (e && e->is_list && a->n == 2)
        fb_buf_puts (o, WRONGTYPE);
      else if (e && !e->is_list)
        put_bulk (o, e->str.data ? e->str.data : "", e->str.len);
      else
        fb_buf_puts (o, "$-1\r\n");
    }
}

static void
cmd_mget (store *s, const args *a, fb_buf *o)
{
  fb_buf_printf (o, "*%zu\r\n", a->n - 1);
  cmd_get (s, a, o);
}

static void
cmd_del (store *s, const args *a, fb_buf *o)
{
  bool exists_only = !strcasecmp (a->v[0], "EXISTS");
  long n = 0;
  for (size_t i = 1; i < a->n; i++)
    {
      entry *e = find (s, a->v[i]);
      if (e && !exists_only)
        entry_drop (s, e);
      n += e != NULL;
    }
  fb_buf_printf (o, ":%ld\r\n", n);
}

static void
cmd_incr (store *s, const args *a, fb_buf *o)
{
  const char *c = a->v[0];
  long long by = 1;
  char *end;
  if (a->n > 2)
    {
      errno = 0;
      by = strtoll (a->v[2], &end, 10);
      if (*end || errno)
        return fb_buf_puts (o, "-ERR value is not an integer or out of range\r\n");
    }
  if (!strncasecmp (c, "DECR", 4))
    by = -by;
  entry *e = find (s, a->v[1]);
  if (e && e->is_list)
    return fb_buf_puts (o, WRONGTYPE);
  long long v = 0;
  if (e)
    {
      errno = 0;
      v = strtoll (fb_buf_str (&e->str), &end, 10);
      if (*end || errno || !e->str.len)
        return fb_buf_puts (o, "-ERR value is not an integer or out of range\r\n");
    }
  else
    e = make (s, a->v[1], false);
  v += by;
  fb_buf_truncate (&e->str, 0);
  fb_buf_printf (&e->str, "%lld", v);
  fb_buf_printf (o, ":%lld\r\n", v);
}

static void
cmd_keys (store *s, const args *a, fb_buf *o)
{
  size_t n = 0;
  fb_buf body = FB_BUF_INIT;
  for (size_t i = 0; i < s->n; i++)
    if (fnmatch (a->v[1], s->e[i].key, 0) == 0)
      put_bulk (&body, s->e[i].key, strlen (s->e[i].key)), n++;
  fb_buf_printf (o, "*%zu\r\n", n);
  fb_buf_append (o, body.data, body.len);
  fb_buf_free (&body);
}

static void
cmd_push (store *s, const args *a, fb_buf *o)
{
  bool left = toupper ((unsigned char) a->v[0][0]) == 'L';
  entry *e = find (s, a->v[1]);
  if (e && !e->is_list)
    return fb_buf_puts (o, WRONGTYPE);
  if (!e)
    e = make (s, a->v[1], true);
  for (size_t i = 2; i < a->n; i++)
    {
      e->items = fb_xreallocarray (e->items, e->n_items + 1, sizeof *e->items);
      if (left)
        memmove (e->items + 1, e->items, e->n_items * sizeof *e->items);
      fb_buf *it = &e->items[left ? 0 : e->n_items];
      *it = (fb_buf) FB_BUF_INIT;
      fb_buf_append (it, a->v[i], a->len[i]);
      e->n_items++;
    }
  fb_buf_printf (o, ":%zu\r\n", e->n_items);
}

static void
cmd_lrange (store *s, const args *a, fb_buf *o)
{
  entry *e = find (s, a->v[1]);
  if (e && !e->is_list)
    return fb_buf_puts (o, WRONGTYPE);
  long long n = e ? (long long) e->n_items : 0, lo = atoll (a->v[2]), hi = atoll (a->v[3]);
  lo = lo < 0 ? (lo + n < 0 ? 0 : lo + n) : lo;
  hi = hi < 0 ? hi + n : (hi >= n ? n - 1 : hi);
  fb_buf_printf (o, "*%lld\r\n", lo > hi ? 0 : hi - lo + 1);
  for (long long i = lo; i <= hi; i++)
    put_bulk (o, e->items[i].data ? e->items[i].data : "", e->items[i].len);
}

static void
cmd_llen (store *s, const args *a, fb_buf *o)
{
  entry *e = find (s, a->v[1]);
  if (e && !e->is_list)
    return fb_buf_puts (o, WRONGTYPE);
  fb_buf_printf (o, ":%zu\r\n", e ? e->n_items : 0);
}

static void
cmd_ttl (store *s, const args *a, fb_buf *o)
{
  bool expire = !strcasecmp (a->v[0], "EXPIRE");
  entry *e = find (s, a->v[1]);
  /* keys never expire here: TTL says so, EXPIRE acknowledges */
  fb_buf_printf (o, ":%d\r\n", expire ? e != NULL : e ? -1 : -2);
}

static void
cmd_flush (store *s, const args *a, fb_buf *o)
{
  (void) a;
  while (s->n)
    entry_drop (s, &s->e[0]);
  fb_buf_puts (o, "+OK\r\n");
}

static void
cmd_dbsize (store *s, const args *a, fb_buf *o)
{
  (void) a;
  fb_buf_printf (o, ":%zu\r\n", s->n);
}

static void
cmd_ping (store *s, const args *a, fb_buf *o)
{
  (void) s;
  if (a->n > 1)
    put_bulk (o, a->v[1], a->len[1]);
  else
    fb_buf_puts (o, "+PONG\r\n");
}

static void
cmd_ok (store *s, const args *a, fb_buf *o)
{
  (void) s, (void) a;
  fb_buf_puts (o, "+OK\r\n");
}

static void
cmd_empty (store *s, const args *a, fb_buf *o)
{
  (void) s, (void) a;
  fb_buf_puts (o, "*0\r\n");
}

static void
cmd_info (store *s, const args *a, fb_buf *o)
{
  (void) s, (void) a;
  static const char info[] = "# Server\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\n";
  put_bulk (o, info, sizeof info - 1);
}

/* name, fewest and most arguments (the command itself included; 0: any) */
static const struct {
  const char *name;
  size_t min, max;
  void (*fn) (store *s, const args *a, fb_buf *o);
} commands[] = {
  { "PING", 1, 2, cmd_ping },     { "ECHO", 2, 2, cmd_ping },       { "AUTH", 2, 3, cmd_ok },
  { "SELECT", 2, 2, cmd_ok },     { "CLIENT", 2, 0, cmd_ok },       { "QUIT", 1, 1, cmd_ok },
  { "COMMAND", 1, 0, cmd_empty }, { "INFO", 1, 0, cmd_info },       { "GET", 2, 2, cmd_get },
  { "MGET", 2, 0, cmd_mget },     { "SET", 3, 0, cmd_set },         { "DEL", 2, 0, cmd_del },
  { "UNLINK", 2, 0, cmd_del },    { "EXISTS", 2, 0, cmd_del },      { "INCR", 2, 2, cmd_incr },
  { "DECR", 2, 2, cmd_incr },     { "INCRBY", 3, 3, cmd_incr },     { "DECRBY", 3, 3, cmd_incr },
  { "KEYS", 2, 2, cmd_keys },     { "LPUSH", 3, 0, cmd_push },      { "RPUSH", 3, 0, cmd_push },
  { "LRANGE", 4, 4, cmd_lrange }, { "LLEN", 2, 2, cmd_llen },       { "EXPIRE", 3, 0, cmd_ttl },
  { "TTL", 2, 2, cmd_ttl },       { "FLUSHDB", 1, 2, cmd_flush },   { "FLUSHALL", 1, 2, cmd_flush },
  { "DBSIZE", 1, 1, cmd_dbsize },
};

static void
run_command (store *s, const args *a, fb_buf *o)
{
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    {
      if (strcasecmp (commands[i].name, a->v[0]))
        continue;
      if (a->n < commands[i].min || (commands[i].max && a->n > commands[i].max))
        {
          fb_buf_printf (o, "-ERR wrong number of arguments for '%s' command\r\n", commands[i].name);
          return;
        }
      pthread_mutex_lock (&s->mu);
      commands[i].fn (s, a, o);
      pthread_mutex_unlock (&s->mu);
      return;
    }
  fb_buf_printf (o, "-ERR unknown command '%.64s'\r\n", a->v[0]);
}

/* The arguments of one framed command (an array of bulk strings, or an
 * inline line split at blanks). */
static void
parse_args (const char *buf, size_t len, args *a)
{
  memset (a, 0, sizeof *a);
  size_t pos = 0;
  bool array = buf[0] == '*';
  if (array)
    pos = strcspn (buf, "\n") + 1;
  while (pos < len)
    {
      const char *p;
      size_t n;
      if (array)
        {
          size_t bl = (size_t) atoll (buf + pos + 1);
          p = buf + pos + strcspn (buf + pos, "\n") + 1;
          n = bl;
          pos = (size_t) (p - buf) + bl + 2;
        }
      else
        {
          pos += strspn (buf + pos, " \t\r\n");
          n = strcspn (buf + pos, " \t\r\n");
          p = buf + pos;
          pos += n;
          if (!n)
            break;
        }
      a->v = fb_xreallocarray (a->v, a->n + 1, sizeof *a->v);
      a->len = fb_xreallocarray (a->len, a->n + 1, sizeof *a->len);
      a->v[a->n] = fb_xmemdup0 (p, n);
      a->len[a->n++] = n;
    }
}

static void
args_free (args *a)
{
  for (size_t i = 0; i < a->n; i++)
    free (a->v[i]);
  free (a->v);
  free (a->len);
}

static bool
redis_answer (fb_mock_conn *c, const char *buf, const fb_msg *m)
{
  args a;
  parse_args (buf, m->len, &a);
  fb_buf out = FB_BUF_INIT;
  if (a.n)
    run_command (c->state, &a, &out);
  bool quit = a.n && !strcasecmp (a.v[0], "QUIT");
  bool open = fb_mock_write (c->fd, out.data, out.len) == 0 && !quit;
  args_free (&a);
  fb_buf_free (&out);
  return open;
}

static void
redis_bad (fb_mock_conn *c, const char *why)
{
  _cleanup_free_ char *line = fb_xasprintf ("-ERR Protocol error: %s\r\n", why);
  fb_mock_write (c->fd, line, strlen (line));
}

static void
redis_mock_serve (fb_mock_conn *c)
{
  fb_mock_frames (c, &fb_resp_framing, REDIS_MAX_REQ, redis_answer, redis_bad);
}

static void *
redis_mock_start (fb_mock_server *srv, const fb_mock_iface *f)
{
  store *s = FB_NEW (store);
  pthread_mutex_init (&s->mu, NULL);
  for (size_t i = 0; i < f->n_state; i++)
    fb_buf_puts (&make (s, f->state[i].key, false)->str, f->state[i].value);
  char addr[32], seeded[24];
  snprintf (addr, sizeof addr, "0.0.0.0:%d", f->port);
  snprintf (seeded, sizeof seeded, "%zu", f->n_state);
  fb_mock_emit (srv, f, "started", (const char *const[]) { "addr", addr, "seeded", seeded, NULL });
  return s;
}

const fb_mock_ops fb_redis_mock = { .start = redis_mock_start, .serve = redis_mock_serve };
