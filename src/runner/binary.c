/* `faultbox run`: one binary in a lab of its own under the engine, the
 * signals a terminal sends passed on to it. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "runner/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"

static void
engine_event (void *ctx, const fb_engine_event *ev)
{
  const fb_run_binary_options *o = ctx;
  if (ev->faulted && o->on_fault)
    o->on_fault (o->ctx, ev);
}

static fb_lab *volatile the_lab;
static fb_engine *volatile the_engine;
static volatile sig_atomic_t early_signal; /* came while the target was starting */

/* Ctrl-C or SIGTERM reach the target first, after its delayed calls are let
 * go (so its handler can run); one that ignores them (or inherited SIG_IGN)
 * is killed after a grace period. */
static void
forward_signal (int sig)
{
  if (!the_lab)
    {
      early_signal = sig;
      return;
    }
  if (sig == SIGALRM)
    fb_lab_signal (the_lab, SIGKILL);
  else
    {
      fb_engine_drain (the_engine);
      fb_lab_signal (the_lab, sig);
      alarm (2);
    }
}

static const int forwarded[] = { SIGINT, SIGTERM, SIGALRM };

/* The target's environment: ours with env on top, as putenv would make
 * it (a name we have keeps its place). */
static char **
target_env (char *const *env)
{
  extern char **environ;
  size_t n = 0, n_env = 0;
  while (environ && environ[n])
    n++;
  while (env && env[n_env])
    n_env++;
  char **out = fb_xcalloc (n + n_env + 1, sizeof *out);
  if (n)
    memcpy (out, environ, n * sizeof *out);
  for (size_t k = 0; k < n_env; k++)
    {
      size_t key = strcspn (env[k], "=") + 1;
      size_t i = 0;
      while (i < n && strncmp (out[i], env[k], key))
        i++;
      n += i == n;
      out[i] = env[k];
    }
  return out;
}

/* Starts the lab and waits for the target: 0 and its status, or -1. */
static int
run_target (const fb_lab_plan *plan, fb_engine *engine, bool forward, int *exit_status, fb_error *err)
{
  struct sigaction old[sizeof forwarded / sizeof *forwarded];
  the_engine = engine;
  early_signal = 0;
  /* handlers first: a signal that comes while the target starts is
   * forwarded once it runs, not lost to an inherited SIG_IGN */
  struct sigaction sa = { .sa_handler = forward_signal };
  for (size_t i = 0; forward && i < sizeof forwarded / sizeof *forwarded; i++)
    sigaction (forwarded[i], &sa, &old[i]);
  fb_lab *lab = NULL;
  int rc = -1;
  if (fb_lab_create (plan, &lab, err) == 0 && fb_lab_start_service (lab, 0, err) == 0)
    {
      the_lab = lab;
      if (early_signal)
        forward_signal (early_signal);
      *exit_status = fb_lab_wait_service (lab, 0);
      the_lab = NULL;
      fb_engine_drain (engine); /* what the target's children still wait on */
      rc = 0;
    }
  fb_lab_destroy (lab);
  if (forward)
    {
      alarm (0); /* the grace period of a target that is gone */
      for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
        sigaction (forwarded[i], &old[i], NULL);
    }
  the_engine = NULL;
  return rc;
}

int
fb_run_binary (const fb_run_binary_options *o, int *exit_status, fb_error *err)
{
  runner_binary bin;
  if (runner_binary_resolve (o->argv, NULL, false, &bin, err) < 0)
    return -1;
  _cleanup_free_ char **envp = target_env (o->env);
  _cleanup_strv_ char **syscalls = NULL;
  size_t n_syscalls = 0;
  for (size_t i = 0; i < o->n_rules; i++)
    spec_strv_add (&syscalls, &n_syscalls, o->rules[i].syscalls);
  struct sock_fprog prog = { 0 };
  fb_engine *engine = NULL;
  uint64_t *ids = fb_xcalloc (o->n_rules + 1, sizeof *ids);
  int rc = -1;
  if (syscalls && fb_filter_build (syscalls, &prog, err) < 0)
    goto out;
  if (syscalls && o->on_filter)
    o->on_filter (o->ctx, syscalls);
  if (fb_engine_new (o->seed, engine_event, (void *) o, &engine, err) < 0 || fb_engine_start (engine, err) < 0)
    goto out;
  for (size_t i = 0; i < o->n_rules; i++)
    fb_engine_add_rule (engine, "target", &o->rules[i], 1, &ids[i], NULL);
  fb_service_plan svc = {
    .name = "target",
    .argv = bin.argv,
    .envp = envp,
    .ro_binds = bin.binds,
    .seccomp_filter = syscalls ? &prog : NULL,
    .inherit_stdio = true,
  };
  runner_listeners ln = { engine, &svc };
  fb_lab_plan plan = { .services = &svc, .n_services = 1, .on_listener = runner_hand_over, .ctx = &ln };
  int status;
  if (run_target (&plan, engine, o->forward_signals, &status, err) < 0)
    goto out;
  for (size_t i = 0; i < o->n_rules && o->on_rule; i++)
    {
      uint64_t matched, fired;
      fb_engine_rule_stats (engine, ids[i], &matched, &fired);
      o->on_rule (o->ctx, &o->rules[i], matched, fired);
    }
  /* unanswered syscalls make the binary's status meaningless */
  if (fb_engine_check (engine, err) == 0)
    {
      *exit_status = status;
      rc = 0;
    }
out:
  fb_engine_free (engine);
  fb_filter_free (&prog);
  free (ids);
  runner_binary_clear (&bin);
  return rc;
}
