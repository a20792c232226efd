/* MongoDB through libmongoc: Faultbox's steps (find insert insert_many
 * update delete count command), its credentials (MONGO_INITDB_ROOT_USERNAME
 * and _PASSWORD, authSource admin; MONGO_INITDB_DATABASE, else "test"),
 * and the healthcheck's ping. Filters and documents come as JSON (a dict
 * or list the spec gave, or JSON text); replies are JSON as Faultbox's
 * encoder writes them. A command the server fails is a failed result
 * with its message, never an exception. */
#include <errno.h>
#include <math.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol/mongo.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/time.h"

/* libmongoc links libssl, SASL and ICU: loaded on first use; libbson,
 * small and libc-only, is linked. */
static struct {
  void (*init) (void);
  mongoc_uri_t *(*uri_new) (const char *, uint16_t);
  bool (*uri_set_username) (mongoc_uri_t *, const char *);
  bool (*uri_set_password) (mongoc_uri_t *, const char *);
  bool (*uri_set_auth_source) (mongoc_uri_t *, const char *);
  bool (*uri_set_int32) (mongoc_uri_t *, const char *, int32_t);
  void (*uri_destroy) (mongoc_uri_t *);
  mongoc_client_t *(*client_new) (const mongoc_uri_t *);
  bool (*set_error_api) (mongoc_client_t *, int32_t);
  void (*client_destroy) (mongoc_client_t *);
  bool (*command) (mongoc_client_t *, const char *, const bson_t *, const mongoc_read_prefs_t *, bson_t *,
                   bson_error_t *);
  mongoc_collection_t *(*collection) (mongoc_client_t *, const char *, const char *);
  void (*collection_destroy) (mongoc_collection_t *);
  mongoc_cursor_t *(*find) (mongoc_collection_t *, const bson_t *, const bson_t *, const mongoc_read_prefs_t *);
  bool (*cursor_next) (mongoc_cursor_t *, const bson_t **);
  bool (*cursor_error) (mongoc_cursor_t *, bson_error_t *);
  void (*cursor_destroy) (mongoc_cursor_t *);
  int64_t (*count) (mongoc_collection_t *, const bson_t *, const bson_t *, const mongoc_read_prefs_t *, bson_t *,
                    bson_error_t *);
} mg;
static char mg_error[256];
static pthread_once_t mg_once = PTHREAD_ONCE_INIT;

#define MG_SONAME "libmongoc-1.0.so.0"
/* Faultbox's connect and server-selection timeouts */
#define MG_STEP_MS 5000

static void
mg_load (void)
{
#define SYM(field, sym) { sym, (void **) &mg.field }
  const fb_dl_sym syms[] = {
    SYM (init, "mongoc_init"), SYM (uri_new, "mongoc_uri_new_for_host_port"),
    SYM (uri_set_username, "mongoc_uri_set_username"), SYM (uri_set_password, "mongoc_uri_set_password"),
    SYM (uri_set_auth_source, "mongoc_uri_set_auth_source"), SYM (uri_set_int32, "mongoc_uri_set_option_as_int32"),
    SYM (uri_destroy, "mongoc_uri_destroy"), SYM (client_new, "mongoc_client_new_from_uri"),
    SYM (set_error_api, "mongoc_client_set_error_api"), SYM (client_destroy, "mongoc_client_destroy"),
    SYM (command, "mongoc_client_command_simple"), SYM (collection, "mongoc_client_get_collection"),
    SYM (collection_destroy, "mongoc_collection_destroy"), SYM (find, "mongoc_collection_find_with_opts"),
    SYM (cursor_next, "mongoc_cursor_next"), SYM (cursor_error, "mongoc_cursor_error"),
    SYM (cursor_destroy, "mongoc_cursor_destroy"), SYM (count, "mongoc_collection_count_documents"),
  };
#undef SYM
  if (fb_protocol_dlopen (MG_SONAME, syms, sizeof syms / sizeof *syms, mg_error, sizeof mg_error) == 0)
    mg.init ();
}

/* ---- BSON as Faultbox's JSON --------------------------------------------- */

static json_object *value_json (const bson_iter_t *it);

