/* The seam between the spec language and the runner: a loaded spec's tests,
 * and the state of the test running now, which builtins act on (faults,
 * steps, events) and the runner drives (lab, engine, verdict). Only lang/
 * and runner/ include it. */
#ifndef FB_LANG_SESSION_H
#define FB_LANG_SESSION_H

#include <pthread.h>

#include "faultbox/engine.h"
#include "faultbox/lab.h"
#include "faultbox/runner.h"
#include "faultbox/spec.h"
#include "faultbox/star.h"
#include "faultbox/tls.h"
#include "faultbox/buf.h"

typedef struct fb_session fb_session;

/* A test to run: a `def test_*`, a scenario() probe, a fault_scenario() or
 * one cell of a fault_matrix(). */
typedef struct {
  char *name;
  fb_value *fn;          /* the test function, or the scenario probe */
  bool probe;            /* fn's return value is the observable */
  fb_value *expect;      /* oracle called with the probe's result; NULL: none */
  fb_value *faults;      /* list of fault assumptions applied around fn, or NULL */
  fb_value *monitors;    /* list of monitors active for the whole test, or NULL */
  char *matrix_scenario; /* set for matrix cells */
  char *matrix_fault;
  bool require_fire;     /* fail a passing cell whose faults never fired */
  int64_t timeout_ns;    /* fault_scenario(timeout=), test(timeout=), 0: none */
  bool lifecycle;        /* test(): setup, temporal expectations, the verdict table */
  fb_value *setup;       /* test(setup=), or NULL */
  fb_value *expectations; /* test(expect=): list of eventually()/always(), or NULL */
  fb_value *terminate_when;
  fb_value *assume;      /* test(assume=): list of predicates, or NULL */
  char *decl;            /* file:line:col where it was registered */
} spec_test;

/* determinism(), as declared (Faultbox's defaults when it is: L1, strict). */
typedef struct {
  bool declared;
  bool detect;          /* level L1: route and record unmediated I/O */
  bool strict;          /* a test whose services reached an unallowed category fails */
  unsigned allow;       /* allow=: a bit per category */
  char *decl;           /* file:line:col of the call */
} spec_det;

struct fb_spec {
  char *file;           /* as the user named it */
  char *dir;            /* directory of the file, for relative binaries */
  char **files;         /* real paths read: [0] the spec, then its load()s */
  size_t n_files;
  const fb_spec_source *src; /* while loading */
  fb_star_thread *th;
  fb_star_module *mod;
  fb_plan plan;
  char ***filters;      /* per service: syscalls its seccomp filter routes */
  size_t *n_filters;
  /* Interfaces (services' in plan order, flattened) whose messages the
   * proxy frames, found by the same scan; a service with one is proxied
   * as a whole (its name resolves to the proxy), its other interfaces
   * relayed as bytes. No proxy at all when none is. */
  bool *proxied;
  bool *proxied_svc;
  size_t n_proxied, n_proxied_svc; /* sizes: the plan grows while loading */
  bool proxied_any;
  bool has_parallel;    /* it calls parallel(): --explore routes what it holds */
  spec_det det;
  fb_value **mock_fns;  /* dynamic() handlers of mock routes; a route's dynamic is its index + 1 */
  size_t n_mock_fns;
  spec_test *tests;
  size_t n_tests;
  fb_session *session;  /* the test running now, NULL while loading */
  fb_lab_net *lab_net;  /* a worker's lab network, kept across its tests */
  fb_value **monitors;  /* declared while loading; spec-wide unless attached */
  size_t n_monitors;
  char **matrix_scenarios, **matrix_faults;
  size_t n_matrix_scenarios, n_matrix_faults;
  /* mock_service(tls=True): the run's CA, made by the first such mock, and
   * the file its certificate is written to (the mock's .ca_path), alone in
   * its directory, which every service gets bound */
  fb_tls_pair mock_ca;
  char *mock_ca_path;
  pid_t mock_ca_owner;  /* the process that wrote it removes it (not a -j worker) */
};

/* One installed fault or trace rule, for the summary lines. */
typedef struct {
  size_t svc;
  uint64_t scope;
  uint64_t id;
  fb_rule rule;
} session_rule;

/* A syscall trace: routed syscalls of svc logged with decision "trace". */
typedef struct {
  size_t svc;
  uint64_t scope;
  char **syscalls;      /* expanded families */
  char *keywords;       /* as written, for the summary line */
  uint64_t hits;
  bool started;         /* by trace_start: trace_stop ends it */
} session_trace;

