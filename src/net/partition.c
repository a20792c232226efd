#include "net/partition.h"
#include "util/alloc.h"
#include "faultbox/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs `nft -f -` with script on stdin; its stderr becomes the error. */
static int
run_nft (const char *script, fb_error *err)
{
  int in[2], out[2];
  if (pipe2 (in, O_CLOEXEC) < 0)
    return fb_error_setsys (err, errno, "pipe");
  if (pipe2 (out, O_CLOEXEC) < 0)
    {
      close (in[0]);
      close (in[1]);
      return fb_error_setsys (err, errno, "pipe");
    }
  pid_t pid = fork ();
  if (pid == 0)
    {
      dup2 (in[0], 0);
      dup2 (out[1], 2);
      dup2 (out[1], 1);
      execlp ("nft", "nft", "-f", "-", (char *) NULL);
      _exit (127);
    }
  close (in[0]);
  close (out[1]);
  int ret = 0;
  if (pid < 0)
    ret = fb_error_setsys (err, errno, "fork");
  else
    {
      void (*old) (int) = signal (SIGPIPE, SIG_IGN);
      if (write (in[1], script, strlen (script)) < 0)
        ret = -EPIPE;
      signal (SIGPIPE, old);
    }
  close (in[1]);
  char msg[512] = "";
  ssize_t n = read (out[0], msg, sizeof msg - 1);
  msg[n > 0 ? n : 0] = '\0';
  msg[strcspn (msg, "\n")] = '\0';
  close (out[0]);
  int status = 0;
  while (pid > 0 && waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (pid > 0 && WIFEXITED (status) && WEXITSTATUS (status) == 127)
    return fb_error_set (err, ENOENT, "partition needs the nft command (apt-get install nftables; faultbox doctor)");
  if (ret == 0 && (!WIFEXITED (status) || WEXITSTATUS (status) != 0))
    ret = fb_error_set (err, EIO, "nft failed: %s", msg[0] ? msg : "unknown error");
  return ret;
}

/* IP only: ARP keeps resolving across the cut, as under Jepsen's iptables
 * grudges. Dropping it too would leave each neighbour entry FAILED, and the
 * first connect after the heal would fail with EHOSTUNREACH. */
static void
drop_rules (fb_buf *s, unsigned id, char *const *from, size_t nf, char *const *to, size_t nt)
{
  for (size_t i = 0; i < nf; i++)
    for (size_t j = 0; j < nt; j++)
      fb_buf_printf (s, "add rule bridge faultbox p%u iifname \"%s\" oifname \"%s\" ether type { ip, ip6 } drop\n", id, from[i], to[j]);
}

int
fb_net_partition_apply (unsigned id, char *const *a, size_t na, char *const *b, size_t nb, fb_part_dir dir,
                        fb_error *err)
{
  fb_buf s = FB_BUF_INIT;
  fb_buf_printf (&s,
                 "add table bridge faultbox\n"
                 "add chain bridge faultbox p%u { type filter hook forward priority 0; policy accept; }\n",
                 id);
  if (dir != FB_PART_B_TO_A)
    drop_rules (&s, id, a, na, b, nb);
  if (dir != FB_PART_A_TO_B)
    drop_rules (&s, id, b, nb, a, na);
  int r = run_nft (fb_buf_str (&s), err);
  fb_buf_free (&s);
  return r;
}

int
fb_net_partition_heal (unsigned id, fb_error *err)
{
  char s[128];
  snprintf (s, sizeof s, "delete chain bridge faultbox p%u\n", id);
  return run_nft (s, err);
}

int
fb_net_partition_reset (fb_error *err)
{
  /* adding first makes the delete succeed when there is none ("destroy"
   * needs nft 1.0.7) */
  return run_nft ("add table bridge faultbox\ndelete table bridge faultbox\n", err);
}
