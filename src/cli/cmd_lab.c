#include "cli/commands.h"
#include "faultbox/runner.h"
#include "util/alloc.h"
#include "util/parse.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  fb_run_lab_options o;
  fb_run_lab_service *svcs; /* names and argv ours */
  const char **binds;
  char *rootfs;
  bool verbose;
  bool told;                /* on_down printed the error */
} lab_cli;

/* "name=/path/bin arg..." */
static int
parse_service (const char *spec, fb_run_lab_service *out)
{
  const char *eq = strchr (spec, '=');
  if (!eq || eq == spec || !eq[1])
    return fb_cli_fail ("lab: --service takes name=BINARY [args], not \"%s\"", spec);
  out->name = fb_xstrndup (spec, (size_t) (eq - spec));
  char *cmd = fb_xstrdup (eq + 1), *save = NULL;
  char **argv = NULL;
  size_t n = 0;
  for (char *w = strtok_r (cmd, " \t", &save); w; w = strtok_r (NULL, " \t", &save))
    {
      argv = fb_xreallocarray (argv, n + 2, sizeof *argv);
      argv[n++] = fb_xstrdup (w);
      argv[n] = NULL;
    }
  out->argv = argv;
  free (cmd);
  return argv ? 0 : fb_cli_fail ("lab: --service takes name=BINARY [args], not \"%s\"", spec);
}

static void
print_swept (void *ctx, const char *cgroup, pid_t runner)
{
  (void) ctx;
  fprintf (stderr, "faultbox: swept leftover cgroup %s (runner %d is gone)\n", cgroup, (int) runner);
}

void
fb_cli_sweep (bool verbose)
{
  fb_lab_sweep_leftovers (verbose ? print_swept : NULL, NULL);
}

static volatile sig_atomic_t stop_requested;

static void
on_stop (int sig)
{
  stop_requested = sig;
}

static void
print_addrs (void *ctx, const fb_lab *lab)
{
  const lab_cli *lc = ctx;
  printf ("worker\t%s\n", fb_lab_worker_addr (lab));
  for (size_t i = 0; i < lc->o.n_services; i++)
    printf ("%s\t%s\n", lc->svcs[i].name, fb_lab_service_addr (lab, i));
  fflush (stdout);
  if (!lc->o.run)
    {
      struct sigaction sa = { .sa_handler = on_stop };
      sigaction (SIGINT, &sa, NULL);
      sigaction (SIGTERM, &sa, NULL);
    }
}

/* The error first, then each service's captured output with a [svc]
 * prefix (unless --verbose streamed it), its OOM kill, the kept dir. */
static void
print_down (void *ctx, const fb_lab *lab, const fb_error *failed)
{
  lab_cli *lc = ctx;
  if (failed)
    lc->told = fb_cli_fail ("lab: %s", failed->msg);
  for (size_t i = 0; i < lc->o.n_services && !lc->verbose; i++)
    {
      FILE *f = fopen (fb_lab_service_log (lab, i), "re");
      char line[4096];
      while (f && fgets (line, sizeof line, f))
        printf ("[%s] %s%s", lc->svcs[i].name, line, strchr (line, '\n') ? "" : "\n");
      if (f)
        fclose (f);
    }
  for (size_t i = 0; i < lc->o.n_services; i++)
    if (fb_lab_service_oom (lab, i))
      printf ("[%s] killed by its memory limit (out of memory)\n", lc->svcs[i].name);
  if (lc->o.keep_workdir)
    fprintf (stderr, "faultbox: work dir kept: %s\n", fb_lab_workdir (lab));
}

