/* What the runner's files share: one test in this process, the worker
 * processes, and --explore's hold and release. */
#ifndef FB_RUNNER_INTERNAL_H
#define FB_RUNNER_INTERNAL_H

#include "lang/session.h"

/* cell.c: one selected test (all its --runs) into t, in this process. */
void runner_run_test (fb_spec *sp, size_t test, const fb_test_options *o, fb_test_result *t);

/* routes.c: the syscalls only determinism() routes for service i. */
char **runner_det_only (const fb_spec *s, size_t i, const fb_test_options *o);

/* service.c: what every lab the runner makes needs of its services. */
/* A lab's on_listener (ctx: runner_listeners; the engine already started):
 * the engine serves service idx's listener from here on. */
typedef struct runner_listeners {
  fb_engine *engine;
  const fb_service_plan *services;
} runner_listeners;
int runner_hand_over (void *ctx, size_t idx, pid_t pid, int fd, fb_error *err);
/* A binary given on the command line: argv with argv[0] resolved (as
 * given under a rootfs: the root's own) and its read-only binds, the
 * binary's directories (none under a rootfs), then extra (may be NULL). */
typedef struct runner_binary {
  fb_binpath bin;
  char **argv;
  const char **binds;
} runner_binary;
int runner_binary_resolve (char *const *argv, const char *const *extra, bool rootfs, runner_binary *out,
                           fb_error *err);
void runner_binary_clear (runner_binary *b);

/* workers.c: the selected tests in o->jobs worker processes, results into
 * rep in selection order. */
int runner_run_workers (fb_spec *sp, const fb_test_options *o, const size_t *sel, size_t n,
                        fb_report *rep, fb_error *err);

/* explore.c: --explore */
/* out[0..n) = the index-th permutation of 0..n-1 (Lehmer code, index
 * taken modulo n!): index 0 is 0, 1, ..., n-1. */
void runner_permutation (uint64_t index, size_t n, size_t *out);
/* n!, or FB_EXPLORE_MAX_RUNS when it is more. */
uint64_t runner_explore_runs (size_t n);
/* Runs parallel()'s branches under hold and release: starts each in turn
 * once the calls of the one before are held, then releases the held calls
 * in the order of this run's permutation, each once the services went
 * quiet after the one before (fb_session.explore_parallel). */
void runner_explore_parallel (fb_session *ss, size_t n_branches, void (*branch_start) (void *ctx, size_t i),
                              bool (*branch_done) (void *ctx, size_t i), void *ctx);

#endif
