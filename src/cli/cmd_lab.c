#include "sandbox/binpath.h"
#include "cli/commands.h"
#include "faultbox/lab.h"
#include "util/alloc.h"
#include "util/parse.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  char *name;
  char **argv;
  fb_binpath bin;
} lab_service;

/* "name=/path/bin arg..." */
static int
parse_service (const char *spec, lab_service *out)
{
  const char *eq = strchr (spec, '=');
  if (!eq || eq == spec || !eq[1])
    return fb_cli_fail ("lab: --service takes name=BINARY [args], not \"%s\"", spec);
  out->name = fb_xstrndup (spec, (size_t) (eq - spec));
  char *cmd = fb_xstrdup (eq + 1), *save = NULL;
  size_t n = 0;
  for (char *w = strtok_r (cmd, " \t", &save); w; w = strtok_r (NULL, " \t", &save))
    {
      out->argv = fb_xreallocarray (out->argv, n + 2, sizeof *out->argv);
      out->argv[n++] = fb_xstrdup (w);
      out->argv[n] = NULL;
    }
  free (cmd);
  return 0;
}

/* The binary on the host; under --rootfs it is the root's own, which only
 * the service can see (its init reports what fails). */
static int
resolve_service (lab_service *s, const char *rootfs)
{
  if (rootfs)
    return s->argv[0][0] == '/' ? 0
                                : fb_cli_fail ("lab: service \"%s\": with --rootfs give the binary's absolute path in DIR, not \"%s\"",
                                               s->name, s->argv[0]);
  if (fb_binpath_resolve (s->argv[0], &s->bin) < 0)
    return fb_cli_fail ("lab: service \"%s\": cannot execute %s: %s", s->name, s->argv[0], strerror (errno));
  free (s->argv[0]);
  s->argv[0] = fb_xstrdup (s->bin.path);
  return 0;
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

/* Prints each service's captured output with a [svc] prefix. */
static void
print_logs (fb_lab *lab, const lab_service *svcs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      FILE *f = fopen (fb_lab_service_log (lab, i), "re");
      char line[4096];
      while (f && fgets (line, sizeof line, f))
        printf ("[%s] %s%s", svcs[i].name, line, strchr (line, '\n') ? "" : "\n");
      if (f)
        fclose (f);
    }
}

static void
print_kept (const fb_lab *lab, bool keep)
{
  if (keep)
    fprintf (stderr, "faultbox: work dir kept: %s\n", fb_lab_workdir (lab));
}