/* The flags into lc; 0, or the exit code of a usage error. */
static int
parse_flags (int argc, char **argv, lab_cli *lc)
{
  static const struct option opts[] = {
    { "service", required_argument, NULL, 's' },
    { "run", required_argument, NULL, 'r' },
    { "verbose", no_argument, NULL, 'v' },
    { "bind", required_argument, NULL, 'b' },
    { "memory-max", required_argument, NULL, 'm' },
    { "pids-max", required_argument, NULL, 'p' },
    { "rootfs", required_argument, NULL, 'R' },
    { "keep-workdir", no_argument, NULL, 'k' },
    { NULL, 0, NULL, 0 },
  };
  fb_run_lab_options *o = &lc->o;
  fb_error err = { 0 };
  size_t n_binds = 0;
  long long pids;
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long (argc, argv, "+:v", opts, NULL)) != -1)
    switch (c)
      {
      case 's':
        lc->svcs = fb_xreallocarray (lc->svcs, o->n_services + 1, sizeof *lc->svcs);
        memset (&lc->svcs[o->n_services], 0, sizeof *lc->svcs);
        o->services = lc->svcs;
        if (parse_service (optarg, &lc->svcs[o->n_services++]) != 0)
          return 1;
        break;
      case 'r': o->run = optarg; break;
      case 'v': lc->verbose = o->echo_output = true; break;
      case 'k': o->keep_workdir = true; break;
      case 'R':
        free (lc->rootfs);
        if (!(o->rootfs = lc->rootfs = realpath (optarg, NULL)))
          return fb_cli_fail ("lab: --rootfs %s: %s", optarg, strerror (errno));
        break;
      case 'm':
        if (fb_parse_size (optarg, &o->limits.memory_max, &err) < 0)
          return fb_cli_fail ("lab: --memory-max: %s", err.msg);
        break;
      case 'p':
        if (fb_parse_int (optarg, 1, 1 << 22, &pids, &err) < 0)
          return fb_cli_fail ("lab: --pids-max: %s", err.msg);
        o->limits.pids_max = (uint64_t) pids;
        break;
      case 'b':
        lc->binds = fb_xreallocarray (lc->binds, n_binds + 2, sizeof *lc->binds);
        lc->binds[n_binds++] = optarg;
        lc->binds[n_binds] = NULL;
        o->binds = lc->binds;
        break;
      default: return fb_cli_bad_flag ("lab", c, argv);
      }
  if (optind < argc)
    return fb_cli_fail ("lab: unexpected argument \"%s\" (spec files: use faultbox test)", argv[optind]);
  if (o->n_services == 0)
    return fb_cli_fail ("lab: no services (usage: faultbox lab --service name=/path/bin [args]...)");
  /* the binary is the root's own, which only the service can see (its
   * init reports what fails) */
  for (size_t i = 0; o->rootfs && i < o->n_services; i++)
    if (lc->svcs[i].argv[0][0] != '/')
      return fb_cli_fail ("lab: service \"%s\": with --rootfs give the binary's absolute path in DIR, not \"%s\"",
                          lc->svcs[i].name, lc->svcs[i].argv[0]);
  return 0;
}

static int
run (int argc, char **argv)
{
  lab_cli lc = { .o = { .stop = &stop_requested, .on_up = print_addrs, .on_down = print_down } };
  lc.o.ctx = &lc;
  int ret = parse_flags (argc, argv, &lc);
  fb_error err = { 0 };
  if (ret == 0)
    {
      fb_cli_sweep (lc.verbose);
      if (fb_run_lab (&lc.o, &ret, &err) < 0)
        ret = lc.told ? 1 : fb_cli_fail ("lab: %s", err.msg);
    }
  for (size_t i = 0; i < lc.o.n_services; i++)
    {
      free ((char *) lc.svcs[i].name);
      for (char *const *a = lc.svcs[i].argv; a && *a; a++)
        free (*a);
      free ((char **) lc.svcs[i].argv);
    }
  free (lc.svcs);
  free (lc.binds);
  free (lc.rootfs);
  return ret;
}

const fb_command fb_cmd_lab = {
  .name = "lab",
  .summary = "start services in a lab, print their addresses, tear down",
  .usage = "usage: faultbox lab --service NAME=/path/bin [ARGS]... [--bind DIR]... [--run CMD]\n"
           "                    [--memory-max SIZE] [--pids-max N] [--rootfs DIR] [--keep-workdir]\n"
           "                    [--verbose]\n\n"
           "Starts each service in its own sandbox on a fresh lab network, prints the\n"
           "addresses, then waits for Ctrl-C (or runs CMD from the lab's client address)\n"
           "and tears everything down, printing each service's output as [name] lines.\n"
           "--bind DIR makes a host directory visible (read-only) to every service;\n"
           "--memory-max (e.g. 64M) and --pids-max limit each service through its cgroup.\n"
           "--rootfs DIR runs every service in DIR as its root, under an overlay: DIR is\n"
           "never written, the writes of one lab are gone in the next; the binary is DIR's.\n"
           "--keep-workdir keeps the lab's work dir (logs, overlay upper layers) and says where.\n"
           "--verbose streams the services' output live to stderr as [name] lines (instead\n"
           "of printing it at the end) and names each leftover cgroup of a dead runner swept.\n",
  .run = run,
  .sandbox = true,
};