/* A monitor active over the events with seq in [from, to] (to 0: open). */
typedef struct {
  fb_value *monitor;
  uint64_t scope;       /* 0: the whole test */
  uint64_t from, to;
} session_monitor;

struct fb_session {
  fb_spec *spec;
  fb_lab *lab;
  fb_engine *engine;
  fb_test_result *result;
  pthread_mutex_t mu;   /* result->events, appended from the engine thread */
  pthread_cond_t cv;    /* broadcast under mu on every event: await_* wait on it */
  int64_t deadline;     /* monotonic ns when the test's timeout= ends, 0: none */
  struct session_time *time; /* time.c: a test()'s expectations and anchors */
  bool inconclusive;    /* the failure reason is an INCONCLUSIVE verdict */
  char *halted;         /* halt() or a false assume=: the HALTED result's reason */
  size_t cap_events;
  int64_t t0;
  uint64_t next_scope;
  uint64_t *svc_scope;  /* per service: scope of fault_start rules, 0 none */
  session_rule *rules;
  size_t n_rules;
  session_trace *traces; /* guarded by mu: read from the engine thread */
  size_t n_traces;
  session_monitor *monitors;
  size_t n_monitors;
  uint64_t *clocks;     /* (n+1)^2 vector clocks, row n = the test driver; under mu */
  struct session_net *net; /* netfaults.c: open partitions and link faults */
  struct session_proxy *proxy; /* proxyfaults.c: the lab's proxy and its rules */
  struct session_det *det; /* determinism.c: the unmediated I/O the services reached */
  struct session_life *life; /* lifecycle.c: kills, deaths, pauses */
  struct session_decoders *decoders; /* observe.c: the services' output decoders */
  /* Set by the runner: waits for service idx's healthcheck (after a
   * restart); on failure fills why and returns -1. */
  int (*wait_healthy) (fb_session *ss, size_t idx, fb_buf *why);
  struct session_mock *mock; /* mockhub.c: the mock servers' hub */
  uint64_t max_events;  /* the log's cap; past it syscall events are lost */
  uint64_t lost_events; /* under mu */
  char *lost_from;      /* the service of the first lost event; under mu */
  const fb_test_options *opts;
  bool *nondet;         /* per service: nondet() keeps it out of --explore */
  uint64_t explore_index; /* this run's permutation */
  bool explored;        /* an explored parallel() ran; explore_held says how many it held */
  size_t explore_held;
  /* Set by the runner: runs parallel()'s branches under --explore's hold
   * and release (branch_start(i) starts branch i, branch_done(i) says
   * whether it returned). */
  void (*explore_parallel) (fb_session *ss, size_t n_branches, void (*branch_start) (void *ctx, size_t i),
                            bool (*branch_done) (void *ctx, size_t i), void *ctx);
};


/* Appends to the NULL-terminated *v (*n entries) the strings of add it
 * does not hold yet, copied. */
void spec_strv_add (char ***v, size_t *n, char *const *add);
void session_event (fb_session *ss, const char *type, const char *service,
                    const char *const *kv);
/* How many events the log holds now. */
size_t session_log_len (fb_session *ss);
/* Records the summaries of a scope's rules, traces and monitors, then
 * removes them. */
void session_remove_scope (fb_session *ss, uint64_t scope);
void session_remove_all (fb_session *ss);
/* Installs an assumption's rules and activates its monitors in scope. */
int spec_apply_assumption (fb_star_thread *th, const char *fname, fb_session *ss,
                           fb_value *fa, uint64_t scope);
/* Activates a monitor for the events from now on, in scope (0: until the
 * test ends). */
void session_add_monitor (fb_session *ss, fb_value *monitor, uint64_t scope);
bool spec_monitor_attached (fb_value *monitor);
/* Runs the active monitors over the event log in seq order; on a
 * violation fills why ("monitor violation: ...") and returns -1. */
int session_check_monitors (fb_star_thread *th, fb_session *ss, fb_buf *why);
/* True (and counted) when a routed syscall of service falls under an
 * active trace; called from the engine thread with ss->mu held. */
bool session_traced_locked (fb_session *ss, const char *service, const char *syscall);
/* The lab's proxy for the interfaces the spec proxies (none: nothing
 * runs), listening before any service starts; closed with its rules. */
