/* Protocols: what an interface speaks. Each protocol is one table of
 * operations — its step methods and their parameters, a step's exchange,
 * and the readiness probe a healthcheck polls — in plain C, so the spec
 * language (lang/) turns Starlark calls into fb_step_call and results back
 * into values, and the runner polls readiness, without either knowing a
 * wire format. The caller's thread must already be in the network
 * namespace the address belongs to. */
#ifndef FAULTBOX_PROTOCOL_H
#define FAULTBOX_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultbox/error.h"
#include "faultbox/buf.h"

#define FB_STEP_MAX_PARAMS 8

typedef enum {
  FB_PARAM_STRING,
  FB_PARAM_DICT,   /* string keys and values, e.g. headers */
  FB_PARAM_LIST,   /* a list of values as strings, or one string (redis command args=) */
  FB_PARAM_INT,    /* an int, handed over as its decimal string in .s (udp timeout_ms=) */
  FB_PARAM_JSON,   /* a dict or list as its JSON text in .s, a string as given (mongodb filter=) */
} fb_param_kind;

typedef struct fb_step_param {
  const char *name;
  fb_param_kind kind;
  bool required;
  const char *dflt;   /* strings: the value when not given */
} fb_step_param;

typedef struct fb_step_method {
  const char *name;   /* as written in a spec: db.main.get(...) */
  fb_step_param params[FB_STEP_MAX_PARAMS];
  size_t n_params;
  /* the step returns its reply as a string instead of a Response */
  bool returns_text;
} fb_step_method;

/* A parameter's value: s for strings (NULL: not given), kv for dicts,
 * list for lists. */
typedef struct fb_step_arg {
  const char *s;
  size_t s_len;   /* bytes of s when they may hold NULs (grpc's message from client()); 0: strlen */
  const fb_kv *kv;
  size_t n_kv;
  char *const *list;
  size_t n_list;
} fb_step_arg;

typedef struct fb_step_call {
  const fb_step_method *method;
  const fb_step_arg *args;   /* one per method->params */
  const char *service;       /* for messages */
  const char *host;          /* an address in the lab */
  int port;
  /* The service's env= ("K=V"), where Faultbox finds a step's credentials
   * (POSTGRES_USER, REDIS_PASSWORD, ...) when the step names none. */
  char *const *env;
  size_t n_env;
  /* The step_send event's fields ("k", "v", ..., NULL), called once the
   * request is framed, before it goes out. */
  void (*on_send) (void *ctx, const char *const *kv);
  void *ctx;
  /* Where set (wake_fd >= 0), a step blocked on the network also waits
   * for wake_fd to turn readable, then asks interrupted(ctx) whether to
   * give up now (the test's expectations decided it must stop). */
  int wake_fd;
  bool (*interrupted) (void *ctx);
  /* Non-NULL: the target is a TLS mock; its certificate, for the service
   * name, must verify against this CA file (the run's mock CA). */
  const char *ca_file;
} fb_step_call;

typedef struct fb_step_result {
  long status;               /* HTTP's status code; 0 where a protocol has none */
  /* The reply, as text; the Response's .data is its JSON decode when it
   * is JSON (how redis and postgres return structured data). */
  char *body;
  /* Non-NULL: the server or the network failed the step (.ok is False,
   * .error says why) — a result, not an exception. */
  char *error;
  fb_kv *headers;
  size_t n_headers;
  int64_t duration_ms;
  /* the step_recv event's fields after "target" (also on failure) */
  fb_kv *fields;
  size_t n_fields;
} fb_step_result;

void fb_step_result_clear (fb_step_result *r);

/* One readiness probe of a healthcheck. */
typedef struct fb_ready_call {
  const char *host;
  int port;
  const char *path;          /* what an HTTP healthcheck asks for */
  char *const *env;          /* the service's env=: credentials, as for steps */
  size_t n_env;
  int64_t timeout_ms;
} fb_ready_call;

/* ---- proxy framing ------------------------------------------------------
 * The proxy cuts the byte streams of a connection into messages with these
 * operations and decides per message. They are pure functions of the bytes
 * buffered so far: called again with more bytes when a message is not
 * complete yet, so a message may arrive in any number of reads. */

