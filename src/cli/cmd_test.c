#include "cli/commands.h"
#include "faultbox/lab.h"
#include "faultbox/report.h"
#include "faultbox/spec.h"
#include "util/buf.h"
#include "util/parse.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  FILE *out;
} print_ctx;

static void
print_result (void *ctx, const fb_report *r, const fb_test_result *t)
{
  print_ctx *pc = ctx;
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  fb_report_text_test (r, t, &b);
  fputs (fb_buf_str (&b), pc->out);
  fflush (pc->out);
}

static int
write_file (const char *path, const fb_buf *b)
{
  FILE *f = fopen (path, "we");
  if (!f)
    return -1;
  fwrite (fb_buf_str (b), 1, b->len, f);
  return fclose (f);
}

static void
dry_run (const fb_spec *s, FILE *out)
{
  const fb_plan *p = fb_spec_plan (s);
  fprintf (out, "Services: %zu\n", p->n_services);
  for (size_t i = 0; i < p->n_services; i++)
    {
      fprintf (out, "  %s", p->services[i].name);
      char *const *f = fb_spec_service_filter (s, i);
      for (size_t k = 0; f && f[k]; k++)
        fprintf (out, "%s%s", k ? "," : "  (seccomp filter: ", f[k]);
      fputs (f ? ")\n" : "\n", out);
    }
  fprintf (out, "Tests: %zu\n", fb_spec_test_count (s));
  size_t cells = 0;
  for (size_t i = 0; i < fb_spec_test_count (s); i++)
    {
      fprintf (out, "  %s\n", fb_spec_test_name (s, i));
      cells += fb_spec_test_is_matrix_cell (s, i);
    }
  if (cells)
    fprintf (out, "Fault matrix cells: %zu\n", cells);
}

