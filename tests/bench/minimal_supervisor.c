/* Reference: the smallest correct supervisor (libseccomp filter + raw ioctl
 * loop answering CONTINUE), to compare faultbox's engine against. Usage:
 * minimal_supervisor SYSCALL PROGRAM [ARGS] */
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  int sp[2];
  socketpair (AF_UNIX, SOCK_STREAM, 0, sp);
  pid_t pid = fork ();
  if (pid == 0)
    {
      scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
      seccomp_rule_add (ctx, SCMP_ACT_NOTIFY, seccomp_syscall_resolve_name (argv[1]), 0);
      seccomp_load (ctx);
      int fd = seccomp_notify_fd (ctx);
      char c = 0;
      struct iovec iov = { &c, 1 };
      char cbuf[CMSG_SPACE (sizeof (int))];
      struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
      struct cmsghdr *cm = CMSG_FIRSTHDR (&m);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SCM_RIGHTS;
      cm->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (cm), &fd, sizeof fd);
      sendmsg (sp[1], &m, 0);
      close (fd);
      execvp (argv[2], argv + 2);
      _exit (127);
    }
  char c;
  struct iovec iov = { &c, 1 };
  char cbuf[CMSG_SPACE (sizeof (int))];
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  recvmsg (sp[0], &m, 0);
  int fd;
  memcpy (&fd, CMSG_DATA (CMSG_FIRSTHDR (&m)), sizeof fd);
  for (;;)
    {
      struct seccomp_notif req;
      memset (&req, 0, sizeof req);
      if (ioctl (fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
        break;
      struct seccomp_notif_resp resp = { .id = req.id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE };
      ioctl (fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    }
  int st;
  waitpid (pid, &st, 0);
  return 0;
}
