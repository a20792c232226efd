/* The protocols' own clients, under their fb_protocol tables: HTTP through
 * libcurl, TCP line exchanges, Redis through hiredis, Postgres through
 * libpq, and the probes healthchecks poll. The
 * caller's thread must already be in the network namespace the address
 * belongs to. */
#ifndef FB_PROTOCOL_INTERNAL_H
#define FB_PROTOCOL_INTERNAL_H

#include <stdint.h>
#include "faultbox/error.h"
#include "faultbox/mock.h"
#include "faultbox/protocol.h"

/* One HTTP request. Fails (and fills err naming the URL and the cause) only
 * when no response arrived; any status code is a success here. out gets
 * the status, the body (whitespace-trimmed, as Faultbox's step returns it),
 * the headers (lower-cased names) and the duration. */
int fb_http_request (const char *method, const char *url, const char *body, const fb_kv *headers,
                     size_t n_headers, int64_t timeout_ms, fb_step_result *out, fb_error *err);

/* Connects to host:port, writes data (adding "\n" when missing), reads one
 * line and returns it without the line end ("" when the peer closed first). */
int fb_tcp_exchange (const char *host, int port, const char *data, int64_t timeout_ms, char **reply,
                     fb_error *err);

/* A non-blocking socket connected to host:port within timeout_ms, or -errno. */
int fb_tcp_dial (const char *host, int port, int64_t timeout_ms);

/* 0 when a TCP connection to host:port is accepted within timeout_ms. */
int fb_tcp_probe (const char *host, int port, int64_t timeout_ms, fb_error *err);

/* 0 when GET url answers 200-399 within timeout_ms. */
int fb_http_probe (const char *url, int64_t timeout_ms, fb_error *err);

/* A symbol of a library loaded on first use, and where it goes. The slot
 * is a function pointer's address: POSIX guarantees dlsym's void *
 * converts to one. */
typedef struct fb_dl_sym {
  const char *name;
  void **slot;
} fb_dl_sym;

/* dlopens soname and fills every slot (at most 64), or none: -1 and why
 * says what is missing. The libraries of a protocol (libcurl, libpq and
 * the TLS, Kerberos and LDAP libraries they pull in) are loaded the first
 * time it is spoken, not at exec: they are most of the resident memory
 * and start-up of a faultbox process that never speaks it. */
int fb_protocol_dlopen (const char *soname, const fb_dl_sym *syms, size_t n, char *why, size_t why_len);

/* Strips leading and trailing white space in place. */
char *fb_protocol_trim (char *s);
/* Appends k=v (copied) to a result's event fields. */
void fb_step_field (fb_step_result *r, const char *k, const char *v);

/* The string argument name of a step (its default when not given), or NULL. */
const char *fb_step_string (const fb_step_call *c, const char *name);
/* The value of key in a service's env ("K=V"), or NULL. */
const char *fb_step_env (char *const *env, size_t n_env, const char *key);
/* A credential as Faultbox fills it: the step's own argument when
 * non-empty, else the env's key when non-empty, else dflt. */
const char *fb_step_credential (const char *given, char *const *env, size_t n_env, const char *key,
                                const char *dflt);
/* Marks a result failed (.ok False) with msg as its .error. */
void fb_step_fail (fb_step_result *r, const char *msg);
/* The step_recv fields of a result whose protocol has no status code:
 * method, duration_ms, success, and error when it failed. */
void fb_step_outcome (fb_step_result *r, const char *method);
/* A step's end: its duration since t0, why (owned, NULL: it succeeded) as
 * its failure, then fb_step_outcome. */
void fb_step_finish (fb_step_result *r, int64_t t0, char *why, const char *method);
/* The step's method name upper-cased (an HTTP verb) into buf. */
void fb_step_verb (const fb_step_call *c, char *buf, size_t size);

/* Redis: one RESP reply (bytes as a server sends them) as the JSON body
 * of a step, {"value": ...}; a top-level error reply sets *error to
 * "redis error: TEXT" instead. -1 (err) when the bytes are not one whole
 * reply. */
int fb_redis_decode (const char *resp, size_t n, char **json, char **error, fb_error *err);

/* How a column's text becomes JSON in a query step's rows. */
typedef enum { FB_CELL_TEXT, FB_CELL_INT, FB_CELL_FLOAT, FB_CELL_BOOL } fb_cell_kind;

/* Postgres and MySQL: the rows of a query as the JSON body of a step, a
 * list of objects with their keys sorted (as Faultbox's encoder writes
 * them), "null" for no rows. cells[row * n_cols + col] is the text form,
 * NULL for SQL NULL; kinds say which columns become JSON numbers and
 * booleans (the rest strings; a float that is not finite stays text). */
/* The step methods of a SQL protocol: query/exec(sql=, user=, password=,
 * database=) and the protocol's own connection-string keyword. */
