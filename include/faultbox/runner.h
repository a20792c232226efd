/* `faultbox test`: load a spec, run its tests and matrix cells, each in a
 * fresh lab, and fill a report. Progress reaches the caller through a
 * callback (the library never prints). */
#ifndef FAULTBOX_RUNNER_H
#define FAULTBOX_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include "faultbox/error.h"
#include "faultbox/report.h"

typedef struct fb_run_options {
  const char *spec_path;
  const char *test_pattern;      /* NULL = all */
  uint64_t seed;
  unsigned runs;                 /* >= 1 */
  bool dry_run;
  bool verbose;                  /* stream service output through on_output */
  bool keep_workdir;
  const char *workdir;           /* base for per-cell work dirs; NULL = /tmp */
  /* Called after each test with its result, in run order. */
  void (*on_test_done) (void *ctx, const fb_report *r, const fb_test_result *t);
  /* Free-form progress and warnings ("service db: ..."), one line each. */
  void (*on_message) (void *ctx, const char *line);
  void *ctx;
} fb_run_options;

/* Listing for --dry-run: filled instead of running when opts->dry_run. */
typedef struct fb_spec_listing {
  char **services;
  size_t n_services;
  char **tests;
  size_t n_tests;
  size_t n_matrix_cells;
} fb_spec_listing;

/* Returns 0 when the run happened (tests may have failed: see the report),
 * negative on a spec or runner error (err names file:line:col where it can). */
int fb_run_spec (const fb_run_options *opts, fb_report *report, fb_spec_listing *listing, fb_error *err);

void fb_spec_listing_free (fb_spec_listing *l);

#endif
