/* Shared state of the spec builtins and the test runner. */
#ifndef FB_SPEC_INTERNAL_H
#define FB_SPEC_INTERNAL_H

#include <pthread.h>

#include "faultbox/engine.h"
#include "faultbox/lab.h"
#include "faultbox/spec.h"
#include "faultbox/star.h"

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
  int64_t timeout_ns;    /* fault_scenario(timeout=), 0: none */
  char *decl;            /* file:line:col where it was registered */
} spec_test;

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
  bool has_parallel;    /* it calls parallel(): --explore routes what it holds */
  spec_test *tests;
  size_t n_tests;
  fb_session *session;  /* the test running now, NULL while loading */
  fb_lab_net *lab_net;  /* a worker's lab network, kept across its tests */
  fb_value **monitors;  /* declared while loading; spec-wide unless attached */
  size_t n_monitors;
  char **matrix_scenarios, **matrix_faults;
  size_t n_matrix_scenarios, n_matrix_faults;
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
  uint64_t max_events;  /* the log's cap; past it syscall events are lost */
  uint64_t lost_events; /* under mu */
  char *lost_from;      /* the service of the first lost event; under mu */
  const fb_test_options *opts;
  bool *nondet;         /* per service: nondet() keeps it out of --explore */
  uint64_t explore_index; /* this run's permutation */
  bool explored;        /* an explored parallel() ran; explore_held says how many it held */
  size_t explore_held;
};

/* host types */
extern const fb_host_type spec_service_type;
extern const fb_host_type spec_iface_decl_type;
extern const fb_host_type spec_iface_ref_type;
extern const fb_host_type spec_healthcheck_type;
extern const fb_host_type spec_op_type;
extern const fb_host_type spec_fault_type;
extern const fb_host_type spec_assumption_type;
extern const fb_host_type spec_monitor_type;

typedef struct {
  fb_spec *spec;
  size_t svc;
} service_ref;

typedef struct {
  fb_spec *spec;
  size_t svc, iface;
} iface_ref;

typedef struct {
  const char *name;
  fb_builtin_fn fn;
} spec_builtin;

/* spec.c */
/* Appends to the NULL-terminated *v (*n entries) the strings of add it
 * does not hold yet, copied. */
void spec_strv_add (char ***v, size_t *n, char *const *add);
/* Predeclares a table of builtins on the spec's thread. */
void spec_predeclare_all (fb_spec *s, const spec_builtin *fns, size_t n);
void spec_predeclare_topology (fb_spec *s);
fb_spec *spec_of (fb_star_thread *th);
/* The running test's session, or NULL after raising "fname: what (called
 * while loading the spec)". */
fb_session *spec_session (fb_star_thread *th, const char *fname, const char *what);
/* The service a value names (a Service or an InterfaceRef), or -1 after
 * raising an error mentioning fname. */
ssize_t spec_service_arg (fb_star_thread *th, const char *fname, fb_value *v);

/* faults.c */
void spec_predeclare_faults (fb_spec *s);
void session_event (fb_session *ss, const char *type, const char *service,
                    const char *const *kv);
/* Installs kw=fault on service svc in scope; raises naming fname. */
int session_install (fb_star_thread *th, const char *fname, fb_session *ss,
                     size_t svc, const char *kw, fb_value *fault, uint64_t scope);
/* Records the summaries of a scope's rules, traces and monitors, then
 * removes them. */
void session_remove_scope (fb_session *ss, uint64_t scope);
void session_remove_all (fb_session *ss);
/* The syscall families a keyword names on svc (an op of the service, or a
 * syscall family), each routed by svc's filter; raises naming fname. */
char **spec_keyword_syscalls (fb_star_thread *th, const char *fname, fb_spec *sp,
                              size_t svc, const char *kw, const char **path_glob);

/* domain.c: scenario, fault_assumption, fault_scenario, fault_matrix */
void spec_predeclare_domain (fb_spec *s);
/* Installs an assumption's rules and activates its monitors in scope. */
int spec_apply_assumption (fb_star_thread *th, const char *fname, fb_session *ss,
                           fb_value *fa, uint64_t scope);
/* Appends a registered test; duplicate names are checked after loading. */
void spec_add_test (fb_spec *sp, const spec_test *t);
const char *spec_assumption_name (fb_value *v);

/* events.c: events(), assert_eventually/never/before, monitor(), match,
 * trace() */
void spec_predeclare_events (fb_spec *s);
/* Activates a monitor for the events from now on, in scope (0: until the
 * test ends). */
void session_add_monitor (fb_session *ss, fb_value *monitor, uint64_t scope);
/* Passed to monitors=: no longer spec-wide. */
void spec_monitor_attach (fb_value *monitor);
bool spec_monitor_attached (fb_value *monitor);
/* Runs the active monitors over the event log in seq order; on a
 * violation fills why ("monitor violation: ...") and returns -1. */
int session_check_monitors (fb_star_thread *th, fb_session *ss, fb_buf *why);
/* True (and counted) when a routed syscall of service falls under an
 * active trace; called from the engine thread with ss->mu held. */
bool session_traced_locked (fb_session *ss, const char *service, const char *syscall);
void session_remove_traces (fb_session *ss, uint64_t scope);
/* "50%", "0.3", 0.3 or 30 as a probability, or -1 after raising. */
int spec_parse_probability (fb_star_thread *th, const char *fname, fb_value *v, double *out);

/* netfaults.c */
void spec_predeclare_netfaults (fb_spec *s);
/* Removes what the test left open, recording *_leaked events. */
void session_net_close (fb_session *ss);

/* run.c: one selected test (all its --runs) into t, in this process. */
void spec_run_one (fb_spec *sp, size_t test, const fb_test_options *o, fb_test_result *t);

/* jobs.c: the selected tests in o->jobs worker processes, results into rep
 * in selection order. */
int spec_run_jobs (fb_spec *sp, const fb_test_options *o, const size_t *sel, size_t n,
                   fb_report *rep, fb_error *err);

/* explore.c: --explore */
/* The syscalls an explored parallel() holds, families expanded; free with
 * fb_strv_free. */
char **spec_explore_syscalls (void);
/* out[0..n) = the index-th permutation of 0..n-1 (Lehmer code, index
 * taken modulo n!): index 0 is 0, 1, ..., n-1. */
void spec_permutation (uint64_t index, size_t n, size_t *out);
/* n!, or FB_EXPLORE_MAX_RUNS when it is more. */
uint64_t spec_explore_runs (size_t n);
/* Runs parallel()'s branches under hold and release: starts each in turn
 * once the calls of the one before are held, then releases the held calls
 * in the order of this run's permutation, each once the services went
 * quiet after the one before; branch_start(i) starts branch i,
 * branch_done(i) says whether it returned. */
void spec_explore_parallel (fb_session *ss, size_t n_branches, void (*branch_start) (void *ctx, size_t i),
                            bool (*branch_done) (void *ctx, size_t i), void *ctx);

/* steps.c */
void spec_predeclare_steps (fb_spec *s);
fb_value *spec_iface_attr (fb_star_thread *th, iface_ref *r, const char *name);

#endif
