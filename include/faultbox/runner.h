/* Running a loaded spec: each selected test (or matrix cell) in a fresh
 * lab, serially or in worker processes, sharded, explored; the one API
 * behind `faultbox test`, `replay`, `run` and `lab`. */
#ifndef FAULTBOX_RUNNER_H
#define FAULTBOX_RUNNER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultbox/engine.h"
#include "faultbox/error.h"
#include "faultbox/lab.h"
#include "faultbox/report.h"
#include "faultbox/spec.h"

/* Where a run stands, for a live progress line. */
typedef struct fb_progress {
  size_t done, total, failed;
  const char *running;     /* the oldest test still running, NULL: none */
  int64_t elapsed_ms;
} fb_progress;

#define FB_DEFAULT_MAX_EVENTS 200000
#define FB_EXPLORE_MAX_RUNS 5040 /* 7!: --explore all stops there */

typedef struct fb_test_options {
  const char *filter;      /* --test, NULL: all */
  unsigned shard, shards;  /* --shard: the shard-th (1-based) of shards slices; shards 0: all */
  uint64_t seed;
  unsigned runs;           /* >= 1 */
  unsigned jobs;           /* tests running at once, each in a worker process; 0: 1 */
  bool show_failures_only;
  bool keep_workdir;       /* the result's workdir says where */
  bool echo_output;        /* services' output also to stderr, as "[name] line" */
  bool check_determinism;  /* run each test twice; differing traces fail it */
  /* --virtual-time: delays advance a per-test virtual clock instead of
   * waiting; every service's nanosleep and clock_nanosleep return at once
   * and clock_gettime reads that clock (vDSO reads never trap) */
  bool virtual_time;
  /* --explore: each parallel() holds the syscalls of the services it
   * reaches (but nondet() ones) and releases them in the order of one
   * permutation per run, the same seed for every run. ALL runs every
   * permutation of the calls the first run held (at most
   * FB_EXPLORE_MAX_RUNS), SAMPLE the first `runs` of them, ONE only
   * explore_index (a replay). */
  enum { FB_EXPLORE_NONE, FB_EXPLORE_ALL, FB_EXPLORE_SAMPLE, FB_EXPLORE_ONE } explore;
  uint64_t explore_index;
  /* Events kept per test (--max-events); a test whose services make more
   * intercepted syscalls fails as an error. 0: FB_DEFAULT_MAX_EVENTS. */
  uint64_t max_events;
  /* Keep each result's event log in the report after on_result (for JSON,
   * --normalize, HTML); otherwise it is freed there, so the memory of a
   * long run stays flat. */
  bool keep_events;
  /* Nonzero (e.g. set by a signal handler): stop now, killing the workers
   * and their labs; finished tests stay in the report, report->not_run
   * counts the rest. */
  const volatile sig_atomic_t *stop;
  /* Called after each test in the order of a serial run, e.g. to print. */
  void (*on_result) (void *ctx, const fb_report *r, const fb_test_result *t);
  /* Called when a test starts or finishes and about every 250 ms between. */
  void (*on_progress) (void *ctx, const fb_progress *p);
  void *ctx;
} fb_test_options;

/* Syscalls service i's seccomp filter routes to the engine in a run with
 * options o (NULL: what the spec's rules name), NULL-terminated; NULL when
 * it gets no filter. Free with fb_strv_free. */
char **fb_run_service_filter (const fb_spec *s, size_t i, const fb_test_options *o);

/* The tests o selects (its filter, then its shard: a contiguous slice of
 * the sorted list), as indexes for fb_spec_test_name, in run order. An
 * empty shard is not an error; a filter that matches nothing is. */
int fb_run_select (const fb_spec *s, const fb_test_options *o, size_t **out, size_t *n,
                    fb_error *err);

/* Runs the selected tests, each in a fresh lab, o->jobs at a time, filling
 * report in the order of a serial run; seeds do not depend on scheduling.
 * Call it before the process starts threads (it forks). Returns
 * -1 with err for errors of the run itself (no test matched the filter, the
 * lab cannot be built); test failures are results, not errors. */
int fb_run_tests (fb_spec *s, const fb_test_options *o, fb_report *report,
                 fb_error *err);

/* `faultbox run`: one binary, the service "target", in a lab of its own,
 * with syscall faults; its stdio is ours. */