static int
key_cmp (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* A document's values, keys sorted (Go's maps), or an array's in order. */
static json_object *
container_json (const bson_iter_t *parent, bool array)
{
  bson_iter_t it;
  json_object *o = array ? json_object_new_array () : json_object_new_object ();
  if (!bson_iter_recurse (parent, &it))
    return o;
  if (array)
    {
      while (bson_iter_next (&it))
        json_object_array_add (o, value_json (&it));
      return o;
    }
  size_t n = 0, cap = 0;
  _cleanup_free_ const char **keys = NULL;
  while (bson_iter_next (&it))
    {
      FB_GROW (keys, cap, n + 1);
      keys[n++] = bson_iter_key (&it);
    }
  if (n > 1)
    qsort (keys, n, sizeof *keys, key_cmp);
  for (size_t i = 0; i < n; i++)
    {
      bson_iter_t v;
      if (bson_iter_recurse (parent, &v) && bson_iter_find (&v, keys[i]))
        json_object_object_add (o, keys[i], value_json (&v));
    }
  return o;
}

/* Go's time.RFC3339Nano in UTC: the fraction without trailing zeros. */
static json_object *
date_json (int64_t ms)
{
  time_t s = (time_t) (ms / 1000 - (ms % 1000 < 0));
  int frac = (int) (ms - (int64_t) s * 1000);
  struct tm tm;
  gmtime_r (&s, &tm);
  char buf[64], f[8] = "";
  if (frac)
    {
      snprintf (f, sizeof f, ".%03d", frac);
      for (size_t n = strlen (f); f[n - 1] == '0'; n--)
        f[n - 1] = '\0';
    }
  size_t n = strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (buf + n, sizeof buf - n, "%sZ", f);
  return json_object_new_string (buf);
}

/* A type JSON has no form for: its relaxed Extended JSON. */
static json_object *
extended_json (const bson_iter_t *it)
{
  bson_t one = BSON_INITIALIZER;
  bson_append_iter (&one, "v", 1, it);
  char *s = bson_as_relaxed_extended_json (&one, NULL);
  json_object *o = s ? json_tokener_parse (s) : NULL, *v = NULL;
  if (o && json_object_object_get_ex (o, "v", &v))
    json_object_get (v);
  json_object_put (o);
  bson_free (s);
  bson_destroy (&one);
  return v;
}

static json_object *
value_json (const bson_iter_t *it)
{
  char oid[25];
  switch (bson_iter_type (it))
    {
    case BSON_TYPE_DOUBLE:
      {
        double d = bson_iter_double (it);
        /* Go writes an integral float as an integer */
        return d == trunc (d) && fabs (d) < 1e15 ? json_object_new_int64 ((int64_t) d) : json_object_new_double (d);
      }
    case BSON_TYPE_UTF8:
      return json_object_new_string (bson_iter_utf8 (it, NULL));
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY:
      return container_json (it, bson_iter_type (it) == BSON_TYPE_ARRAY);
    case BSON_TYPE_OID:
      bson_oid_to_string (bson_iter_oid (it), oid);
      return json_object_new_string (oid);
    case BSON_TYPE_BOOL:
      return json_object_new_boolean (bson_iter_bool (it));
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
      return NULL;
    case BSON_TYPE_INT32:
      return json_object_new_int64 (bson_iter_int32 (it));
    case BSON_TYPE_INT64:
      return json_object_new_int64 (bson_iter_int64 (it));
    case BSON_TYPE_DATE_TIME:
      return date_json (bson_iter_date_time (it));
    default:
      return extended_json (it);
    }
}

json_object *
fb_mongo_json (const bson_t *doc)
{
  bson_t wrap = BSON_INITIALIZER;
  BSON_APPEND_DOCUMENT (&wrap, "d", doc);
  bson_iter_t it;
  json_object *o = bson_iter_init_find (&it, &wrap, "d") ? container_json (&it, false) : NULL;
  bson_destroy (&wrap);
  return o;
}