int session_proxy_start (fb_session *ss, fb_error *err);
void session_proxy_close (fb_session *ss);
/* A partition applied on the lab (its id) applies on the proxy too: the
 * services of a and b cannot reach each other through it, in the
 * directions dir cuts. Healed with the partition. */
void session_proxy_partition (fb_session *ss, unsigned id, const size_t *a, size_t na, const size_t *b, size_t nb,
                              fb_lab_part_dir dir);
void session_proxy_heal (fb_session *ss, unsigned id);
/* The hub mock servers fetch their tables from, report events to and
 * call dynamic() handlers through: listening on the worker's address
 * (the calling thread in the lab network) before any service starts,
 * when the spec has mocks. Closed after the services stopped, on the
 * interpreter's thread (the handlers' values join the test's). */
int session_mock_start (fb_session *ss, fb_error *err);
void session_mock_close (fb_session *ss);
/* Where a step to service svc goes: the proxy when it is proxied, as
 * Faultbox's steps do, else the service. */
const char *session_step_host (fb_session *ss, size_t svc);
/* After restart(svc): its partitions and link faults applied again. */
int session_net_restarted (fb_session *ss, size_t svc, fb_error *err);
/* Removes what the test left open, recording *_leaked events. */
void session_net_close (fb_session *ss);
/* test(): the body's context once the services are up: the deadline, the
 * expectations, setup=; -1 with the reason in why. */
int session_test_begin (fb_star_thread *th, fb_session *ss, const spec_test *t, fb_buf *why);
/* test(): from any thread, under ss->mu, for every event appended. */
void session_time_event_locked (fb_session *ss);
/* test(): an eventfd readable after events arrived (-1: no test() runs),
 * for a step to wait on beside its socket; then session_test_check, on
 * the body's thread, checks its expectations: -1 (raised) when the body
 * must stop (an always() violated, terminate_when fired). */
int session_wake_fd (fb_session *ss);
int session_test_check (fb_star_thread *th, fb_session *ss);
/* test(): the verdict once the body ended (why holds its error, if any;
 * timed_out: the deadline ended it), Faultbox's table: FAIL, INCONCLUSIVE
 * (ss->inconclusive) or PASS (why empty). */
void session_test_end (fb_star_thread *th, fb_session *ss, bool timed_out, fb_buf *why,
                       const char **failure_type);
/* determinism(): the syscalls and conditional routes it adds to service
 * svc's filter (none when it was not declared at L1, or the service is
 * nondeterministic_ok=True). */
char *const *spec_det_syscalls (const fb_spec *sp, size_t svc);
const fb_filter_cond *spec_det_conds (const fb_spec *sp, size_t svc, size_t *n);
/* Once the lab exists: det_only[i] lists the syscalls only determinism()
 * routes for service i (their calls are counted, not logged). Nothing
 * when the spec did not ask. */
void session_det_start (fb_session *ss, char **const *det_only);
/* From the engine's callback: records the unmediated I/O a call reaches;
 * true when only determinism() routes it (no syscall event for it). */
bool session_det_observe (fb_session *ss, const fb_engine_event *ev);
/* Once the engine is gone: final counts into the events and the result,
 * and under strict=True the reason, when why is still empty. */
void session_det_finish (fb_session *ss, fb_buf *why, const char **failure_type);
/* lifecycle.c */
void session_life_open (fb_session *ss);
void session_life_close (fb_session *ss);
/* From the lab's watcher (or kill()): service idx exited with code (as
 * fb_lab_service_exited's); records service_exited, and an exit nothing
 * asked for (no kill(), restart(), may_exit=True) for the verdict. */
void session_service_exited (fb_session *ss, size_t idx, int code);
/* The first service that died unexpectedly, and its code. */
bool session_unexpected_death (fb_session *ss, size_t *idx, int *code);
/* Resumes what pause(run=) or freeze= paused in scope. */
void session_life_remove_scope (fb_session *ss, uint64_t scope);
/* "SIGKILL", or "signal 40" */
const char *spec_signal_name (int sig, char *buf, size_t len);
/* observe.c: decoders compiled for the test; each line of an observed
 * stream (1 stdout, 2 stderr) becomes a stdout or stderr event. */
int session_observe_open (fb_session *ss, fb_error *err);
void session_observe_close (fb_session *ss);
void session_service_output (fb_session *ss, size_t idx, int stream, const char *line, size_t len);

/* The syscalls an explored parallel() holds, families expanded; free with
 * fb_strv_free. */
char **spec_explore_syscalls (void);

#endif
