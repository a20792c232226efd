/* Starting faultbox-init (init_main.c), which the build links statically
 * and embeds here (init_blob.S): exec'd from a memfd, it needs no install
 * path and is the one the library was built with. */
#include "sandbox/init.h"
#include "util/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: asked for where vm.memfd_noexec makes memfds non-executable */
#endif

extern const char fb_init_blob[], fb_init_blob_end[];

static pthread_once_t blob_once = PTHREAD_ONCE_INIT;
static int blob_fd = -1, blob_errno;
static const char *blob_step = "";

/* One sealed memfd per process, holding the binary; never closed. */
static void
make_blob (void)
{
  int fd = memfd_create ("faultbox-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL)
    fd = memfd_create ("faultbox-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  blob_step = "memfd_create";
  size_t len = (size_t) (fb_init_blob_end - fb_init_blob), done = 0;
  while (fd >= 0 && done < len)
    {
      ssize_t n = write (fd, fb_init_blob + done, len - done);
      if (n <= 0)
        {
          blob_step = "write";
          close (fd);
          fd = -1;
          break;
        }
      done += (size_t) n;
    }
  if (fd >= 0 && fcntl (fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
    {
      blob_step = "seal";
      close (fd);
      fd = -1;
    }
  blob_errno = fd < 0 ? errno : 0;
  blob_fd = fd;
}

#define SERVICE_NS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID)

typedef struct {
  int ctl, cfd;
  int cgfd;              /* >= 0: the cgroup to join by itself */
  char **argv;
  char path[32];         /* the binary as /proc/self/fd/N */
  int err;
  const char *step;
} spawn_args;

/* The child shares our memory (our thread waits) until it execs: only
 * syscalls here, and nothing another of the runner's threads may lock. */
__attribute__ ((no_sanitize ("address", "undefined"))) static int
exec_init (void *p)
{
  spawn_args *s = p;
  static char *const envp[] = { NULL };
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (s->cgfd >= 0)
    {
      s->step = "cannot join its cgroup";
      int procs = openat (s->cgfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
      if (procs < 0 || write (procs, "0", 1) != 1)
        {
          s->err = errno;
          _exit (127);
        }
      close (procs);
    }
  s->step = "cannot exec faultbox-init";
  if (fcntl (s->ctl, F_SETFD, 0) == 0 && fcntl (s->cfd, F_SETFD, 0) == 0)
    {
      syscall (SYS_execveat, blob_fd, "", s->argv, envp, AT_EMPTY_PATH);
      /* as fexecve does where execveat fails (Valgrind has none) */
      execve (s->path, s->argv, envp);
    }
  s->err = errno;
  _exit (127);
}

#if defined(__x86_64__)
/* clone3_x86_64.S: clone3, the child running fn (arg) on ca's stack */
long fb_clone3_call (struct clone_args *ca, size_t size, int (*fn) (void *), void *arg);
#endif

/* Starts exec_init (s) in the service's namespaces, with vfork semantics:
 * where the kernel (5.7) and our assembler entry (x86_64) allow, clone3
 * straight into its v2 cgroup; else clone, the child joining the cgroup
 * by itself (which can wait for an RCU grace period in the kernel). */
static pid_t
clone_init (spawn_args *s, int cgfd, int *pidfd, char *stack, size_t size)
{
  int flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SERVICE_NS;
#if defined(__x86_64__)
  if (cgfd >= 0)
    {
      struct clone_args ca = { .flags = (uint64_t) flags | CLONE_INTO_CGROUP, .pidfd = (uint64_t) (uintptr_t) pidfd,
                               .exit_signal = SIGCHLD, .stack = (uint64_t) (uintptr_t) stack, .stack_size = size,
                               .cgroup = (uint64_t) cgfd };
      long r = fb_clone3_call (&ca, sizeof ca, exec_init, s);
      if (r >= 0)
        return (pid_t) r;
      if (r != -ENOSYS && r != -E2BIG && r != -EINVAL)
        {
          errno = (int) -r;
          return -1;
        }
    }
#endif
  s->cgfd = cgfd;
  return clone (exec_init, stack + size, flags | SIGCHLD, s, pidfd);
}

pid_t
fb_init_spawn (const fb_init_args *a, int cgfd, int *pidfd, fb_error *err)
{
  pthread_once (&blob_once, make_blob);
  if (blob_fd < 0)
    return fb_error_setsys (err, blob_errno, "cannot load faultbox-init (%s)", blob_step);
  _cleanup_buf_ fb_buf cfg = FB_BUF_INIT;
  fb_init_pack (a, &cfg);
  _cleanup_close_ int cfd = memfd_create ("faultbox-init-config", MFD_CLOEXEC);
  if (cfd < 0 || write (cfd, cfg.data, cfg.len) != (ssize_t) cfg.len)
    return fb_error_setsys (err, errno, "cannot pass the sandbox's configuration");
  char num[2][16];
  snprintf (num[0], sizeof num[0], "%d", a->ctl);
  snprintf (num[1], sizeof num[1], "%d", cfd);
  char *argv[] = { "faultbox-init", num[0], num[1], NULL };
  spawn_args s = { .ctl = a->ctl, .cfd = cfd, .cgfd = -1, .argv = argv };
  snprintf (s.path, sizeof s.path, "/proc/self/fd/%d", blob_fd);
  /* no handler of ours may run on the child's stack; init unblocks them */
  sigset_t all, old;
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &old);
  char stack[16384] __attribute__ ((aligned (16)));
  pid_t pid = clone_init (&s, cgfd, pidfd, stack, sizeof stack);
  int e = pid < 0 ? errno : s.err;
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  if (pid < 0)
    return fb_error_setsys (err, e, "cannot create namespaces");
  if (s.err)
    {
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
      close (*pidfd);
      *pidfd = -1;
      return fb_error_setsys (err, e, "%s", s.step);
    }
  return pid;
}