static int
run (int argc, char **argv)
{
  fb_test_options o = { .runs = 1 };
  const char *format = "text", *output = NULL, *junit = NULL, *normalize = NULL;
  bool dry = false;
  static const struct option opts[] = {
    { "test", required_argument, NULL, 't' },
    { "runs", required_argument, NULL, 'r' },
    { "seed", required_argument, NULL, 's' },
    { "show", required_argument, NULL, 'S' },
    { "format", required_argument, NULL, 'f' },
    { "output", required_argument, NULL, 'o' },
    { "junit", required_argument, NULL, 'j' },
    { "dry-run", no_argument, NULL, 'd' },
    { "keep-workdir", no_argument, NULL, 'k' },
    { "normalize", required_argument, NULL, 'n' },
    { "check-determinism", no_argument, NULL, 'D' },
    { NULL, 0, NULL, 0 },
  };
  opterr = 0;
  optind = 1;
  int c;
  long long n;
  fb_error err = { 0 };
  while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1)
    switch (c)
      {
      case 't': o.filter = optarg; break;
      case 'r':
        if (fb_parse_int (optarg, 1, 1000000, &n, &err) < 0)
          return fb_cli_fail ("test: --runs: %s", err.msg);
        o.runs = (unsigned) n;
        break;
      case 's':
        if (fb_parse_int (optarg, 0, INT64_MAX, &n, &err) < 0)
          return fb_cli_fail ("test: --seed: %s", err.msg);
        o.seed = (uint64_t) n;
        break;
      case 'S':
        if (!strcmp (optarg, "fail") || !strcmp (optarg, "failures"))
          o.show_failures_only = true;
        else if (strcmp (optarg, "all"))
          return fb_cli_fail ("test: --show takes all or fail, not \"%s\"", optarg);
        break;
      case 'f':
        if (strcmp (optarg, "text") && strcmp (optarg, "json"))
          return fb_cli_fail ("test: --format takes text or json, not \"%s\"", optarg);
        format = optarg;
        break;
      case 'o': output = optarg; break;
      case 'j': junit = optarg; break;
      case 'd': dry = true; break;
      case 'k': o.keep_workdir = true; break;
      case 'n': normalize = optarg; break;
      case 'D': o.check_determinism = true; break;
      default:
        return fb_cli_fail ("test: unknown flag \"%s\"", argv[optind - 1]);
      }
  const char *file = optind < argc ? argv[optind] : NULL;
  if (optind + 1 < argc)
    return fb_cli_fail ("test: unexpected argument \"%s\" (one spec file)", argv[optind + 1]);
  if (!file)
    {
      if (access ("faultbox.star", F_OK) != 0)
        return fb_cli_fail ("test: no spec file given and no ./faultbox.star");
      file = "faultbox.star";
    }
  bool json = !strcmp (format, "json");
  FILE *human = json ? stderr : stdout;
  fb_spec *spec;
  if (fb_spec_load (file, &spec, &err) < 0)
    {
      fflush (stdout);
      fprintf (stderr, "%s\n", err.msg);
      return 1;
    }
  if (dry)
    {
      fprintf (human, "Dry-run: loaded %s\n", file);
      dry_run (spec, human);
      fb_spec_free (spec);
      return 0;
    }
  fb_lab_sweep_leftovers ();
  print_ctx pc = { human };
  o.on_result = print_result;
  o.ctx = &pc;
  fb_report rep = { 0 };
  int ret;
  if (fb_spec_run (spec, &o, &rep, &err) < 0)
    {
      fflush (stdout);
      fprintf (stderr, "ERROR: %s\n", err.msg);
      ret = 1;
    }
  else
    {
      _cleanup_buf_ fb_buf b = FB_BUF_INIT;
      fb_report_text_matrix (&rep, &b);
      fb_report_text_summary (&rep, &b);
      fputs (fb_buf_str (&b), human);
      fflush (human);
      ret = fb_report_failed (&rep) ? 2 : 0;
      _cleanup_buf_ fb_buf j = FB_BUF_INIT;
      if ((json || output) && fb_report_json (&rep, &j, &err) < 0)
        {
          fprintf (stderr, "faultbox: %s\n", err.msg);
          ret = 1;
        }
      if (json)
        fputs (fb_buf_str (&j), stdout);
      if (output && write_file (output, &j) < 0)
        ret = fb_cli_fail ("test: cannot write %s: %m", output);
      if (normalize)
        {
          _cleanup_buf_ fb_buf nb = FB_BUF_INIT;
          fb_report_normalize (&rep, &nb);
          if (write_file (normalize, &nb) < 0)
            ret = fb_cli_fail ("test: cannot write %s: %m", normalize);
        }
      if (junit)
        {
          _cleanup_buf_ fb_buf x = FB_BUF_INIT;
          fb_report_junit (&rep, &x);
          if (write_file (junit, &x) < 0)
            ret = fb_cli_fail ("test: cannot write %s: %m", junit);
        }
    }
  fb_report_free (&rep);
  fb_spec_free (spec);
  return ret;
}

const fb_command fb_cmd_test = {
  .name = "test",
  .summary = "run the tests of a spec, each in a fresh lab",
  .usage = "usage: faultbox test [flags] [SPEC.star]\n\n"
           "Loads SPEC (default ./faultbox.star), then runs every test_* function in a\n"
           "fresh lab: services started in dependency order and healthy, the body, teardown.\n"
           "Exit: 0 all passed, 1 spec or runner error, 2 a test failed.\n\n"
           "  --test PATTERN   exact name, short name (without test_), glob, or ~regex\n"
           "  --seed N         seed of probabilistic faults (default 0); a seed replays a run\n"
           "  --runs N         run each test N times (seeds N, N+1, ...) until its first failure\n"
           "  --show all|fail  hide passing tests with fail\n"
           "  --format json    JSON (schema version 2) on stdout; human output on stderr\n"
           "  --output FILE    also write the JSON report to FILE\n"
           "  --junit FILE     write a JUnit XML report\n"
           "  --dry-run        load the spec and list services and tests; start nothing\n"
           "  --keep-workdir   keep each service's work directory for inspection\n"
           "  --normalize FILE write the normalized trace (compare two with faultbox diff)\n"
           "  --check-determinism\n"
           "                   run each test twice with its seed; fail it when the two\n"
           "                   normalized traces differ\n",
  .run = run,
};