typedef enum {
  FB_FRAME_BAD = -1,     /* not this protocol: err says why */
  FB_FRAME_PARTIAL = 0,  /* a message has begun; more bytes are needed */
  FB_FRAME_OK = 1,       /* one whole message: fb_msg.len bytes */
} fb_frame_rc;

#define FB_MSG_MAX_HEADERS 64

/* One framed message and what rules match it on. Strings point into the
 * buffer framed (not NUL-terminated: _len) or into the fb_msg itself. */
typedef struct fb_msg {
  size_t len;             /* the message's bytes, head and body */
  char verb[256];         /* HTTP method, RESP command upper-cased, gRPC method path */
  char target[512];       /* HTTP path without the query, RESP key; cut at 511 bytes */
  int status;             /* responses: HTTP status; 0 where none */
  struct {
    const char *name, *value;
    size_t name_len, value_len;
  } headers[FB_MSG_MAX_HEADERS];
  size_t n_headers;
  bool head_only;         /* requests: a HEAD, whose response has no body */
  bool interim;           /* responses: not the reply yet (HTTP 1xx, a RESP3 push) */
  bool until_close;       /* responses: the body runs to the end of the stream */
  bool upgrade;           /* after it, the connection is a plain tunnel */
  bool no_reply;          /* requests: the server answers nothing (an empty inline line) */
  bool passthrough;       /* requests: no rule sees it (a handshake, a password, COPY data) */
  /* Non-NULL: what rules match instead of target, whole (postgres: the
   * canonical form of the query; target keeps its text as sent, for
   * events). Owned by the connection's framing state: valid until it
   * frames again. */
  const char *text;
  /* A request of several statements (a postgres batch): each one's text
   * as sent and as rules match it (owned as text is), n_parts of them;
   * a rule matching any matches the request. target and text are the
   * first's. 0: target/text alone. */
  const char *const *part_target, *const *part_text;
  size_t n_parts;
} fb_msg;

/* What an injected reply says: respond() or error() of a rule. */
typedef struct fb_reply {
  bool error;             /* error(): else response() */
  int status;             /* 0: the protocol's default */
  const char *body;       /* NULL: not given */
  const char *message;    /* NULL: not given */
  const char *code;       /* postgres: the SQLSTATE; NULL: none */
} fb_reply;

typedef struct fb_framing {
  /* A connection's framing state, for protocols whose messages refer to
   * earlier ones (postgres: a Bind names a statement a Parse made); NULL
   * for stateless ones, whose st is always NULL. */
  void *(*state_new) (void);
  void (*state_free) (void *st);
  /* Frames the first request in buf[0..len). */
  fb_frame_rc (*request) (void *st, const char *buf, size_t len, fb_msg *out, fb_error *err);
  /* Frames the first response; req is the request it answers (NULL: none
   * is pending, e.g. a push). */
  fb_frame_rc (*response) (void *st, const char *buf, size_t len, const fb_msg *req, fb_msg *out, fb_error *err);
  /* The bytes of an injected reply to req (malloc'd, *len set). */
  char *(*reply) (void *st, const fb_reply *r, const fb_msg *req, size_t *len);
  /* The form a rule's target pattern is matched in, when the protocol
   * canonicalizes what it frames (fb_msg.text); NULL: as written. */
  char *(*canonical) (const char *pattern);
  /* Which matcher keywords of a rule the protocol fills ("method", "path",
   * "header" / "command", "key" / "query"), NULL-terminated: a rule naming
   * another can never match here and is refused. "method" and "command"
   * match fb_msg.verb; "path", "key" and "query" fb_msg.target. */
  const char *const *matchers;
  /* The `proxy` event's names for verb and target (NULL: not reported),
   * and error()'s message when a rule gives none, as Faultbox's proxy of
   * the protocol says them. */
  const char *event_verb, *event_target, *default_error;
  bool no_respond;     /* response() has no meaning here: refused */
  bool sqlstate;       /* error(status=) is a SQLSTATE string, not a number */
  bool delay_final;    /* a delay ends the rules' evaluation (Faultbox's postgres) */
  bool grpc_status;    /* error(status=) is a gRPC status code (0-16) */
  /* A protocol whose connection is one session rather than a sequence of
   * messages (HTTP/2: multiplexed streams, header compression each way):
   * it takes all the bytes and asks the rules per request itself
   * (faultbox/proxy.h); request/response/reply are then unused. */
  const struct fb_proxy_session_ops *session;
  bool drop_message;   /* drop() discards the message, the connection stays (nats) */
  bool deliveries;     /* server messages with a verb meet the rules too (nats' MSG) */
  bool error_closes;   /* the connection closes once error()'s reply is sent (amqp's Connection.Close) */
} fb_framing;

