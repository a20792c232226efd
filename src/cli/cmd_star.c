#include "cli/commands.h"
#include "faultbox/star.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void
print_stdout (void *ctx, const char *msg)
{
  (void) ctx;
  puts (msg);
  fflush (stdout);
}

static int
run (int argc, char **argv)
{
  unsigned dialect = FB_STAR_DIALECT_FAULTBOX;
  bool test_builtins = false;
  static const struct option opts[] = {
    { "dialect", required_argument, NULL, 'd' },
    { "test-builtins", no_argument, NULL, 't' },
    { NULL, 0, NULL, 0 },
  };
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long (argc, argv, "+:", opts, NULL)) != -1)
    {
      if (c == 'd')
        {
          if (!strcmp (optarg, "standard"))
            dialect = FB_STAR_DIALECT_STANDARD;
          else if (strcmp (optarg, "faultbox"))
            return fb_cli_fail ("star: unknown dialect \"%s\" (faultbox or standard)",
                                optarg);
        }
      else if (c == 't')
        test_builtins = true;
      else
        return fb_cli_bad_flag ("star", c, argv);
    }
  if (optind >= argc)
    return fb_cli_fail ("star: missing FILE (usage: faultbox star [--dialect=faultbox|standard] [--test-builtins] FILE [args])");
  fb_star_config cfg = { .dialect = dialect, .print = print_stdout };
  fb_star_thread *th = fb_star_thread_new (&cfg);
  if (test_builtins)
    fb_star_predeclare_test_builtins (th);
  /* the program's own arguments, as in Python's sys.argv */
  fb_value *args = fb_list_new (th, 0, NULL);
  for (int i = optind; i < argc; i++)
    fb_list_append (th, args, fb_string (th, argv[i]));
  fb_star_predeclare (th, "argv", args);
  fb_star_module *m;
  fb_error err = { 0 };
  int rc = fb_star_exec_file (th, argv[optind], &m, &err);
  fb_star_thread_free (th);
  if (rc < 0)
    {
      fflush (stdout);
      fprintf (stderr, "%s\n", err.msg);
      return 1;
    }
  return 0;
}

const fb_command fb_cmd_star = {
  .name = "star",
  .summary = "run a plain Starlark file",
  .usage = "usage: faultbox star [--dialect=faultbox|standard] [--test-builtins] FILE [args...]\n\n"
           "Runs FILE with faultbox's Starlark interpreter: print() goes to stdout,\n"
           "errors (file:line:col: message, then a stack trace) to stderr; exit 0 or 1.\n\n"
           "  --dialect=faultbox  the default: what Faultbox specs use (no while, no\n"
           "                      recursion, no top-level if/for, no global reassignment)\n"
           "  --dialect=standard  allows all of those\n"
           "  --test-builtins     also predeclares catch(fn), matches(regex, s),\n"
           "                      freeze(v) and module(name, **kv)\n\n"
           "A file may opt in itself on a comment line before its first statement:\n"
           "  # starlark: dialect=standard\n"
           "  # starlark: allow=while,recursion,toplevelcontrol,globalreassign\n"
           "The arguments after FILE are in the predeclared list `argv`.\n",
  .run = run,
};
