#include "sandbox/binpath.h"
#include "cli/commands.h"
#include "faultbox/engine.h"
#include "faultbox/lab.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/parse.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  fb_engine *engine;
  const char *name;
} run_ctx;

static void
print_event (void *ctx, const fb_engine_event *ev)
{
  if (!ev->faulted)
    return;
  char act[64];
  fb_rule_describe_action (ev->rule, act, sizeof act);
  fprintf (stderr, "[faultbox] %s(%s%s%s) -> %s", ev->syscall, ev->path ? "\"" : "", ev->path ? ev->path : "",
           ev->path ? "\"" : "", act);
  if (ev->rule->label)
    fprintf (stderr, " [%s]", ev->rule->label);
  fprintf (stderr, " (pid %d)\n", (int) ev->pid);
}

static int
hand_over (void *ctx, size_t idx, pid_t pid, int fd, fb_error *err)
{
  run_ctx *rc = ctx;
  if (fb_engine_add_service (rc->engine, rc->name, pid, fd, err) < 0)
    return -1;
  return fb_engine_start (rc->engine, err);
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

/* Faultbox's start-up line, with the names too: which syscalls pay for a
 * round trip to the supervisor. */
static void
print_filter (char *const *names)
{
  _cleanup_buf_ fb_buf nrs = FB_BUF_INIT;
  _cleanup_buf_ fb_buf known = FB_BUF_INIT;
  for (char *const *s = names; *s; s++)
    if (fb_syscall_number (*s) >= 0)
      {
        fb_buf_printf (&nrs, "%s%d", nrs.len ? " " : "", fb_syscall_number (*s));
        fb_buf_printf (&known, "%s%s", known.len ? " " : "", *s);
      }
  fprintf (stderr, "[faultbox] seccomp filter installed syscalls=[%s] names=[%s]\n", nrs.len ? nrs.data : "",
           known.len ? known.data : "");
}

static int
run (int argc, char **argv)
{
  fb_rule *rules = NULL;
  size_t n_rules = 0;
  char **env = NULL;
  size_t n_env = 0;
  uint64_t seed = 0;
  fb_error err = { 0 };
  int ret = 1;
  static const struct option opts[] = {
    { "fault", required_argument, NULL, 'f' },
    { "seed", required_argument, NULL, 's' },
    { "env", required_argument, NULL, 'e' },
    { NULL, 0, NULL, 0 },
  };
  opterr = 0;
  optind = 1;
  int c;
  long long n;
  while ((c = getopt_long (argc, argv, "+:", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        rules = fb_xreallocarray (rules, n_rules + 1, sizeof *rules);
        if (fb_rule_parse (optarg, &rules[n_rules], &err) < 0)
          {
            fb_cli_fail ("run: %s", err.msg);
            goto out;
          }
        n_rules++;
        break;
      case 's':
        if (fb_parse_int (optarg, 0, INT64_MAX, &n, &err) < 0)
          {
            fb_cli_fail ("run: --seed: %s", err.msg);
            goto out;
          }
        seed = (uint64_t) n;
        break;
      case 'e':
        if (!strchr (optarg, '=') || optarg[0] == '=')
          {
            fb_cli_fail ("run: --env takes K=V, not \"%s\"", optarg);
            goto out;
          }
        env = fb_xreallocarray (env, n_env + 2, sizeof *env);
        env[n_env++] = optarg;
        env[n_env] = NULL;
        break;
      default:
        fb_cli_bad_flag ("run", c, argv);
        goto out;
      }
  if (optind >= argc)
    {
      fb_cli_fail ("run: no binary given (usage: faultbox run [--fault SPEC]... [--] BINARY [ARGS])");
      goto out;
    }
  char **child_argv = argv + optind;
  fb_binpath bin;
  if (fb_binpath_resolve (child_argv[0], &bin) < 0)
    {
      fb_cli_fail ("run: cannot execute %s: %s", child_argv[0], strerror (errno));
      goto out;
    }
  /* the target's environment: ours, plus --env on top */
  for (size_t i = 0; i < n_env; i++)
    putenv (env[i]);
  extern char **environ;
  char *saved_arg0 = child_argv[0];
  child_argv[0] = bin.path;
  const char *binds[] = { bin.dir, bin.real_dir, NULL };

  char **all = NULL;
  size_t n_all = 0;
  for (size_t i = 0; i < n_rules; i++)
    for (char **s = rules[i].syscalls; *s; s++)
      {
        bool dup = false;
        for (size_t k = 0; k < n_all && !dup; k++)
          dup = !strcmp (all[k], *s);
        if (dup)
          continue;
        all = fb_xreallocarray (all, n_all + 2, sizeof *all);
        all[n_all++] = *s;
        all[n_all] = NULL;
      }
  struct sock_fprog prog = { 0 };
  if (all && fb_filter_build (all, &prog, &err) < 0)
    {
      free (all);
      fb_cli_fail ("run: %s", err.msg);
      goto out_bin;
    }
  if (all)
    print_filter (all);
  free (all);

  run_ctx rc = { .name = "target" };
  if (fb_engine_new (seed, print_event, &rc, &rc.engine, &err) < 0)
    {
      fb_filter_free (&prog);
      fb_cli_fail ("run: %s", err.msg);
      goto out_bin;
    }
  uint64_t *ids = fb_xcalloc (n_rules + 1, sizeof *ids);
  for (size_t i = 0; i < n_rules; i++)
    fb_engine_add_rule (rc.engine, "target", &rules[i], 1, &ids[i], NULL);
  fb_service_plan svc = {
    .name = "target",
    .argv = child_argv,
    .envp = environ,
    .ro_binds = binds,
    .seccomp_filter = n_rules ? &prog : NULL,
    .inherit_stdio = true,
  };
  fb_lab_plan plan = { .services = &svc, .n_services = 1, .on_listener = hand_over, .ctx = &rc };
  fb_lab *lab = NULL;
  /* handlers first: a signal that comes while the target starts is
   * forwarded once it runs, not lost to an inherited SIG_IGN */
  the_engine = rc.engine;
  struct sigaction sa = { .sa_handler = forward_signal };
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGALRM, &sa, NULL);
  if (fb_lab_create (&plan, &lab, &err) < 0 || fb_lab_start_service (lab, 0, &err) < 0)
    {
      fb_cli_fail ("run: %s", err.msg);
      fb_lab_destroy (lab);
      the_engine = NULL;
      fb_engine_free (rc.engine);
      fb_filter_free (&prog);
      free (ids);
      goto out_bin;
    }
  the_lab = lab;
  if (early_signal)
    forward_signal (early_signal);
  ret = fb_lab_wait_service (lab, 0);
  the_lab = NULL;
  fb_engine_drain (rc.engine); /* what the target's children still wait on */
  fb_lab_destroy (lab);
  fb_filter_free (&prog);
  for (size_t i = 0; i < n_rules; i++)
    {
      uint64_t matched, fired;
      fb_engine_rule_stats (rc.engine, ids[i], &matched, &fired);
      char act[64];
      fb_rule_describe_action (&rules[i], act, sizeof act);
      if (matched == 0)
        fprintf (stderr, "[faultbox] rule %s=%s%s%s never matched a syscall: the fault was not injected\n",
                 rules[i].keyword, act, rules[i].path_glob ? " path=" : "", rules[i].path_glob ? rules[i].path_glob : "");
      else
        fprintf (stderr, "[faultbox] rule %s=%s: %llu of %llu matching calls faulted\n", rules[i].keyword, act,
                 (unsigned long long) fired, (unsigned long long) matched);
    }
  /* unanswered syscalls make the binary's status meaningless */
  if (fb_engine_check (rc.engine, &err) < 0)
    ret = fb_cli_fail ("run: %s", err.msg);
  the_engine = NULL;
  fb_engine_free (rc.engine);
  free (ids);
out_bin:
  child_argv[0] = saved_arg0;
  fb_binpath_clear (&bin);
out:
  for (size_t i = 0; i < n_rules; i++)
    fb_rule_clear (&rules[i]);
  free (rules);
  free (env);
  return ret;
}

const fb_command fb_cmd_run = {
  .name = "run",
  .summary = "run one binary with syscall faults",
  .usage = "usage: faultbox run [--fault SPEC]... [--seed N] [--env K=V]... [--] BINARY [ARGS]\n\n"
           "Runs BINARY with the given syscall faults and prints each injected fault.\n"
           "Exits with the binary's status (128+N when killed by signal N), 1 on a faultbox error.\n\n"
           "SPEC: SYSCALL=ERRNO[:PROB][:PATH][:nth=N][:after=N][:max_fires=N][:label=L][:to=IP[:PORT]]\n"
           "      SYSCALL=delay:DURATION[:PROB][:PATH]...\n"
           "  write=EIO:30%:/data/*   openat=ENOENT:100%:/tmp/x*:nth=3   connect=delay:200ms:100%\n"
           "A keyword covers its family: write = write, writev, pwrite64, pwritev, pwritev2.\n",
  .run = run,
};
