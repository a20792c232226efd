/* Test helper: a service that probes its own sandbox or misbehaves on
 * request. It listens on TCP port argv[1] and answers one line per
 * connection, so a spec asserts what it saw with svc.main.send():
 *   pids                 the pids its /proc lists, sorted
 *   ns KIND              its namespace of that kind, e.g. "pid:[4026532...]"
 *   connect HOST PORT    "ok" or why a TCP connect failed (3 s at most)
 *   write PATH           create PATH and write a byte: "ok" or why not
 *   openw PATH           open an existing PATH for writing (and write nothing)
 *   mknod PATH           make a null device node at PATH and write to it
 *   fds                  its open fds that are no socket (and not the listing's own)
 *   unixfds              how many of its fds are AF_UNIX sockets (its own are TCP)
 *   symlink TARGET LINK  make a symlink
 *   env NAME             the variable's value, or "unset"
 *   caps                 "CapPrm=... CapEff=... CapBnd=..." from /proc/self/status
 *   mount                try to mount a tmpfs: "ok" or why not
 *   ptrace               "PID:result" for every other pid it can see
 *   uring PATH           create PATH and write a byte through io_uring
 *   seccomp allow        install an allow-everything filter
 *   seccomp listener     install a write filter with a listener of its own
 *   seccomp notify       install a write filter that notifies, no listener
 *   fork N               fork N children that sleep and ignore SIGTERM
 *   eat MB               allocate and touch MB megabytes
 *   closeio              close stdout and stderr
 *   ignoreterm           ignore SIGTERM from now on
 *   hang                 fsync in a thread; "hanging" once it is in the call
 *   syscalls N           make N getppid() calls
 *   echo TEXT            TEXT, after printing it on stdout
 *   sleep S              nanosleep S seconds, then clock_nanosleep S more:
 *                        "real=<ms> clock=<ms>", the time that passed
 *                        (vDSO clock) and the syscall clock_gettime after
 * Replies go out with send(), so a fault on the write family leaves them
 * alone. Standalone: libc and pthreads only. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <netdb.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *
result (int ok)
{
  return ok ? "ok" : strerror (errno);
}

static int
cmp_int (const void *a, const void *b)
{
  return *(const int *) a - *(const int *) b;
}

/* The numeric entries of /proc, sorted; returns how many. */
static int
list_pids (int *pids, int max)
{
  DIR *d = opendir ("/proc");
  int n = 0;
  for (struct dirent *e; d && n < max && (e = readdir (d));)
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
      pids[n++] = atoi (e->d_name);
  if (d)
    closedir (d);
  qsort (pids, (size_t) n, sizeof *pids, cmp_int);
  return n;
}

static void
do_pids (char *out, size_t len)
{
  int pids[256], n = list_pids (pids, 256);
  size_t off = 0;
  out[0] = '\0';
  for (int i = 0; i < n && off < len; i++)
    off += (size_t) snprintf (out + off, len - off, "%s%d", i ? " " : "", pids[i]);
}

static void
do_connect (const char *host, int port, char *out, size_t len)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
  struct addrinfo hints = { .ai_family = AF_INET }, *ai = NULL;
  if (getaddrinfo (host, NULL, &hints, &ai) != 0)
    {
      snprintf (out, len, "cannot resolve %s", host);
      return;
    }
  sa.sin_addr = ((struct sockaddr_in *) ai->ai_addr)->sin_addr;
  freeaddrinfo (ai);
  int s = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int r = connect (s, (struct sockaddr *) &sa, sizeof sa);
  if (r < 0 && errno == EINPROGRESS)
    {
      struct pollfd p = { .fd = s, .events = POLLOUT };
      int e = 0;
      socklen_t el = sizeof e;
      if (poll (&p, 1, 3000) == 0)
        e = ETIMEDOUT;
      else
        getsockopt (s, SOL_SOCKET, SO_ERROR, &e, &el);
      errno = e;
      r = e ? -1 : 0;
    }
  snprintf (out, len, "%s", result (r == 0));
  close (s);
}

static int
write_byte (int fd)
{
  int ok = fd >= 0 && write (fd, "x", 1) == 1;
  int e = errno;
  if (fd >= 0)
    close (fd);
  errno = e;
  return ok;
}

