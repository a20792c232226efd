/* --explore: parallel() under hold and release. The services' calls that
 * make the branches' effects (reads, writes, connects ...) are held as
 * they come, then released one by one in the order of a permutation, one
 * permutation per run, so a test sees the interleavings a race could
 * take rather than the one the scheduler happens to pick. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/time.h"

#define EXPLORE_LABEL "explore"
/* how long a branch may take to reach a held call */
#define FIRST_HELD_NS (5 * FB_NS_PER_S)
/* no new held call, or no event at all, for this long: the others have
 * queued, or the services went quiet ... */
#define SETTLE_NS (50 * FB_NS_PER_MS)
/* ... or at most this long */
#define QUIET_MAX_NS (1 * FB_NS_PER_S)
#define POLL_NS (2 * FB_NS_PER_MS)

uint64_t
runner_explore_runs (size_t n)
{
  uint64_t f = 1;
  for (size_t i = 2; i <= n && f < FB_EXPLORE_MAX_RUNS; i++)
    f *= i;
  return f < FB_EXPLORE_MAX_RUNS ? f : FB_EXPLORE_MAX_RUNS;
}

void
runner_permutation (uint64_t index, size_t n, size_t *out)
{
  /* the factorial digits, from the last (base 1) up; what is left of
   * index past n! is dropped */
  _cleanup_free_ size_t *digit = fb_xcalloc (n + 1, sizeof *digit);
  for (size_t r = 1; r <= n; r++)
    {
      digit[n - r] = (size_t) (index % r);
      index /= r;
    }
  _cleanup_free_ size_t *left = fb_xcalloc (n + 1, sizeof *left);
  for (size_t i = 0; i < n; i++)
    left[i] = i;
  for (size_t j = 0; j < n; j++)
    {
      out[j] = left[digit[j]];
      memmove (&left[digit[j]], &left[digit[j] + 1], (n - j - 1 - digit[j]) * sizeof *left);
    }
}

static size_t
held_now (fb_session *ss)
{
  return fb_engine_held (ss->engine, 0, EXPLORE_LABEL);
}


/* Waits until count has not changed for SETTLE_NS (QUIET_MAX_NS at
 * most); returns its last value. */
static size_t
until_still (fb_session *ss, size_t (*count) (fb_session *))
{
  size_t n = count (ss);
  int64_t start = fb_now_ns (), still_since = start;
  while (fb_now_ns () - still_since < SETTLE_NS && fb_now_ns () - start < QUIET_MAX_NS)
    {
      fb_sleep_ns (POLL_NS);
      size_t m = count (ss);
      if (m != n)
        n = m, still_since = fb_now_ns ();
    }
  return n;
}

/* A rule of action a on the held syscalls of every service but the
 * nondet() ones, in scope. */
static void
add_rules (fb_session *ss, char **syscalls, fb_action a, uint64_t scope)
{
  fb_rule r = { .keyword = "explore", .syscalls = syscalls, .action = a, .probability = 1.0,
                .label = EXPLORE_LABEL };
  for (size_t i = 0; i < ss->spec->plan.n_services; i++)
    if (!ss->nondet[i])
      fb_engine_add_rule (ss->engine, ss->spec->plan.services[i].name, &r, scope, NULL, NULL);
}

void
runner_explore_parallel (fb_session *ss, size_t n_branches, void (*branch_start) (void *ctx, size_t i),
                       bool (*branch_done) (void *ctx, size_t i), void *ctx)
{
  _cleanup_strv_ char **syscalls = spec_explore_syscalls ();
  uint64_t hold_scope = ++ss->next_scope, free_scope = ++ss->next_scope;
  /* the services quiet first, so that what is left of earlier work (a
   * thread reading the end of the healthcheck's connection) is not held
   * with the branches' calls and the count is the same in every run */
  until_still (ss, session_log_len);
  add_rules (ss, syscalls, FB_ACT_HOLD, hold_scope);
  /* one branch after the other once the one before is held, so that the
   * calls are held in branch order and a permutation index means the
   * same order in every run */
  size_t n = 0;
  for (size_t i = 0; i < n_branches; i++)
    {
      branch_start (ctx, i);
      int64_t deadline = fb_now_ns () + FIRST_HELD_NS;
      while (held_now (ss) <= n && !branch_done (ctx, i) && fb_now_ns () < deadline)
        fb_sleep_ns (POLL_NS);
      /* the others it set off queue */
      n = until_still (ss, held_now);
    }
  /* later calls run free (an inner scope shadows the holds); the held
   * ones wait for their turn */
  add_rules (ss, syscalls, FB_ACT_ALLOW, free_scope);
  _cleanup_free_ size_t *order = fb_xcalloc (n + 1, sizeof *order);
  _cleanup_free_ bool *gone = fb_xcalloc (n + 1, sizeof *gone);
  runner_permutation (ss->explore_index, n, order);
  _cleanup_buf_ fb_buf desc = FB_BUF_INIT;
  for (size_t j = 0; j < n; j++)
    {
      /* the k-th of those still held is order[j]-th of the first n */
      size_t k = 0;
      for (size_t m = 0; m < order[j]; m++)
        k += !gone[m];
      fb_engine_release_nth (ss->engine, 0, EXPLORE_LABEL, k, 0);
      gone[order[j]] = true;
      /* what it set off is done before the next one runs, however
       * loaded the machine */
      if (j + 1 < n)
        until_still (ss, session_log_len);
      fb_buf_printf (&desc, "%s%zu", j ? "," : "", order[j]);
    }
  fb_engine_remove_scope (ss->engine, free_scope);
  fb_engine_remove_scope (ss->engine, hold_scope);
  char held[24], index[24];
  snprintf (held, sizeof held, "%zu", n);
  snprintf (index, sizeof index, "%llu", (unsigned long long) ss->explore_index);
  const char *kv[] = { "held", held, "index", index, "order", fb_buf_str (&desc), NULL };
  session_event (ss, "explore", "test", kv);
  if (!ss->explored)
    ss->explored = true, ss->explore_held = n;
}
