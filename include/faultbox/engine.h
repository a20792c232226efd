/* The syscall fault engine: seccomp user notification. A service's process
 * installs a filter (fb_filter_build) that routes the syscalls its rules can
 * name to a listener fd; the engine answers each notification from one loop
 * thread: allow, deny with an errno, delay, or hold until released.
 * Decisions are a pure function of (seed, service, rule, occurrence), so a
 * seed replays a run exactly. The loop takes no lock per notification: each
 * service's rules are an immutable snapshot the engine swaps atomically. */
#ifndef FAULTBOX_ENGINE_H
#define FAULTBOX_ENGINE_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "faultbox/error.h"

typedef enum {
  FB_ACT_ALLOW,   /* intercept, record, let it run */
  FB_ACT_DENY,    /* fail with err */
  FB_ACT_DELAY,   /* let it run after delay_ns */
  FB_ACT_HOLD,    /* park it until fb_engine_release (or teardown) */
} fb_action;

typedef struct fb_rule {
  char *keyword;          /* as the user wrote it: "write", "openat", an op name */
  char **syscalls;        /* expanded family, NULL-terminated */
  fb_action action;
  int err;                /* FB_ACT_DENY */
  int64_t delay_ns;       /* FB_ACT_DELAY */
  double probability;     /* 0..1 */
  char *path_glob;        /* NULL: any path, system paths excluded */
  char *dest;             /* "ip" or "ip:port" for connect/sendto, NULL: any */
  uint64_t nth;           /* fire only on the nth match (1-based), 0: unset */
  uint64_t after;         /* fire only after this many matches, 0: unset */
  uint64_t max_fires;     /* 0: unlimited */
  char *label;
} fb_rule;

/* Expands a keyword to its family ("write" -> write, writev, pwrite64,
 * pwritev, pwritev2). Fails naming the keyword, with a suggestion, when it is
 * no syscall faultbox can intercept. Result is NULL-terminated; free with
 * fb_strv_free. */
int fb_syscall_family (const char *keyword, char ***out, fb_error *err);
void fb_strv_free (char **v);

/* "EIO" -> EIO; case-insensitive; unknown names fail with a suggestion. */
int fb_errno_from_name (const char *name, int *out, fb_error *err);
const char *fb_errno_name (int err);

/* Parses Faultbox's --fault mini-syntax: "write=EIO:30%:/data/x",
 * "openat=ENOENT:100%:/tmp/x:nth=3", "connect=delay:200ms:100%". */
int fb_rule_parse (const char *spec, fb_rule *out, fb_error *err);
void fb_rule_clear (fb_rule *r);
/* "deny(EIO)", "delay(200ms)", "hold(LABEL)" */
void fb_rule_describe_action (const fb_rule *r, char *buf, size_t len);

/* Paths a rule without a path glob never touches: the loader's libraries,
 * /proc, /sys, /dev. */
bool fb_path_is_system (const char *path);

/* Glob where "*" and "?" stay within one path component and "**" crosses "/". */
bool fb_path_glob_match (const char *glob, const char *path);

/* A BPF program that sends the named syscalls (already expanded) to the
 * listener, refuses io_uring_setup (ENOSYS: a ring would bypass it) and
 * allows everything else, for the native architecture. */
int fb_filter_build (char *const *syscalls, struct sock_fprog *out, fb_error *err);
/* A syscall routed only when one argument matches, so that calls nobody
 * asked about never leave the kernel: (args[arg] & mask) == value, or !=
 * when ne (then mask must be all ones). Several for one syscall: any. */
typedef struct fb_filter_cond {
  const char *syscall;
  unsigned arg;
  uint64_t mask, value;
  bool ne;
} fb_filter_cond;
/* fb_filter_build, plus the conditional routes of a syscall the list does
 * not route outright. */
int fb_filter_build_cond (char *const *syscalls, const fb_filter_cond *conds, size_t n_conds,
                          struct sock_fprog *out, fb_error *err);
void fb_filter_free (struct sock_fprog *prog);
/* The native architecture's number of a syscall, -1 when it has none
 * (open and creat on aarch64). */
int fb_syscall_number (const char *name);

typedef struct fb_engine fb_engine;

typedef enum { FB_VTIME_NONE, FB_VTIME_DELAY, FB_VTIME_SLEEP, FB_VTIME_CLOCK } fb_vtime;

