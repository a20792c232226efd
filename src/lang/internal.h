/* What the spec builtins share among themselves. */
#ifndef FB_LANG_INTERNAL_H
#define FB_LANG_INTERNAL_H

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

/* topology.c: service, interface, tcp, http, op */
void spec_predeclare_topology (fb_spec *s);
/* The service a value names (a Service or an InterfaceRef), or -1 after
 * raising an error mentioning fname. */
ssize_t spec_service_arg (fb_star_thread *th, const char *fname, fb_value *v);

/* faults.c */
void spec_predeclare_faults (fb_spec *s);
/* Installs kw=fault on service svc in scope; raises naming fname. */
int session_install (fb_star_thread *th, const char *fname, fb_session *ss,
                     size_t svc, const char *kw, fb_value *fault, uint64_t scope);
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

/* steps.c */
void spec_predeclare_steps (fb_spec *s);
fb_value *spec_iface_attr (fb_star_thread *th, iface_ref *r, const char *name);

#endif