static void
do_fds (char *out, size_t len)
{
  DIR *d = opendir ("/proc/self/fd");
  int fds[256], n = 0;
  for (struct dirent *e; d && n < 256 && (e = readdir (d));)
    {
      char link[64], target[256] = "";
      snprintf (link, sizeof link, "/proc/self/fd/%s", e->d_name);
      if (e->d_name[0] == '.' || atoi (e->d_name) == dirfd (d)
          || readlink (link, target, sizeof target - 1) < 0 || !strncmp (target, "socket:", 7))
        continue;
      fds[n++] = atoi (e->d_name);
    }
  if (d)
    closedir (d);
  qsort (fds, (size_t) n, sizeof *fds, cmp_int);
  size_t off = 0;
  out[0] = '\0';
  for (int i = 0; i < n && off < len; i++)
    off += (size_t) snprintf (out + off, len - off, "%s%d", i ? " " : "", fds[i]);
}

static void
do_caps (char *out, size_t len)
{
  FILE *f = fopen ("/proc/self/status", "re");
  char line[256];
  size_t off = 0;
  out[0] = '\0';
  while (f && fgets (line, sizeof line, f) && off < len)
    {
      char name[16];
      unsigned long long v;
      if (sscanf (line, "Cap%15[^:]: %llx", name, &v) == 2
          && (!strcmp (name, "Eff") || !strcmp (name, "Prm") || !strcmp (name, "Bnd")))
        off += (size_t) snprintf (out + off, len - off, "%sCap%s=%016llx", off ? " " : "", name, v);
    }
  if (f)
    fclose (f);
}

static void
do_ptrace (char *out, size_t len)
{
  int pids[256], n = list_pids (pids, 256);
  size_t off = 0;
  out[0] = '\0';
  for (int i = 0; i < n && off < len; i++)
    {
      if (pids[i] == getpid ())
        continue;
      long r = ptrace (PTRACE_ATTACH, pids[i], NULL, NULL);
      off += (size_t) snprintf (out + off, len - off, "%s%d:%s", off ? " " : "", pids[i], result (r == 0));
      if (r == 0)
        ptrace (PTRACE_DETACH, pids[i], NULL, NULL);
    }
}

/* One IORING_OP_WRITE of a byte to fd, with raw syscalls (no liburing):
 * the kernel's io_uring workers do the write, no write syscall. */