#define FB_SQL_METHOD(m, conn_param)                                                                        \
  { .name = m, .n_params = 5,                                                                               \
    .params = { { "sql", FB_PARAM_STRING, true, NULL }, { "user", FB_PARAM_STRING, false, NULL },           \
                { "password", FB_PARAM_STRING, false, NULL }, { "database", FB_PARAM_STRING, false, NULL }, \
                { conn_param, FB_PARAM_STRING, false, NULL } } }

/* A SQL healthcheck's end: why (owned, NULL when ready) as the error. */
int fb_sql_ready_result (char *why, fb_error *err);

char *fb_sql_rows_json (size_t n_rows, size_t n_cols, const char *const *names, const fb_cell_kind *kinds,
                        const char *const *cells);

/* NATS: one protocol operation at the head of buf (nats_frame.c). op is
 * upper-cased; args the rest of its line; payload (PUB HPUB MSG HMSG) the
 * bytes its last word counts; len all of it, CRLFs included. */
typedef struct fb_nats_op {
  char op[12];
  const char *args, *payload;
  size_t args_len, payload_len, len;
} fb_nats_op;
fb_frame_rc fb_nats_next (const char *buf, size_t len, fb_nats_op *o, fb_error *err);
/* The k-th word (from 0) of an operation's arguments; 0: none. */
size_t fb_nats_word (const fb_nats_op *o, size_t k, const char **w);

/* Kafka (kafka_frame.c): a reader of a message's fields (a field past
 * the end sets bad and reads as 0 / NULL), the writers of its types, and
 * a request's header, after which rd is at its body. */
enum {
  FB_KAFKA_PRODUCE = 0, FB_KAFKA_FETCH = 1, FB_KAFKA_LIST_OFFSETS = 2, FB_KAFKA_METADATA = 3,
  FB_KAFKA_OFFSET_COMMIT = 8, FB_KAFKA_OFFSET_FETCH = 9, FB_KAFKA_FIND_COORDINATOR = 10,
  FB_KAFKA_JOIN_GROUP = 11, FB_KAFKA_HEARTBEAT = 12, FB_KAFKA_LEAVE_GROUP = 13, FB_KAFKA_SYNC_GROUP = 14,
  FB_KAFKA_API_VERSIONS = 18,
};
typedef struct fb_kafka_rd {
  const char *p;
  size_t len, pos;
  bool bad;
} fb_kafka_rd;
/* A big-endian integer of n bytes (at most 8), sign-extended. */
int64_t fb_kafka_int (fb_kafka_rd *r, size_t n);
void fb_kafka_skip (fb_kafka_rd *r, size_t n);
uint64_t fb_kafka_uvarint (fb_kafka_rd *r);
/* A string (compact: varint length + 1), NULL for a null one. */
const char *fb_kafka_str (fb_kafka_rd *r, bool compact, size_t *len);
/* An array's count, -1 for null or bad. */
int64_t fb_kafka_count (fb_kafka_rd *r, bool compact);
void fb_kafka_skip_tags (fb_kafka_rd *r, bool compact);
/* Whether api's version uses the compact ("flexible") encodings. */
bool fb_kafka_flexible (int api, int version);
typedef struct fb_kafka_req {
  int api, version;
  int32_t correlation;
  const char *client_id;
  size_t client_id_len;
  bool flexible;
  fb_kafka_rd rd;
} fb_kafka_req;
/* buf: a whole message, its size included. */
int fb_kafka_header (const char *buf, size_t len, fb_kafka_req *h);
void fb_kafka_put_int (fb_buf *b, int64_t v, size_t n);
void fb_kafka_put_uvarint (fb_buf *b, uint64_t v);
void fb_kafka_put_count (fb_buf *b, bool compact, int64_t n);
void fb_kafka_put_str (fb_buf *b, bool compact, const char *s, size_t n);
void fb_kafka_put_tags (fb_buf *b, bool compact);
/* AMQP: the reply code a broker's reply text names by its first word
 * ("NOT_FOUND - no queue": 404); 541 (INTERNAL_ERROR) for another. */
int fb_amqp_reply_code (const char *text);

/* ---- mock servers (mock.c) ----------------------------------------------
 * A connection of a mock interface, served by its protocol's fb_mock_ops. */
typedef struct fb_mock_server fb_mock_server;
typedef struct fb_mock_conn {
  fb_mock_server *srv;
  const fb_mock_iface *iface;
  void *state;              /* what ops->start made */
  int fd;
} fb_mock_conn;

/* What a dynamic() handler gets: Faultbox's request dict. */
typedef struct fb_mock_request {
  const char *method, *path;  /* "" outside http */
  const char *body;
  size_t body_len;
  const fb_kv *headers, *query;
  size_t n_headers, n_query;
} fb_mock_request;

/* Records a mock.OP event (interface, kind, op added by the runner);
 * kv: "k", "v", ..., NULL. */
void fb_mock_emit (fb_mock_server *s, const fb_mock_iface *f, const char *op, const char *const *kv);
/* Asks the runner to run route r's dynamic() handler; -1 and *error
 * (malloc'd) when it failed. */
