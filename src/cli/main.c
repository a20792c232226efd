#include "cli/commands.h"
#include "faultbox/rootless.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const fb_command *const commands[] = {
  &fb_cmd_doctor,
  &fb_cmd_run,
  &fb_cmd_lab,
  &fb_cmd_star,
  &fb_cmd_test,
  &fb_cmd_check,
  &fb_cmd_merge,
  &fb_cmd_list,
  &fb_cmd_init,
  &fb_cmd_diff,
  &fb_cmd_replay,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

const fb_command *
fb_command_find (const char *name)
{
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (strcmp (commands[i]->name, name) == 0)
      return commands[i];
  return NULL;
}

int
fb_cli_fail (const char *fmt, ...)
{
  va_list ap;
  fputs ("faultbox: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  return 1;
}

void
fb_cli_print_stderr (void *ctx, const char *msg)
{
  (void) ctx;
  fprintf (stderr, "%s\n", msg);
}

int
fb_cli_bad_flag (const char *cmd, int c, char **argv)
{
  if (c == ':')
    return fb_cli_fail ("%s: %s needs a value (see 'faultbox help %s')", cmd, argv[optind - 1], cmd);
  return fb_cli_fail ("%s: unknown flag \"%s\" (see 'faultbox help %s')", cmd, argv[optind - 1], cmd);
}

static void
print_help (FILE *out)
{
  fputs ("faultbox: fault-injection test runner for distributed systems\n\n"
         "usage: faultbox <command> [flags] [args]\n\ncommands:\n", out);
  for (size_t i = 0; i < N_COMMANDS; i++)
    fprintf (out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
  fputs ("  help       show help for a command; help builtins [NAME]: the spec language\n\n"
         "flags: --help, --version\n"
         "Run 'faultbox help <command>' for a command's flags.\n", out);
}

static int
cmd_help (int argc, char **argv)
{
  if (argc < 2)
    {
      print_help (stdout);
      return 0;
    }
  if (!strcmp (argv[1], "builtins"))
    return fb_cli_help_builtins (argc - 1, argv + 1);
  const fb_command *c = fb_command_find (argv[1]);
  if (!c)
    return fb_cli_fail ("unknown command \"%s\" (run 'faultbox --help')", argv[1]);
  fputs (c->usage, stdout);
  return 0;
}

/* The first line of a rootless run: what the user namespace gives it. */
static void
say_rootless (const fb_command *c)
{
  const fb_rootless *r = fb_rootless_get ();
  if (!r->active || !strcmp (c->name, "doctor"))
    return;
  if (r->subuid)
    fprintf (stderr, "faultbox: rootless: uid %u is root inside, with %lu uids mapped; ", (unsigned) r->uid, r->ids);
  else
    fprintf (stderr, "faultbox: rootless: uid %u is root inside, the only uid mapped (user= unavailable: %s); ",
             (unsigned) r->uid, r->why_single);
  if (r->cgroup)
    fprintf (stderr, "cgroup %s\n", r->cgroup);
  else
    fputs ("no delegated cgroup: labs run without limits (faultbox doctor)\n", stderr);
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      print_help (stderr);
      return 1;
    }
  const char *name = argv[1];
  if (strcmp (name, "--version") == 0 || strcmp (name, "version") == 0)
    {
      printf ("faultbox %s\n", FB_VERSION);
      return 0;
    }
  if (strcmp (name, "--help") == 0 || strcmp (name, "-h") == 0)
    {
      print_help (stdout);
      return 0;
    }
  if (strcmp (name, "help") == 0)
    return cmd_help (argc - 1, argv + 1);
  if (strcmp (name, "__mock") == 0)
    return fb_cmd_mock_serve (argc - 1, argv + 1);
  if (name[0] == '-')
    return fb_cli_fail ("unknown flag \"%s\" (run 'faultbox --help')", name);
  const fb_command *c = fb_command_find (name);
  if (!c)
    return fb_cli_fail ("unknown command \"%s\" (run 'faultbox --help')", name);
  for (int i = 2; i < argc; i++)
    if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
      {
        fputs (c->usage, stdout);
        return 0;
      }
    else if (strcmp (argv[i], "--") == 0)
      break;
  if (c->sandbox)
    {
      fb_error err = { 0 };
      /* doctor reports what keeps it from entering */
      if (fb_rootless_enter (&err) < 0 && strcmp (c->name, "doctor"))
        return fb_cli_fail ("%s", err.msg);
      say_rootless (c);
    }
  return c->run (argc - 1, argv + 1);
}
