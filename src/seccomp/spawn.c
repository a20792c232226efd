#include "seccomp/spawn.h"
#include "util/cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

/* The child's listener is CLOEXEC and the child may make no routed syscall
 * before the supervisor holds it (a sendmsg over SCM_RIGHTS could itself be
 * routed and deadlock), so the parent finds it in /proc and takes a copy. */
static int
find_listener (pid_t pid)
{
  char dir[64], link[128], target[256];
  snprintf (dir, sizeof dir, "/proc/%d/fd", (int) pid);
  _cleanup_closedir_ DIR *d = opendir (dir);
  if (!d)
    return -1;
  for (struct dirent *de; (de = readdir (d));)
    {
      snprintf (link, sizeof link, "%s/%s", dir, de->d_name);
      ssize_t n = readlink (link, target, sizeof target - 1);
      if (n <= 0)
        continue;
      target[n] = '\0';
      if (strstr (target, "seccomp notify"))
        return atoi (de->d_name);
    }
  return -1;
}

static _Noreturn void
child (char *const argv[], char *const envp[], const struct sock_fprog *prog, pid_t parent, int errpipe)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (127);
  if (prog)
    {
      if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        goto fail;
      long fd = syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                         SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, prog);
      if (fd < 0 && errno == EINVAL)
        fd = syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, prog);
      if (fd < 0)
        goto fail;
      raise (SIGSTOP); /* the parent takes the listener while we are stopped */
    }
  if (envp)
    execvpe (argv[0], argv, envp);
  else
    execvp (argv[0], argv);
fail:;
  int e = errno;
  if (write (errpipe, &e, sizeof e) < 0)
    _exit (126);
  _exit (127);
}

int
fb_spawn_supervised (char *const argv[], char *const envp[], const struct sock_fprog *prog,
                     int (*before_exec) (void *ctx, const fb_spawned *sp, fb_error *err), void *ctx,
                     fb_spawned *out, fb_error *err)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return fb_error_setsys (err, errno, "pipe");
  pid_t parent = getpid ();
  pid_t pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (p[0]);
      close (p[1]);
      return fb_error_setsys (err, e, "fork");
    }
  if (pid == 0)
    {
      close (p[0]);
      child (argv, envp, prog, parent, p[1]);
    }
  close (p[1]);
  _cleanup_close_ int errfd = p[0];
  fb_spawned sp = { .pid = pid, .pidfd = (int) syscall (SYS_pidfd_open, pid, 0), .listener = -1 };
  int ret = 0;
  if (prog)
    {
      siginfo_t si;
      memset (&si, 0, sizeof si);
      if (waitid (P_PID, (id_t) pid, &si, WSTOPPED | WEXITED) < 0 || si.si_code != CLD_STOPPED)
        {
          int e = 0;
          ret = read (errfd, &e, sizeof e) == sizeof e
                    ? fb_error_setsys (err, e, "cannot install the seccomp filter in %s", argv[0])
                    : fb_error_set (err, ECHILD, "%s exited before its filter was installed", argv[0]);
          goto fail;
        }
      int cfd = find_listener (pid);
      sp.listener = cfd >= 0 ? (int) syscall (SYS_pidfd_getfd, sp.pidfd, cfd, 0) : -1;
      if (sp.listener < 0)
        {
          ret = fb_error_setsys (err, errno ? errno : ENOENT, "cannot take the seccomp listener of %s", argv[0]);
          goto fail;
        }
      fcntl (sp.listener, F_SETFD, FD_CLOEXEC);
      if (before_exec && (ret = before_exec (ctx, &sp, err)) < 0)
        goto fail;
      kill (pid, SIGCONT);
    }
  int e = 0;
  if (read (errfd, &e, sizeof e) == sizeof e)
    {
      fb_spawn_wait (&sp);
      if (sp.listener >= 0)
        close (sp.listener);
      return fb_error_setsys (err, e, "cannot exec %s", argv[0]);
    }
  *out = sp;
  return 0;
fail:
  kill (pid, SIGKILL);
  fb_spawn_wait (&sp);
  if (sp.listener >= 0)
    close (sp.listener);
  return ret;
}

int
fb_spawn_wait (fb_spawned *sp)
{
  int status = 0;
  while (waitpid (sp->pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (sp->pidfd >= 0)
    close (sp->pidfd);
  sp->pidfd = -1;
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return WEXITSTATUS (status);
}
