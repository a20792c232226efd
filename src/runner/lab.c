/* `faultbox lab`: services named on the command line in one lab, until a
 * command run from the lab's client address ends or the caller stops it. */
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner/internal.h"
#include "util/alloc.h"

static int
run_command (fb_lab *lab, const char *cmd, int *status, fb_error *err)
{
  if (fb_lab_enter (lab, -1, err) < 0)
    return -1;
  pid_t pid = fork ();
  if (pid == 0)
    {
      execl ("/bin/sh", "sh", "-c", cmd, (char *) NULL);
      _exit (127);
    }
  int fork_errno = errno;
  fb_lab_leave (lab);
  if (pid < 0)
    return fb_error_setsys (err, fork_errno, "cannot run %s", cmd);
  int st = 0;
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
  *status = WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
  return 0;
}

static void
wait_stop (fb_lab *lab, size_t n, const volatile sig_atomic_t *stop)
{
  bool all_exited = false;
  while (!(stop && *stop) && !all_exited)
    {
      usleep (50000);
      all_exited = true;
      for (size_t i = 0; i < n; i++)
        all_exited &= fb_lab_service_exited (lab, i, NULL);
    }
}

static int
run_lab (fb_lab *lab, const fb_run_lab_options *o, int *exit_status, fb_error *err)
{
  for (size_t i = 0; i < o->n_services; i++)
    if (fb_lab_start_service (lab, i, err) < 0)
      {
        if (o->on_down)
          o->on_down (o->ctx, lab, err);
        return -1;
      }
  if (o->on_up)
    o->on_up (o->ctx, lab);
  int status = 0, rc = 0;
  if (o->in_lab)
    {
      rc = fb_lab_enter (lab, -1, err);
      if (rc == 0)
        {
          rc = o->in_lab (o->ctx, lab, err);
          fb_lab_leave (lab);
        }
    }
  else if (o->run)
    rc = run_command (lab, o->run, &status, err);
  else
    wait_stop (lab, o->n_services, o->stop);
  fb_lab_stop (lab);
  if (o->on_down)
    o->on_down (o->ctx, lab, rc < 0 ? err : NULL);
  if (rc < 0)
    return -1;
  *exit_status = status;
  return 0;
}

int
fb_run_lab (const fb_run_lab_options *o, int *exit_status, fb_error *err)
{
  size_t n = o->n_services;
  runner_binary *bins = fb_xcalloc (n + 1, sizeof *bins);
  fb_service_plan *plans = fb_xcalloc (n + 1, sizeof *plans);
  extern char **environ;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++)
    {
      const fb_run_lab_service *s = &o->services[i];
      if (runner_binary_resolve (s->argv, o->binds, o->rootfs != NULL, &bins[i], err) < 0)
        {
          fb_error_prefix (err, "service \"%s\"", s->name);
          rc = -1;
        }
      plans[i] = (fb_service_plan){ .name = s->name, .argv = bins[i].argv, .envp = o->env ? o->env : environ,
                                    .ro_binds = bins[i].binds, .limits = o->limits,
                                    .echo_output = o->echo_output, .rootfs = o->rootfs };
    }
  fb_lab_plan plan = { .services = plans, .n_services = n, .keep_workdir = o->keep_workdir };
  fb_lab *lab = NULL;
  if (rc < 0 || fb_lab_create (&plan, &lab, err) < 0)
    rc = -1;
  else
    rc = run_lab (lab, o, exit_status, err);
  fb_lab_destroy (lab);
  for (size_t i = 0; i < n; i++)
    runner_binary_clear (&bins[i]);
  free (bins);
  free (plans);
  return rc;
}