static int
run_command_in_lab (fb_lab *lab, const char *cmd)
{
  fb_error err = { 0 };
  if (fb_lab_enter (lab, -1, &err) < 0)
    return fb_cli_fail ("lab: %s", err.msg);
  pid_t pid = fork ();
  if (pid == 0)
    {
      execl ("/bin/sh", "sh", "-c", cmd, (char *) NULL);
      _exit (127);
    }
  fb_lab_leave (lab);
  int status = 0;
  while (pid > 0 && waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static int
run (int argc, char **argv)
{
  lab_service *svcs = NULL;
  size_t n = 0;
  const char *run_cmd = NULL;
  const char **extra = fb_xcalloc (1, sizeof *extra);
  size_t n_extra = 0;
  fb_limits limits = { 0 };
  fb_error perr = { 0 };
  long long pids;
  bool verbose = false, keep = false;
  char *rootfs = NULL;
  int ret = 1;
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
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long (argc, argv, "+:v", opts, NULL)) != -1)
    switch (c)
      {
      case 's':
        svcs = fb_xreallocarray (svcs, n + 1, sizeof *svcs);
        memset (&svcs[n], 0, sizeof *svcs);
        if (parse_service (optarg, &svcs[n++]) != 0)
          goto out;
        break;
      case 'r': run_cmd = optarg; break;
      case 'v': verbose = true; break;
      case 'k': keep = true; break;
      case 'R':
        free (rootfs);
        if (!(rootfs = realpath (optarg, NULL)))
          {
            fb_cli_fail ("lab: --rootfs %s: %s", optarg, strerror (errno));
            goto out;
          }
        break;
      case 'm':
        if (fb_parse_size (optarg, &limits.memory_max, &perr) < 0)
          {
            fb_cli_fail ("lab: --memory-max: %s", perr.msg);
            goto out;
          }
        break;
      case 'p':
        if (fb_parse_int (optarg, 1, 1 << 22, &pids, &perr) < 0)
          {
            fb_cli_fail ("lab: --pids-max: %s", perr.msg);
            goto out;
          }
        limits.pids_max = (uint64_t) pids;
        break;
      case 'b':
        extra = fb_xreallocarray (extra, n_extra + 2, sizeof *extra);
        extra[n_extra++] = optarg;
        extra[n_extra] = NULL;
        break;
      default: fb_cli_bad_flag ("lab", c, argv); goto out;
      }
  if (optind < argc)
    {
      fb_cli_fail ("lab: unexpected argument \"%s\" (spec files: use faultbox test)", argv[optind]);
      goto out;
    }
  if (n == 0)
    {
      fb_cli_fail ("lab: no services (usage: faultbox lab --service name=/path/bin [args]...)");
      goto out;
    }
  for (size_t i = 0; i < n; i++)
    if (resolve_service (&svcs[i], rootfs) != 0)
      goto out;
  fb_cli_sweep (verbose);
  fb_service_plan *plans = fb_xcalloc (n, sizeof *plans);
  const char ***binds = fb_xcalloc (n, sizeof *binds);
  extern char **environ;
  for (size_t i = 0; i < n; i++)
    {
      /* under --rootfs the binary is the root's own */
      binds[i] = fb_xcalloc (n_extra + 3, sizeof **binds);
      size_t k = 0;
      if (!rootfs)
        {
          binds[i][k++] = svcs[i].bin.dir;
          binds[i][k++] = svcs[i].bin.real_dir;
        }
      memcpy (binds[i] + k, extra, n_extra * sizeof *extra);
      plans[i] = (fb_service_plan){ .name = svcs[i].name, .argv = svcs[i].argv, .envp = environ,
                                    .ro_binds = binds[i], .limits = limits, .echo_output = verbose,
                                    .rootfs = rootfs };
    }
  fb_lab_plan plan = { .services = plans, .n_services = n, .keep_workdir = keep };
  fb_lab *lab = NULL;
  fb_error err = { 0 };
  if (fb_lab_create (&plan, &lab, &err) < 0)
    fb_cli_fail ("lab: %s", err.msg);
  for (size_t i = 0; lab && i < n; i++)
    if (fb_lab_start_service (lab, i, &err) < 0)
      {
        fb_cli_fail ("lab: %s", err.msg);
        if (!verbose) /* else already streamed */
          print_logs (lab, svcs, n);
        print_kept (lab, keep);
        fb_lab_destroy (lab);
        lab = NULL;
      }
  if (lab)
    {
      printf ("worker\t%s\n", fb_lab_worker_addr (lab));
      for (size_t i = 0; i < n; i++)
        printf ("%s\t%s\n", svcs[i].name, fb_lab_service_addr (lab, i));
      fflush (stdout);
      if (run_cmd)
        ret = run_command_in_lab (lab, run_cmd);
      else
        {
          struct sigaction sa = { .sa_handler = on_stop };
          sigaction (SIGINT, &sa, NULL);
          sigaction (SIGTERM, &sa, NULL);
          bool all_exited = false;
          while (!stop_requested && !all_exited)
            {
              usleep (50000);
              all_exited = true;
              for (size_t i = 0; i < n; i++)
                all_exited &= fb_lab_service_exited (lab, i, NULL);
            }
          ret = 0;
        }
      /* the logs live in the work dir, which destroy removes */
      fb_lab_stop (lab);
      if (!verbose)
        print_logs (lab, svcs, n);
      for (size_t i = 0; i < n; i++)
        if (fb_lab_service_oom (lab, i))
          printf ("[%s] killed by its memory limit (out of memory)\n", svcs[i].name);
      print_kept (lab, keep);
      fb_lab_destroy (lab);
    }
  for (size_t i = 0; i < n; i++)
    free (binds[i]);
  free (binds);
  free (plans);
out:
  for (size_t i = 0; i < n; i++)
    {
      free (svcs[i].name);
      fb_binpath_clear (&svcs[i].bin);
      for (char **a = svcs[i].argv; a && *a; a++)
        free (*a);
      free (svcs[i].argv);
    }
  free (svcs);
  free (extra);
  free (rootfs);
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
};