typedef struct fb_run_binary_options {
  char *const *argv;       /* argv[0]: a path, or a name searched in PATH */
  char *const *env;        /* K=V on top of this process's environment; may be NULL */
  const fb_rule *rules;
  size_t n_rules;
  uint64_t seed;
  /* Installs handlers while the target runs: SIGINT and SIGTERM go to the
   * target once its delayed and held calls are let go (so its own handler
   * runs; one that came while it started, once it runs), and 2 s later
   * SIGALRM kills it. */
  bool forward_signals;
  /* The syscalls the target's filter routes to the engine (NULL-terminated),
   * before it starts; not called when no rule needs a filter. */
  void (*on_filter) (void *ctx, char *const *syscalls);
  /* Each fault injected, from the engine's thread. */
  void (*on_fault) (void *ctx, const fb_engine_event *ev);
  /* Each rule, in order, once the target exited. */
  void (*on_rule) (void *ctx, const fb_rule *rule, uint64_t matched, uint64_t fired);
  void *ctx;
} fb_run_binary_options;

/* Runs it to its end; *exit_status: its status (128+N when signal N killed
 * it). Fails when it cannot start, or when some of its intercepted calls
 * went unanswered (then its status means nothing). */
int fb_run_binary (const fb_run_binary_options *o, int *exit_status, fb_error *err);

/* A service of `faultbox lab`. */
typedef struct fb_run_lab_service {
  const char *name;
  char *const *argv;       /* argv[0]: a path or a name searched in PATH; under rootfs, absolute in it */
} fb_run_lab_service;

/* `faultbox lab`: services in a lab, until a command ends or *stop. */
typedef struct fb_run_lab_options {
  const fb_run_lab_service *services;
  size_t n_services;
  const char *const *binds; /* host directories every service sees, read-only; may be NULL */
  fb_limits limits;        /* of each service */
  const char *rootfs;      /* every service's root (fb_service_plan.rootfs), NULL: the host's */
  char *const *env;        /* every service's environment ("K=V", NULL-terminated); NULL: ours */
  bool keep_workdir;
  bool echo_output;
  /* A shell command run from the lab's client address; its status is
   * the run's. NULL: run until *stop is nonzero or every service exited. */
  const char *run;
  /* Instead of run: called in the lab's client network namespace once
   * every service started; its failure is the run's. */
  int (*in_lab) (void *ctx, fb_lab *lab, fb_error *err);
  const volatile sig_atomic_t *stop;
  /* Every service started. */
  void (*on_up) (void *ctx, const fb_lab *lab);
  /* Before the lab goes, its logs still readable: the services stopped,
   * or failed says why they did not run (a service that did not start
   * leaves the others as they are); fb_run_lab then fails with it. */
  void (*on_down) (void *ctx, const fb_lab *lab, const fb_error *failed);
  void *ctx;
} fb_run_lab_options;

/* *exit_status: the command's status, else 0. */
int fb_run_lab (const fb_run_lab_options *o, int *exit_status, fb_error *err);

/* ---- faultbox init ------------------------------------------------------ */

/* What a server at a port speaks, as `faultbox init` finds out. */
typedef enum {
  FB_SPEAKS_TCP,       /* none of the others (or it talks first: a banner) */
  FB_SPEAKS_HTTP,
  FB_SPEAKS_REDIS,
  FB_SPEAKS_POSTGRES,
  FB_SPEAKS_MYSQL,
  FB_SPEAKS_MEMCACHED,
  FB_SPEAKS_NATS,      /* the last */
} fb_speaks;

/* The protocol name of what it speaks: "tcp", "http", "redis", "postgres", "mysql", "memcached", "nats". */
const char *fb_speaks_name (fb_speaks s);

/* What each probe got back (NULL: nothing, or the connection closed): the
 * bytes the server sent unasked (a MySQL greeting, NATS's INFO), its
 * answer to a RESP PING, to an HTTP GET, to a Postgres SSLRequest, and to
 * memcached's "version". Pure: which protocol that is. */
fb_speaks fb_speaks_classify (const char *banner, size_t banner_len, const char *ping, const char *get,
                              const char *ssl, size_t ssl_len, const char *version);

typedef struct fb_init_options {
  const char *binary;
  char *const *args;     /* after the binary, into the spec's args= too */
  size_t n_args;
  const char *name;      /* NULL: the binary's file name */
  int port;              /* 0: 8080 */
  const char *protocol;  /* NULL: start the binary in a lab and probe the port (root) */
  const char *file;      /* the spec's file name, for its comments */
  int64_t probe_timeout_ms; /* how long the port may take to open; 0: 30 s */
} fb_init_options;

typedef struct fb_init_result {
  char *spec;            /* the starter spec's text */
  const char *protocol;  /* the protocol it speaks to the service */
  char *probed;          /* what the probe saw ("PING answered +PONG"); NULL: not probed */
} fb_init_result;

/* A starter spec for one service that passes as written: the service, its
 * healthcheck, steps of its protocol, a protocol fault and a syscall
 * fault. */
int fb_init_spec (const fb_init_options *o, fb_init_result *out, fb_error *err);
void fb_init_result_clear (fb_init_result *r);

#endif
