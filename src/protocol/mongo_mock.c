/* The MongoDB mock: answers what drivers need to connect and read, as
 * Faultbox's mock does — hello/isMaster (OP_MSG, and OP_QUERY for the
 * drivers' first handshake), ping, buildInfo; find returns the documents
 * seeded from config={"collections": {name: [doc, ...]}} (filters are not
 * applied), getMore ends the cursor; insert/update/delete are
 * acknowledged and discarded; anything else is {ok: 1}. Ours also answers
 * aggregate with the seeded documents, or a count of them for a $group
 * (what count_documents asks). Events as Faultbox's: mock.op_query,
 * mock.cmd, mock.reply_sent, mock.unknown_opcode, mock.write_error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "protocol/mongo.h"
#include "util/alloc.h"

typedef struct {
  char **names;
  bson_t **docs;            /* each {"d": [doc, ...]} */
  size_t n;
} mongo_store;

static const bson_t *
seeded (const mongo_store *s, const char *coll)
{
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp (s->names[i], coll))
      return s->docs[i];
  return NULL;
}

/* Appends the seeded documents of coll as array key (counting them). */
static uint32_t
append_docs (bson_t *to, const char *key, const bson_t *docs)
{
  bson_t arr;
  bson_append_array_begin (to, key, -1, &arr);
  bson_iter_t it, sub;
  uint32_t n = 0;
  if (docs && bson_iter_init_find (&it, docs, "d") && BSON_ITER_HOLDS_ARRAY (&it) && bson_iter_recurse (&it, &sub))
    while (bson_iter_next (&sub))
      {
        char k[16];
        snprintf (k, sizeof k, "%u", n++);
        bson_append_iter (&arr, k, -1, &sub);
      }
  bson_append_array_end (to, &arr);
  return n;
}

static bool
has_group (const bson_t *cmd)
{
  bson_iter_t it, st, stage;
  if (!bson_iter_init_find (&it, cmd, "pipeline") || !bson_iter_recurse (&it, &st))
    return false;
  while (bson_iter_next (&st))
    if (BSON_ITER_HOLDS_DOCUMENT (&st) && bson_iter_recurse (&st, &stage) && bson_iter_find (&stage, "$group"))
      return true;
  return false;
}

/* A cursor reply over coll's seeded documents (none for getMore; one
 * {_id: 1, n: count} for an aggregate that groups). */
static void
cursor_reply (const mongo_store *s, const char *cmd, const char *coll, const bson_t *req, bson_t *out)
{
  bson_t cur;
  BSON_APPEND_DOCUMENT_BEGIN (out, "cursor", &cur);
  BSON_APPEND_INT64 (&cur, "id", 0);
  char ns[512];
  snprintf (ns, sizeof ns, "mock.%s", coll);
  BSON_APPEND_UTF8 (&cur, "ns", ns);
  bool more = !strcmp (cmd, "getMore");
  const bson_t *docs = more ? NULL : seeded (s, coll);
  if (!more && !strcmp (cmd, "aggregate") && has_group (req))
    {
      bson_t tmp = BSON_INITIALIZER;
      uint32_t n = append_docs (&tmp, "d", docs);
      bson_destroy (&tmp);
      bson_t arr, one;
      BSON_APPEND_ARRAY_BEGIN (&cur, "firstBatch", &arr);
      BSON_APPEND_DOCUMENT_BEGIN (&arr, "0", &one);
      BSON_APPEND_INT32 (&one, "_id", 1);
      BSON_APPEND_INT32 (&one, "n", (int32_t) n);
      bson_append_document_end (&arr, &one);
      bson_append_array_end (&cur, &arr);
    }
  else
    append_docs (&cur, more ? "nextBatch" : "firstBatch", docs);
  bson_append_document_end (out, &cur);
}

static void
hello_reply (bson_t *out)
{
  BSON_APPEND_BOOL (out, "ismaster", true);
  BSON_APPEND_BOOL (out, "isWritablePrimary", true);
  BSON_APPEND_INT32 (out, "maxBsonObjectSize", 16777216);
  BSON_APPEND_INT32 (out, "maxMessageSizeBytes", 48000000);
  BSON_APPEND_INT32 (out, "maxWriteBatchSize", 100000);
  BSON_APPEND_INT32 (out, "logicalSessionTimeoutMinutes", 30);
  BSON_APPEND_INT32 (out, "connectionId", 1);
  BSON_APPEND_INT32 (out, "minWireVersion", 8);
  BSON_APPEND_INT32 (out, "maxWireVersion", 17);
  BSON_APPEND_BOOL (out, "readOnly", false);
}

