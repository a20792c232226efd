/* Starting inits through faultbox-init (init_main.c), the fork server that
 * the build links statically and embeds here (init_blob.S): exec'd from a
 * memfd, it needs no install path and is the one the library was built
 * with. One server per process, started with its first lab. */
#include "sandbox/init.h"
#include "util/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: asked for where vm.memfd_noexec makes memfds non-executable */
#endif

extern const char fb_init_blob[], fb_init_blob_end[];

/* A sealed memfd holding the binary. */
static int
make_blob (fb_error *err)
{
  int fd = memfd_create ("faultbox-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL)
    fd = memfd_create ("faultbox-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return fb_error_setsys (err, errno, "cannot load faultbox-init (memfd_create)");
  size_t len = (size_t) (fb_init_blob_end - fb_init_blob), done = 0;
  while (done < len)
    {
      ssize_t n = write (fd, fb_init_blob + done, len - done);
      if (n <= 0)
        {
          close (fd);
          return fb_error_setsys (err, n < 0 ? errno : EIO, "cannot load faultbox-init (write)");
        }
      done += (size_t) n;
    }
  if (fcntl (fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
    {
      close (fd);
      return fb_error_setsys (err, errno, "cannot load faultbox-init (seal)");
    }
  return fd;
}

/* The fork server of this process (owner): a child of ours that forked
 * processes of ours inherit but may not use, as its inits would be their
 * parent's children. */
static struct {
  pthread_mutex_t lock;
  pid_t owner, pid;
  int sock;
} server = { PTHREAD_MUTEX_INITIALIZER, 0, -1, -1 };

static void
server_stop_locked (void)
{
  if (server.sock >= 0)
    close (server.sock);
  server.sock = -1;
  if (server.owner == getpid () && server.pid > 0)
    while (waitpid (server.pid, NULL, 0) < 0 && errno == EINTR)
      ;
  server.pid = -1;
}

static int
server_start_locked (fb_error *err)
{
  if (server.sock >= 0 && server.owner == getpid ())
    return 0;
  server_stop_locked ();
  _cleanup_close_ int blob = make_blob (err);
  if (blob < 0)
    return -1;
  int sp[2];
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    return fb_error_setsys (err, errno, "cannot start faultbox-init (socketpair)");
  char path[32], sock[16], runner[16];
  snprintf (path, sizeof path, "/proc/self/fd/%d", blob);
  snprintf (sock, sizeof sock, "%d", sp[1]);
  snprintf (runner, sizeof runner, "%d", (int) getpid ());
  char *argv[] = { "faultbox-init", sock, runner, NULL }, *envp[] = { NULL };
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, sp[1], sp[1]); /* the same fd: only its close-on-exec goes */
  pid_t pid;
  int r = posix_spawn (&pid, path, &fa, NULL, argv, envp);
  posix_spawn_file_actions_destroy (&fa);
  close (sp[1]);
  if (r != 0)
    {
      close (sp[0]);
      return fb_error_setsys (err, r, "cannot start faultbox-init");
    }
  server.owner = getpid ();
  server.pid = pid;
  server.sock = sp[0];
  return 0;
}

/* One request to the server, stopped when it fails: NOT_TAKEN when the
 * server was gone before it took the request (asking again is safe),
 * NO_ANSWER when it went after (it may have forked an init). */
enum { ANSWERED, NOT_TAKEN, NO_ANSWER };

static int
ask_server (const int *fds, size_t n, fb_init_forked *out, int *pidfd)
{
  char c = 'C';
  int got[FB_INIT_MAX_FDS];
  size_t n_got = 0;
  int r = ANSWERED;
  if (fb_init_send_fds (server.sock, &c, 1, fds, n) < 0)
    r = NOT_TAKEN;
  else if (fb_init_recv_fds (server.sock, out, sizeof *out, got, &n_got) != (ssize_t) sizeof *out)
    r = NO_ANSWER;
  *pidfd = -1;
  for (size_t i = 0; i < n_got; i++)
    if (r == ANSWERED && *pidfd < 0)
      *pidfd = got[i];
    else
      close (got[i]);
  if (r != ANSWERED)
    server_stop_locked ();
  return r;
}

pid_t
fb_init_spawn (const fb_init_args *a, int netns, int cgfd, int *pidfd, fb_error *err)
{
  _cleanup_buf_ fb_buf cfg = FB_BUF_INIT;
  fb_init_pack (a, &cfg);
  _cleanup_close_ int cfd = memfd_create ("faultbox-init-config", MFD_CLOEXEC);
  if (cfd < 0 || write (cfd, cfg.data, cfg.len) != (ssize_t) cfg.len)
    return fb_error_setsys (err, errno, "cannot pass the sandbox's configuration");
  int fds[] = { a->ctl, cfd, netns, cgfd };
  size_t n = cgfd >= 0 ? 4 : 3;
  fb_init_forked out = { 0 };
  pthread_mutex_lock (&server.lock);
  /* a server that died since the last lab (its thread went, a signal) is
   * started again, once */
  int r = 0, asked = NOT_TAKEN;
  for (int tries = 0; tries < 2 && asked == NOT_TAKEN && r == 0; tries++)
    {
      r = server_start_locked (err);
      if (r == 0)
        asked = ask_server (fds, n, &out, pidfd);
    }
  pthread_mutex_unlock (&server.lock);
  if (r < 0)
    return -1;
  if (asked != ANSWERED)
    return fb_error_set (err, EPIPE, "faultbox-init (the fork server of inits) exited%s",
                         asked == NO_ANSWER ? " while it made this service's init" : "");
  if (out.pid < 0)
    {
      out.step[sizeof out.step - 1] = '\0';
      return fb_error_setsys (err, -out.pid, "%s", out.step);
    }
  return out.pid;
}