/* A protocol's mock server (mock_service()): start makes an interface's
 * state when the server starts (NULL: none), serve answers one accepted
 * connection on its own thread (protocol/internal.h). */
struct fb_mock_conn;
struct fb_mock_server;
struct fb_mock_iface;
typedef struct fb_mock_ops {
  void *(*start) (struct fb_mock_server *s, const struct fb_mock_iface *f);
  void (*serve) (struct fb_mock_conn *c);
  /* serve gets the interface's datagram socket, once, on its own thread */
  bool datagram;
} fb_mock_ops;

typedef struct fb_protocol {
  const char *name;
  const fb_step_method *methods;
  size_t n_methods;
  /* The methods a spec can call, for messages: "get/post/put/delete/patch". */
  const char *methods_hint;
  /* One step. Fails (err: "METHOD(...): what went wrong (service S ...)",
   * out->fields say so too) for a call the spec got wrong, and for http
   * and tcp when no reply arrived; an error the server answers with (and,
   * for the other protocols, a failed connection) is a result: out->error. */
  int (*step) (const fb_step_call *c, fb_step_result *out, fb_error *err);
  /* 0 when the service answers within c->timeout_ms. NULL: a TCP connect
   * is all the protocol's readiness. */
  int (*ready) (const fb_ready_call *c, fb_error *err);
  int64_t ready_timeout_ms;  /* one probe's patience */
  /* Message framing for the proxy; NULL: protocol-level rules cannot be
   * attached to its interfaces. */
  const fb_framing *framing;
  /* Its mock_service() server; NULL: the protocol cannot be mocked. */
  const fb_mock_ops *mock;
  /* Datagrams (udp): the proxy relays them per datagram, not as a stream. */
  bool datagram;
} fb_protocol;

/* The framings of the protocols the proxy understands; the redis step
 * client's table entry points at fb_resp_framing, postgres's at
 * fb_pg_framing, mysql's at fb_mysql_framing, memcached's at
 * fb_memcached_framing. */
extern const fb_framing fb_http_framing;
extern const fb_framing fb_resp_framing;
extern const fb_framing fb_pg_framing;
extern const fb_framing fb_mysql_framing;
extern const fb_framing fb_memcached_framing;
extern const fb_framing fb_nats_framing;
extern const fb_framing fb_kafka_framing;
extern const fb_framing fb_udp_framing;
extern const fb_framing fb_mongo_framing;
extern const fb_framing fb_amqp_framing;
extern const fb_framing fb_clickhouse_framing;

/* Faultbox's SQL canonical form (sqlmatch.Canonicalize): trimmed, without
 * trailing ";", lower-case and with "$N" and "?" as "$?" outside '...'
 * literals, operators and list punctuation spaced, white space collapsed.
 * Both a query and a rule's query= pattern are matched in it. */
char *fb_sql_canonical (const char *sql, size_t len);

/* The protocol named name, or NULL. */
const fb_protocol *fb_protocol_find (const char *name);
/* Why a protocol Faultbox speaks is not supported yet ("cassandra"), or NULL. */
const char *fb_protocol_missing (const char *name);
/* The i-th known protocol, NULL past the last (for the builtins' docs). */
const fb_protocol *fb_protocol_at (size_t i);
/* "tcp, http, redis or postgres": the known protocols, for messages. */
const char *fb_protocol_names (void);
/* "http, redis, postgres, nats": those whose interfaces take protocol-level rules. */
const char *fb_protocol_framed_names (void);
const fb_step_method *fb_protocol_method (const fb_protocol *p, const char *name);
/* The first protocol with a step method of that name, or NULL. */
const fb_protocol *fb_protocol_with_method (const char *name);

#endif
