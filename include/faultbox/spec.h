/* A loaded spec and `faultbox test`: the Starlark builtins of the spec
 * language (topology, steps, faults, assertions) and the runner that gives
 * every test a fresh lab. */
#ifndef FAULTBOX_SPEC_H
#define FAULTBOX_SPEC_H

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

const fb_plan *fb_spec_plan (const fb_spec *s);
/* Syscalls service i's seccomp filter routes to the engine (NULL-terminated,
 * NULL when it gets no filter). */
char *const *fb_spec_service_filter (const fb_spec *s, size_t i);
size_t fb_spec_test_count (const fb_spec *s);
const char *fb_spec_test_name (const fb_spec *s, size_t i);
/* True for the cells of a fault_matrix(). */
bool fb_spec_test_is_matrix_cell (const fb_spec *s, size_t i);

typedef struct fb_test_options {
  const char *filter;      /* --test, NULL: all */
  uint64_t seed;
  unsigned runs;           /* >= 1 */
  bool show_failures_only;
  bool keep_workdir;
  bool check_determinism;  /* run each test twice; differing traces fail it */
  /* Called after each test (from the runner's thread), e.g. to print. */
  void (*on_result) (void *ctx, const fb_report *r, const fb_test_result *t);
  void *ctx;
} fb_test_options;

/* Runs the selected tests, each in a fresh lab, filling report. Returns
 * -1 with err for errors of the run itself (no test matched the filter, the
 * lab cannot be built); test failures are results, not errors. */
int fb_spec_run (fb_spec *s, const fb_test_options *o, fb_report *report,
                 fb_error *err);

#endif
