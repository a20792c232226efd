#include "cli/commands.h"
#include "faultbox/runner.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/parse.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
print_fault (void *ctx, const fb_engine_event *ev)
{
  char act[64];
  fb_rule_describe_action (ev->rule, act, sizeof act);
  fprintf (stderr, "[faultbox] %s(%s%s%s) -> %s", ev->syscall, ev->path ? "\"" : "", ev->path ? ev->path : "",
           ev->path ? "\"" : "", act);
  if (ev->rule->label)
    fprintf (stderr, " [%s]", ev->rule->label);
  fprintf (stderr, " (pid %d)\n", (int) ev->pid);
}

/* Faultbox's start-up line, with the names too: which syscalls pay for a
 * round trip to the supervisor. */
static void
print_filter (void *ctx, char *const *names)
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

static void
print_rule (void *ctx, const fb_rule *r, uint64_t matched, uint64_t fired)
{
  char act[64];
  fb_rule_describe_action (r, act, sizeof act);
  if (matched == 0)
    fprintf (stderr, "[faultbox] rule %s=%s%s%s never matched a syscall: the fault was not injected\n", r->keyword,
             act, r->path_glob ? " path=" : "", r->path_glob ? r->path_glob : "");
  else
    fprintf (stderr, "[faultbox] rule %s=%s: %llu of %llu matching calls faulted\n", r->keyword, act,
             (unsigned long long) fired, (unsigned long long) matched);
}

/* The flags into o (rules and env grown in *rules and *env, which the
 * caller frees); 0, or the exit code of a usage error. */
static int
parse_flags (int argc, char **argv, fb_run_binary_options *o, fb_rule **rules, char ***env)
{
  static const struct option opts[] = {
    { "fault", required_argument, NULL, 'f' },
    { "seed", required_argument, NULL, 's' },
    { "env", required_argument, NULL, 'e' },
    { NULL, 0, NULL, 0 },
  };
  fb_error err = { 0 };
  size_t n_env = 0;
  opterr = 0;
  optind = 1;
  int c;
  long long n;
  while ((c = getopt_long (argc, argv, "+:", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        *rules = fb_xreallocarray (*rules, o->n_rules + 1, sizeof **rules);
        if (fb_rule_parse (optarg, &(*rules)[o->n_rules], &err) < 0)
          return fb_cli_fail ("run: %s", err.msg);
        o->rules = *rules;
        o->n_rules++;
        break;
      case 's':
        if (fb_parse_int (optarg, 0, INT64_MAX, &n, &err) < 0)
          return fb_cli_fail ("run: --seed: %s", err.msg);
        o->seed = (uint64_t) n;
        break;
      case 'e':
        if (!strchr (optarg, '=') || optarg[0] == '=')
          return fb_cli_fail ("run: --env takes K=V, not \"%s\"", optarg);
        *env = fb_xreallocarray (*env, n_env + 2, sizeof **env);
        (*env)[n_env++] = optarg;
        (*env)[n_env] = NULL;
        o->env = *env;
        break;
      default:
        return fb_cli_bad_flag ("run", c, argv);
      }
  if (optind >= argc)
    return fb_cli_fail ("run: no binary given (usage: faultbox run [--fault SPEC]... [--] BINARY [ARGS])");
  o->argv = argv + optind;
  return 0;
}

static int
run (int argc, char **argv)
{
  fb_run_binary_options o = { .forward_signals = true, .on_filter = print_filter, .on_fault = print_fault,
                              .on_rule = print_rule };
  fb_rule *rules = NULL;
  char **env = NULL;
  int ret = parse_flags (argc, argv, &o, &rules, &env);
  fb_error err = { 0 };
  if (ret == 0 && fb_run_binary (&o, &ret, &err) < 0)
    ret = fb_cli_fail ("run: %s", err.msg);
  for (size_t i = 0; i < o.n_rules; i++)
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
  .sandbox = true,
};
