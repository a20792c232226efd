/* A loaded spec and `faultbox test`: the Starlark builtins of the spec
 * language (topology, steps, faults, assertions) and the runner that gives
 * every test a fresh lab. */
#ifndef FAULTBOX_SPEC_H
#define FAULTBOX_SPEC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultbox/error.h"
#include "faultbox/plan.h"
#include "faultbox/report.h"

typedef struct fb_spec fb_spec;

/* Loads and executes a spec file: builds the plan and discovers tests.
 * Errors name file:line:col. */
int fb_spec_load (const char *path, fb_spec **out, fb_error *err);
void fb_spec_free (fb_spec *s);

/* A spec read from copies of its files (a replay bundle), behaving as it
 * did where it was: messages and reports name it path, relative service
 * binaries resolve in dir, its relative load()s find the copies next to
 * copy, and loads of moved_from[i] (absolute) read moved_to[i]. */
typedef struct fb_spec_source {
  const char *path;
  const char *copy;            /* NULL: read path itself */
  const char *dir;             /* NULL: path's directory */
  char *const *moved_from;
  char *const *moved_to;
  size_t n_moved;
} fb_spec_source;
int fb_spec_load_source (const fb_spec_source *src, fb_spec **out, fb_error *err);
/* The files loading read, by real path: [0] the spec, then what it
 * load()ed; and the directory relative service binaries resolve in. */
size_t fb_spec_file_count (const fb_spec *s);
const char *fb_spec_file (const fb_spec *s, size_t i);
const char *fb_spec_dir (const fb_spec *s);

const fb_plan *fb_spec_plan (const fb_spec *s);
/* Syscalls service i's seccomp filter routes to the engine (NULL-terminated,
 * NULL when it gets no filter). */
char *const *fb_spec_service_filter (const fb_spec *s, size_t i);
size_t fb_spec_test_count (const fb_spec *s);
const char *fb_spec_test_name (const fb_spec *s, size_t i);
/* True for the cells of a fault_matrix(). */
bool fb_spec_test_is_matrix_cell (const fb_spec *s, size_t i);

/* Where a run stands, for a live progress line. */
typedef struct fb_progress {
  size_t done, total, failed;
  const char *running;     /* the oldest test still running, NULL: none */
  int64_t elapsed_ms;
} fb_progress;

#define FB_DEFAULT_MAX_EVENTS 200000

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

/* The tests o selects (its filter, then its shard: a contiguous slice of
 * the sorted list), as indexes for fb_spec_test_name, in run order. An
 * empty shard is not an error; a filter that matches nothing is. */
int fb_spec_select (const fb_spec *s, const fb_test_options *o, size_t **out, size_t *n,
                    fb_error *err);

/* Runs the selected tests, each in a fresh lab, o->jobs at a time, filling
 * report in the order of a serial run; seeds do not depend on scheduling.
 * Call it before the process starts threads (it forks). Returns
 * -1 with err for errors of the run itself (no test matched the filter, the
 * lab cannot be built); test failures are results, not errors. */
int fb_spec_run (fb_spec *s, const fb_test_options *o, fb_report *report,
                 fb_error *err);

#endif