typedef struct fb_engine_event {
  uint64_t seq;
  int64_t time_ns;        /* monotonic */
  const char *service;
  pid_t pid;
  const char *syscall;
  int nr;                 /* the native arch's number, -1 for a released held call */
  const uint64_t *args;   /* its six arguments as the target passed them; NULL on release */
  const char *path;       /* file path, "socket:[..]", or "ip:port"; may be NULL */
  fb_action decision;
  bool faulted;           /* deny, delay or hold fired (else allowed) */
  bool released;          /* the answer to a held call: decision is allow or deny */
  int err;
  int64_t delay_ns;
  const fb_rule *rule;    /* the rule that decided, NULL when none matched */
  uint64_t rule_id;
  /* Under virtual time (fb_engine_set_virtual_time): a delay that advanced
   * the virtual clock instead of waiting (decision FB_ACT_DELAY), or a
   * sleep (delay_ns: how long it slept) or clock read answered from that
   * clock without running (decision FB_ACT_ALLOW, not faulted). */
  fb_vtime vtime;
  int64_t vclock_ns;      /* the virtual clock after the call */
} fb_engine_event;

/* Called from the engine thread for every intercepted syscall, before it is
 * answered, and once more when a held call is released. Must not call back
 * into the engine. */
typedef void (*fb_engine_event_cb) (void *ctx, const fb_engine_event *ev);

int fb_engine_new (uint64_t seed, fb_engine_event_cb cb, void *ctx, fb_engine **out, fb_error *err);
/* Hands a listener fd to the engine (the engine owns it from here). */
int fb_engine_add_service (fb_engine *e, const char *name, pid_t pid, int listener_fd, fb_error *err);
/* Adds a copy of rule for service `name`, in scope `scope`; returns its id. */
int fb_engine_add_rule (fb_engine *e, const char *service, const fb_rule *rule, uint64_t scope, uint64_t *id,
                        fb_error *err);
/* Removes every rule of a scope; other scopes are untouched. */
void fb_engine_remove_scope (fb_engine *e, uint64_t scope);
/* matched: syscalls the rule matched; fired: of those, faulted. */
void fb_engine_rule_stats (fb_engine *e, uint64_t id, uint64_t *matched, uint64_t *fired);
/* Before fb_engine_start: delays advance a virtual clock (starting at 0)
 * instead of waiting, and nanosleep, clock_nanosleep (which the services'
 * filters must route) return at once, advancing it; clock_gettime gets
 * its reading, whatever the clock id. Clock reads through the vDSO never
 * reach the engine. */
void fb_engine_set_virtual_time (fb_engine *e, bool on);
/* The test's own sleep() under virtual time: moves the virtual clock on by
 * ns (any thread). False, doing nothing, when the clock is not virtual. */
bool fb_engine_advance_clock (fb_engine *e, int64_t ns);
/* How far the virtual clock was moved on (0 when it is not virtual, or e
 * is NULL): added to wall time, it is the test's time on that clock. */
int64_t fb_engine_virtual_ns (fb_engine *e);
/* Starts the loop thread. While it has a single live service and nothing
 * parked, the loop waits in that listener's RECV rather than in epoll; to
 * interrupt it, the engine installs a do-nothing handler for SIGRTMIN+3 and
 * sends that signal to the loop thread only. Leave that signal to it. */
int fb_engine_start (fb_engine *e, fb_error *err);
/* Held calls of rule `rule_id` (0: any rule) labelled `label` (NULL: any),
 * not yet released. */
size_t fb_engine_held (fb_engine *e, uint64_t rule_id, const char *label);
/* Releases the held calls fb_engine_held would count: they run when err is
 * 0, else fail with err. Returns how many; the loop answers them next. A
 * removed scope releases the calls its rules hold, as allowed. */
size_t fb_engine_release (fb_engine *e, uint64_t rule_id, const char *label, int err);
/* Releases only the k-th (0-based, in the order they were held) of the
 * calls fb_engine_held would count. False when there are not that many. */
bool fb_engine_release_nth (fb_engine *e, uint64_t rule_id, const char *label, size_t k, int err);
/* For teardown, before signalling the services: answers every pending delay
 * and held call now, as allowed, and from then on lets delays and holds
 * run at once, so a service's SIGTERM handler is never stuck behind them.
 * Async-signal-safe. */
void fb_engine_drain (fb_engine *e);
/* Fails (negative), naming the service, when the loop could not receive
 * or answer a notification of some listener (it then stopped supervising
 * it): a test whose syscalls went unanswered cannot pass. */
int fb_engine_check (fb_engine *e, fb_error *err);
/* True once every listener hung up (its process tree is gone). */
bool fb_engine_idle (fb_engine *e);
/* Stops the loop, answering pending delays and held calls at once, as
 * allowed (a call the test no longer waits for runs rather than failing
 * with an error no rule asked for); joins; frees. NULL-safe. */
void fb_engine_free (fb_engine *e);

#endif
