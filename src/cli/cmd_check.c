#include "cli/commands.h"
#include "cli/replay.h"
#include "faultbox/engine.h"
#include "faultbox/spec.h"

#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

/* One spec: 0 it loads (warnings counted into *warned), 1 it does not. */
static int
check_one (const char *file, int *warned)
{
  fb_spec *spec;
  fb_error err = { 0 };
  if (fb_spec_load_source (&(fb_spec_source) { .path = file, .print = fb_cli_print_stderr }, &spec, &err) < 0)
    {
      fflush (stdout);
      fprintf (stderr, "%s\n", err.msg);
      return 1;
    }
  printf ("Checked %s\n", file);
  fb_cli_dry_run (spec, &(fb_test_options) { .runs = 1 }, stdout);
  char **warnings;
  int n = fb_spec_check (spec, &warnings);
  for (int i = 0; i < n; i++)
    printf ("warning: %s\n", warnings[i]);
  printf ("%d warning%s\n", n, n == 1 ? "" : "s");
  fflush (stdout);
  fb_strv_free (warnings);
  fb_spec_free (spec);
  *warned += n;
  return 0;
}

static int
run (int argc, char **argv)
{
  static const struct option opts[] = {
    { "strict", no_argument, NULL, 's' },
    { NULL, 0, NULL, 0 },
  };
  bool strict = false;
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long (argc, argv, ":", opts, NULL)) != -1)
    if (c == 's')
      strict = true;
    else
      return fb_cli_bad_flag ("check", c, argv);
  if (optind == argc && access ("faultbox.star", F_OK) != 0)
    return fb_cli_fail ("check: no spec file given and no ./faultbox.star");
  int ret = 0, warned = 0;
  if (optind == argc)
    ret = check_one ("faultbox.star", &warned);
  for (int i = optind; i < argc; i++)
    ret |= check_one (argv[i], &warned);
  return ret || (strict && warned) ? 1 : 0;
}

const fb_command fb_cmd_check = {
  .name = "check",
  .summary = "load and validate specs without running them, with warnings",
  .usage = "usage: faultbox check [--strict] [SPEC.star...]\n\n"
           "Loads each SPEC (default ./faultbox.star) as faultbox test would, starts\n"
           "nothing, and prints what --dry-run prints (services with their seccomp\n"
           "filters, tests, matrix cells), then warnings: a service nothing depends on\n"
           "and no test names, a fault_assumption no test, scenario or matrix applies, a\n"
           "matrix cell with the default oracle (neither an overrides= entry nor\n"
           "default_expect=). Needs no privileges.\n"
           "Exit: 0 every spec loads (warnings or not), 1 one does not.\n\n"
           "  --strict   exit 1 when there is a warning\n",
  .run = run,
};