/* The reply document to command cmd (on collection coll, "" when none). */
static void
answer (const mongo_store *s, const char *cmd, const char *coll, const bson_t *req, bson_t *out)
{
  BSON_APPEND_DOUBLE (out, "ok", 1.0);
  if (!strcmp (cmd, "hello") || !strcasecmp (cmd, "isMaster"))
    hello_reply (out);
  else if (!strcasecmp (cmd, "buildInfo"))
    {
      BSON_APPEND_UTF8 (out, "version", "7.0.0");
      BSON_APPEND_UTF8 (out, "gitVersion", "faultbox-mock");
    }
  else if (!strcmp (cmd, "find") || !strcmp (cmd, "findOne") || !strcmp (cmd, "getMore")
           || !strcmp (cmd, "aggregate"))
    cursor_reply (s, cmd, coll, req, out);
  else if (!strcmp (cmd, "insert") || !strcmp (cmd, "update") || !strcmp (cmd, "delete"))
    {
      BSON_APPEND_INT32 (out, "n", 1);
      if (!strcmp (cmd, "update"))
        BSON_APPEND_INT32 (out, "nModified", 1);
    }
}

static bool
mongo_answer (fb_mock_conn *c, const char *buf, const fb_msg *m)
{
  fb_mongo_head h;
  fb_mongo_cut (buf, m->len, &h, NULL);
  char op[16];
  snprintf (op, sizeof op, "%u", h.opcode);
  if (h.opcode != FB_MONGO_OP_MSG && h.opcode != FB_MONGO_OP_QUERY)
    {
      fb_mock_emit (c->srv, c->iface, "unknown_opcode", (const char *const[]) { "opcode", op, NULL });
      return true;
    }
  bson_t req, out = BSON_INITIALIZER;
  bson_iter_t it;
  bool have = fb_mongo_command (buf, &h, &req) && bson_iter_init (&it, &req) && bson_iter_next (&it);
  const char *cmd = have ? bson_iter_key (&it) : "";
  const char *coll = have && BSON_ITER_HOLDS_UTF8 (&it) ? bson_iter_utf8 (&it, NULL) : "";
  char size[24];
  snprintf (size, sizeof size, "%u", h.len - FB_MONGO_HEADER);
  bool legacy = h.opcode == FB_MONGO_OP_QUERY;
  fb_mock_emit (c->srv, c->iface, legacy ? "op_query" : "cmd",
                legacy ? (const char *const[]) { "cmd", cmd, NULL }
                       : (const char *const[]) { "cmd", cmd, "collection", coll, "body_size", size, NULL });
  answer (c->state, cmd, coll, have ? &req : NULL, &out);
  size_t n;
  char *msg = fb_mongo_message (h.request_id + 1, h.request_id, legacy, &out, &n);
  bson_destroy (&out);
  bool sent = fb_mock_write (c->fd, msg, n) == 0;
  free (msg);
  if (!sent)
    fb_mock_emit (c->srv, c->iface, "write_error", (const char *const[]) { "error", "connection closed", NULL });
  else if (!legacy)
    fb_mock_emit (c->srv, c->iface, "reply_sent", (const char *const[]) { "cmd", cmd, NULL });
  return sent;
}

static void
mongo_bad (fb_mock_conn *c, const char *why)
{
  (void) c, (void) why;
  /* a stream that is not MongoDB's has no message to answer in: closed */
}

static void
mongo_mock_serve (fb_mock_conn *c)
{
  fb_mock_timeout (c->fd, 30);
  fb_mock_frames (c, &fb_mongo_framing, FB_MONGO_MAX_MSG, mongo_answer, mongo_bad);
}

/* The seeded collections come as the state's name -> JSON text of the
 * list of documents (lang/mocks.c); one that does not parse seeds none. */
static void *
mongo_mock_start (fb_mock_server *srv, const fb_mock_iface *f)
{
  (void) srv;
  mongo_store *s = FB_NEW (mongo_store);
  s->names = fb_xcalloc (f->n_state + 1, sizeof *s->names);
  s->docs = fb_xcalloc (f->n_state + 1, sizeof *s->docs);
  for (size_t i = 0; i < f->n_state; i++)
    {
      char *json = fb_xasprintf ("{\"d\": %s}", f->state[i].value);
      bson_t *d = bson_new_from_json ((const uint8_t *) json, -1, NULL);
      free (json);
      if (!d)
        continue;
      s->names[s->n] = fb_xstrdup (f->state[i].key);
      s->docs[s->n++] = d;
    }
  return s;
}

const fb_mock_ops fb_mongo_mock = { .start = mongo_mock_start, .serve = mongo_mock_serve };
