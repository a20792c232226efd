#include "cli/commands.h"
#include "cli/replay.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

typedef struct {
  char **v;
  size_t n;
} strv;

static void
push (strv *s, const char *a)
{
  s->v = fb_xreallocarray (s->v, s->n + 2, sizeof *s->v);
  s->v[s->n++] = fb_xstrdup (a);
  s->v[s->n] = NULL;
}

static void
strv_clear (strv *s)
{
  for (size_t i = 0; i < s->n; i++)
    free (s->v[i]);
  free (s->v);
}

int
fb_cli_bundle_write (const char *path, const fb_spec *spec, uint64_t seed, char *const *typed, int argc, char **argv,
                     const char *shortopts, const struct option *opts, const char *skip,
                     const fb_report *rep, bool asked)
{
  strv args = { 0 }, cmd = { 0 };
  char n[24];
  snprintf (n, sizeof n, "%llu", (unsigned long long) seed);
  push (&args, "--seed");
  push (&args, n);
  /* argv parsed once already: a second pass only collects */
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long (argc, argv, shortopts, opts, NULL)) != -1)
    {
      const struct option *o = opts;
      while (o->name && o->val != c)
        o++;
      if (!o->name || strchr (skip, c))
        continue;
      fb_buf flag = FB_BUF_INIT;
      fb_buf_printf (&flag, "--%s", o->name);
      push (&args, fb_buf_str (&flag));
      fb_buf_free (&flag);
      if (o->has_arg != no_argument && optarg)
        push (&args, optarg);
    }
  push (&cmd, "faultbox");
  for (int i = 0; i < argc; i++)
    push (&cmd, typed[i]);
  strv files = { 0 };
  for (size_t i = 0; i < fb_spec_file_count (spec); i++)
    push (&files, fb_spec_file (spec, i));
  fb_bundle b = { .star_file = (char *) rep->star_file, .spec_dir = (char *) fb_spec_dir (spec),
                  .files = files.v, .n_files = files.n, .command_line = cmd.v, .args = args.v, .seed = seed };
  fb_error err = { 0 };
  int rc = fb_bundle_write (path, &b, rep, &err);
  strv_clear (&args);
  strv_clear (&cmd);
  strv_clear (&files);
  if (rc < 0 && asked)
    fb_cli_fail ("test: --bundle: %s", err.msg);
  else if (rc < 0)
    fb_cli_fail ("test: cannot keep the failed run's bundle: %s (--no-bundle skips it)", err.msg);
  return rc;
}

/* Where the run was recorded, when it differs from here. */
static void
note_differences (const fb_bundle *b)
{
  struct utsname u;
  char kernel[sizeof u.release + sizeof u.version + 2] = "";
  if (uname (&u) == 0)
    snprintf (kernel, sizeof kernel, "%s %s", u.release, u.version);
  if (b->version && strcmp (b->version, FB_VERSION))
    fprintf (stderr, "replay: recorded with faultbox %s, this is %s\n", b->version, FB_VERSION);
  if (b->kernel && strcmp (b->kernel, kernel))
    fprintf (stderr, "replay: recorded on kernel %s, this is %s\n", b->kernel, kernel);
}

static int
run (int argc, char **argv)
{
  fb_error err = { 0 };
  /* no bundle named: the last failed run's */
  bool named = argc >= 2 && argv[1][0] != '-';
  _cleanup_free_ char *latest = named ? NULL : fb_runs_latest (&err);
  if (!named && !latest)
    return fb_cli_fail ("replay: no bundle given and %s (faultbox replay [BUNDLE] [--test PATTERN] [flags])",
                        err.msg);
  const char *path = named ? argv[1] : latest;
  int first_flag = named ? 2 : 1;
  fb_bundle b;
  if (fb_bundle_open (path, &b, &err) < 0)
    return fb_cli_fail ("replay: %s", err.msg);
  /* the recorded flags first: the ones given here override them */
  strv av = { 0 };
  push (&av, "test");
  for (char **a = b.args; *a; a++)
    push (&av, *a);
  for (int i = first_flag; i < argc; i++)
    push (&av, argv[i]);
  fputs ("replay: faultbox", stderr);
  for (size_t i = 0; i < av.n; i++)
    fprintf (stderr, " %s", av.v[i]);
  fprintf (stderr, " %s (from %s)\n", b.star_file, path);
  note_differences (&b);
  fflush (stderr);
  int rc = fb_cli_test ((int) av.n, av.v, &b);
  strv_clear (&av);
  fb_bundle_clear (&b);
  return rc;
}

const fb_command fb_cmd_replay = {
  .name = "replay",
  .summary = "run a replay bundle (faultbox test --bundle) again",
  .usage = "usage: faultbox replay [BUNDLE] [--test PATTERN] [test flags]\n\n"
           "Runs the run recorded in BUNDLE (a directory or .tar.gz written by faultbox test\n"
           "--bundle, or unasked by a failing run) again; without BUNDLE, the newest bundle\n"
           "of $FAULTBOX_RUNS_DIR (default .faultbox/runs), the last failed run. Again: the\n"
           "spec and the files it loaded as the bundle holds them, the same seed, test\n"
           "selection and flags (--runs, --check-determinism, --shard ...), printed as\n"
           "faultbox test prints. Flags given here are added after the recorded\n"
           "ones, so --test narrows the run and --seed, --runs ... override; output files\n"
           "(--output, --junit, --normalize, --bundle) are only written when given here.\n"
           "Service binaries are not in the bundle: they are run from the paths the spec\n"
           "names, as when it was recorded (a missing one fails its tests, as in faultbox\n"
           "test). Exit: as faultbox test; 1 when the bundle is missing or not readable.\n",
  .run = run,
  .sandbox = true,
};
