/* What the spec builtins share among themselves. */
#ifndef FB_LANG_INTERNAL_H
#define FB_LANG_INTERNAL_H

#include "faultbox/mock.h"
#include "faultbox/protocol.h"
#include "lang/session.h"

/* host types */
extern const fb_host_type spec_service_type;
extern const fb_host_type spec_iface_decl_type;
extern const fb_host_type spec_iface_ref_type;
extern const fb_host_type spec_healthcheck_type;
extern const fb_host_type spec_op_type;
extern const fb_host_type spec_fault_type;
extern const fb_host_type spec_assumption_type;
extern const fb_host_type spec_monitor_type;
extern const fb_host_type spec_proxy_fault_type;
extern const fb_host_type spec_client_type;

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

/* load.c */
/* Predeclares a table of builtins on the spec's thread. */
void spec_predeclare_all (fb_spec *s, const spec_builtin *fns, size_t n);
fb_spec *spec_of (fb_star_thread *th);
/* The running test's session, or NULL after raising "fname: what (called
 * while loading the spec)". */
fb_session *spec_session (fb_star_thread *th, const char *fname, const char *what);
/* 0 when v (a keyword's value, NULL if not given) asks for nothing; else -1
 * after raising "fname name: kw= is not supported yet" (name may be NULL). */
int spec_unsupported (fb_star_thread *th, const char *fname, const char *name, const char *kw,
                      fb_value *v, bool falsy_ok);

/* Notes a file the spec read (by real path), for replay bundles. */
void spec_record_file (fb_spec *sp, const char *real);
/* Reads path (relative: to the spec's directory) into out, recorded for
 * bundles; raises naming fname and the path as the user wrote it. */
int spec_read_data (fb_star_thread *th, const char *fname, const char *path, fb_buf *out);

/* topology.c: service, interface, tcp, http, op */
void spec_predeclare_topology (fb_spec *s);
/* The service a value names (a Service or an InterfaceRef), or -1 after
 * raising an error mentioning fname. */
ssize_t spec_service_arg (fb_star_thread *th, const char *fname, fb_value *v);
/* The name a service()-like builtin was given (its first positional): a
 * valid lab name not taken yet; NULL after raising. */
const char *spec_service_name (fb_star_thread *th, const fb_spec *sp, const char *fname, const fb_star_args *a);
/* Adds v to sv's interfaces when it is an interface(...): 1; 0 when it is
 * not one; -1 after raising (a duplicate). */
int spec_service_iface (fb_star_thread *th, fb_plan_service *sv, fb_value *v);
int spec_service_deps (fb_star_thread *th, fb_spec *sp, fb_plan_service *s, fb_value *deps);
/* Appends sv (taken) to the plan, declared here; returns its service value. */
fb_value *spec_service_register (fb_star_thread *th, fb_spec *sp, fb_plan_service *sv);

/* mocks.c: mock_service and the response constructors; mockhub.c: the
 * runner's end of the mock servers' connections */
void spec_predeclare_mocks (fb_spec *s);
/* The mock_response a value holds (NULL if it is none); *fn its dynamic()
 * handler or NULL. */
const fb_mock_response *spec_mock_response (fb_value *v, fb_value **fn);

/* determinism.c: determinism() */
void spec_predeclare_determinism (fb_spec *s);
/* service(nondeterministic_ok=): True (every category), a list of them,
 * or None/False; raises naming the service. */
int spec_det_nondet_ok (fb_star_thread *th, const char *service, fb_value *v, unsigned *out);
/* The category (an index of the list determinism() knows, -1: none) a
 * call reaches, and what it reached in detail: syscall, its arguments,
 * the path or "ip:port" the engine read, the lab's addresses. Pure. */
int spec_det_classify (const char *syscall, const uint64_t *args, const char *path, char *const *lab, size_t n_lab,
                       char *detail, size_t len);

/* faults.c */
void spec_predeclare_faults (fb_spec *s);
/* Installs kw=fault on service svc in scope; raises naming fname. */
int session_install (fb_star_thread *th, const char *fname, fb_session *ss,
                     size_t svc, const char *kw, fb_value *fault, uint64_t scope);
/* A new, zeroed entry of the test's fault summaries. */
fb_fault_summary *session_add_summary (fb_session *ss);
/* The syscall families a keyword names on svc (an op of the service, or a
 * syscall family), each routed by svc's filter; raises naming fname. */
char **spec_keyword_syscalls (fb_star_thread *th, const char *fname, fb_spec *sp,
                              size_t svc, const char *kw, const char **path_glob);

/* domain.c: scenario, fault_assumption, fault_scenario, fault_matrix */
void spec_predeclare_domain (fb_spec *s);
/* Appends a registered test; duplicate names are checked after loading. */
void spec_add_test (fb_spec *sp, const spec_test *t);
const char *spec_assumption_name (fb_value *v);

/* events.c: events(), assert_eventually/never/before, monitor(), match,
 * trace() */
void spec_predeclare_events (fb_spec *s);
/* Passed to monitors=: no longer spec-wide. */
void spec_monitor_attach (fb_value *monitor);
void session_remove_traces (fb_session *ss, uint64_t scope);
/* "50%", "0.3", 0.3 or 30 as a probability, or -1 after raising. */
int spec_parse_probability (fb_star_thread *th, const char *fname, fb_value *v, double *out);