static int
uring_write (int fd)
{
  struct io_uring_params p = { 0 };
  int ring = (int) syscall (SYS_io_uring_setup, 1, &p);
  if (ring < 0)
    return 0;
  size_t sq_len = p.sq_off.array + p.sq_entries * sizeof (unsigned);
  size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof (struct io_uring_cqe);
  size_t len = sq_len > cq_len ? sq_len : cq_len; /* one mapping (IORING_FEAT_SINGLE_MMAP, 5.4+) */
  char *sq = mmap (NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
  struct io_uring_sqe *sqe = mmap (NULL, sizeof *sqe, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
                                   IORING_OFF_SQES);
  int ok = 0;
  if (sq != MAP_FAILED && sqe != MAP_FAILED)
    {
      memset (sqe, 0, sizeof *sqe);
      sqe->opcode = IORING_OP_WRITE;
      sqe->fd = fd;
      sqe->addr = (uintptr_t) "x";
      sqe->len = 1;
      sqe->off = (__u64) -1; /* at the file position */
      ((unsigned *) (sq + p.sq_off.array))[0] = 0;
      __atomic_store_n ((unsigned *) (sq + p.sq_off.tail), 1, __ATOMIC_RELEASE);
      if (syscall (SYS_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) >= 0)
        {
          struct io_uring_cqe *cqe = (struct io_uring_cqe *) (sq + p.cq_off.cqes);
          errno = cqe->res < 0 ? -cqe->res : 0;
          ok = cqe->res == 1;
        }
    }
  int e = errno;
  close (ring);
  errno = e;
  return ok;
}

/* A filter of our own: "allow" lets everything run, the others send write
 * to user notification, with or without a listener of ours. */
static void
do_seccomp (const char *kind, char *out, size_t len)
{
  struct sock_filter allow[] = { BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
  struct sock_filter notify[] = {
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_write, 0, 1),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  bool all = !strcmp (kind, "allow");
  struct sock_fprog prog = { all ? 1 : 4, all ? allow : notify };
  unsigned flags = !strcmp (kind, "listener") ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
  long r = syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  snprintf (out, len, "%s", result (r >= 0));
}

static void
do_fork (int n, char *out, size_t len)
{
  int forked = 0, failed = 0, err = 0;
  for (int i = 0; i < n; i++)
    {
      pid_t p = fork ();
      if (p == 0)
        {
          signal (SIGTERM, SIG_IGN);
          setsid ();
          for (;;)
            pause ();
        }
      if (p > 0)
        forked++;
      else
        failed++, err = errno;
    }
  snprintf (out, len, "forked=%d failed=%d%s%s", forked, failed, failed ? " " : "", failed ? strerror (err) : "");
}

static void
do_eat (long mb, char *out, size_t len)
{
  for (long i = 0; i < mb; i++)
    {
      char *p = malloc (1 << 20);
      if (!p)
        break;
      memset (p, 1, 1 << 20);
    }
  snprintf (out, len, "ate %ldMB", mb);
}

static volatile pid_t hang_tid;

static void *
hang_main (void *arg)
{
  (void) arg;
  int fd = open ("/tmp/hang", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  hang_tid = (pid_t) syscall (SYS_gettid);
  fsync (fd);
  return NULL;
}

/* Starts a thread that fsyncs and answers once the thread is inside that
 * syscall (its /proc syscall file names it), or after 5 s that it is not. */
static void
do_hang (char *out, size_t len)
{
  pthread_t t;
  hang_tid = 0;
  if (pthread_create (&t, NULL, hang_main, NULL) != 0)
    {
      snprintf (out, len, "pthread_create failed");
      return;
    }
  pthread_detach (t);
  snprintf (out, len, "not in fsync");
  for (int i = 0; i < 500; i++, usleep (10000))
    {
      char path[64], buf[64] = "";
      snprintf (path, sizeof path, "/proc/self/task/%d/syscall", (int) hang_tid);
      FILE *f = hang_tid ? fopen (path, "re") : NULL;
      if (f && fgets (buf, sizeof buf, f) && atoi (buf) == SYS_fsync)
        i = 500, snprintf (out, len, "hanging");
      if (f)
        fclose (f);
    }
}

static int64_t
ms_of (const struct timespec *t)
{
  return (int64_t) t->tv_sec * 1000 + t->tv_nsec / 1000000;
}

static void
do_sleep (int s, char *out, size_t len)
{
  struct timespec t0, t1, req = { s, 0 }, rem, clock;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  syscall (SYS_nanosleep, &req, &rem);
  clock_nanosleep (CLOCK_MONOTONIC, 0, &req, &rem);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  /* the raw syscall: the vDSO's clock_gettime never traps */
  syscall (SYS_clock_gettime, CLOCK_MONOTONIC, &clock);
  snprintf (out, len, "real=%lld clock=%lld", (long long) (ms_of (&t1) - ms_of (&t0)), (long long) ms_of (&clock));
}

static void
handle (char *line, char *out, size_t len)
{
  char a[256] = "", b[256] = "";
  int n = 0;
  line[strcspn (line, "\r\n")] = '\0';
  snprintf (out, len, "unknown command");
  if (!strcmp (line, "pids"))
    do_pids (out, len);
  else if (sscanf (line, "ns %63s", a) == 1)
    {
      char link[96];
      snprintf (link, sizeof link, "/proc/self/ns/%s", a);
      ssize_t r = readlink (link, out, len - 1);
      out[r > 0 ? r : 0] = '\0';
    }
  else if (sscanf (line, "connect %255s %d", a, &n) == 2)
    do_connect (a, n, out, len);
  else if (sscanf (line, "write %255s", a) == 1)
    snprintf (out, len, "%s", result (write_byte (open (a, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644))));
  else if (sscanf (line, "uring %255s", a) == 1)
    {
      int fd = open (a, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
      snprintf (out, len, "%s", result (fd >= 0 && uring_write (fd)));
      if (fd >= 0)
        close (fd);
    }
  else if (sscanf (line, "openw %255s", a) == 1)
    {
      /* opening proves it writable; nothing is written to a host knob */
      int fd = open (a, O_WRONLY | O_CLOEXEC);
      snprintf (out, len, "%s", result (fd >= 0));
      if (fd >= 0)
        close (fd);
    }
  else if (sscanf (line, "mknod %255s", a) == 1)
    {
      if (mknod (a, S_IFCHR | 0600, makedev (1, 3)) < 0)
        snprintf (out, len, "mknod: %s", strerror (errno));
      else
        snprintf (out, len, "open: %s", result (write_byte (open (a, O_WRONLY | O_CLOEXEC))));
    }
  else if (!strcmp (line, "fds"))
    do_fds (out, len);
  else if (!strcmp (line, "unixfds"))
    {
      int unix_fds = 0, dom;
      socklen_t sl = sizeof dom;
      for (int fd = 0; fd < 1024; fd++)
        unix_fds += getsockopt (fd, SOL_SOCKET, SO_DOMAIN, &dom, &sl) == 0 && dom == AF_UNIX;
      snprintf (out, len, "%d", unix_fds);
    }
  else if (sscanf (line, "symlink %255s %255s", a, b) == 2)
    snprintf (out, len, "%s", result (symlink (a, b) == 0));
  else if (sscanf (line, "env %255s", a) == 1)
    snprintf (out, len, "%s", getenv (a) ? getenv (a) : "unset");
  else if (!strcmp (line, "caps"))
    do_caps (out, len);
  else if (!strcmp (line, "mount"))
    snprintf (out, len, "%s", result (mount ("tmpfs", "/tmp", "tmpfs", 0, NULL) == 0));
  else if (!strcmp (line, "ptrace"))
    do_ptrace (out, len);
  else if (sscanf (line, "seccomp %255s", a) == 1)
    do_seccomp (a, out, len);
  else if (sscanf (line, "fork %d", &n) == 1)
    do_fork (n, out, len);
  else if (sscanf (line, "eat %d", &n) == 1)
    do_eat (n, out, len);
  else if (!strcmp (line, "closeio"))
    snprintf (out, len, "%s", result (close (1) == 0 && close (2) == 0));
  else if (!strcmp (line, "ignoreterm"))
    snprintf (out, len, "%s", result (signal (SIGTERM, SIG_IGN) != SIG_ERR));
  else if (!strcmp (line, "hang"))
    do_hang (out, len);
  else if (sscanf (line, "syscalls %d", &n) == 1)
    {
      for (int i = 0; i < n; i++)
        syscall (SYS_getppid);
      snprintf (out, len, "made %d", n);
    }
  else if (sscanf (line, "sleep %d", &n) == 1)
    do_sleep (n, out, len);
  else if (sscanf (line, "echo %255[^\n]", b) == 1)
    {
      printf ("%s\n", b);
      fflush (stdout);
      snprintf (out, len, "%s", b);
    }
}

int
main (int argc, char **argv)
{
  int port = argc > 1 ? atoi (argv[1]) : 7000;
  signal (SIGPIPE, SIG_IGN);
  signal (SIGCHLD, SIG_IGN); /* forked children are reaped by the kernel */
  int s = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
  setsockopt (s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind (s, (struct sockaddr *) &sa, sizeof sa) < 0 || listen (s, 16) < 0)
    {
      perror ("probe_svc: listen");
      return 1;
    }
  printf ("probe_svc: listening on :%d\n", port);
  fflush (stdout);
  for (;;)
    {
      int c = accept4 (s, NULL, NULL, SOCK_CLOEXEC);
      if (c < 0)
        continue;
      char line[1024];
      ssize_t n = read (c, line, sizeof line - 1);
      if (n <= 0)
        {
          close (c);
          continue;
        }
      line[n] = '\0';
      char out[4096];
      handle (line, out, sizeof out - 1);
      strcat (out, "\n");
      if (send (c, out, strlen (out), MSG_NOSIGNAL) < 0)
        { /* the runner gave up on this exchange */ }
      close (c);
    }
}
