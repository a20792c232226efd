/* Running a loaded spec: each selected test (or matrix cell) in a fresh
 * lab, serially or in worker processes, sharded, explored; the one API
 * behind `faultbox test`, `replay`, `run` and `lab`. */
#ifndef FAULTBOX_RUNNER_H
#define FAULTBOX_RUNNER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultbox/error.h"
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

#endif