/* An event of the log as a Starlark value (a shallow copy). */
extern const fb_host_type spec_event_type;
fb_value *spec_event_value (fb_star_thread *th, const fb_event *ev);
/* The log up to now, as shallow copies taken under the lock; free(). */
fb_event *session_snapshot (fb_session *ss, size_t *n);
bool spec_is_matcher (fb_value *v);
/* match.event(**filters) as fname. */
fb_value *spec_match_event (fb_star_thread *th, const char *fname, const fb_star_args *a);
/* Whether ev matches m (a match.* matcher, or a predicate of one event):
 * 1 or 0, -1 when the predicate raised. */
int spec_event_matches (fb_star_thread *th, fb_value *m, const fb_event *ev);
/* proxyfaults.c: response, error, drop, duplicate, delay(delay=) */
void spec_predeclare_proxyfaults (fb_spec *s);
/* delay() without a positional duration: the protocol-level rule. */
fb_value *spec_proxy_delay (fb_star_thread *th, const fb_star_args *a);
/* Installs one rule value on interface r in scope; the proxy_fault_applied
 * event carries why_kv=why (source= or assumption=). Raises naming fname. */
int spec_proxy_install (fb_star_thread *th, const char *fname, fb_session *ss, const iface_ref *r, fb_value *v,
                        uint64_t scope, const char *why_kv, const char *why);
/* fault()/fault_start() with an interface as the target. */
int spec_proxy_fault (fb_star_thread *th, const char *fname, fb_session *ss, const fb_star_args *a,
                      uint64_t scope);
void spec_proxy_fault_stop (fb_session *ss, const iface_ref *r);
void session_proxy_remove_scope (fb_session *ss, uint64_t scope);
void session_proxy_remove_all (fb_session *ss);
/* load.c: marks service svc's interface iface (every framed one when
 * iface < 0, every service's when svc < 0) for the proxy. */
void spec_mark_proxied (fb_spec *sp, ssize_t svc, ssize_t iface);
/* lifecycle.c: kill, restart, pause, resume */
void spec_predeclare_lifecycle (fb_spec *s);
/* A lifecycle action of a fault_assumption (crash=, restart=, freeze=). */
typedef enum { SPEC_LIFE_CRASH, SPEC_LIFE_RESTART, SPEC_LIFE_FREEZE } spec_life_kind;
typedef struct {
  size_t svc;
  spec_life_kind action;
  int sig;              /* crash= */
} spec_life_action;
/* Does act now; a freeze lasts until scope is removed. Raises naming fname. */
int session_lifecycle_apply (fb_star_thread *th, const char *fname, fb_session *ss, const spec_life_action *act,
                             uint64_t scope);
/* The signal a name ("SIGTERM", "TERM") means, or -1 after raising. */
int spec_lifecycle_signal (fb_star_thread *th, const char *fname, const char *name);

/* observe.c: observe.stdout/stderr, decoder() */
void spec_predeclare_observe (fb_spec *s);
/* service(observe=[...]) into the plan's service; -1 after raising. */
int spec_observe_items (fb_star_thread *th, fb_plan_service *sv, fb_value *items);

/* netfaults.c */
void spec_predeclare_netfaults (fb_spec *s);

/* client.c: client() */
void spec_predeclare_client (fb_spec *s);

/* steps.c */
void spec_predeclare_steps (fb_spec *s);
fb_value *spec_iface_attr (fb_star_thread *th, iface_ref *r, const char *name);
/* Turns a step's result into what its Response shows; -1 after raising. */
typedef int (*spec_step_finish) (fb_star_thread *th, fb_step_result *res, void *ctx);
/* Step m of interface r with args, in the running test: its step_send and
 * step_recv events (extra: "k", "v", ..., NULL after "target", and
 * string attributes of the Response), proxy rules and all, as
 * r.METHOD(...) runs it; finish (NULL: none) edits the result first. The
 * Response, or NULL after raising. */
fb_value *spec_step_run (fb_star_thread *th, const iface_ref *r, const fb_step_method *m, const fb_step_arg *args,
                         const char *const *extra, spec_step_finish finish, void *fctx);

/* time.c: duration, sleep, await_event, await_stable, eventually, always,
 * test() */
void spec_predeclare_time (fb_spec *s);

/* A duration argument: a string ("1.5s") or an int of nanoseconds; -1
 * after raising naming fname. */
int spec_duration_arg (fb_star_thread *th, const char *fname, fb_value *v, int64_t *out);
/* trace.c: the event list trace queries return (a sequence with .map,
 * .filter, .reduce, .first, .last, .count) wrapping a list of events */
extern const fb_host_type spec_event_list_type;
fb_value *spec_event_list (fb_star_thread *th, fb_value *list);
/* trace.events_between/events_within/causal_chain over evs[0, n). */
fb_value *spec_trace_query (fb_star_thread *th, const char *name, const fb_event *evs, size_t n,
                            const fb_star_args *a);
/* event.happens_before(...), .duration_since(...), ...: a bound method,
 * NULL when name is none. */
fb_value *spec_event_method (fb_star_thread *th, fb_value *self, const char *name);
/* choose.c: choose, halt, assume */
void spec_predeclare_choose (fb_spec *s);
/* An assume= predicate: callable or bool, else -1 after raising naming fname. */
int spec_check_assume (fb_star_thread *th, const char *fname, fb_value *v);
/* Evaluates one: 0 with *why NULL (held) or "assume(p) not satisfied";
 * -1 with *why "assume(p) raised: ..." (the error taken). */
int spec_eval_assume (fb_star_thread *th, fb_value *pred, char **why);
/* data.c: load_file, load_json, load_yaml */
void spec_predeclare_data (fb_spec *s);

/* expect.c: expect_success, expect_error_within, expect_hang */
void spec_predeclare_expect (fb_spec *s);

#endif
