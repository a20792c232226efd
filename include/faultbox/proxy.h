/* The protocol-aware proxy of a lab: one listener per proxied interface,
 * on an address of its own in the lab network, forwarding to the service's
 * real address. It cuts each connection's streams into messages with the
 * protocol's framing (protocol.h) and decides per message, against the
 * rules installed at that moment, whether to forward it, answer it
 * itself, drop the connection, send it twice or hold it back a while. One
 * thread with one epoll loop serves every connection. */
#ifndef FAULTBOX_PROXY_H
#define FAULTBOX_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "faultbox/error.h"
#include "faultbox/protocol.h"

typedef enum {
  FB_PX_RESPOND,     /* response(): a reply of the rule's making */
  FB_PX_ERROR,       /* error(): an error reply */
  FB_PX_DROP,        /* drop(): the connection is closed */
  FB_PX_DUPLICATE,   /* duplicate(): the request goes out twice, one reply comes back */
  FB_PX_DELAY,       /* delay(delay=): held back, then the next rules apply */
} fb_proxy_action;

typedef struct fb_proxy_rule {
  fb_proxy_action action;
  /* Globs as Faultbox matches them (fb_proxy_glob_match); NULL: any. verb
   * is the method= / command=, target the path= / key=. */
  char *verb, *target;
  char *header_name, *header_glob;  /* header="Name: glob" */
  int status;                       /* 0: the protocol's default */
  char sqlstate[6];                 /* error(status="40001") on postgres; "": none */
  char *body, *message;             /* NULL: not given */
  int64_t delay_ns;
  double probability;               /* 0..1 */
} fb_proxy_rule;

void fb_proxy_rule_clear (fb_proxy_rule *r);
/* Faultbox's action names: respond error drop duplicate delay. */
const char *fb_proxy_action_name (fb_proxy_action a);

/* Faultbox's matchGlob: with a "*", a shell glob in which "*" stays within
 * a "/" segment, else a prefix ("x*") or suffix ("*x") test; without one,
 * equality ignoring case. */
bool fb_proxy_glob_match (const char *pattern, const char *s);
bool fb_proxy_rule_matches (const fb_proxy_rule *r, const fb_msg *m);
/* Which of m's statements r matches (0 for a message of one), or -1. */
ssize_t fb_proxy_rule_match_part (const fb_proxy_rule *r, const fb_msg *m);

/* A rule that fired on a message. */
typedef struct fb_proxy_event {
  const char *service, *iface, *protocol;
  const fb_proxy_rule *rule;
  uint64_t rule_id;
  const fb_msg *msg;
  const char *client;   /* the peer's address */
} fb_proxy_event;

typedef struct fb_proxy_conn_event {
  const char *service, *iface, *protocol;
  const char *what;     /* "unframed": passed through as bytes from here on */
  const char *reason;
} fb_proxy_conn_event;

/* What the rules decided for one request of a session protocol: action
 * -1 forwards it; reply's strings are body and message (the receiver's to
 * free); until_ns > now: held back until then. */
typedef struct fb_proxy_verdict {
  int action;
  fb_reply reply;
  char *body, *message;
  int64_t until_ns;
} fb_proxy_verdict;

typedef void (*fb_proxy_decide_fn) (void *ctx, const fb_msg *m, fb_proxy_verdict *v);

/* A session protocol's side of a proxied connection (fb_framing.session). */
typedef struct fb_proxy_session_ops {
  void *(*open) (fb_proxy_decide_fn decide, void *ctx);
  /* Takes all of cin (from the client) and uin (from the server), appends
   * what goes out to cout and uout, and sets *due_ns to when a held
   * request is due (0: none), when io is called again; -1: the
   * connection is over. */
  int (*io) (void *st, fb_buf *cin, fb_buf *uin, fb_buf *cout, fb_buf *uout, int64_t *due_ns);
  void (*close) (void *st);
} fb_proxy_session_ops;

typedef struct fb_proxy fb_proxy;

typedef struct fb_proxy_callbacks {
  /* Called on the proxy's thread. */
  void (*fired) (void *ctx, const fb_proxy_event *ev);
  void (*conn) (void *ctx, const fb_proxy_conn_event *ev);
  void *ctx;
} fb_proxy_callbacks;

/* Probabilities decide by hash(seed, "service.iface", rule id, occurrence),
 * as syscall rules do. */
fb_proxy *fb_proxy_new (uint64_t seed, const fb_proxy_callbacks *cb);
/* Listens at listen_ip:port (the calling thread must be in the lab's
 * network namespace) for service's interface iface, forwarding to
 * upstream_ip:upstream_port. p NULL or without framing: bytes are relayed
 * as they are, no rule applies. Before fb_proxy_start only. */
int fb_proxy_listen (fb_proxy *px, const char *service, const char *iface, const fb_protocol *p,
                     const char *listen_ip, int port, const char *upstream_ip, int upstream_port, fb_error *err);
/* The loop's thread starts in the calling thread's network namespace, and
 * connects upstream from there. */
int fb_proxy_start (fb_proxy *px, fb_error *err);
/* The listener of service.iface, or -1. */
ssize_t fb_proxy_find (const fb_proxy *px, const char *service, const char *iface);
/* Copies r; it applies to every message framed from now on, on
 * connections already open too. */
int fb_proxy_add_rule (fb_proxy *px, size_t listener, const fb_proxy_rule *r, uint64_t scope, uint64_t *id,
                       fb_error *err);
void fb_proxy_remove_scope (fb_proxy *px, uint64_t scope);
/* Messages the rule matched, and how many of those it fired on. */
void fb_proxy_rule_stats (fb_proxy *px, uint64_t id, uint64_t *matched, uint64_t *fired);
/* A partition's part in the proxy, whose hop to a service leaves from
 * the worker where the lab's own partitions cannot see it: a client at
 * client_addr connecting through the proxy to service's listeners is
 * refused, and on its open connections what it sends (up) or receives
 * (down) is held in the kernel's buffers. fb_proxy_heal(id) removes the
 * cuts made with id; held traffic then flows on. Any thread; NULL-safe. */
void fb_proxy_cut (fb_proxy *px, uint64_t id, const char *client_addr, const char *service, bool up, bool down);
void fb_proxy_heal (fb_proxy *px, uint64_t id);
/* Stops the thread and closes every socket. NULL-safe. */
void fb_proxy_free (fb_proxy *px);

#endif