int fb_mock_dynamic (fb_mock_server *s, const fb_mock_iface *f, const fb_mock_route *r, const fb_mock_request *req,
                     fb_mock_response *out, char **error);
/* The first route whose pattern match() accepts, or NULL. */
const fb_mock_route *fb_mock_pick (const fb_mock_iface *f, bool (*match) (const char *pattern, const void *ctx),
                                   const void *ctx);
const fb_mock_response *fb_mock_respond (fb_mock_conn *c, const fb_mock_route *r, const fb_mock_request *req,
                                         fb_mock_response *owned, char **error);
/* Serves a connection's requests as framing frames them: each whole one
 * to on_msg (false: close), until the peer closes; bytes that are not
 * the protocol (or more than max without a whole request) go to on_bad. */
void fb_mock_frames (fb_mock_conn *c, const fb_framing *fr, size_t max,
                     bool (*on_msg) (fb_mock_conn *c, const char *buf, const fb_msg *m),
                     void (*on_bad) (fb_mock_conn *c, const char *why));
/* Writes all of p with write(); -1 when the peer went away. */
int fb_mock_write (int fd, const char *p, size_t n);
/* Reads and writes on fd give up after seconds. */
void fb_mock_timeout (int fd, int seconds);
/* Serves TLS on fd (taken) with pair, choosing alpn ("h2" or NULL) when
 * the client offers it: the plaintext end of a socketpair the mock serves,
 * a thread relaying between them; -1 (fd closed) on failure. */
struct fb_tls_pair;
int fb_tls_accept (const struct fb_tls_pair *pair, const char *alpn, int fd, fb_error *err);

/* A step's TLS connection over fd (connected; made blocking, each read and
 * write bounded by timeout_ms): the server's certificate must verify
 * against ca_file for name; alpn ("h2" or NULL) is offered. NULL: err
 * says why (the certificate's verdict when it was that). */
typedef struct fb_tls_client fb_tls_client;
fb_tls_client *fb_tls_connect (int fd, const char *ca_file, const char *name, const char *alpn, int64_t timeout_ms,
                               fb_error *err);
/* n bytes written, or -1. */
ssize_t fb_tls_send (fb_tls_client *c, const void *p, size_t n);
/* bytes read; 0 at the end or on failure. */
ssize_t fb_tls_recv (fb_tls_client *c, void *p, size_t n);
/* Whether bytes already decrypted wait to be read (poll does not see them). */
bool fb_tls_pending (fb_tls_client *c);
void fb_tls_client_free (fb_tls_client *c);

/* get/post/put/delete/patch(path=, body=, headers=): HTTP's steps, HTTP/2's too. */
#define FB_HTTP_N_METHODS 5
extern const fb_step_method fb_http_methods[FB_HTTP_N_METHODS];

/* An HTTP mock route ("METHOD /glob") against a request (fb_mock_pick's
 * match; ctx a fb_http_route_key). */
typedef struct fb_http_route_key {
  const char *method, *path;
} fb_http_route_key;
bool fb_http_route_matches (const char *pattern, const void *ctx);
/* The query of a request line's target ("GET /p?a=1 HTTP/1.1"): its first
 * value per name into *q (malloc'd, req->n_query counts), req->query. */
void fb_http_parse_query (const char *buf, size_t len, fb_mock_request *req, fb_kv **q);

/* An HTTP mock's answer to one request: r is what to send; owned and
 * failed hold what r may point into, error a dynamic handler's failure. */
typedef struct fb_http_mock_answer {
  const fb_mock_response *r;
  fb_mock_response owned, failed;
  char *error;
} fb_http_mock_answer;
/* Picks c's route for req and runs it (404 without one, a 500 naming a
 * dynamic handler's error), then emits its mock event (proto, when not
 * NULL, as a field) before anything is sent; clear a after sending. */
void fb_http_mock_answer_req (fb_mock_conn *c, const fb_mock_request *req, const char *proto, fb_http_mock_answer *a);
void fb_http_mock_answer_clear (fb_http_mock_answer *a);

/* An HTTP status line's reason phrase ("Injected" for codes it does not know). */
const char *fb_http_reason (int status);

extern const fb_mock_ops fb_http_mock, fb_redis_mock, fb_tcp_mock, fb_udp_mock, fb_mongo_mock, fb_kafka_mock;

extern const fb_protocol fb_protocol_http;
extern const fb_protocol fb_protocol_tcp;
extern const fb_protocol fb_protocol_redis;
extern const fb_protocol fb_protocol_postgres;
extern const fb_protocol fb_protocol_mysql;
extern const fb_protocol fb_protocol_memcached;
extern const fb_protocol fb_protocol_nats;
extern const fb_protocol fb_protocol_kafka;
extern const fb_protocol fb_protocol_udp;
extern const fb_protocol fb_protocol_mongodb;
extern const fb_protocol fb_protocol_amqp;
extern const fb_protocol fb_protocol_clickhouse;

#endif
