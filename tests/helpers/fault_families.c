/* Test helper: exercises every member of a syscall family, threads and
 * forked children, and prints "<call>: <result>" for each, so a test can
 * see which were faulted; "handler" and "exit_in_delay" are teardown while
 * a write is delayed. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void
report (const char *call, long r)
{
  printf ("%s: %s\n", call, r < 0 ? strerror (errno) : "ok");
  fflush (stdout);
}

static int
open_tmp (const char *name)
{
  char path[64];
  snprintf (path, sizeof path, "/tmp/fbfam-%s-%d", name, (int) getpid ());
  int fd = open (path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
  unlink (path);
  return fd;
}

static void
on_sigint (int sig)
{
  static const char msg[] = "handler: SIGINT\n";
  if (write (1, msg, sizeof msg - 1) < 0)
    _exit (4);
  _exit (3);
}

static void *
thread_main (void *arg)
{
  int fd = open_tmp ("thread");
  report ("thread", write (fd, "x", 1));
  close (fd);
  return NULL;
}

int
main (int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "family";
  if (strcmp (mode, "family") == 0)
    {
      int fd = open_tmp ("w");
      struct iovec iov = { "abc", 3 };
      report ("write", write (fd, "abc", 3));
      report ("writev", writev (fd, &iov, 1));
      report ("pwrite64", pwrite (fd, "abc", 3, 0));
      report ("pwritev2", pwritev2 (fd, &iov, 1, 0, 0));
      close (fd);
    }
  else if (strcmp (mode, "openat2") == 0)
    {
      struct open_how how = { .flags = O_CREAT | O_RDWR, .mode = 0600 };
      char path[64];
      snprintf (path, sizeof path, "/tmp/fbfam-o2-%d", (int) getpid ());
      long fd = syscall (SYS_openat2, AT_FDCWD, path, &how, sizeof how);
      report ("openat2", fd);
      if (fd >= 0)
        {
          close ((int) fd);
          unlink (path);
        }
    }
  else if (strcmp (mode, "threads") == 0)
    {
      pthread_t t;
      pthread_create (&t, NULL, thread_main, NULL);
      pthread_join (t, NULL);
      pid_t pid = fork ();
      if (pid == 0)
        {
          int fd = open_tmp ("child");
          report ("child", write (fd, "x", 1));
          _exit (0);
        }
      waitpid (pid, NULL, 0);
    }
  else if (strcmp (mode, "handler") == 0)
    {
      /* a SIGINT handler, one write for a rule to delay, then a wait for
       * the signal (exit 3 from the handler; 5 if none came in 30 s) */
      signal (SIGINT, on_sigint);
      int fd = open_tmp ("h");
      report ("write", write (fd, "x", 1));
      close (fd);
      sleep (30);
      return 5;
    }
  else if (strcmp (mode, "exit_in_delay") == 0)
    {
      /* the process exits while its other thread waits in a delayed write */
      pthread_t t;
      pthread_create (&t, NULL, thread_main, NULL);
      usleep (300000);
      printf ("main: exit\n");
      fflush (stdout);
      _exit (0);
    }
  else if (strcmp (mode, "writes20") == 0)
    {
      /* one character per write: "x" denied, "." allowed */
      int fd = open_tmp ("p");
      char pattern[21] = "";
      for (int i = 0; i < 20; i++)
        pattern[i] = write (fd, "x", 1) < 0 ? 'x' : '.';
      close (fd);
      printf ("%s\n", pattern);
    }
  return 0;
}
