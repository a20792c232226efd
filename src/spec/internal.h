/* Shared state of the spec builtins and the test runner. */
#ifndef FB_SPEC_INTERNAL_H
#define FB_SPEC_INTERNAL_H

#include <pthread.h>

#include "faultbox/engine.h"
#include "faultbox/lab.h"
#include "faultbox/spec.h"
#include "faultbox/star.h"

typedef struct fb_session fb_session;

typedef struct {
  char *name;
  fb_value *fn;
} spec_test;

struct fb_spec {
  char *file;           /* as the user named it */
  char *dir;            /* directory of the file, for relative binaries */
  fb_star_thread *th;
  fb_star_module *mod;
  fb_plan plan;
  char ***filters;      /* per service: syscalls its seccomp filter routes */
  size_t *n_filters;
  spec_test *tests;
  size_t n_tests;
  fb_session *session;  /* the test running now, NULL while loading */
};

/* One installed fault or trace rule, for the summary lines. */
typedef struct {
  size_t svc;
  uint64_t scope;
  uint64_t id;
  fb_rule rule;
} session_rule;

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
  struct session_net *net; /* netfaults.c: open partitions and link faults */
};

/* host types */
extern const fb_host_type spec_service_type;
extern const fb_host_type spec_iface_decl_type;
extern const fb_host_type spec_iface_ref_type;
extern const fb_host_type spec_healthcheck_type;
extern const fb_host_type spec_op_type;
extern const fb_host_type spec_fault_type;

typedef struct {
  fb_spec *spec;
  size_t svc;
} service_ref;

typedef struct {
  fb_spec *spec;
  size_t svc, iface;
} iface_ref;

/* spec.c */
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
void session_remove_all (fb_session *ss);
/* "50%", "0.3", 0.3 or 30 as a probability, or -1 after raising. */
int spec_parse_probability (fb_star_thread *th, const char *fname, fb_value *v, double *out);

/* netfaults.c */
void spec_predeclare_netfaults (fb_spec *s);
/* Removes what the test left open, recording *_leaked events. */
void session_net_close (fb_session *ss);

/* steps.c */
void spec_predeclare_steps (fb_spec *s);
fb_value *spec_iface_attr (fb_star_thread *th, iface_ref *r, const char *name);

#endif
