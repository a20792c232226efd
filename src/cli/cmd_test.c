#include "cli/commands.h"
#include "cli/replay.h"
#include "cli/report_out.h"
#include "faultbox/lab.h"
#include "faultbox/report.h"
#include "faultbox/runner.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/parse.h"

#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

typedef struct {
  FILE *out;
  bool live;      /* draw a progress line on stderr (a terminal) */
  bool drawn;     /* one is on screen now */
  fb_buf line;    /* the one on screen: redraw only what changed */
} print_ctx;

static void
clear_progress (print_ctx *pc)
{
  if (pc->drawn)
    fputs ("\r\033[K", stderr);
  pc->drawn = false;
  fb_buf_truncate (&pc->line, 0);
}

static void
print_result (void *ctx, const fb_report *r, const fb_test_result *t)
{
  print_ctx *pc = ctx;
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  fb_report_text_test (r, t, &b);
  if (b.len)
    clear_progress (pc);
  fputs (fb_buf_str (&b), pc->out);
  fflush (pc->out);
}

/* "[12/40] test_name … 8s, 1 failed", cut to the terminal's width so the
 * carriage return can redraw it. */
static void
print_progress (void *ctx, const fb_progress *p)
{
  print_ctx *pc = ctx;
  if (!pc->live)
    return;
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  fb_buf_printf (&b, "[%zu/%zu] ", p->done, p->total);
  if (p->running)
    fb_buf_printf (&b, "%s … ", p->running);
  fb_buf_printf (&b, "%llds, %zu failed", (long long) (p->elapsed_ms / 1000), p->failed);
  struct winsize ws;
  size_t width = ioctl (STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 ? ws.ws_col - 1 : 79;
  size_t cols = 0, cut = 0;
  for (; cut < b.len && cols < width; cut++)
    cols += ((unsigned char) b.data[cut] & 0xC0) != 0x80;
  while (cut < b.len && ((unsigned char) b.data[cut] & 0xC0) == 0x80)
    cut++;
  fb_buf_truncate (&b, cut);
  if (pc->drawn && !strcmp (fb_buf_str (&b), fb_buf_str (&pc->line)))
    return;
  fprintf (stderr, "\r\033[K%s", fb_buf_str (&b));
  fflush (stderr);
  pc->drawn = true;
  fb_buf_truncate (&pc->line, 0);
  fb_buf_puts (&pc->line, fb_buf_str (&b));
}

static volatile sig_atomic_t stop_signal;

static void
on_stop (int sig)
{
  stop_signal = sig;
}

static unsigned
cores (void)
{
  cpu_set_t set;
  int n = sched_getaffinity (0, sizeof set, &set) == 0 ? CPU_COUNT (&set) : 0;
  return n > 0 ? (unsigned) n : 1;
}

void
fb_cli_dry_run (const fb_spec *s, const fb_test_options *o, FILE *out)
{
  const fb_plan *p = fb_spec_plan (s);
  fprintf (out, "Services: %zu\n", p->n_services);
  for (size_t i = 0; i < p->n_services; i++)
    {
      fprintf (out, "  %s", p->services[i].name);
      _cleanup_strv_ char **f = fb_run_service_filter (s, i, o);
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

/* What the flags of `faultbox test` ask for. */
typedef struct {
  fb_test_options o;
  fb_cli_report_out ro;    /* its files; human and interrupted set once running */
  const char *bundle;
  bool dry, progress, debug, runs_given, no_bundle;
} test_flags;

static const struct option test_opts[] = {
  { "test", required_argument, NULL, 't' },
  { "runs", required_argument, NULL, 'r' },
  { "seed", required_argument, NULL, 's' },
  { "show", required_argument, NULL, 'S' },
  { "format", required_argument, NULL, 'f' },
  { "output", required_argument, NULL, 'o' },
  { "junit", required_argument, NULL, 'J' },
  { "html", required_argument, NULL, 'H' },
  { "dry-run", no_argument, NULL, 'd' },
  { "keep-workdir", no_argument, NULL, 'k' },
  { "jobs", required_argument, NULL, 'j' },
  { "shard", required_argument, NULL, 'h' },
  { "no-progress", no_argument, NULL, 'P' },
  { "normalize", required_argument, NULL, 'n' },
  { "check-determinism", no_argument, NULL, 'D' },
  { "shiviz", required_argument, NULL, 'V' },
  { "debug", no_argument, NULL, 'g' },
  { "verbose", no_argument, NULL, 'v' },
  { "bundle", required_argument, NULL, 'B' },
  { "no-bundle", no_argument, NULL, 'N' },
  { "max-events", required_argument, NULL, 'E' },
  { "virtual-time", no_argument, NULL, 'T' },
  { "explore", required_argument, NULL, 'X' },
  { "explore-index", required_argument, NULL, 'I' },
  { NULL, 0, NULL, 0 },
};
static const char test_shortopts[] = ":j:v";

/* The flags into f; 0, or the exit code of a usage error. */
static int
parse_flags (int argc, char **argv, test_flags *f)
{
  fb_test_options *o = &f->o;
  opterr = 0;
  optind = 1;
  int c;
  long long n;
  fb_error err = { 0 };
  while ((c = getopt_long (argc, argv, test_shortopts, test_opts, NULL)) != -1)
    switch (c)
      {
      case 't': o->filter = optarg; break;
      case 'j':
        if (fb_parse_int (optarg, 1, 1024, &n, &err) < 0)
          return fb_cli_fail ("test: -j: %s", err.msg);
        o->jobs = (unsigned) n;
        break;
      case 'h':
        if (fb_parse_shard (optarg, &o->shard, &o->shards, &err) < 0)
          return fb_cli_fail ("test: --shard: %s", err.msg);
        break;
      case 'P': f->progress = false; break;
      case 'r':
        if (fb_parse_int (optarg, 1, 1000000, &n, &err) < 0)
          return fb_cli_fail ("test: --runs: %s", err.msg);
        o->runs = (unsigned) n;
        f->runs_given = true;
        break;
      case 's':
        if (fb_parse_int (optarg, 0, INT64_MAX, &n, &err) < 0)
          return fb_cli_fail ("test: --seed: %s", err.msg);
        o->seed = (uint64_t) n;
        break;
      case 'S':
        if (!strcmp (optarg, "fail") || !strcmp (optarg, "failures"))
          o->show_failures_only = true;
        else if (strcmp (optarg, "all"))
          return fb_cli_fail ("test: --show takes all or fail, not \"%s\"", optarg);
        break;
      case 'f':
        if (strcmp (optarg, "text") && strcmp (optarg, "json"))
          return fb_cli_fail ("test: --format takes text or json, not \"%s\"", optarg);
        f->ro.json = !strcmp (optarg, "json");
        break;
      case 'o': f->ro.output = optarg; break;
      case 'J': f->ro.junit = optarg; break;
      case 'H': f->ro.html = optarg; break;
      case 'd': f->dry = true; break;
      case 'k': o->keep_workdir = true; break;
      case 'n': f->ro.normalize = optarg; break;
      case 'D': o->check_determinism = true; break;
      case 'V': f->ro.shiviz = optarg; break;
      case 'g': f->debug = true; break;
      case 'v': o->echo_output = true; break;
      case 'B': f->bundle = optarg; break;
      case 'N': f->no_bundle = true; break;
      case 'E':
        if (fb_parse_int (optarg, 1, INT64_MAX, &n, &err) < 0)
          return fb_cli_fail ("test: --max-events: %s", err.msg);
        o->max_events = (uint64_t) n;
        break;
      case 'T': o->virtual_time = true; break;
      case 'X':
        if (strcmp (optarg, "all") && strcmp (optarg, "sample"))
          return fb_cli_fail ("test: --explore takes all or sample, not \"%s\"", optarg);
        /* --explore-index names one permutation, whatever the order of the flags */
        if (o->explore != FB_EXPLORE_ONE)
          o->explore = !strcmp (optarg, "all") ? FB_EXPLORE_ALL : FB_EXPLORE_SAMPLE;
        break;
      case 'I':
        if (fb_parse_int (optarg, 0, INT64_MAX, &n, &err) < 0)
          return fb_cli_fail ("test: --explore-index: %s", err.msg);
        o->explore = FB_EXPLORE_ONE;
        o->explore_index = (uint64_t) n;
        break;
      default:
        return fb_cli_bad_flag ("test", c, argv);
      }
  if (o->explore == FB_EXPLORE_SAMPLE && !f->runs_given)
    o->runs = 100;
  return 0;
}

/* The spec: the bundle's, the one argument, or ./faultbox.star; 0, or the
 * exit code of a usage error. */
static int
spec_file (int argc, char **argv, const fb_bundle *from, const char **file)
{
  *file = from ? from->star_file : optind < argc ? argv[optind] : NULL;
  if (from && optind < argc)
    return fb_cli_fail ("replay: unexpected argument \"%s\" (the spec comes from the bundle)", argv[optind]);
  if (optind + 1 < argc)
    return fb_cli_fail ("test: unexpected argument \"%s\" (one spec file)", argv[optind + 1]);
  if (!*file)
    {
      if (access ("faultbox.star", F_OK) != 0)
        return fb_cli_fail ("test: no spec file given and no ./faultbox.star");
      *file = "faultbox.star";
    }
  return 0;
}

/* Runs the tests, printing each result as it comes, then the summary and
 * the files; returns the exit code. typed: the command line as typed, for
 * the bundle. */
static int
run_spec (fb_spec *spec, test_flags *f, char *const *typed, int argc, char **argv)
{
  fb_cli_sweep (f->o.echo_output);
  /* streamed service output and a progress line would overwrite each other */
  print_ctx pc = { f->ro.human, .live = f->progress && !f->o.echo_output && isatty (STDERR_FILENO) };
  f->o.on_result = print_result;
  f->o.on_progress = print_progress;
  f->o.ctx = &pc;
  f->o.stop = &stop_signal;
  /* no SA_RESTART: the runner's wait returns at once */
  struct sigaction sa = { .sa_handler = on_stop };
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  /* unasked, a failing run keeps its bundle in the runs directory */
  _cleanup_free_ char *fallback = f->bundle || f->no_bundle ? NULL : fb_runs_new_path ();
  fb_report rep = { .show_return_values = f->debug, .bundle = f->bundle ? f->bundle : fallback };
  fb_error err = { 0 };
  int ret;
  int rc = fb_run_tests (spec, &f->o, &rep, &err);
  clear_progress (&pc);
  fb_buf_free (&pc.line);
  if (rc < 0)
    {
      fflush (stdout);
      fprintf (stderr, "ERROR: %s\n", err.msg);
      ret = 1;
    }
  else
    {
      f->ro.interrupted = stop_signal != 0;
      ret = fb_cli_report_finish (&rep, &f->ro);
      bool any_failed = fb_report_failed (&rep) + fb_report_inconclusive (&rep) > 0;
      /* what a replay runs again: every flag but those naming output files */
      /* an unasked bundle that cannot be written leaves the verdict alone */
      if ((f->bundle || (fallback && any_failed))
          && fb_cli_bundle_write (rep.bundle, spec, f->o.seed, typed, argc, argv, test_shortopts, test_opts,
                                  "sJHonVBN", &rep, f->bundle != NULL) < 0
          && f->bundle)
        ret = 1;
      if (fallback && any_failed)
        fb_runs_prune (FB_RUNS_KEEP);
      if (stop_signal)
        ret = 128 + stop_signal;
    }
  fb_report_free (&rep);
  return ret;
}

int
fb_cli_test (int argc, char **argv, const fb_bundle *from)
{
  test_flags f = { .o = { .runs = 1, .jobs = cores () }, .ro = { .cmd = "test" }, .progress = true };
  /* getopt reorders argv; a bundle keeps the command line as typed */
  char *typed[argc + 1];
  memcpy (typed, argv, sizeof typed);
  const char *file;
  int ret = parse_flags (argc, argv, &f);
  if (ret == 0)
    ret = spec_file (argc, argv, from, &file);
  if (ret)
    return ret;
  /* a bundle made unasked keeps no events: a replay makes them again */
  f.o.keep_events = f.ro.json || f.ro.output || f.ro.normalize || f.ro.shiviz || f.ro.html || f.bundle;
  f.ro.human = f.ro.json ? stderr : stdout;
  fb_spec *spec;
  fb_spec_source src = { .path = file, .print = fb_cli_print_stderr };
  if (from)
    src = (fb_spec_source) { .path = file, .copy = from->files[0], .dir = from->spec_dir,
                             .moved_from = from->originals, .moved_to = from->files, .n_moved = from->n_files,
                             .print = fb_cli_print_stderr };
  fb_error err = { 0 };
  if (fb_spec_load_source (&src, &spec, &err) < 0)
    {
      fflush (stdout);
      fprintf (stderr, "%s\n", err.msg);
      return 1;
    }
  if (f.dry)
    {
      fprintf (f.ro.human, "Dry-run: loaded %s\n", file);
      fb_cli_dry_run (spec, &f.o, f.ro.human);
    }
  else
    ret = run_spec (spec, &f, typed, argc, argv);
  fb_spec_free (spec);
  return ret;
}

static int
run (int argc, char **argv)
{
  return fb_cli_test (argc, argv, NULL);
}

const fb_command fb_cmd_test = {
  .name = "test",
  .summary = "run the tests of a spec, each in a fresh lab",
  .usage = "usage: faultbox test [flags] [SPEC.star]\n\n"
           "Loads SPEC (default ./faultbox.star), then runs every test_* function in a\n"
           "fresh lab: services started in dependency order and healthy, the body, teardown.\n"
           "Exit: 0 all passed, 1 spec or runner error, 2 a test failed, 3 none failed but one\n"
           "is inconclusive (a test() timed out with expectations pending), 130/143 stopped\n"
           "by SIGINT/SIGTERM (finished tests are reported, the running ones killed).\n"
           "A HALTED test (halt(), a false test(assume=)) is neither: it leaves the code alone.\n\n"
           "  --test PATTERN   exact name, short name (without test_), glob, or ~regex\n"
           "  -j, --jobs N     run N tests at once, each in its own lab (default: cores)\n"
           "  --shard I/N      run only the I-th of N slices of the sorted tests (CI)\n"
           "  --seed N         seed of probabilistic faults (default 0); a seed replays a run\n"
           "  --runs N         run each test N times (seeds N, N+1, ...) until its first failure\n"
           "  --show all|fail  hide passing tests with fail\n"
           "  --format json    JSON (schema version 2) on stdout; human output on stderr\n"
           "  --output FILE    also write the JSON report to FILE\n"
           "  --junit FILE     write a JUnit XML report\n"
           "  --html FILE      write a self-contained HTML report: summary, matrix grid,\n"
           "                   per test its replay command and a timeline\n"
           "  --dry-run        load the spec and list services and tests; start nothing\n"
           "  --keep-workdir   keep each test's lab work directory (service logs, work and\n"
           "                   overlay dirs) and print where, under the test's result line\n"
           "  -v, --verbose    stream the services' output live to stderr as [name] lines;\n"
           "                   name each leftover cgroup of a dead runner that is swept\n"
           "  --normalize FILE write the normalized trace (compare two with faultbox diff)\n"
           "  --shiviz FILE    write the events as a ShiViz log (causality by vector clock)\n"
           "  --debug          also print each test's return value\n"
           "  --check-determinism\n"
           "                   run each test twice with its seed; fail it when the two\n"
           "                   normalized traces differ\n"
           "  --max-events N   events a test's log keeps (default 200000); a test whose\n"
           "                   services make more intercepted syscalls fails as an error\n"
           "  --virtual-time   delay faults advance a per-test virtual clock instead of\n"
           "                   waiting; nanosleep and clock_nanosleep return at once and\n"
           "                   clock_gettime reads that clock (vDSO clock reads never trap)\n"
           "  --explore all|sample\n"
           "                   parallel() holds the services' reads, writes, connects ...\n"
           "                   (not nondet() ones) and releases them in one order per run,\n"
           "                   every run with the same seed: all runs every order of the\n"
           "                   calls the first run held (N! runs, at most 5040), sample the\n"
           "                   first --runs of them (default 100)\n"
           "  --explore-index K\n"
           "                   run only the K-th order (a failure's replay line names it)\n"
           "  --no-progress    no live progress line on a terminal\n"
           "  --bundle PATH    write a replay bundle (a directory, or PATH.tar.gz): the spec\n"
           "                   and what it loads, seeds, command line, environment, the JSON\n"
           "                   report and each test's service logs; see faultbox replay.\n"
           "                   Without it, a run with a failure writes its bundle to\n"
           "                   $FAULTBOX_RUNS_DIR (default .faultbox/runs/, the newest 10 kept)\n"
           "                   and each failure's replay lines name it\n"
           "  --no-bundle      write no bundle unless --bundle asks\n",
  .run = run,
  .sandbox = true,
};