static char *
json_text (json_object *o)
{
  char *s = fb_xstrdup (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (o);
  return s;
}

/* ---- steps ---------------------------------------------------------------- */

/* A JSON argument's value, parsed: *wrap is {"v": value}, it on the value
 * ({} when not given). -1 and *why when the text is not JSON. */
static int
json_arg (const char *name, const char *json, bson_t **wrap, bson_iter_t *it, char **why)
{
  _cleanup_free_ char *text = fb_xasprintf ("{\"v\": %s}", json && *json ? json : "{}");
  bson_error_t e;
  *wrap = bson_new_from_json ((const uint8_t *) text, -1, &e);
  if (!*wrap)
    return *why = fb_xasprintf ("%s: invalid JSON: %s", name, e.message), -1;
  bson_iter_init_find (it, *wrap, "v");
  return 0;
}

/* A document argument (filter=, document=, update=, cmd=) into doc. */
static int
doc_arg (const fb_step_call *c, const char *name, bson_t *doc, char **why)
{
  bson_t *wrap;
  bson_iter_t it;
  if (json_arg (name, fb_step_string (c, name), &wrap, &it, why) < 0)
    return -1;
  const uint8_t *data;
  uint32_t len;
  bson_t view;
  bool ok = BSON_ITER_HOLDS_DOCUMENT (&it);
  if (ok)
    {
      bson_iter_document (&it, &len, &data);
      /* a copy: doc outlives the wrapper */
      bson_init_static (&view, data, len);
      bson_copy_to (&view, doc);
    }
  else
    *why = fb_xasprintf ("%s: expected dict or JSON string", name);
  bson_destroy (wrap);
  return ok ? 0 : -1;
}

typedef struct {
  const fb_step_call *c;
  mongoc_client_t *cl;
  const char *db, *coll;
  bson_t filter;          /* filter=, or {} */
  char *body, *why;
} mg_step;

/* A command's reply read: a write's first write error fails it, as the
 * Go driver's WriteException says it. */
static bool
run_command (mg_step *s, const bson_t *cmd, bson_t *reply, bool write)
{
  bson_error_t e;
  if (!mg.command (s->cl, s->db, cmd, NULL, reply, &e))
    {
      s->why = fb_xstrdup (e.message);
      return false;
    }
  bson_iter_t it, w;
  if (write && bson_iter_init_find (&it, reply, "writeErrors") && bson_iter_recurse (&it, &w) && bson_iter_next (&w)
      && bson_iter_recurse (&w, &it) && bson_iter_find (&it, "errmsg"))
    {
      s->why = fb_xasprintf ("write exception: write errors: [%s]", bson_iter_utf8 (&it, NULL));
      return false;
    }
  return true;
}

static int64_t
reply_int (const bson_t *reply, const char *key)
{
  bson_iter_t it;
  return bson_iter_init_find (&it, reply, key) ? bson_iter_as_int64 (&it) : 0;
}

/* An ObjectId or other _id as Go's %v prints it (an ObjectId: its hex). */
static char *
id_text (const bson_iter_t *it)
{
  char oid[25];
  if (BSON_ITER_HOLDS_OID (it))
    return bson_oid_to_string (bson_iter_oid (it), oid), fb_xstrdup (oid);
  if (BSON_ITER_HOLDS_UTF8 (it))
    return fb_xstrdup (bson_iter_utf8 (it, NULL));
  return json_text (value_json (it));
}

/* The body {"k": v} (and "k2": v2 when k2): a write's counts. */
static void
counts_body (mg_step *s, const char *k, int64_t v, const char *k2, int64_t v2)
{
  json_object *o = json_object_new_object ();
  json_object_object_add (o, k, json_object_new_int64 (v));
  if (k2)
    json_object_object_add (o, k2, json_object_new_int64 (v2));
  s->body = json_text (o);
}

/* {verb: collection, key: [item]}, run; the reply's counts. */
static bool
write_one (mg_step *s, const char *verb, const char *key, const bson_t *item, bson_t *reply)
{
  bson_t cmd = BSON_INITIALIZER, arr;
  BSON_APPEND_UTF8 (&cmd, verb, s->coll);
  BSON_APPEND_ARRAY_BEGIN (&cmd, key, &arr);
  BSON_APPEND_DOCUMENT (&arr, "0", item);
  bson_append_array_end (&cmd, &arr);
  bool ok = run_command (s, &cmd, reply, true);
  bson_destroy (&cmd);
  return ok;
}

static void
mg_insert (mg_step *s)
{
  bson_t given, doc = BSON_INITIALIZER, reply;
  if (doc_arg (s->c, "document", &given, &s->why) < 0)
    return;
  bson_iter_t id;
  /* the id is ours to report: one the document lacks is made here */
  if (!bson_iter_init_find (&id, &given, "_id"))
    {
      bson_oid_t oid;
      bson_oid_init (&oid, NULL);
      BSON_APPEND_OID (&doc, "_id", &oid);
    }
  bson_concat (&doc, &given);
  bson_iter_init_find (&id, &doc, "_id");
  if (write_one (s, "insert", "documents", &doc, &reply))
    {
      json_object *o = json_object_new_object ();
      _cleanup_free_ char *t = id_text (&id);
      json_object_object_add (o, "inserted_id", json_object_new_string (t));
      s->body = json_text (o);
    }
  bson_destroy (&reply), bson_destroy (&doc), bson_destroy (&given);
}

static void
mg_update (mg_step *s)
{
  bson_t upd, item = BSON_INITIALIZER, reply;
  if (doc_arg (s->c, "update", &upd, &s->why) < 0)
    return;
  BSON_APPEND_DOCUMENT (&item, "q", &s->filter);
  BSON_APPEND_DOCUMENT (&item, "u", &upd);
  BSON_APPEND_BOOL (&item, "multi", true);
  if (write_one (s, "update", "updates", &item, &reply))
    counts_body (s, "matched", reply_int (&reply, "n"), "modified", reply_int (&reply, "nModified"));
  bson_destroy (&reply), bson_destroy (&item), bson_destroy (&upd);
}

static void
mg_delete (mg_step *s)
{
  bson_t item = BSON_INITIALIZER, reply;
  BSON_APPEND_DOCUMENT (&item, "q", &s->filter);
  BSON_APPEND_INT32 (&item, "limit", 0);
  if (write_one (s, "delete", "deletes", &item, &reply))
    counts_body (s, "deleted", reply_int (&reply, "n"), NULL, 0);
  bson_destroy (&reply), bson_destroy (&item);
}

/* insert_many's documents, checked before anything is sent. */
static int
many_docs (const fb_step_call *c, bson_t **wrap, bson_iter_t *it, char **why, fb_error *err)
{
  if (json_arg ("documents", fb_step_string (c, "documents"), wrap, it, why) < 0)
    return 0;
  if (BSON_ITER_HOLDS_ARRAY (it))
    return 0;
  bson_destroy (*wrap);
  *wrap = NULL;
  return fb_error_set (err, EINVAL, "insert_many: mongodb.insert_many documents= must be a list");
}

static void
mg_insert_many (mg_step *s, const bson_iter_t *docs)
{
  bson_t cmd = BSON_INITIALIZER, reply;
  BSON_APPEND_UTF8 (&cmd, "insert", s->coll);
  bson_append_iter (&cmd, "documents", -1, docs);
  bson_iter_t it;
  int64_t n = 0;
  bson_iter_recurse (docs, &it);
  while (bson_iter_next (&it))
    n++;
  if (run_command (s, &cmd, &reply, true))
    counts_body (s, "inserted_count", n, NULL, 0);
  bson_destroy (&reply), bson_destroy (&cmd);
}

static void
mg_find (mg_step *s, fb_step_result *out)
{
  const char *limit = fb_step_string (s->c, "limit");
  bson_t opts = BSON_INITIALIZER;
  if (limit && atoll (limit) > 0)
    BSON_APPEND_INT64 (&opts, "limit", atoll (limit));
  mongoc_collection_t *coll = mg.collection (s->cl, s->db, s->coll);
  mongoc_cursor_t *cur = mg.find (coll, &s->filter, &opts, NULL);
  json_object *docs = json_object_new_array ();
  const bson_t *d;
  while (mg.cursor_next (cur, &d))
    json_object_array_add (docs, fb_mongo_json (d));
  bson_error_t e;
  char n[24];
  snprintf (n, sizeof n, "%zu", json_object_array_length (docs));
  if (mg.cursor_error (cur, &e))
    {
      s->why = fb_xstrdup (e.message);
      json_object_put (docs);
    }
  else
    {
      s->body = json_text (docs);
      fb_step_field (out, "documents", n);
    }
  mg.cursor_destroy (cur);
  mg.collection_destroy (coll);
  bson_destroy (&opts);
}

static void
mg_count (mg_step *s)
{
  mongoc_collection_t *coll = mg.collection (s->cl, s->db, s->coll);
  bson_error_t e;
  int64_t n = mg.count (coll, &s->filter, NULL, NULL, NULL, &e);
  if (n < 0)
    s->why = fb_xstrdup (e.message);
  else
    counts_body (s, "count", n, NULL, 0);
  mg.collection_destroy (coll);
}

static void
mg_command (mg_step *s, const bson_t *cmd)
{
  bson_t reply;
  if (run_command (s, cmd, &reply, false))
    s->body = json_text (fb_mongo_json (&reply));
  bson_destroy (&reply);
}

/* A client of host:port with the credentials (authSource auth_source
 * when a user is given), both timeouts timeout_ms; NULL and *why when
 * libmongoc is missing. Connecting happens on the first command. */
static mongoc_client_t *
mg_client (const char *host, int port, const char *user, const char *password, const char *auth_source,
           int64_t timeout_ms, char **why)
{
  pthread_once (&mg_once, mg_load);
  if (!mg.init)
    return *why = fb_xstrdup (mg_error), NULL;
  mongoc_uri_t *uri = mg.uri_new (host, (uint16_t) port);
  if (!uri)
    return *why = fb_xasprintf ("invalid address %s:%d", host, port), NULL;
  if (user && *user)
    {
      mg.uri_set_username (uri, user);
      mg.uri_set_password (uri, password ? password : "");
      mg.uri_set_auth_source (uri, auth_source);
    }
  mg.uri_set_int32 (uri, MONGOC_URI_CONNECTTIMEOUTMS, (int32_t) timeout_ms);
  mg.uri_set_int32 (uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, (int32_t) timeout_ms);
  mongoc_client_t *cl = mg.client_new (uri);
  mg.uri_destroy (uri);
  if (!cl)
    return *why = fb_xstrdup ("mongodb: cannot make a client"), NULL;
  /* server errors in their own domain, their message as the server's */
  mg.set_error_api (cl, MONGOC_ERROR_API_VERSION_2);
  return cl;
}

/* Usage errors Faultbox raises: a missing collection= or cmd=. */
static int
mg_usage (const fb_step_call *c, fb_error *err)
{
  const char *m = c->method->name;
  bool cmd = !strcmp (m, "command");
  const char *v = fb_step_string (c, cmd ? "cmd" : "collection");
  if (v && *v)
    return 0;
  return fb_error_set (err, EINVAL, "%s: mongodb.%s requires %s= argument", m, m, cmd ? "cmd" : "collection");
}

static void
mg_run (mg_step *s, const bson_iter_t *many, fb_step_result *out)
{
  const char *m = s->c->method->name;
  bson_t cmd;
  if (!strcmp (m, "command"))
    {
      if (doc_arg (s->c, "cmd", &cmd, &s->why) == 0)
        mg_command (s, &cmd), bson_destroy (&cmd);
      return;
    }
  if (strcmp (m, "insert") && strcmp (m, "insert_many") && doc_arg (s->c, "filter", &s->filter, &s->why) < 0)
    return;
  if (!strcmp (m, "find"))
    mg_find (s, out);
  else if (!strcmp (m, "insert"))
    mg_insert (s);
  else if (!strcmp (m, "insert_many"))
    mg_insert_many (s, many);
  else if (!strcmp (m, "update"))
    mg_update (s);
  else if (!strcmp (m, "delete"))
    mg_delete (s);
  else
    mg_count (s);
  if (!s->why)
    fb_step_field (out, "collection", s->coll);
  if (!s->why && strcmp (m, "find"))
    fb_step_field (out, "op", !strcmp (m, "insert_many") ? "insert" : m);
}

static int
mg_step_run (const fb_step_call *c, fb_step_result *out, fb_error *err)
{
  if (mg_usage (c, err) < 0)
    return -1;
  mg_step s = { .c = c, .filter = BSON_INITIALIZER };
  bson_t *many = NULL;
  bson_iter_t docs;
  if (!strcmp (c->method->name, "insert_many") && many_docs (c, &many, &docs, &s.why, err) < 0)
    return -1;
  const char *user = fb_step_credential (fb_step_string (c, "user"), c->env, c->n_env, "MONGO_INITDB_ROOT_USERNAME", NULL);
  const char *password
      = fb_step_credential (fb_step_string (c, "password"), c->env, c->n_env, "MONGO_INITDB_ROOT_PASSWORD", NULL);
  s.db = fb_step_credential (fb_step_string (c, "database"), c->env, c->n_env, "MONGO_INITDB_DATABASE", "test");
  s.coll = fb_step_string (c, "collection");
  const char *m = c->method->name;
  c->on_send (c->ctx, (const char *const[]) { "method", m, s.coll ? "collection" : NULL, s.coll, NULL });
  int64_t t0 = fb_now_ns ();
  if (!s.why && (s.cl = mg_client (c->host, c->port, user, password, fb_step_string (c, "auth_source"), MG_STEP_MS,
                                   &s.why)))
    mg_run (&s, &docs, out);
  if (s.cl)
    mg.client_destroy (s.cl);
  if (many)
    bson_destroy (many);
  bson_destroy (&s.filter);
  out->body = s.body;
  fb_step_finish (out, t0, s.why, m);
  return 0;
}

static int
mg_ready (const fb_ready_call *c, fb_error *err)
{
  const char *user = fb_step_env (c->env, c->n_env, "MONGO_INITDB_ROOT_USERNAME");
  const char *password = fb_step_env (c->env, c->n_env, "MONGO_INITDB_ROOT_PASSWORD");
  char *why = NULL;
  mongoc_client_t *cl = mg_client (c->host, c->port, user, password, "admin", c->timeout_ms, &why);
  if (cl)
    {
      bson_t ping = BSON_INITIALIZER, reply;
      BSON_APPEND_INT32 (&ping, "ping", 1);
      bson_error_t e;
      if (!mg.command (cl, "admin", &ping, NULL, &reply, &e))
        why = fb_xasprintf ("ping: %s", e.message);
      bson_destroy (&reply), bson_destroy (&ping);
      mg.client_destroy (cl);
    }
  int rc = why ? fb_error_set (err, EAGAIN, "%s", why) : 0;
  free (why);
  return rc;
}

#define COLL { "collection", FB_PARAM_STRING, false, "" }
#define FILTER { "filter", FB_PARAM_JSON, false, NULL }
/* Faultbox's common keywords: database= (else MONGO_INITDB_DATABASE, else
 * "test"), the credentials (else the service's env), auth_source= */
#define COMMON                                                                                               \
  { "database", FB_PARAM_STRING, false, NULL }, { "user", FB_PARAM_STRING, false, NULL },                   \
  { "password", FB_PARAM_STRING, false, NULL }, { "auth_source", FB_PARAM_STRING, false, "admin" }

static const fb_step_method mg_methods[] = {
  { .name = "find", .n_params = 7, .params = { COLL, FILTER, { "limit", FB_PARAM_INT, false, "0" }, COMMON } },
  { .name = "insert", .n_params = 6, .params = { COLL, { "document", FB_PARAM_JSON, false, NULL }, COMMON } },
  { .name = "insert_many", .n_params = 6, .params = { COLL, { "documents", FB_PARAM_JSON, false, NULL }, COMMON } },
  { .name = "update", .n_params = 7, .params = { COLL, FILTER, { "update", FB_PARAM_JSON, false, NULL }, COMMON } },
  { .name = "delete", .n_params = 6, .params = { COLL, FILTER, COMMON } },
  { .name = "count", .n_params = 6, .params = { COLL, FILTER, COMMON } },
  { .name = "command", .n_params = 5, .params = { { "cmd", FB_PARAM_JSON, false, NULL }, COMMON } },
};

const fb_protocol fb_protocol_mongodb = {
  .name = "mongodb",
  .methods = mg_methods,
  .n_methods = sizeof mg_methods / sizeof *mg_methods,
  .methods_hint = "find/insert/insert_many/update/delete/count/command",
  .step = mg_step_run,
  .ready = mg_ready,
  .ready_timeout_ms = 2000,
  .framing = &fb_mongo_framing,
  .mock = &fb_mongo_mock,
};
